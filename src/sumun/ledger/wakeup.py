"""Waking asyncio waiters from the ledger's writer thread, once per batch rather than per entry.

`Ledger.append_async` awaits a future that the writer thread resolves when the entry is
durable. `loop.call_soon_threadsafe` writes to the loop's self-pipe on every call: with one
call per entry a batch of N commits costs N system calls and N loop wake-ups. A `LoopWaker`
collects the futures a batch resolves and schedules one callback for all of them: the first
resolution of a batch schedules it, the rest only append.
"""

from __future__ import annotations

import asyncio
import threading

__all__ = ["LoopWaker"]


class LoopWaker:
    """Resolves futures of one event loop from other threads, one loop callback per burst."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[asyncio.Future[None]] = []
        self._scheduled = False

    def resolve(self, future: asyncio.Future[None]) -> None:
        """Called from any thread: `future` gets its result on its loop, soon."""
        with self._lock:
            self._pending.append(future)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._flush)
        except RuntimeError:  # the loop was closed: nobody is waiting any more
            with self._lock:
                self._pending.clear()
                self._scheduled = False

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._scheduled = False
        for future in pending:
            if not future.done():  # a waiter that timed out cancelled its future
                future.set_result(None)
