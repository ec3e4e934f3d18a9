"""Routing a model alias to providers: ordered fallback or weighted balancing, failover.

A route lists targets (provider + the model name it knows). For each call the router builds an
order — the configured order (`fallback`), or a weighted random draw without replacement
(`weighted`) — and walks it:

- a provider cut by the kill switch is skipped (never chosen, whatever its weight);
- a provider whose circuit breaker is open is skipped;
- a retryable failure *before any byte reached the client* (429, 5xx, connect error, timeout)
  moves on to the next target; a non-retryable one (400 …) is returned to the caller at once;
- nothing is ever retried after a stream has started.

When every target is cut the caller gets 503 with the kill switch named, not a vague error.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from sumun.config import RouteConfig, RouteTarget
from sumun.gateway.upstream.base import Call, ProviderAdapter, UpstreamError

__all__ = ["BreakerLike", "Router", "UnknownModelError"]

T = TypeVar("T")


class UnknownModelError(Exception):
    # The name is the caller's input: quoted back only short and printable (an error never
    # echoes request content at length, issue 12).
    _SHOWN = 64
    status = 404  # read through sumun.errors.http_status, like a SumunError's

    def __init__(self, model: str) -> None:
        shown = "".join(c if c.isprintable() else "?" for c in model[: self._SHOWN])
        more = f"… ({len(model)} characters)" if len(model) > self._SHOWN else ""
        super().__init__(f"the model '{shown}{more}' does not exist or is not routed here")
        self.model = model


class BreakerLike(Protocol):
    def allow(self, name: str) -> bool: ...
    def record_success(self, name: str) -> None: ...
    def record_failure(self, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    provider: str
    model: str


class Router:
    def __init__(
        self,
        routes: Sequence[RouteConfig],
        adapters: Mapping[str, ProviderAdapter],
        *,
        is_cut: Callable[[str], bool],
        breaker: BreakerLike,
        on_failure: Callable[[str, UpstreamError], None] = lambda _p, _e: None,
        rng: random.Random | None = None,
    ) -> None:
        self._routes = {r.model: r for r in routes}
        self._adapters = adapters
        self._is_cut = is_cut
        self._breaker = breaker
        self._on_failure = on_failure
        self._rng = rng or random.Random()  # noqa: S311 - load balancing, not security

    def aliases(self) -> list[str]:
        return sorted(self._routes)

    def route(self, alias: str) -> RouteConfig:
        route = self._routes.get(alias)
        if route is None:
            raise UnknownModelError(alias)
        return route

    def order(self, alias: str) -> list[RouteTarget]:
        route = self.route(alias)
        targets = list(route.targets)
        if route.strategy == "fallback" or len(targets) == 1:
            return targets
        ordered: list[RouteTarget] = []
        while targets:
            pick = self._rng.choices(targets, weights=[t.weight for t in targets])[0]
            targets.remove(pick)
            ordered.append(pick)
        return ordered

    async def run(
        self,
        alias: str,
        call: Call,
        send: Callable[[ProviderAdapter, Call], Awaitable[T]],
        allowed: frozenset[str] | None = None,
    ) -> tuple[T, Attempt]:
        """Try targets in order; return the first success and which provider served it.

        `allowed` (from admission) limits the providers this call may reach, whatever the
        route says: a provider not admitted for the request's data class is never tried.
        """
        last: UpstreamError | None = None
        cut: list[str] = []
        for target in self.order(alias):
            if allowed is not None and target.provider not in allowed:
                continue
            if self._is_cut(target.provider):
                cut.append(target.provider)
                continue
            if not self._breaker.allow(target.provider):
                last = last or UpstreamError(
                    f"provider '{target.provider}' is failing (circuit open)",
                    provider=target.provider,
                    status=503,
                    retryable=True,
                    kind="circuit_open",
                )
                continue
            adapter = self._adapters[target.provider]
            body = dict(call.body)
            body["model"] = target.model
            try:
                result = await send(adapter, replace(call, body=body))
            except UpstreamError as exc:
                self._on_failure(target.provider, exc)
                if exc.retryable and not exc.started:
                    self._breaker.record_failure(target.provider)
                    last = exc
                    continue
                if exc.status >= 500:
                    self._breaker.record_failure(target.provider)
                raise
            self._breaker.record_success(target.provider)
            return result, Attempt(target.provider, target.model)
        if last is not None:
            raise last
        names = ", ".join(cut)
        raise UpstreamError(
            f"every provider for model '{alias}' is cut off by the kill switch ({names})",
            provider=cut[0] if cut else "none",
            status=503,
            retryable=False,
            kind="provider_cut",
        )
