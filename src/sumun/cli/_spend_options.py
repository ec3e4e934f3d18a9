"""The CLI's spend budget options (`--budget-krw 50000`, `--budget-usd 40`), shared by
`sumun tenants update`, `tenants keys issue` and `tenants keys budget`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sumun.errors import UsageError
from sumun.gateway.spend import Money, parse_amount

__all__ = ["BudgetKrwOpt", "BudgetUsdOpt", "spend_choice", "spend_text"]

BudgetKrwOpt = Annotated[
    str | None,
    typer.Option("--budget-krw", help="spend budget in won (whole won, e.g. 50000)"),
]
BudgetUsdOpt = Annotated[
    str | None,
    typer.Option("--budget-usd", help="spend budget in US dollars (e.g. 40 or 12.50)"),
]


def spend_choice(krw: str | None, usd: str | None) -> tuple[str, int] | None:
    """(currency, micro-units) for the option given; None when neither was."""
    if krw is not None and usd is not None:
        raise UsageError("a spend budget is in one currency: give --budget-krw or --budget-usd")
    given = ("KRW", krw) if krw is not None else ("USD", usd) if usd is not None else None
    if given is None or given[1] is None:
        return None
    try:
        money = parse_amount(given[0], given[1].replace(",", "").replace("_", ""))
    except (ValueError, ArithmeticError) as exc:
        raise UsageError(f"--budget-{given[0].lower()}: {exc}") from None
    return money.currency, money.micros


def spend_text(record: Any) -> str:
    """ ", spend budget ₩50,000" for a tenant or key with one, else ""."""
    micros, currency = record.spend_budget, record.spend_currency
    if micros is None or currency not in ("KRW", "USD"):
        return ""
    return f"; spend budget {Money(currency, micros).text()}"
