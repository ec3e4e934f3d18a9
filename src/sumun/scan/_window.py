"""A seekable, read-only window onto bytes [start, start+length) of another seekable stream.

Zip members stored without compression, tar members and archive members spooled to disk are
read through it, so a multi-GB member is never copied: a reader that skips a payload seeks.
"""

from __future__ import annotations

import io
from typing import IO

__all__ = ["Window"]


class Window(io.RawIOBase):
    """Bytes [start, start+length) of `stream`. Closes `stream` on close when it `owns` it."""

    def __init__(self, stream: IO[bytes], start: int, length: int, *, owns: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self._start = start
        self._length = length
        self._owns = owns
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        n = min(len(view), self._length - self._pos)
        if n <= 0:
            return 0
        self._stream.seek(self._start + self._pos)
        data = self._stream.read(n)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if self._owns and not self.closed:
            self._stream.close()
        super().close()
