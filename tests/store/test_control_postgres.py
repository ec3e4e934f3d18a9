"""The shared control store on a real PostgreSQL: two "nodes" (two connections with their own
watchers) see each other's changes within 1 s, migrations are versioned and refuse a newer
schema, documents lose no update under concurrency, and a node that loses the database refuses
(fail closed) and serves again when it comes back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from psycopg import sql

from sumun.errors import AuthError, StoreError
from sumun.store import schema
from sumun.store.cuts import CutRecord, CutTable
from sumun.store.directory import Directory
from sumun.store.documents import StoreDocuments
from sumun.store.postgres import PostgresDatabase
from sumun.store.watch import ControlWatcher
from tests.fixtures.tcp_proxy import TcpProxy


@pytest.fixture
def dsn(postgres_dsn: str) -> str:
    return postgres_dsn


@pytest.fixture
def control_schema(postgres_schema: str) -> str:
    return postgres_schema


def _until(seconds: float, check: Callable[[], bool]) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.005)
    return time.monotonic() - start


def _refused(directory: Directory, api_key: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            directory.authenticate(api_key)
        except AuthError:
            return True
        except StoreError:
            return False  # refusing everyone while it cannot vouch for its state
        return False

    return check


def test_a_revocation_on_one_node_holds_on_another_within_a_second(
    dsn: str, control_schema: str
) -> None:
    writer = Directory(PostgresDatabase(dsn, schema_name=control_schema))
    node_db = PostgresDatabase(dsn, schema_name=control_schema)
    watcher = ControlWatcher(PostgresDatabase(dsn, schema_name=control_schema), poll_seconds=1.0)
    node = Directory(node_db, watcher=watcher)
    watcher.subscribe("directory", node.invalidate)
    watcher.start()
    try:
        writer.create_tenant("acme")
        times = []
        for _ in range(10):
            _key, api_key = writer.issue_key("acme")
            _until(1.0, lambda: node.authenticate(api_key) is not None)  # noqa: B023
            writer.revoke_key(_key.key_id)
            times.append(_until(1.0, _refused(node, api_key)))
        # LISTEN/NOTIFY, not the 1 s poll, carried these: well under the poll interval.
        assert sorted(times)[len(times) // 2] < 0.5, times
    finally:
        watcher.stop()
        node.close()
        writer.close()


def test_cuts_and_tenants_are_one_table_set_for_every_node(dsn: str, control_schema: str) -> None:
    a = CutTable(PostgresDatabase(dsn, schema_name=control_schema))
    b = CutTable(PostgresDatabase(dsn, schema_name=control_schema))
    try:
        a.put(CutRecord("openai", True, "incident 42", "kim@cli", 1.0))
        assert b.read()["openai"].cut
        b.put(CutRecord("openai", False, "incident 42", "lee@cli", 2.0))
        assert a.read()["openai"] == CutRecord("openai", False, "incident 42", "lee@cli", 2.0)
    finally:
        a.close()
        b.close()


def test_a_newer_schema_is_refused_and_an_older_one_upgraded(dsn: str, control_schema: str) -> None:
    PostgresDatabase(dsn, schema_name=control_schema).close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        table = sql.Identifier(control_schema, "schema_version")
        conn.execute(sql.SQL("UPDATE {} SET version = 99").format(table))
    with pytest.raises(
        StoreError, match=f"schema version 99; this Sumun reads up to version {schema.VERSION}"
    ):
        PostgresDatabase(dsn, schema_name=control_schema)
    with psycopg.connect(dsn, autocommit=True) as conn:  # an older store (wave 1's tables only)
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(control_schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(control_schema)))
        conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(control_schema)))
        conn.execute("CREATE TABLE schema_version (id smallint PRIMARY KEY, version bigint)")
        conn.execute("INSERT INTO schema_version VALUES (0, 1)")
        for statement in schema.MIGRATIONS[0]:
            conn.execute(schema.render(statement, "postgres"))  # type: ignore[arg-type]
    db = PostgresDatabase(dsn, schema_name=control_schema)
    try:
        assert db.generation() == 1  # v2 added the generation
        assert db.read("SELECT version FROM schema_version") == [(schema.VERSION,)]
    finally:
        db.close()


def test_concurrent_starts_migrate_once(dsn: str, control_schema: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            PostgresDatabase(dsn, schema_name=control_schema).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


def test_documents_lose_no_update_under_concurrent_writers(dsn: str, control_schema: str) -> None:
    docs = [StoreDocuments(PostgresDatabase(dsn, schema_name=control_schema)) for _ in range(4)]

    def bump(d: StoreDocuments) -> None:
        for _ in range(25):
            d.update("counter", lambda old: str(int(old or b"0") + 1).encode())

    threads = [threading.Thread(target=bump, args=(d,)) for d in docs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert docs[0].read("counter") == b"100"
    assert docs[0].stamp("counter") == 100


# -- the database goes away ---------------------------------------------------------------------


def test_a_node_that_loses_the_database_refuses_then_recovers(
    postgres_dsn: str, control_schema: str
) -> None:
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1/test", connect_timeout=3).close()
    except psycopg.Error:
        pytest.skip("PostgreSQL does not accept TCP on 127.0.0.1 here")
    proxy = TcpProxy(("127.0.0.1", 5432))
    dsn = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
    writer = Directory(PostgresDatabase(postgres_dsn, schema_name=control_schema))
    writer.create_tenant("acme")
    key, api_key = writer.issue_key("acme")
    watcher = ControlWatcher(
        PostgresDatabase(dsn, schema_name=control_schema, timeout=1.0),
        poll_seconds=0.1,
        max_stale_seconds=0.5,
    )
    node = Directory(
        PostgresDatabase(dsn, schema_name=control_schema, timeout=1.0), watcher=watcher
    )
    watcher.subscribe("directory", node.invalidate)
    watcher.start()
    try:
        assert node.authenticate(api_key).tenant == "acme"  # cached from here on
        proxy.down()
        writer.revoke_key(key.key_id)  # the node cannot hear of it...

        def refuses() -> bool:
            try:
                node.authenticate(api_key)
            except StoreError as exc:
                return "refusing rather than serving" in str(exc)
            return False

        assert _until(3.0, refuses) < 3.0  # ...so within the bound it refuses everyone
        proxy.up()
        _until(5.0, _refused(node, api_key))  # back: it re-read, and the revocation holds
        with pytest.raises(AuthError, match="revoked"):
            node.authenticate(api_key)
    finally:
        watcher.stop()
        node.close()
        writer.close()
        proxy.close()
