"""RFC 6962 / RFC 9162 Merkle tree hashing, incremental appends, proofs and their verification.

    leaf hash  = SHA-256(0x00 ‖ entry)
    node hash  = SHA-256(0x01 ‖ left ‖ right)
    empty tree = SHA-256("")

Node addressing: `(level, index)` names the *complete* subtree of 2^level leaves covering
[index·2^level, (index+1)·2^level). Stores persist every complete node as it comes into
being (`Frontier.append` yields them), so any proof is a handful of lookups; nodes on a tree's
ragged right edge are not complete and are recomputed from complete ones (`subtree_hash`).

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step
and raises `VerificationError`; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "NodeGetter",
    "VerificationError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_of",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256

NodeGetter = Callable[[int, int], bytes]
"""get(level, index) -> hash of that complete subtree."""


class VerificationError(Exception):
    """A proof, root or checkpoint does not verify."""


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (RFC 9162's split point); n >= 2."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(start: int, end: int, get: NodeGetter) -> bytes:
    """MTH(D[start:end]) from complete nodes: split into aligned perfect subtrees, fold right."""
    if end <= start:
        return EMPTY_ROOT
    parts: list[bytes] = []
    while start < end:
        # Largest aligned power-of-two block starting at `start` that fits in [start, end).
        size = start & -start if start else 1 << ((end - start).bit_length() - 1)
        while size > end - start:
            size >>= 1
        level = size.bit_length() - 1
        parts.append(get(level, start >> level))
        start += size
    acc = parts[-1]
    for part in reversed(parts[:-1]):
        acc = node_hash(part, acc)
    return acc


def root_of(size: int, get: NodeGetter) -> bytes:
    return subtree_hash(0, size, get)


@dataclass
class Frontier:
    """The compact range of [0, size): roots of the perfect subtrees, largest first.

    Appending a leaf yields every complete node that comes into being, for the store.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index = self.size
        created = [(0, index, leaf)]
        node, level = leaf, 0
        # Merge while the new subtree completes a pair: one merge per trailing 1-bit of index.
        while (index >> level) & 1:
            node = node_hash(self.hashes.pop(), node)
            level += 1
            created.append((level, index >> level, node))
        self.hashes.append(node)
        self.size += 1
        return created

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            acc = node_hash(h, acc)
        return acc

    def to_bytes(self) -> bytes:
        return self.size.to_bytes(8, "big") + b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Frontier:
        size = int.from_bytes(raw[:8], "big")
        body = raw[8:]
        if len(body) != 32 * size.bit_count():
            raise ValueError("frontier does not match its size")
        return cls(size, [body[i : i + 32] for i in range(0, len(body), 32)])


# -- proof generation (RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF, over complete nodes) ----


def inclusion_proof(index: int, size: int, get: NodeGetter) -> list[bytes]:
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            proof.append(subtree_hash(start + k, end, get))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, get))
            start += k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, get: NodeGetter) -> list[bytes]:
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    proof: list[bytes] = []
    # SUBPROOF(m, D[start:end], complete), iteratively; m stays absolute (the old tree's edge).
    start, end, complete = 0, new_size, True
    while old_size != end:
        k = _largest_power_of_two_below(end - start)
        if old_size - start <= k:
            proof.append(subtree_hash(start + k, end, get))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, get))
            start += k
            complete = False
    if not complete:
        proof.append(subtree_hash(start, end, get))
    proof.reverse()
    return proof


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------------


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise VerificationError unless `proof` shows leaf hash `leaf` at `index` in `root`."""
    # Step 1: index must be inside the tree.
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} outside tree of size {size}")
    # Step 2: fn = index, sn = size - 1, r = leaf hash.
    fn, sn, r = index, size - 1, leaf
    # Step 3: fold the path.
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 4: sn must be 0 and r the root.
    if sn != 0:
        raise VerificationError("inclusion proof is too short")
    if r != root:
        raise VerificationError("inclusion proof does not lead to the root")


def _trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Handle the cases RFC 9162 §2.1.4.2 settles before the algorithm; True if settled."""
    if old_size > new_size:
        raise VerificationError("the old tree is larger than the new one")
    if old_size == new_size:
        if proof:
            raise VerificationError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise VerificationError("same size, different roots: the log forked")
        return True
    if old_size == 0:
        if proof:
            raise VerificationError("a consistency proof from the empty tree must be empty")
        return True
    if not proof:
        raise VerificationError("consistency proof is empty")
    return False


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise VerificationError unless the tree of `old_size` is a prefix of `new_size`'s."""
    if _trivial_consistency(old_size, new_size, old_root, new_root, proof):
        return
    # Step 1: if old_size is a power of two, prepend old_root to the proof.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # Step 2: fn = old_size - 1, sn = new_size - 1.
    fn, sn = old_size - 1, new_size - 1
    # Step 3: while LSB(fn) is set, shift both right.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 4: fr = sr = first value of the path.
    fr = sr = path[0]
    # Step 5: for each subsequent value c.
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 6: fr must equal old_root, sr new_root, and sn 0.
    if sn != 0:
        raise VerificationError("consistency proof is too short")
    if fr != old_root:
        raise VerificationError("consistency proof does not match the old root")
    if sr != new_root:
        raise VerificationError("consistency proof does not match the new root")
