"""The per-provider circuit breaker, driven by a fake clock."""

from __future__ import annotations

import threading

import pytest

from sumun.config import GatewayConfig
from sumun.gateway.breaker import Breaker, BreakerState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> Breaker:
    return Breaker(3, 10.0, clock=clock)


def _fail(breaker: Breaker, name: str, times: int) -> None:
    for _ in range(times):
        breaker.record_failure(name)


def test_opens_after_consecutive_failures_only(breaker: Breaker) -> None:
    _fail(breaker, "vllm", 2)
    breaker.record_success("vllm")  # resets the run
    _fail(breaker, "vllm", 2)
    assert breaker.state("vllm") is BreakerState.CLOSED and breaker.allow("vllm")
    breaker.record_failure("vllm")
    assert breaker.state("vllm") is BreakerState.OPEN
    assert not breaker.allow("vllm")
    assert breaker.state("azure") is BreakerState.CLOSED  # per provider
    assert breaker.allow("azure")


def test_half_open_lets_exactly_one_trial_through(breaker: Breaker, clock: Clock) -> None:
    _fail(breaker, "vllm", 3)
    clock.now += 9.99
    assert breaker.state("vllm") is BreakerState.OPEN and not breaker.allow("vllm")
    clock.now += 0.01
    assert breaker.state("vllm") is BreakerState.HALF_OPEN
    assert breaker.allow("vllm")  # the trial
    assert not breaker.allow("vllm")  # everyone else waits for its outcome
    breaker.record_success("vllm")
    assert breaker.state("vllm") is BreakerState.CLOSED
    assert breaker.allow("vllm") and breaker.allow("vllm")
    _fail(breaker, "vllm", 2)  # the failure count starts again from zero after closing
    assert breaker.state("vllm") is BreakerState.CLOSED


def test_failed_trial_reopens_with_a_fresh_cooldown(breaker: Breaker, clock: Clock) -> None:
    _fail(breaker, "vllm", 3)
    clock.now += 10
    assert breaker.allow("vllm")
    breaker.record_failure("vllm")
    assert breaker.state("vllm") is BreakerState.OPEN
    clock.now += 9
    assert not breaker.allow("vllm")
    clock.now += 1
    assert breaker.state("vllm") is BreakerState.HALF_OPEN and breaker.allow("vllm")


def test_a_lost_trial_does_not_wedge_the_breaker(breaker: Breaker, clock: Clock) -> None:
    _fail(breaker, "vllm", 3)
    clock.now += 10
    assert breaker.allow("vllm")  # the trial never reports (cancelled)
    clock.now += 5
    assert not breaker.allow("vllm")
    clock.now += 5
    assert breaker.allow("vllm")  # a new trial after another cool-down


def test_outcomes_reported_while_open_are_ignored(breaker: Breaker, clock: Clock) -> None:
    _fail(breaker, "vllm", 3)
    clock.now += 1
    breaker.record_success("vllm")  # a request that started before the breaker opened
    assert breaker.state("vllm") is BreakerState.OPEN
    breaker.record_failure("vllm")
    clock.now += 9
    assert breaker.state("vllm") is BreakerState.HALF_OPEN  # the cool-down was not extended
    breaker.record_success("vllm")  # no trial let through yet: still not proof of health
    assert breaker.state("vllm") is BreakerState.HALF_OPEN


def test_from_config_and_bad_arguments(clock: Clock) -> None:
    breaker = Breaker.from_config(
        GatewayConfig(breaker_failures=1, breaker_cooldown_seconds=2.5), clock=clock
    )
    breaker.record_failure("x")
    assert breaker.state("x") is BreakerState.OPEN
    clock.now += 2.5
    assert breaker.state("x") is BreakerState.HALF_OPEN
    with pytest.raises(ValueError, match="failures must be at least 1"):
        Breaker(0, 1.0)
    with pytest.raises(ValueError, match="cooldown_seconds must be positive"):
        Breaker(1, 0)


def test_one_trial_among_many_threads(breaker: Breaker, clock: Clock) -> None:
    _fail(breaker, "vllm", 3)
    clock.now += 10
    allowed: list[bool] = []
    barrier = threading.Barrier(16)

    def attempt() -> None:
        barrier.wait()
        allowed.append(breaker.allow("vllm"))

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 1
