"""Ledger entries: clear metadata + the hash of the encrypted payload, in canonical bytes.

Canonical encoding (docs/ledger-format.md): UTF-8 JSON, object keys sorted, no whitespace
(`separators=(",", ":")`), non-ASCII kept as UTF-8 (not \\u-escaped), integers only (times in
milliseconds, latency in microseconds), absent values as `null`. Every field is always present,
so one entry has exactly one encoding and anyone can re-derive its leaf hash:

    {"attrs":{…},"data_class":"S","decision":"allow","kind":"request-admitted",
     "latency_us":null,"payload":{"len":312,"sha256":"…"},"provider":"openai",
     "request_id":"…","rules":["pii.rrn.mask"],"seq":41,"tenant":"acme",
     "time_ms":1795671570341,"tokens_in":null,"tokens_out":null,"v":1}

The payload itself (prompt, response, details) is an envelope from the key layer, stored beside
the tree; the entry commits to it by SHA-256. Crypto-shredding the payload's key makes it
unreadable, and the hash — hence every proof — stays valid.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ENTRY_VERSION",
    "EntryDraft",
    "EntryKind",
    "EntryMeta",
    "decode_entry",
    "entry_identity",
    "kind_marker",
]

ENTRY_VERSION = 1


class EntryKind(enum.Enum):
    REQUEST_ADMITTED = "request-admitted"
    REQUEST_COMPLETED = "request-completed"
    # An authenticated caller refused before admission (limits, revoked tenant key, …);
    # identical refusals in a burst share one entry (attrs["count"]), see gateway/refusals.py.
    REQUEST_REFUSED = "request-refused"
    KEY_EVENT = "key-event"
    ADMIN_CHANGE = "admin-change"
    OVERSIGHT_REVIEW = "oversight-review"  # AI Basic Act art. 34(4): a person reviews an entry
    # The store took appends again after failing: what was refused, spooled, replayed and lost
    # meanwhile (sumun.ledger.outage).
    LEDGER_RECOVERY = "ledger-recovery"
    # One AWS KMS External Key Store call (sumun.xks): AWS's request metadata and the outcome.
    XKS = "xks"


@dataclass(frozen=True, slots=True)
class EntryMeta:
    """What an auditor may read without any key: who, what class, which provider, which rule."""

    kind: EntryKind
    tenant: str
    time_ms: int
    decision: str | None = None
    rules: tuple[str, ...] = ()
    provider: str | None = None
    data_class: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_us: int | None = None
    request_id: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)

    def to_json(self, seq: int, payload: bytes | None) -> dict[str, Any]:
        return {
            "v": ENTRY_VERSION,
            "seq": seq,
            "time_ms": self.time_ms,
            "tenant": self.tenant,
            "kind": self.kind.value,
            "decision": self.decision,
            "rules": list(self.rules),
            "provider": self.provider,
            "data_class": self.data_class,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_us": self.latency_us,
            "request_id": self.request_id,
            "attrs": dict(self.attrs),
            "payload": None
            if payload is None
            else {"sha256": hashlib.sha256(payload).hexdigest(), "len": len(payload)},
        }


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry before sequencing: the sequencer assigns `seq` inside the store's commit."""

    meta: EntryMeta
    payload: bytes | None = None  # an envelope (already encrypted), or None

    def finalize(self, seq: int) -> bytes:
        return _canonical(self.meta.to_json(seq, self.payload))

    def identity(self) -> bytes:
        """What this entry will be whatever seq it gets: see `entry_identity`."""
        return _identity(self.meta.to_json(0, self.payload))


def kind_marker(kind: EntryKind | str) -> bytes:
    """The bytes every canonical entry of `kind` contains (`"kind":"…"`, no spaces): a cheap
    `in` test that skips other entries unparsed. A match is decoded before it is believed (an
    attribute value could hold the same bytes)."""
    value = kind.value if isinstance(kind, EntryKind) else kind
    return b'"kind":' + json.dumps(value, ensure_ascii=False).encode()


def decode_entry(raw: bytes) -> dict[str, Any]:
    """Parse entry bytes; ValueError unless they are exactly the canonical encoding."""
    obj = json.loads(raw)
    if not isinstance(obj, dict) or obj.get("v") != ENTRY_VERSION:
        raise ValueError("not a version-1 Sumun ledger entry")
    if _canonical(obj) != raw:
        raise ValueError("entry bytes are not in canonical form")
    return obj


def _identity(obj: dict[str, Any]) -> bytes:
    return hashlib.sha256(_canonical({k: v for k, v in obj.items() if k != "seq"})).digest()


def entry_identity(raw: bytes) -> bytes:
    """SHA-256 of an entry's canonical bytes without its `seq`: equal to `draft.identity()` for
    the draft it was made from, so a replay can tell an entry already recorded (ledger.spool)."""
    return _identity(json.loads(raw))
