"""The tiled export of the ledger (c2sp.org/tlog-tiles): paths, writer and reader.

    DIR/checkpoint                    signed note (c2sp.org/tlog-checkpoint), written last
    DIR/verifier.key                  the signed-note verifier key(s), one per line
    DIR/tile/<L>/<N>[.p/<W>]          hash tiles
    DIR/tile/entries/<N>[.p/<W>]      entry bundles: per entry, big-endian uint16 length ‖ bytes

tlog-tiles §Merkle Tree: tiles have height 8, so hash `i` of level-`L` tile `N` is the complete
subtree of 256^L leaves with index N·256 + i — in `merkle`'s addressing, node (8·L, N·256 + i).
Full tiles hold 256 hashes; the right-most tile of a level is *partial*, with
`floor(size / 256^L) mod 256` hashes, and is never hashed into the level above. `<N>` is written
in 3-digit groups, all but the last prefixed with `x` (1234067 → `x001/x234/067`).

The reader side (`TileReader`, the path and tile-hash helpers) imports nothing from Sumun but
`merkle` and `note`, so the offline verifier stands alone.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Protocol

from sumun.ledger.merkle import EMPTY_ROOT, VerificationError, node_hash, root_of
from sumun.ledger.note import Verifier, verify_checkpoint

__all__ = [
    "HASH_SIZE",
    "MAX_ENTRY_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "EntryLike",
    "ExportResult",
    "NodesGetter",
    "TileReader",
    "bundle_path",
    "export_tiles",
    "parse_tile_path",
    "perfect_root",
    "root_from_partial_tiles",
    "tile_path",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8,192 bytes
HASH_SIZE = 32
MAX_LEVEL = 63  # tlog-tiles: <L> is between 0 and 63
MAX_ENTRY_SIZE = 0xFFFF  # entry bundles prefix each entry with a uint16 length

_LEVEL = r"(0|[1-9][0-9]?)"
_INDEX = r"((?:x[0-9]{3}/)*[0-9]{3})"
_WIDTH = r"(?:\.p/([1-9][0-9]{0,2}))?"
_TILE_RE = re.compile(rf"tile/(?:{_LEVEL}|(entries))/{_INDEX}{_WIDTH}")


# -- paths (tlog-tiles §Merkle Tree, §Log entries) --------------------------------------------


def _encode_index(index: int) -> str:
    if index < 0:
        raise ValueError("tile index must be non-negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width must be in [1, {TILE_WIDTH}]")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]`, relative to the export directory."""
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"tile level must be in [0, {MAX_LEVEL}]")
    return f"tile/{level}/{_encode_index(index)}{_suffix(width)}"


def bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    """`tile/entries/<N>[.p/<W>]`, relative to the export directory."""
    return f"tile/entries/{_encode_index(index)}{_suffix(width)}"


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """(level, index, width) of a tile path; level is None for an entry bundle.

    Only canonical paths parse (no `x000/` groups, no leading zeroes, width < 256 only with
    `.p/`), so each tile has exactly one path.
    """
    match = _TILE_RE.fullmatch(path)
    if match is None:
        raise ValueError(f"{path!r} is not a tile path")
    level_text, entries, index_text, width_text = match.groups()
    level = None if entries else int(level_text)
    index = int(index_text.replace("x", "").replace("/", ""))
    width = int(width_text) if width_text else TILE_WIDTH
    if level is not None and level > MAX_LEVEL:
        raise ValueError(f"{path!r}: tile level above {MAX_LEVEL}")
    canonical = bundle_path(index, width) if level is None else tile_path(level, index, width)
    if canonical != path:
        raise ValueError(f"{path!r} is not canonical (expected {canonical!r})")
    return level, index, width


def tiles_for_size(size: int) -> Iterator[tuple[int, int, int]]:
    """Every hash tile (level, index, width) a tree of `size` leaves is served as.

    tlog-tiles §Partial Tiles: level L has floor(size / 256^L) hashes; size 70,000 gives 273
    full and one 112-wide level-0 tile, one full and one 17-wide level-1 tile, one 1-wide
    level-2 tile. Entry bundles are laid out exactly like the level-0 tiles.
    """
    if size < 0:
        raise ValueError("tree size must be non-negative")
    level = 0
    while count := size >> (TILE_HEIGHT * level):
        full, width = divmod(count, TILE_WIDTH)
        for index in range(full):
            yield level, index, TILE_WIDTH
        if width:
            yield level, full, width
        level += 1


# -- tile hashing (RFC 6962 §2.1 over the hashes of one tile) -------------------------------


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """MTH of a power-of-two run of equal-sized complete subtrees (e.g. a full tile)."""
    layer = list(hashes)
    if not layer or len(layer) & (len(layer) - 1):
        raise ValueError("perfect_root needs a power-of-two number of hashes")
    while len(layer) > 1:
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def root_from_partial_tiles(size: int, partials: dict[int, Sequence[bytes]]) -> bytes:
    """RFC 6962 root of a tree of `size` leaves from its partial tiles alone.

    The tree's right edge is the run of perfect subtrees given by the binary digits of `size`
    (largest first), and digits 8·L … 8·L+7 are exactly the hashes of the level-L partial
    tile. `partials[L]` MUST hold floor(size / 256^L) mod 256 hashes for every level where
    that is non-zero.
    """
    if size == 0:
        return EMPTY_ROOT

    def get(level: int, index: int) -> bytes:
        tile_level, height = divmod(level, TILE_HEIGHT)
        first_in_tile = (size >> (TILE_HEIGHT * (tile_level + 1))) << TILE_HEIGHT
        first = (index << height) - first_in_tile
        return perfect_root(partials[tile_level][first : first + (1 << height)])

    return root_of(size, get)


# -- reading an export ----------------------------------------------------------------------


class TileReader:
    """Reads an export directory; every missing, truncated or oversized file is a clear
    VerificationError naming its path."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _read(self, relative: str, *, limit: int) -> bytes:
        path = self.root / relative
        try:
            with path.open("rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError:
            raise VerificationError(f"{relative} is missing: the export is incomplete") from None
        except OSError as exc:
            raise VerificationError(f"{relative} cannot be read: {exc.strerror}") from None
        if len(data) > limit:
            raise VerificationError(f"{relative} is larger than any valid file of its kind")
        return data

    def _read_text(self, relative: str) -> str:
        try:
            return self._read(relative, limit=1 << 20).decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationError(f"{relative} is not UTF-8 text") from None

    def checkpoint(self) -> str:
        return self._read_text("checkpoint")

    def vkeys(self) -> list[str]:
        lines = self._read_text("verifier.key").splitlines()
        return [line.strip() for line in lines if line.strip()]

    def tile(self, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
        """The raw tile: exactly `width` concatenated 32-byte hashes."""
        relative = tile_path(level, index, width)
        data = self._read(relative, limit=width * HASH_SIZE)
        if len(data) != width * HASH_SIZE:
            raise VerificationError(
                f"{relative} is truncated: {len(data)} bytes, expected {width * HASH_SIZE}"
            )
        return data

    def entries(self, index: int, width: int = TILE_WIDTH) -> Iterator[bytes]:
        """The entries of one bundle, in order. Errors name the entry (its sequence number)
        where the bundle stops making sense."""
        relative = bundle_path(index, width)
        data = self._read(relative, limit=width * (2 + MAX_ENTRY_SIZE))
        first = index * TILE_WIDTH
        view = memoryview(data)
        pos, end = 0, len(data)
        for seq in range(first, first + width):
            if pos + 2 > end:
                raise VerificationError(f"entry {seq}: missing from {relative} (truncated bundle)")
            length = (data[pos] << 8) | data[pos + 1]
            pos += 2
            if pos + length > end:
                raise VerificationError(f"entry {seq}: runs past the end of {relative}")
            yield bytes(view[pos : pos + length])
            pos += length
        if pos != end:
            raise VerificationError(
                f"entry {first + width}: {relative} holds data after its {width} entries"
            )


# -- writing an export ------------------------------------------------------------------------


class EntryLike(Protocol):
    """What a store's `entries()` yields (`StoredEntry` fits)."""

    @property
    def seq(self) -> int: ...

    @property
    def entry(self) -> bytes: ...


NodesGetter = Callable[[Sequence[tuple[int, int]]], list[bytes]]
"""A store's `get_nodes`: hashes of complete subtrees (level, index), in the order asked."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    size: int
    root: bytes
    files: int  # tiles and bundles written, not counting checkpoint and verifier.key


def _write_atomic(path: Path, data: bytes) -> None:
    # Readers (a web server serving DIR, a verifier) see the old file or the new one, never a
    # torn one: write a temporary file beside it, fsync, rename over.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fetch(get_nodes: NodesGetter, node_level: int, start: int, count: int) -> list[bytes]:
    ids = [(node_level, i) for i in range(start, start + count)]
    hashes = get_nodes(ids)
    if len(hashes) != count or any(len(h) != HASH_SIZE for h in hashes):
        raise ValueError(f"store returned malformed nodes for level {node_level} from {start}")
    return hashes


def _bundle(batch: Sequence[EntryLike], first: int) -> bytes:
    parts: list[bytes] = []
    for offset, item in enumerate(batch):
        if item.seq != first + offset:
            raise ValueError(f"store yielded entry {item.seq} where {first + offset} was due")
        if len(item.entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"entry {item.seq} is longer than an entry bundle can hold")
        parts.append(len(item.entry).to_bytes(2, "big"))
        parts.append(item.entry)
    return b"".join(parts)


def export_tiles(
    out_dir: str | os.PathLike[str],
    *,
    size: int,
    get_nodes: NodesGetter,
    entries: Callable[[int, int], Iterable[EntryLike]],
    checkpoint_note: str,
    vkeys: Sequence[str],
) -> ExportResult:
    """Write the tree of `size` leaves as a tlog-tiles directory.

    `checkpoint_note` MUST be a checkpoint for exactly `size`, signed by a key in `vkeys`, and
    the store's nodes MUST lead to its root; otherwise nothing that claims to be complete is
    written (tiles may be, the checkpoint is not) and ValueError / VerificationError says why.
    Every file is replaced atomically; the checkpoint goes last, so a reader that sees it sees
    every tile it needs. `verify_export(out_dir)` re-checks everything from the files alone.
    """
    out = Path(out_dir)
    verifiers = [Verifier.from_vkey(v) for v in vkeys]
    checkpoint = verify_checkpoint(checkpoint_note, verifiers)
    if checkpoint.size != size:
        raise ValueError(f"checkpoint is for size {checkpoint.size}, export asked for {size}")
    files = 0
    partials: dict[int, Sequence[bytes]] = {}

    # Level 0 and the entry bundles, one tile at a time (bounded memory).
    stream = iter(entries(0, size))
    for level, index, width in tiles_for_size(size):
        first = index * TILE_WIDTH
        hashes = _fetch(get_nodes, TILE_HEIGHT * level, first, width)
        if level == 0:
            batch = list(islice(stream, width))
            if len(batch) != width:
                raise ValueError(f"store yielded {first + len(batch)} entries, expected {size}")
            _write_atomic(out / bundle_path(index, width), _bundle(batch, first))
            files += 1
        _write_atomic(out / tile_path(level, index, width), b"".join(hashes))
        files += 1
        if width < TILE_WIDTH:
            partials[level] = hashes

    root = root_from_partial_tiles(size, partials)
    if root != checkpoint.root:
        raise VerificationError("the store's tree does not lead to the checkpoint's root")
    _write_atomic(out / "verifier.key", "".join(f"{v}\n" for v in vkeys).encode())
    _write_atomic(out / "checkpoint", checkpoint_note.encode())
    return ExportResult(size=size, root=root, files=files)
