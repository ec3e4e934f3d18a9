"""A forward reader over a binary stream of known size that refuses impossible lengths.

Shared by the GGUF and ONNX (protobuf) analyzers. Binary model formats are full of length fields
written by whoever made the file; a hostile one claims 2**60 bytes. Every `read`/`skip` here
checks the claimed length against what is left in the file BEFORE allocating anything, and fails
with `FormatError` — never `MemoryError`, never a read of the whole file.

Reads go through a small read-ahead buffer (64 KiB) so that thousands of tiny fields (vocabulary
strings, protobuf tags) cost slices, not system calls; skips inside the buffer are free and
longer skips seek.
"""

from __future__ import annotations

import struct
from typing import IO

__all__ = ["BoundedReader", "FormatError"]

_CHUNK = 1 << 16


class FormatError(Exception):
    """The bytes do not follow the format (truncated, lying length, bad value).

    Internal to the analyzers: each turns it into a `<format>.parse-error` finding.
    """


class BoundedReader:
    """Reads `stream` from position 0 up to `size` bytes, never past it.

    `size` is the size the caller knows (the file's); a stream that turns out shorter is reported
    as truncated. The stream MUST be seekable.
    """

    __slots__ = ("_buf", "_buf_start", "_pos", "_size", "_stream")

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self._stream = stream
        self._size = max(0, size)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def size(self) -> int:
        return self._size

    @property
    def remaining(self) -> int:
        return self._size - self._pos

    def _check(self, n: int, what: str) -> None:
        if n < 0:
            raise FormatError(f"negative length {n} for {what} at offset {self._pos}")
        if n > self._size - self._pos:
            raise FormatError(
                f"{what} at offset {self._pos} claims {n} bytes but only "
                f"{self._size - self._pos} remain in the file"
            )

    def read(self, n: int, what: str = "field") -> bytes:
        """Exactly `n` bytes, or `FormatError` (before allocating) if the file cannot hold them."""
        self._check(n, what)
        offset = self._pos - self._buf_start
        if offset >= 0 and offset + n <= len(self._buf):
            self._pos += n
            return self._buf[offset : offset + n]
        self._stream.seek(self._pos)
        if n >= _CHUNK:
            data = self._stream.read(n)
            self._buf, self._buf_start = b"", 0
        else:
            want = min(_CHUNK, self._size - self._pos)
            self._buf = self._stream.read(want)
            self._buf_start = self._pos
            data = self._buf[:n]
        if len(data) != n:
            raise FormatError(f"{what} at offset {self._pos}: the file is truncated")
        self._pos += n
        return data

    def skip(self, n: int, what: str = "field") -> None:
        """Move forward `n` bytes without reading them (the data is never loaded)."""
        self._check(n, what)
        self._pos += n

    def varint(self) -> int:
        """A protobuf base-128 varint (at most 10 bytes), decoded from the buffer when it can."""
        offset = self._pos - self._buf_start
        buf = self._buf
        if not (offset >= 0 and offset + 10 <= len(buf)):
            buf, offset = self.read(min(10, self.remaining), "varint"), 0
            self._pos -= len(buf)
            start = self._pos
        else:
            start = self._buf_start
        result = shift = 0
        for byte in buf[offset : offset + 10]:
            result |= (byte & 0x7F) << shift
            offset += 1
            if byte < 0x80:
                self._pos = start + offset
                return result
            shift += 7
        raise FormatError(f"varint at offset {self._pos} is cut or longer than 10 bytes")

    def skip_prefixed(self, count: int, length: struct.Struct, what: str = "items") -> None:
        """Skip `count` items, each a `length`-encoded byte count followed by that many bytes
        (GGUF string arrays: vocabularies, merges). The fast path of `skip(read-length)`."""
        width = length.size
        unpack = length.unpack_from
        buf, start, pos, size = self._buf, self._buf_start, self._pos, self._size
        end = start + len(buf) - width  # last offset where a length can be read from `buf`
        while count > 0:
            if not start <= pos <= end:
                self._pos = pos
                self._check(width, what)
                self._stream.seek(pos)
                buf, start = self._stream.read(min(_CHUNK, size - pos)), pos
                self._buf, self._buf_start = buf, start
                end = start + len(buf) - width
                if len(buf) < width:
                    raise FormatError(f"{what} at offset {pos}: the file is truncated")
                continue
            n = unpack(buf, pos - start)[0] + width
            if n > size - pos:
                self._pos = pos + width
                raise FormatError(
                    f"{what} at offset {pos + width} claims {n - width} bytes but only "
                    f"{size - pos - width} remain in the file"
                )
            pos += n
            count -= 1
        self._pos = pos

    def seek(self, pos: int) -> None:
        if not 0 <= pos <= self._size:
            raise FormatError(f"offset {pos} is outside the file (size {self._size})")
        self._pos = pos

    def unpack(self, fmt: str, what: str = "field") -> tuple[int | float, ...]:
        """`struct.unpack` of the next `calcsize(fmt)` bytes."""
        return struct.unpack(fmt, self.read(struct.calcsize(fmt), what))
