"""A per-process cache of one expensive value, computed in a background thread.

Why: the compliance report verifies the whole ledger (`comply.live.assess_deployment`), which
takes tens of seconds at a million entries — far too long for a page or an API call to wait
on. So the admin API answers from the last report this process computed, says how old it is,
and computes the next one in the background:

- single flight: at most one computation runs at a time; asking while one runs joins it, and
  asking for a refresh while one runs queues one more to start when it ends (it may have read
  the state before the change the asker wants to see) — never more than one queued;
- fresh for `max_age` seconds; an older value is still served (`stale`), and asking for it
  starts a refresh in the background;
- a failed computation keeps the previous value and records its error for the next answer;
  without a value, it is tried again automatically only after `retry_after` seconds (asking
  with `refresh` tries at once).

The builder returns the value and the ledger size it covers; the clock is injected so the
staleness rules are testable without waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Computed", "ReportCache", "Snapshot"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Computed(Generic[T]):
    value: T
    computed_at: float  # the clock when the computation started (the state it describes)
    ledger_size: int
    seconds: float  # how long it took


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[T]):
    """What the cache holds at one moment: the last value (if any) and what is under way."""

    last: Computed[T] | None
    stale: bool  # older than max_age (or none yet)
    refreshing: bool
    refresh_started_at: float | None
    error: str | None  # the last computation's failure, if it failed


class ReportCache(Generic[T]):
    def __init__(
        self,
        build: Callable[[], tuple[T, int]],
        *,
        max_age: float = 300.0,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.time,
        name: str = "compliance-report",
    ) -> None:
        self._build = build
        self._max_age = max_age
        self._retry_after = retry_after
        self._failed_at: float | None = None
        self._clock = clock
        self._name = name
        self._lock = threading.Lock()
        self._last: Computed[T] | None = None
        self._error: str | None = None
        self._running: threading.Thread | None = None
        self._again = False  # a refresh was asked for while a computation ran
        self._started_at: float | None = None
        self._done = threading.Condition(self._lock)

    def snapshot(self, *, refresh: bool = False) -> Snapshot[T]:
        """The cache now; starts a background computation when there is no value, when it is
        stale, or when `refresh` asks for one (single flight: never two at once)."""
        with self._lock:
            if refresh and self._running is not None:
                self._again = True
            elif refresh or self._due():
                self._start()
            return self._snapshot()

    def refresh(self) -> Snapshot[T]:
        return self.snapshot(refresh=True)

    def wait(self, timeout: float) -> Snapshot[T]:
        """Wait up to `timeout` seconds for a running computation to end (without starting
        one), then the cache as it is."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._running is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._done.wait(left)
            return self._snapshot()

    def _due(self) -> bool:
        """Stale, and not a failure too recent to try again."""
        failed = self._failed_at
        recent_failure = failed is not None and self._clock() - failed < self._retry_after
        return self._is_stale() and not recent_failure

    def _is_stale(self) -> bool:
        last = self._last
        return last is None or self._clock() - last.computed_at > self._max_age

    def _snapshot(self) -> Snapshot[T]:
        return Snapshot(
            last=self._last,
            stale=self._is_stale(),
            refreshing=self._running is not None,
            refresh_started_at=self._started_at if self._running is not None else None,
            error=self._error,
        )

    def _start(self) -> None:
        """Under the lock: one computation thread, unless one runs already."""
        if self._running is not None:
            return
        self._started_at = self._clock()
        thread = threading.Thread(target=self._compute, name=self._name, daemon=True)
        self._running = thread
        thread.start()

    def _compute(self) -> None:
        started, clock_started = time.monotonic(), self._clock()
        computed: Computed[T] | None = None
        error: str | None = None
        try:
            value, size = self._build()
            computed = Computed(value, clock_started, size, time.monotonic() - started)
        except Exception as exc:  # kept and shown; the previous value stays
            log.exception("%s: computation failed", self._name)
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if computed is not None:
                self._last = computed
            self._error = error
            self._failed_at = None if error is None else self._clock()
            self._running = None
            if self._again:
                self._again = False
                self._start()
            self._done.notify_all()
