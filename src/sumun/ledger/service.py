"""The ledger: append (payloads encrypted by the key layer), checkpoint, prove, tail, export.

    Ledger.append(meta, payload)  → payload sealed under the tenant's (or subject's) DEK,
                                    entry sequenced by the group-commit writer, Receipt
    Ledger.checkpoint()           → a signed C2SP checkpoint, never inconsistent with the last
    Ledger.prove(seq)             → inclusion proof against a signed checkpoint
    Ledger.tail(n, decrypt=True)  → the latest entries, payloads decrypted (needs the keys)

Entries and proofs need no keys; payloads and signatures do. A payload's envelope is bound to
(tenant, request id, "ledger/<kind>"), all of which are in the entry's clear metadata.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sumun.config import LedgerConfig
from sumun.errors import (
    LedgerIntegrityError,
    LedgerUnavailableError,
    SealedError,
    SumunError,
    UsageError,
)
from sumun.keys.envelope import Context
from sumun.keys.service import KeyService
from sumun.ledger import merkle, signing
from sumun.ledger.entry import EntryDraft, EntryMeta, decode_entry, kind_marker
from sumun.ledger.note import Checkpoint, sign_note
from sumun.ledger.outage import Recovery, SpoolStats
from sumun.ledger.proofs import ProofReader
from sumun.ledger.sequencer import Durability, Receipt, Sequencer
from sumun.ledger.spool import Spool
from sumun.ledger.store.base import LedgerStore, StoredCheckpoint, StoredEntry
from sumun.ledger.wakeup import LoopWaker

__all__ = ["InclusionBundle", "Ledger", "TailRow", "payload_context"]

log = logging.getLogger("sumun.ledger")


def payload_context(meta: EntryMeta | dict[str, Any]) -> Context:
    """The envelope context of an entry's payload, derived from its clear metadata."""
    if isinstance(meta, EntryMeta):
        tenant, request_id, kind = meta.tenant, meta.request_id, meta.kind.value
    else:
        tenant, request_id, kind = meta["tenant"], meta["request_id"], meta["kind"]
    return Context(str(tenant), str(request_id), f"ledger/{kind}")


@dataclass(frozen=True, slots=True)
class InclusionBundle:
    seq: int
    entry: bytes
    tree_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_b64": base64.b64encode(self.entry).decode(),
            "leaf_hash": merkle.leaf_hash(self.entry).hex(),
            "tree_size": self.tree_size,
            "proof": [p.hex() for p in self.proof],
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True)
class TailRow:
    seq: int
    entry: dict[str, Any]
    payload: bytes | None
    payload_state: str  # "none" | "decrypted" | "encrypted" | "unreadable: …"


class Ledger:
    def __init__(
        self,
        store: LedgerStore,
        config: LedgerConfig,
        *,
        home: Path,
        origin: str | Callable[[], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self._origin = origin
        self._home = home
        self._clock = clock
        self._keys: KeyService | None = None
        self._signing: signing.SigningKeys | None = None
        self._checkpoint_lock = threading.Lock()
        # One waker per event loop that appends (the gateway's, the XKS proxy's: the same one).
        self._wakers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopWaker] = (
            weakref.WeakKeyDictionary()
        )
        self.proofs = ProofReader(store)
        self._recovery = Recovery(
            store,
            Spool(home / "spool", max_bytes=config.spool_max_bytes),
            batch_max=config.batch_max,
            retry_seconds=config.retry_seconds,
            ready_depth=config.spool_ready_entries,
            clock=clock,
        )
        self._sequencer = Sequencer(
            store,
            batch_max=config.batch_max,
            batch_delay_ms=config.batch_delay_ms,
            fallback=self._recovery,
        )

    def __repr__(self) -> str:
        return f"<Ledger {self.store.name}>"

    @property
    def origin(self) -> str:
        """The checkpoint origin line (resolved late: a new deployment learns it at init)."""
        if callable(self._origin):
            self._origin = self._origin()
        return self._origin

    def bind_keys(self, keys: KeyService) -> None:
        """The key layer seals payloads and holds the signing keys; sealing it makes the ledger
        drop its signing keys (no checkpoint is signed while sealed)."""
        self._keys = keys
        keys.on_seal(self._forget_signing_keys)

    def _forget_signing_keys(self) -> None:
        self._signing = None  # the private keys' OpenSSL objects are cleansed as they are freed

    @property
    def holds_signing_keys(self) -> bool:
        return self._signing is not None

    def _require_keys(self) -> KeyService:
        if self._keys is None or self._keys.sealed:
            raise SealedError("the ledger needs unsealed keys for payloads and signatures")
        return self._keys

    # -- append ----------------------------------------------------------------------------

    def append(
        self,
        meta: EntryMeta,
        payload: bytes | None = None,
        *,
        key_id: str | None = None,
        subject: str | None = None,
        durability: Durability | None = None,
    ) -> Receipt:
        """Record one entry. In strict mode returns once durable; raises if it cannot record."""
        mode = durability or self.config.durability
        draft = self._seal(meta, payload, key_id, subject)
        return self._sequencer.append(draft, mode, timeout=self.config.timeout_seconds)

    def _seal(
        self, meta: EntryMeta, payload: bytes | None, key_id: str | None, subject: str | None
    ) -> EntryDraft:
        if payload is None:
            return EntryDraft(meta, None)
        if meta.request_id is None:
            meta = replace(meta, request_id=uuid.uuid4().hex)
        keys = self._require_keys()
        sealed = keys.encrypt(
            key_id or meta.tenant, payload, payload_context(meta), subject=subject
        )
        return EntryDraft(meta, sealed)

    async def append_async(
        self,
        meta: EntryMeta,
        payload: bytes | None = None,
        *,
        key_id: str | None = None,
        subject: str | None = None,
    ) -> int:
        """Strict append for asyncio callers: awaits durability without blocking the loop."""
        draft = self._seal(meta, payload, key_id, subject)
        loop = asyncio.get_running_loop()
        waker = self._wakers.get(loop)
        if waker is None:
            waker = self._wakers[loop] = LoopWaker(loop)
        durable: asyncio.Future[None] = loop.create_future()
        # One loop wake-up per committed batch, not per entry (sumun.ledger.wakeup).
        receipt = self._sequencer.submit(draft, "strict", on_done=lambda: waker.resolve(durable))
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                await durable
        except TimeoutError as exc:
            raise LedgerUnavailableError(
                f"ledger commit did not finish within {self.config.timeout_seconds} s"
            ) from exc
        return receipt.wait(0)

    def submit(
        self,
        meta: EntryMeta,
        payload: bytes | None = None,
        *,
        key_id: str | None = None,
    ) -> Receipt:
        """Queue an entry without waiting (durable within the batch delay). Never blocks.

        The payload is sealed before this returns, so the keys may be sealed right after. If the
        store cannot take the entry it is spooled and appended when it can (sumun.ledger.outage).
        """
        return self._sequencer.submit(self._seal(meta, payload, key_id, None), "batched")

    def flush(self) -> None:
        """Wait until everything queued so far is committed, spooled or (counted) lost."""
        self._sequencer.flush()

    def append_problem(self) -> str | None:
        """Why this ledger cannot record now (store failing, spool unwritable or too deep)."""
        return self._recovery.problem()

    def spool_stats(self) -> SpoolStats:
        return self._recovery.stats()

    # -- proofs ----------------------------------------------------------------------------

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self.proofs.inclusion_proof(seq, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self.proofs.consistency_proof(old, new)

    # -- checkpoints -----------------------------------------------------------------------

    def signing_keys(self) -> signing.SigningKeys:
        keys = self._require_keys()  # never a cached key while sealed
        found = self._signing
        if found is None:
            found = signing.load_or_create(keys.documents, keys, self.origin)
            self._signing = found
            if keys.sealed:  # sealed while loading: the seal's forget ran before we stored
                self._signing = None
                raise SealedError("the ledger needs unsealed keys for payloads and signatures")
        return found

    def vkeys(self) -> tuple[str, ...]:
        keys = self._keys
        return signing.public_vkeys(self._home if keys is None else keys.documents)

    def checkpoint(self, signing_keys: signing.SigningKeys | None = None) -> StoredCheckpoint:
        """Sign the current tree. Never signs a tree inconsistent with the last checkpoint.

        `signing_keys`: keys the caller loaded while unsealed (the shutdown path signs the seal's
        own entry with them); by default the ledger's, which a seal drops."""
        keys = self.signing_keys() if signing_keys is None else signing_keys
        with self._checkpoint_lock:
            size, root = self.store.head()  # one read: size and root of the same tree
            latest = self.store.latest_checkpoint()
            if latest is not None:
                if latest.size == size and latest.root == root:
                    return latest
                try:
                    proof = self.consistency_proof(latest.size, size) if latest.size else []
                    merkle.verify_consistency(latest.size, size, latest.root, root, proof)
                except (merkle.VerificationError, ValueError) as exc:
                    raise LedgerIntegrityError(
                        f"refusing to sign: the log of size {size} is not an extension of the "
                        f"checkpoint at size {latest.size} ({exc})",
                        seq=latest.size - 1 if latest.size else None,
                    ) from exc
            body = Checkpoint(origin=self.origin, size=size, root=root).to_body()
            note = sign_note(body, keys.signers)
            stored = StoredCheckpoint(size, root, note, int(self._clock() * 1000))
            self.store.save_checkpoint(stored)
            return stored

    def prove(self, seq: int) -> InclusionBundle:
        """An inclusion proof for `seq` against the latest signed checkpoint covering it."""
        latest = self.store.latest_checkpoint()
        if latest is None or latest.size <= seq:
            if seq >= self.store.size():
                raise UsageError(f"no entry {seq}: the ledger has {self.store.size()} entries")
            latest = self.checkpoint()
        entry = next(iter(self.store.entries(seq, seq + 1)))
        proof = self.inclusion_proof(seq, latest.size)
        merkle.verify_inclusion(merkle.leaf_hash(entry.entry), seq, latest.size, proof, latest.root)
        return InclusionBundle(seq, entry.entry, latest.size, tuple(proof), latest.note)

    # -- reading ---------------------------------------------------------------------------

    def tail(
        self, count: int, *, decrypt: bool = False, kind: str | None = None, scan: int = 100_000
    ) -> list[TailRow]:
        """The latest `count` entries, oldest first — of one `kind` only when given, looking
        back through at most `scan` entries for them."""
        size = self.store.size()
        rows = []
        for stored in self._latest(size, count, kind, scan):
            obj = decode_entry(stored.entry)
            state, data = "none", None
            if stored.payload is not None:
                state = "encrypted"
                if decrypt:
                    try:
                        data = self._require_keys().decrypt(stored.payload, payload_context(obj))
                        state = "decrypted"
                    except SealedError:
                        raise
                    except SumunError as exc:
                        state = f"unreadable: {exc}"
            rows.append(TailRow(stored.seq, obj, data, state))
        return rows

    def _latest(self, size: int, count: int, kind: str | None, scan: int) -> list[StoredEntry]:
        if kind is None:
            return list(self.store.entries(max(0, size - count), size))
        needle = kind_marker(kind)
        found: list[StoredEntry] = []
        end, floor = size, max(0, size - scan)
        while end > floor and len(found) < count:
            start = max(floor, end - 1024)
            window = [e for e in self.store.entries(start, end) if needle in e.entry]
            found[:0] = [e for e in window if decode_entry(e.entry).get("kind") == kind]
            end = start
        return found[-count:]

    def close(self) -> None:
        self._sequencer.close()
        depth = self._recovery.stats().depth
        if depth:
            log.warning("%d ledger entries stay in the spool until the store takes them", depth)
        self.store.close()
