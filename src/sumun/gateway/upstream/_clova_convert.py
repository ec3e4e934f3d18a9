"""OpenAI chat completions <-> CLOVA Studio Chat Completions v3: requests, answers, streams. No I/O.

    OpenAI                               CLOVA Studio v3
    messages system/user/assistant/tool  messages, same roles; tool results carry `toolCallId`
    content parts text / image_url       content [{type text}, {type image_url, imageUrl.url |
                                         dataUri.data}]
    assistant tool_calls                 toolCalls [{id, type function, function {name,
                                         arguments (an object, not JSON text)}}]
    max_tokens / max_completion_tokens   maxTokens (HCX-007 and max_completion_tokens:
                                         maxCompletionTokens)
    temperature, top_p, stop, seed       temperature, topP, stop, seed
    top_k, repetition_penalty            topK, repetitionPenalty (also accepted as named by CLOVA,
                                         with `thinking`, `includeAiFilters`, `responseFormat`)
    reasoning_effort                     thinking.effort
    tools, tool_choice                   tools, toolChoice ("auto" / "none" / a function)
    answer result.message, finishReason  choices[0].message, finish_reason
    result.usage promptTokens, …         usage prompt_tokens, completion_tokens, total_tokens

A stream is `event: token` events (one piece of the answer each), then `event: result` with the
finish reason and usage (and the whole message again, which is not passed on twice); `event:
error` carries `{status: {code, message}}`; `event: signal` with `{"data": "[DONE]"}` ends a
stream (after the result it changes nothing).
"""

from __future__ import annotations

from typing import Any

import orjson

from sumun.gateway.translate import StreamFault, TranslationError
from sumun.gateway.translate._common import tool_arguments, tool_input
from sumun.gateway.upstream.base import Usage
from sumun.gateway.upstream.sse import DONE, SSEEvent, frame

__all__ = ["ClovaToOpenAIStream", "clova_request", "clova_usage", "fault_type", "openai_completion"]

Json = dict[str, Any]

_SAME = ("temperature", "seed", "topK", "repetitionPenalty", "thinking", "includeAiFilters")
_RENAMED = {"top_p": "topP", "top_k": "topK", "repetition_penalty": "repetitionPenalty"}
_PASSED = (*_SAME, "topP", "responseFormat", "maxTokens", "maxCompletionTokens")
_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}


def clova_request(body: Json) -> Json:
    """An OpenAI chat-completions body as a CLOVA Studio v3 chat-completions body."""
    if int(body.get("n") or 1) != 1:
        raise TranslationError("n > 1 cannot be translated for CLOVA Studio")
    model = str(body.get("model") or "")
    out: Json = {"messages": [_message(m, i) for i, m in enumerate(body.get("messages") or ())]}
    for name in _PASSED:
        if body.get(name) is not None:
            out[name] = body[name]
    for source, target in _RENAMED.items():
        if body.get(source) is not None:
            out[target] = body[source]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None:
        thinking = "HCX-007" in model.upper() or body.get("max_completion_tokens") is not None
        out["maxCompletionTokens" if thinking else "maxTokens"] = int(limit)
    stop = body.get("stop")
    if stop:
        out["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("reasoning_effort"):
        out["thinking"] = {"effort": body["reasoning_effort"]}
    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
        choice = body.get("tool_choice")
        if choice == "required":
            raise TranslationError("tool_choice 'required' has no CLOVA Studio equivalent")
        if choice is not None:
            out["toolChoice"] = choice
    return out


def _message(message: Json, index: int) -> Json:
    where = f"messages[{index}]"
    role = message.get("role")
    if role == "developer":
        role = "system"
    if role not in ("system", "user", "assistant", "tool"):
        raise TranslationError(f"{where}: role {role!r} has no CLOVA Studio equivalent")
    out: Json = {"role": role, "content": _content(message.get("content"), where)}
    if role == "tool":
        out["toolCallId"] = message.get("tool_call_id")
    calls = message.get("tool_calls")
    if role == "assistant" and calls:
        out["toolCalls"] = [_clova_call(call, where) for call in calls]
    return out


def _clova_call(call: Json, where: str) -> Json:
    function = call.get("function") or {}
    arguments = tool_input(function.get("arguments"), where=where)
    named = {"name": function.get("name"), "arguments": arguments}
    return {"id": call.get("id"), "type": "function", "function": named}


def _content(content: Any, where: str) -> str | list[Json]:
    if content is None or isinstance(content, str):
        return content or ""
    parts: list[Json] = []
    for i, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            if url.startswith("data:"):
                parts.append({"type": "image_url", "dataUri": {"data": url}})
            else:
                parts.append({"type": "image_url", "imageUrl": {"url": url}})
        else:
            raise TranslationError(f"{where}.content[{i}]: part {kind!r} has no CLOVA equivalent")
    return parts


def _tool(tool: Json, index: int) -> Json:
    if tool.get("type") != "function":
        raise TranslationError(f"tools[{index}]: only function tools can be translated")
    function = tool.get("function") or {}
    out: Json = {"name": function.get("name"), "description": function.get("description") or ""}
    if function.get("parameters"):
        out["parameters"] = function["parameters"]
    return {"type": "function", "function": out}


def clova_usage(result: Json, usage: Usage) -> None:
    reported = result.get("usage")
    if isinstance(reported, dict):
        usage.tokens_in = int(reported.get("promptTokens") or 0)
        usage.tokens_out = int(reported.get("completionTokens") or 0)


def _openai_usage(usage: Usage) -> Json:
    prompt, completion = usage.tokens_in or 0, usage.tokens_out or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_calls(message: Json, first: int = 0) -> list[Json]:
    calls = []
    for i, call in enumerate(message.get("toolCalls") or ()):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        calls.append(
            {
                "index": first + i,
                "id": str(call.get("id") or f"call_clova_{first + i}"),
                "type": "function",
                "function": {
                    "name": str(function.get("name") or ""),
                    # CLOVA sends an object; a string (a streamed fragment) is kept as it is.
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else tool_arguments(arguments),
                },
            }
        )
    return calls


def _finish(result: Json, called: bool) -> str:
    reason = str(result.get("finishReason") or "stop")
    if called and reason == "stop":
        return "tool_calls"
    return _FINISH.get(reason, "stop")


def openai_completion(result: Json, *, model: str, created: int, usage: Usage) -> Json:
    """A CLOVA Studio `result` object as an OpenAI `chat.completion`."""
    source = result.get("message") or {}
    calls = _tool_calls(source)
    content = source.get("content")
    message: Json = {"role": "assistant", "content": content if content or not calls else None}
    if calls:
        message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
    return {
        "id": f"chatcmpl-clova-{result.get('seed') or 0}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish(result, bool(calls)),
                "logprobs": None,
            }
        ],
        "usage": _openai_usage(usage),
    }


def fault_type(code: Any, http_status: int | None = None) -> str:
    """A CLOVA status code (e.g. "42901") as the error type the gateway's stream handling knows."""
    text = str(code or "")
    if text.startswith("429") or http_status == 429:
        return "rate_limit_error"
    if text.startswith("4"):
        return "invalid_request_error"
    if text.startswith("503"):
        return "overloaded_error"
    return "api_error"


class ClovaToOpenAIStream:
    """CLOVA Studio stream events in, OpenAI `chat.completion.chunk` SSE out."""

    def __init__(self, *, model: str, created: int, include_usage: bool, usage: Usage) -> None:
        self.done = False
        self.fault: StreamFault | None = None
        self._model = model
        self._created = created
        self._include_usage = include_usage
        self._usage = usage
        self._started = False
        self._streamed_text = False
        self._tools = 0
        self._tool_ids: dict[str, int] = {}  # streamed tool call id -> OpenAI tool index

    def feed(self, event: SSEEvent) -> list[bytes]:
        if self.done:
            return []
        try:
            obj = orjson.loads(event.data)
        except orjson.JSONDecodeError as exc:
            raise TranslationError("CLOVA Studio sent an event that is not JSON") from exc
        if not isinstance(obj, dict):
            raise TranslationError("CLOVA Studio sent an event that is not a JSON object")
        if event.event == "signal":
            # `{"data": "[DONE]"}` ends a stream; a stream that ends so without its result
            # event is whole all the same (only the usage is missing).
            return self._result({}, {}) if obj.get("data") == "[DONE]" and self._started else []
        if event.event == "error" or ("status" in obj and "message" not in obj):
            status = obj.get("status") or {}
            self.fault = StreamFault(fault_type(status.get("code")), str(status.get("message")))
            self.done = True
            return []
        out: list[bytes] = []
        if not self._started:
            self._started = True
            out.append(self._chunk({"role": "assistant", "content": ""}))
        message = obj.get("message") or {}
        if event.event == "result":
            return out + self._result(obj, message)
        text = message.get("content")
        if text:
            self._streamed_text = True
            out.append(self._chunk({"content": text}))
        calls = [self._streamed_call(call) for call in message.get("toolCalls") or ()]
        if calls:
            out.append(self._chunk({"tool_calls": calls}))
        return out

    def _streamed_call(self, call: Json) -> Json:
        """A tool call in a token event: a new call (a new id), or more of the last one's
        arguments (the same id, or none)."""
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = tool_arguments(arguments) if arguments is not None else ""
        call_id = str(call.get("id") or "")
        if self._tools and (not call_id or call_id in self._tool_ids):
            index = self._tool_ids.get(call_id, self._tools - 1)
            return {"index": index, "function": {"arguments": arguments}}
        index = self._tools
        self._tools += 1
        call_id = call_id or f"call_clova_{index}"
        self._tool_ids[call_id] = index
        named = {"name": str(function.get("name") or ""), "arguments": arguments}
        return {"index": index, "id": call_id, "type": "function", "function": named}

    def close(self) -> list[bytes]:
        return []  # a stream without its result event was cut

    def _result(self, result: Json, message: Json) -> list[bytes]:
        out: list[bytes] = []
        # The result repeats the whole answer; only what the tokens did not carry is sent.
        if not self._streamed_text and message.get("content"):
            out.append(self._chunk({"content": message["content"]}))
        if not self._tools:
            calls = _tool_calls(message)
            if calls:
                self._tools = len(calls)
                out.append(self._chunk({"tool_calls": calls}))
        clova_usage(result, self._usage)
        out.append(self._chunk({}, _finish(result, self._tools > 0)))
        if self._include_usage:
            body = {**self._base(), "choices": [], "usage": _openai_usage(self._usage)}
            out.append(frame(orjson.dumps(body)))
        out.append(DONE)
        self.done = True
        return out

    def _base(self) -> Json:
        return {
            "id": "chatcmpl-clova",
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def _chunk(self, delta: Json, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        body: Json = {**self._base(), "choices": [choice]}
        if self._include_usage:
            body["usage"] = None
        return frame(orjson.dumps(body))
