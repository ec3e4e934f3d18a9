"""The Gemini API (`kind: gemini`) and Vertex AI (`kind: vertex`) adapters, end to end: the
official `openai` and `anthropic` SDKs against a running Sumun gateway routed to a fake Google
upstream over real loopback sockets (tests/fixtures/fake_gemini.py) that speaks Google's wire
format and checks Google's credentials."""

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
from sumun.cli._scan_runtime import configured_providers
from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.upstream._gemini_convert import gemini_request
from sumun.gateway.upstream.base import Call, UpstreamError, Wire
from sumun.gateway.upstream.factory import make_adapter
from sumun.gateway.upstream.gemini import GeminiAdapter, vertex_base
from sumun.scan.runtime import runtime_provider
from tests.fixtures.fake_gemini import API_KEY, TOKEN, FakeGemini, start_fake_gemini
from tests.fixtures.fake_upstream import FakeUpstream
from tests.gateway.harness import Running, running_gateway

Json = dict[str, Any]
PROJECT = "sumun-test-123"
LOCATION = "asia-northeast3"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def fake_gemini() -> Iterator[FakeGemini]:
    with start_fake_gemini() as fake:
        yield fake


@pytest.fixture
def gw(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_gemini: FakeGemini,
    fake_upstream: FakeUpstream,
) -> Iterator[Running]:
    monkeypatch.setenv("TEST_GEMINI_KEY", API_KEY)
    monkeypatch.setenv("TEST_VERTEX_TOKEN", TOKEN)
    fake_gemini.force_status = None
    fake_gemini.api_key, fake_gemini.token = API_KEY, TOKEN
    common = {"base_url": fake_gemini.root_url, "timeout_seconds": 2.0}
    providers = [
        {"name": "gem", "kind": "gemini", "api_key_env": "TEST_GEMINI_KEY", **common},
        {
            "name": "vtx",
            "kind": "vertex",
            "api_key_env": "TEST_VERTEX_TOKEN",
            "project": PROJECT,
            "location": LOCATION,
            **common,
        },
        {"name": "fake-openai", "kind": "openai", "base_url": fake_upstream.base_url},
    ]
    routes = [
        {"model": "gem", "targets": [{"provider": "gem", "model": "gemini-2.5-flash"}]},
        {"model": "vtx", "targets": [{"provider": "vtx", "model": "gemini-2.5-pro"}]},
        *(
            {
                "model": f"{name}-fallback",
                "targets": [
                    {"provider": name, "model": "gemini-2.5-flash"},
                    {"provider": "fake-openai", "model": "up-gpt"},
                ],
            }
            for name in ("gem", "vtx")
        ),
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
    fake_gemini.force_status = None


def _openai(g: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{g.base_url}/v1", api_key=g.keys["acme"], max_retries=0)


def _anthropic(g: Running) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=g.base_url, api_key=g.keys["acme"], max_retries=0)


def _completed(g: Running, request_id: str) -> Json:
    entries = g.entries_for(request_id)
    assert [e["kind"] for e in entries] == ["request-admitted", "request-completed"]
    return entries[1]


def _check_call(fake: FakeGemini, route: str, *, stream: bool) -> Json:
    seen = fake.latest()
    method = "streamGenerateContent" if stream else "generateContent"
    if route == "gem":
        assert seen.path == f"/v1beta/models/gemini-2.5-flash:{method}"
        assert seen.headers["x-goog-api-key"] == API_KEY
        assert "authorization" not in seen.headers
    else:
        prefix = f"/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models"
        assert seen.path == f"{prefix}/gemini-2.5-pro:{method}"
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
        assert "x-goog-api-key" not in seen.headers
    assert (seen.query == "alt=sse") is stream
    assert isinstance(seen.body, dict)
    return seen.body


@pytest.mark.parametrize("route", ["gem", "vtx"])
def test_openai_sdk_chat_is_translated_and_metered(
    gw: Running, fake_gemini: FakeGemini, route: str
) -> None:
    raw = _openai(gw).chat.completions.with_raw_response.create(
        model=route,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "서울 날씨 어때?"},
        ],
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        stop=["END"],
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == "echo: 서울 날씨 어때?"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.prompt_tokens == 5
    body = _check_call(fake_gemini, route, stream=False)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "서울 날씨 어때?"}]}]
    assert body["generationConfig"] == {
        "maxOutputTokens": 50,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    completed = _completed(gw, raw.headers["x-sumun-request-id"])
    assert completed["provider"] == route
    assert (completed["tokens_in"], completed["tokens_out"]) == (5, 4)


@pytest.mark.parametrize("route", ["gem", "vtx"])
def test_openai_sdk_stream_is_translated_and_metered(
    gw: Running, fake_gemini: FakeGemini, route: str
) -> None:
    with _openai(gw).chat.completions.with_streaming_response.create(
        model=route,
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        request_id = response.headers["x-sumun-request-id"]
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    _check_call(fake_gemini, route, stream=True)
    completed = _completed(gw, request_id)
    assert (completed["tokens_in"], completed["tokens_out"]) == (3, 4)


def test_stream_without_include_usage_has_no_usage_chunk_but_is_metered(gw: Running) -> None:
    with _openai(gw).chat.completions.with_streaming_response.create(
        model="gem", messages=[{"role": "user", "content": "a b"}], stream=True
    ) as response:
        request_id = response.headers["x-sumun-request-id"]
        chunks = list(response.parse())
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert _completed(gw, request_id)["tokens_out"] == 3


@pytest.mark.parametrize("route", ["gem", "vtx"])
def test_tool_calls_both_ways(gw: Running, fake_gemini: FakeGemini, route: str) -> None:
    client = _openai(gw)
    first = client.chat.completions.create(
        model=route,
        messages=[{"role": "user", "content": "weather in Seoul #tool"}],
        tools=[WEATHER],
        tool_choice="auto",
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls: list[Any] = list(choice.message.tool_calls or [])
    assert len(calls) == 1 and calls[0].function.name == "get_weather"
    assert calls[0].function.arguments == '{"echo":"weather in Seoul #tool"}'
    sent = fake_gemini.latest().body
    assert sent["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "parameters": WEATHER["function"]["parameters"],
                }
            ]
        }
    ]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    # The tool's answer goes back as a functionResponse under the function's name.
    second = client.chat.completions.create(
        model=route,
        messages=[
            {"role": "user", "content": "weather in Seoul"},
            cast(Any, choice.message.model_dump(exclude_none=True)),
            {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp": 3}'},
        ],
        tools=[WEATHER],
    )
    assert second.choices[0].message.content == "echo: weather in Seoul"
    contents = fake_gemini.latest().body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[1]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"echo": "weather in Seoul #tool"}}}
    ]
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"temp": 3}}}
    ]


def test_streamed_tool_call(gw: Running) -> None:
    stream = _openai(gw).chat.completions.create(
        model="gem",
        messages=[{"role": "user", "content": "call it #tool"}],
        tools=[WEATHER],
        stream=True,
    )
    chunks = list(stream)
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or ()]
    assert len(calls) == 1 and calls[0].function is not None
    assert calls[0].function.name == "get_weather" and calls[0].id
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("route", ["gem", "vtx"])
def test_anthropic_sdk_through_openai_translation(gw: Running, route: str) -> None:
    raw = _anthropic(gw).messages.with_raw_response.create(
        model=route,
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "안녕 수문"}],
    )
    message = raw.parse()
    assert message.content[0].type == "text" and message.content[0].text == "echo: 안녕 수문"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (4, 3)
    with _anthropic(gw).messages.stream(
        model=route, max_tokens=64, messages=[{"role": "user", "content": "stream this"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: stream this"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 3


@pytest.mark.parametrize(
    ("finish", "expected"), [("MAX_TOKENS", "length"), ("SAFETY", "content_filter")]
)
def test_finish_reasons(gw: Running, finish: str, expected: str) -> None:
    client = _openai(gw)
    content = f"stop here #finish:{finish}"
    reply = client.chat.completions.create(
        model="gem", messages=[{"role": "user", "content": content}]
    )
    assert reply.choices[0].finish_reason == expected
    chunks = list(
        client.chat.completions.create(
            model="gem", messages=[{"role": "user", "content": content}], stream=True
        )
    )
    assert chunks[-1].choices[0].finish_reason == expected


@pytest.mark.parametrize("route", ["gem", "vtx"])
@pytest.mark.parametrize(
    "case",
    [(429, 429, "rate_limited"), (503, 502, "upstream"), (500, 502, "upstream"), (400, 400, "")],
)
def test_upstream_errors_map_and_throttling_fails_over(
    gw: Running, fake_gemini: FakeGemini, route: str, case: tuple[int, int, str]
) -> None:
    upstream, status, kind = case
    fake_gemini.force_status = upstream
    response = httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json={"model": route, "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    )
    assert response.status_code == status
    assert f"answered HTTP {upstream}" in response.json()["error"]["message"]
    if kind:
        outcome = _completed(gw, response.headers["x-sumun-request-id"])["attrs"]["outcome"]
        assert kind in outcome
    # A retryable failure moves on to the route's next provider; a 400 does not.
    reply = httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json={"model": f"{route}-fallback", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    )
    if upstream == 400:
        assert reply.status_code == 400
    else:
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] == (
            "echo: hi"
        )
        assert _completed(gw, reply.headers["x-sumun-request-id"])["provider"] == "fake-openai"


def test_a_throttled_stream_fails_over_before_the_first_byte(
    gw: Running, fake_gemini: FakeGemini
) -> None:
    fake_gemini.force_status = 429
    chunks = list(
        _openai(gw).chat.completions.create(
            model="gem-fallback", messages=[{"role": "user", "content": "x y"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: x y"


@pytest.mark.parametrize("route", ["gem", "vtx"])
def test_a_refused_credential_is_a_502_naming_it_without_showing_it(
    gw: Running, fake_gemini: FakeGemini, route: str
) -> None:
    fake_gemini.api_key, fake_gemini.token = "AIza-another-key", "ya29.another-token"
    response = httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json={"model": route, "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    )
    assert response.status_code == 502
    message = response.json()["error"]["message"]
    assert API_KEY not in response.text and TOKEN not in response.text
    if route == "gem":
        assert "API key (from TEST_GEMINI_KEY)" in message and "API key not valid" in message
    else:
        assert "access token (from TEST_VERTEX_TOKEN)" in message and "expired" in message
    outcome = _completed(gw, response.headers["x-sumun-request-id"])["attrs"]["outcome"]
    assert "upstream" in outcome


@pytest.mark.parametrize("directive", ["#cut:2", "#nofinish", "#slow:0.1 #sse-error:2"])
def test_a_broken_stream_ends_with_an_error_event(gw: Running, directive: str) -> None:
    with httpx.stream(
        "POST",
        f"{gw.base_url}/v1/chat/completions",
        json={
            "model": "gem",
            "stream": True,
            "messages": [{"role": "user", "content": f"a long story told slowly {directive}"}],
        },
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    ) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes())
        request_id = response.headers["x-sumun-request-id"]
    assert b"echo:" in body and b'"error"' in body
    assert b"data: [DONE]" not in body
    completed = _completed(gw, request_id)
    assert completed["attrs"]["outcome"] != "ok"


# --- the adapter on its own -----------------------------------------------------------------


def _config(**fields: Any) -> ProviderConfig:
    return ProviderConfig.model_validate({"name": "g", "kind": "gemini", **fields})


def test_defaults_and_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_VERTEX_TOKEN", TOKEN)
    assert vertex_base("asia-northeast3") == "https://asia-northeast3-aiplatform.googleapis.com"
    assert vertex_base("global") == "https://aiplatform.googleapis.com"
    assert isinstance(make_adapter(_config()), GeminiAdapter)  # the public API by default
    with pytest.raises(ValueError, match="project and location"):
        _config(kind="vertex", api_key_env="TEST_VERTEX_TOKEN", location=LOCATION)
    with pytest.raises(ConfigError, match="not a Google Cloud project id and location"):
        make_adapter(
            _config(
                kind="vertex", api_key_env="TEST_VERTEX_TOKEN", project=PROJECT, location="x/../y"
            )
        )
    with pytest.raises(ConfigError, match="needs api_key_env"):
        make_adapter(_config(kind="vertex", project=PROJECT, location=LOCATION))


def test_models_and_unsupported_endpoints(
    monkeypatch: pytest.MonkeyPatch, fake_gemini: FakeGemini
) -> None:
    monkeypatch.setenv("TEST_GEMINI_KEY", API_KEY)
    fake_gemini.api_key = API_KEY
    adapter = make_adapter(_config(base_url=fake_gemini.root_url, api_key_env="TEST_GEMINI_KEY"))

    async def run() -> tuple[list[str], UpstreamError]:
        try:
            names = await adapter.models()
            call = Call("embeddings", Wire.OPENAI, {"model": "m", "input": "x"}, False, "r1")
            with pytest.raises(UpstreamError) as caught:
                await adapter.complete(call)
            return names, caught.value
        finally:
            await adapter.aclose()

    names, error = asyncio.run(run())
    assert names == ["gemini-2.5-flash", "gemini-2.5-pro"]
    assert error.status == 400 and error.kind == "unsupported" and not error.retryable


def test_request_translation_details() -> None:
    body = gemini_request(
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "rules"}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "see"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
                        {"type": "image_url", "image_url": {"url": "https://x.test/a.webp"}},
                    ],
                },
                {"role": "user", "content": "and this"},
                {"role": "assistant", "content": "ok"},
                {"role": "tool", "tool_call_id": "unknown", "content": "plain text"},
            ],
            "max_completion_tokens": 9,
            "seed": 1,
            "stop": "X",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"schema": {"type": "object"}},
            },
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        }
    )
    assert body["systemInstruction"] == {"parts": [{"text": "rules"}]}
    user, model, tool = body["contents"]
    assert user["parts"] == [
        {"text": "see"},
        {"inlineData": {"mimeType": "image/png", "data": "QUJD"}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://x.test/a.webp"}},
        {"text": "and this"},  # consecutive user turns merge: Gemini wants them alternating
    ]
    assert model == {"role": "model", "parts": [{"text": "ok"}]}
    assert tool["parts"][0]["functionResponse"]["response"] == {"content": "plain text"}
    assert body["generationConfig"] == {
        "maxOutputTokens": 9,
        "seed": 1,
        "stopSequences": ["X"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }


def test_untranslatable_requests_are_refused_with_400(gw: Running) -> None:
    response = httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json={"model": "gem", "n": 2, "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    )
    assert response.status_code == 400 and "n > 1" in response.json()["error"]["message"]


def test_an_error_event_before_anything_was_sent_is_a_plain_502(gw: Running) -> None:
    response = httpx.post(
        f"{gw.base_url}/v1/chat/completions",
        json={
            "model": "gem",
            "stream": True,
            "messages": [{"role": "user", "content": "#sse-error:0"}],
        },
        headers={"authorization": f"Bearer {gw.keys['acme']}"},
        timeout=20,
    )
    assert response.status_code == 502
    assert "overloaded" in response.json()["error"]["message"]


def test_the_bill_of_materials_knows_the_kinds_and_the_seoul_region(tmp_path: Path) -> None:
    assert runtime_provider("g", "gemini", None).table_id == "google-gemini"
    assert runtime_provider("v", "vertex", None).table_id == "google-vertex"
    vertex: Any = {"name": "v", "kind": "vertex", "project": PROJECT, "location": LOCATION}
    base = config.load(home=tmp_path / "home", env={})
    route: Any = {"model": "v", "targets": [{"provider": "v", "model": "gemini-2.5-flash"}]}
    settings = config.Settings(home=base.home, providers=[vertex], routes=[route])
    (found,) = configured_providers(settings)
    assert (found.table_id, found.region, found.region_country) == (
        "google-vertex",
        LOCATION,
        "KR",
    )


def test_anthropic_tool_use_through_gemini(gw: Running, fake_gemini: FakeGemini) -> None:
    tool: Any = {
        "name": "get_weather",
        "description": "The weather in a city",
        "input_schema": WEATHER["function"]["parameters"],
    }
    client = _anthropic(gw)
    message = client.messages.create(
        model="gem",
        max_tokens=64,
        tools=[tool],
        messages=[{"role": "user", "content": "Seoul #tool"}],
    )
    assert message.stop_reason == "tool_use"
    block: Any = message.content[-1]
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"echo": "Seoul #tool"}
    declared = fake_gemini.latest().body["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"
    with client.messages.stream(
        model="gem", max_tokens=64, tools=[tool], messages=[{"role": "user", "content": "x #tool"}]
    ) as stream:
        final = stream.get_final_message()
    streamed: Any = final.content[-1]
    assert final.stop_reason == "tool_use" and streamed.input == {"echo": "echo: x #tool"}
