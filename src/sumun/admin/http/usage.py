"""Usage over time: `GET /usage?window=1h|24h|7d&by=tenant|provider|decision[&series=false]`.

Read from the usage rollup (`sumun.store.usage`), never from the ledger: requests, errors,
tokens in and out, and latency p50/p99 per time bucket, in total and per group. Counts reach
the rollup when a node flushes (every 5 s), so the newest bucket may still grow. A tenant's
keys see their own tenant only; the operator tenant's keys see every tenant. `series=false`
leaves out each group's per-bucket figures (a chart of totals by tenant needs none of them).

Percentiles are read from fixed latency buckets (`latency_bounds_ms`), interpolated within a
bucket: exact to the bucket, not to the millisecond.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, QueryModel
from sumun.admin.http.operation import Call, Operation
from sumun.store.model import Permission
from sumun.store.usage import LATENCY_BOUNDS_MS, UsageCounts, UsageRead, percentile_ms

__all__ = ["OPERATIONS", "WINDOWS", "Usage", "UsageQuery", "UsageSeries"]

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
    read = ctx.control.usage.read(
        span, until - span * count, until, by=by, tenant=call.who.scope, series=call.query.series
    )
    return usage_report(read, window=window, by=by, now=now)


OPERATIONS = (
    Operation(
        "GET",
        "/usage",
        "getUsage",
        "Requests, tokens, latency and decisions over time, by tenant, provider or decision",
        "usage",
        Permission.READ_CONTROL,
        UsageQuery,
        NoBody,
        Usage,
        get_usage,
        description=(
            "Read from the usage rollup that every node flushes every 5 s (never the ledger). "
            "Buckets: 1 min for 1h, 15 min for 24h, 1 h for 7d. Latency percentiles are "
            "read from fixed histogram buckets. A tenant's keys see their own tenant only."
        ),
    ),
)
