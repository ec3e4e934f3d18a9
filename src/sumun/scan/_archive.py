"""Archive expansion for the walker (private; `sumun.scan.walk` re-exports the public names).

`members(source, fmt, …)` opens a zip, tar or compressed stream and yields its members as
`Source`s, bounded by `Limits`: member count, total uncompressed bytes, per-member compression
ratio (nesting depth is the engine's). Declared sizes that exceed the ratio, and zips whose
entries overlap, are reported as `archive.bomb` (high) and not expanded; members beyond the
count or byte budget, and zip directories of more than 100,000 entries, as `archive.limit`
(medium); member names or tar links that escape the extraction directory (`../`, absolute)
as `archive.path-traversal` (high). Nothing is ever extracted to a path taken from an
archive: members are read in place (zip members, tar members as windows on the tar) or
copied to an anonymous spool (in memory up to 8 MiB, else a private temporary file deleted
after use).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import itertools
import lzma
import os
import posixpath
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

from sumun.scan._window import Window
from sumun.scan.identify import MAX_ZIP_ENTRIES, ZIP_ERRORS, zip_entry_count
from sumun.scan.model import Finding, Severity, Source

__all__ = [
    "CHUNK",
    "HEAD_BYTES",
    "MEMBER_SEP",
    "Budget",
    "Limits",
    "materialized",
    "members",
    "traversal_findings",
]

CHUNK = 1 << 20
HEAD_BYTES = 4096
MEMBER_SEP = "!/"  # nested members: "outer.zip" member "inner.zip!/evil.pkl"


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on archive expansion, per top-level file (shared by every nesting level)."""

    max_members: int = 10_000
    max_total_bytes: int = 2 << 30
    max_ratio: float = 200.0  # uncompressed / compressed, per member
    ratio_min_bytes: int = 8 << 20  # small members may compress well; bombs are large
    max_depth: int = 3
    spool_in_memory: int = 8 << 20
    # Seconds one top-level file may take (plus a second per 64 MiB of it, so hashing a large
    # checkpoint is not cut short); None or 0: no limit. Enforced by the engine.
    time_limit: float | None = 30.0


@dataclass(slots=True)
class Budget:
    """What is left of `Limits` while one top-level file is expanded."""

    members: int
    bytes: int
    reported: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, limits: Limits) -> Budget:
        return cls(members=limits.max_members, bytes=limits.max_total_bytes)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _member_name(parent: str | None, name: str) -> str:
    return name if parent is None else f"{parent}{MEMBER_SEP}{name}"


def _escapes(name: str) -> bool:
    """Whether extracting `name` (relative to the extraction directory) lands outside it."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":" and normal[0].isalpha()):
        return True
    resolved = posixpath.normpath(normal)
    return resolved == ".." or resolved.startswith("../")


def _link_escapes(info: tarfile.TarInfo) -> bool:
    if not (info.issym() or info.islnk()):
        return False
    target = info.linkname
    if info.issym() and not target.startswith("/"):
        target = posixpath.join(posixpath.dirname(info.name), target)
    return _escapes(target)


_MAX_HOPS = 40  # symlinks followed while resolving one path (Linux MAXSYMLINKS)
_MAX_LINKS = 10_000
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


class _Links:
    """The symlinks an archive has declared so far, to resolve later member paths as an
    extractor that honours them would (`tar`, Info-ZIP `unzip`): `a -> .` followed by
    `b -> a/a/..` climbs out although each target looks harmless on its own."""

    def __init__(self) -> None:
        self.links: dict[str, str] = {}

    def add(self, name: str, target: str) -> None:
        key = posixpath.normpath(name.replace("\\", "/")).lstrip("/")
        if len(self.links) < _MAX_LINKS:
            self.links[key] = target.replace("\\", "/")

    def escapes(self, path: str) -> bool:
        """Whether `path` (relative to the extraction directory), followed through the known
        symlinks, ends outside it."""
        if not self.links:
            return _escapes(path)
        if _escapes(path):
            return True
        pending = path.replace("\\", "/").split("/")
        pending.reverse()
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    return True
                resolved.pop()
                continue
            resolved.append(part)
            target = self.links.get("/".join(resolved))
            if target is None:
                continue
            hops += 1
            absolute = target.startswith("/") or (
                len(target) > 1 and target[1] == ":" and target[0].isalpha()
            )
            if hops > _MAX_HOPS or absolute:
                return True
            resolved.pop()
            pending.extend(reversed(target.split("/")))
        return False


def _zip_symlink(info: zipfile.ZipInfo) -> bool:
    """A zip entry made on Unix with a symlink mode: Info-ZIP `unzip` recreates it as a link
    whose target is the entry's content (Python's `zipfile` does not)."""
    return info.create_system == 3 and (info.external_attr >> 16) & _S_IFMT == _S_IFLNK


def _zip_link_target(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    with archive.open(info) as member:
        return member.read(4096).decode("utf-8", "replace")


def _symlink_target(name: str, target: str) -> str:
    """Where a symlink at `name` points, relative to the extraction directory."""
    normal = target.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return normal
    return posixpath.join(posixpath.dirname(name.replace("\\", "/")), normal)


def traversal_findings(source: Source) -> list[Finding]:
    """Path traversal in a zip-based model file that the engine hands to its analyzer instead of
    expanding (a PyTorch checkpoint, `.npz`, `.keras`): member names that are absolute, climb out
    with `..`, or pass through a symlink member that points outside. Loaders that unpack these
    archives (TorchServe `.mar`, NeMo, Keras' `extract` paths, `unzip`) write there."""
    out: list[Finding] = []
    try:
        with source.open() as stream:
            count = zip_entry_count(stream)
            if count is not None and count > MAX_ZIP_ENTRIES:
                return out  # the analyzer reports the oversized directory
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                expander = _Expander(source, Limits(), Budget.of(Limits()))
                links = _Links()
                for info in archive.infolist():
                    finding = _zip_traversal(expander, archive, info, links)
                    if finding is not None and len(out) < 20:
                        out.append(finding)
    except ZIP_ERRORS:
        return out  # the analyzer reports an unreadable archive in its own terms
    return out


def _zip_traversal(
    expander: _Expander, archive: zipfile.ZipFile, info: zipfile.ZipInfo, links: _Links
) -> Finding | None:
    name = info.filename
    if _escapes(name):
        return expander.traversal(name, "member name")
    if links.escapes(name):
        return expander.traversal(name, "member path (through a symlink in the archive)")
    if _zip_symlink(info):
        target = _zip_link_target(archive, info)
        escapes = links.escapes(_symlink_target(name, target))
        links.add(name, target)
        if escapes:
            return expander.traversal(name, f"symlink target {target[:200]!r}")
    return None


class _Spool:
    """Bytes copied out of an archive: in memory while small, then a private temp file."""

    def __init__(self, in_memory: int) -> None:
        self.in_memory = in_memory
        self.buffer: io.BytesIO | None = io.BytesIO()
        self.file: IO[bytes] | None = None
        self.path: str | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        if self.buffer is not None and self.size + len(data) > self.in_memory:
            fd, self.path = tempfile.mkstemp(prefix="sumun-scan-")
            self.file = os.fdopen(fd, "w+b")
            self.file.write(self.buffer.getbuffer())
            self.buffer = None
        if self.buffer is not None:
            self.buffer.write(data)
        elif self.file is not None:
            self.file.write(data)
        self.size += len(data)

    def opener(self) -> Callable[[], IO[bytes]]:
        if self.buffer is not None:
            data = self.buffer.getvalue()
            return lambda: io.BytesIO(data)
        if self.file is None or self.path is None:
            raise ValueError("spool already closed")
        self.file.flush()
        path = self.path
        return lambda: open(path, "rb")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)


def _range_opener(
    opener: Callable[[], IO[bytes]], offset: int, size: int
) -> Callable[[], IO[bytes]]:
    return lambda: io.BufferedReader(Window(opener(), offset, size, owns=True), CHUNK)


def _head_of(opener: Callable[[], IO[bytes]]) -> bytes:
    with opener() as stream:
        return stream.read(HEAD_BYTES)


@dataclass(slots=True)
class _Expander:
    source: Source
    limits: Limits
    budget: Budget

    def finding(self, severity: Severity, rule: str, message: str) -> Finding:
        return Finding(self.source.path, severity, rule, message, member=self.source.member)

    def member_finding(self, name: str, severity: Severity, rule: str, message: str) -> Finding:
        member = _member_name(self.source.member, name)
        return Finding(self.source.path, severity, rule, message, member=member)

    def over_count(self) -> Finding | None:
        if self.budget.members > 0:
            return None
        if "count" in self.budget.reported:
            return None
        self.budget.reported.add("count")
        return self.finding(
            Severity.MEDIUM,
            "archive.limit",
            f"more than {self.limits.max_members} archive members; the rest were not inspected",
        )

    def over_bytes(self, name: str, size: int) -> Finding:
        return self.member_finding(
            name,
            Severity.MEDIUM,
            "archive.limit",
            f"member of {size} bytes exceeds the {self.limits.max_total_bytes}-byte "
            "expansion budget; not inspected",
        )

    def bomb(self, name: str | None, message: str) -> Finding:
        if name is None:
            return self.finding(Severity.HIGH, "archive.bomb", message)
        return self.member_finding(name, Severity.HIGH, "archive.bomb", message)

    def traversal(self, name: str, what: str) -> Finding:
        return self.member_finding(
            name,
            Severity.HIGH,
            "archive.path-traversal",
            f"{what} escapes the extraction directory (absolute or '..'); "
            "extracting this archive can overwrite files elsewhere",
        )

    # zip ---------------------------------------------------------------------------------------

    def zip(self) -> Iterator[Source | Finding]:
        with self.source.open() as stream:
            count = zip_entry_count(stream)
            if count is not None and count > MAX_ZIP_ENTRIES:
                yield self.finding(
                    Severity.MEDIUM,
                    "archive.limit",
                    f"the zip directory lists {count:,} entries (limit {MAX_ZIP_ENTRIES:,}); "
                    "not inspected",
                )
                return
            stream.seek(0)
            try:
                archive = zipfile.ZipFile(stream)
            except ZIP_ERRORS as e:
                yield self.finding(Severity.MEDIUM, "archive.parse-error", f"bad zip: {e}")
                return
            with archive:
                yield from self._zip_members(archive)

    def _zip_members(self, archive: zipfile.ZipFile) -> Iterator[Source | Finding]:
        infos = archive.infolist()
        overlap = _zip_overlap(infos)
        if overlap is not None:
            yield self.bomb(None, f"zip entries overlap ({overlap}): a non-recursive zip bomb")
            return
        links = _Links()
        for info in infos:
            # Not `info.is_dir()`: it raises IndexError on an empty name (`filename[-1]`).
            if info.filename.endswith("/"):
                continue
            name = info.filename
            try:
                escape = _zip_traversal(self, archive, info, links)
            except ZIP_ERRORS as e:
                escape = self.member_finding(
                    name, Severity.MEDIUM, "archive.parse-error", f"member unreadable: {e}"
                )
            if escape is not None:
                yield escape
            limit = self.over_count()
            if limit is not None:
                yield limit
                return
            if info.file_size >= self.limits.ratio_min_bytes and info.file_size > (
                self.limits.max_ratio * max(info.compress_size, 1)
            ):
                ratio = info.file_size / max(info.compress_size, 1)
                yield self.bomb(
                    name,
                    f"expands {ratio:,.0f}x ({info.compress_size} -> {info.file_size} bytes); "
                    "not expanded",
                )
                continue
            if info.file_size > self.budget.bytes:
                yield self.over_bytes(name, info.file_size)
                continue
            if info.flag_bits & 0x1:
                yield self.member_finding(
                    name, Severity.INFO, "archive.encrypted", "encrypted member not inspected"
                )
                continue
            self.budget.members -= 1
            self.budget.bytes -= info.file_size

            def opener(info: zipfile.ZipInfo = info) -> IO[bytes]:
                return archive.open(info)

            try:
                head = _head_of(opener)
            except ZIP_ERRORS as e:
                yield self.member_finding(
                    name, Severity.MEDIUM, "archive.parse-error", f"member unreadable: {e}"
                )
                continue
            yield Source(
                path=self.source.path,
                size=info.file_size,
                head=head,
                opener=opener,
                member=_member_name(self.source.member, name),
            )

    # tar ---------------------------------------------------------------------------------------

    def tar(self) -> Iterator[Source | Finding]:
        with self.source.open() as stream:
            try:
                archive = tarfile.open(fileobj=stream, mode="r:")  # noqa: SIM115 - `with` below
            except (tarfile.TarError, OSError, EOFError) as e:
                yield self.finding(Severity.MEDIUM, "archive.parse-error", f"bad tar: {e}")
                return
            with archive:
                try:
                    yield from self._tar_members(archive)
                except (tarfile.TarError, OSError, EOFError) as e:
                    yield self.finding(Severity.MEDIUM, "archive.parse-error", f"bad tar: {e}")

    def _tar_members(self, archive: tarfile.TarFile) -> Iterator[Source | Finding]:
        links = _Links()
        for info in archive:
            name = info.name
            if _escapes(name):
                yield self.traversal(name, "member name")
            elif links.escapes(name):
                yield self.traversal(name, "member path (through a symlink in the archive)")
            if info.issym():
                target = _symlink_target(name, info.linkname)
                if _link_escapes(info) or links.escapes(target):
                    yield self.traversal(name, f"symlink target {info.linkname[:200]!r}")
                links.add(name, info.linkname)
            elif info.islnk() and (_link_escapes(info) or links.escapes(info.linkname)):
                yield self.traversal(name, f"hard link target {info.linkname[:200]!r}")
            if not info.isfile():
                continue
            limit = self.over_count()
            if limit is not None:
                yield limit
                return
            if info.size > self.budget.bytes:
                yield self.over_bytes(name, info.size)
                continue
            self.budget.members -= 1
            self.budget.bytes -= info.size
            opener = _range_opener(self.source.open, info.offset_data, info.size)
            yield Source(
                path=self.source.path,
                size=info.size,
                head=_head_of(opener),
                opener=opener,
                member=_member_name(self.source.member, name),
            )

    # compressed streams ------------------------------------------------------------------------

    def decompressed(self, fmt: str) -> Iterator[Source | Finding]:
        if fmt == "zstd":
            yield self.finding(
                Severity.INFO, "archive.unsupported", "zstd-compressed content not inspected"
            )
            return
        spool = _Spool(self.limits.spool_in_memory)
        try:
            problem = self._decompress(fmt, spool)
            if problem is not None:
                yield problem
                return
            name = _decompressed_name(self.source.member or self.source.path, fmt)
            opener = spool.opener()
            yield Source(
                path=self.source.path,
                size=spool.size,
                head=_head_of(opener),
                opener=opener,
                member=_member_name(self.source.member, name),
            )
        finally:
            spool.close()

    def _decompress(self, fmt: str, spool: _Spool) -> Finding | None:
        ceiling = self.limits.max_ratio * max(self.source.size, 1)
        errors = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)
        try:
            with self.source.open() as raw, _decompressor(fmt, raw) as stream:
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    spool.write(chunk)
                    if spool.size >= self.limits.ratio_min_bytes and spool.size > ceiling:
                        return self.bomb(
                            None,
                            f"{fmt} stream expands more than {self.limits.max_ratio:,.0f}x "
                            f"its {self.source.size} bytes; not expanded",
                        )
                    if spool.size > self.budget.bytes:
                        return self.finding(
                            Severity.MEDIUM,
                            "archive.limit",
                            f"{fmt} stream exceeds the {self.limits.max_total_bytes}-byte "
                            "expansion budget; not inspected",
                        )
        except errors as e:
            return self.finding(Severity.MEDIUM, "archive.parse-error", f"bad {fmt} stream: {e}")
        self.budget.bytes -= spool.size
        self.budget.members -= 1
        return None


class _ZlibReader(io.RawIOBase):
    """A bare zlib stream (joblib's compressed pickles), inflated at most a chunk at a time."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self._inflate = zlib.decompressobj()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        while not self._pending:
            if self._inflate.eof:
                return 0
            data = self._inflate.unconsumed_tail or self._raw.read(CHUNK)
            if not data:
                raise EOFError("truncated zlib stream")
            self._pending = self._inflate.decompress(data, CHUNK)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _decompressor(fmt: str, raw: IO[bytes]) -> contextlib.AbstractContextManager[_Readable]:
    if fmt == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if fmt == "bz2":
        return bz2.BZ2File(raw, mode="rb")
    if fmt == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if fmt == "zlib":
        return io.BufferedReader(_ZlibReader(raw), CHUNK)
    raise ValueError(f"not a compression format: {fmt}")


_SUFFIXES = {"gzip": (".gz", ".tgz"), "bz2": (".bz2", ".tbz2"), "xz": (".xz", ".txz")}


def _decompressed_name(name: str, fmt: str) -> str:
    base = posixpath.basename(name)
    for suffix in _SUFFIXES.get(fmt, ()):
        if base.lower().endswith(suffix):
            stem = base[: -len(suffix)]
            return stem + ".tar" if suffix.startswith(".t") else stem
    return base


def _zip_overlap(infos: list[zipfile.ZipInfo]) -> str | None:
    """Entries whose data overlaps another's: never in a real zip, the trick of zip bombs that
    reuse one compressed kernel for many members."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for before, after in itertools.pairwise(ordered):
        end = before.header_offset + 30 + len(before.filename.encode()) + before.compress_size
        if after.header_offset < end:
            return f"{before.filename!r} and {after.filename!r}"
    return None


def members(
    source: Source, fmt: str, limits: Limits, budget: Budget
) -> Generator[Source | Finding, None, None]:
    """The members of `source` (a `zip`, `tar` or compressed stream) and findings about it.

    Each yielded `Source` is valid only until the iterator advances; close the iterator when
    done (temporary spools are removed then).
    """
    expander = _Expander(source, limits, budget)
    if fmt == "zip":
        yield from expander.zip()
    elif fmt == "tar":
        yield from expander.tar()
    else:
        yield from expander.decompressed(fmt)


@contextlib.contextmanager
def materialized(source: Source, limits: Limits) -> Iterator[Source | Finding]:
    """`source` copied to a spool, for archives nested in zip members (seeking inside a
    compressed zip member re-inflates it from the start). The spool is removed on exit; a
    member that cannot be read yields an `archive.parse-error` finding instead."""
    spool = _Spool(limits.spool_in_memory)
    try:
        try:
            with source.open() as stream:
                while chunk := stream.read(CHUNK):
                    spool.write(chunk)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
            yield source.finding(Severity.MEDIUM, "archive.parse-error", f"member unreadable: {e}")
            return
        yield Source(
            path=source.path,
            size=spool.size,
            head=source.head,
            opener=spool.opener(),
            member=source.member,
        )
    finally:
        spool.close()
