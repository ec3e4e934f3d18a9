"""Streaming a gap-free run of rows in chunks — the read loops both stores share."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sumun.errors import LedgerCorruptError
from sumun.ledger.store.base import StoredEntry

__all__ = ["contiguous", "stream_entries", "stream_leaves"]


def contiguous(
    fetch: Callable[[int], Sequence[Sequence[Any]]], start: int, end: int, chunk: int
) -> Iterator[Sequence[Any]]:
    """Yield rows whose first column is start, start+1, …, stopping at `end` or the first gap.

    `fetch(seq)` returns up to `chunk` rows with first column >= seq, in order. The caller
    learns where the run stopped from the last row it saw (and decides whether that is damage).
    """
    seq = start
    while seq < end:
        rows = fetch(seq)
        for row in rows:
            if row[0] != seq:
                return
            yield row
            seq += 1
        if len(rows) < chunk:
            return


Fetch = Callable[[int], Sequence[Sequence[Any]]]


def stream_entries(
    fetch: Fetch, start: int, end: int, *, expected: int, chunk: int, advice: str
) -> Iterator[StoredEntry]:
    """Entries start..end from (seq, entry, payload) rows; a gap below `expected` is damage."""
    seq = start
    for got, entry, payload in contiguous(fetch, start, end, chunk):
        if not isinstance(entry, bytes) or not isinstance(payload, bytes | None):
            raise LedgerCorruptError(f"entry {got} is not stored as bytes")
        yield StoredEntry(got, entry, payload)
        seq = got + 1
    if seq < expected:
        raise LedgerCorruptError(f"entry {seq} is missing", advice=advice)


def stream_leaves(
    fetch: Fetch, start: int, end: int, *, expected: int, chunk: int, advice: str
) -> Iterator[tuple[int, bytes]]:
    """Leaf hashes start..end from (id, hash) level-0 node rows (their ids are the seqs)."""
    seq = start
    for got, value in contiguous(fetch, start, end, chunk):
        if not isinstance(value, bytes) or len(value) != 32:
            raise LedgerCorruptError(
                f"the leaf hash of entry {got} is not a 32-byte hash", advice=advice
            )
        yield got, value
        seq = got + 1
    if seq < expected:
        raise LedgerCorruptError(f"the leaf hash of entry {seq} is missing")
