"""What a limit check tells its caller, shared by both limiters (`sumun.gateway.limits`).

`Quota` is one per-minute limit as a check saw it, `Headroom` the binding quota per dimension
(requests, tokens) and its OpenAI-style `x-ratelimit-*` headers, `Admitted` what an admitted
request holds, and `rate_error` / `budget_error` the refusals with their messages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sumun.errors import BudgetExceededError, RateLimitedError
from sumun.gateway.spend_budget import Hold
from sumun.store.model import Principal

__all__ = [
    "SLACK",
    "Admitted",
    "Headroom",
    "Quota",
    "budget_error",
    "quota",
    "rate_error",
    "tightest",
]

_WHAT = {"rpm": "requests per minute", "tpm": "tokens per minute"}

# Float rounding must not refuse a client that waited exactly `retry_after` (1e-9 requests).
SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class Quota:
    """One per-minute limit as the caller sees it: `remaining` whole units (after this request,
    when it was admitted) and `reset` seconds until the window is whole again (nothing counted)."""

    limit: int
    remaining: int
    reset: float


def quota(limit: int, estimate: float, reset: float) -> Quota:
    return Quota(limit, max(0, math.floor(limit - estimate + SLACK)), max(0.0, reset))


def tightest(quotas: Sequence[Quota]) -> Quota | None:
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
    """An admitted request: budget tokens `reserved` (to `settle`), the `headroom` left and
    the `spend` held against spend budgets (to `settle_spend`)."""

    reserved: int
    headroom: Headroom
    spend: tuple[Hold, ...] = ()


def _who(scope: str, principal: Principal) -> str:
    return "this API key" if scope == "key" else f"tenant {principal.tenant!r}"


def rate_error(
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


def budget_error(
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
