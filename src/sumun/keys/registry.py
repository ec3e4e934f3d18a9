"""The key registry: which tenant keys exist, their versions and lifecycle states.

Document `keystore/keys.json` (`sumun.store.documents`: a file in `SUMUN_HOME` on one host,
a row of the shared control store in a cluster), authenticated with HMAC-SHA256 under
HKDF(MK, "sumun/registry-mac/v2") over everything but the MAC itself:

    {"format": 2, "revision": 41, "keys": {"<key_id>": KeyRecord…},
     "pending": [Intent…], "mac": "<hex>"}

Guarantees:

1. Integrity. An edit of the document (say, flipping a disabled key back to enabled) fails the
   MAC, and the registry is refused as corrupt. While sealed, the registry can be read for
   display only (`read_unverified`) — nothing may be decided from it.
2. Freshness. An older copy put back (a file or database restore) carries a valid MAC, so the
   MAC alone cannot refuse it; the revision does. `revision` is bumped by every write, and
   every key-event names the revision it produced (detail `registry_revision`). Opening the
   keys refuses a registry older than the ledger's last key-event (`require_at_least`, called
   by `KeyService`), and a `Registry` never accepts a revision below one it has already seen,
   so a copy restored under a running process is refused as well: `KeystoreRollbackError`.
3. Write-ahead. A key change and the key-event that records it are written in ONE atomic
   write: the event rides along as a pending `Intent`. The lifecycle then records the event
   and clears the intent (`clear`). A crash (or a ledger failure) in between leaves the
   intent, and the next open records it (`KeyLifecycle.reconcile`) — so a committed key change
   never lacks its ledger entry, and a change that did not commit has no intent to record.

Every read-modify-write is one `Documents.update` (a file lock, or one database transaction that
also bumps the control generation), so concurrent processes and nodes don't lose updates.
Format 1 (no revision, no intents, MAC over `keys` under ".../registry-mac/v1") is read as
revision 0 and written back as format 2 by the next change.
"""

from __future__ import annotations

import hmac
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from hashlib import sha256
from pathlib import Path
from typing import Any

from sumun._fs import private_dir
from sumun.errors import KeystoreCorruptError, KeystoreRollbackError
from sumun.keys.model import REVISION_DETAIL, KeyEvent, KeyRecord
from sumun.keys.secret import MasterKey
from sumun.store.documents import Documents, locate

__all__ = ["Intent", "Registry", "Snapshot", "read_unverified"]

_FORMAT = 2
_NAME = "keystore/keys.json"
# How long an intent of a writer this host cannot see (another node) counts as in flight: far
# longer than a ledger append may take (`ledger.timeout_seconds`), so only the dead are recovered.
_IN_FLIGHT_SECONDS = 120.0
Records = dict[str, KeyRecord]


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(owner: str) -> bool:
    """Is `owner` a process of this host that no longer exists?"""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not (pid.isascii() and pid.isdigit()):
        return False
    number = int(pid)
    if number <= 0 or number == os.getpid():
        return False
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


@dataclass(frozen=True, slots=True)
class Intent:
    """A key-event promised by the registry write that made its change (write-ahead)."""

    revision: int  # the registry revision the change produced; the event names it too
    event: KeyEvent
    owner: str  # "<host>:<pid>" of the writer: tells a crashed writer from one still at work
    written_at: float

    def orphaned(self, now: float) -> bool:
        """True when no writer will record this event: its process is gone (this host), or it
        has been pending far longer than any ledger append takes (any host)."""
        return _dead_here(self.owner) or now - self.written_at > _IN_FLIGHT_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "event": self.event.to_json(),
            "owner": self.owner,
            "written_at": self.written_at,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Intent:
        return cls(
            revision=int(raw["revision"]),
            event=KeyEvent.from_json(raw["event"]),
            owner=str(raw["owner"]),
            written_at=float(raw["written_at"]),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The registry as one verified read: its revision, records and pending intents."""

    revision: int
    records: Records
    pending: tuple[Intent, ...]


@dataclass(frozen=True, slots=True)
class _Body:
    format: int
    revision: int
    keys: dict[str, Any]
    pending: list[Any]
    mac: str

    def content(self) -> dict[str, Any]:
        """The document without its MAC (format 2)."""
        return {
            "format": self.format,
            "revision": self.revision,
            "keys": self.keys,
            "pending": self.pending,
        }

    def signed(self) -> bytes:
        """What the MAC covers: format 1 signed the keys alone, format 2 everything but itself."""
        return _canonical(self.keys if self.format == 1 else self.content())


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _parse(path: str, body: bytes | None) -> _Body:
    if body is None:
        return _Body(_FORMAT, 0, {}, [], "")
    try:
        raw = json.loads(body)
        fmt = raw.get("format")
        if fmt not in (1, _FORMAT) or not isinstance(raw.get("keys"), dict):
            raise ValueError("unexpected layout")
        if fmt == 1:
            return _Body(1, 0, raw["keys"], [], str(raw.get("mac", "")))
        revision, pending = raw.get("revision"), raw.get("pending")
        if not isinstance(revision, int) or revision < 0 or not isinstance(pending, list):
            raise ValueError("unexpected layout")
        return _Body(fmt, revision, raw["keys"], pending, str(raw.get("mac", "")))
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise KeystoreCorruptError(f"key registry {path} is unreadable") from exc


def _records(path: str, keys: dict[str, Any]) -> Records:
    try:
        return {key_id: KeyRecord.from_json(raw) for key_id, raw in keys.items()}
    except (KeyError, ValueError, TypeError) as exc:
        raise KeystoreCorruptError(f"key registry {path} has a malformed record") from exc


def _intents(path: str, pending: list[Any]) -> tuple[Intent, ...]:
    try:
        return tuple(sorted((Intent.from_json(raw) for raw in pending), key=lambda i: i.revision))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise KeystoreCorruptError(f"key registry {path} has a malformed pending intent") from exc


def read_unverified(where: Path | Documents) -> Records:
    """Read for display while sealed. MUST NOT be used to decide anything."""
    docs, name = locate(where, "keys.json", home_relative=_NAME)
    path = docs.where(name)
    return _records(path, _parse(path, docs.read(name)).keys)


class Registry:
    def __init__(
        self,
        where: Path | Documents,
        master_key: MasterKey,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(where, Path):
            private_dir(where)
        self._docs, self._name = locate(where, "keys.json", home_relative=_NAME)
        self._path = self._docs.where(self._name)
        self._mac_keys = {
            1: master_key.derive("sumun/registry-mac/v1"),
            _FORMAT: master_key.derive("sumun/registry-mac/v2"),
        }
        self._clock = clock
        self._seen = 0  # the highest revision read or written: never accepted lower again
        self._seen_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Registry {self._path} r{self._seen}>"

    @property
    def revision(self) -> int:
        """The highest revision this process has read or written (no I/O)."""
        return self._seen

    def _mac(self, body: _Body) -> str:
        key = self._mac_keys[body.format].buffer  # never copied into bytes (sumun.keys.secret)
        return hmac.new(key, body.signed(), sha256).hexdigest()

    def _see(self, revision: int) -> None:
        with self._seen_lock:
            self._seen = max(self._seen, revision)

    def stamp(self) -> object:
        """Changes whenever the registry does (cheap: a stat, or one indexed read)."""
        return self._docs.stamp(self._name)

    def load(self) -> Records:
        return self.snapshot().records

    def snapshot(self) -> Snapshot:
        return self._verify(self._docs.read(self._name))

    def require_at_least(self, revision: int | None) -> Snapshot:
        """Refuse a registry older than `revision` — the one the ledger's last key-event names
        (None: the ledger names none, as before revisions existed). Remembers it as seen."""
        snapshot = self.snapshot()
        if revision is not None and snapshot.revision < revision:
            raise KeystoreRollbackError(
                f"key registry {self._path} was rolled back: it is at revision "
                f"{snapshot.revision}, but the ledger's last key-event names revision {revision}"
            )
        self._see(snapshot.revision if revision is None else max(revision, snapshot.revision))
        return snapshot

    def _verify(self, raw: bytes | None) -> Snapshot:
        body = _parse(self._path, raw)
        if (body.keys or body.mac or body.revision or body.pending) and not hmac.compare_digest(
            body.mac, self._mac(body)
        ):
            raise KeystoreCorruptError(
                f"key registry {self._path} fails its integrity check (edited or damaged)"
            )
        if body.revision < self._seen:
            raise KeystoreRollbackError(
                f"key registry {self._path} was rolled back: it is at revision {body.revision}, "
                f"but revision {self._seen} was already in use here"
            )
        snapshot = Snapshot(
            body.revision, _records(self._path, body.keys), _intents(self._path, body.pending)
        )
        self._see(snapshot.revision)
        return snapshot

    def _encode(self, revision: int, records: Records, pending: tuple[Intent, ...]) -> bytes:
        keys = {key_id: rec.to_json() for key_id, rec in sorted(records.items())}
        body = _Body(_FORMAT, revision, keys, [i.to_json() for i in pending], "")
        out = {**body.content(), "mac": self._mac(body)}
        return json.dumps(out, indent=1, sort_keys=True).encode()

    def _write(
        self, change: Callable[[Records], Records], event: Callable[[Records], KeyEvent] | None
    ) -> tuple[Records, Intent | None]:
        result: Records = {}
        intent: Intent | None = None
        revision = 0

        def apply(old: bytes | None) -> bytes:
            nonlocal result, intent, revision
            current = self._verify(old)
            result = change(dict(current.records))
            revision = current.revision + 1
            pending = current.pending
            if event is not None:
                made = event(result)
                made = replace(made, detail={**made.detail, REVISION_DETAIL: str(revision)})
                intent = Intent(revision, made, _owner(), self._clock())
                pending = (*pending, intent)
            return self._encode(revision, result, pending)

        self._docs.update(self._name, apply)
        self._see(revision)
        return result, intent

    def update(self, change: Callable[[Records], Records]) -> Records:
        """Read-modify-write as one step; `change` returns the new records (or raises).

        For bookkeeping with no key-event of its own (a DEK wrap counted): a key change that
        the ledger must record MUST use `journal` instead."""
        return self._write(change, None)[0]

    def journal(
        self, change: Callable[[Records], Records], event: Callable[[Records], KeyEvent]
    ) -> tuple[Records, Intent]:
        """`update`, and in the same atomic write a pending intent to record `event(records)`
        (given the new records; the registry adds the revision). The caller MUST record the
        intent's event and then `clear` it; if it cannot, the next open does (`reconcile`)."""
        records, intent = self._write(change, event)
        if intent is None:  # pragma: no cover - `apply` always runs once
            raise KeystoreCorruptError(f"key registry {self._path}: the intent was not written")
        return records, intent

    def clear(self, revision: int) -> None:
        """Drop the pending intent of `revision`: its event is recorded. No-op if gone."""

        def apply(old: bytes | None) -> bytes | None:
            current = self._verify(old)
            pending = tuple(i for i in current.pending if i.revision != revision)
            if len(pending) == len(current.pending):
                return None  # already cleared (by a reconcile elsewhere): nothing to write
            written.append(current.revision + 1)
            return self._encode(current.revision + 1, current.records, pending)

        written: list[int] = []
        self._docs.update(self._name, apply)
        self._see(max(written, default=0))
