"""The shared control store: the control tables in one PostgreSQL schema, for N nodes.

Every node and every CLI on any host opens the same schema (`control.postgres_schema`, DSN from
`control.dsn_env`), so a node needs nothing from another node's disk. Writes that change the
control plane serialise on the one `control_meta` row (`SELECT … FOR UPDATE`), bump its
generation and `pg_notify` the new generation on the channel `sumun:<schema>` — PostgreSQL
delivers it to every listening node at commit, never before (`sumun.store.watch` listens).

Schema migrations (`sumun.store.schema`) run under a transaction-scoped advisory lock, so two
nodes starting at once upgrade it once; a schema newer than this Sumun knows is refused.

Failure handling follows the ledger's store: connecting, statements and lock waits are bounded
(`timeout`), a dead peer is noticed by TCP keepalives and `tcp_user_timeout`, a broken
connection is dropped and the next call reconnects. Every failure is a `StoreError`. The DSN may
hold a password: it lives only in the connection parameters, never in repr or messages (libpq's
parse errors quote the DSN, so they are not chained).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import psycopg.errors as pg_errors
from psycopg import pq
from psycopg.rows import TupleRow

from sumun._pg import bounded_params, configure_session, describe
from sumun.errors import StoreError
from sumun.store import schema
from sumun.store.database import Row

__all__ = ["PostgresDatabase"]

_Conn = psycopg.Connection[TupleRow]
_IDLE = pq.TransactionStatus.IDLE
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x53554D53_0001  # pg_advisory_xact_lock key for schema upgrades


def _sql(statement: str) -> str:
    """Portable `?` placeholders to psycopg's `%s` (our statements hold no literal ? or %)."""
    return statement.replace("?", "%s")


class _Tx:
    def __init__(self, conn: _Conn) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        cur = self._conn.execute(_sql(sql), tuple(params))
        return max(cur.rowcount, 0)

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        return self._conn.execute(_sql(sql), tuple(params)).fetchone()

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._conn.execute(_sql(sql), tuple(params)).fetchall()


class PostgresDatabase:
    """The control tables in one schema, behind one connection and a lock (thread-safe)."""

    def __init__(
        self,
        dsn: str,
        *,
        schema_name: str = "sumun_control",
        timeout: float = 5.0,
        after_change: Callable[[int], None] | None = None,
    ) -> None:
        if not _SCHEMA_NAME.match(schema_name):
            raise ValueError(f"bad control schema name {schema_name!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        try:
            params = bounded_params(
                dsn, application_name=f"sumun-control:{schema_name}", timeout=timeout
            )
        except ValueError:
            raise StoreError("the control store's PostgreSQL DSN does not parse") from None
        self._password = str(params.get("password") or "")
        self._params = params
        self._schema = schema_name
        self._timeout = timeout
        self._target = describe(params)
        self._after_change = after_change
        self._lock = threading.Lock()
        self._conn: _Conn | None = None
        self._closed = False
        with self._lock:
            try:
                self._migrate(self._connection())
            except psycopg.Error as exc:
                raise self._fail(exc, "set up") from exc

    def __repr__(self) -> str:
        return f"<PostgresDatabase {self._target or 'default'} schema={self._schema}>"

    @property
    def name(self) -> str:
        return "postgres"

    @property
    def where(self) -> str:
        return f"PostgreSQL {self._target or 'default'}, schema {self._schema}"

    @property
    def schema_name(self) -> str:
        return self._schema

    @property
    def channel(self) -> str:
        """The NOTIFY channel that announces a new generation."""
        return f"sumun:{self._schema}"

    @property
    def params(self) -> dict[str, Any]:
        """Connection parameters for a listener (`sumun.store.watch`); holds the password."""
        return dict(self._params)

    # -- connections -----------------------------------------------------------------------

    def connect(self) -> _Conn:
        """A new autocommit connection with our timeouts and search path."""
        try:
            conn = psycopg.connect(**self._params, autocommit=True)
        except psycopg.Error as exc:
            raise self._translate(exc, "connect to") from exc
        try:
            configure_session(conn, self._timeout, search_path=self._schema)
        except psycopg.Error as exc:
            conn.close()
            raise self._translate(exc, "connect to") from exc
        return conn

    def _connection(self) -> _Conn:
        if self._closed:
            raise StoreError(f"the control store ({self.where}) is closed")
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn

    def _fail(self, exc: psycopg.Error, doing: str) -> StoreError:
        conn = self._conn
        if conn is not None and (conn.closed or conn.info.transaction_status != _IDLE):
            conn.close()
        return self._translate(exc, doing)

    def _translate(self, exc: psycopg.Error, doing: str) -> StoreError:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if self._password:
            detail = detail.replace(self._password, "***")
        where = f"cannot {doing} the control store ({self.where})"
        if isinstance(exc, pg_errors.LockNotAvailable):
            return StoreError(f"{where}: another writer held the lock for over {self._timeout:g}s")
        if isinstance(exc, pg_errors.QueryCanceled):
            return StoreError(f"{where}: the database did not answer within {2 * self._timeout:g}s")
        return StoreError(f"{where}: {detail}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self, conn: _Conn) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (id smallint PRIMARY KEY"
                " CHECK (id = 0), version bigint NOT NULL)"
            )
            row = conn.execute("SELECT version FROM schema_version WHERE id = 0").fetchone()
            version = 0 if row is None else int(row[0])
            if version > schema.VERSION:
                raise StoreError(
                    f"the control store ({self.where}) has schema version {version}; this "
                    f"Sumun reads up to version {schema.VERSION}",
                    advice="upgrade Sumun on this host to the version the others run",
                )
            for step in schema.MIGRATIONS[version:]:
                for statement in step:
                    conn.execute(schema.render(statement, "postgres"))
            conn.execute(
                "INSERT INTO schema_version VALUES (0, %s)"
                " ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
                (schema.VERSION,),
            )

    # -- the seam --------------------------------------------------------------------------

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._lock:
            try:
                return self._connection().execute(_sql(sql), tuple(params)).fetchall()
            except psycopg.Error as exc:
                raise self._fail(exc, "read") from exc

    @contextlib.contextmanager
    def write(self, doing: str, *, change: bool = True) -> Iterator[_Tx]:
        generation = 0
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction():
                    if change:
                        # One control change at a time, cluster-wide (as BEGIN IMMEDIATE).
                        conn.execute("SELECT generation FROM control_meta WHERE id = 0 FOR UPDATE")
                    yield _Tx(conn)
                    if change:
                        row = conn.execute(
                            "UPDATE control_meta SET generation = generation + 1 WHERE id = 0"
                            " RETURNING generation"
                        ).fetchone()
                        generation = 0 if row is None else int(row[0])
                        conn.execute("SELECT pg_notify(%s, %s)", (self.channel, str(generation)))
            except psycopg.Error as exc:
                raise self._fail(exc, doing) from exc
        if change and self._after_change is not None:
            self._after_change(generation)

    def erase_deleted(self, table: str) -> None:
        """VACUUM reclaims the deleted rows' space so new rows overwrite it; PostgreSQL does not
        zero pages, and its WAL and base backups keep old versions (docs/cluster.md)."""
        if table not in {"deks", "pseudonym_maps"}:
            raise ValueError(f"no erasable table {table!r}")
        with self._lock:
            try:
                self._connection().execute(f"VACUUM {table}")  # autocommit: outside a transaction
            except psycopg.Error as exc:
                raise self._fail(exc, "vacuum") from exc

    def generation(self) -> int:
        rows = self.read("SELECT generation FROM control_meta WHERE id = 0")
        return int(rows[0][0]) if rows else 0
