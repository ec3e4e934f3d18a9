"""Spend budgets in the limiter: the same contract for MemoryLimiter and RedisLimiter (against
the local Redis at 127.0.0.1:6379, tests/fixtures/redis.py) — charged at admission in the same
atomic step as the other limits, settled to the answer's cost, refused 429 with the amounts."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import pytest
import redis

from sumun.errors import BudgetExceededError, RateLimitedError
from sumun.gateway.limits import Limiter, MemoryLimiter, RedisLimiter
from sumun.store.model import Limits, Principal, Role

NONE = Limits()
ALICE = Principal("aaaaaaaaaa", "acme", "chat", "alice", Role.USER)
BOB = Principal("bbbbbbbbbb", "acme", "chat", "bob", Role.USER)
WON = 1_000_000  # micro-units in a won
KRW_100 = Limits(spend_budget=100 * WON, spend_currency="KRW")


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


def test_a_spend_budget_holds_the_estimate_and_settles_to_the_cost(limiter: Limiter) -> None:
    admitted = limiter.check(ALICE, NONE, KRW_100, spend={"KRW": 60 * WON, "USD": 1})
    [hold] = admitted.spend
    assert (hold.scope, hold.currency, hold.micros) == ("key", "KRW", 60 * WON)
    assert limiter.spent("key", [ALICE.key_id], "KRW") == {ALICE.key_id: 60 * WON}
    # A second request of ₩60 does not fit while the first is in flight ...
    with pytest.raises(BudgetExceededError, match="₩40 of its ₩100 left") as refused:
        limiter.check(ALICE, NONE, KRW_100, spend={"KRW": 60 * WON})
    assert refused.value.scope == "key"
    assert "spend budget" in str(refused.value.advice)
    # ... and does once the first has cost what it really cost.
    limiter.settle_spend(ALICE, [(hold, 15 * WON)])
    assert limiter.spent("key", [ALICE.key_id], "KRW") == {ALICE.key_id: 15 * WON}
    again = limiter.check(ALICE, NONE, KRW_100, spend={"KRW": 60 * WON})
    limiter.settle_spend(ALICE, [(again.spend[0], again.spend[0].micros)])  # nothing reported
    assert limiter.spent("key", [ALICE.key_id], "KRW") == {ALICE.key_id: 75 * WON}


def test_a_spent_budget_refuses_even_a_free_request(limiter: Limiter) -> None:
    [hold] = limiter.check(ALICE, NONE, KRW_100, spend={"KRW": 100 * WON}).spend
    limiter.settle_spend(ALICE, [(hold, 100 * WON)])
    with pytest.raises(BudgetExceededError, match="spend budget spent: this API key has used"):
        limiter.check(ALICE, NONE, KRW_100, spend={"KRW": 0})


def test_the_tenants_budget_is_shared_and_each_level_has_its_currency(limiter: Limiter) -> None:
    tenant = Limits(spend_budget=1 * WON, spend_currency="USD")  # $1 for the whole tenant
    key = Limits(spend_budget=2000 * WON, spend_currency="KRW")
    spend = {"KRW": 700 * WON, "USD": 500_000}  # ₩700 = $0.50 at ₩1,400/$
    admitted = limiter.check(ALICE, tenant, key, spend=spend)
    assert {(h.scope, h.currency, h.micros) for h in admitted.spend} == {
        ("key", "KRW", 700 * WON),
        ("tenant", "USD", 500_000),
    }
    limiter.check(BOB, tenant, NONE, spend=spend)  # Bob has no key budget: the tenant's only
    with pytest.raises(BudgetExceededError, match="tenant 'acme'") as refused:
        limiter.check(ALICE, tenant, key, spend=spend)
    assert refused.value.scope == "tenant"
    # The refusal held nothing at the key level.
    assert limiter.spent("key", [ALICE.key_id], "KRW") == {ALICE.key_id: 700 * WON}
    assert limiter.spent("tenant", ["acme"], "USD") == {"acme": 1 * WON}


def test_a_spend_refusal_counts_no_request_and_a_rate_refusal_holds_no_spend(
    limiter: Limiter,
) -> None:
    both = Limits(rpm=1, spend_budget=100 * WON, spend_currency="KRW")
    with pytest.raises(BudgetExceededError):
        limiter.check(ALICE, NONE, both, spend={"KRW": 101 * WON})
    limiter.check(ALICE, NONE, both, spend={"KRW": 10 * WON})  # the one request of the minute
    with pytest.raises(RateLimitedError):
        limiter.check(ALICE, NONE, both, spend={"KRW": 10 * WON})
    assert limiter.spent("key", [ALICE.key_id], "KRW") == {ALICE.key_id: 10 * WON}


def test_no_spend_budget_holds_nothing(limiter: Limiter) -> None:
    admitted = limiter.check(ALICE, NONE, Limits(token_budget=10_000), spend={"KRW": 5 * WON})
    assert admitted.spend == ()
    assert limiter.spent("key", [ALICE.key_id], "KRW") == {ALICE.key_id: 0}


def test_concurrent_requests_cannot_overspend(limiter: Limiter) -> None:
    admitted: list[int] = []
    start = threading.Barrier(20)

    def one() -> None:
        start.wait()
        try:
            limiter.check(ALICE, NONE, KRW_100, spend={"KRW": 30 * WON})
        except BudgetExceededError:
            return
        admitted.append(1)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(admitted) == 3  # 3 x ₩30 fit in ₩100, a fourth does not
    assert limiter.spent("key", [ALICE.key_id], "KRW") == {ALICE.key_id: 90 * WON}


def test_two_redis_limiters_share_one_budget(redis_url: str, prefix: str) -> None:
    nodes = [RedisLimiter(redis_url, prefix=prefix) for _ in range(2)]
    try:
        nodes[0].check(ALICE, NONE, KRW_100, spend={"KRW": 60 * WON})
        with pytest.raises(BudgetExceededError):
            nodes[1].check(ALICE, NONE, KRW_100, spend={"KRW": 60 * WON})
    finally:
        for node in nodes:
            node.close()
