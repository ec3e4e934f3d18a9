"""The CLOVA Studio adapter (`kind: clova`, Chat Completions v3), end to end: the official
`openai` and `anthropic` SDKs against a running Sumun gateway routed to a fake CLOVA Studio over
real loopback sockets (tests/fixtures/fake_clova.py) that speaks NAVER's wire format and checks
the API key and request id headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import anthropic
import httpx
import openai
import pytest

from sumun import config
from sumun.config import ProviderConfig
from sumun.gateway.upstream._clova_convert import clova_request
from sumun.gateway.upstream.base import Call, UpstreamError, Wire
from sumun.gateway.upstream.clova import CLOVA_BASE, ClovaAdapter
from sumun.gateway.upstream.factory import make_adapter
from sumun.scan.runtime import runtime_provider
from tests.fixtures.fake_clova import API_KEY, FakeClova, start_fake_clova
from tests.fixtures.fake_upstream import FakeUpstream
from tests.gateway.harness import Running, running_gateway

Json = dict[str, Any]
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def fake_clova() -> Iterator[FakeClova]:
    with start_fake_clova() as fake:
        yield fake


@pytest.fixture
def gw(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_clova: FakeClova,
    fake_upstream: FakeUpstream,
) -> Iterator[Running]:
    monkeypatch.setenv("TEST_CLOVA_KEY", API_KEY)
    fake_clova.force_status = None
    fake_clova.api_key = API_KEY
    providers = [
        {
            "name": "clova",
            "kind": "clova",
            "base_url": fake_clova.root_url,
            "api_key_env": "TEST_CLOVA_KEY",
            "timeout_seconds": 2.0,
        },
        {"name": "fake-openai", "kind": "openai", "base_url": fake_upstream.base_url},
    ]
    routes = [
        {"model": "hcx", "targets": [{"provider": "clova", "model": "HCX-005"}]},
        {"model": "hcx-think", "targets": [{"provider": "clova", "model": "HCX-007"}]},
        {
            "model": "hcx-fallback",
            "targets": [
                {"provider": "clova", "model": "HCX-005"},
                {"provider": "fake-openai", "model": "up-gpt"},
            ],
        },
    ]
    base = config.load(home=tmp_path / "home", env={})
    raw: dict[str, Any] = {
        "providers": providers,
        "routes": routes,
        "gateway": {"max_body_bytes": 64 * 1024, "breaker_failures": 50},
    }
    settings = config.Settings(home=base.home, **raw)
    with running_gateway(settings) as running:
        yield running
    fake_clova.force_status = None


def _openai(g: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{g.base_url}/v1", api_key=g.keys["acme"], max_retries=0)


def _completed(g: Running, request_id: str) -> Json:
    entries = g.entries_for(request_id)
    assert [e["kind"] for e in entries] == ["request-admitted", "request-completed"]
    return entries[1]


def _post(g: Running, body: Json) -> httpx.Response:
    return httpx.post(
        f"{g.base_url}/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {g.keys['acme']}"},
        timeout=20,
    )


def test_openai_sdk_chat_is_translated_and_metered(gw: Running, fake_clova: FakeClova) -> None:
    raw = _openai(gw).chat.completions.with_raw_response.create(
        model="hcx",
        messages=[
            {"role": "system", "content": "짧게 답해."},
            {"role": "user", "content": "오늘 서울 날씨?"},
        ],
        max_tokens=100,
        temperature=0.5,
        top_p=0.8,
        stop=["끝"],
        extra_body={"top_k": 0, "repetition_penalty": 1.1},
    )
    reply = raw.parse()
    request_id = raw.headers["x-sumun-request-id"]
    assert reply.choices[0].message.content == "echo: 오늘 서울 날씨?"
    assert reply.choices[0].finish_reason == "stop"
    usage = reply.usage
    assert usage is not None and (usage.prompt_tokens, usage.total_tokens) == (5, 9)
    seen = fake_clova.latest()
    assert seen.path == "/v3/chat-completions/HCX-005"
    assert seen.headers["authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["x-ncp-clovastudio-request-id"] == request_id
    assert "text/event-stream" not in seen.headers.get("accept", "")
    assert seen.body == {
        "messages": [
            {"role": "system", "content": "짧게 답해."},
            {"role": "user", "content": "오늘 서울 날씨?"},
        ],
        "temperature": 0.5,
        "topP": 0.8,
        "topK": 0,
        "repetitionPenalty": 1.1,
        "maxTokens": 100,
        "stop": ["끝"],
    }
    completed = _completed(gw, request_id)
    assert completed["provider"] == "clova"
    assert (completed["tokens_in"], completed["tokens_out"]) == (5, 4)


def test_hcx_007_takes_max_completion_tokens_and_thinking(
    gw: Running, fake_clova: FakeClova
) -> None:
    _openai(gw).chat.completions.create(
        model="hcx-think",
        messages=[{"role": "user", "content": "think"}],
        max_tokens=500,
        reasoning_effort="low",
    )
    body = fake_clova.latest().body
    assert body["maxCompletionTokens"] == 500 and "maxTokens" not in body
    assert body["thinking"] == {"effort": "low"}


def test_openai_sdk_stream_is_translated_and_metered(gw: Running, fake_clova: FakeClova) -> None:
    with _openai(gw).chat.completions.with_streaming_response.create(
        model="hcx",
        messages=[{"role": "user", "content": "하나 둘 셋"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        request_id = response.headers["x-sumun-request-id"]
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: 하나 둘 셋"  # the result event's repeat of the answer is not sent
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    seen = fake_clova.latest()
    assert seen.headers["accept"] == "text/event-stream"
    assert seen.headers["x-ncp-clovastudio-request-id"] == request_id
    completed = _completed(gw, request_id)
    assert (completed["tokens_in"], completed["tokens_out"]) == (3, 4)


def test_tool_calls_both_ways_and_streamed(gw: Running, fake_clova: FakeClova) -> None:
    client = _openai(gw)
    first = client.chat.completions.create(
        model="hcx",
        messages=[{"role": "user", "content": "서울 #tool"}],
        tools=[WEATHER],
    )
    choice = first.choices[0]
    calls: list[Any] = list(choice.message.tool_calls or [])
    assert choice.finish_reason == "tool_calls" and len(calls) == 1
    assert calls[0].function.name == "get_weather"
    assert calls[0].function.arguments == '{"echo":"서울 #tool"}'
    assert fake_clova.latest().body["tools"] == [WEATHER]
    client.chat.completions.create(
        model="hcx",
        messages=[
            {"role": "user", "content": "서울"},
            cast(Any, choice.message.model_dump(exclude_none=True)),
            {"role": "tool", "tool_call_id": calls[0].id, "content": "3도"},
        ],
        tools=[WEATHER],
    )
    sent = fake_clova.latest().body["messages"]
    assert sent[1]["toolCalls"] == [
        {
            "id": "call_clova_fake",
            "type": "function",
            "function": {"name": "get_weather", "arguments": {"echo": "서울 #tool"}},
        }
    ]
    assert sent[2] == {"role": "tool", "content": "3도", "toolCallId": "call_clova_fake"}
    # Streamed: the arguments arrive in two token events and are sent on as two fragments.
    chunks = list(
        client.chat.completions.create(
            model="hcx",
            messages=[{"role": "user", "content": "서울 #tool"}],
            tools=[WEATHER],
            stream=True,
        )
    )
    deltas = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or ()]
    assert [d.index for d in deltas] == [0, 0] and deltas[0].id == "call_clova_fake"
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert arguments == '{"echo":"echo: 서울 #tool"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_anthropic_sdk_through_openai_translation(gw: Running) -> None:
    client = anthropic.Anthropic(base_url=gw.base_url, api_key=gw.keys["acme"], max_retries=0)
    message = client.messages.create(
        model="hcx", max_tokens=64, messages=[{"role": "user", "content": "안녕 클로바"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == "echo: 안녕 클로바"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (2, 3)
    with client.messages.stream(
        model="hcx", max_tokens=64, messages=[{"role": "user", "content": "스트림 해줘"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: 스트림 해줘"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 3


@pytest.mark.parametrize(
    "case", [(429, 429, "42901"), (500, 502, "50000"), (503, 502, "50300"), (400, 400, "40001")]
)
def test_upstream_errors_map_and_throttling_fails_over(
    gw: Running, fake_clova: FakeClova, case: tuple[int, int, str]
) -> None:
    upstream, status, code = case
    fake_clova.force_status = upstream
    response = _post(gw, {"model": "hcx", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == status
    message = response.json()["error"]["message"]
    assert f"answered HTTP {upstream}: {code}" in message
    reply = _post(gw, {"model": "hcx-fallback", "messages": [{"role": "user", "content": "hi"}]})
    if upstream == 400:
        assert reply.status_code == 400
    else:
        assert reply.status_code == 200
        assert _completed(gw, reply.headers["x-sumun-request-id"])["provider"] == "fake-openai"


def test_a_wrong_key_is_a_502_without_the_key(gw: Running, fake_clova: FakeClova) -> None:
    fake_clova.api_key = "nv-another-key"
    response = _post(gw, {"model": "hcx", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 502 and API_KEY not in response.text
    assert "40101" in response.json()["error"]["message"]


def test_a_rate_limit_error_event_before_the_first_byte_is_a_429(gw: Running) -> None:
    response = _post(
        gw,
        {"model": "hcx", "stream": True, "messages": [{"role": "user", "content": "#sse-error:0"}]},
    )
    assert response.status_code == 429
    assert "Too many requests" in response.json()["error"]["message"]


@pytest.mark.parametrize("directive", ["#cut:2", "#slow:0.1 #sse-error:2"])
def test_a_broken_stream_ends_with_an_error_event(gw: Running, directive: str) -> None:
    with httpx.stream(
        "POST",
        f"{gw.base_url}/v1/chat/completions",
        json={
            "model": "hcx",
            "stream": True,
            "messages": [{"role": "user", "content": f"a long story told slowly {directive}"}],
        },
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    ) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes())
        request_id = response.headers["x-sumun-request-id"]
    assert b"echo:" in body and b'"error"' in body and b"data: [DONE]" not in body
    assert _completed(gw, request_id)["attrs"]["outcome"] != "ok"


# --- the adapter on its own -----------------------------------------------------------------


def test_default_base_and_unsupported_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CLOVA_KEY", API_KEY)
    adapter = make_adapter(ProviderConfig(name="c", kind="clova", api_key_env="TEST_CLOVA_KEY"))
    assert isinstance(adapter, ClovaAdapter)
    assert adapter._url("HCX-005") == f"{CLOVA_BASE}/v3/chat-completions/HCX-005"

    async def run() -> UpstreamError:
        try:
            assert await adapter.models() == []
            call = Call("messages", Wire.OPENAI, {"model": "m"}, False, "r1")
            with pytest.raises(UpstreamError) as caught:
                await adapter.complete(call)
            return caught.value
        finally:
            await adapter.aclose()

    error = asyncio.run(run())
    assert error.status == 400 and error.kind == "unsupported"


def test_request_translation_details() -> None:
    body = clova_request(
        {
            "model": "HCX-005",
            "messages": [
                {"role": "developer", "content": "rules"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "이 사진"},
                        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
                    ],
                },
            ],
            "max_completion_tokens": 7,
            "seed": 3,
            "stop": "끝",
        }
    )
    assert body["messages"][0] == {"role": "system", "content": "rules"}
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "이 사진"},
        {"type": "image_url", "imageUrl": {"url": "https://x.test/a.png"}},
        {"type": "image_url", "dataUri": {"data": "data:image/png;base64,QUJD"}},
    ]
    assert (body["maxCompletionTokens"], body["seed"], body["stop"]) == (7, 3, ["끝"])


def test_the_bill_of_materials_knows_the_kind() -> None:
    provider = runtime_provider("c", "clova", None)
    assert provider.table_id == "naver-clova" and provider.endpoint == CLOVA_BASE


def test_a_stream_ended_by_the_done_signal_without_a_result_is_whole(gw: Running) -> None:
    chunks = list(
        _openai(gw).chat.completions.create(
            model="hcx", messages=[{"role": "user", "content": "짧게 #noresult"}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: 짧게 #noresult"
    assert chunks[-1].choices[0].finish_reason == "stop"
