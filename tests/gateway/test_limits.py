"""Rate limits and budgets: the same contract for MemoryLimiter and RedisLimiter (against the
real local Redis, one key prefix per test), the sliding-window math on a fake clock, limits
shared across processes, and a Redis that is down failing closed, fast."""

from __future__ import annotations

import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from sumun.config import GatewayConfig
from sumun.errors import (
    BudgetExceededError,
    ConfigError,
    LimiterUnavailableError,
    RateLimitedError,
)
from sumun.gateway.limits import Limiter, MemoryLimiter, RedisLimiter, make_limiter
from sumun.store.model import Limits, Principal, Role

NONE = Limits()
ALICE = Principal("aaaaaaaaaa", "acme", "chat", "alice", Role.USER)
BOB = Principal("bbbbbbbbbb", "acme", "chat", "bob", Role.USER)
CAROL = Principal("cccccccccc", "beta", None, "carol", Role.USER)


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"sumun-test:{secrets.token_hex(6)}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter()
        return
    made = RedisLimiter(
        request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("prefix")
    )
    yield made
    made.close()


def _admitted(limiter: Limiter, who: Principal, tenant: Limits, key: Limits, tries: int) -> int:
    count = 0
    for _ in range(tries):
        try:
            limiter.check(who, tenant, key)
        except RateLimitedError:
            continue
        count += 1
    return count


# -- the contract, for both implementations ----------------------------------------------------


def test_requests_per_minute_per_key(limiter: Limiter) -> None:
    assert _admitted(limiter, ALICE, NONE, Limits(rpm=3), 3) == 3
    with pytest.raises(RateLimitedError, match=r"this API key is at its requests per minute \(3\)"):
        limiter.check(ALICE, NONE, Limits(rpm=3))
    try:
        limiter.check(ALICE, NONE, Limits(rpm=3))
    except RateLimitedError as exc:
        assert (exc.scope, exc.dimension, exc.status) == ("key", "rpm", 429)
        assert 0 < exc.retry_after <= 120  # at most: this window's rest and the next one's
    assert _admitted(limiter, BOB, NONE, Limits(rpm=3), 3) == 3  # another key: its own count


def test_tenant_limits_are_shared_by_its_keys(limiter: Limiter) -> None:
    tenant = Limits(rpm=4)
    assert _admitted(limiter, ALICE, tenant, NONE, 2) == 2
    assert _admitted(limiter, BOB, tenant, NONE, 2) == 2
    with pytest.raises(
        RateLimitedError, match="tenant 'acme' is at its requests per minute"
    ) as info:
        limiter.check(ALICE, tenant, NONE)
    assert info.value.scope == "tenant"
    assert _admitted(limiter, CAROL, tenant, NONE, 4) == 4  # another tenant


def test_a_refusal_consumes_nothing_at_the_other_level(limiter: Limiter) -> None:
    tenant, key = Limits(rpm=3), Limits(rpm=2)
    assert _admitted(limiter, ALICE, tenant, key, 5) == 2  # 3 refusals by the key limit
    limiter.check(BOB, tenant, key)  # the tenant has counted 2, not 5
    with pytest.raises(RateLimitedError) as info:
        limiter.check(BOB, tenant, key)
    assert info.value.scope == "tenant"


def test_tokens_per_minute(limiter: Limiter) -> None:
    limiter.check(ALICE, NONE, Limits(tpm=100))
    limiter.record_tokens(ALICE, 99)
    limiter.check(ALICE, NONE, Limits(tpm=100))  # room for one more token
    limiter.record_tokens(ALICE, 1)
    with pytest.raises(RateLimitedError, match="tokens per minute") as info:
        limiter.check(ALICE, NONE, Limits(tpm=100))
    assert info.value.dimension == "tpm" and info.value.retry_after > 0
    with pytest.raises(RateLimitedError, match="tenant 'acme'"):
        limiter.check(BOB, Limits(tpm=100), NONE)  # Alice's tokens count for her tenant too
    limiter.check(BOB, NONE, Limits(tpm=100))
    limiter.record_tokens(ALICE, 0)


def test_token_budgets(limiter: Limiter) -> None:
    limiter.record_tokens(ALICE, 999)
    limiter.check(ALICE, NONE, Limits(token_budget=1000))
    limiter.record_tokens(ALICE, 5)  # crossing the budget: counted after the answer
    with pytest.raises(BudgetExceededError, match="this API key has used its 1000 tokens") as info:
        limiter.check(ALICE, NONE, Limits(token_budget=1000))
    assert info.value.scope == "key" and info.value.status == 429
    assert not hasattr(info.value, "retry_after")  # waiting does not help
    with pytest.raises(BudgetExceededError, match="tenant 'acme' has used its 1004 tokens"):
        limiter.check(BOB, Limits(token_budget=1004), NONE)
    limiter.check(BOB, Limits(token_budget=1005), Limits(token_budget=1))
    limiter.check(CAROL, Limits(token_budget=1), NONE)


def test_budget_refusal_wins_over_rate_and_counts_nothing(limiter: Limiter) -> None:
    limiter.record_tokens(ALICE, 10)
    with pytest.raises(BudgetExceededError):
        limiter.check(ALICE, Limits(rpm=1), Limits(token_budget=10))
    limiter.check(ALICE, Limits(rpm=1), NONE)  # the refused request used no rpm


def test_no_limits_means_no_refusal(limiter: Limiter) -> None:
    assert _admitted(limiter, ALICE, NONE, NONE, 200) == 200
    limiter.record_tokens(ALICE, 10**9)
    limiter.check(ALICE, NONE, NONE)
    with pytest.raises(ValueError, match="must not be negative"):
        limiter.record_tokens(ALICE, -1)


# -- the sliding window on a fake clock --------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_retry_after_is_exact_for_the_sliding_window() -> None:
    clock = Clock(6000.0)  # the start of a window
    memory = MemoryLimiter(clock=clock)
    key = Limits(rpm=10)
    assert _admitted(memory, ALICE, NONE, key, 10) == 10
    with pytest.raises(RateLimitedError) as info:
        memory.check(ALICE, NONE, key)
    # Next window: 10 * (1 - f) + 1 <= 10 once f >= 0.1: 60 s + 6 s from now.
    assert info.value.retry_after == pytest.approx(66.0)
    clock.now += 65.9
    with pytest.raises(RateLimitedError) as info:
        memory.check(ALICE, NONE, key)
    assert info.value.retry_after == pytest.approx(0.1)
    clock.now += 0.1
    memory.check(ALICE, NONE, key)
    with pytest.raises(RateLimitedError) as info:  # 9 (decayed) + 1 counted = 10
        memory.check(ALICE, NONE, key)
    assert info.value.retry_after == pytest.approx(6.0)  # the previous window decays by 1
    clock.now += 6.0
    memory.check(ALICE, NONE, key)


def test_no_cliff_at_the_window_boundary() -> None:
    clock = Clock(6059.9)  # just before a fixed window would reset
    memory = MemoryLimiter(clock=clock)
    assert _admitted(memory, ALICE, NONE, Limits(rpm=10), 10) == 10
    clock.now += 0.2  # a fixed window would now admit another 10 at once
    assert _admitted(memory, ALICE, NONE, Limits(rpm=10), 10) == 0
    clock.now += 30  # half the burst has slid out of the last minute
    assert _admitted(memory, ALICE, NONE, Limits(rpm=10), 10) == 5
    clock.now += 120
    assert _admitted(memory, ALICE, NONE, Limits(rpm=10), 20) == 10


def test_tokens_slide_out_of_the_window() -> None:
    clock = Clock(6000.0)
    memory = MemoryLimiter(clock=clock)
    memory.record_tokens(ALICE, 5000)  # one large answer, far over a tpm of 1000
    with pytest.raises(RateLimitedError) as info:
        memory.check(ALICE, NONE, Limits(tpm=1000))
    clock.now += info.value.retry_after - 0.01
    with pytest.raises(RateLimitedError):
        memory.check(ALICE, NONE, Limits(tpm=1000))
    clock.now += 0.01
    memory.check(ALICE, NONE, Limits(tpm=1000))


# -- Redis: live windows, shared across processes, down -----------------------------------------


def test_redis_window_recovers_after_retry_after(redis_url: str, prefix: str) -> None:
    fast = RedisLimiter(redis_url, prefix=prefix, window_seconds=0.5)
    try:
        assert _admitted(fast, ALICE, NONE, Limits(rpm=2), 2) == 2
        with pytest.raises(RateLimitedError) as info:
            fast.check(ALICE, NONE, Limits(rpm=2))
        assert 0 < info.value.retry_after <= 1.0
        time.sleep(info.value.retry_after + 0.02)
        fast.check(ALICE, NONE, Limits(rpm=2))
        client = redis.Redis.from_url(redis_url)
        ttl = client.pttl(f"{prefix}:k:{ALICE.key_id}:rpm")
        client.close()
        assert 0 < ttl <= 1000  # counters expire after two windows
    finally:
        fast.close()


_CHILD = """
import sys
from sumun.errors import RateLimitedError
from sumun.gateway.limits import RedisLimiter
from sumun.store.model import Limits, Principal, Role
limiter = RedisLimiter(sys.argv[1], prefix=sys.argv[2])
who = Principal("aaaaaaaaaa", "acme", None, None, Role.USER)
print("ready", flush=True)
sys.stdin.readline()
admitted = 0
for _ in range(int(sys.argv[3])):
    try:
        limiter.check(who, Limits(rpm=int(sys.argv[4])), Limits())
        admitted += 1
    except RateLimitedError:
        pass
print(admitted, flush=True)
"""


def test_limits_hold_across_processes_and_clients(redis_url: str, prefix: str) -> None:
    limit, tries = 60, 100
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, redis_url, prefix, str(tries), str(limit)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    ours = [RedisLimiter(redis_url, prefix=prefix) for _ in range(2)]
    counts: list[int] = []
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        threads = [
            threading.Thread(
                target=lambda lim=lim: counts.append(
                    _admitted(lim, ALICE, Limits(rpm=limit), NONE, tries)
                )
            )
            for lim in ours
        ]
        child.stdin.write("go\n")
        child.stdin.flush()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        counts.append(int(child.stdout.readline()))
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.wait()
        for lim in ours:
            lim.close()
    assert sum(counts) == limit  # 300 attempts from 3 clients in 2 processes: exactly 60 pass


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redis_down_fails_closed_fast_and_keeps_the_password_out() -> None:
    port = _closed_port()
    down = RedisLimiter(f"redis://:hunter2secret@127.0.0.1:{port}/0")
    try:
        start = time.monotonic()
        with pytest.raises(LimiterUnavailableError, match=f"127.0.0.1:{port} cannot be reached"):
            down.check(ALICE, NONE, Limits(rpm=100))
        assert time.monotonic() - start < 0.5
        with pytest.raises(LimiterUnavailableError, match="failed moments ago") as info:
            down.check(ALICE, NONE, Limits(rpm=100))
        assert info.value.status == 503
        assert "refuses traffic" in str(info.value)
        with pytest.raises(LimiterUnavailableError):
            down.record_tokens(ALICE, 10)
        for text in (str(info.value), repr(down), repr(info.value.__cause__)):
            assert "hunter2secret" not in text
        down.check(ALICE, NONE, NONE)  # nothing to enforce needs no Redis
    finally:
        down.close()


def test_a_connection_closed_by_redis_is_replaced(redis_url: str, prefix: str) -> None:
    name = f"test-{secrets.token_hex(4)}"
    limiter = RedisLimiter(redis_url, prefix=prefix, client_name=name)
    try:
        limiter.check(ALICE, NONE, Limits(rpm=100))
        client = redis.Redis.from_url(redis_url)
        killed = [
            client.client_kill_filter(_id=str(info["id"]))
            for info in client.client_list()
            if info.get("name") == name
        ]
        client.close()
        assert killed
        limiter.check(ALICE, NONE, Limits(rpm=100))  # one retry replaces the dead connection
    finally:
        limiter.close()


def test_a_bad_redis_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a Redis URL") as info:
        RedisLimiter("http://:hunter2secret@127.0.0.1/0")
    assert "hunter2secret" not in str(info.value)


def test_make_limiter_follows_the_config(redis_url: str) -> None:
    memory = make_limiter(GatewayConfig())
    shared = make_limiter(GatewayConfig(redis_url=redis_url))
    try:
        assert isinstance(memory, MemoryLimiter) and isinstance(shared, RedisLimiter)
        assert isinstance(memory, Limiter) and isinstance(shared, Limiter)
    finally:
        memory.close()
        shared.close()


def _median_micros(limiter: Limiter, n: int) -> float:
    big = Limits(rpm=10**9, tpm=10**9, token_budget=10**15)
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            limiter.check(ALICE, big, big)
        rounds.append((time.perf_counter() - start) / n)
    return statistics.median(rounds) * 1e6


def test_check_latency(redis_url: str, prefix: str) -> None:
    memory = MemoryLimiter()
    shared = RedisLimiter(redis_url, prefix=prefix)
    try:
        mem_us, redis_us = _median_micros(memory, 20_000), _median_micros(shared, 1_000)
    finally:
        shared.close()
    print(f"\nMemoryLimiter.check: {mem_us:.1f} us; RedisLimiter.check: {redis_us:.0f} us")
    assert mem_us < 50
    assert redis_us < 5_000


# -- reservations: a budget is a ceiling (issue 12) --------------------------------------------


def test_a_reservation_is_charged_at_admission_and_settled_to_what_was_used(
    limiter: Limiter,
) -> None:
    budget = Limits(token_budget=100)
    assert limiter.check(ALICE, NONE, budget, reserve=60).reserved == 60
    with pytest.raises(BudgetExceededError, match=r"has 40 of its 100 tokens left.*up to 60"):
        limiter.check(ALICE, NONE, budget, reserve=60)
    limiter.settle(ALICE, 60, 20)  # the answer used 20: 40 come back
    assert limiter.check(ALICE, NONE, budget, reserve=60).reserved == 60  # 20 + 60
    limiter.settle(ALICE, 60, 60)  # nothing reported (a cut stream): the reservation stands
    with pytest.raises(BudgetExceededError):
        limiter.check(ALICE, NONE, budget, reserve=30)  # 80 + 30 > 100
    assert limiter.check(ALICE, NONE, budget, reserve=20).reserved == 20
    # Without a budget nothing is reserved: the tokens are counted when settled, as before.
    assert limiter.check(CAROL, NONE, NONE, reserve=500).reserved == 0


def test_concurrent_requests_cannot_spend_a_budget_twice(
    limiter: Limiter, request: pytest.FixtureRequest
) -> None:
    """50 at once on a 100-token budget used to serve 910 tokens; now 10 x 10 fit, no more."""
    limiters = [limiter]
    if isinstance(limiter, RedisLimiter):  # a second process on the same Redis
        limiters.append(
            RedisLimiter(
                request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("prefix")
            )
        )
    admitted: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        try:
            charged = (
                limiters[i % len(limiters)]
                .check(ALICE, Limits(token_budget=100), NONE, reserve=10)
                .reserved
            )
        except BudgetExceededError:
            return
        with lock:
            admitted.append(charged)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sum(admitted) == 100 and len(admitted) == 10
    for extra in limiters[1:]:
        extra.close()


def test_used_reads_what_each_budget_was_charged(limiter: Limiter) -> None:
    assert limiter.used("key", [ALICE.key_id, BOB.key_id]) == {ALICE.key_id: 0, BOB.key_id: 0}
    reserved = limiter.check(ALICE, NONE, Limits(token_budget=1000), reserve=300).reserved
    assert limiter.used("key", [ALICE.key_id]) == {ALICE.key_id: 300}  # in flight: reserved
    limiter.settle(ALICE, reserved, 120)
    limiter.record_tokens(BOB, 7)
    assert limiter.used("key", [ALICE.key_id, BOB.key_id]) == {ALICE.key_id: 120, BOB.key_id: 7}
    assert limiter.used("tenant", ["acme", "beta"]) == {"acme": 127, "beta": 0}
    assert limiter.used("tenant", []) == {}
