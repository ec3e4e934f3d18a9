"""The reloadable parts of a node, as one immutable snapshot a request reads once.

A reload (`sumun.gateway.reload`) builds a new `Live` aside — settings, adapters, router,
admission with its policy — and swaps it into the `Holder` in one reference assignment on the
event loop. Each HTTP request is pinned to the snapshot current when it arrived (`Pinned`, an
ASGI wrapper, sets a context variable the request's tasks and worker threads inherit), so a
request sees all old or all new settings, never a mix, and a request in flight — a stream too —
finishes on what it started with. The gateway holds `RouterView` and `AdmissionView`, which
resolve to the request's pinned snapshot (or the current one outside a request).

`Live.users` counts the requests pinned to a snapshot, so the adapters a reload retired are
closed only once they have drained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sumun.config import RouteConfig, RouteTarget, Settings
from sumun.gateway.admission import Admission, Assessment, Decision
from sumun.gateway.policy_source import PolicySource
from sumun.gateway.router import Attempt, Router
from sumun.gateway.upstream.base import Call, ProviderAdapter
from sumun.policy.classes import DataClass
from sumun.policy.decide import PolicyEngine
from sumun.policy.pii import Finding
from sumun.policy.rules import Policy
from sumun.policy.transform import OutputRules
from sumun.store.model import Principal, Tenant

__all__ = ["AdmissionView", "Holder", "Live", "Pinned", "RouterView"]

T = TypeVar("T")


class Users:
    """Requests pinned to one snapshot (event-loop only)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass(frozen=True, eq=False)
class Live:
    """What a reload replaces, all together."""

    settings: Settings
    router: Router
    admission: Admission
    adapters: Mapping[str, ProviderAdapter]
    policy: PolicySource
    config_sha256: str | None  # of sumun.yaml as applied (None: no file)
    policy_sha256: str | None  # of the policy document as applied (None: built-in)
    users: Users = field(default_factory=Users)


_PINNED: ContextVar[tuple[Holder, Live] | None] = ContextVar("sumun_live", default=None)


class Holder:
    """The one reference to the snapshot in force."""

    def __init__(self, live: Live) -> None:
        self._live = live

    @property
    def current(self) -> Live:
        return self._live

    def swap(self, live: Live) -> Live:
        old, self._live = self._live, live
        return old

    def pick(self) -> Live:
        """The snapshot of the request being served (the current one outside a request)."""
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self:
            return pinned[1]
        return self._live


class Pinned:
    """ASGI wrapper: every HTTP request runs on the snapshot current when it arrived."""

    def __init__(self, app: Callable[..., Awaitable[None]], holder: Holder) -> None:
        self._app = app
        self._holder = holder

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self._app(scope, receive, send)
            return
        live = self._holder.current
        token = _PINNED.set((self._holder, live))
        live.users.enter()
        try:
            await self._app(scope, receive, send)
        finally:
            live.users.leave()
            _PINNED.reset(token)


class RouterView(Router):
    """The router of the request's snapshot."""

    def __init__(self, holder: Holder) -> None:  # no super(): every method delegates
        self._holder = holder

    def _now(self) -> Router:
        return self._holder.pick().router

    def aliases(self) -> list[str]:
        return self._now().aliases()

    def route(self, alias: str) -> RouteConfig:
        return self._now().route(alias)

    def order(self, alias: str) -> list[RouteTarget]:
        return self._now().order(alias)

    async def run(
        self,
        alias: str,
        call: Call,
        send: Callable[[ProviderAdapter, Call], Awaitable[T]],
        allowed: frozenset[str] | None = None,
    ) -> tuple[T, Attempt]:
        return await self._now().run(alias, call, send, allowed)


class AdmissionView(Admission):
    """The admission (and policy) of the request's snapshot."""

    def __init__(self, holder: Holder) -> None:  # no super(): every method delegates
        self._holder = holder

    def _now(self) -> Admission:
        return self._holder.pick().admission

    @property
    def policy(self) -> Policy:  # type: ignore[override]
        return self._now().policy

    @property
    def engine(self) -> PolicyEngine:  # type: ignore[override]
        return self._now().engine

    def replace_policy(self, policy: Policy) -> None:
        self._holder.current.admission.replace_policy(policy)

    def max_class(self, provider: str) -> DataClass:
        return self._now().max_class(provider)

    def detect(self, text: str) -> list[Finding]:
        return self._now().detect(text)

    def decide(
        self,
        principal: Principal,
        tenant: Tenant,
        route: RouteConfig,
        declared_header: str | None,
        body: Mapping[str, Any],
    ) -> Decision:
        return self._now().decide(principal, tenant, route, declared_header, body)

    def assess(
        self,
        tenant: Tenant,
        route: RouteConfig,
        declared_header: str | None,
        body: Mapping[str, Any],
    ) -> Assessment:
        return self._now().assess(tenant, route, declared_header, body)

    def conclude(
        self, principal: Principal, assessed: Assessment, body: Mapping[str, Any]
    ) -> Decision:
        return self._now().conclude(principal, assessed, body)

    def output_rules(self, provider: str) -> OutputRules:
        return self._now().output_rules(provider)
