"""Key events go into the ledger: every key operation becomes a `key-event` entry.

Metadata only, all in the clear (who, what, which key and version, which backend): an auditor
reads the key history without any key. Strict durability: a key operation whose event could not
be recorded raises, so it is not reported as done.

The sink also reads back the last key-event (`last_event`): the key registry revision it names
is the freshness witness the key layer checks its registry against when it opens — kept in the
Merkle log, where restoring an older `keys.json` cannot reach it.
"""

from __future__ import annotations

from typing import Any

from sumun.errors import LedgerCorruptError
from sumun.keys.model import KeyAction, KeyEvent
from sumun.ledger.entry import EntryKind, EntryMeta, decode_entry, kind_marker
from sumun.ledger.service import Ledger
from sumun.ledger.store.base import LedgerStore

__all__ = ["LedgerEventSink", "last_key_event"]

_DETAIL = "detail."
_MARK = kind_marker(EntryKind.KEY_EVENT)  # a cheap filter; a match is decoded before it is believed
_FIRST_STEP, _MAX_STEP = 16, 4096


class LedgerEventSink:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def emit(self, event: KeyEvent) -> None:
        attrs = {"actor": event.actor, "action": event.action.value}
        if event.key_id is not None:
            attrs["key_id"] = event.key_id
        if event.version is not None:
            attrs["version"] = str(event.version)
        if event.backend is not None:
            attrs["backend"] = event.backend
        attrs.update({f"{_DETAIL}{k}": v for k, v in event.detail.items()})
        meta = EntryMeta(
            kind=EntryKind.KEY_EVENT,
            tenant=event.key_id or "sumun",
            time_ms=int(event.time * 1000),
            attrs=attrs,
        )
        self._ledger.append(meta, durability="strict")

    def last_event(self) -> KeyEvent | None:
        found = last_key_event(self._ledger.store)
        return None if found is None else _event_of(*found)


def _event_of(seq: int, entry: dict[str, Any]) -> KeyEvent:
    """The inverse of `LedgerEventSink.emit`."""
    attrs = entry.get("attrs") or {}
    try:
        version = attrs.get("version")
        return KeyEvent(
            time=int(entry["time_ms"]) / 1000,
            actor=str(attrs["actor"]),
            action=KeyAction(attrs["action"]),
            key_id=attrs.get("key_id"),
            version=None if version is None else int(version),
            backend=attrs.get("backend"),
            detail={k[len(_DETAIL) :]: str(v) for k, v in attrs.items() if k.startswith(_DETAIL)},
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise LedgerCorruptError(f"ledger entry {seq} is not a key-event Sumun wrote") from exc


def last_key_event(store: LedgerStore) -> tuple[int, dict[str, Any]] | None:
    """The last `key-event` entry (seq, decoded), or None if the log has none.

    Read backwards from the end in growing steps, so it costs the entries appended since that
    event: after a clean shutdown the seal's own key-event is the last entry; after a crash, the
    entries of the crashed run since its last key change."""
    end, step = store.size(), _FIRST_STEP
    while end > 0:
        start = max(0, end - step)
        found: tuple[int, dict[str, Any]] | None = None
        for stored in store.entries(start, end):
            if _MARK not in stored.entry:
                continue
            try:
                entry = decode_entry(stored.entry)
            except ValueError as exc:
                raise LedgerCorruptError(f"ledger entry {stored.seq} does not parse") from exc
            if entry.get("kind") == EntryKind.KEY_EVENT.value:
                found = (stored.seq, entry)
        if found is not None:
            return found
        end, step = start, min(step * 4, _MAX_STEP)
    return None
