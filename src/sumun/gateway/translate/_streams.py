"""Streaming answers, one upstream event in, zero or more client SSE events out.

Both translators are state machines fed by an `SSEParser`; neither buffers the answer. They
count tokens into a shared `Usage` as the upstream reports them, and mark `done` when the
upstream's end marker arrives. An error event from the upstream becomes an error event in the
client's format, is remembered as `fault`, and ends the stream.

`close()` is for an upstream that stopped without its end marker: when the answer had already
reached its stop reason, the closing events are produced (only the trailing usage was lost);
otherwise nothing is, `done` stays False, and the caller reports a cut stream.
"""

from __future__ import annotations

from typing import Any

import orjson

from sumun.gateway.translate._common import (
    ANTHROPIC_TO_OPENAI_FINISH,
    OPENAI_TO_ANTHROPIC_STOP,
    StreamFault,
    TranslationError,
    tool_arguments,
)
from sumun.gateway.translate._responses import anthropic_prompt_tokens, openai_usage
from sumun.gateway.upstream.base import Usage
from sumun.gateway.upstream.sse import DONE, SSEEvent, frame

__all__ = ["AnthropicToOpenAIStream", "OpenAIToAnthropicStream"]

Json = dict[str, Any]


def _load(event: SSEEvent) -> Json:
    try:
        obj = orjson.loads(event.data)
    except orjson.JSONDecodeError as exc:
        raise TranslationError("the upstream sent an event that is not JSON") from exc
    if not isinstance(obj, dict):
        raise TranslationError("the upstream sent an event that is not a JSON object")
    return obj


class AnthropicToOpenAIStream:
    """Anthropic `messages` stream events in, OpenAI `chat.completion.chunk` SSE out.

    `include_usage` mirrors the client's `stream_options.include_usage`: when set, every chunk
    carries `"usage": null` and a usage-only chunk precedes `data: [DONE]`, as OpenAI does.
    """

    def __init__(
        self, *, model: str, created: int, include_usage: bool, usage: Usage | None = None
    ) -> None:
        self.usage = usage if usage is not None else Usage()
        self.done = False
        self.fault: StreamFault | None = None
        self._model = model
        self._created = created
        self._include_usage = include_usage
        self._id = "chatcmpl-sumun"
        self._tool_of_block: dict[int, int] = {}  # Anthropic block index -> OpenAI tool index
        self._finished = False  # a stop reason arrived
        self._prompt = 0
        self._completion = 0

    def feed(self, event: SSEEvent) -> list[bytes]:
        if self.done:
            return []
        obj = _load(event)
        match obj.get("type") or event.event:
            case "message_start":
                out = self._start(obj.get("message") or {})
            case "content_block_start":
                out = self._block_start(int(obj.get("index", 0)), obj.get("content_block") or {})
            case "content_block_delta":
                out = self._block_delta(int(obj.get("index", 0)), obj.get("delta") or {})
            case "message_delta":
                out = self._message_delta(obj)
            case "message_stop":
                out = self._stop()
            case "error":
                out = self._error(obj.get("error") or {})
            case _:
                out = []  # ping, content_block_stop, later event types: nothing for the client
        return out

    def close(self) -> list[bytes]:
        return self._stop() if self._finished and not self.done else []

    def _error(self, error: Json) -> list[bytes]:
        fault = StreamFault(str(error.get("type", "api_error")), str(error.get("message", "")))
        self.fault = fault
        self.done = True
        body = {"error": {"message": fault.message, "type": fault.type, "code": None}}
        return [frame(orjson.dumps(body))]

    def _chunk(self, delta: Json, finish_reason: str | None = None) -> bytes:
        chunk: Json = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if self._include_usage:
            chunk["usage"] = None
        return frame(orjson.dumps(chunk))

    def _start(self, message: Json) -> list[bytes]:
        self._id = str(message.get("id") or self._id)
        self._model = str(message.get("model") or self._model)
        usage = message.get("usage") or {}
        self._prompt = anthropic_prompt_tokens(usage)
        self._completion = int(usage.get("output_tokens") or 0)
        self.usage.tokens_in = self._prompt
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, index: int, block: Json) -> list[bytes]:
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            return [self._chunk({"content": text})] if text else []
        if kind != "tool_use":
            return []  # thinking and server-tool blocks have no chat-completions counterpart
        tool = len(self._tool_of_block)
        self._tool_of_block[index] = tool
        call: Json = {
            "index": tool,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": ""},
        }
        if block.get("input"):
            call["function"]["arguments"] = tool_arguments(block["input"])
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, index: int, delta: Json) -> list[bytes]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if kind == "input_json_delta" and index in self._tool_of_block:
            partial = delta.get("partial_json", "")
            if not partial:
                return []
            call = {"index": self._tool_of_block[index], "function": {"arguments": partial}}
            return [self._chunk({"tool_calls": [call]})]
        return []

    def _message_delta(self, obj: Json) -> list[bytes]:
        usage = obj.get("usage") or {}
        if usage.get("output_tokens") is not None:
            self._completion = int(usage["output_tokens"])
            self.usage.tokens_out = self._completion
        if usage.get("input_tokens") is not None:  # cumulative: replaces the start count
            self._prompt = anthropic_prompt_tokens(usage)
            self.usage.tokens_in = self._prompt
        stop = (obj.get("delta") or {}).get("stop_reason")
        if stop is None:
            return []
        self._finished = True
        return [self._chunk({}, ANTHROPIC_TO_OPENAI_FINISH.get(stop, "stop"))]

    def _stop(self) -> list[bytes]:
        self.done = True
        self.usage.tokens_in = self._prompt
        self.usage.tokens_out = self._completion
        out = []
        if self._include_usage:
            usage = openai_usage({"input_tokens": self._prompt, "output_tokens": self._completion})
            chunk = {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [],
                "usage": usage,
            }
            out.append(frame(orjson.dumps(chunk)))
        out.append(DONE)
        return out


# OpenAI stream error types -> Anthropic error types (what Anthropic SDKs switch on).
_ANTHROPIC_ERROR_TYPE = {
    "invalid_request_error": "invalid_request_error",
    "rate_limit_exceeded": "rate_limit_error",
    "rate_limit_error": "rate_limit_error",
    "requests": "rate_limit_error",
    "tokens": "rate_limit_error",
}


class OpenAIToAnthropicStream:
    """OpenAI `chat.completion.chunk` SSE in, Anthropic `messages` stream events out.

    OpenAI reports token counts only in the final usage chunk, after `finish_reason`, so the
    `message_start` event says `input_tokens: 0` and the real counts follow in `message_delta`
    (whose counts are cumulative and replace the start values, as Anthropic's SDKs expect).
    """

    def __init__(self, *, model: str, usage: Usage | None = None) -> None:
        self.usage = usage if usage is not None else Usage()
        self.done = False
        self.fault: StreamFault | None = None
        self._model = model
        self._started = False
        self._next_block = 0
        self._open: int | None = None  # the index of the open content block
        self._open_is_text = False
        self._block_of_tool: dict[int, int] = {}  # OpenAI tool index -> Anthropic block index
        self._stop_reason: str | None = None
        self._prompt: int | None = None
        self._completion = 0

    def feed(self, event: SSEEvent) -> list[bytes]:
        if self.done:
            return []
        if event.data.strip() == "[DONE]":
            return self._finish()
        chunk = _load(event)
        error = chunk.get("error")
        if error is not None:
            return self._error(error)
        out: list[bytes] = []
        if not self._started:
            out.append(self._start(chunk))
        usage = chunk.get("usage")
        if usage:
            self._prompt = int(usage.get("prompt_tokens") or 0)
            self._completion = int(usage.get("completion_tokens") or 0)
            self.usage.tokens_in = self._prompt
            self.usage.tokens_out = self._completion
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # only the first choice translates (requests never ask for more)
            delta = choice.get("delta") or {}
            text = delta.get("content") or delta.get("refusal")
            if text:
                out.extend(self._text(text))
            for call in delta.get("tool_calls") or ():
                out.extend(self._tool_call(call))
            finish = choice.get("finish_reason")
            if finish:
                out.extend(self._close_block())
                self._stop_reason = OPENAI_TO_ANTHROPIC_STOP.get(finish, "end_turn")
        return out

    def close(self) -> list[bytes]:
        return self._finish() if self._stop_reason is not None and not self.done else []

    def _event(self, name: str, body: Json) -> bytes:
        return frame(orjson.dumps(body), name)

    def _start(self, chunk: Json) -> bytes:
        self._started = True
        self._model = str(chunk.get("model") or self._model)
        message: Json = {
            "id": str(chunk.get("id") or "msg_sumun"),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return self._event("message_start", {"type": "message_start", "message": message})

    def _open_block(self, block: Json) -> bytes:
        index = self._next_block
        self._next_block += 1
        self._open = index
        self._open_is_text = block["type"] == "text"
        body = {"type": "content_block_start", "index": index, "content_block": block}
        return self._event("content_block_start", body)

    def _close_block(self) -> list[bytes]:
        if self._open is None:
            return []
        index, self._open = self._open, None
        return [self._event("content_block_stop", {"type": "content_block_stop", "index": index})]

    def _text(self, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self._open is None or not self._open_is_text:
            out.extend(self._close_block())
            out.append(self._open_block({"type": "text", "text": ""}))
        delta = {"type": "text_delta", "text": text}
        body = {"type": "content_block_delta", "index": self._open, "delta": delta}
        out.append(self._event("content_block_delta", body))
        return out

    def _tool_call(self, call: Json) -> list[bytes]:
        out: list[bytes] = []
        tool = int(call.get("index", 0))
        function = call.get("function") or {}
        if tool not in self._block_of_tool:
            out.extend(self._close_block())
            block: Json = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_sumun_{tool}",
                "name": function.get("name") or "",
                "input": {},
            }
            out.append(self._open_block(block))
            self._block_of_tool[tool] = self._next_block - 1
        arguments = function.get("arguments")
        if arguments:
            # OpenAI sends one tool call after another; a late fragment for an earlier call is
            # still delivered to that call's block index.
            index = self._block_of_tool[tool]
            delta = {"type": "input_json_delta", "partial_json": arguments}
            body = {"type": "content_block_delta", "index": index, "delta": delta}
            out.append(self._event("content_block_delta", body))
        return out

    def _error(self, error: Any) -> list[bytes]:
        if isinstance(error, dict):
            kind = str(error.get("type") or error.get("code") or "api_error")
            message = str(error.get("message", ""))
        else:
            kind, message = "api_error", str(error)
        self.fault = StreamFault(kind, message)
        self.done = True
        body = {
            "type": "error",
            "error": {"type": _ANTHROPIC_ERROR_TYPE.get(kind, "api_error"), "message": message},
        }
        return [self._event("error", body)]

    def _finish(self) -> list[bytes]:
        out: list[bytes] = []
        if not self._started:
            out.append(self._start({}))
        out.extend(self._close_block())
        usage: Json = {"output_tokens": self._completion}
        if self._prompt is not None:
            usage["input_tokens"] = self._prompt
        delta = {"stop_reason": self._stop_reason or "end_turn", "stop_sequence": None}
        body = {"type": "message_delta", "delta": delta, "usage": usage}
        out.append(self._event("message_delta", body))
        out.append(self._event("message_stop", {"type": "message_stop"}))
        self.done = True
        return out
