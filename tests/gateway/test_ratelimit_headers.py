"""OpenAI-style `x-ratelimit-*` headers (issue 18): the official `openai` SDK reads them from a
running gateway on answers and on 429s; the limiter reports them from its own check, in memory
and in Redis alike; no per-minute limit means no headers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import openai
import pytest
import redis

from sumun.errors import RateLimitedError
from sumun.gateway.limits import Headroom, Limiter, MemoryLimiter, Quota, RedisLimiter
from sumun.store.model import Limits, Principal, Role
from tests.gateway.harness import Running

pytestmark = pytest.mark.usefixtures("fake_upstream")

_TRIO = ("limit", "remaining", "reset")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$|^(\d+)ms$")
ALICE = Principal("aaaaaaaaaa", "acme", "chat", "alice", Role.USER)
CAROL = Principal("cccccccccc", "beta", None, "carol", Role.USER)
NONE = Limits()


def _seconds(text: str) -> float:
    """A reset header (Go duration, as OpenAI sends it) in seconds."""
    match = _DURATION.match(text)
    assert match and text, f"not a duration: {text!r}"
    hours, minutes, secs, ms = match.groups()
    if ms is not None:
        return int(ms) / 1000
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs or 0)


def _client(g: Running, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{g.base_url}/v1", api_key=api_key, max_retries=0)


def _ask(g: Running, api_key: str) -> openai.APIResponse[object]:
    raw = _client(g, api_key).chat.completions.with_raw_response.create(
        model="demo", messages=[{"role": "user", "content": "hello"}]
    )
    return raw  # type: ignore[return-value]


def test_requests_trio_on_answers_and_on_the_429(gateway: Running) -> None:
    first, second = _ask(gateway, gateway.keys["tight"]), _ask(gateway, gateway.keys["tight"])
    for raw, left in ((first, "1"), (second, "0")):
        assert raw.http_response.status_code == 200
        assert raw.headers["x-ratelimit-limit-requests"] == "2"  # the tenant's rpm
        assert raw.headers["x-ratelimit-remaining-requests"] == left
        assert 0 < _seconds(raw.headers["x-ratelimit-reset-requests"]) <= 120
        assert "x-ratelimit-limit-tokens" not in raw.headers  # no tpm set
    with pytest.raises(openai.RateLimitError) as refused:
        _ask(gateway, gateway.keys["tight"])
    headers = refused.value.response.headers
    assert headers["x-ratelimit-limit-requests"] == "2"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert _seconds(headers["x-ratelimit-reset-requests"]) >= int(headers["retry-after"]) - 1
    assert "x-ratelimit-remaining-tokens" not in headers


def test_no_headers_without_a_per_minute_limit(gateway: Running) -> None:
    raw = _ask(gateway, gateway.keys["acme"])  # tenant and key without rpm or tpm
    assert not [h for h in raw.headers if h.startswith("x-ratelimit-")]


def test_tokens_trio_falls_as_answers_are_counted(gateway: Running) -> None:
    _key, api_key = gateway.directory.issue_key("acme", rpm=5, tpm=100_000)
    first, second = _ask(gateway, api_key), _ask(gateway, api_key)
    for raw in (first, second):
        for dim in ("requests", "tokens"):
            assert {f"x-ratelimit-{part}-{dim}" for part in _TRIO} <= set(raw.headers)
    assert first.headers["x-ratelimit-limit-requests"] == "5"
    assert [r.headers["x-ratelimit-remaining-requests"] for r in (first, second)] == ["4", "3"]
    assert first.headers["x-ratelimit-limit-tokens"] == "100000"
    # Tokens are counted when the answer is in: the second request sees the first's.
    assert first.headers["x-ratelimit-remaining-tokens"] == "100000"
    assert int(second.headers["x-ratelimit-remaining-tokens"]) < 100_000
    assert _seconds(second.headers["x-ratelimit-reset-tokens"]) > 0


# -- the limiter's view, memory and Redis ----------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter()
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"sumun-test:{secrets.token_hex(6)}"
    made = RedisLimiter(url, prefix=prefix)
    yield made
    made.close()
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_the_tighter_level_is_reported_and_the_refusal_carries_it(limiter: Limiter) -> None:
    key, tenant = Limits(rpm=3, tpm=1000), Limits(rpm=2)
    first = limiter.check(ALICE, tenant, key).headroom
    assert first.requests is not None and first.tokens is not None
    assert (first.requests.limit, first.requests.remaining) == (2, 1)  # the tenant binds
    assert (first.tokens.limit, first.tokens.remaining) == (1000, 1000)
    assert 60 < first.requests.reset <= 120  # this window's count decays over the next one
    limiter.settle(ALICE, 0, 400)
    second = limiter.check(ALICE, tenant, key).headroom
    assert second.requests is not None and second.requests.remaining == 0
    assert second.tokens is not None and second.tokens.remaining == 600
    with pytest.raises(RateLimitedError) as refused:
        limiter.check(ALICE, tenant, key)
    assert refused.value.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.value.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.value.headers["x-ratelimit-remaining-tokens"] == "600"
    assert limiter.check(CAROL, NONE, Limits(token_budget=10)).headroom == Headroom()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.0171, "18ms"), (1, "1s"), (8.64, "8.64s"), (360, "6m0s"), (3723.5, "1h2m3.5s")],
)
def test_reset_is_written_as_openai_writes_it(seconds: float, text: str) -> None:
    headers = Headroom(requests=Quota(10, 3, seconds)).headers()
    assert headers == {
        "x-ratelimit-limit-requests": "10",
        "x-ratelimit-remaining-requests": "3",
        "x-ratelimit-reset-requests": text,
    }
    assert _seconds(text) == pytest.approx(seconds, abs=0.001)
