"""Reading requests and writing errors in the caller's own wire format.

Bodies are read with a hard size limit (413 past it, without reading the rest), decoded as
strict UTF-8 (400 on invalid bytes) and parsed as JSON (400), then checked for the few fields
the gateway itself needs — everything else passes through to the provider untouched.

Errors: OpenAI `{"error": {"message", "type", "code", "param"}}`, Anthropic
`{"type": "error", "error": {"type", "message"}}`. Messages never echo request content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sumun.gateway.upstream.base import Endpoint, Wire

__all__ = ["BadRequestError", "ParsedCall", "error_response", "parse_call", "read_body"]


class BadRequestError(Exception):
    """A client error found while reading the request (status, OpenAI type/code, message)."""

    def __init__(
        self, status: int, message: str, *, code: str = "invalid_request", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


@dataclass(frozen=True, slots=True)
class ParsedCall:
    endpoint: Endpoint
    wire: Wire
    body: dict[str, Any]
    raw: bytes
    model: str
    stream: bool


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequestError(413, f"request body exceeds the {limit}-byte limit", code="too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequestError(
                413, f"request body exceeds the {limit}-byte limit", code="too_large"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _require(body: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    if name not in body:
        raise BadRequestError(400, f"missing required field '{name}'", param=name)
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequestError(400, f"'{name}' must be {what}", param=name)
    return value


def parse_call(raw: bytes, endpoint: Endpoint, wire: Wire) -> ParsedCall:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(400, f"request body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(400, f"request body is not valid JSON: {exc.msg}") from exc
    if not isinstance(body, dict):
        raise BadRequestError(400, "request body must be a JSON object")
    model = _require(body, "model", str, "a string")
    if not model:
        raise BadRequestError(400, "'model' must not be empty", param="model")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequestError(400, "'stream' must be a boolean", param="stream")
    if endpoint == "chat":
        messages = _require(body, "messages", list, "an array of messages")
        if not messages or not all(isinstance(m, dict) for m in messages):
            raise BadRequestError(
                400, "'messages' must be a non-empty array of objects", param="messages"
            )
    elif endpoint == "messages":
        messages = _require(body, "messages", list, "an array of messages")
        if not all(isinstance(m, dict) for m in messages):
            raise BadRequestError(400, "'messages' must be an array of objects", param="messages")
        _require(body, "max_tokens", int, "an integer")
    elif endpoint == "embeddings":
        _require(body, "input", (str, list), "a string or an array")
        stream = False
    elif endpoint == "responses":
        _require(body, "input", (str, list), "a string or an array")
    _check_shapes(body)
    return ParsedCall(endpoint, wire, body, raw, model, stream)


def _check_content(value: Any, where: str) -> None:
    """A message's `content` (either dialect): absent/null, a string, or an array of strings
    and objects. Checked here so no later stage (PII scan, translation) meets another shape."""
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(p, str | dict) for p in value):
        raise BadRequestError(
            400, f"'{where}' must be a string or an array of content parts", param=where
        )
    for i, part in enumerate(value):
        if isinstance(part, dict):
            if "text" in part and not isinstance(part["text"], str):
                raise BadRequestError(400, f"'{where}[{i}].text' must be a string")
            if "content" in part:
                _check_content(part["content"], f"{where}[{i}].content")


def _check_shapes(body: dict[str, Any]) -> None:
    """The fields Sumun itself reads, on every endpoint, whatever the dialect: a field of the
    wrong type is the client's 400, never a crash (a 500) in admission or translation."""
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise BadRequestError(400, "'messages' must be an array of objects", param="messages")
        for i, message in enumerate(messages):
            if "role" in message and not isinstance(message["role"], str):
                raise BadRequestError(400, f"'messages[{i}].role' must be a string")
            if "content" in message:
                _check_content(message["content"], f"messages[{i}].content")
            calls = message.get("tool_calls")
            if calls is not None and not (
                isinstance(calls, list) and all(isinstance(c, dict) for c in calls)
            ):
                raise BadRequestError(400, f"'messages[{i}].tool_calls' must be an array")
    for name in ("system", "input", "instructions"):
        if name in body:
            _check_content(body[name], name)
    tools = body.get("tools")
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, dict) for t in tools)
    ):
        raise BadRequestError(400, "'tools' must be an array of objects", param="tools")


_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error_response(
    wire: Wire,
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wire is Wire.ANTHROPIC:
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        kind = _OPENAI_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        body = {"error": {"message": message, "type": kind, "code": code, "param": param}}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )
