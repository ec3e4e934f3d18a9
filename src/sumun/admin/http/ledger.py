"""The ledger's clear metadata: `GET /ledger/entries[/{seq}]`, `GET /ledger/search`; an
entry's inclusion proof against a signed checkpoint, `GET /ledger/entries/{seq}/proof`; and
the checkpoints' verifier keys, `GET /ledger/vkeys`.

Metadata only — who, which class, which provider, which rule, the payload's hash and length;
never a payload (reading one is a decryption, which needs a stated reason and is itself
recorded: a later operation). A tenant-scoped key sees the entries about its tenant: those
whose `tenant` is its own, and the admin changes made to it (`attrs.target_tenant`).

A proof carries the entry's bytes exactly as they are hashed into the tree (its canonical
metadata, which names the payload by hash only), so a verifier needs nothing else from the
server: leaf hash, audit path, then the checkpoint's signature under a key it trusts.

Search reads backwards from the newest entry (or `before`) through at most `scan` entries and
says which window it read (`scanned_from`, `complete`); a caller pages on with `before`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sumun.admin.http.auth import Caller
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, NoQuery, QueryModel
from sumun.admin.http.operation import Call, Operation
from sumun.errors import NotFoundError, UsageError
from sumun.ledger import merkle
from sumun.ledger.entry import decode_entry
from sumun.ledger.store.base import StoredEntry
from sumun.store.model import Permission

__all__ = ["OPERATIONS", "visible_entry"]

_CHUNK = 512


class PayloadRef(BaseModel):
    sha256: str
    len: int


class Entry(BaseModel):
    """An entry's canonical fields (docs/ledger-format.md); later versions may add more."""

    model_config = ConfigDict(extra="allow")

    v: int
    seq: int
    time_ms: int
    tenant: str
    kind: str
    decision: str | None
    rules: list[str]
    provider: str | None
    data_class: str | None
    tokens_in: int | None
    tokens_out: int | None
    latency_us: int | None
    request_id: str | None
    attrs: dict[str, str]
    payload: PayloadRef | None = Field(description="the encrypted payload's hash, not the payload")


class Row(BaseModel):
    seq: int
    entry: Entry | None = Field(description="null when the stored bytes do not parse")
    payload_state: Literal["none", "encrypted"]
    problem: str | None = None


class Page(BaseModel):
    entries: list[Row] = Field(description="oldest first")
    size: int = Field(description="the ledger's size now")
    next_before: int | None = Field(description="`before` for the next, older page; null at 0")


class Found(BaseModel):
    entries: list[Row] = Field(description="oldest first")
    size: int
    scanned_from: int = Field(description="the oldest seq read")
    scanned_to: int = Field(description="one past the newest seq read")
    complete: bool = Field(
        description="true: every entry before `scanned_to` was read; else page on with "
        "`before` = `scanned_from`"
    )


class Proof(BaseModel):
    """An inclusion proof (RFC 9162 §2.1.3) of one entry against a signed checkpoint."""

    seq: int = Field(description="the entry's index in the tree")
    leaf: str = Field(description="base64 of the entry's bytes, exactly as hashed as the leaf")
    leaf_hash: str = Field(description="hex SHA-256(0x00 ‖ leaf) (RFC 6962 §2.1)")
    tree_size: int = Field(description="the size of the checkpoint's tree")
    proof: list[str] = Field(description="the audit path, hex hashes, leaf to root")
    checkpoint: str = Field(
        description="the signed checkpoint (c2sp.org/tlog-checkpoint signed note) at tree_size"
    )


class VerifierKeys(BaseModel):
    vkeys: list[str] = Field(
        description="signed-note verifier keys `<name>+<key id>+<base64(type ‖ key)>`: 0x01 "
        "Ed25519, 0x02 ECDSA P-256; empty before the first checkpoint is signed"
    )


class TailQuery(QueryModel):
    count: int = Field(default=20, ge=1, le=1000)
    before: int | None = Field(default=None, ge=0, description="only entries with seq < before")


class SearchQuery(QueryModel):
    request_id: str | None = Field(default=None, min_length=1, max_length=128)
    tenant: str | None = Field(default=None, min_length=1, max_length=63)
    kind: str | None = Field(default=None, min_length=1, max_length=64)
    count: int = Field(default=100, ge=1, le=1000, description="at most this many matches")
    scan: int = Field(default=10_000, ge=1, le=100_000, description="read at most this many")
    before: int | None = Field(default=None, ge=0)


def _row(stored: StoredEntry) -> tuple[Row, dict[str, Any] | None]:
    state: Literal["none", "encrypted"] = "none" if stored.payload is None else "encrypted"
    try:
        obj = decode_entry(stored.entry)
    except ValueError:
        return Row(seq=stored.seq, entry=None, payload_state=state, problem="not canonical"), None
    return Row(seq=stored.seq, entry=Entry(**obj), payload_state=state), obj


def _visible(caller: Caller, obj: dict[str, Any] | None) -> bool:
    if caller.operator:
        return True
    if obj is None:
        return False
    tenant = caller.principal.tenant
    attrs = obj.get("attrs") or {}
    return obj.get("tenant") == tenant or attrs.get("target_tenant") == tenant


def _backwards(ctx: AdminContext, end: int, limit: int) -> Iterator[StoredEntry]:
    """Stored entries from seq end-1 down, at most `limit` of them."""
    low = max(0, end - limit)
    while end > low:
        start = max(low, end - _CHUNK)
        yield from reversed(list(ctx.ledger.store.entries(start, end)))
        end = start


def _end(ctx: AdminContext, before: int | None) -> tuple[int, int]:
    size = ctx.ledger.store.size()
    return size, size if before is None else min(before, size)


def tail(ctx: AdminContext, call: Call[TailQuery, NoBody]) -> Page:
    size, end = _end(ctx, call.query.before)
    rows: list[Row] = []
    oldest = end
    # A tenant-scoped caller may need to read past others' entries: bounded all the same.
    for stored in _backwards(ctx, end, 100 * call.query.count):
        oldest = stored.seq
        row, obj = _row(stored)
        if _visible(call.who, obj):
            rows.append(row)
            if len(rows) == call.query.count:
                break
    rows.reverse()
    return Page(entries=rows, size=size, next_before=oldest if oldest > 0 else None)


def visible_entry(ctx: AdminContext, call: Call[Any, Any]) -> tuple[StoredEntry, Row]:
    """The entry at the path's `seq` if the caller may see it; else 404, as for a missing one."""
    text = call.path["seq"]
    if not text.isdigit() or len(text) > 18:
        raise UsageError("seq must be a whole number")
    seq = int(text)
    if seq < ctx.ledger.store.size():
        for stored in ctx.ledger.store.entries(seq, seq + 1):
            row, obj = _row(stored)
            if _visible(call.who, obj):
                return stored, row
    raise NotFoundError(f"no ledger entry {seq}")


def get_entry(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Row:
    return visible_entry(ctx, call)[1]


def prove_entry(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Proof:
    """Against the latest signed checkpoint that covers the entry; when none does yet, the
    ledger signs one of the current tree first (which needs the keys unsealed: else 503)."""
    stored, _ = visible_entry(ctx, call)
    bundle = ctx.ledger.prove(stored.seq)  # checks the proof against the checkpoint's root
    return Proof(
        seq=bundle.seq,
        leaf=base64.b64encode(bundle.entry).decode("ascii"),
        leaf_hash=merkle.leaf_hash(bundle.entry).hex(),
        tree_size=bundle.tree_size,
        proof=[node.hex() for node in bundle.proof],
        checkpoint=bundle.checkpoint,
    )


def verifier_keys(ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> VerifierKeys:
    """Public keys: readable sealed or not. An auditor should also get them out of band."""
    return VerifierKeys(vkeys=list(ctx.ledger.vkeys()))


def _needle(name: str, value: str | None) -> bytes | None:
    """The exact bytes `"name":"value"` has in canonical entry bytes (ledger/entry.py)."""
    if value is None:
        return None
    return f'"{name}":{json.dumps(value, ensure_ascii=False)}'.encode()


def search(ctx: AdminContext, call: Call[SearchQuery, NoBody]) -> Found:
    q = call.query
    if q.request_id is None and q.tenant is None and q.kind is None:
        raise UsageError("give at least one of request_id, tenant, kind")
    needles = [
        n
        for n in (
            _needle("request_id", q.request_id),
            _needle("tenant", q.tenant),
            _needle("kind", q.kind),
        )
        if n is not None
    ]

    def wanted(obj: dict[str, Any]) -> bool:
        return (
            (q.request_id is None or obj.get("request_id") == q.request_id)
            and (q.tenant is None or obj.get("tenant") == q.tenant)
            and (q.kind is None or obj.get("kind") == q.kind)
            and _visible(call.who, obj)
        )

    size, end = _end(ctx, q.before)
    rows: list[Row] = []
    oldest = end
    for stored in _backwards(ctx, end, q.scan):
        oldest = stored.seq
        if not all(n in stored.entry for n in needles):
            continue  # cheap: most entries are skipped without parsing
        row, obj = _row(stored)
        if obj is not None and wanted(obj):
            rows.append(row)
            if len(rows) == q.count:
                break
    rows.reverse()
    return Found(entries=rows, size=size, scanned_from=oldest, scanned_to=end, complete=oldest == 0)


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/ledger/entries",
        "listLedgerEntries",
        "The latest ledger entries (metadata only); page back with `before`",
        "ledger",
        Permission.READ_CONTROL,
        TailQuery,
        NoBody,
        Page,
        tail,
    ),
    Operation(
        "GET",
        "/ledger/entries/{seq}",
        "getLedgerEntry",
        "One ledger entry by sequence number (metadata only)",
        "ledger",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        Row,
        get_entry,
    ),
    Operation(
        "GET",
        "/ledger/entries/{seq}/proof",
        "proveLedgerEntry",
        "An entry's inclusion proof against a signed checkpoint (entry bytes, no payload)",
        "ledger",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        Proof,
        prove_entry,
        description="Verify: leaf hash SHA-256(0x00 ‖ leaf), the audit path per RFC 9162 "
        "§2.1.3.2 to a root, then that root and `tree_size` against the checkpoint, whose "
        "signature is checked with a key from `/ledger/vkeys` (or one obtained out of band).",
    ),
    Operation(
        "GET",
        "/ledger/vkeys",
        "getLedgerVerifierKeys",
        "The verifier keys of the ledger's signed checkpoints",
        "ledger",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        VerifierKeys,
        verifier_keys,
    ),
    Operation(
        "GET",
        "/ledger/search",
        "searchLedger",
        "Ledger entries by request id, tenant or kind (metadata only), newest window first",
        "ledger",
        Permission.READ_CONTROL,
        SearchQuery,
        NoBody,
        Found,
        search,
    ),
)
