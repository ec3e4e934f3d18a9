"""Upstream misbehaviour, clients that go away, and a gateway that cannot protect or record:
the right status, an error in the caller's format, nothing hangs, nothing goes unrecorded."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.gateway.harness import Running


def _client(g: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{g.base_url}/v1", api_key=g.keys["acme"], max_retries=0)


def _headers(g: Running) -> dict[str, str]:
    return {"authorization": f"Bearer {g.keys['acme']}"}


@pytest.mark.parametrize(
    ("directive", "status", "outcome"),
    [
        ("#fail:429", 429, "rate_limited"),
        ("#fail:500", 502, "upstream"),
        ("#slow:5", 504, "timeout"),
    ],
)
def test_upstream_failures_map_to_statuses_and_are_recorded(
    gateway: Running, directive: str, status: int, outcome: str
) -> None:
    started = time.monotonic()
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": "gpt-test", "messages": [{"role": "user", "content": f"hi {directive}"}]},
        headers=_headers(gateway),
        timeout=20,
    )
    assert time.monotonic() - started < 10  # nothing hangs
    assert response.status_code == status
    assert response.json()["error"]["message"].startswith("provider fake-openai")
    entries = gateway.entries_for(response.headers["x-sumun-request-id"])
    assert [e["kind"] for e in entries] == ["request-admitted", "request-completed"]
    assert entries[1]["attrs"]["status"] == str(status)
    assert outcome in entries[1]["attrs"]["outcome"]


def test_a_stream_cut_mid_way_ends_with_an_error_event_and_is_recorded(gateway: Running) -> None:
    with httpx.stream(
        "POST",
        f"{gateway.base_url}/v1/chat/completions",
        json={
            "model": "gpt-test",
            "stream": True,
            "messages": [{"role": "user", "content": "long story #cut:3"}],
        },
        headers=_headers(gateway),
        timeout=20,
    ) as response:
        assert response.status_code == 200  # headers were already sent
        body = b"".join(response.iter_bytes())
        request_id = response.headers["x-sumun-request-id"]
    assert b'"error"' in body and b"interrupted" in body
    completed = gateway.entries_for(request_id)[-1]
    assert completed["kind"] == "request-completed"
    assert completed["attrs"]["outcome"].startswith("stream-cut")


def test_a_client_that_disconnects_mid_stream_cancels_upstream_and_is_recorded(
    gateway: Running,
) -> None:
    with httpx.stream(
        "POST",
        f"{gateway.base_url}/v1/chat/completions",
        json={
            "model": "gpt-test",
            "stream": True,
            "messages": [{"role": "user", "content": "slow drip #slow:0.2 #hang"}],
        },
        headers=_headers(gateway),
        timeout=20,
    ) as response:
        request_id = response.headers["x-sumun-request-id"]
        next(response.iter_bytes())  # first bytes arrived; now walk away
    entries = gateway.entries_for(request_id, wait=5)
    assert entries[-1]["kind"] == "request-completed"
    assert entries[-1]["attrs"]["outcome"] == "client-disconnected"


def test_sealed_gateway_refuses_with_503_and_records_nothing(gateway: Running) -> None:
    size = gateway.runtime.ledger.store.size()
    gateway.runtime.keys.seal(actor="test")
    with pytest.raises(openai.APIStatusError) as info:
        _client(gateway).chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "secret"}]
        )
    assert info.value.status_code == 503 and "sealed" in str(info.value.message)
    gateway.runtime.ledger.flush()
    # Only the seal key-event itself was added; no request entry, no plaintext anywhere.
    added = gateway.runtime.ledger.tail(gateway.runtime.ledger.store.size() - size)
    assert all(r.entry["kind"] == "key-event" for r in added)


def test_an_unwritable_ledger_refuses_traffic_before_anything_goes_upstream(
    gateway: Running,
    fake_upstream,  # type: ignore[no-untyped-def]
) -> None:
    from sumun.errors import LedgerUnavailableError

    store = gateway.runtime.ledger.store
    original = store.append_batch

    def broken(drafts):  # type: ignore[no-untyped-def]
        raise LedgerUnavailableError("database or disk is full")

    store.append_batch = broken  # type: ignore[method-assign]
    try:
        before = getattr(fake_upstream, "request_count", None)
        with pytest.raises(openai.APIStatusError) as info:
            _client(gateway).chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "must not leave"}]
            )
        assert info.value.status_code == 503 and "record" in str(info.value.message)
        if before is not None:
            assert fake_upstream.request_count == before  # nothing went upstream
    finally:
        store.append_batch = original  # type: ignore[method-assign]


def test_an_unreachable_key_backend_refuses_traffic(gateway: Running) -> None:
    gateway.parts.gateway.backend_problem = "connection refused"
    try:
        with pytest.raises(openai.APIStatusError) as info:
            _client(gateway).chat.completions.create(
                model="demo", messages=[{"role": "user", "content": "secret"}]
            )
        assert info.value.status_code == 503 and "key backend" in str(info.value.message)
    finally:
        gateway.parts.gateway.backend_problem = None


def test_an_unknown_model_name_is_not_echoed_at_length(gateway: Running) -> None:
    """A 1 MB `model` came back as a 1 MB error (issue 12): now quoted short and printable."""
    answer = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {gateway.keys['acme']}"},
        json={"model": "\u0007" + "m" * 30_000, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert answer.status_code == 404
    assert len(answer.content) < 1024
    message = answer.json()["error"]["message"]
    assert "30001 characters" in message and "\u0007" not in message
