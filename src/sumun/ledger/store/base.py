"""The one interface every ledger store implements (SQLite, PostgreSQL).

A store owns durability and sequencing: `append_batch` assigns consecutive sequence numbers to
a batch of drafts and makes entries, payloads, new Merkle nodes and the tree state durable in
ONE atomic commit — so a crash shows either the whole batch or none of it, never a half-written
entry. Concurrent appenders (threads, processes, nodes) are serialized by the store (SQLite's
write lock, PostgreSQL's advisory lock): there is exactly one sequencer at a time.

Errors: a store that cannot write (disk full, database gone, permission) raises
`LedgerUnavailableError`; data that fails to parse raises `LedgerCorruptError`. Nothing fails
silently — the gateway fails closed on either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sumun.ledger.entry import EntryDraft

__all__ = ["AppendResult", "LedgerStore", "StoredCheckpoint", "StoredEntry", "check_store"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    first_seq: int  # seq of drafts[0]; drafts[i] got first_seq + i
    size: int  # tree size after the batch
    root: bytes  # tree root after the batch


@dataclass(frozen=True, slots=True)
class StoredEntry:
    seq: int
    entry: bytes  # canonical entry bytes (the leaf's preimage)
    payload: bytes | None  # the encrypted payload envelope, if any


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str  # the signed note text, exactly as published
    time_ms: int


@runtime_checkable
class LedgerStore(Protocol):
    @property
    def name(self) -> str:
        """ "sqlite" or "postgres"."""
        ...

    def append_batch(self, drafts: Sequence[EntryDraft]) -> AppendResult:
        """Sequence and durably commit all drafts atomically (see module docstring)."""
        ...

    def size(self) -> int:
        """Committed tree size (re-read from the store: other processes may append)."""
        ...

    def root(self) -> bytes:
        """Root of the committed tree at `size()`."""
        ...

    def head(self) -> tuple[int, bytes]:
        """(size, root) of the committed tree, read together: an append committed between two
        separate reads cannot pair one tree's size with another's root."""
        ...

    def get_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        """Hashes of complete subtrees `(level, index)`, in the order asked.

        LedgerCorruptError if one is missing.
        """
        ...

    def entries(self, start: int, end: int) -> Iterator[StoredEntry]:
        """Entries with start <= seq < end, in sequence order (streams; bounded memory)."""
        ...

    def leaf_hashes(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Stored level-0 hashes (seq, hash) for start <= seq < end, in order."""
        ...

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Persist a signed checkpoint. MUST refuse one smaller than the latest saved."""
        ...

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        """Every saved checkpoint, smallest size first."""
        ...

    def close(self) -> None: ...


def check_store(obj: object) -> LedgerStore:
    if not isinstance(obj, LedgerStore):
        raise TypeError(f"ledger store {type(obj).__name__} does not implement LedgerStore")
    return obj
