"""The XKS proxy's control-store tables, and the in-memory copy a running proxy serves from.

    xks_keystores    (name PK, uri_prefix UNIQUE, created_at)
    xks_credentials  (access_key_id PK, keystore → xks_keystores, sealed, created_at, revoked_at)
    xks_keys         (key_id PK = the Sumun key id, keystore → xks_keystores, usage, created_at)

`sealed` is the SigV4 secret access key as a Sumun envelope (`sumun.xks.credentials`): this
module never sees a secret in the clear. Rows are never deleted: a revoked credential keeps its
row (`revoked_at`), so an access key id is never issued twice.

On one host the tables live in `store.db`; in a cluster in the shared control schema. They are
created with `CREATE TABLE IF NOT EXISTS` when first opened (as `sumun.store.usage` does), so a
deployment that never uses XKS never has them, and an older Sumun simply ignores them. Every
write is a control change (`change=True`): it bumps the control generation, and every node's
`ControlWatcher` re-reads the snapshot within its poll interval (≤ 1 s) — `XksLive` below.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sumun.errors import ConflictError, NotFoundError
from sumun.store.database import Database, Row

if TYPE_CHECKING:
    from sumun.store.watch import ControlWatcher

__all__ = [
    "XKS_TABLES",
    "CredentialRow",
    "ExternalKeyRow",
    "KeystoreRow",
    "XksLive",
    "XksSnapshot",
    "XksStore",
]

XKS_TABLES: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS xks_keystores (name TEXT PRIMARY KEY,"
    " uri_prefix TEXT NOT NULL UNIQUE, created_at {real} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS xks_credentials (access_key_id TEXT PRIMARY KEY,"
    " keystore TEXT NOT NULL REFERENCES xks_keystores(name), sealed {blob} NOT NULL,"
    " created_at {real} NOT NULL, revoked_at {real})",
    "CREATE INDEX IF NOT EXISTS xks_credentials_by_keystore ON xks_credentials (keystore)",
    "CREATE TABLE IF NOT EXISTS xks_keys (key_id TEXT PRIMARY KEY,"
    " keystore TEXT NOT NULL REFERENCES xks_keystores(name), usage TEXT NOT NULL,"
    " created_at {real} NOT NULL)",
)
_PG_CREATE_LOCK = 0x53554D53_0016  # two nodes opening at once create the tables once


@dataclass(frozen=True, slots=True)
class KeystoreRow:
    name: str
    uri_prefix: str
    created_at: float


@dataclass(frozen=True, slots=True)
class CredentialRow:
    access_key_id: str
    keystore: str
    sealed: bytes = field(repr=False)  # the secret as a Sumun envelope; never shown
    created_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class ExternalKeyRow:
    key_id: str
    keystore: str
    usage: str  # sumun.xks.model.KeyUsage value: both | encrypt | decrypt | none
    created_at: float


@dataclass(frozen=True, slots=True)
class XksSnapshot:
    """Every XKS row at one generation: what a running proxy answers from (no per-call read)."""

    keystores: dict[str, KeystoreRow] = field(default_factory=dict)
    by_prefix: dict[str, KeystoreRow] = field(default_factory=dict)
    credentials: dict[str, CredentialRow] = field(default_factory=dict)
    keys: dict[str, ExternalKeyRow] = field(default_factory=dict)


class XksStore:
    """The XKS tables behind one control-store connection (the caller's; closed with it)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        from sumun.store.schema import render

        with db.write("create the XKS tables in", change=False) as tx:
            if db.name == "postgres":
                tx.one("SELECT pg_advisory_xact_lock(?)", (_PG_CREATE_LOCK,))
            for statement in XKS_TABLES:
                tx.execute(render(statement, db.name))

    @property
    def db(self) -> Database:
        return self._db

    def close(self) -> None:
        self._db.close()

    # -- keystores -------------------------------------------------------------------------

    def create_keystore(
        self, name: str, uri_prefix: str, *, now: float | None = None
    ) -> KeystoreRow:
        """Add a keystore; ConflictError when the name or the URI prefix is taken."""
        row = KeystoreRow(name, uri_prefix, time.time() if now is None else now)
        with self._db.write("create an XKS keystore in") as tx:
            taken = tx.one(
                "SELECT name FROM xks_keystores WHERE name = ? OR uri_prefix = ?",
                (name, uri_prefix),
            )
            if taken is not None:
                what = "name" if taken[0] == name else "URI prefix"
                raise ConflictError(
                    f"an XKS keystore with that {what} exists ({taken[0]!r})",
                    advice="`sumun xks keystores list` shows them",
                )
            tx.execute(
                "INSERT INTO xks_keystores (name, uri_prefix, created_at) VALUES (?, ?, ?)",
                (row.name, row.uri_prefix, row.created_at),
            )
        return row

    def keystores(self) -> list[KeystoreRow]:
        rows = self._db.read("SELECT name, uri_prefix, created_at FROM xks_keystores ORDER BY name")
        return [_keystore(r) for r in rows]

    def keystore(self, name: str) -> KeystoreRow:
        rows = self._db.read(
            "SELECT name, uri_prefix, created_at FROM xks_keystores WHERE name = ?", (name,)
        )
        if not rows:
            raise NotFoundError(
                f"no XKS keystore {name!r}", advice="`sumun xks keystores list` shows them"
            )
        return _keystore(rows[0])

    # -- credentials -----------------------------------------------------------------------

    def add_credential(
        self, keystore: str, access_key_id: str, sealed: bytes, *, limit: int, now: float
    ) -> CredentialRow:
        """Store an issued credential; ConflictError past `limit` active ones."""
        row = CredentialRow(access_key_id, keystore, sealed, now)
        with self._db.write("issue an XKS credential in") as tx:
            if tx.one("SELECT name FROM xks_keystores WHERE name = ?", (keystore,)) is None:
                raise NotFoundError(f"no XKS keystore {keystore!r}")
            active = tx.one(
                "SELECT count(*) FROM xks_credentials WHERE keystore = ? AND revoked_at IS NULL",
                (keystore,),
            )
            if active is not None and int(active[0]) >= limit:
                raise ConflictError(
                    f"keystore {keystore!r} has {limit} active credentials already",
                    advice="revoke one no longer in use: `sumun xks credentials revoke`",
                )
            tx.execute(
                "INSERT INTO xks_credentials (access_key_id, keystore, sealed, created_at,"
                " revoked_at) VALUES (?, ?, ?, ?, NULL)",
                (access_key_id, keystore, sealed, now),
            )
        return row

    def revoke_credential(self, keystore: str, access_key_id: str, *, now: float) -> bool:
        """Revoke; False when it was revoked already. NotFoundError for an unknown one."""
        with self._db.write("revoke an XKS credential in") as tx:
            found = tx.one(
                "SELECT revoked_at FROM xks_credentials WHERE keystore = ? AND access_key_id = ?",
                (keystore, access_key_id),
            )
            if found is None:
                raise NotFoundError(
                    f"keystore {keystore!r} has no credential {access_key_id!r}",
                    advice="`sumun xks credentials list` shows them",
                )
            if found[0] is not None:
                return False
            tx.execute(
                "UPDATE xks_credentials SET revoked_at = ? WHERE access_key_id = ?",
                (now, access_key_id),
            )
        return True

    def credentials(self, keystore: str | None = None) -> list[CredentialRow]:
        sql = "SELECT access_key_id, keystore, sealed, created_at, revoked_at FROM xks_credentials"
        params: tuple[object, ...] = ()
        if keystore is not None:
            sql += " WHERE keystore = ?"
            params = (keystore,)
        return [_credential(r) for r in self._db.read(sql + " ORDER BY created_at", params)]

    # -- external keys ---------------------------------------------------------------------

    def add_key(self, key_id: str, keystore: str, usage: str, *, now: float) -> ExternalKeyRow:
        row = ExternalKeyRow(key_id, keystore, usage, now)
        with self._db.write("add an XKS key in") as tx:
            if tx.one("SELECT name FROM xks_keystores WHERE name = ?", (keystore,)) is None:
                raise NotFoundError(f"no XKS keystore {keystore!r}")
            if tx.one("SELECT key_id FROM xks_keys WHERE key_id = ?", (key_id,)) is not None:
                raise ConflictError(f"key {key_id!r} is an XKS key already")
            tx.execute(
                "INSERT INTO xks_keys (key_id, keystore, usage, created_at) VALUES (?, ?, ?, ?)",
                (key_id, keystore, usage, now),
            )
        return row

    def remove_key(self, key_id: str) -> None:
        """Undo an `add_key` whose ledger entry could not be written (never otherwise)."""
        with self._db.write("remove an XKS key from") as tx:
            tx.execute("DELETE FROM xks_keys WHERE key_id = ?", (key_id,))

    def external_keys(self) -> list[ExternalKeyRow]:
        rows = self._db.read(
            "SELECT key_id, keystore, usage, created_at FROM xks_keys ORDER BY key_id"
        )
        return [ExternalKeyRow(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in rows]

    def external_key(self, key_id: str) -> ExternalKeyRow | None:
        rows = self._db.read(
            "SELECT key_id, keystore, usage, created_at FROM xks_keys WHERE key_id = ?", (key_id,)
        )
        return ExternalKeyRow(*_key_fields(rows[0])) if rows else None

    # -- the whole state -------------------------------------------------------------------

    def snapshot(self) -> XksSnapshot:
        keystores = {k.name: k for k in self.keystores()}
        return XksSnapshot(
            keystores=keystores,
            by_prefix={k.uri_prefix: k for k in keystores.values()},
            credentials={c.access_key_id: c for c in self.credentials()},
            keys={k.key_id: k for k in self.external_keys()},
        )


def _keystore(row: Row) -> KeystoreRow:
    return KeystoreRow(str(row[0]), str(row[1]), float(row[2]))


def _credential(row: Row) -> CredentialRow:
    revoked = None if row[4] is None else float(row[4])
    return CredentialRow(str(row[0]), str(row[1]), bytes(row[2]), float(row[3]), revoked)


def _key_fields(row: Row) -> tuple[str, str, str, float]:
    return str(row[0]), str(row[1]), str(row[2]), float(row[3])


class XksLive:
    """The snapshot a running proxy serves from, re-read whenever the control generation moves.

    Subscribed to the node's `ControlWatcher` (LISTEN/NOTIFY, Redis or a 0.2 s poll), so a
    keystore, credential or key change made by any process on any node is served here within
    the watcher's bound; the hot path only reads `current` (one attribute). `on_change` runs
    after each reload (the credentials drop their opened secrets there)."""

    def __init__(self, store: XksStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.current = store.snapshot()
        self._listeners: list[Callable[[XksSnapshot], None]] = []
        self._owned: ControlWatcher | None = None

    def owns(self, watcher: ControlWatcher) -> None:
        """A watcher started for this copy alone: stopped by `close`."""
        self._owned = watcher

    def follow(self, watcher: ControlWatcher) -> None:
        def reload(_generation: int) -> None:
            self.reload()

        watcher.subscribe("xks", reload)

    def on_change(self, listener: Callable[[XksSnapshot], None]) -> None:
        self._listeners.append(listener)

    def reload(self) -> XksSnapshot:
        with self._lock:
            snapshot = self._store.snapshot()
            self.current = snapshot
        for listener in self._listeners:
            listener(snapshot)
        return snapshot

    def close(self) -> None:
        if self._owned is not None:
            self._owned.stop()
            self._owned = None
        self._store.close()
