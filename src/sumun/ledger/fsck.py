"""`sumun ledger verify`: re-derive every hash and the root from the stored entries.

Steps, in one streaming pass over the store (bounded memory at any size):

1. Entries are contiguous: the row at position i exists and carries `"seq": i` (a deleted or
   reordered entry is caught here, with its sequence number).
2. Each entry is a version-1 canonical entry; its payload, if any, hashes to the committed
   `payload.sha256` (a swapped or edited ciphertext is caught here).
3. The leaf hash RFC 6962 `SHA-256(0x00 ‖ entry)` and every complete node built on it
   (`Frontier.append`) equal the stored nodes (a flipped bit in an entry or a node is caught
   here: at level 0 it names the entry exactly).
4. At each signed checkpoint's size the recomputed root equals the checkpoint's root, and the
   checkpoint's signature verifies with the ledger's verifier keys (catches a consistent rewrite
   of entries *and* nodes, and forged checkpoints).
5. The final recomputed root equals the stored tree root and the size equals the stored size.

Crypto-shredded payloads still pass: the check is on ciphertext hashes, never on plaintext.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sumun.errors import LedgerCorruptError, LedgerIntegrityError
from sumun.ledger import merkle
from sumun.ledger.note import Verifier, verify_checkpoint
from sumun.ledger.store.base import LedgerStore, StoredCheckpoint

__all__ = ["FsckReport", "fsck"]

_NODE_BATCH = 8192


@dataclass(frozen=True, slots=True)
class FsckReport:
    size: int
    root: bytes
    checkpoints: int
    payloads: int
    seconds: float


def _check_entry(seq: int, raw: bytes, payload: bytes | None) -> None:
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise LedgerIntegrityError(f"entry {seq} is not valid JSON", seq=seq) from exc
    if not isinstance(obj, dict) or obj.get("v") != 1:
        raise LedgerIntegrityError(f"entry {seq} is not a version-1 ledger entry", seq=seq)
    if obj.get("seq") != seq:
        raise LedgerIntegrityError(
            f"entry stored at {seq} says seq {obj.get('seq')}: entries were reordered", seq=seq
        )
    committed = obj.get("payload")
    if committed is None:
        if payload is not None:
            raise LedgerIntegrityError(f"entry {seq} has a payload it does not commit to", seq=seq)
        return
    if payload is None:
        raise LedgerIntegrityError(f"entry {seq}'s payload is missing", seq=seq)
    if hashlib.sha256(payload).hexdigest() != committed.get("sha256"):
        raise LedgerIntegrityError(f"entry {seq}'s payload does not match its hash", seq=seq)


class _NodeChecker:
    """Compares recomputed complete nodes with the stored ones, in batches."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._pending: list[tuple[int, int, bytes]] = []

    def add(self, created: Sequence[tuple[int, int, bytes]]) -> None:
        self._pending.extend(created)
        if len(self._pending) >= _NODE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            stored = self._store.get_nodes([(lv, ix) for lv, ix, _h in pending])
        except LedgerCorruptError as exc:
            first = min(ix << lv for lv, ix, _h in pending)
            raise LedgerIntegrityError(f"stored tree nodes are missing ({exc})", seq=first) from exc
        # A bad leaf makes every node above it mismatch too: the lowest level names the culprit.
        bad = [
            (lv, ix << lv, ix)
            for (lv, ix, want), got in zip(pending, stored, strict=True)
            if want != got
        ]
        if bad:
            level, seq, index = min(bad)
            what = f"entry {seq} does not match its stored leaf hash"
            if level:
                what = f"stored node (level {level}, index {index}) over entry {seq} is wrong"
            raise LedgerIntegrityError(what, seq=seq)


def _check_checkpoint(
    checkpoint: StoredCheckpoint, root: bytes, verifiers: Sequence[Verifier], origin: str | None
) -> None:
    if root != checkpoint.root:
        raise LedgerIntegrityError(
            f"the entries do not produce the root signed at size {checkpoint.size}",
            seq=checkpoint.size - 1,
        )
    try:
        signed = verify_checkpoint(checkpoint.note, verifiers, origin=origin)
    except merkle.VerificationError as exc:
        raise LedgerIntegrityError(
            f"checkpoint at size {checkpoint.size} does not verify: {exc}",
            seq=checkpoint.size - 1,
        ) from exc
    if signed.size != checkpoint.size or signed.root != checkpoint.root:
        raise LedgerIntegrityError(
            f"checkpoint at size {checkpoint.size}: the signed note says something else",
            seq=checkpoint.size - 1,
        )


def fsck(
    store: LedgerStore,
    verifiers: Sequence[Verifier],
    *,
    origin: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FsckReport:
    """Verify the whole store. Raises LedgerIntegrityError naming the first bad seq."""
    started = time.monotonic()
    size, stored_root = store.head()  # one read: a live store may append in between
    checkpoints = sorted(store.checkpoints(), key=lambda c: c.size)
    if checkpoints and not verifiers:
        raise LedgerIntegrityError("checkpoints exist but no verifier key was given")
    if checkpoints and checkpoints[-1].size > size:
        raise LedgerIntegrityError(
            f"a checkpoint covers {checkpoints[-1].size} entries but only {size} are stored: "
            "entries were removed",
            seq=size,
        )
    pending_cps = iter(checkpoints)
    next_cp = next(pending_cps, None)
    while next_cp is not None and next_cp.size == 0:
        _check_checkpoint(next_cp, merkle.EMPTY_ROOT, verifiers, origin)
        next_cp = next(pending_cps, None)
    frontier = merkle.Frontier()
    nodes = _NodeChecker(store)
    payloads = 0
    leaf_hash = merkle.leaf_hash
    expected = 0
    try:
        for stored in store.entries(0, size):
            if stored.seq != expected:
                raise LedgerIntegrityError(
                    f"entry {expected} is missing (next stored is {stored.seq})", seq=expected
                )
            _check_entry(stored.seq, stored.entry, stored.payload)
            payloads += stored.payload is not None
            nodes.add(frontier.append(leaf_hash(stored.entry)))
            expected += 1
            while next_cp is not None and next_cp.size == expected:
                nodes.flush()
                _check_checkpoint(next_cp, frontier.root(), verifiers, origin)
                next_cp = next(pending_cps, None)
            if progress is not None and expected % 65536 == 0:
                progress(expected, size)
    except LedgerCorruptError as exc:
        # The store stops at the first row it cannot serve: that is the first bad entry.
        raise LedgerIntegrityError(f"entry {expected}: {exc}", seq=expected) from exc
    nodes.flush()
    if expected != size:
        raise LedgerIntegrityError(
            f"the tree has {size} entries but only {expected} are stored", seq=expected
        )
    if frontier.root() != stored_root:
        raise LedgerIntegrityError("the stored tree root does not match the entries")
    if progress is not None:
        progress(size, size)
    return FsckReport(size, stored_root, len(checkpoints), payloads, time.monotonic() - started)
