"""Streaming a gap-free run of rows in chunks — the one read loop both stores share."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["contiguous"]


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
