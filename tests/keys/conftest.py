"""Helpers to build a real KeyService on a temporary SUMUN_HOME (embedded backend)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sumun import config
from sumun.keys.events import MemoryEventSink
from sumun.keys.service import KeyService


@dataclass
class FakeClock:
    """Wall clock and monotonic clock moved by hand, so TTLs are tested without sleeping."""

    now: float = 1_800_000_000.0
    mono: float = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@dataclass
class Deployment:
    home: Path
    settings: config.Settings
    shares: tuple[str, ...]
    clock: FakeClock
    events: MemoryEventSink = field(default_factory=MemoryEventSink)

    def service(self, **kwargs: Any) -> KeyService:
        """Another process's view of the same home (its own caches), unsealed."""
        svc = KeyService(
            self.settings,
            events=self.events,
            clock=self.clock.time,
            monotonic=self.clock.monotonic,
            **kwargs,
        )
        svc.unseal(shares=self.shares[:3])
        return svc


def make_settings(home: Path, **keys: Any) -> config.Settings:
    base = config.load(home=home, env={})
    return base.model_copy(update={"keys": base.keys.model_copy(update=keys)})


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    made: list[KeyService] = []

    def build(**keys: Any) -> Deployment:
        home = tmp_path / f"home{len(made)}"
        settings = make_settings(home, **keys)
        clock = FakeClock()
        events = MemoryEventSink()
        svc = KeyService(settings, events=events, clock=clock.time, monotonic=clock.monotonic)
        result = svc.initialise(custodians=5, threshold=3, actor="test")
        result.master_key.wipe()
        made.append(svc)
        return Deployment(home, settings, result.shares, clock, events)

    yield build
    for svc in made:
        svc.seal()
