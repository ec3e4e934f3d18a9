"""What a model call costs: the operator's price table (`prices:` in sumun.yaml) and the math.

Prices are per million tokens, in KRW or USD, input and output apart, for the model a provider
serves: `provider/model` (exact) first, then the model name alone. Amounts are integers of
*micro-units* (1/1,000,000 of a won or a dollar): with a price per million tokens, a call's
cost in micro-units is just `tokens_in * input_per_mtok + tokens_out * output_per_mtok`,
exact in Decimal, rounded once per answer (half up) — sums of integers never drift as floats
would. Shown to people, KRW has no minor unit (whole won) and USD shows cents (`Money.text`).

The other currency is reported with the operator's own exchange rate (`prices.usd_krw`, dated
by `prices.rate_date`): a reporting convenience, never what a budget is charged in. A spend
budget is in one currency; a call priced in the other is converted at that rate to be charged,
and without a rate it cannot be measured (`PriceTable.estimate` says why).

A model without a price costs *unknown*, never 0: `PriceTable.price` answers None, the metrics
count the answer as unpriced, and a request under a spend budget is refused
(`sumun.gateway.spend_budget`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sumun.config import PricesConfig

__all__ = ["CURRENCIES", "MICROS", "Currency", "Money", "Price", "PriceTable", "parse_amount"]

Currency = Literal["KRW", "USD"]
CURRENCIES: tuple[Currency, ...] = ("KRW", "USD")
MICROS = 1_000_000  # micro-units in one won or dollar
_MINOR = {"KRW": 0, "USD": 2}  # decimals shown: the won has no minor unit, the dollar cents


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in micro-units of one currency."""

    currency: Currency
    micros: int

    @property
    def amount(self) -> Decimal:
        """Exact, in whole units (e.g. Decimal('0.000123') dollars)."""
        return Decimal(self.micros) / MICROS

    def text(self) -> str:
        """For people: "₩1,235" (whole won, half up) or "$0.01" (cents, half up)."""
        places = _MINOR[self.currency]
        shown = self.amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        sign = "₩" if self.currency == "KRW" else "$"
        return f"{'-' if shown < 0 else ''}{sign}{abs(shown):,.{places}f}"


def parse_amount(currency: str, value: Decimal | int | str) -> Money:
    """An amount given in whole units (a budget from the CLI or the admin API) as Money;
    ValueError for an unknown currency, or more decimals than the currency has (KRW: none)."""
    upper = currency.upper()
    if upper not in _MINOR:
        raise ValueError(f"unknown currency {currency!r}: use KRW or USD")
    amount = Decimal(str(value))
    if not amount.is_finite() or amount <= 0:
        raise ValueError("an amount must be a positive number")
    if amount != amount.quantize(Decimal(1).scaleb(-_MINOR[upper]), rounding=ROUND_HALF_UP):
        minor = "no minor unit" if upper == "KRW" else "2 decimals (cents)"
        raise ValueError(f"{upper} amounts have {minor}: {value}")
    return Money(upper, _round(amount * MICROS))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Price:
    """One model's price per million tokens."""

    currency: Currency
    input_per_mtok: Decimal
    output_per_mtok: Decimal

    def cost(self, tokens_in: int, tokens_out: int) -> Money:
        """The cost of one answer, rounded once (half up) to a micro-unit."""
        exact = tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok
        return Money(self.currency, _round(exact))

    def most(self, tokens: int) -> Money:
        """An upper bound for `tokens` of unknown split (a reservation): all at the dearer rate."""
        return Money(self.currency, _round(tokens * max(self.input_per_mtok, self.output_per_mtok)))


class PriceTable:
    """The prices in force, looked up by provider and upstream model (pure, no I/O)."""

    def __init__(
        self,
        prices: Mapping[str, Price] | None = None,
        *,
        usd_krw: Decimal | None = None,
        rate_date: str | None = None,
    ) -> None:
        self._prices = dict(prices or {})
        self.usd_krw = usd_krw
        self.rate_date = rate_date

    @classmethod
    def from_config(cls, config: PricesConfig) -> PriceTable:
        prices = {
            name: Price(p.currency, p.input_per_mtok, p.output_per_mtok)
            for name, p in config.models.items()
        }
        rate_date = config.rate_date.isoformat() if config.rate_date else None
        return cls(prices, usd_krw=config.usd_krw, rate_date=rate_date)

    def __bool__(self) -> bool:
        return bool(self._prices)

    def price(self, provider: str, model: str) -> Price | None:
        """`provider/model` first, then `model`; None: no price (the cost is unknown)."""
        return self._prices.get(f"{provider}/{model}") or self._prices.get(model)

    def convert(self, money: Money, to: Currency) -> Money | None:
        """`money` in `to` at the operator's rate; None when no rate is set."""
        if money.currency == to:
            return money
        if self.usd_krw is None:
            return None
        if to == "KRW":
            return Money("KRW", _round(money.micros * self.usd_krw))
        return Money("USD", _round(money.micros / self.usd_krw))

    def estimate(
        self, targets: Iterable[tuple[str, str]], tokens: int, currency: Currency
    ) -> Money | str:
        """The most `tokens` may cost in `currency` on whichever of the route's (provider,
        model) targets serves it — or why it cannot be known (a target without a price, or a
        price in the other currency and no exchange rate)."""
        most = Money(currency, 0)
        for provider, model in targets:
            price = self.price(provider, model)
            if price is None:
                return (
                    f"model {model!r} of provider {provider!r} has no price in `prices:`, so a "
                    f"{currency} spend budget cannot be measured"
                )
            cost = self.convert(price.most(tokens), currency)
            if cost is None:
                return (
                    f"model {model!r} is priced in {price.currency} and `prices.usd_krw` is not "
                    f"set, so a {currency} spend budget cannot be measured"
                )
            most = max(most, cost)
        return most
