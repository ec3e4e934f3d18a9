"""The request path's spend hooks: price the reservation at admission, count the answer's cost.

`SpendMeter.estimate` runs before the limiter's check, only for a caller with a spend budget:
the request's token reservation at the dearest price among the route's targets, in each
budget's currency (`sumun.gateway.spend_budget` says why an unmeasurable one is refused).
`SpendMeter.account` runs where the answer's tokens are settled (`Gateway._account`): the cost
at the serving provider's price goes to the Prometheus metrics and the usage rollup (unknown
when the model has no price, never 0), and the spend holds are settled to it. `refund` releases
the holds of a request that failed before any answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from sumun.errors import SumunError
from sumun.gateway.limits import Limiter
from sumun.gateway.metrics import Metrics
from sumun.gateway.spend import CURRENCIES, Money, PriceTable
from sumun.gateway.spend_budget import Hold, SpendUnmeasurableError, needed_currencies, settled
from sumun.gateway.usage import UsageRollup
from sumun.store.model import Limits, Principal

__all__ = ["SpendMeter"]

_log = logging.getLogger(__name__)


class SpendMeter:
    def __init__(
        self, prices: PriceTable, *, metrics: Metrics, usage: UsageRollup, limiter: Limiter
    ) -> None:
        self.prices = prices
        self._metrics = metrics
        self._usage = usage
        self._limiter = limiter

    def estimate(
        self,
        tenant_limits: Limits,
        key_limits: Limits,
        targets: Callable[[], Iterable[tuple[str, str]]],
        tokens: int,
    ) -> dict[str, int] | None:
        """Micro-units per budget currency that `tokens` may cost on one of the route's
        `targets` (provider, model); None: no spend budget.
        Raises SpendUnmeasurableError when a budget applies and the cost cannot be known."""
        currencies = needed_currencies(tenant_limits, key_limits)
        if not currencies:
            return None
        route = list(targets())  # only now: routing an unknown model raises (404)
        out: dict[str, int] = {}
        for currency in sorted(currencies):
            most = self.prices.estimate(route, tokens, currency)
            if isinstance(most, str):
                raise SpendUnmeasurableError(f"spend budget: {most}")
            out[currency] = most.micros
        return out

    def cost(self, provider: str, model: str, tokens_in: int, tokens_out: int) -> Money | None:
        price = self.prices.price(provider, model)
        return None if price is None else price.cost(tokens_in, tokens_out)

    def account(
        self,
        principal: Principal,
        holds: tuple[Hold, ...],
        *,
        provider: str,
        model: str,
        tokens: tuple[int, int] | None,
    ) -> None:
        """One answer served by `provider`/`model`: `tokens` (in, out) as reported, None when
        nothing was (the holds stand; the cost is unknown)."""
        if not self.prices and not holds:
            return  # no `prices:` at all: no spend is measured (the usage API says so)
        cost = None if tokens is None else self.cost(provider, model, *tokens)
        tenant, app = principal.tenant, principal.app or ""
        if cost is None:
            if tokens is not None:  # reported, but no price for the model
                self._metrics.unpriced.labels(tenant, provider, model).inc()
        elif cost.micros:
            self._metrics.spend.labels(tenant, app, cost.currency).inc(float(cost.amount))
        self._usage.record_spend(tenant, principal.app, principal.key_id, cost, time_s=time.time())
        if holds:
            in_each: dict[str, int] | None = None
            if cost is not None:
                in_each = {}
                for currency in CURRENCIES:
                    converted = self.prices.convert(cost, currency)
                    if converted is not None:
                        in_each[currency] = converted.micros
            self._settle(principal, settled(holds, in_each))

    def refund(self, principal: Principal, holds: tuple[Hold, ...]) -> None:
        """Nothing was answered: every hold is released."""
        if holds:
            self._settle(principal, [(hold, 0) for hold in holds])

    def _settle(self, principal: Principal, pairs: list[tuple[Hold, int]]) -> None:
        try:
            self._limiter.settle_spend(principal, pairs)
        except SumunError as exc:
            # As for tokens: the answer is on its way; the next check fails closed instead.
            self._metrics.upstream_errors.labels("limiter", "settle-spend-failed").inc()
            _log.warning("spend not settled: %s", exc)
