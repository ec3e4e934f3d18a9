"""Rate limits and token budgets, per API key and per tenant.

What is limited (a `Limits` from the directory; None = no limit at that level):
- `rpm`: requests per minute; `check` counts the request when it lets it through;
- `tpm`: tokens per minute; tokens are known only after the answer, so `record_tokens` counts
  them then, and `check` refuses while the last minute's tokens already fill the limit;
- `token_budget`: total tokens ever. `check(reserve=n)` charges an upper estimate of the
  request's tokens at admission, in the same atomic step as the check (so concurrent requests
  cannot all fit into what is left), and `settle` replaces it with what the answer used — or
  keeps it when nothing was reported (a stream cut before its usage). See `sumun.gateway.budget`.
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
- `RedisLimiter`: limits hold across processes and restarts. Each check is one Lua script
  (atomic in Redis), on Redis's clock, so workers never disagree about windows. Redis down
  means fail closed: `LimiterUnavailableError` (503), never unlimited traffic. Socket timeouts
  are short (0.25 s) and, after a failure, checks fail at once for `down_seconds` (1 s) rather
  than each waiting on a dead server.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from sumun.config import GatewayConfig
from sumun.errors import (
    BudgetExceededError,
    ConfigError,
    LimiterUnavailableError,
    RateLimitedError,
)
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
_REDIS_TIMEOUT = 0.25
_DOWN_SECONDS = 1.0
# Float rounding must not refuse a client that waited exactly `retry_after` (1e-9 requests).
_SLACK = 1e-9

_SCOPES = ("key", "tenant")
_WHAT = {"rpm": "requests per minute", "tpm": "tokens per minute"}


@runtime_checkable
class Limiter(Protocol):
    def check(
        self, principal: Principal, tenant_limits: Limits, key_limits: Limits, *, reserve: int = 0
    ) -> Admitted:
        """Admit one request or raise RateLimitedError / BudgetExceededError.

        An admitted request is counted against `rpm` at once. When the key or its tenant has a
        token budget, `reserve` tokens are charged to both budgets in the same atomic step and
        returned as `reserved` (the caller MUST `settle` them); else 0. Raises
        LimiterUnavailableError if the limits cannot be checked (the caller MUST refuse the
        request).
        """
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


@dataclass(frozen=True, slots=True)
class Quota:
    """One per-minute limit as the caller sees it: `remaining` whole units (after this request,
    when it was admitted) and `reset` seconds until the window is whole again (nothing counted)."""

    limit: int
    remaining: int
    reset: float


def _quota(limit: int, estimate: float, reset: float) -> Quota:
    return Quota(limit, max(0, math.floor(limit - estimate + _SLACK)), max(0.0, reset))


def _tightest(quotas: Sequence[Quota]) -> Quota | None:
    """The quota that binds first (least left; then the smaller limit), None if none is set."""
    return min(quotas, key=lambda q: (q.remaining, q.limit), default=None)


def _duration(seconds: float) -> str:
    """`seconds` as OpenAI writes its reset headers (Go durations): "17ms", "1s", "6m0s"."""
    ms = max(0, math.ceil(seconds * 1000 - 1e-6))  # round up: waiting `reset` is enough
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{secs}s"


@dataclass(frozen=True, slots=True)
class Headroom:
    """The binding per-minute quotas of one check: requests (`rpm`) and tokens (`tpm`)."""

    requests: Quota | None = None
    tokens: Quota | None = None

    def headers(self) -> dict[str, str]:
        """The `x-ratelimit-*` headers; none for a dimension without a limit."""
        out: dict[str, str] = {}
        for name, quota in (("requests", self.requests), ("tokens", self.tokens)):
            if quota is not None:
                out[f"x-ratelimit-limit-{name}"] = str(quota.limit)
                out[f"x-ratelimit-remaining-{name}"] = str(quota.remaining)
                out[f"x-ratelimit-reset-{name}"] = _duration(quota.reset)
        return out


@dataclass(frozen=True, slots=True)
class Admitted:
    """An admitted request: budget tokens `reserved` (to `settle`) and the `headroom` left."""

    reserved: int
    headroom: Headroom


def _who(scope: str, principal: Principal) -> str:
    return "this API key" if scope == "key" else f"tenant {principal.tenant!r}"


def _rate_error(
    scope: str, dim: str, limit: int, wait: float, who: Principal, *, headroom: Headroom
) -> RateLimitedError:
    wait = max(wait, 0.001)
    return RateLimitedError(
        f"rate limit: {_who(scope, who)} is at its {_WHAT[dim]} ({limit}); retry after {wait:.1f}s",
        retry_after=wait,
        scope=scope,
        dimension=dim,
        headers=headroom.headers(),
    )


def _budget_error(
    scope: str, limit: int, who: Principal, used: int | None = None, reserve: int = 0
) -> BudgetExceededError:
    if used is None or used >= limit:
        message = f"token budget spent: {_who(scope, who)} has used its {limit} tokens"
    else:
        message = (
            f"token budget: {_who(scope, who)} has {limit - used} of its {limit} tokens left, "
            f"and this request may use up to {reserve} (lower max_tokens, or send less)"
        )
    return BudgetExceededError(message, scope=scope)


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

    def __repr__(self) -> str:
        return "<MemoryLimiter>"

    def _counter(self, scope: str, name: str, dim: str, index: int) -> _Window:
        window = self._windows.setdefault((scope, name, dim), _Window(index))
        window.roll(index)
        return window

    def check(
        self, principal: Principal, tenant_limits: Limits, key_limits: Limits, *, reserve: int = 0
    ) -> Admitted:
        if reserve < 0:
            raise ValueError("reserve must not be negative")
        levels = (
            ("key", principal.key_id, key_limits),
            ("tenant", principal.tenant, tenant_limits),
        )
        with self._lock:
            budgeted = self._fits(levels, reserve, principal)
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
                    if w.previous * (1 - frac) + w.current + 1 > limit + _SLACK:
                        wait = _wait(w, frac, limit, self._window)
                        if worst is None or wait > worst[0]:
                            worst = (wait, scope, dim, limit)
            if worst is not None:
                headroom = self._headroom(counted, frac)
                raise _rate_error(
                    worst[1], worst[2], worst[3], worst[0], principal, headroom=headroom
                )
            for dim, _limit, w in counted:
                if dim == "rpm":
                    w.current += 1
            charged = reserve if budgeted else 0
            for scope, name, _limits in levels:
                self._used[scope, name] = self._used.get((scope, name), 0) + charged
            return Admitted(charged, self._headroom(counted, frac))

    def _headroom(self, counted: Sequence[tuple[str, int, _Window]], frac: float) -> Headroom:
        quotas: dict[str, list[Quota]] = {"rpm": [], "tpm": []}
        for dim, limit, w in counted:
            estimate = w.previous * (1 - frac) + w.current
            reset = _reset(w.current, w.previous, frac, self._window)
            quotas[dim].append(_quota(limit, estimate, reset))
        return Headroom(_tightest(quotas["rpm"]), _tightest(quotas["tpm"]))

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
                raise _budget_error(scope, budget, who, used, reserve)
        return budgeted

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

    def used(self, scope: Literal["key", "tenant"], names: Sequence[str]) -> dict[str, int]:
        with self._lock:
            return {name: self._used.get((scope, name), 0) for name in names}

    def close(self) -> None:
        pass


# -- Redis ---------------------------------------------------------------------------------

# Shared by both scripts: Redis's clock, and a counter hash {w: window index, c: current,
# p: previous} rolled forward to the current window (the Lua twin of `_Window.roll`).
_LUA_PRELUDE = """
local window = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local index = math.floor(now / window)
local frac = (now - index * window) / window
local function load(key)
  local v = redis.call('HMGET', key, 'w', 'c', 'p')
  local w = tonumber(v[1])
  if w == index then return tonumber(v[2]) or 0, tonumber(v[3]) or 0 end
  if w == index - 1 then return 0, tonumber(v[2]) or 0 end
  return 0, 0
end
local function store(key, c, p)
  redis.call('HSET', key, 'w', index, 'c', c, 'p', p)
  redis.call('PEXPIRE', key, window * 2)
end
"""

# KEYS: key rpm, tenant rpm, key tpm, tenant tpm, key used, tenant used.
# ARGV: window ms, then the six limits in the same order (0 = no limit), then the reservation.
# Returns {0, charged, view} admitted, {1, i, wait ms, view} rate-limited by KEYS[i], {2, i,
# used} the budget KEYS[i] cannot take the reservation. `view`: for KEYS[1..4] in turn, the
# estimate (thousandths; an admitted request counted) and ms until it is 0 (`_reset`).
_LUA_CHECK = (
    _LUA_PRELUDE
    + """
local reserve = tonumber(ARGV[8])
local need = math.max(reserve, 1)
local budgeted = false
for i = 5, 6 do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 then
    budgeted = true
    local used = tonumber(redis.call('GET', KEYS[i])) or 0
    if used + need > limit then return {2, i, used} end
  end
end
local worst, which, state = -1, 0, {}
for i = 1, 4 do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 then
    local c, p = load(KEYS[i])
    state[i] = {c, p}
    if p * (1 - frac) + c + 1 > limit + 1e-9 then
      local wait
      if c + 1 <= limit then
        wait = (1 - (limit - c - 1) / p - frac) * window
      else
        local after = 1 - (limit - 1) / c
        if after < 0 then after = 0 end
        wait = (1 - frac) * window + after * window
      end
      if wait > worst then worst, which = wait, i end
    end
  end
end
local function view(reply)
  for i = 1, 4 do
    local c, p = 0, 0
    if state[i] then c, p = state[i][1], state[i][2] end
    local reset = 0
    if c > 0 then reset = (2 - frac) * window elseif p > 0 then reset = (1 - frac) * window end
    table.insert(reply, math.floor((p * (1 - frac) + c) * 1000))
    table.insert(reply, math.ceil(reset))
  end
  return reply
end
if which > 0 then return view({1, which, math.ceil(worst)}) end
for i = 1, 2 do
  if state[i] then
    state[i][1] = state[i][1] + 1
    store(KEYS[i], state[i][1], state[i][2])
  end
end
if budgeted and reserve > 0 then
  redis.call('INCRBY', KEYS[5], reserve)
  redis.call('INCRBY', KEYS[6], reserve)
  return view({0, reserve})
end
return view({0, 0})
"""
)

# KEYS: key tpm, tenant tpm, key used, tenant used. ARGV: window ms, tokens, reserved.
_LUA_RECORD = (
    _LUA_PRELUDE
    + """
local tokens = tonumber(ARGV[2])
local delta = tokens - tonumber(ARGV[3])
for i = 1, 2 do
  local c, p = load(KEYS[i])
  store(KEYS[i], c + tokens, p)
end
if delta ~= 0 then
  redis.call('INCRBY', KEYS[3], delta)
  redis.call('INCRBY', KEYS[4], delta)
end
return 0
"""
)

_DIMENSIONS = (("key", "rpm"), ("tenant", "rpm"), ("key", "tpm"), ("tenant", "tpm"))


def _where(url: str) -> str:
    """Host and port (or socket path) of a Redis URL: never its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"


class RedisLimiter:
    """Limits shared by every process that uses the same Redis and `prefix`."""

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "sumun:limits",
        window_seconds: float = _WINDOW_SECONDS,
        timeout: float = _REDIS_TIMEOUT,
        down_seconds: float = _DOWN_SECONDS,
        client_name: str = "sumun-limiter",
    ) -> None:
        if window_seconds < 0.01:
            raise ValueError("window_seconds must be at least 0.01")
        self._where = _where(redis_url)
        self._prefix = prefix
        self._window_ms = round(window_seconds * 1000)
        self._down_seconds = down_seconds
        self._down_until = 0.0
        try:
            self._redis = redis.Redis.from_url(
                redis_url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                # One immediate retry replaces a pooled connection that Redis closed.
                retry=Retry(NoBackoff(), 1),
                client_name=client_name,  # names our connections in `CLIENT LIST`
            )
        except ValueError as exc:  # the message names the schemes, never the URL
            raise ConfigError(f"gateway.redis_url is not a Redis URL ({exc})") from exc
        self._check = self._redis.register_script(_LUA_CHECK)
        self._record = self._redis.register_script(_LUA_RECORD)

    def __repr__(self) -> str:
        return f"<RedisLimiter {self._where} prefix={self._prefix!r}>"

    def _keys(self, principal: Principal, dims: tuple[str, ...]) -> list[str]:
        names = {"key": f"k:{principal.key_id}", "tenant": f"t:{principal.tenant}"}
        return [f"{self._prefix}:{names[scope]}:{dim}" for dim in dims for scope in _SCOPES]

    def _run(self, script: Script, keys: list[str], args: list[int]) -> object:
        if time.monotonic() < self._down_until:
            raise LimiterUnavailableError(
                f"the rate-limit store at {self._where} failed moments ago; refusing traffic"
            )
        try:
            return script(keys=keys, args=args)
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + self._down_seconds
            raise LimiterUnavailableError(
                f"the rate-limit store at {self._where} cannot be reached "
                f"({type(exc).__name__}); refusing traffic"
            ) from exc

    def check(
        self, principal: Principal, tenant_limits: Limits, key_limits: Limits, *, reserve: int = 0
    ) -> Admitted:
        if reserve < 0:
            raise ValueError("reserve must not be negative")
        limits = (
            key_limits.rpm,
            tenant_limits.rpm,
            key_limits.tpm,
            tenant_limits.tpm,
            key_limits.token_budget,
            tenant_limits.token_budget,
        )
        if not any(limits):
            return Admitted(0, Headroom())  # nothing to enforce: no round trip
        keys = self._keys(principal, ("rpm", "tpm", "used"))
        args = [self._window_ms, *(v or 0 for v in limits), reserve]
        reply = self._run(self._check, keys, args)
        if not isinstance(reply, list) or not reply:
            return Admitted(0, Headroom())
        if reply[0] == 0:
            return Admitted(int(reply[1]), self._headroom(limits, reply[2:]))
        which = int(reply[1]) - 1
        if reply[0] == 2:
            scope = _SCOPES[which - 4]
            used = int(reply[2]) if len(reply) > 2 else None
            raise _budget_error(scope, int(limits[which] or 0), principal, used, reserve)
        scope, dim = _DIMENSIONS[which]
        headroom = self._headroom(limits, reply[3:])
        wait = int(reply[2]) / 1000
        raise _rate_error(scope, dim, int(limits[which] or 0), wait, principal, headroom=headroom)

    @staticmethod
    def _headroom(limits: Sequence[int | None], view: Sequence[int]) -> Headroom:
        """The script's `view` (estimate in thousandths, reset ms; per counter) as a Headroom."""
        quotas: dict[str, list[Quota]] = {"rpm": [], "tpm": []}
        for i, (_scope, dim) in enumerate(_DIMENSIONS):
            limit = limits[i]
            if limit and len(view) >= 2 * i + 2:
                estimate, reset = int(view[2 * i]), int(view[2 * i + 1])
                quotas[dim].append(_quota(limit, estimate / 1000, reset / 1000))
        return Headroom(_tightest(quotas["rpm"]), _tightest(quotas["tpm"]))

    def settle(self, principal: Principal, reserved: int, tokens: int) -> None:
        if tokens < 0 or reserved < 0:
            raise ValueError("tokens must not be negative")
        if tokens == 0 and reserved == 0:
            return
        keys = self._keys(principal, ("tpm", "used"))
        self._run(self._record, keys, [self._window_ms, tokens, reserved])

    def record_tokens(self, principal: Principal, tokens: int) -> None:
        self.settle(principal, 0, tokens)

    def used(self, scope: Literal["key", "tenant"], names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        short = "k" if scope == "key" else "t"  # as `_keys` names them
        keys = [f"{self._prefix}:{short}:{name}:used" for name in names]
        try:
            values = self._redis.mget(keys)
        except redis.RedisError as exc:
            raise LimiterUnavailableError(
                f"the rate-limit store at {self._where} cannot be reached ({type(exc).__name__})"
            ) from exc
        return {name: int(v or 0) for name, v in zip(names, values, strict=True)}

    def close(self) -> None:
        self._redis.close()


def make_limiter(config: GatewayConfig) -> Limiter:
    """RedisLimiter when `gateway.redis_url` is set, else MemoryLimiter (limits per process)."""
    if config.redis_url:
        return RedisLimiter(config.redis_url)
    return MemoryLimiter()
