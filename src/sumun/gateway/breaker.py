"""Per-provider circuit breakers: stop sending traffic to a provider that keeps failing.

    CLOSED --(`failures` consecutive failures)--> OPEN
    OPEN --(`cooldown` seconds pass)--> HALF_OPEN: exactly one trial request is let through
    HALF_OPEN --trial succeeds--> CLOSED      HALF_OPEN --trial fails--> OPEN (a new cool-down)

A trial whose outcome is never reported (a cancelled request) does not wedge the breaker: after
another `cooldown` a new trial is allowed. Outcomes reported while OPEN come from requests that
started before the breaker opened; they say nothing about the provider now and are ignored.

Breakers are per process: each worker learns about a failing provider from its own traffic,
which is quick and needs no shared state. The clock is injectable (monotonic by default).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sumun.config import GatewayConfig

__all__ = ["Breaker", "BreakerState"]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    opened_at: float | None = None  # None: closed
    trial_at: float | None = None  # when the half-open trial was let through


class Breaker:
    """Thread-safe; one circuit per provider name, created closed on first use."""

    def __init__(
        self,
        failures: int = 5,
        cooldown_seconds: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1:
            raise ValueError("failures must be at least 1")
        if cooldown_seconds <= 0:
            raise ValueError("cooldown_seconds must be positive")
        self._threshold = failures
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}

    @classmethod
    def from_config(
        cls, config: GatewayConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> Breaker:
        return cls(config.breaker_failures, config.breaker_cooldown_seconds, clock=clock)

    def _circuit(self, name: str) -> _Circuit:
        return self._circuits.setdefault(name, _Circuit())

    def _state(self, circuit: _Circuit, now: float) -> BreakerState:
        if circuit.opened_at is None:
            return BreakerState.CLOSED
        if now - circuit.opened_at < self._cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def state(self, name: str) -> BreakerState:
        with self._lock:
            return self._state(self._circuit(name), self._clock())

    def allow(self, name: str) -> bool:
        """May a request go to `name` now? In HALF_OPEN, True once per trial."""
        with self._lock:
            circuit = self._circuit(name)
            now = self._clock()
            state = self._state(circuit, now)
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.OPEN:
                return False
            if circuit.trial_at is not None and now - circuit.trial_at < self._cooldown:
                return False  # a trial is in flight
            circuit.trial_at = now
            return True

    def record_success(self, name: str) -> None:
        with self._lock:
            circuit = self._circuit(name)
            state = self._state(circuit, self._clock())
            if state is BreakerState.CLOSED:
                circuit.failures = 0
            elif state is BreakerState.HALF_OPEN and circuit.trial_at is not None:
                self._circuits[name] = _Circuit()  # the trial worked: close

    def record_failure(self, name: str) -> None:
        with self._lock:
            circuit = self._circuit(name)
            now = self._clock()
            state = self._state(circuit, now)
            if state is BreakerState.CLOSED:
                circuit.failures += 1
                if circuit.failures >= self._threshold:
                    circuit.opened_at = now
            elif state is BreakerState.HALF_OPEN and circuit.trial_at is not None:
                circuit.opened_at = now  # the trial failed: open again, a fresh cool-down
                circuit.trial_at = None
