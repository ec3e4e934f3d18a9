"""The pseudonym vault: token tables, sealed, kept apart from the data (PIPA art. 28-4; art. 29).

A pseudonymized request's token → original table is the "additional information" that can
re-identify it. It never goes into the ledger or the logs: the gateway seals it under the
tenant's key (purpose `pseudonym-map`, bound to the request id) and stores only that ciphertext
here — on one host in its own file (`pseudonyms.db`, 0600), in a cluster in the control schema —
so access to the data and access to the key to re-identify it are separate. Entries expire
after the retention period.

    pseudonym_maps(request_id PK, tenant, created_at, sealed)
"""

from __future__ import annotations

import time
from pathlib import Path

from sumun.store.database import Database

__all__ = ["PseudonymVault"]


class PseudonymVault:
    """The `pseudonym_maps` table: `pseudonyms.db` on one host, the control schema when shared."""

    def __init__(self, store: Path | Database, *, timeout: float = 5.0) -> None:
        if isinstance(store, Path):
            from sumun.store.schema import VAULT_TABLES
            from sumun.store.sqlite import SqliteDatabase

            store = SqliteDatabase(
                store,
                tables=VAULT_TABLES,
                timeout=timeout,
                synchronous="NORMAL",
                label="pseudonym vault",
            )
        self._db = store

    @property
    def path(self) -> str:
        return self._db.where

    def __repr__(self) -> str:
        return f"PseudonymVault({self._db.where})"

    def close(self) -> None:
        self._db.close()

    def put(self, request_id: str, tenant: str, sealed: bytes, *, now: float | None = None) -> None:
        at = time.time() if now is None else now
        with self._db.write("write to the pseudonym vault in", change=False) as tx:
            tx.execute(
                "INSERT INTO pseudonym_maps (request_id, tenant, created_at, sealed)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (request_id) DO UPDATE SET"
                " tenant = excluded.tenant, created_at = excluded.created_at,"
                " sealed = excluded.sealed",
                (request_id, tenant, at, sealed),
            )

    def get(self, request_id: str) -> tuple[str, bytes] | None:
        """(tenant, sealed table) for a request, or None when there is none (or it expired)."""
        rows = self._db.read(
            "SELECT tenant, sealed FROM pseudonym_maps WHERE request_id = ?", (request_id,)
        )
        return (str(rows[0][0]), bytes(rows[0][1])) if rows else None

    def purge(self, older_than_seconds: float, *, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - older_than_seconds
        with self._db.write("purge the pseudonym vault in", change=False) as tx:
            purged = tx.execute("DELETE FROM pseudonym_maps WHERE created_at < ?", (cutoff,))
        if purged:
            self._db.erase_deleted("pseudonym_maps")
        return purged

    def count(self) -> int:
        return int(self._db.read("SELECT count(*) FROM pseudonym_maps")[0][0])
