"""The embedded ledger store: one SQLite file in WAL mode.

Layout (schema version 1, marked by `PRAGMA application_id` and `user_version`):

    entries(seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, payload BLOB)
    nodes(id INTEGER PRIMARY KEY, hash BLOB NOT NULL)     id = level << 48 | index
    state(id = 0, size, root, frontier)                    the one row the sequencer owns
    checkpoints(size INTEGER PRIMARY KEY, root, note, time_ms)

Sequencing: `append_batch` is one `BEGIN IMMEDIATE` transaction, so SQLite's single write lock
is the sequencer for every thread and process using the file. Inside the lock it re-reads
`state` (another process may have appended), assigns seqs, derives leaf hashes and new nodes,
and commits entries, nodes and state at once. WAL with `synchronous=FULL` makes the commit
durable before `append_batch` returns; a crash shows the whole batch or none of it.

Creation is atomic as well: a new ledger is built in a temporary file and hard-linked into
place, so an existing empty file is never taken for a new ledger — it is a truncated one.

Thread safety: one writer connection and one reader connection, each behind its own lock;
WAL lets readers proceed while a batch commits.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sumun._fs import fsync_dir
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

__all__ = ["SqliteStore"]

_APPLICATION_ID = 0x53554D4C  # "SUML": marks the file as a Sumun ledger
_SCHEMA_VERSION = 1
_INDEX_BITS = 48  # node id = level << 48 | index; 2^48 leaves is far beyond any ledger
_CHUNK = 1024  # rows per streamed read: bounded memory at any ledger size
_IN_CHUNK = 500  # ids per `IN (...)`: well under SQLite's bound-parameter limit
_CORRUPT_ADVICE = "restore the ledger from a backup, then run `sumun ledger verify`"

_TABLES = (
    "CREATE TABLE entries (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, payload BLOB)",
    "CREATE TABLE nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL)",
    "CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 0),"
    " size INTEGER NOT NULL, root BLOB NOT NULL, frontier BLOB NOT NULL)",
    "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY,"
    " root BLOB NOT NULL, note TEXT NOT NULL, time_ms INTEGER NOT NULL)",
)

# SQLite primary result codes that mean "cannot write or read right now", with the reason.
_UNAVAILABLE = {
    sqlite3.SQLITE_FULL: "the disk or the database is full",
    sqlite3.SQLITE_READONLY: "the database is read-only",
    sqlite3.SQLITE_PERM: "permission denied",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened",
    sqlite3.SQLITE_IOERR: "an I/O error occurred",
    sqlite3.SQLITE_NOMEM: "out of memory",
}
_CORRUPT = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


@dataclass(frozen=True, slots=True)
class _Tree:
    """The committed tree as this process last saw it. `frontier` is never mutated."""

    frontier: Frontier
    root: bytes


def _node_id(level: int, index: int) -> int:
    if not (0 <= level <= _INDEX_BITS and 0 <= index < 1 << (_INDEX_BITS - level)):
        raise ValueError(f"no tree node (level {level}, index {index})")
    return level << _INDEX_BITS | index


def _nodes_in(count: int) -> str:
    # Only "?" placeholders are formatted in; the ids themselves are bound parameters.
    return f"SELECT id, hash FROM nodes WHERE id IN ({','.join('?' * count)})"  # noqa: S608


def _check_range(start: int, end: int) -> None:
    if start < 0 or end < start:
        raise ValueError(f"bad range [{start}, {end})")


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _parse_tree(size: object, root: object, raw: object) -> _Tree:
    """Validate the state row: its frontier must reproduce its size and root."""
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


def _hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise LedgerCorruptError(f"{what} is not a 32-byte hash", advice=_CORRUPT_ADVICE)
    return value


def _translate(exc: sqlite3.Error, doing: str, path: Path, timeout: float) -> LedgerError:
    """Map a sqlite3 error to the ledger's tree; the caller raises it `from exc`."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    where = f"cannot {doing} the ledger at {path}"
    if primary in _CORRUPT:
        return LedgerCorruptError(f"{where}: the file is damaged ({exc})", advice=_CORRUPT_ADVICE)
    if primary == sqlite3.SQLITE_CONSTRAINT:
        return LedgerCorruptError(
            f"{where}: stored rows disagree with the tree state ({exc})", advice=_CORRUPT_ADVICE
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return LedgerUnavailableError(
            f"{where}: another writer held the database for more than {timeout:g}s"
        )
    if primary == sqlite3.SQLITE_ERROR:  # e.g. "no such table": not the layout we wrote
        return LedgerCorruptError(f"{where}: {exc}", advice=_CORRUPT_ADVICE)
    reason = _UNAVAILABLE.get(primary, "an unexpected SQLite error") if primary else "an error"
    return LedgerUnavailableError(f"{where}: {reason} ({exc})")


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (SQLITE_FULL, IOERR); the original error matters.
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _create(path: Path) -> None:
    """Create a new, empty ledger at `path` unless one exists; never a half-made one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.init")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN")
            for table in _TABLES:
                conn.execute(table)
            conn.execute(
                "INSERT INTO state VALUES (0, 0, ?, ?)", (EMPTY_ROOT, Frontier().to_bytes())
            )
            conn.execute(f"PRAGMA application_id = {_APPLICATION_ID:d}")
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION:d}")
            conn.execute("COMMIT")
        finally:
            conn.close()  # checkpoints the WAL into the file and fsyncs it
        # No-clobber: if another process created the ledger first, theirs is the ledger.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


class SqliteStore:
    """A ledger in one SQLite file. `timeout` bounds every wait for the write lock."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._path = path
        self._timeout = timeout
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._cache: _Tree | None = None
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        try:
            if not path.exists():
                _create(path)
            elif path.stat().st_size == 0:
                raise LedgerCorruptError(
                    f"the ledger at {path} is an empty file: a truncated ledger, not a new one",
                    advice=_CORRUPT_ADVICE,
                )
        except OSError as exc:
            raise LedgerUnavailableError(
                f"cannot open or create the ledger at {path}: {exc}"
            ) from exc
        except sqlite3.Error as exc:
            raise _translate(exc, "create", path, timeout) from exc
        try:
            self._writer = self._connect()
            self._reader = self._connect()
            self._check_layout(self._writer)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"<SqliteStore {self._path}>"

    @property
    def name(self) -> str:
        return "sqlite"

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: a ledger that vanished must not be silently recreated empty.
        uri = self._path.absolute().as_uri() + "?mode=rw"
        try:
            conn = sqlite3.connect(
                uri, uri=True, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _translate(exc, "open", self._path, self._timeout) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            conn.close()
            raise _translate(exc, "open", self._path, self._timeout) from exc
        if str(mode).lower() != "wal":
            conn.close()
            raise LedgerUnavailableError(
                f"cannot open the ledger at {self._path}: it cannot use WAL mode ({mode})"
            )
        return conn

    def _check_layout(self, conn: sqlite3.Connection) -> None:
        try:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if app_id != _APPLICATION_ID:
                raise LedgerCorruptError(f"{self._path} is an SQLite file but not a Sumun ledger")
            if version != _SCHEMA_VERSION:
                raise LedgerError(
                    f"the ledger at {self._path} has schema version {version}; "
                    f"this Sumun reads version {_SCHEMA_VERSION}"
                )
            row = conn.execute("SELECT size, root, frontier FROM state WHERE id = 0").fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from exc
        if row is None:
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        self._cache = _parse_tree(*row)

    def _error(self, exc: sqlite3.Error, doing: str) -> LedgerError:
        return _translate(exc, doing, self._path, self._timeout)

    def _live(self, conn: sqlite3.Connection | None) -> sqlite3.Connection:
        if conn is None:
            raise LedgerError(f"the ledger store {self._path} is closed")
        return conn

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._read_lock:
            conn = self._live(self._reader)
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, "read") from exc

    # -- writing ---------------------------------------------------------------------------

    def _load_tree(self, conn: sqlite3.Connection) -> _Tree:
        """The committed tree, inside the write lock; the cache only if it is still current."""
        row = conn.execute("SELECT size, root, frontier FROM state WHERE id = 0").fetchone()
        if row is None:
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        cached = self._cache
        if cached is None or (row[0], row[1]) != (cached.frontier.size, cached.root):
            return _parse_tree(*row)
        return cached

    def append_batch(self, drafts: Sequence[EntryDraft]) -> AppendResult:
        with self._write_lock:
            conn = self._live(self._writer)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    tree = self._load_tree(conn)
                    first = tree.frontier.size
                    if not drafts:
                        conn.execute("ROLLBACK")
                        return AppendResult(first, first, tree.root)
                    frontier = Frontier(first, list(tree.frontier.hashes))
                    entries: list[tuple[int, bytes, bytes | None]] = []
                    nodes: list[tuple[int, bytes]] = []
                    for seq, draft in enumerate(drafts, start=first):
                        raw = draft.finalize(seq)
                        entries.append((seq, raw, draft.payload))
                        for level, index, node in frontier.append(leaf_hash(raw)):
                            nodes.append((level << _INDEX_BITS | index, node))
                    root = frontier.root()
                    conn.executemany("INSERT INTO entries VALUES (?, ?, ?)", entries)
                    conn.executemany("INSERT INTO nodes VALUES (?, ?)", nodes)
                    conn.execute(
                        "UPDATE state SET size = ?, root = ?, frontier = ? WHERE id = 0",
                        (frontier.size, root, frontier.to_bytes()),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    self._cache = None  # the stored state is re-read and re-validated next time
                    _rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc, "append to") from exc
            self._cache = _Tree(frontier, root)
            return AppendResult(first, frontier.size, root)

    # -- reading ---------------------------------------------------------------------------

    def size(self) -> int:
        rows = self._query("SELECT size FROM state WHERE id = 0")
        if not rows or not isinstance(rows[0][0], int):
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        return int(rows[0][0])

    def root(self) -> bytes:
        rows = self._query("SELECT root FROM state WHERE id = 0")
        if not rows:
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        return _hash(rows[0][0], "the stored root")

    def head(self) -> tuple[int, bytes]:
        rows = self._query("SELECT size, root FROM state WHERE id = 0")
        if not rows or not isinstance(rows[0][0], int):
            raise LedgerCorruptError("the ledger state row is missing", advice=_CORRUPT_ADVICE)
        return int(rows[0][0]), _hash(rows[0][1], "the stored root")

    def get_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        keys = [_node_id(level, index) for level, index in ids]
        found: dict[int, object] = {}
        unique = list(dict.fromkeys(keys))
        for chunk in _chunks(unique, _IN_CHUNK):
            found.update(self._query(_nodes_in(len(chunk)), chunk))
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
            lambda s: self._query(
                "SELECT seq, entry, payload FROM entries WHERE seq >= ? AND seq < ? "
                "ORDER BY seq LIMIT ?",
                (s, end, _CHUNK),
            ),
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
            lambda s: self._query(
                "SELECT id, hash FROM nodes WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                (s, end, _CHUNK),
            ),
            start,
            end,
            expected=min(end, self.size()),
            chunk=_CHUNK,
            advice=_CORRUPT_ADVICE,
        )

    # -- checkpoints -----------------------------------------------------------------------

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        size, root = checkpoint.size, checkpoint.root
        with self._write_lock:
            conn = self._live(self._writer)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    latest = conn.execute("SELECT max(size) FROM checkpoints").fetchone()[0]
                    if latest is not None and size < latest:
                        raise LedgerError(
                            f"refusing a checkpoint at size {size}: one at size {latest} is "
                            "already saved, and checkpoints never go back"
                        )
                    tree = self._load_tree(conn)
                    if size > tree.frontier.size:
                        raise LedgerError(
                            f"refusing a checkpoint at size {size}: the ledger has only "
                            f"{tree.frontier.size} entries"
                        )
                    at_size = tree.root if size == tree.frontier.size else _root_at(conn, size)
                    if root != at_size:
                        raise LedgerIntegrityError(
                            f"refusing a checkpoint at size {size}: its root is not the "
                            "ledger's root at that size",
                            seq=size - 1,
                        )
                    conn.execute(
                        "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
                        (size, root, checkpoint.note, checkpoint.time_ms),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc, "save a checkpoint in") from exc

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._query(
            "SELECT size, root, note, time_ms FROM checkpoints ORDER BY size DESC LIMIT 1"
        )
        return _checkpoint(rows[0]) if rows else None

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        after = -1
        while True:
            rows = self._query(
                "SELECT size, root, note, time_ms FROM checkpoints WHERE size > ? "
                "ORDER BY size LIMIT ?",
                (after, _CHUNK),
            )
            for row in rows:
                yield _checkpoint(row)
            if len(rows) < _CHUNK:
                return
            after = rows[-1][0]

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            for conn in (self._writer, self._reader):
                if conn is not None:
                    conn.close()
            self._writer = self._reader = None


def _covering(size: int) -> list[tuple[int, int]]:
    """The complete subtrees that make up [0, size), largest first: what `root_of` reads."""
    nodes, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def _root_at(conn: sqlite3.Connection, size: int) -> bytes:
    """The root at an earlier `size`, from the complete nodes covering [0, size)."""
    if size == 0:
        return EMPTY_ROOT
    ids = [level << _INDEX_BITS | index for level, index in _covering(size)]
    found = dict(conn.execute(_nodes_in(len(ids)), ids).fetchall())
    try:
        return root_of(size, lambda level, index: found[level << _INDEX_BITS | index])
    except KeyError as exc:
        raise LedgerCorruptError(
            f"tree nodes below size {size} are missing", advice=_CORRUPT_ADVICE
        ) from exc


def _checkpoint(row: Sequence[object]) -> StoredCheckpoint:
    size, root, note, time_ms = row
    if not (isinstance(size, int) and isinstance(note, str) and isinstance(time_ms, int)):
        raise LedgerCorruptError("a stored checkpoint has the wrong types", advice=_CORRUPT_ADVICE)
    return StoredCheckpoint(size, _hash(root, f"the checkpoint root at size {size}"), note, time_ms)
