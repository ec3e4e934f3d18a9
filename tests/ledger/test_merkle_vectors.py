"""RFC 6962 / 9162 known answers (transparency-dev/merkle's 8-leaf vectors) and proof properties.

The vectors live as data in vectors/rfc6962_transparency_dev.json, with their source.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sumun.ledger.merkle import (
    EMPTY_ROOT,
    VerificationError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from tests.ledger._tree import MemoryTree

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "rfc6962_transparency_dev.json").read_text()
)
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(h) for h in VECTORS["roots"]]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@functools.cache
def vector_tree() -> MemoryTree:
    tree = MemoryTree()
    for leaf in LEAVES:
        tree.append(leaf)
    return tree


@functools.cache
def big_tree() -> MemoryTree:
    return MemoryTree.of(700)


def _hexes(items: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in items]


def test_hasher_vectors() -> None:
    h = VECTORS["hasher"]
    assert bytes.fromhex(h["empty_root"]) == EMPTY_ROOT
    assert leaf_hash(b"").hex() == h["empty_leaf"]
    assert leaf_hash(b"L123456").hex() == h["leaf_L123456"]
    assert node_hash(b"N123", b"N456").hex() == h["node_N123_N456"]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_for_every_size(size: int) -> None:
    tree = vector_tree()
    assert root_of(size, tree.get) == ROOTS[size - 1]
    prefix = MemoryTree()
    for leaf in LEAVES[:size]:
        prefix.append(leaf)
    assert prefix.frontier.root() == ROOTS[size - 1]


def test_empty_tree_root() -> None:
    assert root_of(0, vector_tree().get) == EMPTY_ROOT == MemoryTree().frontier.root()


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}@{c['size']}")
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    index, size, want = case["index"], case["size"], _hexes(case["proof"])
    root, leaf = ROOTS[size - 1], leaf_hash(LEAVES[index])
    assert inclusion_proof(index, size, vector_tree().get) == want
    verify_inclusion(leaf, index, size, want, root)
    # The corruptions transparency-dev/merkle probes (proof/verify_test.go).
    probes = [
        (leaf, index + 1, size, want, root),
        (leaf, index ^ 2, size, want, root),
        (leaf, index, size * 2, want, root),
        (leaf, index, size // 2, want, root),
        (leaf_hash(b"WrongLeaf"), index, size, want, root),
        (leaf, index, size, want, EMPTY_ROOT),
        (leaf, index, size, want, SOME_HASH),
        (leaf, index, size, [*want, b""], root),
        (leaf, index, size, [*want, root], root),
        (leaf, index, size, [b"", *want], root),
        (leaf, index, size, [root, *want], root),
    ]
    if index:
        probes.append((leaf, index - 1, size, want, root))
    if want:
        probes.append((leaf, index, size, want[:-1], root))
    for i in range(len(want)):
        flipped = [*want]
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((leaf, index, size, flipped, root))
    for probe in probes:
        with pytest.raises(VerificationError):
            verify_inclusion(*probe)


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: f"{c['size1']}-{c['size2']}")
def test_consistency_vectors(case: dict[str, Any]) -> None:
    m, n, want = case["size1"], case["size2"], _hexes(case["proof"])
    old, new = ROOTS[m - 1], ROOTS[n - 1]
    assert consistency_proof(m, n, vector_tree().get) == want
    verify_consistency(m, n, old, new, want)
    if not want:
        return
    probes = [
        (m - 1, n, old, new, want),
        (m + 1, n, old, new, want),
        (m ^ 2, n, old, new, want),
        (m, n * 2, old, new, want),
        (m, n // 2, old, new, want),
        (m, n, SOME_HASH, new, want),
        (m, n, old, SOME_HASH, want),
        (m, n, new, old, want),
        (m, n, old, new, []),
        (m, n, old, new, [*want, b""]),
        (m, n, old, new, [*want, old]),
        (m, n, old, new, [*want, new]),
        (m, n, old, new, [b"", *want]),
        (m, n, old, new, [old, *want]),
        (m, n, old, new, [new, *want]),
        (m, n, old, new, [want[0], *want]),
        (m, n, old, new, want[:-1]),
    ]
    for i in range(len(want)):
        flipped = [*want]
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((m, n, old, new, flipped))
    for probe in probes:
        with pytest.raises(VerificationError):
            verify_consistency(*probe)


def _flip(proof: list[bytes], element: int, byte: int, bit: int) -> list[bytes]:
    out = [*proof]
    target = bytearray(out[element])
    target[byte] ^= 1 << bit
    out[element] = bytes(target)
    return out


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 700),
    data=st.data(),
)
def test_inclusion_proofs_verify_and_any_flipped_bit_fails(size: int, data: st.DataObject) -> None:
    tree = big_tree()
    index = data.draw(st.integers(0, size - 1))
    root = root_of(size, tree.get)
    proof = inclusion_proof(index, size, tree.get)
    verify_inclusion(tree.get(0, index), index, size, proof, root)
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1))
        flipped = _flip(proof, element, data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7)))
        with pytest.raises(VerificationError):
            verify_inclusion(tree.get(0, index), index, size, flipped, root)


@settings(max_examples=300, deadline=None)
@given(
    new_size=st.integers(1, 700),
    data=st.data(),
)
def test_consistency_proofs_verify_and_any_flipped_bit_fails(
    new_size: int, data: st.DataObject
) -> None:
    tree = big_tree()
    old_size = data.draw(st.integers(1, new_size))
    old_root, new_root = root_of(old_size, tree.get), root_of(new_size, tree.get)
    proof = consistency_proof(old_size, new_size, tree.get)
    verify_consistency(old_size, new_size, old_root, new_root, proof)
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1))
        flipped = _flip(proof, element, data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7)))
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, old_root, new_root, flipped)
