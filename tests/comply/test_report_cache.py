"""The report cache's rules (admin.http.compliance_cache): single flight, staleness, failures.

The builder is a stand-in that blocks on an event until the test lets it finish, and the clock
is a number the test moves, so every state — nothing yet, being prepared, fresh, stale and
refreshing, failed — is reached on purpose, without sleeping for minutes.
"""

from __future__ import annotations

import threading

import pytest

from sumun.admin.http.compliance_cache import ReportCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Builder:
    """Counts its calls; each call waits for `release` and answers (value, ledger size)."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self.release = threading.Event()
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, int]:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            n = self.calls
        try:
            assert self.release.wait(10), "the test never released the builder"
            if self.fail is not None:
                raise self.fail
            return f"report {n}", 1000 * n
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def parts() -> tuple[Builder, Clock, ReportCache[str]]:
    build, clock = Builder(), Clock()
    return build, clock, ReportCache(build, max_age=300.0, retry_after=30.0, clock=clock)


def test_the_first_ask_starts_one_computation_and_every_ask_joins_it(
    parts: tuple[Builder, Clock, ReportCache[str]],
) -> None:
    build, _clock, cache = parts
    asks = [cache.snapshot() for _ in range(5)]
    for snap in asks:  # being prepared: no value, one computation running
        assert snap.last is None and snap.refreshing and snap.stale
    build.release.set()
    done = cache.wait(5)
    assert build.calls == 1 and build.most_at_once == 1
    assert done.last is not None and done.last.value == "report 1"
    assert done.last.ledger_size == 1000 and done.last.computed_at == 1_000.0
    assert not done.refreshing and not done.stale and done.error is None


def test_refreshes_asked_during_a_computation_queue_exactly_one_more(
    parts: tuple[Builder, Clock, ReportCache[str]],
) -> None:
    build, clock, cache = parts
    cache.snapshot()
    clock.now += 1.0  # the change the asker wants to see happens after the first one started
    for _ in range(4):
        assert cache.refresh().refreshing
    build.release.set()
    done = cache.wait(5)
    assert build.calls == 2 and build.most_at_once == 1  # one after the other, not five
    assert done.last is not None and done.last.value == "report 2"
    assert done.last.computed_at == 1_001.0 and not done.refreshing


def test_threads_asking_at_once_never_run_two_computations(
    parts: tuple[Builder, Clock, ReportCache[str]],
) -> None:
    build, _clock, cache = parts
    start = threading.Barrier(16)

    def ask() -> None:
        start.wait()
        cache.refresh()

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    build.release.set()
    assert cache.wait(5).last is not None
    assert build.calls == 2 and build.most_at_once == 1  # the first, and one queued after it


def test_a_fresh_value_is_served_without_recomputing_and_a_stale_one_while_refreshing(
    parts: tuple[Builder, Clock, ReportCache[str]],
) -> None:
    build, clock, cache = parts
    build.release.set()
    cache.snapshot()
    cache.wait(5)
    clock.now += 299.0  # within the freshness bound
    fresh = cache.snapshot()
    assert fresh.last is not None and fresh.last.value == "report 1"
    assert not fresh.stale and not fresh.refreshing and build.calls == 1

    build.release.clear()
    clock.now += 2.0  # 301 s old: served, marked stale, and a refresh starts
    stale = cache.snapshot()
    assert stale.last is not None and stale.last.value == "report 1"
    assert stale.stale and stale.refreshing and stale.refresh_started_at == clock.now
    assert cache.snapshot().refreshing and build.calls == 2  # joined, not a third
    build.release.set()
    renewed = cache.wait(5)
    assert renewed.last is not None and renewed.last.value == "report 2"
    assert renewed.last.ledger_size == 2000 and not renewed.stale


def test_refresh_recomputes_a_fresh_value_on_request(
    parts: tuple[Builder, Clock, ReportCache[str]],
) -> None:
    build, _clock, cache = parts
    build.release.set()
    cache.snapshot()
    cache.wait(5)
    assert not cache.snapshot().refreshing  # fresh: no computation
    cache.refresh()
    assert cache.wait(5).last is not None
    assert build.calls == 2 and cache.snapshot().last.value == "report 2"  # type: ignore[union-attr]


def test_a_failure_keeps_the_last_value_and_is_retried_only_after_a_pause(
    parts: tuple[Builder, Clock, ReportCache[str]],
) -> None:
    build, clock, cache = parts
    build.fail = RuntimeError("ledger store unreachable")
    build.release.set()
    cache.snapshot()
    failed = cache.wait(5)
    assert failed.last is None and not failed.refreshing
    assert failed.error == "RuntimeError: ledger store unreachable"
    clock.now += 10.0  # too soon: asking does not start another
    assert not cache.snapshot().refreshing and build.calls == 1
    clock.now += 25.0  # past retry_after: the next ask tries again
    build.fail = None
    cache.snapshot()
    ok = cache.wait(5)
    assert build.calls == 2 and ok.last is not None and ok.error is None

    build.fail = RuntimeError("again")
    cache.refresh()
    kept = cache.wait(5)
    assert kept.last is not None and kept.last.value == "report 2"  # the previous value stays
    assert kept.error == "RuntimeError: again"


def test_wait_gives_up_after_its_bound(parts: tuple[Builder, Clock, ReportCache[str]]) -> None:
    build, _clock, cache = parts
    cache.snapshot()
    still = cache.wait(0.05)
    assert still.last is None and still.refreshing
    build.release.set()
    assert cache.wait(5).last is not None
