"""The official `anthropic` SDK against Sumun: native pass-through and translated routes."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.gateway.harness import Running


def _client(g: Running, key: str = "acme") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=g.base_url, api_key=g.keys[key], max_retries=0)


@pytest.mark.parametrize("model", ["claude-test", "gpt-test", "demo"])
def test_messages_native_and_translated(gateway: Running, model: str) -> None:
    raw = _client(gateway).messages.with_raw_response.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "안녕?"}]
    )
    message = raw.parse()
    assert message.role == "assistant" and message.content[0].type == "text"
    assert raw.headers["x-sumun-ai-generated"] == "true"
    entries = gateway.entries_for(raw.headers["x-sumun-request-id"])
    assert [e["kind"] for e in entries] == ["request-admitted", "request-completed"]
    assert entries[0]["attrs"]["endpoint"] == "messages"


@pytest.mark.parametrize("model", ["claude-test", "gpt-test", "demo"])
def test_streaming_messages(gateway: Running, model: str) -> None:
    with _client(gateway).messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "stream it"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.stop_reason is not None


def test_notice_in_an_anthropic_stream(gateway: Running) -> None:
    with _client(gateway, "bank").messages.stream(
        model="demo", max_tokens=64, messages=[{"role": "user", "content": "금리?"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.endswith("[AI 생성 답변]")
    assert final.content[-1].type == "text" and final.content[-1].text.endswith("[AI 생성 답변]")
    whole = _client(gateway, "bank").messages.create(
        model="demo", max_tokens=64, messages=[{"role": "user", "content": "금리?"}]
    )
    assert [b.type for b in whole.content] == [b.type for b in final.content]


def test_errors_come_back_in_anthropic_format(gateway: Running) -> None:
    response = httpx.post(
        f"{gateway.base_url}/v1/messages",
        content=b"{broken",
        headers={"x-api-key": gateway.keys["acme"], "content-type": "application/json"},
    )
    body = response.json()
    assert response.status_code == 400
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.AuthenticationError):
        _client(gateway, "revoked").messages.create(
            model="demo", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(anthropic.NotFoundError):
        _client(gateway).messages.create(
            model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
