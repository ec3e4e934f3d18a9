"""Opening store.db: connection settings, the schema, and sqlite3 errors as `StoreError`.

Layout (schema version 1, marked by `PRAGMA application_id` and `user_version`):

    tenants(name PK, ai_notice, notice_text, default_data_class, rpm, tpm, token_budget,
            created_at)
    apps(tenant, name, created_at)                  PK (tenant, name)
    keys(key_id PK, digest UNIQUE, tenant, app, user, role, created_at, revoked_at,
         rpm, tpm, token_budget)                    digest = SHA-256 of the whole API key
    provider_cuts(name PK, cut, reason, actor, at)  the kill switch; cut = 0 once restored

WAL lets the gateway's readers proceed while the CLI writes; `synchronous = FULL` because a
revocation or a provider cut that is acknowledged MUST survive a power loss. Every write is one
`BEGIN IMMEDIATE` transaction, so concurrent writers from any process queue on SQLite's lock
(bounded by `busy_timeout`) instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from sumun._fs import private_dir
from sumun.errors import StoreError

__all__ = ["connect", "data_version", "translate", "write"]

_APPLICATION_ID = 0x53554D53  # "SUMS": marks the file as a Sumun store
_SCHEMA_VERSION = 1

_TABLES = (
    "CREATE TABLE tenants (name TEXT PRIMARY KEY, ai_notice INTEGER NOT NULL,"
    " notice_text TEXT, default_data_class TEXT, rpm INTEGER, tpm INTEGER,"
    " token_budget INTEGER, created_at REAL NOT NULL)",
    "CREATE TABLE apps (tenant TEXT NOT NULL REFERENCES tenants(name), name TEXT NOT NULL,"
    " created_at REAL NOT NULL, PRIMARY KEY (tenant, name))",
    "CREATE TABLE keys (key_id TEXT PRIMARY KEY, digest BLOB NOT NULL UNIQUE,"
    " tenant TEXT NOT NULL REFERENCES tenants(name), app TEXT, user TEXT, role TEXT NOT NULL,"
    " created_at REAL NOT NULL, revoked_at REAL, rpm INTEGER, tpm INTEGER, token_budget INTEGER,"
    " FOREIGN KEY (tenant, app) REFERENCES apps(tenant, name))",
    "CREATE INDEX keys_by_tenant ON keys (tenant)",
    "CREATE TABLE provider_cuts (name TEXT PRIMARY KEY, cut INTEGER NOT NULL,"
    " reason TEXT NOT NULL, actor TEXT NOT NULL, at REAL NOT NULL)",
)


def translate(exc: sqlite3.Error, doing: str, path: Path) -> StoreError:
    """Map a sqlite3 error to StoreError; the caller raises it `from exc`."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    where = f"cannot {doing} the store at {path}"
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(f"{where}: another writer held the database too long")
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreError(
            f"{where}: the file is damaged ({exc})", advice="restore it from a backup"
        )
    return StoreError(f"{where}: {exc}")


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    if app_id == 0:
        # Two processes may open a new store at once: the write lock makes one create it.
        with write(conn, path, "create"):
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            if app_id == 0:
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise StoreError(f"{path} is an SQLite file but not a Sumun store")
                for table in _TABLES:
                    conn.execute(table)
                conn.execute(f"PRAGMA application_id = {_APPLICATION_ID:d}")
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION:d}")
                app_id = _APPLICATION_ID
    if app_id != _APPLICATION_ID:
        raise StoreError(f"{path} is an SQLite file but not a Sumun store")
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version != _SCHEMA_VERSION:
        raise StoreError(
            f"the store at {path} has schema version {version}; "
            f"this Sumun reads version {_SCHEMA_VERSION}"
        )


def _set_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """Switch to WAL, retrying while another process does the same to a new file.

    On a fresh file two connections may both hold a shared lock and want an exclusive one;
    SQLite then answers SQLITE_BUSY at once instead of waiting (it would be a deadlock), so the
    busy timeout does not help. The other side finishes in milliseconds: try again.
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


def _create_private(path: Path) -> None:
    """Create the file owner-only before SQLite sees it; never touch one that exists.

    MUST NOT open an existing database file outside SQLite: POSIX `fcntl` locks belong to the
    (process, file) pair, so closing *any* descriptor on the file drops every lock this process
    holds on it — including those of its open SQLite connections. Another process then believes
    it is alone, checkpoints and unlinks the WAL this process still reads from, and this
    process stops seeing anyone's commits (revocations, cuts, new keys). SQLite itself avoids
    this by sharing one descriptor per inode; an extra `os.open`/`os.close` defeats it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # SQLite opens it; the -wal and -shm files inherit its mode
    os.close(fd)  # a brand-new file: no SQLite connection in this process can hold locks on it


def connect(path: Path, *, timeout: float = 5.0) -> sqlite3.Connection:
    """Open (creating if needed) store.db. Autocommit: transactions are explicit (`write`)."""
    try:
        private_dir(path.parent)
        _create_private(path)
    except OSError as exc:
        raise StoreError(f"cannot create the store at {path}: {exc}") from exc
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise translate(exc, "open", path) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        mode = _set_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        if str(mode).lower() != "wal":
            raise StoreError(f"cannot open the store at {path}: it cannot use WAL mode ({mode})")
        _ensure_schema(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise translate(exc, "open", path) from exc
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def write(conn: sqlite3.Connection, path: Path, doing: str) -> Iterator[None]:
    """One `BEGIN IMMEDIATE` transaction: commit on success, roll back on any error."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise translate(exc, doing, path) from exc
    try:
        yield
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(conn)
        raise translate(exc, doing, path) from exc
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (SQLITE_FULL, IOERR); the original error matters.
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever *another* connection (any process) commits to the file.

    A connection's own commits do not change it: callers invalidate their own caches on write.
    """
    (version,) = conn.execute("PRAGMA data_version").fetchone()
    return int(version)
