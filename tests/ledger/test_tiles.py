"""The tlog-tiles export: paths, layout, export → verify, and every tampering the verifier must
catch — each error names what is wrong (the entry, the tile, the key)."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sumun.ledger.entry import EntryDraft, EntryKind, EntryMeta
from sumun.ledger.merkle import EMPTY_ROOT, VerificationError, inclusion_proof, leaf_hash
from sumun.ledger.note import Checkpoint, EcdsaP256Signer, Ed25519Signer, sign_note
from sumun.ledger.tiles import (
    TILE_WIDTH,
    TileReader,
    bundle_path,
    export_tiles,
    parse_tile_path,
    tile_path,
    tiles_for_size,
)
from sumun.ledger.verifier import verify_export, verify_inclusion_bundle
from tests.ledger._tree import Item, MemoryTree

ORIGIN = "ledger.example/acme"
BIG = 65537
SIZE = 1000  # the tampering tests: 3 full level-0 tiles, a 232-wide one, a 3-wide level 1


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    return MemoryTree.of(BIG)


@pytest.fixture(scope="module")
def log_key() -> Ed25519Signer:
    return Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())


def export(tree: MemoryTree, key: Ed25519Signer, out: Path, size: int) -> Path:
    export_tiles(
        out,
        size=size,
        get_nodes=tree.get_nodes,
        entries=tree.entries,
        checkpoint_note=tree.checkpoint(ORIGIN, size, [key]),
        vkeys=[key.vkey()],
    )
    return out


@pytest.fixture(scope="module")
def pristine(
    tree: MemoryTree, log_key: Ed25519Signer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return export(tree, log_key, tmp_path_factory.mktemp("pristine"), SIZE)


@pytest.fixture
def exported(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the SIZE-entry export, free to damage."""
    return Path(shutil.copytree(pristine, tmp_path / "export"))


def flip(path: Path, offset: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def bundle_offset(tree: MemoryTree, seq: int) -> int:
    """Byte offset of entry `seq`'s length prefix inside its bundle."""
    first = seq - seq % TILE_WIDTH
    return sum(2 + len(tree.items[i]) for i in range(first, seq))


# -- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "path"),
    [
        ((0, 0), "tile/0/000"),
        ((0, 1234067), "tile/0/x001/x234/067"),  # tlog-tiles' own example
        ((0, 1234067, 8), "tile/0/x001/x234/067.p/8"),
        ((1, 999), "tile/1/999"),
        ((2, 1000), "tile/2/x001/000"),
        ((63, 5, 255), "tile/63/005.p/255"),
    ],
)
def test_tile_paths(args: tuple[int, ...], path: str) -> None:
    assert tile_path(*args) == path
    level, index, *width = args
    assert parse_tile_path(path) == (level, index, width[0] if width else TILE_WIDTH)


def test_bundle_paths() -> None:
    assert bundle_path(3) == "tile/entries/003"
    assert bundle_path(1234067, 1) == "tile/entries/x001/x234/067.p/1"
    assert parse_tile_path("tile/entries/x001/000.p/17") == (None, 1000, 17)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/67",
        "tile/0/0067",
        "tile/0/x000/067",  # not canonical: 67 is "067"
        "tile/00/000",
        "tile/64/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/08",
        "tile/0/x001",
        "tile/0/001/002",
        "tile/entries/000.p/",
        "tiles/0/000",
        "/tile/0/000",
    ],
)
def test_bad_tile_paths(path: str) -> None:
    with pytest.raises(ValueError, match=r"tile path|canonical|level"):
        parse_tile_path(path)


def test_path_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="level"):
        tile_path(64, 0)
    with pytest.raises(ValueError, match="width"):
        tile_path(0, 0, 0)
    with pytest.raises(ValueError, match="non-negative"):
        bundle_path(-1)


def test_layout_matches_the_spec_examples() -> None:
    # tlog-tiles §Partial Tiles: size 70,000 → 273 full level-0 tiles and a 112-wide one, one
    # full level-1 tile and a 17-wide one, one 1-wide level-2 tile.
    tiles = list(tiles_for_size(70_000))
    assert sum(1 for t in tiles if t[0] == 0 and t[2] == TILE_WIDTH) == 273
    assert (0, 273, 112) in tiles
    assert [t for t in tiles if t[0] == 1] == [(1, 0, 256), (1, 1, 17)]
    assert [t for t in tiles if t[0] == 2] == [(2, 0, 1)]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1".
    assert list(tiles_for_size(256)) == [(0, 0, 256), (1, 0, 1)]
    assert list(tiles_for_size(0)) == []


# -- export, then verify ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 65536, BIG])
def test_export_then_verify(
    size: int, tree: MemoryTree, log_key: Ed25519Signer, tmp_path: Path
) -> None:
    out = export(tree, log_key, tmp_path / "out", size)
    result = verify_export(out, [log_key.vkey()], origin=ORIGIN)
    assert (result.size, result.root, result.keys_pinned) == (size, tree.root(size), True)
    assert result.signed_by == (ORIGIN,)
    assert verify_export(out).keys_pinned is False  # keys from verifier.key
    # Exactly the files tlog-tiles calls for, with exactly the bytes they should hold.
    expected = {"checkpoint", "verifier.key"}
    for level, index, width in tiles_for_size(size):
        expected.add(tile_path(level, index, width))
        assert (out / tile_path(level, index, width)).stat().st_size == 32 * width
        if level == 0:
            expected.add(bundle_path(index, width))
    found = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert found == expected
    assert (out / "verifier.key").read_text() == log_key.vkey() + "\n"
    if size == 0:
        assert result.root == EMPTY_ROOT


def test_real_entries_round_trip(log_key: Ed25519Signer, tmp_path: Path) -> None:
    tree = MemoryTree()
    meta = EntryMeta(kind=EntryKind.REQUEST_ADMITTED, tenant="acme", time_ms=1, rules=("pii",))
    for seq in range(300):
        tree.append(EntryDraft(meta, payload=b"envelope-%d" % seq).finalize(seq))
    out = export(tree, log_key, tmp_path / "out", 300)
    reader = TileReader(out)
    assert next(reader.entries(1, 44)) == tree.items[256]
    assert reader.tile(0, 0)[:32] == leaf_hash(tree.items[0])
    assert verify_export(out, [log_key.vkey()]).size == 300


def test_cosigned_export_verifies_with_the_ecdsa_key_alone(
    tree: MemoryTree, log_key: Ed25519Signer, tmp_path: Path
) -> None:
    ecdsa = EcdsaP256Signer(ORIGIN + "/p256", ec.generate_private_key(ec.SECP256R1()))
    note = tree.checkpoint(ORIGIN, 700, [log_key, ecdsa])
    export_tiles(
        tmp_path,
        size=700,
        get_nodes=tree.get_nodes,
        entries=tree.entries,
        checkpoint_note=note,
        vkeys=[log_key.vkey(), ecdsa.vkey()],
    )
    assert verify_export(tmp_path, [ecdsa.vkey()]).signed_by == (ORIGIN + "/p256",)
    assert verify_export(tmp_path).signed_by == (ORIGIN, ORIGIN + "/p256")


def test_reexport_of_a_grown_tree_is_atomic_and_verifies(
    tree: MemoryTree, log_key: Ed25519Signer, exported: Path
) -> None:
    export(tree, log_key, exported, 1300)
    assert verify_export(exported, [log_key.vkey()]).size == 1300
    assert not list(exported.rglob("*.tmp"))


# -- tampering -------------------------------------------------------------------------------


def test_flipped_bit_in_an_entry_names_the_entry(
    tree: MemoryTree, log_key: Ed25519Signer, exported: Path
) -> None:
    flip(exported / bundle_path(1), bundle_offset(tree, 300) + 2 + 5)
    with pytest.raises(VerificationError, match=r"^entry 300: its leaf hash does not match"):
        verify_export(exported, [log_key.vkey()])


def test_flipped_length_prefix_names_the_entry(
    tree: MemoryTree, log_key: Ed25519Signer, exported: Path
) -> None:
    flip(exported / bundle_path(2), bundle_offset(tree, 513) + 1, bit=1)
    with pytest.raises(VerificationError, match=r"^entry 513: "):
        verify_export(exported, [log_key.vkey()])


def test_altered_leaf_hash_names_the_entry(log_key: Ed25519Signer, exported: Path) -> None:
    flip(exported / tile_path(0, 1), 5 * 32 + 7)
    with pytest.raises(VerificationError, match=r"^entry 261: .* tile/0/001 "):
        verify_export(exported, [log_key.vkey()])


def test_trailing_data_in_a_bundle(log_key: Ed25519Signer, exported: Path) -> None:
    with (exported / bundle_path(0)).open("ab") as f:
        f.write(b"\x00\x01x")
    with pytest.raises(VerificationError, match=r"^entry 256: tile/entries/000 holds data after"):
        verify_export(exported, [log_key.vkey()])


def test_truncated_bundle(log_key: Ed25519Signer, exported: Path) -> None:
    path = exported / bundle_path(3, 232)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(VerificationError, match=r"^entry 999: runs past the end"):
        verify_export(exported, [log_key.vkey()])


def test_altered_upper_tile(log_key: Ed25519Signer, exported: Path) -> None:
    flip(exported / tile_path(1, 0, 3), 32 + 1)
    with pytest.raises(
        VerificationError, match=r"tile/1/000.p/3: hash 1 does not match tile/0/001"
    ):
        verify_export(exported, [log_key.vkey()])


def test_truncated_tile(log_key: Ed25519Signer, exported: Path) -> None:
    path = exported / tile_path(0, 2)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(VerificationError, match=r"tile/0/002 is truncated: 8191 bytes"):
        verify_export(exported, [log_key.vkey()])


def test_oversized_tile(log_key: Ed25519Signer, exported: Path) -> None:
    with (exported / tile_path(0, 0)).open("ab") as f:
        f.write(b"\x00")
    with pytest.raises(VerificationError, match=r"tile/0/000 is larger"):
        verify_export(exported, [log_key.vkey()])


def test_deleted_bundle(log_key: Ed25519Signer, exported: Path) -> None:
    (exported / bundle_path(3, 232)).unlink()
    with pytest.raises(VerificationError, match=r"tile/entries/003.p/232 is missing"):
        verify_export(exported, [log_key.vkey()])


def test_checkpoint_resigned_by_another_key(log_key: Ed25519Signer, exported: Path) -> None:
    attacker = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    body = TileReader(exported).checkpoint().split("\n\n")[0] + "\n"
    (exported / "checkpoint").write_text(sign_note(body, [attacker]))
    with pytest.raises(VerificationError, match="no valid signature by a known key"):
        verify_export(exported, [log_key.vkey()])
    # Swapping verifier.key too makes the export self-consistent — which is why a third party
    # pins the operator's key: the result says the keys were not pinned.
    (exported / "verifier.key").write_text(attacker.vkey() + "\n")
    assert verify_export(exported).keys_pinned is False
    with pytest.raises(VerificationError, match="no valid signature by a known key"):
        verify_export(exported, [log_key.vkey()])


def test_edited_checkpoint(log_key: Ed25519Signer, exported: Path) -> None:
    note = (exported / "checkpoint").read_text()
    (exported / "checkpoint").write_text(note.replace(f"\n{SIZE}\n", f"\n{SIZE - 1}\n"))
    with pytest.raises(VerificationError, match=f"invalid signature for key {ORIGIN}"):
        verify_export(exported, [log_key.vkey()])


def test_checkpoint_for_another_tree(log_key: Ed25519Signer, exported: Path) -> None:
    other = MemoryTree.of(SIZE, start=10**6)
    (exported / "checkpoint").write_text(other.checkpoint(ORIGIN, SIZE, [log_key]))
    with pytest.raises(VerificationError, match="the checkpoint is for another tree"):
        verify_export(exported, [log_key.vkey()])


def test_checkpoint_for_another_size(
    tree: MemoryTree, log_key: Ed25519Signer, exported: Path
) -> None:
    (exported / "checkpoint").write_text(tree.checkpoint(ORIGIN, SIZE + 24, [log_key]))
    with pytest.raises(VerificationError, match=r"tile/0/003 is missing"):
        verify_export(exported, [log_key.vkey()])


def test_wrong_origin(log_key: Ed25519Signer, exported: Path) -> None:
    with pytest.raises(VerificationError, match=r"expected 'ledger\.example/other'"):
        verify_export(exported, [log_key.vkey()], origin="ledger.example/other")


def test_bad_or_missing_verifier_key_file(exported: Path) -> None:
    (exported / "verifier.key").write_text("not a key\n")
    with pytest.raises(VerificationError, match=r"verifier\.key line 1"):
        verify_export(exported)
    (exported / "verifier.key").unlink()
    with pytest.raises(VerificationError, match=r"verifier\.key is missing"):
        verify_export(exported)


def test_bad_keys_from_the_caller_are_argument_errors(exported: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        verify_export(exported, [])
    with pytest.raises(ValueError, match="verifier key"):
        verify_export(exported, ["nonsense"])


# -- export refusals -------------------------------------------------------------------------


def _export(
    tree: MemoryTree, out: Path, size: int, note: str, vkeys: list[str], **kw: object
) -> None:
    export_tiles(
        out,
        size=size,
        get_nodes=tree.get_nodes,
        entries=kw.get("entries", tree.entries),  # type: ignore[arg-type]
        checkpoint_note=note,
        vkeys=vkeys,
    )


def test_export_refuses_inconsistent_input(
    tree: MemoryTree, log_key: Ed25519Signer, tmp_path: Path
) -> None:
    vkeys = [log_key.vkey()]
    with pytest.raises(ValueError, match="checkpoint is for size 10, export asked for 11"):
        _export(tree, tmp_path, 11, tree.checkpoint(ORIGIN, 10, [log_key]), vkeys)
    other = MemoryTree.of(10, start=5)
    with pytest.raises(VerificationError, match="does not lead to the checkpoint's root"):
        _export(tree, tmp_path, 10, other.checkpoint(ORIGIN, 10, [log_key]), vkeys)
    stranger = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError, match="no valid signature"):
        _export(tree, tmp_path, 10, tree.checkpoint(ORIGIN, 10, [stranger]), vkeys)
    assert not (tmp_path / "checkpoint").exists()


def test_export_refuses_a_short_or_disordered_store(
    tree: MemoryTree, log_key: Ed25519Signer, tmp_path: Path
) -> None:
    note = tree.checkpoint(ORIGIN, 10, [log_key])

    def short(start: int, end: int) -> Iterator[Item]:
        yield from tree.entries(start, end - 1)

    def shuffled(start: int, end: int) -> Iterator[Item]:
        items = list(tree.entries(start, end))
        yield from reversed(items)

    with pytest.raises(ValueError, match="yielded 9 entries, expected 10"):
        _export(tree, tmp_path, 10, note, [log_key.vkey()], entries=short)
    with pytest.raises(ValueError, match="yielded entry 9 where 0 was due"):
        _export(tree, tmp_path, 10, note, [log_key.vkey()], entries=shuffled)
    assert not (tmp_path / "checkpoint").exists()


def test_export_refuses_an_entry_too_long_for_a_bundle(
    log_key: Ed25519Signer, tmp_path: Path
) -> None:
    tree = MemoryTree()
    tree.append(b"x" * 0x10000)
    with pytest.raises(ValueError, match="entry 0 is longer"):
        _export(tree, tmp_path, 1, tree.checkpoint(ORIGIN, 1, [log_key]), [log_key.vkey()])


# -- standalone inclusion proofs -------------------------------------------------------------


def _proof(tree: MemoryTree, seq: int, size: int) -> dict[str, object]:
    return {
        "seq": seq,
        "entry_b64": base64.b64encode(tree.items[seq]).decode(),
        "tree_size": size,
        "proof": [h.hex() for h in inclusion_proof(seq, size, tree.get)],
    }


def test_inclusion_bundle(tree: MemoryTree, log_key: Ed25519Signer) -> None:
    note = tree.checkpoint(ORIGIN, SIZE, [log_key])
    proof = _proof(tree, 123, SIZE)
    result = verify_inclusion_bundle(json.dumps(proof), note, [log_key.vkey()])
    assert (result.seq, result.leaf_hash, result.checkpoint.size) == (
        123,
        leaf_hash(tree.items[123]),
        SIZE,
    )
    by_hash = {**proof, "leaf_hash": leaf_hash(tree.items[123]).hex()}
    del by_hash["entry_b64"]
    assert verify_inclusion_bundle(by_hash, note, [log_key.vkey()]).seq == 123
    assert verify_inclusion_bundle(json.dumps(proof).encode(), note.encode(), [log_key.vkey()])


def test_inclusion_bundle_refusals(tree: MemoryTree, log_key: Ed25519Signer) -> None:
    note = tree.checkpoint(ORIGIN, SIZE, [log_key])
    good = _proof(tree, 123, SIZE)
    hashes = list(good["proof"])  # type: ignore[call-overload]
    cases: list[tuple[object, str]] = [
        ({**good, "seq": 124}, "does not lead to the root"),
        ({**good, "proof": [hashes[0][:-1] + "0", *hashes[1:]]}, "does not lead to the root"),
        ({**good, "proof": hashes[:-1]}, "too short"),
        ({**good, "tree_size": SIZE - 1}, "for tree size 999, the checkpoint for 1000"),
        ({**good, "entry_b64": base64.b64encode(b"forged").decode()}, "does not lead"),
        ({**good, "leaf_hash": "00" * 32}, "'leaf_hash' is not the hash of 'entry_b64'"),
        ({**good, "seq": True}, "'seq' must be an integer"),
        ({**good, "seq": "123"}, "'seq' must be an integer"),
        ({**good, "proof": ["zz"]}, "64 hex digits"),
        ({**good, "proof": "abc"}, "must be a list"),
        ({**good, "entry_b64": "not base64!"}, "not standard base64"),
        ({"seq": 1, "tree_size": SIZE, "proof": []}, "needs 'entry_b64' or 'leaf_hash'"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ]
    for proof, match in cases:
        payload = proof if isinstance(proof, str) else json.dumps(proof)
        with pytest.raises(VerificationError, match=match):
            verify_inclusion_bundle(payload, note, [log_key.vkey()])
    stranger = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError, match="no valid signature"):
        verify_inclusion_bundle(good, tree.checkpoint(ORIGIN, SIZE, [stranger]), [log_key.vkey()])
    with pytest.raises(ValueError, match="at least one"):
        verify_inclusion_bundle(good, note, [])
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT).to_body()
    with pytest.raises(VerificationError, match="for tree size 1000, the checkpoint for 0"):
        verify_inclusion_bundle(good, sign_note(empty, [log_key]), [log_key.vkey()])
