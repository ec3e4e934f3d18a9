"""Byte streams for the pickle family: compressed joblib files and zip members, with caps.

Both hand back ordinary binary streams for the opcode reader, and both fail *soft*: a read
error (corrupt deflate data, a bad gzip trailer, a cap reached) ends the stream early and is
kept in `failure`, so the walk keeps what it saw before the damage.

Zip members are read from their local header directly rather than through `zipfile.open`:
PyTorch's own reader ignores the "encrypted" flag bit and never checks CRCs, and picklescan
was bypassed twice by archives that `zipfile` refuses but `torch.load` reads (GHSA-w8jq-xcqf-
f792, GHSA-7q5r-7gvp-wc82). Reading like the loader reads is what keeps the scan honest.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from sumun.scan._window import Window

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer as Buffer

__all__ = [
    "DECOMPRESSED_CAP",
    "ZIP_ERRORS",
    "SoftStream",
    "compression_of",
    "decompress_head",
    "open_decompressed",
    "open_zip_member",
    "zip_members",
]

DECOMPRESSED_CAP = 4 << 30  # bytes produced by one decompression stream
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, struct.error)
# What a hostile central directory or local header can make zipfile (or us) raise.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    ValueError,
    EOFError,
    OverflowError,
    struct.error,
)


_MAGIC = (
    (b"ZF0x", "zfile"),  # joblib < 0.9.3: "ZF" + 19-character hex length, then zlib
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
)


def compression_of(head: bytes) -> str | None:
    """The compressor joblib (or anyone) wrapped the stream in, from its first bytes."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return "bz2"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib"
    if len(head) >= 13 and head[0] == 0x5D and head[1:3] == b"\x00\x00":
        return "lzma"  # .lzma "alone" format: lc/lp/pb byte 0x5d, then the dictionary size
    return None


class SoftStream(io.RawIOBase):
    """A forward-only stream over `produce(n)`; errors and the cap end it, kept in `failure`."""

    def __init__(self, produce: Callable[[int], bytes], cap: int | None) -> None:
        super().__init__()
        self._produce = produce
        self._cap = cap
        self._total = 0
        self.failure: str | None = None

    @property
    def produced(self) -> int:
        """Bytes handed out so far."""
        return self._total

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self.failure is not None or not len(view):
            return 0
        want = len(view)
        if self._cap is not None:
            want = min(want, self._cap - self._total + 1)
        try:
            data = self._produce(want)
        except _READ_ERRORS as exc:
            self.failure = f"corrupt data ({type(exc).__module__}.{type(exc).__name__})"
            return 0
        if self._cap is not None and self._total + len(data) > self._cap:
            self.failure = f"more than {self._cap >> 20} MiB after decompression (limit)"
            return 0
        self._total += len(data)
        view[: len(data)] = data
        return len(data)


class _Inflater:
    """zlib/raw-deflate data pulled from `source` on demand."""

    def __init__(
        self, source: IO[bytes], wbits: int, limit: int | None = None, pending: bytes = b""
    ) -> None:
        self._source = source
        self._d = zlib.decompressobj(wbits)
        self._left = limit  # compressed bytes still to read (zip members)
        self._pending = pending  # compressed bytes already read from `source`

    def __call__(self, n: int) -> bytes:
        while True:
            if self._pending:
                out = self._d.decompress(self._pending, n)
                self._pending = b""
            elif self._d.unconsumed_tail:
                out = self._d.decompress(self._d.unconsumed_tail, n)
            else:
                if self._d.eof:
                    return b""
                size = 1 << 16 if self._left is None else min(1 << 16, self._left)
                chunk = self._source.read(size) if size else b""
                if self._left is not None:
                    self._left -= len(chunk)
                if not chunk:
                    return self._d.flush()[:n]
                out = self._d.decompress(chunk, n)
            if out:
                return out


def open_decompressed(stream: IO[bytes], kind: str, *, cap: int = DECOMPRESSED_CAP) -> SoftStream:
    """A streaming decompressor over `stream` (positioned at its start). Never loads it whole."""
    if kind == "zlib":
        return SoftStream(_Inflater(stream, zlib.MAX_WBITS), cap)
    if kind == "zfile":
        stream.read(21)
        first = stream.read(1)  # joblib <= 0.8.4 on Python 2 wrote one more space
        return SoftStream(_Inflater(stream, zlib.MAX_WBITS, pending=first.strip(b" ")), cap)
    # The decompressor objects live as long as the returned stream; closing the underlying
    # stream (the caller's) is what releases them.
    produce: Callable[[int], bytes]
    if kind == "gzip":
        produce = gzip.GzipFile(fileobj=stream, mode="rb").read
    elif kind == "bz2":
        produce = bz2.BZ2File(stream, mode="rb").read
    elif kind in ("xz", "lzma"):
        produce = lzma.LZMAFile(stream, mode="rb").read  # noqa: SIM115
    else:
        raise ValueError(f"unknown compression {kind!r}")
    return SoftStream(produce, cap)


def decompress_head(head: bytes, kind: str, size: int = 4096) -> bytes:
    """The first decompressed bytes of a compressed head (for sniffing); b"" if none."""
    stream = open_decompressed(io.BytesIO(head), kind, cap=size)
    out = bytearray()
    while len(out) < size:
        chunk = stream.read(size - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def zip_members(stream: IO[bytes]) -> list[zipfile.ZipInfo]:
    """The central directory of a zip; raises `zipfile.BadZipFile` (or OSError) if unreadable."""
    with zipfile.ZipFile(stream) as archive:
        return archive.infolist()


def open_zip_member(
    stream: IO[bytes], info: zipfile.ZipInfo, *, cap: int = DECOMPRESSED_CAP
) -> tuple[IO[bytes], SoftStream | None]:
    """A member's bytes, read as PyTorch reads them: encryption flag and CRC ignored.

    Returns the stream and, for compressed members, the `SoftStream` whose `failure` tells
    why it ended early. Stored members come back seekable (long payloads are skipped, not
    read). Raises `zipfile.BadZipFile` if the local header is missing, `NotImplementedError`
    for a compression method other than stored, deflate and bzip2.
    """
    stream.seek(info.header_offset)
    raw = stream.read(_LOCAL_HEADER.size)
    if len(raw) < _LOCAL_HEADER.size or raw[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename!r}")
    fields = _LOCAL_HEADER.unpack(raw)
    start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
    window = Window(stream, start, info.compress_size)
    if info.compress_type == zipfile.ZIP_STORED:
        return io.BufferedReader(window, buffer_size=1 << 16), None
    if info.compress_type == zipfile.ZIP_DEFLATED:
        soft = SoftStream(_Inflater(io.BufferedReader(window), -zlib.MAX_WBITS), cap)
    elif info.compress_type == zipfile.ZIP_BZIP2:
        soft = SoftStream(bz2.BZ2File(window).read, cap)
    else:
        raise NotImplementedError(f"zip compression method {info.compress_type}")
    return io.BufferedReader(soft, buffer_size=1 << 16), soft
