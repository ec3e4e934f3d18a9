"""Provider adapters over real sockets against the fake upstream (tests/fixtures/fake_upstream.py):
pass-through fidelity, both wire formats, incremental streaming, usage, every error mapping,
cancellation, and the demo provider read back through the official SDKs' types."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

import aiohttp
import httpx2
import openai
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from anthropic.types import Message
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.translate import (
    AnthropicToOpenAIStream,
    anthropic_to_openai_request,
    openai_to_anthropic_request,
)
from sumun.gateway.upstream._http import open_stream
from sumun.gateway.upstream.anthropic import ANTHROPIC_VERSION, AnthropicAdapter
from sumun.gateway.upstream.base import (
    Call,
    Endpoint,
    ProviderAdapter,
    StreamReply,
    UpstreamError,
    Wire,
)
from sumun.gateway.upstream.demo import DEMO_MODEL, EMBEDDING_DIMENSIONS, LABEL, DemoAdapter
from sumun.gateway.upstream.factory import make_adapter
from sumun.gateway.upstream.openai_compat import OpenAICompatAdapter
from sumun.gateway.upstream.sse import frame
from tests.fixtures.fake_upstream import MODELS, FakeUpstream
from tests.gateway.test_translate import (
    PNG,
    TOOL_ANTHROPIC,
    TOOL_OPENAI,
    first_tool_call,
    sdk_anthropic_stream,
    sdk_openai_stream,
    sse_events,
    text,
    tool_input,
)

Json = dict[str, Any]
T = TypeVar("T")
KEY = "sk-test-0123456789abcdef"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def config(fake: FakeUpstream, kind: str = "openai", **fields: Any) -> ProviderConfig:
    base = fake.base_url if kind == "openai" else fake.root_url
    values: Json = {"name": f"fake-{kind}", "kind": kind, "base_url": base, **fields}
    return ProviderConfig(**values)


def call(
    prompt: str,
    *,
    wire: Wire = Wire.OPENAI,
    endpoint: str = "chat",
    stream: bool = False,
    **fields: Any,
) -> Call:
    body: Json = {"model": "up-model", "messages": [{"role": "user", "content": prompt}], **fields}
    if wire is Wire.ANTHROPIC:
        body.setdefault("max_tokens", 64)
    return Call(cast(Endpoint, endpoint), wire, body, stream, request_id="req-1")


async def collect(reply: StreamReply) -> bytes:
    return b"".join([chunk async for chunk in reply.chunks])


def with_adapter(
    make: Callable[[], ProviderAdapter], use: Callable[[ProviderAdapter], Awaitable[T]]
) -> T:
    async def main() -> T:
        adapter = make()
        try:
            return await use(adapter)
        finally:
            await adapter.aclose()

    return run(main())


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def expect_error(
    coro_factory: Callable[[], Awaitable[Any]],
) -> UpstreamError:
    async def main() -> UpstreamError:
        with pytest.raises(UpstreamError) as info:
            await coro_factory()
        return info.value

    return run(main())


@pytest.fixture
def openai_adapter(
    fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., OpenAICompatAdapter]:
    monkeypatch.setenv("FAKE_OPENAI_KEY", KEY)

    def make(**fields: Any) -> OpenAICompatAdapter:
        return OpenAICompatAdapter(config(fake_upstream, api_key_env="FAKE_OPENAI_KEY", **fields))

    return make


@pytest.fixture
def anthropic_adapter(
    fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AnthropicAdapter]:
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", KEY)

    def make(**fields: Any) -> AnthropicAdapter:
        return AnthropicAdapter(
            config(fake_upstream, "anthropic", api_key_env="FAKE_ANTHROPIC_KEY", **fields)
        )

    return make


# --- OpenAI-compatible: pass-through --------------------------------------------------------

RICH_MESSAGES = [
    {"role": "system", "content": "be brief"},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is in this picture?"},
            {
                "type": "image_url",
                "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"},
            },
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"city":"Seoul"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "and now?"},
            {"type": "image_url", "image_url": {"url": "https://x.test/b.png"}},
        ],
    },
]


def test_openai_pass_through_keeps_tools_images_and_unknown_fields(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    body = {
        "model": "up-model",
        "messages": RICH_MESSAGES,
        "tools": [TOOL_OPENAI],
        "tool_choice": "auto",
        "top_k": 5,  # a vLLM extension
        "x_vendor": {"nested": [1, 2, {"deep": "값"}]},
    }
    request = Call(endpoint="chat", wire=Wire.OPENAI, body=body, stream=False, request_id="req-42")
    reply = with_adapter(openai_adapter, lambda a: a.complete(request))
    seen = fake_upstream.last_request
    assert seen is not None and seen.path == "/v1/chat/completions"
    assert seen.body == body  # byte-for-byte the same JSON value, nothing added or dropped
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["x-request-id"] == "req-42"
    assert reply.status == 200
    assert reply.body["x_fake_upstream"]["fields"] == sorted(body)  # unknown answer fields kept
    assert "[images: 2]" in reply.body["choices"][0]["message"]["content"]
    completion = ChatCompletion.model_validate(reply.body)
    assert completion.usage is not None
    assert (reply.usage.tokens_in, reply.usage.tokens_out) == (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )


def test_openai_tool_call_answers_pass_through(
    openai_adapter: Callable[..., OpenAICompatAdapter],
) -> None:
    reply = with_adapter(
        openai_adapter, lambda a: a.complete(call("weather? #tool", tools=[TOOL_OPENAI]))
    )
    completion = ChatCompletion.model_validate(reply.body)
    tool_call = first_tool_call(completion)
    assert tool_call.function.name == "lookup"
    assert orjson.loads(tool_call.function.arguments) == {"echo": "weather? #tool"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_a_stream_flag_on_a_complete_call_is_turned_off(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    body = {"model": "up-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    request = Call("chat", Wire.OPENAI, body, False, "r")
    reply = with_adapter(openai_adapter, lambda a: a.complete(request))
    assert body["stream"] is True  # the caller's body is left alone
    assert fake_upstream.latest().body["stream"] is False
    assert reply.body["object"] == "chat.completion"


def test_openai_stream_passes_through_and_meters_usage_the_client_did_not_ask_for(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[bytes, Any]:
        reply = await adapter.stream(call("tell me a story", stream=True, tools=[TOOL_OPENAI]))
        return await collect(reply), reply.usage

    out, usage = with_adapter(openai_adapter, use)
    sent = fake_upstream.latest().body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    chunks = [orjson.loads(e.data) for e in sse_events(out) if e.data != "[DONE]"]
    assert all(c["choices"] for c in chunks)  # the usage-only chunk was not forwarded
    assert out.endswith(b"data: [DONE]\n\n")
    assert (usage.tokens_in, usage.tokens_out) == (4, 5)
    final = sdk_openai_stream(out)
    assert final.choices[0].message.content == "echo: tell me a story"


def test_openai_stream_forwards_usage_when_the_client_asked(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[bytes, Any]:
        options = {"include_usage": True, "x_extra": 1}
        reply = await adapter.stream(call("hi there", stream=True, stream_options=options))
        return await collect(reply), reply.usage

    out, usage = with_adapter(openai_adapter, use)
    assert fake_upstream.latest().body["stream_options"] == {
        "include_usage": True,
        "x_extra": 1,
    }
    final = sdk_openai_stream(out)
    assert final.usage.prompt_tokens == usage.tokens_in == 2


def test_stream_events_arrive_before_the_upstream_has_finished(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[float, bool, float]:
        started = time.monotonic()
        reply = await adapter.stream(call("#slow:0.25 #chunks:4 #tag:incremental", stream=True))
        first = await reply.chunks.__anext__()
        assert first.startswith(b"data: ")
        first_at = time.monotonic() - started
        finished_early = fake_upstream.saw("complete", "incremental")
        rest = [c async for c in reply.chunks]
        assert rest[-1].endswith(b"data: [DONE]\n\n")
        return first_at, finished_early, time.monotonic() - started

    first_at, finished_early, total = with_adapter(openai_adapter, use)
    assert not finished_early
    assert first_at < 0.6 and total > 1.2  # 7 events, 0.25 s apart


def test_a_server_that_forgets_done_still_gives_a_complete_stream(
    openai_adapter: Callable[..., OpenAICompatAdapter],
) -> None:
    async def use(adapter: ProviderAdapter) -> bytes:
        return await collect(await adapter.stream(call("bye #nodone", stream=True)))

    out = with_adapter(openai_adapter, use)
    assert out.endswith(b"data: [DONE]\n\n")


def test_embeddings_responses_and_models_pass_through(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[Any, ...]:
        emb_body = {"model": "emb", "input": ["하나", "둘 셋"], "encoding_format": "float"}
        emb = await adapter.complete(Call("embeddings", Wire.OPENAI, emb_body, False, "r"))
        emb_seen = fake_upstream.last_request
        resp_body = {"model": "up-model", "input": "hello responses", "store": False}
        resp = await adapter.complete(Call("responses", Wire.OPENAI, resp_body, False, "r"))
        streamed = await adapter.stream(Call("responses", Wire.OPENAI, resp_body, True, "r"))
        events = await collect(streamed)
        return emb, emb_seen, resp, events, streamed.usage, await adapter.models()

    emb, emb_seen, resp, events, usage, models = with_adapter(openai_adapter, use)
    assert emb_seen.path == "/v1/embeddings"
    assert CreateEmbeddingResponse.model_validate(emb.body).data[1].index == 1
    assert (emb.usage.tokens_in, emb.usage.tokens_out) == (3, 0)
    assert Response.model_validate(resp.body).output_text == "echo: hello responses"
    assert (resp.usage.tokens_in, resp.usage.tokens_out) == (2, 3)
    assert sse_events(events)[-1].event == "response.completed"
    assert (usage.tokens_in, usage.tokens_out) == (2, 3)
    assert models == list(MODELS)


def test_anthropic_clients_are_translated_to_chat_completions(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    request = call(
        "안녕 #tool",
        wire=Wire.ANTHROPIC,
        endpoint="messages",
        tools=[TOOL_ANTHROPIC],
        system="brief",
    )
    reply = with_adapter(openai_adapter, lambda a: a.complete(request))
    seen = fake_upstream.last_request
    assert seen is not None and seen.path == "/v1/chat/completions"
    assert seen.body == anthropic_to_openai_request(request.body)
    message = Message.model_validate(reply.body)
    assert message.stop_reason == "tool_use"
    assert tool_input(message.content[0]) == {"echo": "안녕 #tool"}
    assert reply.usage.tokens_in == message.usage.input_tokens == 3  # system + user words


def test_anthropic_clients_stream_through_an_openai_upstream(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[bytes, Any]:
        reply = await adapter.stream(
            call("stream it please", wire=Wire.ANTHROPIC, endpoint="messages", stream=True)
        )
        return await collect(reply), reply.usage

    out, usage = with_adapter(openai_adapter, use)
    assert fake_upstream.latest().body["stream_options"] == {"include_usage": True}
    message = sdk_anthropic_stream(out)
    assert text(message.content[0]) == "echo: stream it please"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 4)
    assert (usage.tokens_in, usage.tokens_out) == (3, 4)


def test_azure_deployment_urls_and_api_key_header(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    def make() -> OpenAICompatAdapter:
        return openai_adapter(
            kind="azure", base_url=fake_upstream.root_url, api_version="2024-10-21"
        )

    reply = with_adapter(make, lambda a: a.complete(call("hi", model="dep-1")))
    seen = fake_upstream.last_request
    assert seen is not None
    assert seen.path == "/openai/deployments/dep-1/chat/completions"
    assert seen.query == "api-version=2024-10-21"
    assert seen.headers["api-key"] == KEY and "authorization" not in seen.headers
    assert reply.body["choices"][0]["message"]["content"] == "echo: hi"
    assert with_adapter(make, lambda a: a.models()) == []
    with pytest.raises(ConfigError, match="api_version"):
        openai_adapter(kind="azure", base_url=fake_upstream.root_url)


@pytest.mark.parametrize(
    ("request_call", "message"),
    [
        (call("x", endpoint="messages"), "OpenAI-format messages"),
        (call("x", wire=Wire.ANTHROPIC), "Anthropic-format chat"),
        (
            call(
                "x",
                wire=Wire.ANTHROPIC,
                endpoint="messages",
                tools=[{"type": "bash_20250124", "name": "bash"}],
            ),
            "server tool",
        ),
    ],
)
def test_requests_the_openai_adapter_cannot_serve(
    openai_adapter: Callable[..., OpenAICompatAdapter], request_call: Call, message: str
) -> None:
    error = expect_error(
        lambda: with_adapter_async(openai_adapter, lambda a: a.complete(request_call))
    )
    assert (error.status, error.kind, error.retryable, error.started) == (
        400,
        "unsupported",
        False,
        False,
    )
    assert message in str(error)


async def with_adapter_async(
    make: Callable[[], ProviderAdapter], use: Callable[[ProviderAdapter], Awaitable[T]]
) -> T:
    adapter = make()
    try:
        return await use(adapter)
    finally:
        await adapter.aclose()


# --- errors ---------------------------------------------------------------------------------

FAILURES = [
    ("#fail:429", 429, True, "rate_limited"),
    ("#fail:500", 502, True, "upstream_error"),
    ("#fail:503", 502, True, "upstream_error"),
    ("#fail:529", 502, True, "upstream_error"),
    ("#fail:400", 400, False, "bad_request"),
    ("#fail:404", 404, False, "bad_request"),
    ("#fail:422", 422, False, "bad_request"),
    ("#fail:401", 502, True, "upstream_auth"),
    ("#fail:403", 502, True, "upstream_auth"),
]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("failure", FAILURES, ids=[f[0] for f in FAILURES])
def test_http_failures_map_to_upstream_errors(
    openai_adapter: Callable[..., OpenAICompatAdapter],
    anthropic_adapter: Callable[..., AnthropicAdapter],
    kind: str,
    streaming: bool,
    failure: tuple[str, int, bool, str],
) -> None:
    directive, status, retryable, error_kind = failure
    make = openai_adapter if kind == "openai" else anthropic_adapter
    wire, endpoint = (Wire.OPENAI, "chat") if kind == "openai" else (Wire.ANTHROPIC, "messages")
    request = call(f"hi {directive}", wire=wire, endpoint=endpoint, stream=streaming)

    def attempt(adapter: ProviderAdapter) -> Awaitable[Any]:
        return adapter.stream(request) if streaming else adapter.complete(request)

    error = expect_error(lambda: with_adapter_async(make, attempt))
    assert (error.status, error.retryable, error.kind, error.started) == (
        status,
        retryable,
        error_kind,
        False,
    )
    assert error.provider == f"fake-{kind}"
    assert "told to fail" in str(error)  # the upstream's own message, for the user
    assert KEY not in str(error) and "[redacted]" in str(error)  # never Sumun's credential


@pytest.mark.parametrize("streaming", [False, True])
def test_a_slow_upstream_times_out_as_504(
    openai_adapter: Callable[..., OpenAICompatAdapter], streaming: bool
) -> None:
    make = lambda: openai_adapter(timeout_seconds=0.3)  # noqa: E731
    request = call("hi #slow:2", stream=streaming)
    started = time.monotonic()
    error = expect_error(
        lambda: with_adapter_async(
            make, lambda a: a.stream(request) if streaming else a.complete(request)
        )
    )
    assert time.monotonic() - started < 1.5
    assert (error.status, error.kind, error.retryable, error.started) == (
        504,
        "timeout",
        True,
        False,
    )


def test_an_upstream_that_goes_silent_mid_stream_times_out_with_started(
    openai_adapter: Callable[..., OpenAICompatAdapter],
) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[bytes, UpstreamError]:
        reply = await adapter.stream(call("hi #hang", stream=True))
        first = await reply.chunks.__anext__()
        with pytest.raises(UpstreamError) as info:
            await reply.chunks.__anext__()
        return first, info.value

    first, error = with_adapter(lambda: openai_adapter(timeout_seconds=0.3), use)
    assert first.startswith(b"data: ")
    assert (error.status, error.kind, error.retryable, error.started) == (
        504,
        "timeout",
        False,
        True,
    )


@pytest.mark.parametrize("streaming", [False, True])
def test_connection_refused_is_503_unavailable(streaming: bool) -> None:
    cfg = ProviderConfig(
        name="dead", kind="openai", base_url=closed_port_url(), connect_timeout_seconds=0.5
    )
    request = call("hi", stream=streaming)
    error = expect_error(
        lambda: with_adapter_async(
            lambda: OpenAICompatAdapter(cfg),
            lambda a: a.stream(request) if streaming else a.complete(request),
        )
    )
    assert (error.status, error.kind, error.retryable, error.started) == (
        503,
        "unavailable",
        True,
        False,
    )
    assert error.provider == "dead"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_stream_cut_mid_way_raises_with_started(
    openai_adapter: Callable[..., OpenAICompatAdapter],
    anthropic_adapter: Callable[..., AnthropicAdapter],
    kind: str,
) -> None:
    make = openai_adapter if kind == "openai" else anthropic_adapter
    wire, endpoint = (Wire.OPENAI, "chat") if kind == "openai" else (Wire.ANTHROPIC, "messages")

    async def use(adapter: ProviderAdapter) -> tuple[list[bytes], UpstreamError]:
        reply = await adapter.stream(
            call("long story #cut:3 #chunks:20", wire=wire, endpoint=endpoint, stream=True)
        )
        got: list[bytes] = []
        with pytest.raises(UpstreamError) as info:
            async for chunk in reply.chunks:
                got.append(chunk)
        return got, info.value

    got, error = with_adapter(make, use)
    assert got  # some events reached the client first
    assert (error.status, error.kind, error.retryable, error.started) == (
        502,
        "stream_cut",
        False,
        True,
    )


def test_a_stream_cut_before_the_first_event_is_retryable(
    openai_adapter: Callable[..., OpenAICompatAdapter],
) -> None:
    error = expect_error(
        lambda: with_adapter_async(openai_adapter, lambda a: a.stream(call("#cut:0", stream=True)))
    )
    assert (error.status, error.kind, error.retryable, error.started) == (
        502,
        "stream_cut",
        True,
        False,
    )


@pytest.mark.parametrize(
    ("kind", "wire", "expected_kind"),
    [
        ("openai", Wire.OPENAI, "upstream_error"),
        ("openai", Wire.ANTHROPIC, "upstream_error"),
        ("anthropic", Wire.ANTHROPIC, "overloaded"),
        ("anthropic", Wire.OPENAI, "overloaded"),
    ],
)
def test_an_error_event_inside_the_stream(
    openai_adapter: Callable[..., OpenAICompatAdapter],
    anthropic_adapter: Callable[..., AnthropicAdapter],
    kind: str,
    wire: Wire,
    expected_kind: str,
) -> None:
    make = openai_adapter if kind == "openai" else anthropic_adapter
    endpoint = "chat" if wire is Wire.OPENAI else "messages"

    async def use(adapter: ProviderAdapter) -> tuple[bytes, UpstreamError]:
        reply = await adapter.stream(
            call("hi #sse-error:3 #chunks:5 #slow:0.05", wire=wire, endpoint=endpoint, stream=True)
        )
        got = bytearray()
        with pytest.raises(UpstreamError) as info:
            async for chunk in reply.chunks:
                got += chunk
        return bytes(got), info.value

    got, error = with_adapter(make, use)
    assert got and b"error" not in got  # the gateway, not the adapter, writes the error event
    assert (error.status, error.kind, error.retryable, error.started) == (
        502,
        expected_kind,
        False,
        True,
    )

    # The same error as the very first event: nothing was sent, so the router may fail over.
    first = expect_error(
        lambda: with_adapter_async(
            make,
            lambda a: a.stream(call("hi #sse-error:0", wire=wire, endpoint=endpoint, stream=True)),
        )
    )
    assert (first.status, first.kind, first.retryable, first.started) == (
        502,
        expected_kind,
        True,
        False,
    )


def test_an_error_event_in_the_first_read_is_still_retryable() -> None:
    # message_start and an overloaded error arrive together: nothing reached the client yet.
    start = {"type": "message_start", "message": {"id": "m", "model": "x", "usage": {}}}
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    body = frame(orjson.dumps(start), "message_start") + frame(orjson.dumps(error), "error")

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/event-stream")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/messages", answer)
        async with TestServer(app) as server, aiohttp.ClientSession() as session:
            pipe = AnthropicToOpenAIStream(model="x", created=1, include_usage=False)
            with pytest.raises(UpstreamError) as info:
                await open_stream(
                    session,
                    str(server.make_url("/v1/messages")),
                    pipe,
                    provider="p",
                    headers={},
                    secret=None,
                    body={},
                )
        assert (info.value.status, info.value.kind) == (502, "overloaded")
        assert (info.value.retryable, info.value.started) == (True, False)

    run(main())


# --- cancellation ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_aclose_cancels_the_upstream_request(
    openai_adapter: Callable[..., OpenAICompatAdapter],
    anthropic_adapter: Callable[..., AnthropicAdapter],
    fake_upstream: FakeUpstream,
    kind: str,
) -> None:
    make = openai_adapter if kind == "openai" else anthropic_adapter
    wire, endpoint = (Wire.OPENAI, "chat") if kind == "openai" else (Wire.ANTHROPIC, "messages")
    tag = f"aclose-{kind}"

    async def use(adapter: ProviderAdapter) -> None:
        reply = await adapter.stream(
            call(f"#slow:0.05 #chunks:400 #tag:{tag}", wire=wire, endpoint=endpoint, stream=True)
        )
        await reply.chunks.__anext__()
        await reply.chunks.aclose()
        with pytest.raises(StopAsyncIteration):
            await reply.chunks.__anext__()

    with_adapter(make, use)
    assert fake_upstream.wait_for("disconnect", tag, timeout=5)
    assert not fake_upstream.saw("complete", tag)


def test_aclose_before_reading_still_cancels(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> None:
        reply = await adapter.stream(call("#slow:0.05 #chunks:400 #tag:unread", stream=True))
        await reply.chunks.aclose()

    with_adapter(openai_adapter, use)
    assert fake_upstream.wait_for("disconnect", "unread", timeout=5)


def test_a_cancelled_reader_cancels_the_upstream(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> None:
        reply = await adapter.stream(call("#slow:0.05 #chunks:400 #tag:cancelled", stream=True))

        async def read_all() -> None:
            async for _ in reply.chunks:
                pass

        task = asyncio.create_task(read_all())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with_adapter(openai_adapter, use)
    assert fake_upstream.wait_for("disconnect", "cancelled", timeout=5)


def test_connections_are_reused_after_a_complete_stream(
    openai_adapter: Callable[..., OpenAICompatAdapter], fake_upstream: FakeUpstream
) -> None:
    async def use(adapter: ProviderAdapter) -> None:
        for _ in range(3):
            await collect(await adapter.stream(call("again", stream=True)))
            await adapter.complete(call("and again"))

    with_adapter(openai_adapter, use)
    # Six calls, one connection: the keep-alive pool handed the same socket back each time.
    ports = {r.peer for r in fake_upstream.requests[-6:]}
    assert len(ports) == 1


# --- Anthropic native -----------------------------------------------------------------------


def test_anthropic_pass_through(
    anthropic_adapter: Callable[..., AnthropicAdapter], fake_upstream: FakeUpstream
) -> None:
    body = {
        "model": "up-claude",
        "max_tokens": 64,
        "system": [{"type": "text", "text": "brief", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                ],
            }
        ],
        "thinking": {"type": "disabled"},
        "x_vendor": True,
    }
    request = Call("messages", Wire.ANTHROPIC, body, False, "req-a")
    reply = with_adapter(anthropic_adapter, lambda a: a.complete(request))
    seen = fake_upstream.last_request
    assert seen is not None and seen.path == "/v1/messages"
    assert seen.body == body
    assert (
        seen.headers["x-api-key"] == KEY and seen.headers["anthropic-version"] == ANTHROPIC_VERSION
    )
    assert "authorization" not in seen.headers
    message = Message.model_validate(reply.body)
    assert text(message.content[0]) == "echo: look [images: 1]"
    assert reply.body["x_fake_upstream"]["fields"] == sorted(body)
    assert (reply.usage.tokens_in, reply.usage.tokens_out) == (2, 4)


def test_anthropic_stream_pass_through(anthropic_adapter: Callable[..., AnthropicAdapter]) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[bytes, Any]:
        reply = await adapter.stream(
            call(
                "stream this #tool",
                wire=Wire.ANTHROPIC,
                endpoint="messages",
                stream=True,
                tools=[TOOL_ANTHROPIC],
            )
        )
        return await collect(reply), reply.usage

    out, usage = with_adapter(anthropic_adapter, use)
    names = [e.event for e in sse_events(out)]
    assert names[:2] == ["message_start", "ping"] and names[-1] == "message_stop"
    message = sdk_anthropic_stream(out)
    assert tool_input(message.content[0]) == {"echo": "echo: stream this #tool"}
    assert (usage.tokens_in, usage.tokens_out) == (3, 5)


def test_openai_clients_are_translated_to_anthropic(
    anthropic_adapter: Callable[..., AnthropicAdapter], fake_upstream: FakeUpstream
) -> None:
    request = call("weather? #tool", tools=[TOOL_OPENAI], max_tokens=32, temperature=0.2)
    reply = with_adapter(anthropic_adapter, lambda a: a.complete(request))
    assert fake_upstream.latest().body == openai_to_anthropic_request(request.body)
    completion = ChatCompletion.model_validate(reply.body)
    tool_call = first_tool_call(completion)
    assert orjson.loads(tool_call.function.arguments) == {"echo": "weather? #tool"}
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage and completion.usage.prompt_tokens == reply.usage.tokens_in == 2


@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_clients_stream_through_anthropic(
    anthropic_adapter: Callable[..., AnthropicAdapter],
    fake_upstream: FakeUpstream,
    include_usage: bool,
) -> None:
    async def use(adapter: ProviderAdapter) -> tuple[bytes, Any]:
        options = {"include_usage": True} if include_usage else None
        reply = await adapter.stream(call("one two three", stream=True, stream_options=options))
        return await collect(reply), reply.usage

    out, usage = with_adapter(anthropic_adapter, use)
    assert "stream_options" not in fake_upstream.latest().body
    final = sdk_openai_stream(out)
    assert final.choices[0].message.content == "echo: one two three"
    assert final.choices[0].finish_reason == "stop"
    assert (final.usage is not None) is include_usage
    assert (usage.tokens_in, usage.tokens_out) == (3, 4)


@pytest.mark.parametrize("endpoint", ["embeddings", "responses"])
def test_anthropic_has_no_embeddings_or_responses(
    anthropic_adapter: Callable[..., AnthropicAdapter], endpoint: Endpoint
) -> None:
    request = Call(endpoint, Wire.OPENAI, {"model": "m", "input": "x"}, False, "r")
    error = expect_error(
        lambda: with_adapter_async(anthropic_adapter, lambda a: a.complete(request))
    )
    assert (error.status, error.kind, error.retryable) == (400, "unsupported", False)


def test_anthropic_models(
    anthropic_adapter: Callable[..., AnthropicAdapter], fake_upstream: FakeUpstream
) -> None:
    assert with_adapter(anthropic_adapter, lambda a: a.models()) == list(MODELS)
    seen = fake_upstream.last_request
    assert seen is not None and seen.path == "/v1/models" and seen.headers["x-api-key"] == KEY


# --- the demo provider ----------------------------------------------------------------------


def _mock_json(body: Json) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=body)

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def _mock_sse(body: bytes) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_demo_chat_is_labelled_deterministic_and_valid() -> None:
    adapter = DemoAdapter(clock=lambda: 1700000000.0)
    request = call("안녕하세요, 수문!")
    first = run(adapter.complete(request))
    again = run(adapter.complete(request))
    assert first == again
    completion = ChatCompletion.model_validate(first.body)
    text = completion.choices[0].message.content or ""
    assert text == f"{LABEL} You said: 안녕하세요, 수문!"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        2,
        len(text.split()),
    )
    assert (first.usage.tokens_in, first.usage.tokens_out) == (2, len(text.split()))
    assert completion.model == "up-model" and completion.created == 1700000000


@pytest.mark.parametrize("include_usage", [False, True])
def test_demo_chat_stream(include_usage: bool) -> None:
    adapter = DemoAdapter()
    options = {"include_usage": True} if include_usage else None

    async def use() -> tuple[bytes, Any]:
        reply = await adapter.stream(call("stream me please", stream=True, stream_options=options))
        return await collect(reply), reply.usage

    out, usage = run(use())
    assert len(sse_events(out)) > 4  # several events, not one blob
    final = sdk_openai_stream(out)
    assert final.choices[0].message.content == f"{LABEL} You said: stream me please"
    assert (final.usage is not None) is include_usage
    assert usage.tokens_in == 3


def test_demo_messages_and_stream() -> None:
    adapter = DemoAdapter()
    request = call("hello claude", wire=Wire.ANTHROPIC, endpoint="messages", system="be brief")
    message = Message.model_validate(run(adapter.complete(request)).body)
    assert text(message.content[0]).startswith(LABEL)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (
        4,
        len(text(message.content[0]).split()),
    )

    async def use() -> bytes:
        streamed = Call("messages", Wire.ANTHROPIC, request.body, True, "r")
        return await collect(await adapter.stream(streamed))

    final = sdk_anthropic_stream(run(use()))
    assert text(final.content[0]) == text(message.content[0])
    assert (
        final.usage.output_tokens == message.usage.output_tokens and final.stop_reason == "end_turn"
    )


def test_demo_responses_and_stream() -> None:
    adapter = DemoAdapter()
    body = {
        "model": "demo",
        "instructions": "be kind",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi there"}]}],
    }
    reply = run(adapter.complete(Call("responses", Wire.OPENAI, body, False, "r")))
    response = Response.model_validate(reply.body)
    assert response.output_text == f"{LABEL} You said: hi there"
    assert response.usage is not None and response.usage.input_tokens == 4

    async def use() -> bytes:
        return await collect(await adapter.stream(Call("responses", Wire.OPENAI, body, True, "r")))

    client = openai.OpenAI(
        api_key="x", base_url="http://sdk.test/v1", http_client=_mock_sse(run(use()))
    )
    events = list(client.responses.create(model="demo", input="x", stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == response.output_text
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == response.output_text


@pytest.mark.parametrize("encoding", [None, "float", "base64"])
def test_demo_embeddings_through_the_openai_sdk(encoding: str | None) -> None:
    adapter = DemoAdapter()
    body: Json = {"model": "demo", "input": ["하나", "둘 셋"]}
    if encoding:
        body["encoding_format"] = encoding
    reply = run(adapter.complete(Call("embeddings", Wire.OPENAI, body, False, "r")))
    assert (reply.usage.tokens_in, reply.usage.tokens_out) == (3, 0)
    client = openai.OpenAI(
        api_key="x", base_url="http://sdk.test/v1", http_client=_mock_json(reply.body)
    )
    # The SDK asks for base64 by default and decodes it into floats; floats it leaves alone.
    parsed = client.embeddings.create(model="demo", input=["하나", "둘 셋"])
    vector = parsed.data[0].embedding
    assert len(vector) == EMBEDDING_DIMENSIONS
    assert abs(sum(x * x for x in vector) - 1.0) < 1e-5  # a unit vector
    again = run(
        adapter.complete(
            Call("embeddings", Wire.OPENAI, {**body, "encoding_format": "float"}, False, "r")
        )
    )
    assert [round(x, 5) for x in again.body["data"][0]["embedding"]] == [
        round(x, 5) for x in vector
    ]
    assert again.body["data"][0]["embedding"] != again.body["data"][1]["embedding"]


def test_demo_embeddings_dimensions_and_bad_input() -> None:
    adapter = DemoAdapter()
    reply = run(
        adapter.complete(
            Call(
                "embeddings",
                Wire.OPENAI,
                {"model": "d", "input": "x", "dimensions": 16},
                False,
                "r",
            )
        )
    )
    assert len(reply.body["data"][0]["embedding"]) == 16
    error = expect_error(
        lambda: adapter.complete(
            Call("embeddings", Wire.OPENAI, {"model": "d", "input": []}, False, "r")
        )
    )
    assert (error.status, error.kind) == (400, "bad_request")


def test_demo_refuses_what_it_cannot_answer_and_lists_its_model() -> None:
    adapter = DemoAdapter()
    error = expect_error(
        lambda: adapter.stream(Call("embeddings", Wire.OPENAI, {"input": "x"}, True, "r"))
    )
    assert (error.status, error.kind) == (400, "unsupported")
    error = expect_error(lambda: adapter.complete(call("x", endpoint="messages")))
    assert error.kind == "unsupported"
    assert run(adapter.models()) == [DEMO_MODEL]


def test_demo_label_is_in_every_answer() -> None:
    adapter = DemoAdapter()

    async def texts() -> list[str]:
        out = []
        for wire, endpoint in (
            (Wire.OPENAI, "chat"),
            (Wire.ANTHROPIC, "messages"),
            (Wire.OPENAI, "responses"),
        ):
            request = call("", wire=wire, endpoint=endpoint)
            out.append(orjson.dumps((await adapter.complete(request)).body).decode())
            streamed = Call(request.endpoint, wire, request.body, True, "r")
            out.append((await collect(await adapter.stream(streamed))).decode())
        return out

    for answer in run(texts()):
        assert "not a real AI model" in answer


# --- factory --------------------------------------------------------------------------------


def test_make_adapter_builds_each_kind(fake_upstream: FakeUpstream) -> None:
    async def build() -> list[ProviderAdapter]:
        adapters = [
            make_adapter(ProviderConfig(name="d", kind="demo")),
            make_adapter(config(fake_upstream)),
            make_adapter(config(fake_upstream, "azure", api_version="2024-10-21")),
            make_adapter(config(fake_upstream, "anthropic")),
        ]
        for adapter in adapters:
            await adapter.aclose()
        return adapters

    demo, oa, azure, claude = run(build())
    assert isinstance(demo, DemoAdapter) and isinstance(oa, OpenAICompatAdapter)
    assert isinstance(azure, OpenAICompatAdapter) and isinstance(claude, AnthropicAdapter)
    assert all(isinstance(a, ProviderAdapter) for a in (demo, oa, azure, claude))
    assert claude.name == "fake-anthropic"


def test_make_adapter_refuses_incomplete_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUMUN_TEST_MISSING_KEY", raising=False)
    with pytest.raises(ConfigError, match="needs a base_url"):
        make_adapter(ProviderConfig(name="x", kind="anthropic"))
    with pytest.raises(ConfigError, match="SUMUN_TEST_MISSING_KEY is not set"):
        make_adapter(
            ProviderConfig(
                name="x",
                kind="openai",
                base_url="http://127.0.0.1:9/v1",
                api_key_env="SUMUN_TEST_MISSING_KEY",
            )
        )
