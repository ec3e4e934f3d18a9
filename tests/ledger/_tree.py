"""An in-memory ledger tree for tests: entries, every complete node (as a store keeps them), and
signed checkpoints — built with `Frontier`, like the real stores."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sumun.ledger.merkle import Frontier, leaf_hash, root_of
from sumun.ledger.note import Checkpoint, Signer, sign_note


@dataclass(frozen=True, slots=True)
class Item:
    seq: int
    entry: bytes


@dataclass
class MemoryTree:
    frontier: Frontier = field(default_factory=Frontier)
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    items: list[bytes] = field(default_factory=list)

    @classmethod
    def of(cls, count: int, start: int = 0) -> MemoryTree:
        tree = cls()
        for i in range(start, start + count):
            tree.append(f'{{"seq":{i},"v":1}}'.encode())
        return tree

    def append(self, entry: bytes) -> None:
        for level, index, node in self.frontier.append(leaf_hash(entry)):
            self.nodes[(level, index)] = node
        self.items.append(entry)

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def get_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        return [self.nodes[i] for i in ids]

    def entries(self, start: int, end: int) -> Iterator[Item]:
        for seq in range(start, min(end, len(self.items))):
            yield Item(seq, self.items[seq])

    def root(self, size: int) -> bytes:
        return root_of(size, self.get)

    def checkpoint(self, origin: str, size: int, signers: Sequence[Signer]) -> str:
        return sign_note(Checkpoint(origin, size, self.root(size)).to_body(), signers)
