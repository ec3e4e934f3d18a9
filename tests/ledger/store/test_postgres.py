"""PostgreSQL-only failures: the server drops us, is unreachable, or the sequencer lock is held."""

from __future__ import annotations

import socket
import time

import psycopg
import pytest
from psycopg import sql

from sumun.errors import LedgerCorruptError, LedgerError, LedgerUnavailableError
from sumun.ledger.store.postgres import PostgresStore
from tests.fixtures.postgres import terminate_ledger_backends
from tests.ledger.store._support import assert_consistent, drafts

_PASSWORD = "s3cret-Pa55word-never-shown"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pg_store(postgres_dsn: str, postgres_schema: str) -> PostgresStore:
    return PostgresStore(postgres_dsn, schema=postgres_schema, timeout=2)


def test_creates_its_schema_and_tables(postgres_dsn: str, postgres_schema: str) -> None:
    store = PostgresStore(postgres_dsn, schema=postgres_schema)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (postgres_schema,),
        ).fetchall()
    assert sorted(t for (t,) in tables) == ["checkpoints", "entries", "nodes", "state"]
    store.close()
    assert PostgresStore(postgres_dsn, schema=postgres_schema).size() == 0  # reopened as is


def test_a_terminated_connection_fails_once_then_reconnects(
    postgres_dsn: str, postgres_schema: str, pg_store: PostgresStore
) -> None:
    pg_store.append_batch(drafts("g", 10))
    assert pg_store.size() == 10  # the reader connection exists too
    assert terminate_ledger_backends(postgres_dsn, postgres_schema) == 2
    with pytest.raises(LedgerUnavailableError, match=r"cannot append to the ledger in PostgreSQL"):
        pg_store.append_batch(drafts("g", 5, start=10))
    result = pg_store.append_batch(drafts("g", 5, start=10))  # reconnected
    assert (result.first_seq, result.size) == (10, 15)
    with pytest.raises(LedgerUnavailableError, match=r"cannot read the ledger in PostgreSQL"):
        pg_store.size()
    assert pg_store.size() == 15
    assert_consistent(pg_store)
    pg_store.close()


def test_an_unreachable_server_is_unavailable_without_leaking_the_password(
    postgres_schema: str,
) -> None:
    port = _free_port()
    dsn = f"postgresql://sumun:{_PASSWORD}@127.0.0.1:{port}/test"
    began = time.monotonic()
    with pytest.raises(LedgerUnavailableError, match=r"cannot connect to the ledger") as info:
        PostgresStore(dsn, schema=postgres_schema, timeout=1)
    assert time.monotonic() - began < 10
    shown = [str(info.value), repr(info.value), str(info.value.__cause__)]
    assert f"port={port}" in shown[0]
    assert not any(_PASSWORD in text for text in shown)


def test_a_dsn_that_does_not_parse_is_not_echoed(postgres_schema: str) -> None:
    with pytest.raises(LedgerError, match=r"DSN does not parse") as info:
        PostgresStore(f"host=x password={_PASSWORD} oops", schema=postgres_schema)
    assert _PASSWORD not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_repr_names_the_target_but_not_the_password(
    postgres_dsn: str, postgres_schema: str
) -> None:
    dsn = postgres_dsn + ("&" if "?" in postgres_dsn else "?") + f"password={_PASSWORD}"
    store = PostgresStore(dsn, schema=postgres_schema)
    assert postgres_schema in repr(store)
    assert _PASSWORD not in repr(store)
    store.close()


def test_a_held_sequencer_lock_times_out_as_unavailable(
    postgres_dsn: str, postgres_schema: str, pg_store: PostgresStore
) -> None:
    pg_store.append_batch(drafts("l", 3))
    state = sql.SQL("SELECT size FROM {}.state FOR UPDATE").format(sql.Identifier(postgres_schema))
    with psycopg.connect(postgres_dsn) as other:  # another sequencer, mid-transaction
        other.execute(state)
        began = time.monotonic()
        with pytest.raises(LedgerUnavailableError, match=r"another appender held the ledger lock"):
            pg_store.append_batch(drafts("l", 1, start=3))
        assert 1.5 < time.monotonic() - began < 6
        assert pg_store.size() == 3  # reads do not wait for the sequencer
        other.rollback()
    assert pg_store.append_batch(drafts("l", 1, start=3)).first_seq == 3
    assert_consistent(pg_store)


def test_dropped_tables_are_corrupt_not_recreated(
    postgres_dsn: str, postgres_schema: str, pg_store: PostgresStore
) -> None:
    pg_store.append_batch(drafts("d", 3))
    drop = sql.SQL("DROP TABLE {}.entries").format(sql.Identifier(postgres_schema))
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        conn.execute(drop)
    with pytest.raises(LedgerCorruptError, match=r"the ledger tables are missing or altered"):
        pg_store.append_batch(drafts("d", 1, start=3))
    with pytest.raises(LedgerCorruptError, match=r"the ledger tables are missing or altered"):
        list(pg_store.entries(0, 3))


def test_bad_arguments_are_refused(postgres_dsn: str) -> None:
    with pytest.raises(ValueError, match="bad ledger schema name"):
        PostgresStore(postgres_dsn, schema="Robert'); DROP TABLE x;--")
    with pytest.raises(ValueError, match="timeout must be positive"):
        PostgresStore(postgres_dsn, timeout=0)
