"""The Redis limiter: limits that hold across processes and restarts (see `sumun.gateway.limits`).

Each check is one Lua script, atomic in Redis and on Redis's clock, so workers never disagree
about windows; settling is another. Redis down means fail closed: `LimiterUnavailableError`
(503), never unlimited traffic. Socket timeouts are short (0.25 s) and, after a failure, checks
fail at once for `down_seconds` (1 s) rather than each waiting on a dead server.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Literal
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from sumun.errors import ConfigError, LimiterUnavailableError
from sumun.gateway.headroom import (
    Admitted,
    Headroom,
    Quota,
    budget_error,
    quota,
    rate_error,
    tightest,
)
from sumun.gateway.spend_budget import Hold, holds, spend_error
from sumun.store.model import Limits, Principal

__all__ = ["RedisLimiter"]

_WINDOW_SECONDS = 60.0
_REDIS_TIMEOUT = 0.25
_DOWN_SECONDS = 1.0
_SCOPES = ("key", "tenant")

# -- the scripts ---------------------------------------------------------------------------------

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

# KEYS: key rpm, tenant rpm, key tpm, tenant tpm, key used, tenant used, key spent, tenant
# spent. ARGV: window ms, then the six limits in the same order (0 = no limit), then the
# reservation, then the key's and the tenant's spend budget (0 = none) and spend holds.
# Returns {0, charged, view} admitted, {1, i, wait ms, view} rate-limited by KEYS[i], {2, i,
# used} the budget KEYS[i] cannot take the reservation, {3, i, spent} nor the spend hold.
# `view`: for KEYS[1..4] in turn, the estimate (thousandths; an admitted request counted) and
# ms until it is 0 (`_reset`).
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
for i = 7, 8 do
  local limit = tonumber(ARGV[i + 2])
  if limit > 0 then
    local spent = tonumber(redis.call('GET', KEYS[i])) or 0
    if spent + math.max(tonumber(ARGV[i + 4]), 1) > limit then return {3, i, spent} end
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
for i = 7, 8 do
  local hold = tonumber(ARGV[i + 4])
  if tonumber(ARGV[i + 2]) > 0 and hold > 0 then redis.call('INCRBY', KEYS[i], hold) end
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
        charges = {c[0]: c for c in holds(tenant_limits, key_limits, spend)}
        limits = (
            key_limits.rpm,
            tenant_limits.rpm,
            key_limits.tpm,
            tenant_limits.tpm,
            key_limits.token_budget,
            tenant_limits.token_budget,
        )
        if not any(limits) and not charges:
            return Admitted(0, Headroom())  # nothing to enforce: no round trip
        keys = self._keys(principal, ("rpm", "tpm", "used"))
        spend_args: list[int] = [0, 0, 0, 0]
        for i, scope in enumerate(_SCOPES):
            charge = charges.get("key" if scope == "key" else "tenant")
            currency = charge[1] if charge else "none"
            keys.append(self._spent_key(scope, principal, currency))
            if charge:
                spend_args[i], spend_args[i + 2] = charge[2], charge[3]
        args = [self._window_ms, *(v or 0 for v in limits), reserve, *spend_args]
        reply = self._run(self._check, keys, args)
        if not isinstance(reply, list) or not reply:
            return Admitted(0, Headroom())
        if reply[0] == 0:
            held = tuple(Hold(sc, cur, est) for sc, cur, _budget, est in charges.values())
            return Admitted(int(reply[1]), self._headroom(limits, reply[2:]), held)
        which = int(reply[1]) - 1
        if reply[0] == 3:
            level, currency, budget, estimate = charges["key" if which == 6 else "tenant"]
            raise spend_error(
                level,
                principal,
                currency=currency,
                budget=budget,
                spent=int(reply[2]),
                estimate=estimate,
            )
        if reply[0] == 2:
            scope = _SCOPES[which - 4]
            used = int(reply[2]) if len(reply) > 2 else None
            raise budget_error(scope, int(limits[which] or 0), principal, used, reserve)
        scope, dim = _DIMENSIONS[which]
        headroom = self._headroom(limits, reply[3:])
        wait = int(reply[2]) / 1000
        raise rate_error(scope, dim, int(limits[which] or 0), wait, principal, headroom=headroom)

    @staticmethod
    def _headroom(limits: Sequence[int | None], view: Sequence[int]) -> Headroom:
        """The script's `view` (estimate in thousandths, reset ms; per counter) as a Headroom."""
        quotas: dict[str, list[Quota]] = {"rpm": [], "tpm": []}
        for i, (_scope, dim) in enumerate(_DIMENSIONS):
            limit = limits[i]
            if limit and len(view) >= 2 * i + 2:
                estimate, reset = int(view[2 * i]), int(view[2 * i + 1])
                quotas[dim].append(quota(limit, estimate / 1000, reset / 1000))
        return Headroom(tightest(quotas["rpm"]), tightest(quotas["tpm"]))

    def settle(self, principal: Principal, reserved: int, tokens: int) -> None:
        if tokens < 0 or reserved < 0:
            raise ValueError("tokens must not be negative")
        if tokens == 0 and reserved == 0:
            return
        keys = self._keys(principal, ("tpm", "used"))
        self._run(self._record, keys, [self._window_ms, tokens, reserved])

    def record_tokens(self, principal: Principal, tokens: int) -> None:
        self.settle(principal, 0, tokens)

    def _spent_key(self, scope: str, principal: Principal, currency: str) -> str:
        name = f"k:{principal.key_id}" if scope == "key" else f"t:{principal.tenant}"
        return f"{self._prefix}:{name}:spent:{currency}"

    def settle_spend(self, principal: Principal, settled: Sequence[tuple[Hold, int]]) -> None:
        deltas = [(h, actual - h.micros) for h, actual in settled if actual != h.micros]
        if not deltas:
            return
        if time.monotonic() < self._down_until:
            raise LimiterUnavailableError(f"the rate-limit store at {self._where} is down")
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                for hold, delta in deltas:
                    pipe.incrby(self._spent_key(hold.scope, principal, hold.currency), delta)
                pipe.execute()
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + self._down_seconds
            raise LimiterUnavailableError(
                f"the rate-limit store at {self._where} cannot be reached ({type(exc).__name__})"
            ) from exc

    def spent(
        self, scope: Literal["key", "tenant"], names: Sequence[str], currency: str
    ) -> dict[str, int]:
        return self._read(scope, names, f"spent:{currency}")

    def used(self, scope: Literal["key", "tenant"], names: Sequence[str]) -> dict[str, int]:
        return self._read(scope, names, "used")

    def _read(self, scope: str, names: Sequence[str], what: str) -> dict[str, int]:
        if not names:
            return {}
        short = "k" if scope == "key" else "t"  # as `_keys` names them
        keys = [f"{self._prefix}:{short}:{name}:{what}" for name in names]
        try:
            values = self._redis.mget(keys)
        except redis.RedisError as exc:
            raise LimiterUnavailableError(
                f"the rate-limit store at {self._where} cannot be reached ({type(exc).__name__})"
            ) from exc
        return {name: int(v or 0) for name, v in zip(names, values, strict=True)}

    def close(self) -> None:
        self._redis.close()
