"""The Amazon Bedrock adapter over a real socket against the fake Bedrock Runtime
(tests/fixtures/fake_bedrock.py), which checks every SigV4 signature with botocore: both wire
formats, both ways, streams in AWS's event-stream framing, usage, and every error mapping."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.upstream._converse import anthropic_to_converse
from sumun.gateway.upstream._converse_stream import ConverseToAnthropicEvents
from sumun.gateway.upstream._eventstream import aws_error
from sumun.gateway.upstream.base import Call, StreamReply, UpstreamError, Usage, Wire
from sumun.gateway.upstream.bedrock import BedrockAdapter
from sumun.gateway.upstream.factory import make_adapter
from tests.fixtures.fake_bedrock import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    FakeBedrock,
    start_fake_bedrock,
)
from tests.gateway.test_translate import (
    PNG,
    TOOL_ANTHROPIC,
    TOOL_OPENAI,
    first_tool_call,
    sdk_anthropic_stream,
    sdk_openai_stream,
)

Json = dict[str, Any]
T = TypeVar("T")
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with start_fake_bedrock() as server:
        yield server


def adapter(fake: FakeBedrock, **fields: Any) -> BedrockAdapter:
    values: Json = {"name": "bedrock-seoul", "kind": "bedrock", "region": REGION}
    return BedrockAdapter(ProviderConfig(**{**values, "base_url": fake.root_url, **fields}))


def openai_call(prompt: str, *, stream: bool = False, **fields: Any) -> Call:
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], **fields}
    return Call("chat", Wire.OPENAI, body, stream, "req-1")


def anthropic_call(prompt: str, *, stream: bool = False, **fields: Any) -> Call:
    body = {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": prompt}],
        **fields,
    }
    return Call("messages", Wire.ANTHROPIC, body, stream, "req-2")


async def drain(reply: StreamReply) -> bytes:
    return b"".join([chunk async for chunk in reply.chunks])


async def complete(fake: FakeBedrock, call: Call, **fields: Any) -> Any:
    upstream = adapter(fake, **fields)
    try:
        return await upstream.complete(call)
    finally:
        await upstream.aclose()


async def stream(fake: FakeBedrock, call: Call, **fields: Any) -> tuple[bytes, Usage]:
    upstream = adapter(fake, **fields)
    try:
        reply = await upstream.stream(call)
        return await drain(reply), reply.usage
    finally:
        await upstream.aclose()


# --- requests ------------------------------------------------------------------------------------


def test_an_openai_request_becomes_a_signed_converse_request(fake: FakeBedrock) -> None:
    messages = [
        {"role": "system", "content": "Answer in Korean."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "where is the branch?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"city": "Busan"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Busan branch: Haeundae"},
        {"role": "user", "content": "and in Seoul?"},
    ]
    call = Call(
        "chat",
        Wire.OPENAI,
        {
            "model": MODEL,
            "messages": messages,
            "max_tokens": 100,
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["END"],
            "tools": [TOOL_OPENAI],
            "tool_choice": "required",
        },
        False,
        "req-1",
    )
    reply = run(complete(fake, call))
    assert reply.status == 200 and not fake.rejected  # the fake verified the signature
    seen = fake.latest()
    assert seen.action == "converse" and seen.model == MODEL
    assert seen.raw_path == "anthropic.claude-3-5-sonnet-20240620-v1%3A0"  # sent as signed
    assert seen.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert f"/{REGION}/bedrock/aws4_request" in seen.headers["authorization"]
    body = seen.body
    assert body["system"] == [{"text": "Answer in Korean."}]
    assert body["inferenceConfig"] == {
        "maxTokens": 100,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    user, assistant, result = body["messages"]  # roles alternate, as Converse requires
    assert user["content"][1] == {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert assistant["content"] == [
        {"toolUse": {"toolUseId": "call_1", "name": "lookup", "input": {"city": "Busan"}}}
    ]
    assert result["role"] == "user"
    tool_result, last = result["content"]
    assert tool_result["toolResult"]["toolUseId"] == "call_1"
    assert tool_result["toolResult"]["content"] == [{"text": "Busan branch: Haeundae"}]
    assert last == {"text": "and in Seoul?"}
    spec = body["toolConfig"]["tools"][0]["toolSpec"]
    assert spec["name"] == "lookup" and spec["inputSchema"]["json"]["type"] == "object"
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    assert "model" not in body and "stream" not in body


def test_empty_text_beside_a_tool_call_is_not_sent() -> None:
    body = anthropic_to_converse(
        {
            "messages": [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": ""},
                        {"type": "tool_use", "id": "t1", "name": "lookup", "input": {}},
                    ],
                }
            ]
        }
    )
    assert body["messages"][0]["content"] == [
        {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}}
    ]


def test_consecutive_turns_of_one_role_are_merged() -> None:
    turns = [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    body = anthropic_to_converse({"messages": turns})
    assert body["messages"] == [{"role": "user", "content": [{"text": "one"}, {"text": "two"}]}]


def test_no_max_tokens_means_the_model_default(fake: FakeBedrock) -> None:
    run(complete(fake, openai_call("hi")))
    assert "inferenceConfig" not in fake.latest().body


def test_an_anthropic_request_maps_straight_to_converse(fake: FakeBedrock) -> None:
    call = anthropic_call(
        "hi",
        system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        top_k=5,
        tools=[TOOL_ANTHROPIC],
        tool_choice={"type": "tool", "name": "lookup"},
    )
    run(complete(fake, call))
    body = fake.latest().body
    assert body["system"] == [{"text": "be brief"}, {"cachePoint": {"type": "default"}}]
    assert body["inferenceConfig"] == {"maxTokens": 64}
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "lookup"}}


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (Call("embeddings", Wire.OPENAI, {"model": MODEL, "input": "x"}, False, "r"), "embeddings"),
        (Call("responses", Wire.OPENAI, {"model": MODEL, "input": "x"}, False, "r"), "responses"),
        (
            openai_call(
                "x",
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
                        ],
                    }
                ],
            ),
            "inline base64",
        ),
    ],
)
def test_what_bedrock_cannot_take_is_a_clear_400(fake: FakeBedrock, call: Call, what: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        run(complete(fake, call))
    assert caught.value.status == 400 and not caught.value.retryable
    assert what in str(caught.value)
    assert fake.requests == []  # nothing was sent


# --- answers -------------------------------------------------------------------------------------


def test_a_converse_answer_for_an_openai_client(fake: FakeBedrock) -> None:
    reply = run(complete(fake, openai_call("안녕 수문 #tool", tools=[TOOL_OPENAI])))
    completion = ChatCompletion.model_validate(reply.body)
    assert completion.choices[0].message.content == "echo: 안녕 수문 #tool"
    assert completion.choices[0].finish_reason == "tool_calls"
    call = first_tool_call(completion)
    assert call.function.name == "lookup" and call.function.arguments == '{"city":"Seoul"}'
    assert completion.usage is not None and completion.usage.prompt_tokens == 3
    assert (reply.usage.tokens_in, reply.usage.tokens_out) == (3, 4)


def test_a_converse_answer_for_an_anthropic_client(fake: FakeBedrock) -> None:
    reply = run(complete(fake, anthropic_call("hello #tool", tools=[TOOL_ANTHROPIC])))
    message = Message.model_validate(reply.body)
    assert message.stop_reason == "tool_use" and message.model == MODEL
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.usage.input_tokens == 2 and message.usage.output_tokens == 3
    assert (reply.usage.tokens_in, reply.usage.tokens_out) == (2, 3)


def test_an_openai_stream_from_the_event_stream(fake: FakeBedrock) -> None:
    call = openai_call(
        "stream this #tool #drip", tools=[TOOL_OPENAI], stream_options={"include_usage": True}
    )
    sse, usage = run(stream(fake, call))
    assert fake.latest().action == "converse-stream"
    assert sse.endswith(b"data: [DONE]\n\n")
    completion = sdk_openai_stream(sse)
    assert completion.choices[0].message.content == "echo: stream this #tool #drip"
    assert completion.choices[0].finish_reason == "tool_calls"
    assert first_tool_call(completion).function.arguments == '{"city": "Seoul"}'
    assert completion.usage.prompt_tokens == 4 and completion.usage.completion_tokens == 5
    assert (usage.tokens_in, usage.tokens_out) == (4, 5)


def test_an_anthropic_stream_from_the_event_stream(fake: FakeBedrock) -> None:
    sse, usage = run(stream(fake, anthropic_call("stream it #tool", tools=[TOOL_ANTHROPIC])))
    message = sdk_anthropic_stream(sse)
    assert message.stop_reason == "tool_use" and message.id == "msg_bdrk_req-2"
    assert message.content[0].type == "text" and message.content[0].text == "echo: stream it #tool"
    assert message.content[1].type == "tool_use" and message.content[1].input == {"city": "Seoul"}
    assert message.usage.output_tokens == 4 and (usage.tokens_in, usage.tokens_out) == (3, 4)


def test_a_stream_whose_metadata_never_came_still_ends() -> None:
    usage = Usage()
    events = ConverseToAnthropicEvents(model="m", message_id="id", usage=usage)
    out = events.feed("messageStart", {"role": "assistant"})
    out += events.feed("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}})
    out += events.feed("messageStop", {"stopReason": "max_tokens"})
    assert not events.done
    tail = events.close()
    assert events.done and [e.event for e in tail] == ["message_delta", "message_stop"]
    assert '"stop_reason":"max_tokens"' in tail[0].data
    assert [e.event for e in out][-1] == "content_block_stop"  # messageStop closed the block


def test_reasoning_deltas_become_thinking_blocks() -> None:
    events = ConverseToAnthropicEvents(model="m", message_id="id", usage=Usage())
    delta = {"reasoningContent": {"text": "hmm"}}
    out = events.feed("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta})
    assert [e.event for e in out] == ["message_start", "content_block_start", "content_block_delta"]
    assert '"thinking_delta"' in out[2].data


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize(
    ("directive", "status", "kind", "retryable"),
    [
        ("#throttle", 429, "rate_limited", True),
        ("#fail:500", 502, "upstream_error", True),
        ("#fail:503", 503, "unavailable", True),
        ("#fail:424", 502, "upstream_error", True),
        ("#fail:408", 504, "timeout", True),
        ("#validation", 400, "bad_request", False),
    ],
)
def test_aws_errors_map_like_every_upstream(
    fake: FakeBedrock, directive: str, status: int, kind: str, *, retryable: bool, streaming: bool
) -> None:
    call = openai_call(f"hi {directive}", stream=streaming)
    with pytest.raises(UpstreamError) as caught:
        run(stream(fake, call) if streaming else complete(fake, call))
    error = caught.value
    assert (error.status, error.kind, error.retryable, error.started) == (
        status,
        kind,
        retryable,
        False,
    )
    assert str(error).startswith("Amazon Bedrock answered ") and error.provider == "bedrock-seoul"


@pytest.mark.parametrize(
    ("env", "rejected"),
    [
        (
            {"AWS_SECRET_ACCESS_KEY": "wrong-secret-0000000000000000000000000000"},
            "InvalidSignature",
        ),
        ({"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000"}, "UnrecognizedClient"),
    ],
)
def test_wrong_credentials_are_named_without_being_shown(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], rejected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UpstreamError) as caught:
        run(complete(fake, openai_call("hi")))
    error = caught.value
    assert (error.status, error.kind) == (502, "upstream_auth")  # ours is wrong, not the client's
    assert "refused Sumun's AWS credentials" in str(error) and rejected in str(error)
    for secret in env.values():
        assert secret not in str(error)
    assert fake.rejected == [f"{rejected}Exception"]


def test_a_session_token_is_signed_and_sent(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.session_token = "FQoGZXIvYXdzEFAKE//session"
    with pytest.raises(UpstreamError):
        run(complete(fake, openai_call("hi")))  # the fake requires it
    monkeypatch.setenv("SEOUL_TOKEN", fake.session_token)
    reply = run(complete(fake, openai_call("hi"), aws_session_token_env="SEOUL_TOKEN"))
    assert reply.status == 200
    assert fake.latest().headers["x-amz-security-token"] == fake.session_token


def test_signing_logs_no_credentials_even_at_debug(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake.session_token = "FQoGZXIvYXdzEFAKE//session"
    monkeypatch.setenv("AWS_SESSION_TOKEN", fake.session_token)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("botocore.auth").setLevel(logging.DEBUG)
        assert run(complete(fake, openai_call("hi"))).status == 200
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (fake.session_token, SECRET_KEY, ACCESS_KEY, "hi"):
        assert secret not in logged


def test_own_key_variables_never_pick_up_the_standard_session_token(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "someone-elses-token")
    monkeypatch.setenv("SEOUL_KEY", ACCESS_KEY)
    assert run(complete(fake, openai_call("hi"), aws_access_key_id_env="SEOUL_KEY")).status == 200
    assert "x-amz-security-token" not in fake.latest().headers


@pytest.mark.parametrize(
    ("exception", "status", "kind"),
    [
        ("throttlingException", 429, "rate_limited"),
        ("serviceUnavailableException", 503, "unavailable"),
        ("modelStreamErrorException", 502, "upstream_error"),
        ("internalServerException", 502, "upstream_error"),
        ("validationException", 400, "bad_request"),
        ("somethingNewException", 502, "upstream_error"),
    ],
)
def test_stream_exceptions_map_by_name(exception: str, status: int, kind: str) -> None:
    before = aws_error("b", 200, exception, "boom", secrets=("s3cr3t",))
    assert (before.status, before.kind, before.retryable) == (status, kind, status != 400)
    after = aws_error("b", 200, exception, "boom s3cr3t", secrets=("s3cr3t",), started=True)
    assert after.started and not after.retryable and "s3cr3t" not in str(after)


def test_a_throttling_exception_before_the_first_chunk_may_fail_over(fake: FakeBedrock) -> None:
    with pytest.raises(UpstreamError) as caught:
        run(stream(fake, openai_call("hi #exception:0", stream=True)))
    error = caught.value
    assert (error.status, error.kind, error.retryable, error.started) == (
        429,
        "rate_limited",
        True,
        False,
    )
    assert "throttlingException" in str(error)


@pytest.mark.parametrize(
    ("directive", "kind", "status"),
    [("#exception:4", "rate_limited", 429), ("#cut:4", "stream_cut", 502)],
)
def test_a_stream_broken_mid_way_is_started_and_not_retryable(
    fake: FakeBedrock, directive: str, kind: str, status: int
) -> None:
    async def go() -> tuple[list[bytes], UpstreamError]:
        upstream = adapter(fake)
        got: list[bytes] = []
        try:
            reply = await upstream.stream(openai_call(f"a long answer {directive} #drip"))
            with pytest.raises(UpstreamError) as caught:
                async for chunk in reply.chunks:
                    got.append(chunk)
            return got, caught.value
        finally:
            await upstream.aclose()

    got, error = run(go())
    assert got and b"echo:" in b"".join(got)  # the start of the answer reached the client
    assert (error.kind, error.status, error.started, error.retryable) == (kind, status, True, False)


def test_closing_a_stream_early_cancels_the_upstream_request(fake: FakeBedrock) -> None:
    async def go() -> bytes:
        upstream = adapter(fake)
        try:
            reply = await upstream.stream(openai_call("word " * 60 + "#drip"))
            first = await anext(reply.chunks)
            await reply.chunks.aclose()  # the adapter (and its session) stays open meanwhile
            deadline = time.monotonic() + 3
            while ("disconnect", "") not in fake.events and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return first
        finally:
            await upstream.aclose()

    assert b"chat.completion.chunk" in run(go())
    assert ("disconnect", "") in fake.events and ("complete", "") not in fake.events


def test_broken_framing_is_a_bad_response(fake: FakeBedrock) -> None:
    with pytest.raises(UpstreamError) as caught:
        run(stream(fake, openai_call("hi #badcrc")))
    assert caught.value.kind == "bad_response" and "framing" in str(caught.value)


def test_a_silent_upstream_times_out(fake: FakeBedrock) -> None:
    with pytest.raises(UpstreamError) as caught:
        run(complete(fake, openai_call("hi #sleep:3"), timeout_seconds=0.5))
    assert (caught.value.status, caught.value.kind, caught.value.retryable) == (
        504,
        "timeout",
        True,
    )


# --- configuration -------------------------------------------------------------------------------


def test_a_bedrock_provider_needs_a_region_and_no_api_key() -> None:
    with pytest.raises(ValidationError, match="region"):
        ProviderConfig(name="b", kind="bedrock")
    with pytest.raises(ValidationError, match="AWS credentials"):
        ProviderConfig(name="b", kind="bedrock", region=REGION, api_key_env="X")


def test_the_default_endpoint_is_the_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    built = make_adapter(ProviderConfig(name="b", kind="bedrock", region="ap-northeast-2"))
    assert isinstance(built, BedrockAdapter)
    assert built._base == "https://bedrock-runtime.ap-northeast-2.amazonaws.com"
    assert run(built.models()) == []


def test_missing_credentials_say_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.delenv("SEOUL_SECRET", raising=False)
    config = ProviderConfig(
        name="b", kind="bedrock", region=REGION, aws_secret_access_key_env="SEOUL_SECRET"
    )
    with pytest.raises(ConfigError, match="SEOUL_SECRET") as caught:
        BedrockAdapter(config)
    assert caught.value.advice
