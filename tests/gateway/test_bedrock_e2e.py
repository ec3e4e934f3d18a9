"""Amazon Bedrock through a running Sumun gateway, with the official `openai` and `anthropic`
SDKs: the fake Bedrock Runtime (tests/fixtures/fake_bedrock.py) checks every SigV4 signature;
answers, streams, tool calls, usage in the ledger, wrong credentials, throttling with failover,
and a stream broken mid-way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from sumun import config
from tests.fixtures.fake_bedrock import ACCESS_KEY, REGION, SECRET_KEY, FakeBedrock
from tests.fixtures.fake_bedrock import start_fake_bedrock as _start
from tests.fixtures.fake_upstream import FakeUpstream
from tests.gateway.harness import Running, gateway_settings, running_gateway
from tests.gateway.test_translate import TOOL_ANTHROPIC, TOOL_OPENAI, first_tool_call

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
WRONG_SECRET = "not-the-secret-0000000000000000000000000"


@pytest.fixture
def bedrock() -> Iterator[FakeBedrock]:
    with _start() as fake:
        yield fake


@pytest.fixture
def gw(
    tmp_path: Path,
    fake_upstream: FakeUpstream,
    bedrock: FakeBedrock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Running]:
    monkeypatch.setenv("SEOUL_AWS_KEY", ACCESS_KEY)
    monkeypatch.setenv("SEOUL_AWS_SECRET", SECRET_KEY)
    monkeypatch.setenv("SEOUL_AWS_WRONG_SECRET", WRONG_SECRET)
    base = gateway_settings(
        tmp_path / "home", fake_upstream.base_url, fake_upstream.base_url.removesuffix("/v1")
    )
    common: dict[str, Any] = {
        "kind": "bedrock",
        "region": REGION,
        "base_url": bedrock.root_url,
        "aws_access_key_id_env": "SEOUL_AWS_KEY",
        "timeout_seconds": 2.0,
    }
    providers = [
        config.ProviderConfig(
            name="bedrock-seoul", aws_secret_access_key_env="SEOUL_AWS_SECRET", **common
        ),
        config.ProviderConfig(
            name="bedrock-wrong", aws_secret_access_key_env="SEOUL_AWS_WRONG_SECRET", **common
        ),
    ]

    def route(alias: str, *targets: tuple[str, str]) -> config.RouteConfig:
        return config.RouteConfig(
            model=alias,
            targets=tuple(config.RouteTarget(provider=p, model=m) for p, m in targets),
        )

    routes = [
        route("claude-seoul", ("bedrock-seoul", MODEL)),
        route("claude-wrong", ("bedrock-wrong", MODEL)),
        route("claude-failover", ("bedrock-seoul", MODEL), ("fake-openai", "up-gpt")),
    ]
    settings = config.Settings(
        home=base.home,
        providers=(*base.providers, *providers),
        routes=(*base.routes, *routes),
        gateway=base.gateway,
    )
    with running_gateway(settings) as running:
        yield running


def _openai(g: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{g.base_url}/v1", api_key=g.keys["acme"], max_retries=0)


def _anthropic(g: Running) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=g.base_url, api_key=g.keys["acme"], max_retries=0)


def _completed(g: Running, request_id: str) -> dict[str, Any]:
    entries = g.entries_for(request_id)
    assert [e["kind"] for e in entries] == ["request-admitted", "request-completed"]
    return entries[1]


def test_openai_sdk_chat_with_a_tool_call_is_answered_and_metered(
    gw: Running, bedrock: FakeBedrock
) -> None:
    raw = _openai(gw).chat.completions.with_raw_response.create(
        model="claude-seoul",
        messages=[{"role": "user", "content": "서울 지점 #tool"}],
        tools=[TOOL_OPENAI],  # type: ignore[list-item]
    )
    completion = raw.parse()
    choice = completion.choices[0]
    assert choice.message.content == "echo: 서울 지점 #tool"
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    assert first_tool_call(completion).function.name == "lookup"
    assert not bedrock.rejected and bedrock.latest().model == MODEL  # the signature was good
    completed = _completed(gw, raw.headers["x-sumun-request-id"])
    assert completed["provider"] == "bedrock-seoul" and completed["attrs"]["outcome"] == "ok"
    assert (completed["tokens_in"], completed["tokens_out"]) == (3, 4)


def test_openai_sdk_streaming_with_usage(gw: Running, bedrock: FakeBedrock) -> None:
    stream = _openai(gw).chat.completions.create(  # type: ignore[call-overload]
        model="claude-seoul",
        messages=[{"role": "user", "content": "stream from Seoul #tool"}],
        tools=[TOOL_OPENAI],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, arguments, finish, usage = "", "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or ():
                arguments += (call.function and call.function.arguments) or ""
            finish = choice.finish_reason or finish
    assert text == "echo: stream from Seoul #tool" and finish == "tool_calls"
    assert arguments == '{"city": "Seoul"}'
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 5)
    assert bedrock.latest().action == "converse-stream"


def test_anthropic_sdk_messages_and_stream(gw: Running, bedrock: FakeBedrock) -> None:
    client = _anthropic(gw)
    message = client.messages.create(
        model="claude-seoul",
        max_tokens=64,
        messages=[{"role": "user", "content": "안녕 #tool"}],
        tools=[TOOL_ANTHROPIC],  # type: ignore[list-item]
    )
    assert message.stop_reason == "tool_use" and [b.type for b in message.content] == [
        "text",
        "tool_use",
    ]
    assert bedrock.latest().body["inferenceConfig"] == {"maxTokens": 64}
    with client.messages.stream(
        model="claude-seoul", max_tokens=64, messages=[{"role": "user", "content": "흘려줘"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: 흘려줘" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 2


def test_wrong_credentials_give_a_clear_error_not_a_traceback(
    gw: Running, bedrock: FakeBedrock
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        _openai(gw).chat.completions.create(
            model="claude-wrong", messages=[{"role": "user", "content": "hi"}]
        )
    error = caught.value
    assert error.status_code == 502
    text = str(error.response.json())
    assert "refused Sumun's AWS credentials" in text and "InvalidSignatureException" in text
    assert WRONG_SECRET not in text and "Traceback" not in text
    assert bedrock.rejected == ["InvalidSignatureException"]


def test_throttling_is_a_429_and_fails_over(gw: Running, fake_upstream: FakeUpstream) -> None:
    with pytest.raises(openai.RateLimitError):
        _openai(gw).chat.completions.create(
            model="claude-seoul", messages=[{"role": "user", "content": "busy #throttle"}]
        )
    raw = _openai(gw).chat.completions.with_raw_response.create(
        model="claude-failover", messages=[{"role": "user", "content": "busy #throttle"}]
    )
    assert raw.parse().choices[0].message.content  # answered by the next target
    completed = _completed(gw, raw.headers["x-sumun-request-id"])
    assert completed["provider"] == "fake-openai"


def test_a_stream_broken_mid_way_ends_with_an_error_event(gw: Running) -> None:
    with httpx.stream(
        "POST",
        f"{gw.base_url}/v1/chat/completions",
        json={
            "model": "claude-seoul",
            "stream": True,
            "messages": [{"role": "user", "content": "a long story #drip #cut:4"}],
        },
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    ) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes())
        request_id = response.headers["x-sumun-request-id"]
    assert b"echo:" in body and b'"error"' in body
    assert _completed(gw, request_id)["attrs"]["outcome"].startswith("stream-cut")
