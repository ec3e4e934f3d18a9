"""Proofs over a store: inclusion, consistency and roots, in one query per proof.

A proof computation is run twice: once with a recording getter to learn which complete nodes
it reads (positions only, never hash values), then for real over one batched fetch. Complete
nodes never change once written, so every fetched node is cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sumun.ledger import merkle
from sumun.ledger.store.base import LedgerStore

__all__ = ["ProofReader"]

T = TypeVar("T")
_CACHE_MAX = 1 << 20  # ~50 MB of 32-byte hashes at most


class ProofReader:
    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._nodes: dict[tuple[int, int], bytes] = {}

    def __repr__(self) -> str:
        return f"<ProofReader {self._store.name} cached={len(self._nodes)}>"

    def forget(self) -> None:
        self._nodes.clear()

    def _fetch(self, ids: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._nodes]
        if missing:
            if len(self._nodes) + len(missing) > _CACHE_MAX:
                self._nodes.clear()
            for node_id, value in zip(missing, self._store.get_nodes(missing), strict=True):
                self._nodes[node_id] = value
        return {i: self._nodes[i] for i in ids}

    def _batched(self, compute: Callable[[merkle.NodeGetter], T]) -> T:
        wanted: list[tuple[int, int]] = []

        def record(level: int, index: int) -> bytes:
            wanted.append((level, index))
            return b"\x00" * 32

        compute(record)
        nodes = self._fetch(wanted)
        return compute(lambda level, index: nodes[(level, index)])

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self._batched(lambda get: merkle.inclusion_proof(seq, size, get))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self._batched(lambda get: merkle.consistency_proof(old, new, get))

    def root_at(self, size: int) -> bytes:
        return self._batched(lambda get: merkle.root_of(size, get))
