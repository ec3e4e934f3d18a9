"""Usage over time: `GET /usage?window=1h|24h|7d&by=tenant|provider|decision[&series=false]`.

Read from the usage rollup (`sumun.store.usage`), never from the ledger: requests, errors,
tokens in and out, and latency p50/p99 per time bucket, in total and per group. Counts reach
the rollup when a node flushes (every 5 s), so the newest bucket may still grow. A tenant's
keys see their own tenant only; the operator tenant's keys see every tenant. `series=false`
leaves out each group's per-bucket figures (a chart of totals by tenant needs none of them).

Percentiles are read from fixed latency buckets (`latency_bounds_ms`), interpolated within a
bucket: exact to the bucket, not to the millisecond.

`spend`: what the window's answers cost at the prices in sumun.yaml (`prices:`), per tenant, per
app and per key, in the currency of each price (exact decimal strings; integer micro-units
too), with the other currency at the operator's dated rate (`prices.usd_krw`) when one is set.
Answers whose cost is unknown (no price for their model) are a `none` line, counted, never 0.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, QueryModel
from sumun.admin.http.operation import Call, Operation
from sumun.gateway.spend import Money, PriceTable
from sumun.store.model import Permission
from sumun.store.spend import UNPRICED, SpendStore, SpendTotal
from sumun.store.usage import LATENCY_BOUNDS_MS, UsageCounts, UsageRead, percentile_ms

__all__ = [
    "OPERATIONS",
    "WINDOWS",
    "Spend",
    "SpendLine",
    "Usage",
    "UsageQuery",
    "UsageSeries",
    "spend_report",
]

Window = Literal["1h", "24h", "7d"]
By = Literal["tenant", "provider", "decision"]

# window → (span of one bucket in seconds, number of buckets)
WINDOWS: dict[str, tuple[int, int]] = {"1h": (60, 60), "24h": (900, 96), "7d": (3600, 168)}


class UsageQuery(QueryModel):
    window: Window = Field(default="24h", description="how far back: 1h, 24h or 7d")
    by: By = Field(default="decision", description="what each group is: tenant, provider, decision")
    series: bool = Field(
        default=True,
        description="false: each group's window totals only (its per-bucket lists are empty)",
    )


class UsageSeries(BaseModel):
    name: str = Field(description="the tenant, provider or decision; `total` for the sum")
    requests: list[int] = Field(description="one figure per bucket, as `buckets`")
    errors: list[int] = Field(description="requests answered with a status ≥ 400")
    tokens_in: list[int]
    tokens_out: list[int]
    total_requests: int
    total_errors: int
    total_tokens_in: int
    total_tokens_out: int
    window_p50_ms: float | None = Field(description="over the whole window; null: no requests")
    window_p99_ms: float | None


class SpendLine(BaseModel):
    tenant: str
    app: str | None = Field(description="null: the tenant's total, or a key bound to no app")
    key_id: str | None = Field(description="null: a tenant's or app's total")
    currency: Literal["KRW", "USD", "none"] = Field(description="none: cost unknown (no price)")
    amount: str | None = Field(description="exact decimal amount; null when the cost is unknown")
    micros: int = Field(description="the amount in millionths of a won or dollar")
    answers: int = Field(description="answers summed in this line")
    krw: str | None = Field(description="in KRW (at `usd_krw` for USD); null: no rate")
    usd: str | None = Field(description="in USD (at `usd_krw` for KRW); null: no rate")


class Spend(BaseModel):
    tenants: list[SpendLine] = Field(default_factory=list, description="per tenant and currency")
    apps: list[SpendLine] = Field(default_factory=list, description="per tenant, app and currency")
    keys: list[SpendLine] = Field(default_factory=list, description="per key and currency")
    usd_krw: str | None = Field(default=None, description="the operator's rate: KRW per USD")
    rate_date: str | None = Field(default=None, description="the day that rate was taken")
    priced: bool = Field(
        default=False, description="false: sumun.yaml has no `prices:`, so no spend is measured"
    )


class Usage(BaseModel):
    window: Window
    by: By
    span_seconds: int = Field(description="the length of one bucket")
    buckets: list[int] = Field(description="each bucket's start, epoch seconds, oldest first")
    latency_bounds_ms: list[int] = Field(description="upper bounds of the latency histogram")
    total: UsageSeries
    p50_ms: list[float | None] = Field(description="all requests' p50 per bucket; null: none")
    p99_ms: list[float | None]
    groups: list[UsageSeries] = Field(description="one per group, most requests first")
    spend: Spend = Field(default_factory=Spend, description="cost per tenant, app and key")


_At = tuple[str, str | None, str | None, str]  # tenant, app, key id, currency


def _line(prices: PriceTable, at: _At, micros: int, answers: int) -> SpendLine:
    tenant, app, key, currency = at
    if currency not in ("KRW", "USD"):
        return SpendLine.model_construct(
            tenant=tenant, app=app, key_id=key, currency=UNPRICED, amount=None, micros=0,
            answers=answers, krw=None, usd=None,
        )  # fmt: skip
    money = Money("KRW" if currency == "KRW" else "USD", micros)
    krw, usd = prices.convert(money, "KRW"), prices.convert(money, "USD")
    return SpendLine.model_construct(
        tenant=tenant, app=app, key_id=key, currency=money.currency, amount=str(money.amount),
        micros=micros, answers=answers, krw=None if krw is None else str(krw.amount),
        usd=None if usd is None else str(usd.amount),
    )  # fmt: skip


def spend_report(totals: list[SpendTotal], prices: PriceTable) -> Spend:
    """Per-key rows of the spend rollup, and their sums per app and per tenant (pure)."""
    levels: list[dict[_At, list[int]]] = [{}, {}, {}]
    for t in totals:
        app = t.app or None
        ats: list[_At] = [(t.tenant, None, None, t.currency), (t.tenant, app, t.key_id, t.currency)]
        if app is not None:  # keys bound to no app have no app line
            ats.insert(1, (t.tenant, app, None, t.currency))
        for level, at in zip((0, 1, 2) if app else (0, 2), ats, strict=True):
            total = levels[level].setdefault(at, [0, 0])
            total[0] += t.micros
            total[1] += t.answers

    def order(at: _At) -> tuple[str, ...]:
        return tuple(part or "" for part in at)

    tenants, apps, keys = (
        [_line(prices, at, *level[at]) for at in sorted(level, key=order)] for level in levels
    )
    return Spend(
        tenants=tenants,
        apps=apps,
        keys=keys,
        usd_krw=None if prices.usd_krw is None else str(prices.usd_krw),
        rate_date=prices.rate_date,
        priced=bool(prices),
    )


def _series(name: str, per: list[list[int]] | None, whole: UsageCounts) -> UsageSeries:
    """`per`: [requests, errors, tokens in, tokens out] per bucket, or None: totals only."""
    requests, errors, tokens_in, tokens_out = (
        (list(c) for c in zip(*per, strict=True)) if per else ([], [], [], [])
    )
    hist = whole.histogram()
    # Built from the store's integers here: validating 100 tenants × 168 buckets again would
    # cost the overview tens of milliseconds for nothing (bench/bench_console_pages.py).
    return UsageSeries.model_construct(
        name=name,
        requests=requests,
        errors=errors,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        total_requests=whole.requests,
        total_errors=whole.errors,
        total_tokens_in=whole.tokens_in,
        total_tokens_out=whole.tokens_out,
        window_p50_ms=percentile_ms(hist, 0.5),
        window_p99_ms=percentile_ms(hist, 0.99),
    )


def usage_report(read: UsageRead, *, window: Window, by: By, now: float) -> Usage:
    """The reply for a window already read (pure: tests and the bench call it directly)."""
    span, count = WINDOWS[window]
    last = int(now) - int(now) % span
    buckets = [last - span * (count - 1 - i) for i in range(count)]
    index = {b: i for i, b in enumerate(buckets)}
    per_group: dict[str, list[list[int]]] = {}
    for bucket, name, *counts in read.groups:
        i = index.get(bucket)
        if i is None:
            continue
        per = per_group.get(name)
        if per is None:
            per = per_group[name] = [[0, 0, 0, 0] for _ in buckets]
        per[i] = counts
    groups = [_series(n, per_group.get(n), whole) for n, whole in read.totals.items()]
    groups.sort(key=lambda s: (-s.total_requests, s.name))
    totals = [read.buckets.get(b) or UsageCounts() for b in buckets]
    whole = UsageCounts()
    for each in totals:
        whole.add(each)
    return Usage(
        window=window,
        by=by,
        span_seconds=span,
        buckets=buckets,
        latency_bounds_ms=list(LATENCY_BOUNDS_MS),
        total=_series(
            "total",
            [[c.requests, c.errors, c.tokens_in, c.tokens_out] for c in totals],
            whole,
        ),
        p50_ms=[percentile_ms(c.histogram(), 0.5) for c in totals],
        p99_ms=[percentile_ms(c.histogram(), 0.99) for c in totals],
        groups=groups,
    )


def get_usage(ctx: AdminContext, call: Call[UsageQuery, NoBody]) -> Usage:
    window, by = call.query.window, call.query.by
    span, count = WINDOWS[window]
    now = time.time()
    until = int(now) - int(now) % span + span
    since = until - span * count
    read = ctx.control.usage.read(
        span, since, until, by=by, tenant=call.who.scope, series=call.query.series
    )
    report = usage_report(read, window=window, by=by, now=now)
    spent = SpendStore(ctx.control.usage.db).read(span, since, until, tenant=call.who.scope)
    report.spend = spend_report(spent, PriceTable.from_config(ctx.settings.prices))
    return report


OPERATIONS = (
    Operation(
        "GET",
        "/usage",
        "getUsage",
        "Requests, tokens, latency, decisions and spend over time, by tenant, provider or decision",
        "usage",
        Permission.READ_CONTROL,
        UsageQuery,
        NoBody,
        Usage,
        get_usage,
        description=(
            "Read from the usage rollup that every node flushes every 5 s (never the ledger). "
            "Buckets: 1 min for 1h, 15 min for 24h, 1 h for 7d. Latency percentiles are "
            "read from fixed histogram buckets. `spend`: cost per tenant, app and key at the "
            "prices in sumun.yaml. A tenant's keys see their own tenant only."
        ),
    ),
)
