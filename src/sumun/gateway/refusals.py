"""Refusals of authenticated callers, in the ledger: so every call a known caller makes is there.

Which failures are refusals (the table `_REFUSALS`): the caller is known (its virtual key was
valid) and Sumun said no before admitting the request —

    429  limit.{key|tenant}.{rpm|tpm}, limit.{key|tenant}.budget   rate limits and budgets
    403  tenant-key.disabled / .destroyed / .state                  the tenant's key is revoked
    503  provider.cut                                               every provider of the route
                                                                    is cut off (kill switch)
    503  limit.unavailable, store.unavailable                       fail-closed outages

A refusal decided at admission (a policy block, a forbidden role, no provider admitted for the
data's class) is already the pair `request-admitted` + `request-completed` (decision `block`,
its rule ids) and is not written again; so is a cut that lands between admission and routing
(`request-completed`, 503, `error-provider_cut`). Not recorded here:
401s (no caller is known; `sumun_auth_failures_total` counts them), malformed requests and
unknown models (400/413/404), and failures of the very things recording needs (sealed keys, the
key backend, the ledger).

The entry (`request-refused`) is metadata only, all of it Sumun's own vocabulary: tenant, key
id, app, user, endpoint, status, error code, rule id — never the body, the model name the
caller typed or an error message.

A flood must not turn the strict ledger into an amplifier (one durable leaf per rejected
request, forever). `RefusalLog` writes a refusal at once, in its own entry, when it is the
first of its kind (same key, same rule…); identical refusals that follow within `window`
seconds share ONE entry written when the window ends, `attrs["count"]` saying how many it
stands for (`attrs["first_ms"]`: when the first of them came; `request_id`: the first's id).
So a key hammering its limit costs at most about `1 / window` entries per second, however fast
it sends, and the responses of a burst wait at most `window` (back-pressure on the flooder).
Every refused response still carries the sequence number of the entry that records it
(`X-Sumun-Ledger-Seq`), durable before the response is sent. Measured in
bench/bench_refusals.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sumun.errors import (
    BudgetExceededError,
    ForbiddenError,
    KeyDestroyedError,
    KeyDisabledError,
    KeyStateError,
    LimiterUnavailableError,
    ProviderCutError,
    RateLimitedError,
    StoreError,
    SumunError,
)
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.ledger.service import Ledger
from sumun.store.model import Principal

__all__ = ["DEFAULT_WINDOW_SECONDS", "Refusal", "RefusalLog", "classify_refusal", "refusal_entry"]

log = logging.getLogger("sumun.gateway")

DEFAULT_WINDOW_SECONDS = 0.1  # at most ~10 entries per second per kind of refusal and key


def _limit_rule(exc: Exception) -> str:
    if isinstance(exc, RateLimitedError):
        return f"limit.{exc.scope}.{exc.dimension}"
    assert isinstance(exc, BudgetExceededError)  # noqa: S101 - only mapped for the two
    return f"limit.{exc.scope}.budget"


# exception types -> rule id (a string, or how to derive it); the first match wins.
_REFUSALS: tuple[tuple[tuple[type[Exception], ...], str | Callable[[Exception], str]], ...] = (
    ((RateLimitedError, BudgetExceededError), _limit_rule),
    ((LimiterUnavailableError,), "limit.unavailable"),
    ((KeyDisabledError,), "tenant-key.disabled"),
    ((KeyDestroyedError,), "tenant-key.destroyed"),
    ((KeyStateError,), "tenant-key.state"),
    ((ProviderCutError,), "provider.cut"),
    ((ForbiddenError,), "forbidden"),
    ((StoreError,), "store.unavailable"),
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A failure that is a refusal to record: the rule that refused, the providers it names."""

    rule: str
    providers: tuple[str, ...] = ()  # a cut: the route's providers (operator-configured names)


def classify_refusal(exc: Exception) -> Refusal | None:
    """The refusal `exc` stands for, or None if it is not one to record here."""
    for kinds, rule in _REFUSALS:
        if isinstance(exc, kinds):
            providers = exc.providers if isinstance(exc, ProviderCutError) else ()
            return Refusal(rule if isinstance(rule, str) else rule(exc), providers)
    return None


def refusal_entry(
    principal: Principal,
    refusal: Refusal,
    *,
    status: int,
    code: str | None,
    endpoint: str,
    request_id: str,
    time_ms: int,
) -> EntryMeta:
    """The `request-refused` entry of one refusal (clear metadata only, no payload)."""
    attrs = {
        "status": str(status),
        "code": code or "",
        "endpoint": endpoint,
        "key_id": principal.key_id,
        "app": principal.app or "",
        "user": principal.user or "",
        "count": "1",
    }
    if refusal.providers:
        attrs["providers"] = ",".join(refusal.providers)
    return EntryMeta(
        kind=EntryKind.REQUEST_REFUSED,
        tenant=principal.tenant,
        time_ms=time_ms,
        decision="refused",
        rules=(refusal.rule,),
        provider=refusal.providers[0] if len(refusal.providers) == 1 else None,
        request_id=request_id,
        attrs=attrs,
    )


_GroupKey = tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]


def _group_key(meta: EntryMeta) -> _GroupKey:
    return meta.tenant, meta.rules, tuple(sorted(meta.attrs.items()))


@dataclass
class _Burst:
    """Refusals that arrived while their kind's window was open: one entry at its end."""

    first: EntryMeta | None = None
    waiters: list[asyncio.Future[int | None]] = field(default_factory=list)

    def join(self, meta: EntryMeta) -> asyncio.Future[int | None]:
        if self.first is None:
            self.first = meta
        waiter: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter


class RefusalLog:
    """Records refusals in the ledger, coalescing bursts of identical ones (module docstring).

    One per event loop (the gateway's). `record` never raises: a refusal that cannot be
    recorded is still a refusal; it returns None and the response goes out without a seq.
    `window=0` writes every refusal in its own entry (no coalescing).
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        on_recorded: Callable[[str, str], None] = lambda _rule, _how: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._window = window
        self._on_recorded = on_recorded  # (rule, "entry" | "coalesced" | "not-recorded")
        self._clock = clock
        self._open: dict[_GroupKey, _Burst] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def record(self, meta: EntryMeta) -> int | None:
        """Record one refusal; return the seq of the entry that holds it (None: not recorded)."""
        rule = meta.rules[0] if meta.rules else ""
        key = _group_key(meta)
        burst = self._open.get(key)
        if burst is not None:
            seq = await burst.join(meta)
            self._on_recorded(rule, "not-recorded" if seq is None else "coalesced")
            return seq
        if self._window > 0:
            # Open the window now: identical refusals until it ends share the next entry.
            self._open[key] = _Burst()
            task = asyncio.create_task(self._drain(key, rule))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        seq = await self._append(meta, rule)
        self._on_recorded(rule, "not-recorded" if seq is None else "entry")
        return seq

    async def _append(self, meta: EntryMeta, rule: str) -> int | None:
        try:
            return await self._ledger.append_async(meta)
        except SumunError as exc:
            log.warning("a refusal (%s) could not be recorded: %s", rule, exc)
            return None

    async def _drain(self, key: _GroupKey, rule: str) -> None:
        """Every `window`: one entry for the refusals that joined; close when none did."""
        flushing: _Burst | None = None
        try:
            while True:
                await asyncio.sleep(self._window)
                flushing = self._open[key]
                if not flushing.waiters:
                    return
                self._open[key] = _Burst()  # later arrivals join the next window
                first = flushing.first
                assert first is not None  # noqa: S101 - set with the first waiter
                meta = replace(
                    first,
                    time_ms=int(self._clock() * 1000),
                    attrs={
                        **first.attrs,
                        "count": str(len(flushing.waiters)),
                        "first_ms": str(first.time_ms),
                    },
                )
                _resolve(flushing, await self._append(meta, rule))
        finally:
            # Closing (or cancelled): nobody may wait forever for an entry that will not come.
            for burst in (flushing, self._open.pop(key, None)):
                if burst is not None:
                    _resolve(burst, None)

    async def aclose(self) -> None:
        """Write what is pending (shutdown): wait for the open windows to end."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _resolve(burst: _Burst, seq: int | None) -> None:
    for waiter in burst.waiters:
        if not waiter.done():  # a caller that went away was still refused, and counted
            waiter.set_result(seq)
