"""The usage rollup: minute bucketing, the latency histogram and its percentiles, flushing
(and keeping a failed flush), and rows of two nodes summed on read — on SQLite and on a real
PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sumun.admin.http.usage import usage_report
from sumun.errors import StoreError
from sumun.gateway.admission import Decision
from sumun.gateway.usage import UsageFlusher, UsageRollup, decision_label
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.store.postgres import PostgresDatabase
from sumun.store.schema import render
from sumun.store.sqlite import SqliteDatabase
from sumun.store.usage import (
    LATENCY_BOUNDS_MS,
    USAGE_TABLES,
    UsageRead,
    UsageStore,
    latency_bucket,
    percentile_ms,
)

T0 = 1_800_000_000  # a minute boundary (divisible by 3600)


def _meta(
    at: float, *, tenant: str = "bank", provider: str | None = "openai", ms: float = 30
) -> EntryMeta:
    return EntryMeta(
        kind=EntryKind.REQUEST_COMPLETED,
        tenant=tenant,
        time_ms=int(at * 1000),
        provider=provider,
        tokens_in=10,
        tokens_out=5,
        latency_us=int(ms * 1000),
    )


ALLOW = Decision("allow", (), None, "")


def _sqlite(tmp_path: Path) -> UsageStore:
    return UsageStore(SqliteDatabase(tmp_path / "usage.db", tables=USAGE_TABLES))


def test_decisions_have_the_overview_names() -> None:
    assert decision_label(None) == "allowed"
    assert decision_label(ALLOW) == "allowed"
    assert decision_label(Decision("reroute", (), None, "")) == "rerouted"
    assert decision_label(Decision("block", (), None, "")) == "blocked"
    masked = Decision("transform", (), None, "", pii_actions="PHONE_KR:mask")
    both = Decision("transform", (), None, "", pii_actions="KR_RRN:pseudonymize,PHONE_KR:mask")
    assert decision_label(masked) == "masked"
    assert decision_label(both) == "pseudonymized"


def test_requests_are_bucketed_by_minute_tenant_provider_decision() -> None:
    rollup = UsageRollup()
    rollup.record(_meta(T0 + 1), ALLOW, 200)
    rollup.record(_meta(T0 + 59.9), ALLOW, 200)
    rollup.record(_meta(T0 + 60), ALLOW, 502)
    rollup.record(_meta(T0 + 2, tenant="clinic"), ALLOW, 200)
    rollup.record(_meta(T0 + 3, provider=None), Decision("block", (), None, ""), 403)
    rows = {(r.key.bucket, r.key.tenant, r.key.provider, r.key.decision): r for r in rollup.take()}
    assert set(rows) == {
        (T0, "bank", "openai", "allowed"),
        (T0 + 60, "bank", "openai", "allowed"),
        (T0, "clinic", "openai", "allowed"),
        (T0, "bank", "none", "blocked"),
    }
    first = rows[(T0, "bank", "openai", "allowed")].counts
    assert (first.requests, first.errors, first.tokens_in, first.tokens_out) == (2, 0, 20, 10)
    assert rows[(T0 + 60, "bank", "openai", "allowed")].counts.errors == 1
    assert rollup.take() == []  # taken: the table starts again


def test_histogram_buckets_and_percentiles() -> None:
    assert latency_bucket(0.3) == 0
    assert latency_bucket(2) == 0  # upper bounds are inclusive
    assert latency_bucket(2.01) == 1
    assert latency_bucket(10**6) == len(LATENCY_BOUNDS_MS)
    hist = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    assert percentile_ms(hist, 0.5) is None
    hist[latency_bucket(30)] = 98  # (20, 50]
    hist[latency_bucket(700)] = 2  # (500, 1000]
    p50 = percentile_ms(hist, 0.5)
    p99 = percentile_ms(hist, 0.99)
    assert p50 is not None and 20 < p50 <= 50
    assert p99 is not None and 500 < p99 <= 1000
    hist[-1] = 1000  # slower than the last bound: answered as that bound
    assert percentile_ms(hist, 0.99) == LATENCY_BOUNDS_MS[-1]


def test_flush_writes_every_span_and_keeps_a_failed_flush(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    rollup = UsageRollup()
    for second in (5, 65, 125):
        rollup.record(_meta(T0 + second), ALLOW, 200)
    broken = UsageFlusher(rollup, _raise, node="n1")
    assert broken.flush() == 0  # the store failed: nothing lost
    flusher = UsageFlusher(rollup, lambda: store, node="n1", clock=lambda: T0 + 200)
    assert flusher.flush() == 3
    minutes = store.read(60, T0, T0 + 3600, by="tenant")
    assert sorted(g[0] for g in minutes.groups) == [T0, T0 + 60, T0 + 120]
    assert sorted(minutes.buckets) == [T0, T0 + 60, T0 + 120]
    (quarter,) = store.read(900, T0, T0 + 3600, by="provider").groups
    (hour,) = store.read(3600, T0, T0 + 3600, by="decision").groups
    assert quarter[1:] == ("openai", 3, 0, 30, 15)
    assert hour[1:] == ("allowed", 3, 0, 30, 15)
    assert flusher.flush() == 0  # nothing new: nothing written


def _raise() -> UsageStore:
    raise StoreError("the store is away")


def test_flusher_flushes_once_more_when_stopped(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    rollup = UsageRollup()
    flusher = UsageFlusher(rollup, lambda: store, node="n1", every=3600)

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(flusher.run(stop))
        await asyncio.sleep(0.05)
        rollup.record(_meta(T0), ALLOW, 200)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(run())
    assert [g[2] for g in store.read(60, T0, T0 + 60, by="tenant").groups] == [1]


def _two_nodes_add_up(one: UsageStore, two: UsageStore) -> None:
    a, b = UsageRollup(), UsageRollup()
    for _ in range(3):
        a.record(_meta(T0 + 10, ms=30), ALLOW, 200)
    b.record(_meta(T0 + 20, ms=700), ALLOW, 500)
    b.record(_meta(T0 + 20, tenant="clinic", provider="claude"), ALLOW, 200)
    UsageFlusher(a, lambda: one, node="node-a").flush()
    UsageFlusher(b, lambda: two, node="node-b").flush()
    a.record(_meta(T0 + 30, ms=30), ALLOW, 200)  # the same key again: added to node-a's row
    UsageFlusher(a, lambda: one, node="node-a").flush()
    nodes = one.db.read("SELECT DISTINCT node FROM usage_rollup WHERE span = 60")
    assert sorted(n for (n,) in nodes) == ["node-a", "node-b"]
    by_tenant = two.read(60, T0, T0 + 60, by="tenant")  # either node reads the sum
    assert sorted(g[1:3] for g in by_tenant.groups) == [("bank", 5), ("clinic", 1)]
    assert by_tenant.buckets[T0].requests == 6
    # A tenant's own view: its rows only, however it is grouped.
    bank = one.read(60, T0, T0 + 60, by="provider", tenant="bank")
    assert bank.groups == [(T0, "openai", 5, 1, 50, 25)]
    assert bank.buckets[T0].requests == 5
    assert one.read(60, T0, T0 + 60, by="tenant", tenant="bank").groups[0][1:3] == ("bank", 5)
    totals_only = one.read(60, T0, T0 + 60, by="tenant", series=False)
    assert totals_only.groups == [] and totals_only.totals["clinic"].requests == 1
    assert usage_report(totals_only, window="1h", by="tenant", now=T0).groups[0].requests == []
    (allowed,) = one.read(60, T0, T0 + 60, by="decision").groups
    assert allowed[1:3] == ("allowed", 6)
    report = usage_report(bank, window="1h", by="provider", now=T0 + 30)
    assert report.total.total_requests == 5
    assert report.buckets[-1] == T0 and report.total.requests[-1] == 5
    p50, p99 = report.total.window_p50_ms, report.total.window_p99_ms
    assert p50 is not None and 20 < p50 <= 50
    assert p99 is not None and 500 < p99 <= 1000
    assert report.p99_ms[-1] == p99 and report.p50_ms[0] is None
    assert [(g.name, g.total_requests, g.total_errors) for g in report.groups] == [("openai", 5, 1)]


def test_two_nodes_add_up_on_sqlite(tmp_path: Path) -> None:
    _two_nodes_add_up(_sqlite(tmp_path), _sqlite(tmp_path))


def test_two_nodes_add_up_on_postgres(postgres_dsn: str, postgres_schema: str) -> None:
    one = UsageStore(PostgresDatabase(postgres_dsn, schema_name=postgres_schema))
    two = UsageStore(PostgresDatabase(postgres_dsn, schema_name=postgres_schema))
    try:
        _two_nodes_add_up(one, two)
    finally:
        one.close()
        two.close()


def test_old_rows_are_purged(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    rollup = UsageRollup()
    rollup.record(_meta(T0), ALLOW, 200)
    UsageFlusher(rollup, lambda: store, node="n", clock=lambda: T0).flush()
    # Three days on: the minute rows (5 projections) are gone, the longer spans stay.
    assert store.purge(T0 + 3 * 86400) == 5
    assert store.read(60, T0, T0 + 60, by="tenant").groups == []
    assert len(store.read(3600, T0, T0 + 3600, by="tenant").groups) == 1
    with pytest.raises(ValueError, match="grouped by one of"):
        store.read(60, T0, T0 + 60, by="node; DROP TABLE usage_rollup")


def test_usage_table_is_portable() -> None:
    assert "IF NOT EXISTS usage_rollup" in render(USAGE_TABLES[0], "sqlite")
    assert USAGE_TABLES[0].endswith("WITHOUT ROWID")  # clustered on the key a read ranges over


@pytest.mark.parametrize("window", ["1h", "24h", "7d"])
def test_a_report_has_one_point_per_bucket(window: str) -> None:
    empty = UsageRead([], {}, {})
    report = usage_report(empty, window=window, by="decision", now=T0 + 5)  # type: ignore[arg-type]
    assert (
        len(report.buckets)
        == len(report.total.requests)
        == {"1h": 60, "24h": 96, "7d": 168}[window]
    )
    assert report.groups == []
