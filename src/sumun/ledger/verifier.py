"""The offline verifier: check a tiled ledger export, or one inclusion proof, with nothing but
the files, the C2SP specs (signed-note, tlog-checkpoint, tlog-tiles) and RFC 6962 / RFC 9162.

    python -m sumun.ledger.verifier DIR [--key VKEY]... [--origin ORIGIN] [--json]

prints one line (`OK: …` or `FAIL: …`) and exits 0 (verified), 1 (does not verify) or 2 (usage
or input error). Without `--key` the keys come from DIR/verifier.key, which proves only that the
export is self-consistent: pin the key you obtained from the operator to prove who signed it.

Like `merkle`, `note` and `tiles`, this module imports nothing else from Sumun (an architecture
test holds it to that). It streams: memory stays bounded whatever the size of the log.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from sumun.ledger.merkle import VerificationError, leaf_hash, verify_inclusion
from sumun.ledger.note import Checkpoint, Verifier, open_checkpoint
from sumun.ledger.tiles import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileReader,
    perfect_root,
    root_from_partial_tiles,
    tile_path,
)

__all__ = [
    "VerificationError",
    "VerifiedInclusion",
    "VerifiedLog",
    "main",
    "verify_export",
    "verify_inclusion_bundle",
]

_HEX_HASH = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class VerifiedLog:
    checkpoint: Checkpoint
    signed_by: tuple[str, ...]
    keys_pinned: bool  # False: the keys came from the export's own verifier.key

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


@dataclass(frozen=True, slots=True)
class VerifiedInclusion:
    seq: int
    leaf_hash: bytes
    checkpoint: Checkpoint
    signed_by: tuple[str, ...]


# -- helpers ---------------------------------------------------------------------------------


def _given_verifiers(vkeys: Sequence[str]) -> list[Verifier]:
    """Keys from the caller: a malformed one is a bad argument (ValueError)."""
    if isinstance(vkeys, str) or not vkeys:
        raise ValueError("give at least one verifier key (a list of vkey strings)")
    return [Verifier.from_vkey(v) for v in vkeys]


def _file_verifiers(reader: TileReader) -> list[Verifier]:
    """Keys from DIR/verifier.key: a malformed one means the export does not verify."""
    lines = reader.vkeys()
    if not lines:
        raise VerificationError("verifier.key holds no keys")
    verifiers = []
    for number, line in enumerate(lines, start=1):
        try:
            verifiers.append(Verifier.from_vkey(line))
        except ValueError as exc:
            raise VerificationError(f"verifier.key line {number}: {exc}") from None
    return verifiers


def _split(tile: bytes) -> list[bytes]:
    return [tile[i : i + HASH_SIZE] for i in range(0, len(tile), HASH_SIZE)]


def _first_difference(tile: bytes, computed: Sequence[bytes]) -> int:
    return next(i for i, h in enumerate(_split(tile)) if h != computed[i])


class _UpperLevels:
    """Checks tile levels ≥ 1 as the full tiles below them are verified, one tile at a time.

    tlog-tiles §Merkle Tree: hash i of level-L tile N is the MTH of full level-(L-1) tile
    N·256 + i; partial tiles are never hashed upward. `pending[L]` holds the hashes computed
    for level L whose tile has not been read yet — at most 255 per level.
    """

    def __init__(self, reader: TileReader, size: int) -> None:
        self.reader = reader
        self.size = size
        self.pending: dict[int, list[bytes]] = {}
        self.checked: dict[int, int] = {}

    def _compare(self, level: int, index: int, computed: list[bytes]) -> None:
        tile = self.reader.tile(level, index, len(computed))
        if tile != b"".join(computed):
            i = _first_difference(tile, computed)
            raise VerificationError(
                f"{tile_path(level, index, len(computed))}: hash {i} does not match "
                f"{tile_path(level - 1, index * TILE_WIDTH + i)} below it (a tile was altered)"
            )

    def full_tile_below(self, level: int, hashes: list[bytes]) -> None:
        """A full tile at `level - 1` verified with these hashes: carry its MTH upward."""
        node = perfect_root(hashes)
        while True:
            pending = self.pending.setdefault(level, [])
            pending.append(node)
            if len(pending) < TILE_WIDTH:
                return
            index = self.checked.get(level, 0)
            self._compare(level, index, pending)
            self.checked[level] = index + 1
            node = perfect_root(pending)
            pending.clear()
            level += 1

    def finish(self) -> dict[int, list[bytes]]:
        """Check the partial tile of every level ≥ 1; return them (the tree's right edge)."""
        partials: dict[int, list[bytes]] = {}
        level = 1
        while count := self.size >> (TILE_HEIGHT * level):
            pending = self.pending.get(level, [])
            if len(pending) != count % TILE_WIDTH:  # pragma: no cover - an invariant
                raise AssertionError("tile bookkeeping out of step")
            if pending:
                self._compare(level, count // TILE_WIDTH, pending)
                partials[level] = pending
            level += 1
        return partials


# -- the export ------------------------------------------------------------------------------


def verify_export(
    directory: str | os.PathLike[str],
    vkeys: Sequence[str] | None = None,
    *,
    origin: str | None = None,
) -> VerifiedLog:
    """Raise VerificationError unless DIR is a complete, untampered export of a signed tree.

    Steps:
      1. Keys: `vkeys` if given, else DIR/verifier.key (signed-note §Signatures: a note is
         only as trusted as the keys the client was configured with).
      2. Checkpoint: DIR/checkpoint is a signed note with a valid signature by a known key
         (signed-note §Signatures) and a well-formed body (tlog-checkpoint §Note text); its
         origin is `origin` when given.
      3. Entries (tlog-tiles §Log entries): every entry in every bundle hashes (RFC 6962 §2.1,
         SHA-256(0x00 ‖ entry)) to its hash in the level-0 tile; the first mismatch is named
         as "entry N".
      4. Upper levels (tlog-tiles §Merkle Tree): every hash at level L ≥ 1 is the MTH of the
         full tile below it. Steps 3 and 4 run in one streaming pass, tile by tile.
      5. Root (RFC 6962 §2.1): the MTH of the tree, computed from the partial tiles that form
         its right edge, equals the checkpoint's root hash.
    """
    reader = TileReader(directory)
    # Step 1
    pinned = vkeys is not None
    verifiers = _given_verifiers(vkeys) if vkeys is not None else _file_verifiers(reader)
    # Step 2
    checkpoint, signed_by = open_checkpoint(reader.checkpoint(), verifiers, origin)
    size = checkpoint.size
    # Steps 3 and 4
    upper = _UpperLevels(reader, size)
    partials: dict[int, Sequence[bytes]] = {}
    full, last_width = divmod(size, TILE_WIDTH)
    for index in range(full + (1 if last_width else 0)):
        width = TILE_WIDTH if index < full else last_width
        tile = reader.tile(0, index, width)
        first = index * TILE_WIDTH
        for offset, entry in enumerate(reader.entries(index, width)):
            at = offset * HASH_SIZE
            if leaf_hash(entry) != tile[at : at + HASH_SIZE]:
                raise VerificationError(
                    f"entry {first + offset}: its leaf hash does not match "
                    f"{tile_path(0, index, width)} (the entry or the tile was altered)"
                )
        if width == TILE_WIDTH:
            upper.full_tile_below(1, _split(tile))
        else:
            partials[0] = _split(tile)
    partials.update(upper.finish())
    # Step 5
    root = root_from_partial_tiles(size, partials)
    if root != checkpoint.root:
        raise VerificationError(
            f"the tiles lead to root {base64.b64encode(root).decode()}, not the checkpoint's: "
            "the checkpoint is for another tree"
        )
    return VerifiedLog(checkpoint, signed_by, keys_pinned=pinned)


# -- a standalone inclusion proof ------------------------------------------------------------


def _int_field(obj: Mapping[str, object], key: str, minimum: int) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise VerificationError(f"inclusion proof: {key!r} must be an integer >= {minimum}")
    return value


def _hex_hash(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX_HASH.fullmatch(value):
        raise VerificationError(f"inclusion proof: {what} must be 64 hex digits")
    return bytes.fromhex(value)


def _proof_leaf(obj: Mapping[str, object]) -> bytes:
    given = obj.get("leaf_hash")
    encoded = obj.get("entry_b64")
    if given is None and encoded is None:
        raise VerificationError("inclusion proof: needs 'entry_b64' or 'leaf_hash'")
    if encoded is None:
        return _hex_hash(given, "'leaf_hash'")
    from_hash = None if given is None else _hex_hash(given, "'leaf_hash'")
    if not isinstance(encoded, str):
        raise VerificationError("inclusion proof: 'entry_b64' must be a base64 string")
    try:
        entry = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise VerificationError("inclusion proof: 'entry_b64' is not standard base64") from None
    computed = leaf_hash(entry)
    if from_hash is not None and from_hash != computed:
        raise VerificationError("inclusion proof: 'leaf_hash' is not the hash of 'entry_b64'")
    return computed


def verify_inclusion_bundle(
    proof_json: str | bytes | Mapping[str, object],
    checkpoint_note: str | bytes,
    vkeys: Sequence[str],
) -> VerifiedInclusion:
    """Raise VerificationError unless the proof shows its entry in the signed checkpoint's tree.

    `proof_json`: {"seq": int, "entry_b64": str | "leaf_hash": hex, "tree_size": int,
    "proof": [hex, …]} (further keys are ignored).

    Steps:
      1. Keys: `vkeys` (a bad one is a ValueError: there is no file to blame).
      2. Checkpoint: signed by a known key, well-formed (signed-note, tlog-checkpoint).
      3. Proof: well-formed; the leaf hash is SHA-256(0x00 ‖ entry) (RFC 6962 §2.1), and
         equals "leaf_hash" when both are given.
      4. The proof is for the checkpoint's tree size (an inclusion proof binds one size).
      5. RFC 9162 §2.1.3.2: the audit path leads from the leaf to the checkpoint's root.
    """
    # Step 1
    verifiers = _given_verifiers(vkeys)
    # Step 2
    checkpoint, signed_by = open_checkpoint(checkpoint_note, verifiers)
    # Step 3
    obj: object = proof_json
    if isinstance(proof_json, str | bytes):
        try:
            obj = json.loads(proof_json)
        except (ValueError, UnicodeDecodeError):
            raise VerificationError("inclusion proof is not valid JSON") from None
    if not isinstance(obj, Mapping):
        raise VerificationError("inclusion proof must be a JSON object")
    seq = _int_field(obj, "seq", 0)
    tree_size = _int_field(obj, "tree_size", 1)
    path = obj.get("proof")
    if not isinstance(path, list):
        raise VerificationError("inclusion proof: 'proof' must be a list of hex hashes")
    proof = [_hex_hash(h, "every 'proof' element") for h in path]
    leaf = _proof_leaf(obj)
    # Step 4
    if tree_size != checkpoint.size:
        raise VerificationError(
            f"inclusion proof is for tree size {tree_size}, the checkpoint for "
            f"{checkpoint.size}: get a proof for the checkpoint's size"
        )
    # Step 5
    verify_inclusion(leaf, seq, tree_size, proof, checkpoint.root)
    return VerifiedInclusion(seq, leaf, checkpoint, signed_by)


# -- command line ----------------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    parser = _Parser(
        prog="python -m sumun.ledger.verifier",
        description="Verify a Sumun ledger export (C2SP tlog-tiles) offline.",
    )
    parser.add_argument("directory", help="the export directory (holds checkpoint, tile/)")
    parser.add_argument(
        "--key",
        action="append",
        metavar="VKEY",
        help="the log's verifier key <name>+<hex id>+<base64>, obtained out of band (from the "
        "deployment: `sumun ledger vkeys`, or where its operator publishes it); repeatable",
    )
    parser.add_argument(
        "--unpinned",
        action="store_true",
        help="no --key: trust DIR/verifier.key, which proves only that the export agrees with "
        "itself (whoever wrote the export could have written that key too)",
    )
    parser.add_argument("--origin", help="require this checkpoint origin")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _emit(as_json: bool, ok: bool, line: str, fields: dict[str, object]) -> None:
    print(json.dumps({"ok": ok, **fields}) if as_json else line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        directory = Path(args.directory)
        if not directory.is_dir():
            raise _UsageError(f"{directory} is not a directory")
        for key in args.key or ():
            try:
                Verifier.from_vkey(key)
            except ValueError as exc:
                raise _UsageError(f"--key {key!r}: {exc}") from None
        if not args.key and not args.unpinned:
            raise _UsageError(
                "give the log's verifier key with --key, obtained out of band (`sumun ledger "
                "vkeys` on the deployment, or its published key); a key read from the export "
                "itself proves nothing about who signed it (--unpinned to check only that the "
                "export is self-consistent)"
            )
    except _UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        result = verify_export(directory, args.key, origin=args.origin)
    except VerificationError as exc:
        _emit(args.json, False, f"FAIL: {exc}", {"error": str(exc)})
        return 1
    root = base64.b64encode(result.root).decode()
    if not result.keys_pinned:
        print(
            "WARNING: UNPINNED — the verifier key came from the export itself: this shows the "
            "export is self-consistent, not that the log's operator signed it",
            file=sys.stderr,
        )
    keys = "pinned by --key" if result.keys_pinned else "from verifier.key (unpinned; use --key)"
    line = (
        f"OK: {result.origin} size {result.size} root {root}, "
        f"signed by {', '.join(result.signed_by)}; keys {keys}"
    )
    fields: dict[str, object] = {
        "origin": result.origin,
        "size": result.size,
        "root": root,
        "signed_by": list(result.signed_by),
        "keys_pinned": result.keys_pinned,
    }
    _emit(args.json, True, line, fields)
    return 0


if __name__ == "__main__":
    sys.exit(main())
