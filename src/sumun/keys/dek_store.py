"""Wrapped DEKs, stored by id. Never an unwrapped DEK: only what the KEK backend returned.

SQLite file `$SUMUN_HOME/keystore/deks.db` (WAL). A DEK belongs to one key id and one scope:
`window:<n>` (tenant × time window) or `subject:<ref>` (one data subject, so that person's
records can be shredded by deleting their DEKs). `ref` is an HMAC of the subject id, so the
store never holds the identifier itself.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import BackendUnavailableError

__all__ = ["DekRow", "DekStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deks (
    dek_id      BLOB PRIMARY KEY,
    key_id      TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    scope       TEXT NOT NULL,
    suite       INTEGER NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deks_by_scope ON deks (key_id, scope);
"""


@dataclass(frozen=True, slots=True)
class DekRow:
    dek_id: bytes
    key_id: str
    kek_version: int
    scope: str
    suite: Suite
    wrapped: bytes
    created_at: float


class DekStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"DEK store {path} cannot be opened: {exc}") from exc

    def __repr__(self) -> str:
        return f"<DekStore {self._path}>"

    def put(self, row: DekRow) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO deks VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.dek_id,
                        row.key_id,
                        row.kek_version,
                        row.scope,
                        row.suite.wire_id,
                        row.wrapped,
                        row.created_at,
                    ),
                )
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"DEK store write failed: {exc}") from exc

    def get(self, dek_id: bytes) -> DekRow | None:
        with self._lock:
            try:
                found = self._db.execute(
                    "SELECT dek_id, key_id, kek_version, scope, suite, wrapped, created_at "
                    "FROM deks WHERE dek_id = ?",
                    (dek_id,),
                ).fetchone()
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"DEK store read failed: {exc}") from exc
        if found is None:
            return None
        return DekRow(
            dek_id=found[0],
            key_id=found[1],
            kek_version=found[2],
            scope=found[3],
            suite=Suite.from_wire_id(found[4]),
            wrapped=found[5],
            created_at=found[6],
        )

    def delete_scope(self, key_id: str, scope: str) -> list[bytes]:
        """Erase the wrapped DEKs of one scope; return their ids."""
        with self._lock:
            ids = [
                r[0]
                for r in self._db.execute(
                    "SELECT dek_id FROM deks WHERE key_id = ? AND scope = ?", (key_id, scope)
                )
            ]
            self._db.execute("DELETE FROM deks WHERE key_id = ? AND scope = ?", (key_id, scope))
            return ids

    def delete_key(self, key_id: str, versions: frozenset[int] | None = None) -> int:
        """Erase the wrapped DEKs of a key (or of some of its versions)."""
        with self._lock:
            if versions is None:
                cur = self._db.execute("DELETE FROM deks WHERE key_id = ?", (key_id,))
            else:
                marks = ",".join("?" * len(versions))
                cur = self._db.execute(
                    f"DELETE FROM deks WHERE key_id = ? AND kek_version IN ({marks})",  # noqa: S608 - placeholders only
                    (key_id, *sorted(versions)),
                )
            return cur.rowcount

    def count(self, key_id: str | None = None) -> int:
        with self._lock:
            if key_id is None:
                row = self._db.execute("SELECT count(*) FROM deks").fetchone()
            else:
                row = self._db.execute(
                    "SELECT count(*) FROM deks WHERE key_id = ?", (key_id,)
                ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
