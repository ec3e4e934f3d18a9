"""Rate limits and token budgets, per API key and per tenant.

What is limited (a `Limits` from the directory; None = no limit at that level):
- `rpm`: requests per minute; `check` counts the request when it lets it through;
- `tpm`: tokens per minute; tokens are known only after the answer, so `record_tokens` counts
  them then, and `check` refuses while the last minute's tokens already fill the limit;
- `token_budget`: total tokens ever. `check(reserve=n)` charges an upper estimate of the
  request's tokens at admission, in the same atomic step as the check (so concurrent requests
  cannot all fit into what is left), and `settle` replaces it with what the answer used — or
  keeps it when nothing was reported (a stream cut before its usage). See `sumun.gateway.budget`.
- `spend_budget`: total spend in KRW or USD, held and settled the same way in the same atomic
  step (`check(spend=…)`, `settle_spend`); see `sumun.gateway.spend_budget`.
Key and tenant limits are checked together and atomically: a request refused by one level
consumes nothing at the other; the longest wait is reported.

Window algorithm: sliding window counter (two fixed one-minute windows, the previous one
weighted by how much of it still overlaps the last 60 s: `estimate = prev * (1 - f) + cur`).
It needs two numbers per counter, has no reset cliff where a fixed window would let 2x the
limit through around the boundary, and gives an exact `retry_after` for the estimate. The
estimate assumes the previous minute's traffic was even; with bursty traffic it may be off by
a fraction of the limit for one minute — accepted, as at Cloudflare, for O(1) state.

What the caller is told: `check` returns the `Headroom` it saw while checking — per minute,
the limit, what is left and when the window is whole again — for the OpenAI-style
`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` headers (`Headroom.headers`), and a
`RateLimitedError` carries the same headers. Redis computes them in the check's own script: no
extra round trip. With both a key and a tenant limit, the one with less left is reported. No
per-minute limit at any level: no headers (a token budget is a quota, not a rate).

Refusals: `RateLimitedError` (429, `retry_after` seconds for `Retry-After`) and
`BudgetExceededError` (429 `insufficient_quota`: waiting does not help; see `sumun.errors`).

Two implementations behind the `Limiter` protocol:
- `MemoryLimiter`: one process. With several workers each has its own counters (N workers
  admit up to N x the limit), and budgets start again at every restart: for one-process
  deployments and tests.
- `RedisLimiter` (`sumun.gateway.limits_redis`): limits hold across processes and restarts.
  Each check is one Lua script (atomic in Redis), on Redis's clock, so workers never disagree
  about windows. Redis down means fail closed: `LimiterUnavailableError` (503), never
  unlimited traffic. Socket timeouts are short (0.25 s) and, after a failure, checks fail at
  once for `down_seconds` (1 s) rather than each waiting on a dead server.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from sumun.config import GatewayConfig
from sumun.gateway.headroom import (
    SLACK,
    Admitted,
    Headroom,
    Quota,
    budget_error,
    quota,
    rate_error,
    tightest,
)
from sumun.gateway.limits_redis import RedisLimiter
from sumun.gateway.spend import Currency
from sumun.gateway.spend_budget import Hold, holds, spend_error
from sumun.store.model import Limits, Principal

__all__ = [
    "Admitted",
    "Headroom",
    "Limiter",
    "MemoryLimiter",
    "Quota",
    "RedisLimiter",
    "make_limiter",
]

_WINDOW_SECONDS = 60.0


@runtime_checkable
class Limiter(Protocol):
    def check(
        self,
        principal: Principal,
        tenant_limits: Limits,
        key_limits: Limits,
        *,
        reserve: int = 0,
        spend: Mapping[str, int] | None = None,
    ) -> Admitted:
        """Admit one request or raise RateLimitedError / BudgetExceededError.

        An admitted request is counted against `rpm` at once. When the key or its tenant has a
        token budget, `reserve` tokens are charged to both budgets in the same atomic step and
        returned as `reserved` (the caller MUST `settle` them); else 0. Each level with a spend
        budget is charged `spend[its currency]` micro-units in the same step, returned as
        `spend` holds (the caller MUST `settle_spend` them; `sumun.gateway.spend_budget`).
        Raises LimiterUnavailableError if the limits cannot be checked (the caller MUST refuse
        the request).
        """
        ...

    def settle_spend(self, principal: Principal, settled: Sequence[tuple[Hold, int]]) -> None:
        """Replace each spend `Hold` charged at admission with the micro-units it became."""
        ...

    def spent(
        self, scope: Literal["key", "tenant"], names: Sequence[str], currency: str
    ) -> dict[str, int]:
        """Micro-units of `currency` charged against the spend budget of each name (as `used`)."""
        ...

    def settle(self, principal: Principal, reserved: int, tokens: int) -> None:
        """Count `tokens` (in + out) against `tpm`, and against the budgets in place of the
        `reserved` tokens charged at admission."""
        ...

    def record_tokens(self, principal: Principal, tokens: int) -> None:
        """`settle` with nothing reserved."""
        ...

    def used(self, scope: Literal["key", "tenant"], names: Sequence[str]) -> dict[str, int]:
        """Tokens charged against the budget of each key id (`scope` "key") or tenant named:
        settled tokens plus reservations in flight; 0 for a name never charged. Raises
        LimiterUnavailableError when they cannot be read (the admin API shows no usage then)."""
        ...

    def close(self) -> None: ...


# -- sliding window counter: the math (mirrored in the Lua script below) -----------------------


@dataclass(slots=True)
class _Window:
    index: int = 0  # floor(now / window)
    current: float = 0.0
    previous: float = 0.0

    def roll(self, index: int) -> None:
        if index == self.index:
            return
        self.previous = self.current if index == self.index + 1 else 0.0
        self.current = 0.0
        self.index = index


def _wait(w: _Window, frac: float, limit: int, window: float) -> float:
    """Seconds until `previous * (1 - f) + current + 1 <= limit`, if nothing else is counted."""
    if w.current + 1 <= limit:  # the previous window's share decays enough within this one
        return (1 - (limit - w.current - 1) / w.previous - frac) * window
    # Only the next window helps: then `current` becomes the decaying previous window.
    after = max(0.0, 1 - (limit - 1) / w.current)
    return (1 - frac) * window + after * window


def _reset(current: float, previous: float, frac: float, window: float) -> float:
    """Seconds until `previous * (1 - f) + current` is 0: this window's count decays over the
    next one; the previous window's by the end of this one."""
    if current > 0:
        return (2 - frac) * window
    return (1 - frac) * window if previous > 0 else 0.0


class MemoryLimiter:
    """Limits in this process's memory. Thread-safe; the clock is injectable."""

    def __init__(
        self,
        *,
        window_seconds: float = _WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._used: dict[tuple[str, str], int] = {}
        self._spent: dict[tuple[str, str, str], int] = {}  # (scope, name, currency) -> micros

    def __repr__(self) -> str:
        return "<MemoryLimiter>"

    def _counter(self, scope: str, name: str, dim: str, index: int) -> _Window:
        window = self._windows.setdefault((scope, name, dim), _Window(index))
        window.roll(index)
        return window

    def check(
        self,
        principal: Principal,
        tenant_limits: Limits,
        key_limits: Limits,
        *,
        reserve: int = 0,
        spend: Mapping[str, int] | None = None,
    ) -> Admitted:
        if reserve < 0:
            raise ValueError("reserve must not be negative")
        levels = (
            ("key", principal.key_id, key_limits),
            ("tenant", principal.tenant, tenant_limits),
        )
        names = {"key": principal.key_id, "tenant": principal.tenant}
        charges = holds(tenant_limits, key_limits, spend)
        with self._lock:
            budgeted = self._fits(levels, reserve, principal)
            self._fits_spend(charges, names, principal)
            now = self._clock()
            index = math.floor(now / self._window)
            frac = now / self._window - index
            worst: tuple[float, str, str, int] | None = None
            counted: list[tuple[str, int, _Window]] = []
            for dim in ("rpm", "tpm"):
                for scope, name, limits in levels:
                    limit = getattr(limits, dim)
                    if limit is None:
                        continue
                    w = self._counter(scope, name, dim, index)
                    counted.append((dim, limit, w))
                    if w.previous * (1 - frac) + w.current + 1 > limit + SLACK:
                        wait = _wait(w, frac, limit, self._window)
                        if worst is None or wait > worst[0]:
                            worst = (wait, scope, dim, limit)
            if worst is not None:
                headroom = self._headroom(counted, frac)
                raise rate_error(
                    worst[1], worst[2], worst[3], worst[0], principal, headroom=headroom
                )
            for dim, _limit, w in counted:
                if dim == "rpm":
                    w.current += 1
            charged = reserve if budgeted else 0
            for scope, name, _limits in levels:
                self._used[scope, name] = self._used.get((scope, name), 0) + charged
            for level, currency, _budget, estimate in charges:
                counter = (level, names[level], currency)
                self._spent[counter] = self._spent.get(counter, 0) + estimate
            held = tuple(Hold(lv, cur, est) for lv, cur, _budget, est in charges)
            return Admitted(charged, self._headroom(counted, frac), held)

    def _headroom(self, counted: Sequence[tuple[str, int, _Window]], frac: float) -> Headroom:
        quotas: dict[str, list[Quota]] = {"rpm": [], "tpm": []}
        for dim, limit, w in counted:
            estimate = w.previous * (1 - frac) + w.current
            reset = _reset(w.current, w.previous, frac, self._window)
            quotas[dim].append(quota(limit, estimate, reset))
        return Headroom(tightest(quotas["rpm"]), tightest(quotas["tpm"]))

    def _fits(
        self, levels: tuple[tuple[str, str, Limits], ...], reserve: int, who: Principal
    ) -> bool:
        """Raise unless `reserve` fits every budget (caller holds the lock); any budget set?"""
        budgeted = False
        for scope, name, limits in levels:
            budget = limits.token_budget
            if budget is None:
                continue
            budgeted = True
            used = self._used.get((scope, name), 0)
            if used + max(reserve, 1) > budget:
                raise budget_error(scope, budget, who, used, reserve)
        return budgeted

    def _fits_spend(
        self,
        charges: Sequence[tuple[str, Currency, int, int]],
        names: dict[str, str],
        who: Principal,
    ) -> None:
        """Raise unless each spend hold fits its budget (the caller holds the lock)."""
        for level, currency, budget, estimate in charges:
            spent = self._spent.get((level, names[level], currency), 0)
            if spent + max(estimate, 1) > budget:
                raise spend_error(
                    level, who, currency=currency, budget=budget, spent=spent, estimate=estimate
                )

    def settle(self, principal: Principal, reserved: int, tokens: int) -> None:
        if tokens < 0 or reserved < 0:
            raise ValueError("tokens must not be negative")
        with self._lock:
            now = self._clock()
            index = math.floor(now / self._window)
            for scope, name in (("key", principal.key_id), ("tenant", principal.tenant)):
                self._counter(scope, name, "tpm", index).current += tokens
                self._used[scope, name] = self._used.get((scope, name), 0) + tokens - reserved

    def record_tokens(self, principal: Principal, tokens: int) -> None:
        self.settle(principal, 0, tokens)

    def settle_spend(self, principal: Principal, settled: Sequence[tuple[Hold, int]]) -> None:
        names = {"key": principal.key_id, "tenant": principal.tenant}
        with self._lock:
            for hold, actual in settled:
                counter = (hold.scope, names[hold.scope], hold.currency)
                self._spent[counter] = self._spent.get(counter, 0) + actual - hold.micros

    def used(self, scope: Literal["key", "tenant"], names: Sequence[str]) -> dict[str, int]:
        with self._lock:
            return {name: self._used.get((scope, name), 0) for name in names}

    def spent(
        self, scope: Literal["key", "tenant"], names: Sequence[str], currency: str
    ) -> dict[str, int]:
        with self._lock:
            return {name: self._spent.get((scope, name, currency), 0) for name in names}

    def close(self) -> None:
        pass


def make_limiter(config: GatewayConfig) -> Limiter:
    """RedisLimiter when `gateway.redis_url` is set, else MemoryLimiter (limits per process)."""
    if config.redis_url:
        return RedisLimiter(config.redis_url)
    return MemoryLimiter()
