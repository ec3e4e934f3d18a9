"""Wrapped DEKs, stored by id. Never an unwrapped DEK: only what the KEK backend returned.

One host: the SQLite file `$SUMUN_HOME/keystore/deks.db` (WAL); a cluster: the `deks` table of
the shared control store, so any node can open what another sealed. A DEK belongs to one key id
and one scope: `window:<n>` (tenant × time window) or `subject:<ref>` (one data subject, so
that person's records can be shredded by deleting their DEKs). `ref` is an HMAC of the subject
id, so the store never holds the identifier itself. A rekey epoch (`sumun.keys.epoch`) rewraps
a row under a newer KEK version in place: same id, same scope, same DEK.

Shredding a subject overwrites its rows with tombstones: the wrapped DEK becomes empty, the
scope `erased`, the version 0 and `created_at` the time of the shred. The DEK is gone exactly as
with a delete (the same secure-delete and checkpoint follow); what stays is the DEK id — which
every envelope header carries anyway — so a later decryption of that subject's record can say
"erased (crypto-shredded on DATE)" from our own records instead of the opaque error. Tombstones
are never rewrapped nor counted (no KEK version is 0), and go with their key when it is
destroyed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import BackendUnavailableError, StoreError
from sumun.store.database import Database, Row

__all__ = ["ERASED_SCOPE", "DekRow", "DekStore", "Rewrapped", "wrap_aad"]

_COLUMNS = "dek_id, key_id, kek_version, scope, suite, wrapped, created_at"
ERASED_SCOPE = "erased"  # a shredded subject's tombstone: no DEK, created_at = when shredded


def wrap_aad(dek_id: bytes, key_id: str, version: int, scope: str) -> bytes:
    """What a wrapped DEK is bound to: a blob moved to another id, key, version or scope does
    not unwrap. MUST be the same wherever DEKs are wrapped, unwrapped or rewrapped."""
    return b"sumun-dek|" + dek_id + f"|{key_id}|{version}|{scope}".encode()


@dataclass(frozen=True, slots=True)
class DekRow:
    dek_id: bytes
    key_id: str
    kek_version: int
    scope: str
    suite: Suite
    wrapped: bytes
    created_at: float

    @property
    def erased(self) -> bool:
        """A tombstone: this DEK was shredded at `created_at` (its subject's erasure)."""
        return self.scope == ERASED_SCOPE

    @classmethod
    def from_row(cls, found: Row) -> DekRow:
        """From the columns in `_COLUMNS` order."""
        return cls(
            dek_id=bytes(found[0]),
            key_id=found[1],
            kek_version=int(found[2]),
            scope=found[3],
            suite=Suite.from_wire_id(int(found[4])),
            wrapped=bytes(found[5]),
            created_at=float(found[6]),
        )


@dataclass(frozen=True, slots=True)
class Rewrapped:
    """The same DEK, wrapped anew under a newer version of its key (a rekey epoch)."""

    dek_id: bytes
    from_version: int
    to_version: int
    wrapped: bytes


class DekStore:
    """The `deks` table: `keystore/deks.db` on one host, the control schema when shared.

    A store failure is a `BackendUnavailableError`: without its DEKs the key layer is down, and
    the gateway fails closed exactly as for an unreachable HSM.
    """

    def __init__(self, store: Path | Database) -> None:
        if isinstance(store, Path):
            from sumun.store.schema import DEK_TABLES
            from sumun.store.sqlite import SqliteDatabase

            try:
                store = SqliteDatabase(store, tables=DEK_TABLES, label="DEK store")
            except StoreError as exc:
                raise BackendUnavailableError(f"DEK store cannot be opened: {exc}") from exc
        self._db = store

    def __repr__(self) -> str:
        return f"<DekStore {self._db.where}>"

    def put(self, row: DekRow) -> None:
        try:
            with self._db.write("write a DEK to", change=False) as tx:
                tx.execute(
                    f"INSERT INTO deks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
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
        except StoreError as exc:
            raise BackendUnavailableError(f"DEK store write failed: {exc}") from exc

    def get(self, dek_id: bytes) -> DekRow | None:
        try:
            rows = self._db.read(f"SELECT {_COLUMNS} FROM deks WHERE dek_id = ?", (dek_id,))  # noqa: S608
        except StoreError as exc:
            raise BackendUnavailableError(f"DEK store read failed: {exc}") from exc
        return DekRow.from_row(rows[0]) if rows else None

    def delete_scope(self, key_id: str, scope: str, *, erased_at: float) -> list[bytes]:
        """Erase the wrapped DEKs of one scope, leaving tombstones dated `erased_at`; return
        their ids."""
        with self._db.write("erase DEKs in", change=False) as tx:
            ids = [
                bytes(r[0])
                for r in tx.all(
                    "SELECT dek_id FROM deks WHERE key_id = ? AND scope = ?", (key_id, scope)
                )
            ]
            tx.execute(
                "UPDATE deks SET wrapped = ?, scope = ?, kek_version = 0, created_at = ?"
                " WHERE key_id = ? AND scope = ?",
                (b"", ERASED_SCOPE, erased_at, key_id, scope),
            )
        self._db.erase_deleted("deks")
        return ids

    def delete_key(self, key_id: str, versions: frozenset[int] | None = None) -> int:
        """Erase the wrapped DEKs of a key (or of some of its versions)."""
        with self._db.write("erase DEKs in", change=False) as tx:
            if versions is None:
                erased = tx.execute("DELETE FROM deks WHERE key_id = ?", (key_id,))
            else:
                marks = ",".join("?" * len(versions))
                erased = tx.execute(
                    f"DELETE FROM deks WHERE key_id = ? AND kek_version IN ({marks})",  # noqa: S608 - placeholders only
                    (key_id, *sorted(versions)),
                )
        self._db.erase_deleted("deks")
        return erased

    def under(
        self, key_id: str, versions: frozenset[int], *, after: bytes = b"", limit: int = 500
    ) -> list[DekRow]:
        """Up to `limit` of the key's DEKs wrapped under one of `versions`, in dek_id order from
        just after `after` (pass the last id seen to page through them all)."""
        if not versions:
            return []
        marks = ",".join("?" * len(versions))
        try:
            rows = self._db.read(
                f"SELECT {_COLUMNS} FROM deks WHERE key_id = ?"  # noqa: S608 - placeholders only
                f" AND kek_version IN ({marks}) AND dek_id > ? ORDER BY dek_id LIMIT ?",
                (key_id, *sorted(versions), after, limit),
            )
        except StoreError as exc:
            raise BackendUnavailableError(f"DEK store read failed: {exc}") from exc
        return [DekRow.from_row(found) for found in rows]

    def count_under(self, key_id: str, versions: frozenset[int]) -> int:
        if not versions:
            return 0
        marks = ",".join("?" * len(versions))
        try:
            rows = self._db.read(
                f"SELECT count(*) FROM deks WHERE key_id = ? AND kek_version IN ({marks})",  # noqa: S608 - placeholders only
                (key_id, *sorted(versions)),
            )
        except StoreError as exc:
            raise BackendUnavailableError(f"DEK store read failed: {exc}") from exc
        return int(rows[0][0])

    def rewrap(self, batch: Sequence[Rewrapped]) -> int:
        """Replace wrapped blobs in one transaction; return how many were replaced.

        Compare-and-set: a row whose version is no longer `from_version` (moved by another
        rekey) or that is gone (a subject shredded meanwhile) is left as it is, never revived.
        The replaced blobs stay in the files until `erase_replaced`.
        """
        try:
            with self._db.write("rewrap DEKs in", change=False) as tx:
                return sum(
                    tx.execute(
                        "UPDATE deks SET kek_version = ?, wrapped = ?"
                        " WHERE dek_id = ? AND kek_version = ?",
                        (r.to_version, r.wrapped, r.dek_id, r.from_version),
                    )
                    for r in batch
                )
        except StoreError as exc:
            raise BackendUnavailableError(f"DEK store write failed: {exc}") from exc

    def erase_replaced(self) -> None:
        """Erase the old copies of rewrapped or deleted rows from the store's files (secure
        delete + WAL checkpoint and truncate; VACUUM on PostgreSQL, see docs/keys.md)."""
        try:
            self._db.erase_deleted("deks")
        except StoreError as exc:
            raise BackendUnavailableError(f"DEK store erase failed: {exc}") from exc

    def count(self, key_id: str | None = None) -> int:
        if key_id is None:
            rows = self._db.read("SELECT count(*) FROM deks")
        else:
            rows = self._db.read("SELECT count(*) FROM deks WHERE key_id = ?", (key_id,))
        return int(rows[0][0])

    def close(self) -> None:
        self._db.close()
