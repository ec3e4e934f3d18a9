"""The control store on one host: SQLite files in `SUMUN_HOME` (the embedded default).

`store.db` holds the control tables (`sumun.store.schema`, marked by `PRAGMA application_id`
and versioned by `user_version`); the wrapped DEKs (`keystore/deks.db`) and the pseudonym vault
(`pseudonyms.db`) stay in files of their own, as before, so that the vault can be kept apart
from the data (PIPA art. 28-4; art. 29) — those are opened with their own small schema.

WAL lets readers proceed while another process writes; `synchronous = FULL` because an
acknowledged revocation or cut MUST survive a power loss. Every write is one `BEGIN IMMEDIATE`
transaction, so writers from any process queue on SQLite's lock (bounded by `busy_timeout`).
Other processes learn of a change by polling the generation (`sumun.store.watch`); with Redis
configured the watcher also hears a publish after each commit.

MUST NOT open an existing database file outside SQLite: POSIX `fcntl` locks belong to the
(process, file) pair, so closing *any* descriptor on the file drops every lock this process
holds on it — including those of its SQLite connections. Another process then believes it is
alone, checkpoints and unlinks the WAL this process still reads, and this process stops seeing
anyone's commits (issue 11). SQLite itself shares one descriptor per inode; we only ever create
a brand-new file ourselves (`O_EXCL`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sumun._fs import private_dir
from sumun.errors import StoreError
from sumun.store import schema
from sumun.store.database import Row

__all__ = ["SqliteDatabase"]

_APPLICATION_ID = 0x53554D53  # "SUMS": marks the file as a Sumun control store


def _translate(exc: sqlite3.Error, doing: str, path: Path, label: str = "store") -> StoreError:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    where = f"cannot {doing} the {label} at {path}"
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(f"{where}: another writer held the database too long")
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreError(
            f"{where}: the file is damaged ({exc})", advice="restore it from a backup"
        )
    return StoreError(f"{where}: {exc}")


def _create_private(path: Path) -> None:
    """Create the file owner-only before SQLite sees it; never touch one that exists."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # SQLite opens it; the -wal and -shm files inherit its mode
    os.close(fd)  # brand new: no SQLite connection in this process can hold locks on it


def _set_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """Switch to WAL, retrying while another process does the same to a new file.

    On a fresh file two connections may both hold a shared lock and want an exclusive one;
    SQLite then answers SQLITE_BUSY at once (it would be a deadlock), so the busy timeout does
    not help. The other side finishes in milliseconds: try again.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            return str(mode)
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class _Tx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return int(self._conn.execute(sql, tuple(params)).rowcount)

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        row = self._conn.execute(sql, tuple(params)).fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return [tuple(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]


class SqliteDatabase:
    """One SQLite file behind one connection and a lock (thread-safe).

    `tables=None` opens the control store (versioned migrations); a tuple of `CREATE … IF NOT
    EXISTS` statements opens a file of its own (the DEK store, the pseudonym vault).
    `after_change` runs after each committed change (the Redis publish, when configured).
    """

    def __init__(
        self,
        path: Path,
        *,
        tables: tuple[str, ...] | None = None,
        timeout: float = 5.0,
        synchronous: str = "FULL",
        after_change: Callable[[int], None] | None = None,
        label: str = "store",
    ) -> None:
        self._path = path
        self._label = label
        self._control = tables is None
        self._after_change = after_change
        self._lock = threading.Lock()
        try:
            private_dir(path.parent)
            _create_private(path)
        except OSError as exc:
            raise StoreError(f"cannot create the {label} at {path}: {exc}") from exc
        try:
            conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _translate(exc, "open", path, label) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = _set_wal(conn, timeout)
            if mode.lower() != "wal":
                raise StoreError(f"cannot open the store at {path}: it cannot use WAL ({mode})")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            # Deleted rows are overwritten with zeros, not left in free pages (crypto-shredding:
            # a carved page must not give back a wrapped DEK).
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn: sqlite3.Connection | None = conn
            if tables is None:
                self._migrate()
            else:
                with self.write("create", change=False) as tx:
                    for statement in tables:
                        tx.execute(schema.render(statement, "sqlite"))
        except sqlite3.Error as exc:
            conn.close()
            raise _translate(exc, "open", path, label) from exc
        except BaseException:
            conn.close()
            raise

    def __repr__(self) -> str:
        return f"<SqliteDatabase {self._path}>"

    @property
    def name(self) -> str:
        return "sqlite"

    @property
    def where(self) -> str:
        return str(self._path)

    @property
    def path(self) -> Path:
        return self._path

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store at {self._path} is closed")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self._db()
        with self.write("upgrade", change=False) as tx:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if app_id == 0:
                if tx.one("SELECT count(*) FROM sqlite_master") != (0,):
                    raise StoreError(f"{self._path} is an SQLite file but not a Sumun store")
                conn.execute(f"PRAGMA application_id = {_APPLICATION_ID:d}")
                version = 0
            elif app_id != _APPLICATION_ID:
                raise StoreError(f"{self._path} is an SQLite file but not a Sumun store")
            if version > schema.VERSION:
                raise StoreError(
                    f"the store at {self._path} has schema version {version}; this Sumun "
                    f"reads up to version {schema.VERSION}",
                    advice="upgrade Sumun on this host to the version the others run",
                )
            for step in schema.MIGRATIONS[version:]:
                for statement in step:
                    tx.execute(schema.render(statement, "sqlite"))
            if version < schema.VERSION:
                conn.execute(f"PRAGMA user_version = {schema.VERSION:d}")

    # -- the seam --------------------------------------------------------------------------

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._lock:
            try:
                return [tuple(r) for r in self._db().execute(sql, tuple(params)).fetchall()]
            except sqlite3.Error as exc:
                raise _translate(exc, "read", self._path, self._label) from exc

    @contextlib.contextmanager
    def write(self, doing: str, *, change: bool = True) -> Iterator[_Tx]:
        if change and not self._control:
            raise ValueError("only the control store records changes")
        generation = 0
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, doing, self._path, self._label) from exc
            try:
                yield _Tx(conn)
                if change:
                    conn.execute("UPDATE control_meta SET generation = generation + 1")
                    (generation,) = conn.execute("SELECT generation FROM control_meta").fetchone()
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise _translate(exc, doing, self._path, self._label) from exc
            except BaseException:
                self._rollback(conn)
                raise
        if change and self._after_change is not None:
            self._after_change(int(generation))

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        # SQLite may already have rolled back (SQLITE_FULL, IOERR); the original error matters.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def erase_deleted(self, table: str) -> None:
        """With secure_delete the database pages hold no deleted row; the WAL still holds the
        pages as they were until a checkpoint: checkpoint and truncate it (TRUNCATE waits for
        readers, bounded by busy_timeout; a reader that pins it leaves the copy for now)."""
        del table  # the whole file is checkpointed
        with self._lock:
            try:
                self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                raise _translate(exc, "erase deleted rows in", self._path, self._label) from exc

    def generation(self) -> int:
        if not self._control:
            return 0
        rows = self.read("SELECT generation FROM control_meta WHERE id = 0")
        return int(rows[0][0]) if rows else 0
