"""The gateway's own limits and the price table: `gateway`, `prices`
(docs/configuration.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from sumun.config._base import _Strict


class GatewayConfig(_Strict):
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Breaker: open after this many consecutive failures, try again after the cool-down.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=10.0, gt=0)
    # Where limits and the kill switch are shared across processes (e.g. redis://127.0.0.1/0).
    redis_url: str | None = None
    # How long sealed pseudonym tables (token -> original) are kept apart from the data, for
    # re-identification by those entitled to it; 0 = not kept once the answer is restored.
    pseudonym_retention_days: float = Field(default=30.0, ge=0)
    # PII detection of one request may take this long (in a worker thread); past it the request
    # is refused (413 scan_budget_exceeded), never forwarded unscanned.
    detection_budget_seconds: float = Field(default=5.0, gt=0, le=120)
    # Output tokens reserved against a token budget when a request names no max_tokens
    # (sumun.gateway.budget); settled to what the provider reports.
    default_output_reservation: int = Field(default=1024, ge=0, le=1_000_000)
    # The most of one answer (streamed or not) the ledger keeps as its encrypted payload; a
    # longer answer is cut there and the cut recorded (`payload_truncated_from`).
    ledger_payload_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)


class PriceConfig(_Strict):
    """One model's price per million tokens (sumun.gateway.spend). Decimal: never a float."""

    currency: Literal["KRW", "USD"]
    input_per_mtok: Decimal = Field(ge=0, allow_inf_nan=False)
    output_per_mtok: Decimal = Field(ge=0, allow_inf_nan=False)


class PricesConfig(_Strict):
    """`prices:` — per model (`provider/model` or the upstream model name). A model not here
    has an unknown cost (counted as such), and a request for it under a spend budget is refused."""

    models: dict[str, PriceConfig] = Field(default_factory=dict)
    # The operator's exchange rate (KRW per USD) for reporting the other currency, and the day
    # it was taken: Sumun never fetches one.
    usd_krw: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    rate_date: date | None = None
