"""The pseudonym vault: token tables, sealed, kept apart from the data (PIPA decree 29-5).

A pseudonymized request's token → original table is the "additional information" that can
re-identify it. It never goes into the ledger or the logs: the gateway seals it under the
tenant's key (purpose `pseudonym-map`, bound to the request id) and stores only that ciphertext
here, in its own file (`pseudonyms.db`) with its own permissions, so access to the data and
access to the key to re-identify it are separate. Entries expire after the retention period.

    pseudonym_maps(request_id PK, tenant, created_at, sealed)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sumun._fs import private_dir
from sumun.errors import StoreError

__all__ = ["PseudonymVault"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pseudonym_maps (request_id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL, created_at REAL NOT NULL, sealed BLOB NOT NULL)"
)


class PseudonymVault:
    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        private_dir(path.parent)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            path.chmod(0o600)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the pseudonym vault at {path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"PseudonymVault({self.path})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, request_id: str, tenant: str, sealed: bytes, *, now: float | None = None) -> None:
        at = time.time() if now is None else now
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO pseudonym_maps VALUES (?, ?, ?, ?)",
                    (request_id, tenant, at, sealed),
                )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the pseudonym vault at {self.path}: {exc}") from exc

    def get(self, request_id: str) -> tuple[str, bytes] | None:
        """(tenant, sealed table) for a request, or None when there is none (or it expired)."""
        with self._lock:
            row = self._db.execute(
                "SELECT tenant, sealed FROM pseudonym_maps WHERE request_id = ?", (request_id,)
            ).fetchone()
        return (str(row[0]), bytes(row[1])) if row else None

    def purge(self, older_than_seconds: float, *, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - older_than_seconds
        with self._lock:
            cur = self._db.execute("DELETE FROM pseudonym_maps WHERE created_at < ?", (cutoff,))
        return int(cur.rowcount)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM pseudonym_maps").fetchone()[0])
