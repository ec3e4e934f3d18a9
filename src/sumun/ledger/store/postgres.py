"""The shared ledger store: tables in one PostgreSQL schema, for one or many Sumun nodes.

Layout (created if the schema has no `state` table yet):

    entries(seq bigint PRIMARY KEY, entry bytea NOT NULL, payload bytea)
    nodes(id bigint PRIMARY KEY, hash bytea NOT NULL)       id = level << 48 | index
    state(id = 0, size, root, frontier)                      the one row the sequencer owns
    checkpoints(size bigint PRIMARY KEY, root, note, time_ms)

One sequencer, elected through the database: `append_batch` opens a transaction with
`SELECT ... FROM state FOR UPDATE`. Whoever holds that row lock — a thread, a process, another
Sumun node — is the only appender until it commits; the others wait (at most `timeout`, via
`lock_timeout`) and then read the state it committed, so seqs are consecutive across the
cluster. Entries and nodes go in with binary COPY, the state row is updated, and the commit
(with `synchronous_commit = on`) makes the batch durable atomically: a crash or a dropped
connection shows the whole batch or none of it.

Failure handling: every wait for the sequencer lock is bounded by `lock_timeout` (= timeout),
every statement by `statement_timeout` (2 × timeout), connecting by `connect_timeout`, a dead
peer by TCP keepalives and `tcp_user_timeout`, and a client that stalls inside a transaction by
the server's `idle_in_transaction_session_timeout` (2 × timeout: a frozen node cannot hold the
sequencer lock for long).
Connection loss, a server that is gone and timeouts raise `LedgerUnavailableError`; the broken
connection is dropped and the next call reconnects, so the store recovers by itself when the
database comes back. If the connection dies during COMMIT, PostgreSQL may or may not have
committed the batch: the caller only knows that it must not claim the entries were recorded.

Secrets: the DSN may hold a password. It is kept only in the connection parameters, never in
repr, messages or exception chains (libpq's parse errors quote the DSN, so they are not chained).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
import psycopg.errors as pg_errors
from psycopg import pq, sql
from psycopg.rows import TupleRow

from sumun._pg import bounded_params, configure_session, describe
from sumun.errors import (
    LedgerCorruptError,
    LedgerError,
    LedgerIntegrityError,
    LedgerUnavailableError,
)
from sumun.ledger.entry import EntryDraft
from sumun.ledger.merkle import EMPTY_ROOT, Frontier, leaf_hash, root_of
from sumun.ledger.store._contiguous import stream_entries, stream_leaves
from sumun.ledger.store.base import AppendResult, StoredCheckpoint, StoredEntry

__all__ = ["PostgresStore"]

_Conn = psycopg.Connection[TupleRow]
_IDLE = pq.TransactionStatus.IDLE

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_INDEX_BITS = 48  # node id = level << 48 | index, as in the SQLite store
_CHUNK = 2048  # rows per streamed read: bounded memory at any ledger size
_ANY_CHUNK = 10_000  # ids per `= ANY(%s)` lookup
_CORRUPT_ADVICE = "restore the ledger schema from a backup, then run `sumun ledger verify`"

_TABLES: tuple[LiteralString, ...] = (
    "CREATE SCHEMA IF NOT EXISTS {s}",
    "CREATE TABLE {s}.entries (seq bigint PRIMARY KEY, entry bytea NOT NULL, payload bytea)",
    "CREATE TABLE {s}.nodes (id bigint PRIMARY KEY, hash bytea NOT NULL)",
    "CREATE TABLE {s}.state (id smallint PRIMARY KEY CHECK (id = 0),"
    " size bigint NOT NULL, root bytea NOT NULL, frontier bytea NOT NULL)",
    "CREATE TABLE {s}.checkpoints (size bigint PRIMARY KEY,"
    " root bytea NOT NULL, note text NOT NULL, time_ms bigint NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class _Tree:
    """The committed tree as this process last saw it. `frontier` is never mutated."""

    frontier: Frontier
    root: bytes


class _Sql:
    """Every statement, composed once with the schema as a quoted identifier."""

    def __init__(self, schema: str) -> None:
        def q(text: LiteralString) -> sql.Composed:
            return sql.SQL(text).format(s=sql.Identifier(schema))

        self.tables = [q(text) for text in _TABLES]
        self.init_state = q("INSERT INTO {s}.state VALUES (0, 0, %s, %s)")
        self.state = q("SELECT size, root, frontier FROM {s}.state WHERE id = 0")
        self.lock_state = q("SELECT size, root, frontier FROM {s}.state WHERE id = 0 FOR UPDATE")
        self.update_state = q("UPDATE {s}.state SET size = %s, root = %s, frontier = %s")
        self.copy_entries = q("COPY {s}.entries (seq, entry, payload) FROM STDIN (FORMAT BINARY)")
        self.copy_nodes = q("COPY {s}.nodes (id, hash) FROM STDIN (FORMAT BINARY)")
        self.size = q("SELECT size FROM {s}.state WHERE id = 0")
        self.root = q("SELECT root FROM {s}.state WHERE id = 0")
        self.head = q("SELECT size, root FROM {s}.state WHERE id = 0")
        self.nodes = q("SELECT id, hash FROM {s}.nodes WHERE id = ANY(%s::bigint[])")
        self.entries = q(
            "SELECT seq, entry, payload FROM {s}.entries WHERE seq >= %s AND seq < %s "
            "ORDER BY seq LIMIT %s"
        )
        self.leaves = q(
            "SELECT id, hash FROM {s}.nodes WHERE id >= %s AND id < %s ORDER BY id LIMIT %s"
        )
        self.max_checkpoint = q("SELECT max(size) FROM {s}.checkpoints")
        self.save_checkpoint = q(
            "INSERT INTO {s}.checkpoints VALUES (%s, %s, %s, %s) ON CONFLICT (size) DO UPDATE "
            "SET root = EXCLUDED.root, note = EXCLUDED.note, time_ms = EXCLUDED.time_ms"
        )
        self.latest_checkpoint = q(
            "SELECT size, root, note, time_ms FROM {s}.checkpoints ORDER BY size DESC LIMIT 1"
        )
        self.checkpoints = q(
            "SELECT size, root, note, time_ms FROM {s}.checkpoints WHERE size > %s "
            "ORDER BY size LIMIT %s"
        )


def _node_id(level: int, index: int) -> int:
    if not (0 <= level <= _INDEX_BITS and 0 <= index < 1 << (_INDEX_BITS - level)):
        raise ValueError(f"no tree node (level {level}, index {index})")
    return level << _INDEX_BITS | index


def _check_range(start: int, end: int) -> None:
    if start < 0 or end < start:
        raise ValueError(f"bad range [{start}, {end})")


def _hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise LedgerCorruptError(f"{what} is not a 32-byte hash", advice=_CORRUPT_ADVICE)
    return value


def _parse_tree(row: Sequence[object] | None) -> _Tree:
    """Validate the state row: its frontier must reproduce its size and root."""
    if row is None:
        raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
    size, root, raw = row
    if not (isinstance(size, int) and isinstance(root, bytes) and isinstance(raw, bytes)):
        raise LedgerCorruptError("the ledger state row has the wrong types", advice=_CORRUPT_ADVICE)
    try:
        frontier = Frontier.from_bytes(raw)
    except ValueError as exc:
        raise LedgerCorruptError(
            "the ledger state's frontier does not parse", advice=_CORRUPT_ADVICE
        ) from exc
    if frontier.size != size or frontier.root() != root:
        raise LedgerCorruptError(
            f"the ledger state disagrees with itself at size {size}", advice=_CORRUPT_ADVICE
        )
    return _Tree(frontier, root)


def _covering(size: int) -> list[tuple[int, int]]:
    """The complete subtrees that make up [0, size), largest first: what `root_of` reads."""
    nodes, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def _checkpoint(row: Sequence[object]) -> StoredCheckpoint:
    size, root, note, time_ms = row
    if not (isinstance(size, int) and isinstance(note, str) and isinstance(time_ms, int)):
        raise LedgerCorruptError("a stored checkpoint has the wrong types", advice=_CORRUPT_ADVICE)
    return StoredCheckpoint(size, _hash(root, f"the checkpoint root at size {size}"), note, time_ms)


class PostgresStore:
    """A ledger in one PostgreSQL schema. `timeout` bounds connecting, statements and locks."""

    def __init__(self, dsn: str, *, schema: str = "sumun_ledger", timeout: float = 5.0) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"bad ledger schema name {schema!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        try:
            params = bounded_params(dsn, application_name=f"sumun-ledger:{schema}", timeout=timeout)
        except ValueError:
            raise LedgerError("the ledger's PostgreSQL DSN does not parse") from None
        self._schema = schema
        self._timeout = timeout
        self._password = str(params.get("password") or "")
        self._params = params
        self._target = describe(params)
        self._sql = _Sql(schema)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer: _Conn | None = None
        self._reader: _Conn | None = None
        self._cache: _Tree | None = None
        self._closed = False
        with self._write_lock:
            conn = self._conn("writer")
            try:
                self._ensure_schema(conn)
            except psycopg.Error as exc:
                conn.close()
                raise self._translate(exc, "set up") from exc
            except BaseException:
                conn.close()
                raise

    def __repr__(self) -> str:
        return f"<PostgresStore {self._target or 'default'} schema={self._schema}>"

    @property
    def name(self) -> str:
        return "postgres"

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> _Conn:
        try:
            conn = psycopg.connect(**self._params, autocommit=True)
        except psycopg.Error as exc:
            raise self._translate(exc, "connect to") from exc
        try:
            configure_session(conn, self._timeout)
        except psycopg.Error as exc:
            conn.close()
            raise self._translate(exc, "connect to") from exc
        return conn

    def _conn(self, which: str) -> _Conn:
        """The live writer or reader connection, reconnecting if the last one broke."""
        if self._closed:
            raise LedgerError(f"the ledger store ({self._target}) is closed")
        conn = self._writer if which == "writer" else self._reader
        if conn is None or conn.closed:
            conn = self._connect()
            if which == "writer":
                self._writer = conn
            else:
                self._reader = conn
        return conn

    def _fail(self, exc: psycopg.Error, doing: str, which: str) -> LedgerError:
        """Translate `exc`; drop the connection if it is no longer usable."""
        conn = self._writer if which == "writer" else self._reader
        if conn is not None and (conn.closed or conn.info.transaction_status != _IDLE):
            conn.close()
        if which == "writer":
            self._cache = None
        return self._translate(exc, doing)

    def _translate(self, exc: psycopg.Error, doing: str) -> LedgerError:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if self._password:
            detail = detail.replace(self._password, "***")
        where = f"cannot {doing} the ledger in PostgreSQL ({self._target}, schema {self._schema})"
        if isinstance(exc, pg_errors.LockNotAvailable):
            return LedgerUnavailableError(
                f"{where}: another appender held the ledger lock for more than {self._timeout:g}s"
            )
        if isinstance(exc, pg_errors.QueryCanceled):
            return LedgerUnavailableError(
                f"{where}: the database did not answer within {2 * self._timeout:g}s"
            )
        if isinstance(exc, psycopg.IntegrityError):
            return LedgerCorruptError(
                f"{where}: stored rows disagree with the tree state ({detail})",
                advice=_CORRUPT_ADVICE,
            )
        if isinstance(exc, pg_errors.UndefinedTable | pg_errors.UndefinedColumn):
            return LedgerCorruptError(
                f"{where}: the ledger tables are missing or altered ({detail})",
                advice=_CORRUPT_ADVICE,
            )
        if isinstance(exc, psycopg.DataError):
            return LedgerCorruptError(f"{where}: {detail}", advice=_CORRUPT_ADVICE)
        return LedgerUnavailableError(f"{where}: {detail}")

    def _ensure_schema(self, conn: _Conn) -> None:
        with conn.transaction():
            found = conn.execute(
                "SELECT to_regclass(format('%%I.state', %s::text))", (self._schema,)
            ).fetchone()
            if found is None or found[0] is None:
                # Serialize first-time creation: concurrent CREATE SCHEMA IF NOT EXISTS races.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._schema,))
                again = conn.execute(
                    "SELECT to_regclass(format('%%I.state', %s::text))", (self._schema,)
                ).fetchone()
                if again is None or again[0] is None:
                    for statement in self._sql.tables:
                        conn.execute(statement)
                    conn.execute(self._sql.init_state, (EMPTY_ROOT, Frontier().to_bytes()))
            self._cache = _parse_tree(conn.execute(self._sql.state).fetchone())

    def _query(self, statement: sql.Composed, params: Sequence[object] = ()) -> list[Any]:
        with self._read_lock:
            conn = self._conn("reader")
            try:
                with conn.cursor(binary=True) as cur:
                    return cur.execute(statement, params).fetchall()
            except psycopg.Error as exc:
                raise self._fail(exc, "read", "reader") from exc

    # -- writing ---------------------------------------------------------------------------

    def _lock_tree(self, cur: psycopg.Cursor[TupleRow]) -> _Tree:
        """Take the sequencer lock and return the committed tree (the cache if current)."""
        row = cur.execute(self._sql.lock_state).fetchone()
        cached = self._cache
        if cached is None or row is None or (row[0], row[1]) != (cached.frontier.size, cached.root):
            return _parse_tree(row)
        return cached

    def append_batch(self, drafts: Sequence[EntryDraft]) -> AppendResult:
        with self._write_lock:
            conn = self._conn("writer")
            try:
                with conn.transaction(), conn.cursor(binary=True) as cur:
                    tree = self._lock_tree(cur)
                    first = tree.frontier.size
                    if not drafts:
                        return AppendResult(first, first, tree.root)
                    frontier = Frontier(first, list(tree.frontier.hashes))
                    with cur.copy(self._sql.copy_entries) as copy:
                        copy.set_types(["int8", "bytea", "bytea"])
                        nodes: list[tuple[int, bytes]] = []
                        for seq, draft in enumerate(drafts, start=first):
                            raw = draft.finalize(seq)
                            copy.write_row((seq, raw, draft.payload))
                            for level, index, node in frontier.append(leaf_hash(raw)):
                                nodes.append((level << _INDEX_BITS | index, node))
                    with cur.copy(self._sql.copy_nodes) as copy:
                        copy.set_types(["int8", "bytea"])
                        for row in nodes:
                            copy.write_row(row)
                    root = frontier.root()
                    cur.execute(self._sql.update_state, (frontier.size, root, frontier.to_bytes()))
            except psycopg.Error as exc:
                raise self._fail(exc, "append to", "writer") from exc
            except BaseException:
                self._cache = None
                raise
            self._cache = _Tree(frontier, root)
            return AppendResult(first, frontier.size, root)

    # -- reading ---------------------------------------------------------------------------

    def size(self) -> int:
        rows = self._query(self._sql.size)
        if not rows or not isinstance(rows[0][0], int):
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        return int(rows[0][0])

    def root(self) -> bytes:
        rows = self._query(self._sql.root)
        if not rows:
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        return _hash(rows[0][0], "the stored root")

    def head(self) -> tuple[int, bytes]:
        rows = self._query(self._sql.head)
        if not rows or not isinstance(rows[0][0], int):
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        return int(rows[0][0]), _hash(rows[0][1], "the stored root")

    def get_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        keys = [_node_id(level, index) for level, index in ids]
        unique = list(dict.fromkeys(keys))
        found: dict[int, object] = {}
        for i in range(0, len(unique), _ANY_CHUNK):
            found.update(self._query(self._sql.nodes, (unique[i : i + _ANY_CHUNK],)))
        result = []
        for (level, index), key in zip(ids, keys, strict=True):
            what = f"tree node (level {level}, index {index})"
            if key not in found:
                raise LedgerCorruptError(f"{what} is missing", advice=_CORRUPT_ADVICE)
            result.append(_hash(found[key], what))
        return result

    def entries(self, start: int, end: int) -> Iterator[StoredEntry]:
        _check_range(start, end)
        return self._stream_entries(start, end)

    def _stream_entries(self, start: int, end: int) -> Iterator[StoredEntry]:
        # Every seq below the committed size must be there.
        return stream_entries(
            lambda s: self._query(self._sql.entries, (s, end, _CHUNK)),
            start,
            end,
            expected=min(end, self.size()),
            chunk=_CHUNK,
            advice=_CORRUPT_ADVICE,
        )

    def leaf_hashes(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        _check_range(start, end)
        return self._stream_leaves(start, min(end, 1 << _INDEX_BITS))

    def _stream_leaves(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        # Level-0 node ids are the leaf indexes themselves.
        return stream_leaves(
            lambda s: self._query(self._sql.leaves, (s, end, _CHUNK)),
            start,
            end,
            expected=min(end, self.size()),
            chunk=_CHUNK,
            advice=_CORRUPT_ADVICE,
        )

    # -- checkpoints -----------------------------------------------------------------------

    def _root_at(self, cur: psycopg.Cursor[TupleRow], size: int) -> bytes:
        """The root at an earlier `size`, from the complete nodes covering [0, size)."""
        if size == 0:
            return EMPTY_ROOT
        ids = [level << _INDEX_BITS | index for level, index in _covering(size)]
        found: dict[int, bytes] = dict(cur.execute(self._sql.nodes, (ids,)).fetchall())
        try:
            return root_of(size, lambda level, index: found[level << _INDEX_BITS | index])
        except KeyError as exc:
            raise LedgerCorruptError(
                f"tree nodes below size {size} are missing", advice=_CORRUPT_ADVICE
            ) from exc

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        size, root = checkpoint.size, checkpoint.root
        with self._write_lock:
            conn = self._conn("writer")
            try:
                # The sequencer lock also serializes checkpoint saves (check, then insert).
                with conn.transaction(), conn.cursor(binary=True) as cur:
                    tree = self._lock_tree(cur)
                    row = cur.execute(self._sql.max_checkpoint).fetchone()
                    latest = row[0] if row else None
                    if latest is not None and size < latest:
                        raise LedgerError(
                            f"refusing a checkpoint at size {size}: one at size {latest} is "
                            "already saved, and checkpoints never go back"
                        )
                    if size > tree.frontier.size:
                        raise LedgerError(
                            f"refusing a checkpoint at size {size}: the ledger has only "
                            f"{tree.frontier.size} entries"
                        )
                    at_size = tree.root if size == tree.frontier.size else self._root_at(cur, size)
                    if root != at_size:
                        raise LedgerIntegrityError(
                            f"refusing a checkpoint at size {size}: its root is not the "
                            "ledger's root at that size",
                            seq=size - 1,
                        )
                    cur.execute(
                        self._sql.save_checkpoint,
                        (size, root, checkpoint.note, checkpoint.time_ms),
                    )
            except psycopg.Error as exc:
                raise self._fail(exc, "save a checkpoint in", "writer") from exc

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._query(self._sql.latest_checkpoint)
        return _checkpoint(rows[0]) if rows else None

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        after = -1
        while True:
            rows = self._query(self._sql.checkpoints, (after, _CHUNK))
            for row in rows:
                yield _checkpoint(row)
            if len(rows) < _CHUNK:
                return
            after = rows[-1][0]

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._closed = True
            for conn in (self._writer, self._reader):
                if conn is not None:
                    conn.close()
            self._writer = self._reader = None
