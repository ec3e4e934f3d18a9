"""The spend rollup: per-minute spend per tenant, app, key and currency, flushed with the usage
counts, summed over nodes on read (SQLite and a real PostgreSQL), purged with them, and turned
into the usage API's tenant/app/key lines with the other currency at the operator's rate."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sumun.admin.http.usage import spend_report
from sumun.gateway.spend import Money, PriceTable
from sumun.gateway.usage import UsageFlusher, UsageRollup
from sumun.store.postgres import PostgresDatabase
from sumun.store.spend import SpendStore, SpendTotal
from sumun.store.sqlite import SqliteDatabase
from sumun.store.usage import RETENTION_SECONDS, USAGE_TABLES, UsageStore

T0 = 1_800_000_000  # a minute boundary (divisible by 3600)
WON = 1_000_000


def _spend(rollup: UsageRollup) -> None:
    rollup.record_spend("bank", "chat", "key1aaaaaa", Money("KRW", 40 * WON), time_s=T0 + 1)
    rollup.record_spend("bank", "chat", "key1aaaaaa", Money("KRW", 2 * WON), time_s=T0 + 59)
    rollup.record_spend("bank", "chat", "key2aaaaaa", Money("USD", 1_500), time_s=T0 + 61)
    rollup.record_spend("bank", None, "key3aaaaaa", None, time_s=T0 + 2)  # no price: unknown
    rollup.record_spend("clinic", None, "key4aaaaaa", Money("KRW", 1 * WON), time_s=T0 + 3)


def _const(store: UsageStore) -> Callable[[], UsageStore]:
    return lambda: store


def _two_nodes_add_up(one: UsageStore, two: UsageStore) -> None:
    for node, store in (("n1", one), ("n2", two)):
        rollup = UsageRollup()
        _spend(rollup)
        assert UsageFlusher(rollup, _const(store), node=node).flush() == 0  # no usage rows
        assert rollup.take_spend() == []  # all of it flushed
    spend = SpendStore(one.db)
    minute = spend.read(60, T0, T0 + 60)
    assert minute == [
        SpendTotal("bank", "", "key3aaaaaa", "none", 0, 2),
        SpendTotal("bank", "chat", "key1aaaaaa", "KRW", 84 * WON, 4),
        SpendTotal("clinic", "", "key4aaaaaa", "KRW", 2 * WON, 2),
    ]
    hour = spend.read(3600, T0, T0 + 3600, tenant="bank")
    assert [(t.key_id, t.currency, t.micros) for t in hour] == [
        ("key3aaaaaa", "none", 0),
        ("key1aaaaaa", "KRW", 84 * WON),
        ("key2aaaaaa", "USD", 3_000),
    ]


def test_two_nodes_add_up_on_sqlite(tmp_path: Path) -> None:
    def store() -> UsageStore:
        return UsageStore(SqliteDatabase(tmp_path / "usage.db", tables=USAGE_TABLES))

    _two_nodes_add_up(store(), store())


def test_two_nodes_add_up_on_postgres(postgres_dsn: str, postgres_schema: str) -> None:
    one = UsageStore(PostgresDatabase(postgres_dsn, schema_name=postgres_schema))
    two = UsageStore(PostgresDatabase(postgres_dsn, schema_name=postgres_schema))
    try:
        _two_nodes_add_up(one, two)
    finally:
        one.close()
        two.close()


def test_a_failed_flush_keeps_the_spend_and_old_rows_are_purged(tmp_path: Path) -> None:
    store = UsageStore(SqliteDatabase(tmp_path / "usage.db", tables=USAGE_TABLES))
    rollup = UsageRollup()
    _spend(rollup)
    broken = tmp_path / "not-a-dir" / "usage.db"
    (tmp_path / "not-a-dir").write_text("a file where a folder should be")

    def failing() -> UsageStore:
        return UsageStore(SqliteDatabase(broken, tables=USAGE_TABLES))

    UsageFlusher(rollup, failing, node="n").flush()
    assert len(rollup.take_spend()) == 4  # kept for the next flush (key1's two are one)
    _spend(rollup)
    UsageFlusher(rollup, lambda: store, node="n").flush()
    spend = SpendStore(store.db)
    assert spend.purge(RETENTION_SECONDS, T0 + 3 * 86400) == 4  # the minute rows only
    assert spend.read(60, T0, T0 + 120) == []
    assert len(spend.read(3600, T0, T0 + 3600)) == 4


def test_the_report_sums_keys_into_apps_and_tenants_with_both_currencies() -> None:
    totals = [
        SpendTotal("bank", "chat", "key1aaaaaa", "KRW", 84 * WON, 4),
        SpendTotal("bank", "chat", "key2aaaaaa", "KRW", 16 * WON, 1),
        SpendTotal("bank", "chat", "key2aaaaaa", "USD", 3_000, 2),
        SpendTotal("bank", "", "key3aaaaaa", "none", 0, 2),
    ]
    report = spend_report(totals, PriceTable({}, usd_krw=Decimal(1500), rate_date="2026-12-01"))
    assert report.priced is False  # no prices at all: the API says nothing is measured
    tenants = {(t.tenant, t.currency): t for t in report.tenants}
    assert tenants["bank", "KRW"].amount == "100" and tenants["bank", "KRW"].answers == 5
    assert tenants["bank", "KRW"].usd == "0.066667"  # ₩100 at ₩1,500/$, to the micro-dollar
    assert tenants["bank", "USD"].krw == "4.5"  # $0.003 at ₩1,500/$
    assert tenants["bank", "none"].amount is None and tenants["bank", "none"].answers == 2
    [app] = [a for a in report.apps if a.currency == "KRW"]
    assert (app.app, app.key_id, app.amount) == ("chat", None, "100")
    assert {a.currency for a in report.apps} == {"KRW", "USD"}  # key3 has no app: no app line
    assert [(k.key_id, k.currency) for k in report.keys] == [
        ("key3aaaaaa", "none"),
        ("key1aaaaaa", "KRW"),
        ("key2aaaaaa", "KRW"),
        ("key2aaaaaa", "USD"),
    ]
    assert report.keys[0].app is None
    assert report.usd_krw == "1500" and report.rate_date == "2026-12-01"
