"""OpenAI chat completions <-> Gemini `generateContent`: requests, answers and streams. No I/O.

The Gemini API (Google AI) and Vertex AI take the same body and answer the same way:

    OpenAI                              Gemini
    system / developer messages         systemInstruction.parts[].text
    user / assistant                    contents[] role "user" / "model", parts[]
    image_url (data: URL / https URL)   inlineData {mimeType, data} / fileData {mimeType, fileUri}
    assistant tool_calls                functionCall {name, args} parts
    tool messages                       functionResponse {name, response} parts (role "user")
    max_tokens, temperature, top_p,     generationConfig maxOutputTokens, temperature, topP,
    stop, seed, penalties, n=1          stopSequences, seed, presence/frequencyPenalty
    response_format json_object/schema  generationConfig responseMimeType / responseJsonSchema
    tools (functions), tool_choice      tools[].functionDeclarations, toolConfig
    finishReason STOP / MAX_TOKENS /    finish_reason stop (tool_calls when the model called a
    SAFETY, RECITATION, BLOCKLIST …     function) / length / content_filter
    usageMetadata promptTokenCount,     usage prompt_tokens, completion_tokens (thinking tokens
    candidatesTokenCount (+thoughts)    count as completion tokens, as OpenAI counts reasoning)

Thought parts (`thought: true`) are not passed on. What has no Gemini counterpart (`n > 1`,
`logprobs`, audio input) raises `TranslationError`.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import orjson

from sumun.gateway.translate import StreamFault, TranslationError
from sumun.gateway.translate._common import parse_data_url, tool_input
from sumun.gateway.upstream.base import Usage
from sumun.gateway.upstream.sse import DONE, SSEEvent, frame

__all__ = ["GeminiToOpenAIStream", "gemini_request", "gemini_usage", "openai_completion"]

Json = dict[str, Any]

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
# A Gemini error status (google.rpc.Code) as the error type the gateway's stream handling knows.
_FAULT_TYPES = {
    "RESOURCE_EXHAUSTED": "rate_limit_error",
    "INVALID_ARGUMENT": "invalid_request_error",
    "FAILED_PRECONDITION": "invalid_request_error",
    "UNAVAILABLE": "overloaded_error",
}
_CONFIG = {
    "temperature": "temperature",
    "top_p": "topP",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}


# --- requests -------------------------------------------------------------------------------


def gemini_request(body: Json) -> Json:
    """An OpenAI chat-completions body as a Gemini `generateContent` body."""
    if int(body.get("n") or 1) != 1:
        raise TranslationError("n > 1 cannot be translated for Gemini")
    if body.get("logprobs"):
        raise TranslationError("logprobs cannot be translated for Gemini")
    system: list[Json] = []
    contents: list[Json] = []
    names: dict[str, str] = {}  # tool call id -> function name, for the functionResponse
    for index, message in enumerate(body.get("messages") or ()):
        where = f"messages[{index}]"
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_parts(message.get("content"), where, text_only=True))
        elif role == "user":
            _append(contents, "user", _parts(message.get("content"), where))
        elif role == "assistant":
            _append(contents, "model", _model_parts(message, names, where))
        elif role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            response = {"name": names.get(call_id, call_id), "response": _result(message)}
            _append(contents, "user", [{"functionResponse": response}])
        else:
            raise TranslationError(f"{where}: role {role!r} has no Gemini equivalent")
    out: Json = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    config = _generation_config(body)
    if config:
        out["generationConfig"] = config
    tools = body.get("tools")
    if tools:
        out["tools"] = [{"functionDeclarations": [_declaration(t, i) for i, t in enumerate(tools)]}]
        choice = _tool_config(body.get("tool_choice"))
        if choice is not None:
            out["toolConfig"] = choice
    return out


def _append(contents: list[Json], role: str, parts: list[Json]) -> None:
    # Gemini wants turns to alternate; consecutive messages of one role become one turn.
    if not parts:
        parts = [{"text": ""}]
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _parts(content: Any, where: str, *, text_only: bool = False) -> list[Json]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[Json] = []
    for i, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            parts.append({"text": part.get("text", "")})
        elif kind == "image_url" and not text_only:
            parts.append(_media((part.get("image_url") or {}).get("url", ""), f"{where}[{i}]"))
        elif kind == "file" and not text_only:
            parts.append(_media((part.get("file") or {}).get("file_data", ""), f"{where}[{i}]"))
        else:
            raise TranslationError(f"{where}.content[{i}]: part {kind!r} has no Gemini equivalent")
    return parts


def _media(url: str, where: str) -> Json:
    parsed = parse_data_url(url)
    if parsed is not None:
        return {"inlineData": {"mimeType": parsed[0], "data": parsed[1]}}
    if not url:
        raise TranslationError(f"{where}: an image or file part without a URL")
    mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def _model_parts(message: Json, names: dict[str, str], where: str) -> list[Json]:
    parts = _parts(message.get("content"), where, text_only=True)
    parts = [p for p in parts if p.get("text")]
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        names[str(call.get("id") or "")] = name
        args = tool_input(function.get("arguments"), where=where)
        parts.append({"functionCall": {"name": name, "args": args}})
    return parts


def _result(message: Json) -> Json:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    text = str(content or "")
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    # `response` must be an object; a tool's plain-text answer is wrapped.
    return parsed if isinstance(parsed, dict) else {"content": text}


def _generation_config(body: Json) -> Json:
    config: Json = {}
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None:
        config["maxOutputTokens"] = int(limit)
    for source, target in _CONFIG.items():
        if body.get(source) is not None:
            config[target] = body[source]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        config["responseMimeType"] = "application/json"
    elif response_format.get("type") == "json_schema":
        config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if schema:
            config["responseJsonSchema"] = schema
    return config


def _declaration(tool: Json, index: int) -> Json:
    if tool.get("type") != "function":
        raise TranslationError(f"tools[{index}]: only function tools can be translated")
    function = tool.get("function") or {}
    out: Json = {"name": function.get("name")}
    if function.get("description"):
        out["description"] = function["description"]
    if function.get("parameters"):
        out["parameters"] = function["parameters"]
    return out


def _tool_config(choice: Any) -> Json | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        mode: Json = {"mode": "ANY", "allowedFunctionNames": [name]}
    elif choice in ("auto", "none", "required"):
        mode = {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice]}
    else:
        raise TranslationError(f"tool_choice {choice!r} has no Gemini equivalent")
    return {"functionCallingConfig": mode}


# --- answers --------------------------------------------------------------------------------


def gemini_usage(answer: Json, usage: Usage) -> None:
    metadata = answer.get("usageMetadata")
    if not isinstance(metadata, dict):
        return
    usage.tokens_in = int(metadata.get("promptTokenCount") or 0)
    usage.tokens_out = int(metadata.get("candidatesTokenCount") or 0) + int(
        metadata.get("thoughtsTokenCount") or 0
    )


def _openai_usage(usage: Usage) -> Json:
    prompt, completion = usage.tokens_in or 0, usage.tokens_out or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _candidate(answer: Json) -> Json:
    candidates = answer.get("candidates")
    return candidates[0] if isinstance(candidates, list) and candidates else {}


def _split(candidate: Json, first_tool: int) -> tuple[str, list[Json]]:
    """(text, OpenAI tool calls) of a candidate's parts; thought parts are left out."""
    texts: list[str] = []
    calls: list[Json] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if part.get("thought"):
            continue
        if "text" in part:
            texts.append(str(part["text"]))
        call = part.get("functionCall")
        if isinstance(call, dict):
            index = first_tool + len(calls)
            calls.append(
                {
                    "index": index,
                    "id": str(call.get("id") or f"call_gemini_{index}"),
                    "type": "function",
                    "function": {
                        "name": str(call.get("name") or ""),
                        "arguments": orjson.dumps(call.get("args") or {}).decode(),
                    },
                }
            )
    return "".join(texts), calls


def _finish(answer: Json, reason: Any, called: bool) -> str:
    if not reason and (answer.get("promptFeedback") or {}).get("blockReason"):
        return "content_filter"  # the prompt itself was blocked: no candidate at all
    if called and reason in (None, "STOP"):
        return "tool_calls"
    return _FINISH.get(str(reason), "stop")


def openai_completion(answer: Json, *, model: str, created: int, usage: Usage) -> Json:
    """A Gemini `GenerateContentResponse` as an OpenAI `chat.completion`."""
    candidate = _candidate(answer)
    text, calls = _split(candidate, 0)
    message: Json = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
    finish = _finish(answer, candidate.get("finishReason"), bool(calls))
    return {
        "id": f"chatcmpl-{answer.get('responseId') or 'gemini'}",
        "object": "chat.completion",
        "created": created,
        "model": str(answer.get("modelVersion") or model),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _openai_usage(usage),
    }


class GeminiToOpenAIStream:
    """`streamGenerateContent?alt=sse` events in, OpenAI `chat.completion.chunk` SSE out.

    Gemini has no end marker: the stream ends with the body, after a chunk with a finishReason
    (which also carries the final usageMetadata). So `done` is set by `close()` at the end of
    the body, and only once a finishReason arrived; a body that ends before is a cut stream.
    """

    def __init__(self, *, model: str, created: int, include_usage: bool, usage: Usage) -> None:
        self.done = False
        self.fault: StreamFault | None = None
        self._model = model
        self._created = created
        self._include_usage = include_usage
        self._usage = usage
        self._id = "chatcmpl-gemini"
        self._started = False
        self._tools = 0
        self._finished = False

    def feed(self, event: SSEEvent) -> list[bytes]:
        if self.done:
            return []
        try:
            answer = orjson.loads(event.data)
        except orjson.JSONDecodeError as exc:
            raise TranslationError("Gemini sent an event that is not JSON") from exc
        if not isinstance(answer, dict):
            raise TranslationError("Gemini sent an event that is not a JSON object")
        if self._finished:  # after the finishReason only a late usage count matters
            gemini_usage(answer, self._usage)
            return []
        error = answer.get("error")
        if isinstance(error, dict):
            kind = _FAULT_TYPES.get(str(error.get("status")), "api_error")
            self.fault = StreamFault(kind, str(error.get("message", "")))
            self.done = True
            return []
        out: list[bytes] = []
        if not self._started:
            self._started = True
            self._id = f"chatcmpl-{answer.get('responseId') or 'gemini'}"
            self._model = str(answer.get("modelVersion") or self._model)
            out.append(self._chunk({"role": "assistant", "content": ""}))
        gemini_usage(answer, self._usage)
        candidate = _candidate(answer)
        text, calls = _split(candidate, self._tools)
        if text:
            out.append(self._chunk({"content": text}))
        if calls:
            self._tools += len(calls)
            out.append(self._chunk({"tool_calls": calls}))
        reason = candidate.get("finishReason")
        if reason or (answer.get("promptFeedback") or {}).get("blockReason"):
            self._finished = True
            out.append(self._chunk({}, _finish(answer, reason, self._tools > 0)))
        return out

    def close(self) -> list[bytes]:
        if not self._finished or self.done:
            return []
        self.done = True
        out: list[bytes] = []
        if self._include_usage:
            usage = {"choices": [], "usage": _openai_usage(self._usage)}
            out.append(frame(orjson.dumps({**self._base(), **usage})))
        out.append(DONE)
        return out

    def _base(self) -> Json:
        return {
            "id": self._id,
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
