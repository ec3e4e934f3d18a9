"""The kill switch's durable state: which providers are cut, why, by whom, since when.

One row per provider ever cut. Restoring keeps the row (cut = 0) with the restorer as `actor`,
so every process that notices the change can say who made it. `sumun.gateway.killswitch`
keeps the hot-path copy in memory and re-reads this table when the control generation moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sumun.store.database import Database

__all__ = ["CutRecord", "CutTable"]


@dataclass(frozen=True, slots=True)
class CutRecord:
    name: str
    cut: bool  # False: restored
    reason: str
    actor: str
    at: float  # Unix seconds of the last cut or restore


class CutTable:
    """`provider_cuts` in the control store (thread-safe: the driver serialises)."""

    def __init__(self, store: Path | Database, *, timeout: float = 5.0) -> None:
        if isinstance(store, Path):
            from sumun.store.sqlite import SqliteDatabase

            store = SqliteDatabase(store, timeout=timeout)
        self._db = store

    def __repr__(self) -> str:
        return f"<CutTable {self._db.where}>"

    @property
    def database(self) -> Database:
        return self._db

    def close(self) -> None:
        self._db.close()

    def read(self) -> dict[str, CutRecord]:
        rows = self._db.read("SELECT name, cut, reason, actor, at FROM provider_cuts")
        return {
            name: CutRecord(name, bool(cut), reason, actor, float(at))
            for name, cut, reason, actor, at in rows
        }

    def put(self, record: CutRecord) -> None:
        """Record a cut or a restore durably before the caller acts on it (a control change)."""
        with self._db.write("write") as tx:
            tx.execute(
                "INSERT INTO provider_cuts (name, cut, reason, actor, at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET cut = excluded.cut, reason = excluded.reason,"
                " actor = excluded.actor, at = excluded.at",
                (record.name, int(record.cut), record.reason, record.actor, record.at),
            )
