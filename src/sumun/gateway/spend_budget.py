"""Spend budgets: a total in KRW or USD per key and per tenant, enforced like token budgets.

A key or tenant may have a spend budget (`Limits.spend_budget`, micro-units of
`Limits.spend_currency`). At admission the gateway prices the request's token reservation
(`sumun.gateway.budget`) at the dearest price among the route's targets — the provider that
will serve it is not known yet — and `Limiter.check(spend=…)` charges that estimate to every
level that has a spend budget, in the same atomic step as the token budgets and rate limits
(the memory limiter's lock, the Redis limiter's one Lua script). The answer settles it
(`Limiter.settle_spend`): the hold becomes the answer's cost at the price of the provider that
served it; when nothing was reported (a stream cut before its usage) the hold stands.

What a bank's platform team expects when a budget cannot be measured: refusal. A request under
a spend budget for a model without a price (or priced in the other currency with no exchange
rate) is refused 403 (`forbidden`), and says which price is missing — a budget that
silently admits what it cannot count is not a budget. Requests of keys and tenants without a
spend budget are never refused for a missing price (their spend is counted as unknown).

Counters start at zero when a budget is first set or its currency changes (each currency has
its own counter); a refused request holds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sumun.errors import BudgetExceededError, ForbiddenError
from sumun.gateway.spend import Currency, Money
from sumun.store.model import Limits, Principal

__all__ = [
    "Hold",
    "SpendUnmeasurableError",
    "holds",
    "needed_currencies",
    "spend_error",
]

Scope = Literal["key", "tenant"]


class SpendUnmeasurableError(ForbiddenError):
    """A spend budget applies and the request's cost cannot be known: refused (403)."""

    advice = (
        "add the model's price under `prices.models` in sumun.yaml (and `prices.usd_krw` for a "
        "price in the budget's other currency), or lift the spend budget"
    )


@dataclass(frozen=True, slots=True)
class Hold:
    """Spend charged at admission to one level's budget, to be settled by the answer."""

    scope: Scope
    currency: Currency
    micros: int


def _currency(limits: Limits) -> Currency | None:
    if limits.spend_budget is None or limits.spend_currency not in ("KRW", "USD"):
        return None
    return "KRW" if limits.spend_currency == "KRW" else "USD"


def needed_currencies(tenant_limits: Limits, key_limits: Limits) -> set[Currency]:
    """The currencies the request must be priced in: one per level with a spend budget."""
    found = (_currency(key_limits), _currency(tenant_limits))
    return {c for c in found if c is not None}


def holds(
    tenant_limits: Limits, key_limits: Limits, spend: Mapping[str, int] | None
) -> tuple[tuple[Scope, Currency, int, int], ...]:
    """(scope, currency, budget, estimate) for each level with a spend budget; the estimate
    (micro-units) is `spend[currency]`, 0 when none was given."""
    out: list[tuple[Scope, Currency, int, int]] = []
    for scope, limits in (("key", key_limits), ("tenant", tenant_limits)):
        currency = _currency(limits)
        if currency is not None and limits.spend_budget is not None:
            estimate = (spend or {}).get(currency, 0)
            if estimate < 0:
                raise ValueError("a spend estimate must not be negative")
            out.append((scope, currency, limits.spend_budget, estimate))  # type: ignore[arg-type]
    return tuple(out)


def spend_error(
    scope: str, who: Principal, *, currency: Currency, budget: int, spent: int, estimate: int
) -> BudgetExceededError:
    """The 429 `insufficient_quota` for a spend budget that cannot take the request."""
    name = "this API key" if scope == "key" else f"tenant {who.tenant!r}"
    whole = Money(currency, budget).text()
    if spent >= budget:
        message = f"spend budget spent: {name} has used its {whole}"
    else:
        message = (
            f"spend budget: {name} has {Money(currency, budget - spent).text()} of its {whole} "
            f"left, and this request may cost up to {Money(currency, estimate).text()} "
            "(lower max_tokens, or send less)"
        )
    error = BudgetExceededError(message, scope=scope)
    error.advice = "ask an administrator to raise the spend budget"
    return error


def settled(charged: Sequence[Hold], cost: Mapping[str, int] | None) -> list[tuple[Hold, int]]:
    """Each hold with what it becomes: the answer's cost in its currency; the hold itself when
    the cost is unknown (nothing reported, or no price)."""
    out = []
    for hold in charged:
        actual = None if cost is None else cost.get(hold.currency)
        out.append((hold, hold.micros if actual is None else actual))
    return out
