"""Reading requests and writing errors (gateway/wire.py), in process: no server, no socket."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from starlette.requests import Request

from sumun.gateway.upstream.base import Endpoint, Wire
from sumun.gateway.wire import BadRequestError, error_response, parse_call, read_body


def _request(chunks: list[bytes], headers: dict[str, str] | None = None) -> Request:
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        body = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope, receive)


def _read(chunks: list[bytes], limit: int, headers: dict[str, str] | None = None) -> bytes:
    return asyncio.run(read_body(_request(chunks, headers), limit))


def _bad(raw: bytes, endpoint: Endpoint = "chat", wire: Wire = Wire.OPENAI) -> BadRequestError:
    with pytest.raises(BadRequestError) as caught:
        parse_call(raw, endpoint, wire)
    return caught.value


def _chat(**fields: Any) -> bytes:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    body.update(fields)
    return orjson.dumps(body)


# -- read_body ---------------------------------------------------------------------------------


def test_a_body_in_pieces_is_read_whole() -> None:
    assert _read([b'{"a":', b" 1", b"}"], limit=100) == b'{"a": 1}'


def test_a_body_at_the_limit_is_read() -> None:
    assert _read([b"x" * 10], limit=10) == b"x" * 10


def test_a_declared_length_past_the_limit_is_refused_before_reading() -> None:
    def never() -> bytes:
        raise AssertionError("the body must not be read")

    request = _request([], {"content-length": "11"})
    request._receive = never  # type: ignore[assignment]  # any read would fail
    with pytest.raises(BadRequestError) as caught:
        asyncio.run(read_body(request, 10))
    assert (caught.value.status, caught.value.code) == (413, "too_large")


def test_a_streamed_body_past_the_limit_is_refused_at_the_chunk_that_crosses_it() -> None:
    served: list[bytes] = [b"x" * 6, b"x" * 6, b"never read"]
    with pytest.raises(BadRequestError) as caught:
        _read(served, limit=10)
    assert caught.value.status == 413
    assert "10-byte limit" in str(caught.value)


# -- parse_call: encoding and JSON ---------------------------------------------------------------


def test_invalid_utf8_is_a_400_that_names_the_byte() -> None:
    err = _bad(b'{"model": "\xff"}')
    assert err.status == 400 and "UTF-8 (byte 11)" in str(err)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"model": "m",}', b"nul\x00"])
def test_bad_json_is_a_400(raw: bytes) -> None:
    err = _bad(raw)
    assert err.status == 400 and "not valid JSON" in str(err)


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
def test_the_body_must_be_an_object(raw: bytes) -> None:
    assert "must be a JSON object" in str(_bad(raw))


def test_an_error_never_echoes_the_request_content() -> None:
    secret = "900101-1234567"
    for raw in (
        b'{"model": "m", "messages": "' + secret.encode() + b'"}',
        b'{"x": "' + secret.encode() + b'",',
        _chat(stream=secret),
    ):
        assert secret not in str(_bad(raw))


# -- parse_call: fields ----------------------------------------------------------------------------


def test_a_good_chat_call_is_parsed() -> None:
    raw = _chat(stream=True, temperature=0.2)
    call = parse_call(raw, "chat", Wire.OPENAI)
    assert (call.model, call.stream, call.raw, call.endpoint) == ("m", True, raw, "chat")
    assert call.body["temperature"] == 0.2  # what Sumun does not read passes through


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'{"messages": [{"role": "user"}]}', "model"),
        (_chat(model=""), "model"),
        (_chat(model=7), "model"),
        (_chat(stream="yes"), "stream"),
        (_chat(stream=1), "stream"),
        (_chat(messages=[]), "messages"),
        (_chat(messages=["hi"]), "messages"),
        (_chat(messages={"role": "user"}), "messages"),
        (_chat(tools={"type": "function"}), "tools"),
    ],
)
def test_a_missing_or_mistyped_field_is_a_400_naming_it(raw: bytes, param: str) -> None:
    err = _bad(raw)
    assert (err.status, err.param) == (400, param)


def test_anthropic_messages_need_max_tokens_and_may_be_empty() -> None:
    body = {"model": "m", "messages": [], "max_tokens": 10}
    assert parse_call(orjson.dumps(body), "messages", Wire.ANTHROPIC).model == "m"
    del body["max_tokens"]
    assert _bad(orjson.dumps(body), "messages", Wire.ANTHROPIC).param == "max_tokens"
    body["max_tokens"] = True  # a bool is not an integer here
    assert _bad(orjson.dumps(body), "messages", Wire.ANTHROPIC).param == "max_tokens"


def test_embeddings_never_stream() -> None:
    raw = orjson.dumps({"model": "m", "input": ["a", "b"], "stream": True})
    assert parse_call(raw, "embeddings", Wire.OPENAI).stream is False
    assert _bad(orjson.dumps({"model": "m"}), "embeddings").param == "input"


@pytest.mark.parametrize(
    "content",
    [
        42,
        [1],
        [{"type": "text", "text": 5}],
        [{"type": "tool_result", "content": [{"text": None}]}],
    ],
)
def test_content_of_another_shape_is_a_400(content: Any) -> None:
    raw = _chat(messages=[{"role": "user", "content": content}])
    assert _bad(raw).status == 400


@pytest.mark.parametrize(
    "content",
    [None, "text", ["a", {"type": "text", "text": "b"}], [{"type": "image_url"}]],
)
def test_content_of_the_known_shapes_is_accepted(content: Any) -> None:
    raw = _chat(messages=[{"role": "user", "content": content}])
    assert parse_call(raw, "chat", Wire.OPENAI).body["messages"][0]["content"] == content


def test_system_input_and_instructions_are_checked_on_every_endpoint() -> None:
    assert _bad(_chat(system=[3])).param == "system"
    raw = orjson.dumps({"model": "m", "input": "x", "instructions": {"a": 1}})
    assert _bad(raw, "responses").param == "instructions"


def test_a_role_or_tool_calls_of_the_wrong_type_is_a_400() -> None:
    assert "role" in str(_bad(_chat(messages=[{"role": 1, "content": "x"}])))
    calls = [{"role": "assistant", "content": None, "tool_calls": "x"}]
    assert "tool_calls" in str(_bad(_chat(messages=calls)))


# -- error_response ---------------------------------------------------------------------------


def test_openai_errors_have_the_openai_shape() -> None:
    response = error_response(Wire.OPENAI, 429, "slow down", code="rate_limit_exceeded")
    assert response.status_code == 429
    assert orjson.loads(bytes(response.body)) == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "code": "rate_limit_exceeded",
            "param": None,
        }
    }
    assert orjson.loads(bytes(error_response(Wire.OPENAI, 503, "x").body))["error"]["type"] == (
        "api_error"
    )
    assert orjson.loads(bytes(error_response(Wire.OPENAI, 409, "x").body))["error"]["type"] == (
        "invalid_request_error"
    )


def test_anthropic_errors_have_the_anthropic_shape() -> None:
    response = error_response(Wire.ANTHROPIC, 413, "too big", headers={"retry-after": "5"})
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(bytes(response.body)) == {
        "type": "error",
        "error": {"type": "request_too_large", "message": "too big"},
    }
    body = orjson.loads(bytes(error_response(Wire.ANTHROPIC, 500, "x").body))
    assert body["error"]["type"] == "api_error"
