"""More of the ledger over the admin API: consistency proofs, the checkpoint history, and a payload
read with a stated reason (recorded).

    GET  /ledger/consistency?first=N&second=M    RFC 9162 §2.1.4 proof that the tree of size N
                                                 is a prefix of the signed tree of size M
    GET  /ledger/checkpoints?count=&before=      the signed checkpoints the ledger kept, newest
                                                 first
    POST /ledger/entries/{seq}/payload           decrypt one entry's payload, for a reason

A payload read (issue: "metadata always, payload only for permitted roles after a stated
reason"; "every decryption of a ledger payload is itself a ledger entry naming the actor and the
reason the person typed") runs in this order, so that no payload is ever decrypted unrecorded:

    1. the role table: `read-payload` (auditors only)                            403
    2. the reason: 10-500 characters once runs of white space are one space      400
    3. the entry, if the caller may see it (a tenant auditor: its tenant's)      404
    4. it has a payload                                                          409
    5. the keys are unsealed (a read that cannot happen is not recorded)         503
    6. an `admin-change` entry `payload-read` (seq, reason, actor), appended with
       strict durability                                                         503 if not
    7. only then the decryption; the answer is never cached (`no-store`)         422 if it fails
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from pydantic import BaseModel, Field, field_validator

from sumun.admin.http.audit import change_entry, record, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery, QueryModel
from sumun.admin.http.ledger import visible_entry
from sumun.admin.http.operation import Call, Operation
from sumun.errors import ConflictError, NotFoundError, SealedError, UsageError
from sumun.ledger import merkle
from sumun.ledger.entry import decode_entry
from sumun.ledger.service import payload_context
from sumun.ledger.store.base import StoredCheckpoint
from sumun.store.model import Permission

__all__ = ["MAX_REASON", "MIN_REASON", "OPERATIONS"]

MIN_REASON, MAX_REASON = 10, 500
_EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: the hash of the empty tree


# -- checkpoints ---------------------------------------------------------------------------------


class CheckpointRow(BaseModel):
    size: int = Field(description="the tree size it signs")
    root: str = Field(description="hex root hash of that tree")
    time_ms: int = Field(description="when it was signed (Unix ms)")
    note: str = Field(description="the signed note (c2sp.org/tlog-checkpoint), as published")


class Checkpoints(BaseModel):
    checkpoints: list[CheckpointRow] = Field(description="newest first")
    next_before: int | None = Field(
        description="`before` for the next, older page; null at the end"
    )


class CheckpointsQuery(QueryModel):
    count: int = Field(default=20, ge=1, le=1000)
    before: int | None = Field(default=None, ge=0, description="only checkpoints of size < before")


def _row(cp: StoredCheckpoint) -> CheckpointRow:
    return CheckpointRow(size=cp.size, root=cp.root.hex(), time_ms=cp.time_ms, note=cp.note)


def list_checkpoints(ctx: AdminContext, call: Call[CheckpointsQuery, NoBody]) -> Checkpoints:
    """The store streams checkpoints smallest first (in chunks); the newest `count + 1` below
    `before` are kept as it goes, so memory stays bounded however long the history."""
    q = call.query
    kept: list[StoredCheckpoint] = []
    for cp in ctx.ledger.store.checkpoints():
        if q.before is not None and cp.size >= q.before:
            break
        kept.append(cp)
        if len(kept) > q.count + 1:
            kept.pop(0)
    older = len(kept) > q.count
    page = list(reversed(kept[-q.count :]))
    return Checkpoints(
        checkpoints=[_row(cp) for cp in page],
        next_before=page[-1].size if older and page else None,
    )


# -- consistency ---------------------------------------------------------------------------------


class ConsistencyQuery(QueryModel):
    first: int | None = Field(
        default=None, ge=0, description="the older tree size; default: the checkpoint before"
    )
    second: int | None = Field(
        default=None, ge=0, description="a signed checkpoint's size; default: the latest"
    )


class Consistency(BaseModel):
    """A consistency proof (RFC 9162 §2.1.4) from the tree of size `first` to the signed tree
    of size `second`."""

    first: int
    second: int
    first_root: str = Field(
        description="hex root of the tree of size `first` as this server computes it: a "
        "verifier uses the root of its own, earlier copy of a checkpoint at `first`"
    )
    second_root: str = Field(description="hex root signed in `checkpoint`")
    proof: list[str] = Field(description="hex hashes (RFC 9162 §2.1.4.1)")
    checkpoint: str = Field(description="the signed checkpoint at `second`")
    first_checkpoint: str | None = Field(
        description="the signed checkpoint at `first`, when the ledger kept one"
    )


def _checkpoints_around(
    ctx: AdminContext, second: int | None
) -> tuple[StoredCheckpoint | None, StoredCheckpoint | None]:
    """The checkpoint at `second` (the latest when None) and the one just before it."""
    before: StoredCheckpoint | None = None
    previous: StoredCheckpoint | None = None
    for cp in ctx.ledger.store.checkpoints():
        if second is not None and cp.size > second:
            break
        previous, before = before, cp
    if before is None or (second is not None and before.size != second):
        return None, None
    return before, previous


def consistency(ctx: AdminContext, call: Call[ConsistencyQuery, NoBody]) -> Consistency:
    q = call.query
    if q.first is not None and q.second is not None and q.first > q.second:
        raise UsageError("query.first must not be larger than query.second")
    signed, previous = _checkpoints_around(ctx, q.second)
    if signed is None:
        if q.second is not None:
            raise NotFoundError(
                f"no signed checkpoint at tree size {q.second}; GET /admin/v1/ledger/checkpoints "
                "lists the sizes there are"
            )
        signed = ctx.ledger.checkpoint()  # none yet: sign the current tree (503 while sealed)
    first = q.first if q.first is not None else (previous.size if previous else 0)
    if first > signed.size:
        raise UsageError("query.first must not be larger than the checkpoint's size")
    at_first = previous if previous is not None and previous.size == first else None
    if at_first is None and first:
        at_first = next((cp for cp in ctx.ledger.store.checkpoints() if cp.size == first), None)
    first_root = ctx.ledger.proofs.root_at(first) if first else _EMPTY_ROOT
    proof = ctx.ledger.consistency_proof(first, signed.size) if 0 < first < signed.size else []
    # Never hand out a proof this server cannot verify itself (its store would be corrupt).
    merkle.verify_consistency(first, signed.size, first_root, signed.root, proof)
    return Consistency(
        first=first,
        second=signed.size,
        first_root=first_root.hex(),
        second_root=signed.root.hex(),
        proof=[node.hex() for node in proof],
        checkpoint=signed.note,
        first_checkpoint=at_first.note if at_first else None,
    )


# -- payload read --------------------------------------------------------------------------------


class ReadReason(BodyModel):
    reason: str = Field(
        min_length=1,
        max_length=4 * MAX_REASON,
        description=f"why you read it, {MIN_REASON}-{MAX_REASON} characters (recorded first)",
    )

    @field_validator("reason")
    @classmethod
    def _one_line(cls, value: str) -> str:
        text = " ".join(value.split())  # newlines, tabs, runs of spaces: one space each
        if not MIN_REASON <= len(text) <= MAX_REASON:
            raise ValueError(f"a reason is {MIN_REASON}-{MAX_REASON} characters")
        return text


class Payload(BaseModel):
    seq: int = Field(description="the entry whose payload this is")
    ledger_seq: int = Field(description="the `payload-read` entry that records this read")
    actor: str
    reason: str = Field(description="as recorded")
    length: int
    base64: str = Field(description="the payload's bytes")
    text: str | None = Field(description="the bytes as UTF-8 text; null when they are not")


def read_payload(ctx: AdminContext, call: Call[NoQuery, ReadReason]) -> Payload:
    caller, reason = call.who, call.body.reason  # Steps 1-2: the operation and its body model
    stored, row = visible_entry(ctx, call)  # Step 3
    if stored.payload is None or row.entry is None:  # Step 4
        raise ConflictError(f"ledger entry {stored.seq} has no payload: it is metadata only")
    if ctx.keys.sealed:  # Step 5
        raise SealedError("Sumun is sealed: no payload can be decrypted until it is unsealed")
    writable(ctx)  # Step 6
    attrs = {"seq": str(stored.seq), "reason": reason}
    entry = change_entry(caller, "payload-read", tenant=row.entry.tenant, attrs=attrs)
    seq = record(ctx, caller, entry)
    data = ctx.keys.decrypt(stored.payload, payload_context(decode_entry(stored.entry)))  # 7
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return Payload(
        seq=stored.seq,
        ledger_seq=seq,
        actor=caller.actor,
        reason=reason,
        length=len(data),
        base64=base64.b64encode(data).decode("ascii"),
        text=text,
    )


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/ledger/consistency",
        "getLedgerConsistency",
        "A consistency proof between two tree sizes, with the signed checkpoint at the second",
        "ledger",
        Permission.READ_CONTROL,
        ConsistencyQuery,
        NoBody,
        Consistency,
        consistency,
        description="Verify per RFC 9162 §2.1.4.2 with the roots of two checkpoints you hold "
        "(their signatures checked with a key from `/ledger/vkeys`): the later tree extends the "
        "earlier one, so nothing recorded was changed or removed. 404 when no checkpoint was "
        "signed at `second`. Without `second`, the latest checkpoint (one is signed if there is "
        "none yet: 503 while sealed); without `first`, the checkpoint before it.",
    ),
    Operation(
        "GET",
        "/ledger/checkpoints",
        "listLedgerCheckpoints",
        "The signed checkpoints the ledger kept, newest first; page back with `before`",
        "ledger",
        Permission.READ_CONTROL,
        CheckpointsQuery,
        NoBody,
        Checkpoints,
        list_checkpoints,
    ),
    Operation(
        "POST",
        "/ledger/entries/{seq}/payload",
        "readLedgerPayload",
        "Decrypt one entry's payload for a stated reason; the read is recorded first",
        "ledger",
        Permission.READ_PAYLOAD,
        NoQuery,
        ReadReason,
        Payload,
        read_payload,
        description="Auditors only. The `payload-read` admin-change entry (seq, reason, actor) "
        "is appended with strict durability before anything is decrypted; if it cannot be, "
        "503 and nothing is decrypted. 404 for an entry the key may not see, 409 for an entry "
        "without a payload, 503 while sealed. Never cached.",
    ),
)
