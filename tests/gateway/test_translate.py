"""OpenAI chat completions <-> Anthropic messages: every mapping table-driven, round trips, and
the translated answers and streams read back through the official SDKs' own parsers."""

from __future__ import annotations

from typing import Any, cast

import anthropic
import httpx2
import openai
import orjson
import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

from sumun.gateway.translate import (
    DEFAULT_MAX_TOKENS,
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    StreamFault,
    TranslationError,
    anthropic_to_openai_request,
    anthropic_to_openai_response,
    openai_to_anthropic_request,
    openai_to_anthropic_response,
)
from sumun.gateway.upstream.base import Usage
from sumun.gateway.upstream.sse import SSEEvent, SSEParser

Json = dict[str, Any]
PNG = "iVBORw0KGgo="
TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "find a branch",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TOOL_ANTHROPIC = {
    "name": "lookup",
    "description": "find a branch",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


# --- helpers: read our output with the official SDKs ----------------------------------------


def _sse_response(body: bytes) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.MockTransport(handler)


def sdk_openai_stream(sse: bytes) -> Any:
    """Our chunk stream, parsed and accumulated by the `openai` SDK: its final completion."""
    client = openai.OpenAI(
        api_key="x",
        base_url="http://sdk.test/v1",
        http_client=httpx2.Client(transport=_sse_response(sse)),
    )
    with client.chat.completions.stream(
        model="m",
        messages=[{"role": "user", "content": "x"}],
        tools=[cast(Any, TOOL_OPENAI)],
    ) as stream:
        for _ in stream:
            pass
        return stream.get_final_completion()


def sdk_anthropic_stream(sse: bytes) -> Message:
    """Our event stream, parsed and accumulated by the `anthropic` SDK: its final message."""
    client = anthropic.Anthropic(
        api_key="x",
        base_url="http://sdk.test",
        http_client=httpx2.Client(transport=_sse_response(sse)),
    )
    with client.messages.stream(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    ) as stream:
        for _ in stream:
            pass
        return stream.get_final_message()


def text(block: Any) -> str:
    """The text of an SDK content block (typed as a union of every block kind)."""
    return str(block.text)


def tool_input(block: Any) -> Any:
    return block.input


def first_tool_call(completion: Any) -> Any:
    """The first tool call of a parsed completion (a union of function and custom calls)."""
    return completion.choices[0].message.tool_calls[0]


def sse_events(*chunks: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def anthropic_event(body: Json) -> SSEEvent:
    return SSEEvent(orjson.dumps(body).decode(), event=body["type"])


def openai_event(body: Json | str) -> SSEEvent:
    return SSEEvent(body if isinstance(body, str) else orjson.dumps(body).decode())


# --- requests: OpenAI -> Anthropic ----------------------------------------------------------


def _oa(**fields: Any) -> Json:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}


def _an(**fields: Any) -> Json:
    return {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": DEFAULT_MAX_TOKENS,
        **fields,
    }


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        pytest.param(_oa(), _an(), id="minimal"),
        pytest.param(_oa(max_tokens=50), _an(max_tokens=50), id="max_tokens"),
        pytest.param(
            _oa(max_tokens=50, max_completion_tokens=70), _an(max_tokens=70), id="max_completion"
        ),
        pytest.param(_oa(stop="END"), _an(stop_sequences=["END"]), id="stop-string"),
        pytest.param(_oa(stop=["a", "b"]), _an(stop_sequences=["a", "b"]), id="stop-list"),
        pytest.param(
            _oa(temperature=0.3, top_p=0.9), _an(temperature=0.3, top_p=0.9), id="sampling"
        ),
        pytest.param(_oa(temperature=1.7), _an(temperature=1.0), id="temperature-clamped"),
        pytest.param(_oa(stream=True), _an(stream=True), id="stream"),
        pytest.param(_oa(user="u-1"), _an(metadata={"user_id": "u-1"}), id="user"),
        pytest.param(
            _oa(seed=1, frequency_penalty=0.5, logprobs=True, x_unknown=1), _an(), id="dropped"
        ),
        pytest.param(
            {
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "developer", "content": [{"type": "text", "text": "in Korean"}]},
                    {"role": "user", "content": "hi"},
                ],
            },
            _an(system="be brief\n\nin Korean"),
            id="system-and-developer",
        ),
        pytest.param(_oa(tools=[TOOL_OPENAI]), _an(tools=[TOOL_ANTHROPIC]), id="tools"),
        pytest.param(
            _oa(tools=[TOOL_OPENAI], tool_choice="auto"),
            _an(tools=[TOOL_ANTHROPIC], tool_choice={"type": "auto"}),
            id="tool_choice-auto",
        ),
        pytest.param(
            _oa(tools=[TOOL_OPENAI], tool_choice="required"),
            _an(tools=[TOOL_ANTHROPIC], tool_choice={"type": "any"}),
            id="tool_choice-required",
        ),
        pytest.param(
            _oa(tools=[TOOL_OPENAI], tool_choice="none"),
            _an(tools=[TOOL_ANTHROPIC], tool_choice={"type": "none"}),
            id="tool_choice-none",
        ),
        pytest.param(
            _oa(
                tools=[TOOL_OPENAI],
                tool_choice={"type": "function", "function": {"name": "lookup"}},
            ),
            _an(tools=[TOOL_ANTHROPIC], tool_choice={"type": "tool", "name": "lookup"}),
            id="tool_choice-function",
        ),
        pytest.param(
            _oa(tools=[TOOL_OPENAI], parallel_tool_calls=False),
            _an(
                tools=[TOOL_ANTHROPIC],
                tool_choice={"type": "auto", "disable_parallel_tool_use": True},
            ),
            id="no-parallel-tools",
        ),
        pytest.param(_oa(tool_choice="auto"), _an(), id="tool_choice-without-tools"),
        pytest.param(
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "what is this?"},
                            {
                                "type": "image_url",
                                "image_url": {"url": f"data:image/png;base64,{PNG}"},
                            },
                            {
                                "type": "image_url",
                                "image_url": {"url": "https://x.test/a.jpg", "detail": "low"},
                            },
                            {
                                "type": "file",
                                "file": {
                                    "file_data": "data:application/pdf;base64,JVBE",
                                    "filename": "a.pdf",
                                },
                            },
                        ],
                    }
                ],
            },
            _an(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "what is this?"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": PNG,
                                },
                            },
                            {
                                "type": "image",
                                "source": {"type": "url", "url": "https://x.test/a.jpg"},
                            },
                            {
                                "type": "document",
                                "source": {
                                    "type": "base64",
                                    "media_type": "application/pdf",
                                    "data": "JVBE",
                                },
                                "title": "a.pdf",
                            },
                        ],
                    }
                ]
            ),
            id="multimodal",
        ),
        pytest.param(
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "weather in Seoul and Busan?"},
                    {
                        "role": "assistant",
                        "content": "Checking.",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "lookup", "arguments": '{"city": "Seoul"}'},
                            },
                            {
                                "id": "c2",
                                "type": "function",
                                "function": {"name": "lookup", "arguments": ""},
                            },
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                    {
                        "role": "tool",
                        "tool_call_id": "c2",
                        "content": [{"type": "text", "text": "rain"}],
                    },
                    {"role": "user", "content": "thanks"},
                ],
            },
            _an(
                messages=[
                    {"role": "user", "content": "weather in Seoul and Busan?"},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "text", "text": "Checking."},
                            {
                                "type": "tool_use",
                                "id": "c1",
                                "name": "lookup",
                                "input": {"city": "Seoul"},
                            },
                            {"type": "tool_use", "id": "c2", "name": "lookup", "input": {}},
                        ],
                    },
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "c1", "content": "sunny"},
                            {
                                "type": "tool_result",
                                "tool_use_id": "c2",
                                "content": [{"type": "text", "text": "rain"}],
                            },
                            {"type": "text", "text": "thanks"},
                        ],
                    },
                ]
            ),
            id="tool-round",
        ),
    ],
)
def test_openai_to_anthropic_request(request_body: Json, expected: Json) -> None:
    assert openai_to_anthropic_request(request_body) == expected


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (_oa(n=2), "n > 1"),
        (_oa(response_format={"type": "json_object"}), "response_format"),
        (_oa(modalities=["text", "audio"]), "audio"),
        ({"model": "m", "messages": [{"role": "function", "content": "x"}]}, "role 'function'"),
        (_oa(tools=[{"type": "custom", "custom": {"name": "x"}}]), "only function tools"),
        (_oa(tool_choice={"type": "allowed_tools"}, tools=[TOOL_OPENAI]), "tool_choice"),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}
                        ],
                    }
                ],
            },
            "input_audio",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png,raw"}}
                        ],
                    }
                ],
            },
            "base64",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{bad"},
                            }
                        ],
                    }
                ],
            },
            "not valid JSON",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c",
                                "type": "function",
                                "function": {"name": "f", "arguments": "[1]"},
                            }
                        ],
                    }
                ],
            },
            "JSON object",
        ),
    ],
)
def test_openai_requests_that_cannot_be_translated(request_body: Json, message: str) -> None:
    with pytest.raises(TranslationError, match=message.replace("(", r"\(")):
        openai_to_anthropic_request(request_body)


def test_translation_does_not_touch_the_callers_body() -> None:
    body = _oa(stop="x", tools=[TOOL_OPENAI])
    snapshot = orjson.dumps(body)
    openai_to_anthropic_request(body)
    anthropic_to_openai_request(_an(tools=[TOOL_ANTHROPIC]))
    assert orjson.dumps(body) == snapshot


# --- requests: Anthropic -> OpenAI ----------------------------------------------------------


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        pytest.param(
            _an(),
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4096},
            id="minimal",
        ),
        pytest.param(
            _an(system="be brief", stop_sequences=["END"], temperature=0.2, top_p=0.5, top_k=5),
            {
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"},
                ],
                "max_tokens": 4096,
                "stop": ["END"],
                "temperature": 0.2,
                "top_p": 0.5,
            },
            id="params",
        ),
        pytest.param(
            _an(system=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], stream=True),
            {
                "model": "m",
                "messages": [
                    {"role": "system", "content": "a\nb"},
                    {"role": "user", "content": "hi"},
                ],
                "max_tokens": 4096,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            id="system-blocks-and-stream",
        ),
        pytest.param(
            _an(
                metadata={"user_id": "u-1"},
                tools=[TOOL_ANTHROPIC],
                tool_choice={"type": "any", "disable_parallel_tool_use": True},
            ),
            {
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 4096,
                "user": "u-1",
                "tools": [TOOL_OPENAI],
                "tool_choice": "required",
                "parallel_tool_calls": False,
            },
            id="tools",
        ),
        pytest.param(
            _an(tools=[TOOL_ANTHROPIC], tool_choice={"type": "tool", "name": "lookup"}),
            {
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 4096,
                "tools": [TOOL_OPENAI],
                "tool_choice": {"type": "function", "function": {"name": "lookup"}},
            },
            id="tool_choice-tool",
        ),
        pytest.param(
            _an(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": PNG,
                                },
                            },
                            {
                                "type": "image",
                                "source": {"type": "url", "url": "https://x.test/a.jpg"},
                            },
                            {
                                "type": "document",
                                "source": {
                                    "type": "base64",
                                    "media_type": "application/pdf",
                                    "data": "JVBE",
                                },
                            },
                            {
                                "type": "document",
                                "source": {
                                    "type": "text",
                                    "media_type": "text/plain",
                                    "data": "plain",
                                },
                            },
                        ],
                    }
                ]
            ),
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {
                                "type": "image_url",
                                "image_url": {"url": f"data:image/png;base64,{PNG}"},
                            },
                            {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
                            {
                                "type": "file",
                                "file": {
                                    "file_data": "data:application/pdf;base64,JVBE",
                                    "filename": "document.pdf",
                                },
                            },
                            {"type": "text", "text": "plain"},
                        ],
                    }
                ],
                "max_tokens": 4096,
            },
            id="multimodal",
        ),
        pytest.param(
            _an(
                messages=[
                    {"role": "user", "content": "weather?"},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "thinking", "thinking": "hmm", "signature": "s"},
                            {
                                "type": "tool_use",
                                "id": "t1",
                                "name": "lookup",
                                "input": {"city": "Seoul"},
                            },
                        ],
                    },
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t1",
                                "content": [{"type": "text", "text": "sunny"}],
                                "is_error": False,
                            },
                            {"type": "text", "text": "and tomorrow?"},
                        ],
                    },
                ]
            ),
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "weather?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "t1",
                                "type": "function",
                                "function": {"name": "lookup", "arguments": '{"city":"Seoul"}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
                    {"role": "user", "content": "and tomorrow?"},
                ],
                "max_tokens": 4096,
            },
            id="tool-round",
        ),
    ],
)
def test_anthropic_to_openai_request(request_body: Json, expected: Json) -> None:
    assert anthropic_to_openai_request(request_body) == expected


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (_an(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "server tool"),
        (_an(messages=[{"role": "system", "content": "x"}]), "role 'system'"),
        (_an(messages=[{"role": "user", "content": [{"type": "search_result"}]}]), "search_result"),
        (
            _an(
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                    }
                ]
            ),
            "image source",
        ),
        (
            _an(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [{"type": "image"}],
                            }
                        ],
                    }
                ]
            ),
            "only text blocks",
        ),
        (_an(tools=[TOOL_ANTHROPIC], tool_choice={"type": "sometimes"}), "tool_choice"),
    ],
)
def test_anthropic_requests_that_cannot_be_translated(request_body: Json, message: str) -> None:
    with pytest.raises(TranslationError, match=message):
        anthropic_to_openai_request(request_body)


def test_request_round_trip_openai_anthropic_openai() -> None:
    original = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "be brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "see"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
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
            {"role": "assistant", "content": "It is sunny."},
            {"role": "user", "content": "thanks"},
        ],
        "max_tokens": 100,
        "stop": ["END"],
        "temperature": 0.5,
        "top_p": 0.9,
        "tools": [TOOL_OPENAI],
        "tool_choice": "required",
        "user": "u-1",
    }
    assert anthropic_to_openai_request(openai_to_anthropic_request(original)) == original


def test_request_round_trip_anthropic_openai_anthropic() -> None:
    original = _an(
        system="be brief",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "see"},
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"city": "Seoul"}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}],
            },
        ],
        stop_sequences=["END"],
        temperature=0.5,
        tools=[TOOL_ANTHROPIC],
        tool_choice={"type": "tool", "name": "lookup"},
        metadata={"user_id": "u-1"},
    )
    assert openai_to_anthropic_request(anthropic_to_openai_request(original)) == original


# --- complete answers -----------------------------------------------------------------------


def _message(content: list[Json], stop: str = "end_turn", **usage: int) -> Json:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
    }


def _completion(message: Json, finish: str | None = "stop", **usage: Any) -> Json:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-x",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, **usage},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_stop_reason_to_finish_reason(stop_reason: str | None, finish_reason: str) -> None:
    message = _message([{"type": "text", "text": "hi"}])
    message["stop_reason"] = stop_reason
    completion = anthropic_to_openai_response(message, created=1)
    assert completion["choices"][0]["finish_reason"] == finish_reason
    ChatCompletion.model_validate(completion)


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
    ],
)
def test_finish_reason_to_stop_reason(finish_reason: str | None, stop_reason: str) -> None:
    message = openai_to_anthropic_response(
        _completion({"role": "assistant", "content": "hi"}, finish_reason)
    )
    assert message["stop_reason"] == stop_reason
    Message.model_validate(message)


def test_anthropic_answer_as_openai() -> None:
    message = _message(
        [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "Checking "},
            {"type": "text", "text": "now."},
            {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"city": "서울"}},
        ],
        "tool_use",
        cache_read_input_tokens=4,
        cache_creation_input_tokens=2,
    )
    completion = anthropic_to_openai_response(message, created=1700000000)
    parsed = ChatCompletion.model_validate(completion)
    reply = parsed.choices[0].message
    assert reply.content == "Checking now."
    assert first_tool_call(parsed).function.name == "lookup"
    assert orjson.loads(first_tool_call(parsed).function.arguments) == {"city": "서울"}
    assert parsed.choices[0].finish_reason == "tool_calls"
    assert parsed.usage is not None
    assert (
        parsed.usage.prompt_tokens,
        parsed.usage.completion_tokens,
        parsed.usage.total_tokens,
    ) == (16, 5, 21)
    assert (
        parsed.usage.prompt_tokens_details and parsed.usage.prompt_tokens_details.cached_tokens == 4
    )
    assert parsed.created == 1700000000 and parsed.model == "claude-x"


def test_openai_answer_as_anthropic() -> None:
    completion = _completion(
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"city": "Seoul"}'},
                }
            ],
        },
        "tool_calls",
        prompt_tokens_details={"cached_tokens": 3},
    )
    message = Message.model_validate(openai_to_anthropic_response(completion))
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert tool_input(message.content[1]) == {"city": "Seoul"}
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 5)
    assert message.usage.cache_read_input_tokens == 3


def test_answers_that_cannot_be_translated() -> None:
    with pytest.raises(TranslationError, match="no choices"):
        openai_to_anthropic_response({"choices": []})
    bad = _completion(
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{"}}],
        }
    )
    with pytest.raises(TranslationError, match="not valid JSON"):
        openai_to_anthropic_response(bad)


def test_answer_round_trips() -> None:
    message = _message(
        [
            {"type": "text", "text": "Hi."},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": [1, 2]}},
        ],
        "tool_use",
    )
    back = openai_to_anthropic_response(anthropic_to_openai_response(message, created=1))
    assert back == message
    completion = _completion({"role": "assistant", "content": "Hi.", "refusal": None}, "length")
    assert anthropic_to_openai_response(
        openai_to_anthropic_response(completion), created=1700000000
    ) == {
        **completion,
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


# --- streams --------------------------------------------------------------------------------

ANTHROPIC_STREAM: list[Json] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 3},
        },
    },
    {"type": "ping"},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ", 수문."}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "t1", "name": "lookup", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '"Seoul"}'},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 9},
    },
    {"type": "message_stop"},
]


def _chunk(delta: Json | None, finish: str | None = None, **extra: Any) -> Json:
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-x",
        "choices": choices,
        **extra,
    }


OPENAI_STREAM: list[Json | str] = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Hello"}),
    _chunk({"content": ", 수문."}),
    _chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": ""},
                }
            ]
        }
    ),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Seoul"}'}}]}),
    _chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"city": "Busan"}'},
                }
            ]
        }
    ),
    _chunk({}, "tool_calls"),
    _chunk(None, usage={"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}),
    "[DONE]",
]


def _run_a2o(
    events: list[Json], *, include_usage: bool = True
) -> tuple[bytes, AnthropicToOpenAIStream]:
    stream = AnthropicToOpenAIStream(
        model="fallback", created=1700000000, include_usage=include_usage
    )
    out = b"".join(b"".join(stream.feed(anthropic_event(e))) for e in events)
    return out, stream


def _run_o2a(events: list[Json | str]) -> tuple[bytes, OpenAIToAnthropicStream]:
    stream = OpenAIToAnthropicStream(model="fallback")
    out = b"".join(b"".join(stream.feed(openai_event(e))) for e in events)
    return out, stream


def test_anthropic_stream_as_openai_chunks_read_by_the_openai_sdk() -> None:
    out, stream = _run_a2o(ANTHROPIC_STREAM)
    assert stream.done and stream.fault is None
    assert (stream.usage.tokens_in, stream.usage.tokens_out) == (15, 9)
    assert out.endswith(b"data: [DONE]\n\n")
    final = sdk_openai_stream(out)
    reply = final.choices[0].message
    assert reply.content == "Hello, 수문."
    assert first_tool_call(final).function.name == "lookup"
    assert orjson.loads(first_tool_call(final).function.arguments) == {"city": "Seoul"}
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage.prompt_tokens == 15 and final.usage.completion_tokens == 9
    assert final.id == "msg_1" and final.model == "claude-x"


def test_without_include_usage_there_is_no_usage_chunk() -> None:
    out, stream = _run_a2o(ANTHROPIC_STREAM, include_usage=False)
    chunks = [orjson.loads(e.data) for e in sse_events(out) if e.data != "[DONE]"]
    assert all("usage" not in c and c["choices"] for c in chunks)
    assert (stream.usage.tokens_in, stream.usage.tokens_out) == (15, 9)  # Sumun still meters


def test_openai_stream_as_anthropic_events_read_by_the_anthropic_sdk() -> None:
    out, stream = _run_o2a(OPENAI_STREAM)
    assert stream.done and stream.fault is None
    assert (stream.usage.tokens_in, stream.usage.tokens_out) == (12, 9)
    names = [e.event for e in sse_events(out)]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 3
    message = sdk_anthropic_stream(out)
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert text(message.content[0]) == "Hello, 수문."
    assert tool_input(message.content[1]) == {"city": "Seoul"}
    assert tool_input(message.content[2]) == {"city": "Busan"}
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 9)


def test_stream_round_trip_anthropic_openai_anthropic() -> None:
    openai_sse, _ = _run_a2o(ANTHROPIC_STREAM)
    back, _ = _run_o2a(
        [e.data if e.data == "[DONE]" else orjson.loads(e.data) for e in sse_events(openai_sse)]
    )
    message = sdk_anthropic_stream(back)
    assert text(message.content[0]) == "Hello, 수문."
    assert tool_input(message.content[1]) == {"city": "Seoul"}
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (15, 9)


def test_translators_are_incremental() -> None:
    a2o = AnthropicToOpenAIStream(model="m", created=1, include_usage=False)
    assert len(a2o.feed(anthropic_event(ANTHROPIC_STREAM[0]))) == 1  # the role chunk, at once
    assert a2o.feed(anthropic_event({"type": "ping"})) == []
    delta = a2o.feed(anthropic_event(ANTHROPIC_STREAM[3]))
    assert len(delta) == 1 and b'"content":"Hello"' in delta[0]
    o2a = OpenAIToAnthropicStream(model="m")
    first = o2a.feed(openai_event(_chunk({"role": "assistant", "content": "Hi"})))
    assert [e.event for e in sse_events(*first)] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
    ]


@pytest.mark.parametrize("include_usage", [True, False])
def test_upstream_error_event_becomes_an_openai_error_chunk(include_usage: bool) -> None:
    events = [
        *ANTHROPIC_STREAM[:4],
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ]
    out, stream = _run_a2o(events, include_usage=include_usage)
    assert stream.done and stream.fault == StreamFault("overloaded_error", "Overloaded")
    last = orjson.loads(sse_events(out)[-1].data)
    assert last == {"error": {"message": "Overloaded", "type": "overloaded_error", "code": None}}
    with pytest.raises(openai.APIError, match="Overloaded"):
        sdk_openai_stream(out)


def test_upstream_error_chunk_becomes_an_anthropic_error_event() -> None:
    error = {"error": {"message": "slow down", "type": "rate_limit_exceeded"}}
    out, stream = _run_o2a([*OPENAI_STREAM[:2], error])
    assert stream.done and stream.fault == StreamFault("rate_limit_exceeded", "slow down")
    last = sse_events(out)[-1]
    assert last.event == "error"
    assert orjson.loads(last.data) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    with pytest.raises(anthropic.APIError, match="slow down"):
        sdk_anthropic_stream(out)


def test_close_completes_an_answer_that_reached_its_stop_reason() -> None:
    # The upstream ended after finish_reason but before usage and [DONE]: the answer is whole.
    _, o2a = _run_o2a(OPENAI_STREAM[:8])
    tail = o2a.close()
    assert o2a.done and [e.event for e in sse_events(*tail)] == ["message_delta", "message_stop"]
    _, a2o = _run_a2o(ANTHROPIC_STREAM[:-1])
    assert a2o.close()[-1] == b"data: [DONE]\n\n" and a2o.done


def test_close_reports_nothing_for_an_answer_cut_short() -> None:
    _, o2a = _run_o2a(OPENAI_STREAM[:3])
    assert o2a.close() == [] and not o2a.done
    _, a2o = _run_a2o(ANTHROPIC_STREAM[:5])
    assert a2o.close() == [] and not a2o.done


def test_an_empty_openai_stream_is_still_a_valid_anthropic_message() -> None:
    out, _ = _run_o2a(["[DONE]"])
    message = sdk_anthropic_stream(out)
    assert message.content == [] and message.stop_reason == "end_turn"


def test_events_that_are_not_json_are_refused() -> None:
    with pytest.raises(TranslationError, match="not JSON"):
        AnthropicToOpenAIStream(model="m", created=1, include_usage=False).feed(SSEEvent("{oops"))
    with pytest.raises(TranslationError, match="JSON object"):
        OpenAIToAnthropicStream(model="m").feed(SSEEvent("[1]"))


def test_usage_can_be_shared_with_the_caller() -> None:
    usage = Usage()
    stream = AnthropicToOpenAIStream(model="m", created=1, include_usage=False, usage=usage)
    for event in ANTHROPIC_STREAM:
        stream.feed(anthropic_event(event))
    assert (usage.tokens_in, usage.tokens_out) == (15, 9)
