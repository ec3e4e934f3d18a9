"""A streaming reader for pickle opcodes and their arguments, with bounded memory.

Why not `pickletools.genops`: it reads every argument whole (a 2 GiB `BINBYTES8` tensor blob
becomes a 2 GiB `bytes`), stops at the first STOP, and walks through a file object one small
read at a time. This reader keeps one refillable buffer, hands out short arguments as `bytes`,
and *skips* long payloads by seeking (or reading and discarding, on a decompression stream):
memory stays at a few hundred KiB whatever the file holds.

Contract: every `read_*` either returns the argument or raises `Truncated` (the stream ended
inside it). Lengths come from the file and are never trusted for allocation: anything above
`keep` bytes is skipped, not read.
"""

from __future__ import annotations

import io
from typing import IO, Final

__all__ = ["OPCODE_NAMES", "OpReader", "Truncated"]

# Every opcode of protocols 0-5 (pickletools' table, by byte).
OPCODE_NAMES: Final[dict[int, str]] = {
    ord(code): name
    for code, name in (
        ("(", "MARK"),
        (".", "STOP"),
        ("0", "POP"),
        ("1", "POP_MARK"),
        ("2", "DUP"),
        ("F", "FLOAT"),
        ("I", "INT"),
        ("J", "BININT"),
        ("K", "BININT1"),
        ("L", "LONG"),
        ("M", "BININT2"),
        ("N", "NONE"),
        ("P", "PERSID"),
        ("Q", "BINPERSID"),
        ("R", "REDUCE"),
        ("S", "STRING"),
        ("T", "BINSTRING"),
        ("U", "SHORT_BINSTRING"),
        ("V", "UNICODE"),
        ("X", "BINUNICODE"),
        ("a", "APPEND"),
        ("b", "BUILD"),
        ("c", "GLOBAL"),
        ("d", "DICT"),
        ("}", "EMPTY_DICT"),
        ("e", "APPENDS"),
        ("g", "GET"),
        ("h", "BINGET"),
        ("i", "INST"),
        ("j", "LONG_BINGET"),
        ("l", "LIST"),
        ("]", "EMPTY_LIST"),
        ("o", "OBJ"),
        ("p", "PUT"),
        ("q", "BINPUT"),
        ("r", "LONG_BINPUT"),
        ("s", "SETITEM"),
        ("t", "TUPLE"),
        (")", "EMPTY_TUPLE"),
        ("u", "SETITEMS"),
        ("G", "BINFLOAT"),
        ("\x80", "PROTO"),
        ("\x81", "NEWOBJ"),
        ("\x82", "EXT1"),
        ("\x83", "EXT2"),
        ("\x84", "EXT4"),
        ("\x85", "TUPLE1"),
        ("\x86", "TUPLE2"),
        ("\x87", "TUPLE3"),
        ("\x88", "NEWTRUE"),
        ("\x89", "NEWFALSE"),
        ("\x8a", "LONG1"),
        ("\x8b", "LONG4"),
        ("B", "BINBYTES"),
        ("C", "SHORT_BINBYTES"),
        ("\x8c", "SHORT_BINUNICODE"),
        ("\x8d", "BINUNICODE8"),
        ("\x8e", "BINBYTES8"),
        ("\x8f", "EMPTY_SET"),
        ("\x90", "ADDITEMS"),
        ("\x91", "FROZENSET"),
        ("\x92", "NEWOBJ_EX"),
        ("\x93", "STACK_GLOBAL"),
        ("\x94", "MEMOIZE"),
        ("\x95", "FRAME"),
        ("\x96", "BYTEARRAY8"),
        ("\x97", "NEXT_BUFFER"),
        ("\x98", "READONLY_BUFFER"),
    )
}

_SKIP_CHUNK = 1 << 20


class Truncated(Exception):  # noqa: N818 - a condition of the stream, not a caller error
    """The stream ended inside an opcode or its argument."""


class OpReader:
    """Buffered, forward-only access to a binary stream, with `skip` for long payloads.

    `stream` is read from its current position; `offset` counts from there. Seekable streams
    are skipped with `seek` and their end is learnt once, so a length that runs past the end
    is reported as `Truncated` without reading the bytes in between.
    """

    __slots__ = ("_base", "_buf", "_chunk", "_end", "_eof", "_pos", "_stream")

    def __init__(self, stream: IO[bytes], *, chunk_size: int = 1 << 18) -> None:
        self._stream = stream
        self._buf = b""
        self._pos = 0
        self._base = 0  # stream offset of _buf[0], relative to where we started
        self._eof = False
        self._chunk = chunk_size
        self._end: int | None = None
        try:
            if stream.seekable():
                start = stream.tell()
                self._end = stream.seek(0, io.SEEK_END) - start
                stream.seek(start)
        except (OSError, ValueError):
            self._end = None

    @property
    def offset(self) -> int:
        return self._base + self._pos

    def _fill(self, need: int) -> bool:
        """Make `need` bytes available after `_pos`; False if the stream ends first."""
        avail = len(self._buf) - self._pos
        if avail >= need:
            return True
        if self._eof:
            return False
        parts = [self._buf[self._pos :]] if avail else []
        self._base += self._pos
        self._pos = 0
        while avail < need:
            chunk = self._stream.read(max(self._chunk, need - avail))
            if not chunk:
                self._eof = True
                break
            parts.append(chunk)
            avail += len(chunk)
        self._buf = b"".join(parts)
        return avail >= need

    def at_eof(self) -> bool:
        return not self._fill(1)

    def peek(self, n: int) -> bytes:
        """Up to `n` bytes from the current position, without consuming them."""
        self._fill(n)
        return self._buf[self._pos : self._pos + n]

    def opcode(self) -> tuple[int, int]:
        """(offset, byte) of the next opcode: the hot path, one call per opcode."""
        pos = self._pos
        buf = self._buf
        if pos < len(buf):
            self._pos = pos + 1
            return self._base + pos, buf[pos]
        offset = self.offset
        return offset, self.byte()

    def byte(self) -> int:
        pos = self._pos
        if pos < len(self._buf):
            self._pos = pos + 1
            return self._buf[pos]
        if not self._fill(1):
            raise Truncated
        self._pos += 1
        return self._buf[self._pos - 1]

    def take(self, n: int) -> bytes:
        """Exactly `n` bytes; the caller MUST keep `n` small (it is allocated)."""
        pos = self._pos
        if pos + n > len(self._buf) and not self._fill(n):
            raise Truncated
        pos = self._pos
        self._pos = pos + n
        return self._buf[pos : pos + n]

    def skip(self, n: int) -> None:
        """Move past `n` bytes without keeping them."""
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        remaining = n - avail
        self._base += len(self._buf)
        self._buf = b""
        self._pos = 0
        if self._end is not None:
            if self._base + remaining > self._end:
                self._base = self._end
                self._eof = True
                raise Truncated
            self._stream.seek(remaining, io.SEEK_CUR)
            self._base += remaining
            return
        while remaining:
            chunk = self._stream.read(min(remaining, _SKIP_CHUNK))
            if not chunk:
                self._eof = True
                raise Truncated
            remaining -= len(chunk)
            self._base += len(chunk)

    def data(self, n: int, keep: int) -> tuple[bytes, bool]:
        """A length-prefixed payload: (bytes, True) if `n <= keep`, else (first bytes, False).

        Long payloads keep a 64-byte head (for previews) and are skipped.
        """
        if n <= keep:
            return self.take(n), True
        head = self.peek(64)
        self.skip(n)
        return head, False

    def line(self, keep: int) -> tuple[bytes, bool]:
        """Bytes up to (not including) the next newline: (line, True) or (first `keep`, False)."""
        while True:
            end = self._buf.find(b"\n", self._pos)
            if end >= 0 and end - self._pos <= keep:
                out = self._buf[self._pos : end]
                self._pos = end + 1
                return out, True
            if len(self._buf) - self._pos > keep:
                break
            before = len(self._buf) - self._pos
            if not self._fill(before + 1):
                raise Truncated
        head = self._buf[self._pos : self._pos + keep]
        while True:  # discard the rest of an overlong line, chunk by chunk
            end = self._buf.find(b"\n", self._pos)
            if end >= 0:
                self._pos = end + 1
                return head, False
            self._base += len(self._buf)
            self._buf = b""
            self._pos = 0
            if not self._fill(1):
                raise Truncated

    def tail_unread(self) -> int | None:
        """Bytes left after the current position, when the stream's size is known."""
        if self._end is None:
            return None
        return max(self._end - self.offset, 0)
