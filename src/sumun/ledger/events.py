"""Key events go into the ledger: every key operation becomes a `key-event` entry.

Metadata only, all in the clear (who, what, which key and version, which backend): an auditor
reads the key history without any key. Strict durability: a key operation whose event could not
be recorded raises, so it is not reported as done.
"""

from __future__ import annotations

from sumun.keys.model import KeyEvent
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.ledger.service import Ledger

__all__ = ["LedgerEventSink"]


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
        attrs.update({f"detail.{k}": v for k, v in event.detail.items()})
        meta = EntryMeta(
            kind=EntryKind.KEY_EVENT,
            tenant=event.key_id or "sumun",
            time_ms=int(event.time * 1000),
            attrs=attrs,
        )
        self._ledger.append(meta, durability="strict")
