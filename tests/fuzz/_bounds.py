"""Per-example bounds for fuzz tests: wall time (SIGALRM) and allocated memory (tracemalloc).

`within(seconds)` raises `Overran` — a BaseException, so no `except Exception` in the code
under test can swallow it — when the block runs longer than `seconds`. It shares SIGALRM with
pytest-timeout: the outer alarm is never extended — when it is due first, its own handler runs
— and it is re-armed afterwards with the time it had left.
"""

from __future__ import annotations

import signal
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Overran", "peak_bytes", "within"]


class Overran(BaseException):
    """The block ran past its time bound (a hang, or super-linear work)."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        if outer_first and callable(previous):
            previous(signum, frame)
            return
        raise Overran(f"example ran longer than {seconds} s")

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    outer, _interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    outer_first = 0 < outer < seconds
    if outer_first:  # the outer alarm (pytest-timeout) is due first: keep its time
        signal.setitimer(signal.ITIMER_REAL, outer)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


@contextmanager
def peak_bytes() -> Iterator[list[int]]:
    """Yields a list that holds, after the block, the peak bytes Python allocated inside it."""
    found: list[int] = []
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield found
    finally:
        found.append(tracemalloc.get_traced_memory()[1] - base)
        if started:
            tracemalloc.stop()
