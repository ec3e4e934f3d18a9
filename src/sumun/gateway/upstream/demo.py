"""The built-in `demo` provider: deterministic answers, no network, no model.

It lets `make run` and the tests exercise the whole gateway. Every answer MUST say that it comes
from a demo and not from an AI model (`LABEL`), so a demo deployment can never be mistaken for
a real one. It echoes the last user message, counts tokens as whitespace-separated words,
streams in several events in either wire format, and returns embeddings as pseudo-random unit
vectors derived from SHA-256 of each input (the same input always gives the same vector).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from typing import Any

import orjson

from sumun.config import ProviderConfig
from sumun.gateway.upstream.base import Call, Reply, StreamReply, UpstreamError, Usage, Wire
from sumun.gateway.upstream.sse import DONE, frame

__all__ = ["DEMO_MODEL", "EMBEDDING_DIMENSIONS", "LABEL", "DemoAdapter"]

DEMO_MODEL = "sumun-demo-1"
LABEL = "[Sumun demo model — not a real AI model]"
EMBEDDING_DIMENSIONS = 64
_MAX_DIMENSIONS = 4096
_ECHO_LIMIT = 500  # characters of the user's message echoed back
_WORDS_PER_EVENT = 3

Json = dict[str, Any]


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    """The text of a message's content in any of the three request formats."""
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable) and not isinstance(content, bytes | Mapping):
        texts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") in ("text", "input_text")
        ]
        return " ".join(texts)
    return ""


def _prompt(call: Call) -> tuple[str, int]:
    """(last user message text, prompt token estimate over every text in the request)."""
    body = call.body
    texts: list[str] = []
    last = ""
    if call.endpoint == "responses":
        for name in ("instructions",):
            if isinstance(body.get(name), str):
                texts.append(body[name])
        source = body.get("input")
        items = [{"role": "user", "content": source}] if isinstance(source, str) else source or ()
    else:
        if body.get("system"):
            texts.append(_text_of(body["system"]))
        items = body.get("messages") or ()
    for item in items:
        if not isinstance(item, Mapping):
            continue
        text = _text_of(item.get("content"))
        texts.append(text)
        if item.get("role") == "user":
            last = text
    return last, sum(_words(t) for t in texts)


def answer_text(last_user_message: str) -> str:
    echo = " ".join(last_user_message.split())
    if len(echo) > _ECHO_LIMIT:
        echo = echo[:_ECHO_LIMIT] + "…"
    return f"{LABEL} You said: {echo}" if echo else f"{LABEL} You said nothing."


def _pieces(text: str) -> list[str]:
    """The streamed pieces of an answer. The label travels whole in the first one, so even a
    stream cut short, or a client that shows pieces as they come, says it is a demo."""
    head = ""
    if text.startswith(LABEL):
        head, text = LABEL, text[len(LABEL) :]
        spaces = len(text) - len(text.lstrip())
        head, text = head + text[:spaces], text[spaces:]
    words = re.findall(r"\S+\s*", text)
    rest = [
        "".join(words[i : i + _WORDS_PER_EVENT]) for i in range(0, len(words), _WORDS_PER_EVENT)
    ]
    return [head, *rest] if head else rest


def embedding(item: Any, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A unit vector from SHA-256 of `item` in counter mode (the same item, the same vector)."""
    seed = item.encode("utf-8") if isinstance(item, str) else orjson.dumps(item)
    stream = b""
    counter = 0
    while len(stream) < 4 * dimensions:
        stream += hashlib.sha256(counter.to_bytes(4, "big") + seed).digest()
        counter += 1
    raw = [u / 2**31 - 1.0 for u in struct.unpack(f">{dimensions}I", stream[: 4 * dimensions])]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class DemoAdapter:
    """A `ProviderAdapter` that answers locally and deterministically (kind `demo`)."""

    def __init__(
        self, config: ProviderConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._name = config.name if config is not None else "demo"
        self._clock = clock

    @property
    def name(self) -> str:
        return self._name

    async def complete(self, call: Call) -> Reply:
        if call.endpoint == "embeddings" and call.wire is Wire.OPENAI:
            return self._embeddings(call)
        last, tokens_in = _prompt(self._check(call))
        text = answer_text(last)
        usage = Usage(tokens_in=tokens_in, tokens_out=_words(text))
        model = str(call.body.get("model") or DEMO_MODEL)
        ident = f"demo-{call.request_id}"
        created = int(self._clock())
        body: Json
        if call.wire is Wire.ANTHROPIC:
            body = _message(ident, model, text, usage)
        elif call.endpoint == "responses":
            body = _response(ident, model, created, text, usage, request=call.body)
        else:
            body = {
                "id": f"chatcmpl-{ident}",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": _chat_usage(usage),
            }
        return Reply(status=200, body=body, usage=usage)

    async def stream(self, call: Call) -> StreamReply:
        last, tokens_in = _prompt(self._check(call))
        text = answer_text(last)
        usage = Usage(tokens_in=tokens_in, tokens_out=_words(text))
        model = str(call.body.get("model") or DEMO_MODEL)
        ident = f"demo-{call.request_id}"
        created = int(self._clock())
        if call.wire is Wire.ANTHROPIC:
            events = _message_events(ident, model, text, usage)
        elif call.endpoint == "responses":
            events = _response_events(ident, model, created, text, usage, request=call.body)
        else:
            options = call.body.get("stream_options")
            include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
            events = _chat_events(ident, model, created, text, usage, include_usage=include_usage)
        return StreamReply(chunks=_replay(events), usage=usage)

    async def models(self) -> list[str]:
        return [DEMO_MODEL]

    async def aclose(self) -> None:
        return None

    def _check(self, call: Call) -> Call:
        # Embeddings are answered by `complete` before this check; they do not stream.
        supported = (call.wire is Wire.ANTHROPIC and call.endpoint == "messages") or (
            call.wire is Wire.OPENAI and call.endpoint in ("chat", "responses")
        )
        if not supported:
            raise UpstreamError(
                f"{self.name}: {call.wire.value} {call.endpoint} is not supported here",
                provider=self.name,
                status=400,
                kind="unsupported",
            )
        return call

    def _embeddings(self, call: Call) -> Reply:
        body = call.body
        source = body.get("input")
        items: list[Any]
        if isinstance(source, str) or (
            isinstance(source, list) and source and isinstance(source[0], int)
        ):
            items = [source]  # one text, or one list of token ids
        elif isinstance(source, list) and source:
            items = source
        else:
            raise UpstreamError(
                f"{self.name}: embeddings need a non-empty input",
                provider=self.name,
                status=400,
                kind="bad_request",
            )
        dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
        if not 1 <= dimensions <= _MAX_DIMENSIONS:
            raise UpstreamError(
                f"{self.name}: dimensions must be between 1 and {_MAX_DIMENSIONS}",
                provider=self.name,
                status=400,
                kind="bad_request",
            )
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        tokens = 0
        for index, item in enumerate(items):
            vector = embedding(item, dimensions)
            tokens += _words(item) if isinstance(item, str) else len(item)
            encoded: Any = vector
            if as_base64:  # little-endian float32, what the OpenAI SDK asks for by default
                packed = struct.pack(f"<{dimensions}f", *vector)
                encoded = base64.b64encode(packed).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        answer = {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or DEMO_MODEL),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return Reply(status=200, body=answer, usage=Usage(tokens_in=tokens, tokens_out=0))


async def _replay(events: list[bytes]) -> AsyncGenerator[bytes, None]:
    for event in events:
        yield event


def _chat_usage(usage: Usage) -> Json:
    prompt, completion = usage.tokens_in or 0, usage.tokens_out or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _chat_events(
    ident: str, model: str, created: int, text: str, usage: Usage, *, include_usage: bool
) -> list[bytes]:
    def chunk(delta: Json, finish: str | None = None) -> bytes:
        body: Json = {
            "id": f"chatcmpl-{ident}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            body["usage"] = None
        return frame(orjson.dumps(body))

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in _pieces(text)]
    events.append(chunk({}, "stop"))
    if include_usage:
        final = {
            "id": f"chatcmpl-{ident}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _chat_usage(usage),
        }
        events.append(frame(orjson.dumps(final)))
    events.append(DONE)
    return events


def _message(ident: str, model: str, text: str, usage: Usage) -> Json:
    return {
        "id": f"msg_{ident}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage.tokens_in or 0, "output_tokens": usage.tokens_out or 0},
    }


def _message_events(ident: str, model: str, text: str, usage: Usage) -> list[bytes]:
    def event(name: str, body: Json) -> bytes:
        return frame(orjson.dumps({"type": name, **body}), name)

    start = _message(ident, model, "", usage)
    start.update(content=[], stop_reason=None)
    start["usage"] = {"input_tokens": usage.tokens_in or 0, "output_tokens": 1}
    events = [
        event("message_start", {"message": start}),
        event("ping", {}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    events += [
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        for piece in _pieces(text)
    ]
    events += [
        event("content_block_stop", {"index": 0}),
        event(
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": usage.tokens_out or 0},
            },
        ),
        event("message_stop", {}),
    ]
    return events


def _response(
    ident: str,
    model: str,
    created: int,
    text: str,
    usage: Usage,
    *,
    request: Mapping[str, Any],
    status: str = "completed",
) -> Json:
    prompt, completion = usage.tokens_in or 0, usage.tokens_out or 0
    output = []
    if status == "completed":
        output.append(_output_message(ident, text, "completed"))
    return {
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": created,
        "model": model,
        "status": status,
        "output": output,
        "instructions": request.get("instructions"),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "metadata": {},
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
        if status == "completed"
        else None,
    }


def _output_message(ident: str, text: str, status: str) -> Json:
    content = [{"type": "output_text", "text": text, "annotations": []}] if text else []
    return {
        "type": "message",
        "id": f"msg_{ident}",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _response_events(
    ident: str, model: str, created: int, text: str, usage: Usage, *, request: Mapping[str, Any]
) -> list[bytes]:
    events: list[bytes] = []

    def event(name: str, body: Json) -> None:
        payload = {"type": name, "sequence_number": len(events), **body}
        events.append(frame(orjson.dumps(payload), name))

    item_id = f"msg_{ident}"
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    pending = _response(ident, model, created, text, usage, request=request, status="in_progress")
    event("response.created", {"response": pending})
    event("response.in_progress", {"response": pending})
    event(
        "response.output_item.added",
        {"output_index": 0, "item": _output_message(ident, "", "in_progress")},
    )
    event("response.content_part.added", {**where, "part": part})
    for piece in _pieces(text):
        event("response.output_text.delta", {**where, "delta": piece, "logprobs": []})
    event("response.output_text.done", {**where, "text": text, "logprobs": []})
    event("response.content_part.done", {**where, "part": {**part, "text": text}})
    event(
        "response.output_item.done",
        {"output_index": 0, "item": _output_message(ident, text, "completed")},
    )
    done = _response(ident, model, created, text, usage, request=request)
    event("response.completed", {"response": done})
    return events
