"""The XKS tables on both control-store drivers (SQLite, PostgreSQL): constraints, revocation,
the generation every change bumps, and the live snapshot a running proxy serves from, which a
change made through another connection reaches within 1 s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sumun.errors import ConflictError, NotFoundError
from sumun.store.database import Database
from sumun.store.sqlite import SqliteDatabase
from sumun.store.watch import ControlWatcher
from sumun.store.xks import XksLive, XksStore
from tests.xks.keyring_support import within

Open = Callable[[], Database]


@pytest.fixture(params=["sqlite", "postgres"])
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Open]:
    opened: list[Database] = []
    if request.param == "sqlite":

        def make() -> Database:
            db = SqliteDatabase(tmp_path / "store.db")
            opened.append(db)
            return db
    else:
        from sumun.store.postgres import PostgresDatabase

        dsn: str = request.getfixturevalue("postgres_dsn")
        schema: str = request.getfixturevalue("postgres_schema")

        def make() -> Database:
            db = PostgresDatabase(dsn, schema_name=schema)
            opened.append(db)
            return db

    yield make
    for db in opened:
        db.close()


def test_tables_are_created_once_and_constraints_hold(connect: Open) -> None:
    store, again = XksStore(connect()), XksStore(connect())  # the second open is a no-op
    first = store.db.generation()
    store.create_keystore("bank", "/bank", now=1.0)
    assert store.db.generation() > first  # a control change: every node re-reads
    with pytest.raises(ConflictError, match="name"):
        again.create_keystore("bank", "/other")
    with pytest.raises(ConflictError, match="URI prefix"):
        again.create_keystore("other", "/bank")
    again.create_keystore("root", "")
    with pytest.raises(ConflictError, match="URI prefix"):
        store.create_keystore("root2", "")
    assert [k.name for k in again.keystores()] == ["bank", "root"]
    with pytest.raises(NotFoundError):
        store.keystore("nope")
    with pytest.raises(NotFoundError):
        store.add_credential("nope", "A" * 20, b"sealed", limit=5, now=1.0)
    with pytest.raises(NotFoundError):
        store.add_key("k1", "nope", "both", now=1.0)


def test_credentials_revoke_and_limit(connect: Open) -> None:
    store = XksStore(connect())
    store.create_keystore("bank", "/bank")
    for n in range(3):
        store.add_credential("bank", f"AKID{n}" + "A" * 15, b"sealed-%d" % n, limit=3, now=n)
    with pytest.raises(ConflictError, match="3 active"):
        store.add_credential("bank", "AKID9" + "A" * 15, b"x", limit=3, now=9.0)
    assert store.revoke_credential("bank", "AKID1" + "A" * 15, now=5.0) is True
    assert store.revoke_credential("bank", "AKID1" + "A" * 15, now=6.0) is False  # once
    with pytest.raises(NotFoundError):
        store.revoke_credential("other", "AKID0" + "A" * 15, now=6.0)
    store.add_credential("bank", "AKID9" + "A" * 15, b"x", limit=3, now=9.0)  # room again
    rows = {r.access_key_id: r for r in store.credentials("bank")}
    assert [r.active for r in rows.values()] == [True, False, True, True]
    assert rows["AKID1" + "A" * 15].revoked_at == 5.0
    assert "sealed" not in repr(rows["AKID0" + "A" * 15])  # never shown, not even sealed
    assert rows["AKID0" + "A" * 15].sealed == b"sealed-0"


def test_external_keys_and_the_snapshot(connect: Open) -> None:
    store = XksStore(connect())
    store.create_keystore("bank", "/bank")
    store.add_key("k1", "bank", "encrypt", now=1.0)
    with pytest.raises(ConflictError):
        store.add_key("k1", "bank", "both", now=2.0)
    snap = store.snapshot()
    assert snap.by_prefix["/bank"].name == "bank" and snap.keys["k1"].usage == "encrypt"
    store.remove_key("k1")
    assert store.external_key("k1") is None


def test_a_change_through_another_connection_reaches_the_live_copy(connect: Open) -> None:
    live = XksLive(XksStore(connect()))
    watcher = ControlWatcher(connect(), poll_seconds=0.1)
    live.follow(watcher)
    seen: list[int] = []
    live.on_change(lambda snap: seen.append(len(snap.credentials)))
    watcher.start()
    try:
        writer = XksStore(connect())  # another process's connection
        writer.create_keystore("bank", "/bank")
        writer.add_credential("bank", "B" * 20, b"sealed", limit=5, now=1.0)
        took = within(1.0, lambda: "B" * 20 in live.current.credentials)
        assert took <= 1.0 and seen
        writer.revoke_credential("bank", "B" * 20, now=2.0)
        within(1.0, lambda: not live.current.credentials["B" * 20].active)
    finally:
        watcher.stop()
