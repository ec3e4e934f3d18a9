"""SHA-256 of a large file on a background thread, overlapping the file's analysis.

hashlib releases the GIL while it hashes a buffer larger than 2 KiB, and `walk.sha256` reads
1 MiB at a time into one reused buffer, so a thread hashing a multi-megabyte model file runs
beside the analyzer (pure Python, holding the GIL) on another core instead of after it. The
engine starts one per large top-level model or data file as soon as the file is identified, and
takes the digest when it assembles the file's components. The thread is a daemon: a file whose
analysis times out does not keep the process alive for the rest of its hash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import IO

from sumun.scan import walk

__all__ = ["BACKGROUND_MIN_BYTES", "BackgroundHash"]

BACKGROUND_MIN_BYTES = 8 << 20  # below this a thread costs more than the overlap saves


class BackgroundHash:
    """`result()` is the hex SHA-256 of what `opener()` returns (or the exception it raised)."""

    def __init__(self, opener: Callable[[], IO[bytes]]) -> None:
        self._opener = opener
        self._digest: str | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="sumun-scan-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._opener() as stream:
                self._digest = walk.sha256(stream)
        except Exception as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None  # noqa: S101 - set whenever _error is not
        return self._digest
