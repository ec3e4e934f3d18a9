"""The kill switch's durable state: which providers are cut, why, by whom, since when.

One row per provider ever cut. Restoring keeps the row (cut = 0) with the restorer as `actor`,
so every process that notices the change can say who made it. `sumun.gateway.killswitch`
keeps the hot-path copy in memory and watches this table for changes.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from sumun.errors import StoreError
from sumun.store import _db

__all__ = ["CutRecord", "CutTable"]


@dataclass(frozen=True, slots=True)
class CutRecord:
    name: str
    cut: bool  # False: restored
    reason: str
    actor: str
    at: float  # Unix seconds of the last cut or restore


class CutTable:
    """`provider_cuts` in store.db, behind one connection and a lock (thread-safe)."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = _db.connect(path, timeout=timeout)
        self._version = self._data_version()

    def __repr__(self) -> str:
        return f"<CutTable {self._path}>"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the provider cut table at {self._path} is closed")
        return self._conn

    def _data_version(self) -> int:
        try:
            return _db.data_version(self._db())
        except sqlite3.Error as exc:
            raise _db.translate(exc, "read", self._path) from exc

    def changed(self) -> bool:
        """Did another connection (any process) commit to store.db since the last call?

        Costs one `PRAGMA data_version` (microseconds): cheap enough to poll every 200 ms.
        Any commit counts (a new tenant, too); the caller then re-reads this small table.
        """
        with self._lock:
            version = self._data_version()
            if version == self._version:
                return False
            self._version = version
            return True

    def read(self) -> dict[str, CutRecord]:
        with self._lock:
            try:
                rows = (
                    self._db().execute("SELECT name, cut, reason, actor, at FROM provider_cuts")
                ).fetchall()
            except sqlite3.Error as exc:
                raise _db.translate(exc, "read", self._path) from exc
        return {
            name: CutRecord(name, bool(cut), reason, actor, float(at))
            for name, cut, reason, actor, at in rows
        }

    def put(self, record: CutRecord) -> None:
        """Record a cut or a restore durably (FULL sync) before the caller acts on it."""
        with self._lock, _db.write(self._db(), self._path, "write"):
            self._db().execute(
                "INSERT INTO provider_cuts (name, cut, reason, actor, at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET cut = excluded.cut, reason = excluded.reason,"
                " actor = excluded.actor, at = excluded.at",
                (record.name, int(record.cut), record.reason, record.actor, record.at),
            )
