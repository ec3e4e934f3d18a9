"""The answer on its way back: output PII scanning, then pseudonym restoration.

Order matters: the model's own text is scanned first (tokens like `[주민등록번호_1]` are not
PII, and originals the caller sent are restored only afterwards, so they are never masked as
"PII the model produced"), then tokens become the originals again.

Non-streaming bodies are rewritten field by field (OpenAI chat `choices[].message.content`,
Responses `output[].content[].text`, Anthropic `content[].text`). Streams are parsed as SSE and
only text deltas are rewritten, each stream position (choice, content block, output item) with
its own scanner and restorer; held-back text is released before the event that ends that
position (`finish_reason`, `content_block_stop`, `response.output_text.done`) or at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson

from sumun.gateway.upstream.base import Endpoint, Wire
from sumun.gateway.upstream.sse import SSEEvent, SSEParser, json_event
from sumun.policy.pii import Finding
from sumun.policy.transform import OutputRules, OutputScanner, Restorer

__all__ = ["AnswerFilter", "rewrite_body", "rewrite_stream"]


class AnswerFilter:
    """One scanner + restorer per stream position; `blocked` names a rule that withheld."""

    def __init__(
        self,
        detect: Callable[[str], list[Finding]],
        rules: OutputRules,
        pseudonyms: Mapping[str, str],
    ) -> None:
        self._detect = detect
        self._rules = rules
        self._pseudonyms = pseudonyms
        self._positions: dict[Any, tuple[OutputScanner, Restorer]] = {}
        self._whole = (OutputScanner(detect, rules), Restorer(pseudonyms))
        self.where: dict[Any, dict[str, Any]] = {}  # Responses API: ids of each position
        # Tool-call arguments are JSON text: originals go back JSON-escaped. Only restored,
        # never scanned (masking inside a function call would break the caller's code).
        self._json = {t: orjson.dumps(v).decode()[1:-1] for t, v in pseudonyms.items()}
        self._args: dict[Any, Restorer] = {}

    @property
    def active(self) -> bool:
        return bool(self._rules) or bool(self._pseudonyms)

    @property
    def blocked(self) -> str | None:
        for scanner, _r in (self._whole, *self._positions.values()):
            if scanner.blocked:
                return scanner.blocked
        return None

    def hits(self) -> list[str]:
        out: list[str] = []
        for scanner, _r in (self._whole, *self._positions.values()):
            out.extend(f"{h.type}:{h.action}" for h in scanner.hits)
        return sorted(set(out))

    def restored(self) -> int:
        return sum(r.restored for _s, r in (self._whole, *self._positions.values()))

    def text(self, value: str) -> str:
        scanner, restorer = self._whole
        return restorer.restore(scanner.scan(value))

    def feed(self, position: Any, delta: str) -> str:
        pair = self._positions.get(position)
        if pair is None:
            pair = self._positions[position] = (
                OutputScanner(self._detect, self._rules),
                Restorer(self._pseudonyms),
            )
        scanner, restorer = pair
        return restorer.feed(scanner.feed(delta))

    def flush(self, position: Any) -> str:
        pair = self._positions.get(position)
        if pair is None:
            return ""
        scanner, restorer = pair
        return restorer.feed(scanner.flush()) + restorer.flush()

    def open_positions(self) -> list[Any]:
        return list(self._positions)

    # -- tool calls --------------------------------------------------------------------------

    def args_text(self, value: str) -> str:
        """Whole JSON-text arguments of a tool call."""
        return Restorer(self._json).restore(value) if self._json else value

    def args_feed(self, position: Any, delta: str) -> str:
        if not self._json:
            return delta
        restorer = self._args.get(position)
        if restorer is None:
            restorer = self._args[position] = Restorer(self._json)
        return restorer.feed(delta)

    def args_flush(self, position: Any) -> str:
        restorer = self._args.pop(position, None)
        return restorer.flush() if restorer is not None else ""

    def open_args(self) -> list[Any]:
        return list(self._args)

    def value(self, node: Any) -> Any:
        """A tool call's parsed input (Anthropic `tool_use.input`): strings restored."""
        if not self._pseudonyms:
            return node
        if isinstance(node, str):
            return self._whole[1].restore(node)
        if isinstance(node, dict):
            return {k: self.value(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(v) for v in node]
        return node


# -- whole bodies ----------------------------------------------------------------------------


def _rewrite_texts(node: Any, fix: Callable[[str], str]) -> None:
    """Rewrite every `text` string inside a Responses/Anthropic content structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                node[key] = fix(value)
            elif isinstance(value, dict | list):
                _rewrite_texts(value, fix)
    elif isinstance(node, list):
        for item in node:
            _rewrite_texts(item, fix)


def _chat_body(body: dict[str, Any], flt: AnswerFilter) -> None:
    for choice in body.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("content"), str):
            message["content"] = flt.text(message["content"])
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                function["arguments"] = flt.args_text(function["arguments"])


def _responses_body(body: dict[str, Any], flt: AnswerFilter) -> None:
    for item in body.get("output") or ():
        if isinstance(item, dict) and isinstance(item.get("arguments"), str):
            item["arguments"] = flt.args_text(item["arguments"])
    _rewrite_texts(body.get("output"), flt.text)
    if isinstance(body.get("output_text"), str):
        body["output_text"] = flt.text(body["output_text"])


def _messages_body(body: dict[str, Any], flt: AnswerFilter) -> None:
    for block in body.get("content") or ():
        if isinstance(block, dict) and block.get("type") == "tool_use":
            block["input"] = flt.value(block.get("input"))
    _rewrite_texts(body.get("content"), flt.text)


_BODIES = {"chat": _chat_body, "responses": _responses_body, "messages": _messages_body}


def rewrite_body(body: dict[str, Any], endpoint: Endpoint, flt: AnswerFilter) -> None:
    """Rewrite the answer text (and restore tool-call arguments) of a non-streaming reply."""
    rewrite = _BODIES.get(endpoint)
    if rewrite is not None:
        rewrite(body, flt)


# -- streams ---------------------------------------------------------------------------------


def _event(data: dict[str, Any], name: str | None) -> bytes:
    return json_event(data, name or None)  # an empty `event:` line is not written back


def _chat_event(ev: SSEEvent, data: dict[str, Any], flt: AnswerFilter) -> list[bytes]:
    for choice in data.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", 0)
        delta = choice.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            delta["content"] = flt.feed(index, delta["content"])
        for call in (delta.get("tool_calls") if isinstance(delta, dict) else None) or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                key = (index, "tool", call.get("index", 0))
                function["arguments"] = flt.args_feed(key, function["arguments"])
        if choice.get("finish_reason") is not None:
            rest = flt.flush(index)
            held = [
                {"index": key[2], "function": {"arguments": flt.args_flush(key)}}
                for key in flt.open_args()
                if key[0] == index
            ]
            if rest or held:
                if not isinstance(delta, dict):
                    delta = choice["delta"] = {}
                if rest:
                    delta["content"] = (delta.get("content") or "") + rest
                if held:
                    delta["tool_calls"] = [*(delta.get("tool_calls") or ()), *held]
    return [_event(data, ev.event)]


def _anthropic_event(ev: SSEEvent, data: dict[str, Any], flt: AnswerFilter) -> list[bytes]:
    kind = data.get("type")
    index = data.get("index", 0)
    if kind == "content_block_delta":
        delta = data.get("delta")
        if isinstance(delta, dict) and delta.get("type") == "text_delta":
            delta["text"] = flt.feed(index, str(delta.get("text", "")))
        elif isinstance(delta, dict) and delta.get("type") == "input_json_delta":
            delta["partial_json"] = flt.args_feed(index, str(delta.get("partial_json", "")))
        return [_event(data, ev.event)]
    out: list[bytes] = []
    if kind == "content_block_stop":
        rest = flt.flush(index)
        if rest:
            extra = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": rest},
            }
            out.append(_event(extra, "content_block_delta"))
        args = flt.args_flush(index)
        if args:
            extra = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": args},
            }
            out.append(_event(extra, "content_block_delta"))
    out.append(_event(data, ev.event))
    return out


def _restore_calls(node: Any, flt: AnswerFilter) -> None:
    """Function-call arguments repeated whole (`…arguments.done`, output items, completed)."""
    if isinstance(node, dict):
        is_call = node.get("type") in ("function_call", "response.function_call_arguments.done")
        if is_call and isinstance(node.get("arguments"), str):
            node["arguments"] = flt.args_text(node["arguments"])
        for value in node.values():
            if isinstance(value, dict | list):
                _restore_calls(value, flt)
    elif isinstance(node, list):
        for item in node:
            _restore_calls(item, flt)


def _responses_event(ev: SSEEvent, data: dict[str, Any], flt: AnswerFilter) -> list[bytes]:
    kind = data.get("type") or ev.event
    position = (data.get("output_index"), data.get("content_index"))
    if kind == "response.output_text.delta" and isinstance(data.get("delta"), str):
        flt.where[position] = {
            k: data[k] for k in ("item_id", "output_index", "content_index") if k in data
        }
        data["delta"] = flt.feed(position, data["delta"])
        return [_event(data, ev.event)]
    if kind == "response.function_call_arguments.delta" and isinstance(data.get("delta"), str):
        key = ("fc", data.get("output_index"))
        flt.where[key] = {k: data[k] for k in ("item_id", "output_index") if k in data}
        data["delta"] = flt.args_feed(key, data["delta"])
        return [_event(data, ev.event)]
    # Anything else ends (or repeats) text or arguments: release what is held first.
    out = _flush_all("responses", flt)
    _restore_calls(data, flt)
    # Events that repeat the whole text (done, content_part, output_item, completed).
    _rewrite_texts(data, flt.text)
    out.append(_event(data, ev.event))
    return out


_HANDLERS = {"chat": _chat_event, "messages": _anthropic_event, "responses": _responses_event}


def _chat_chunk(index: Any, delta: dict[str, Any]) -> bytes:
    """One more chat-completion chunk carrying text held back until the stream ended."""
    choice = {"index": index, "delta": delta, "finish_reason": None}
    data = {
        "object": "chat.completion.chunk",
        "id": "sumun-restore",
        "created": 0,
        "model": "sumun",
        "choices": [choice],
    }
    return _event(data, None)


def _flush_args(endpoint: Endpoint, flt: AnswerFilter) -> list[bytes]:
    out = []
    for key in flt.open_args():
        rest = flt.args_flush(key)
        if not rest:
            continue
        if endpoint == "chat":
            call = {"index": key[2], "function": {"arguments": rest}}
            out.append(_chat_chunk(key[0], {"tool_calls": [call]}))
        elif endpoint == "messages":
            delta = {"type": "input_json_delta", "partial_json": rest}
            data = {"type": "content_block_delta", "index": key, "delta": delta}
            out.append(_event(data, "content_block_delta"))
        elif endpoint == "responses":
            kind = "response.function_call_arguments.delta"
            data = {"type": kind, **flt.where.get(key, {}), "delta": rest}
            out.append(_event(data, kind))
    return out


def _flush_all(endpoint: Endpoint, flt: AnswerFilter) -> list[bytes]:
    out = _flush_args(endpoint, flt)
    for position in flt.open_positions():
        rest = flt.flush(position)
        if not rest:
            continue
        if endpoint == "chat":
            out.append(_chat_chunk(position, {"content": rest}))
        elif endpoint == "messages":
            data = {
                "type": "content_block_delta",
                "index": position,
                "delta": {"type": "text_delta", "text": rest},
            }
            out.append(_event(data, "content_block_delta"))
        elif endpoint == "responses":
            where = flt.where.get(position, {})
            data = {"type": "response.output_text.delta", **where, "delta": rest}
            out.append(_event(data, "response.output_text.delta"))
    return out


async def rewrite_stream(
    chunks: AsyncIterator[bytes], endpoint: Endpoint, wire: Wire, flt: AnswerFilter
) -> AsyncIterator[bytes]:
    """Rewrite text deltas of an SSE stream in the client's format (see module doc)."""
    del wire  # the endpoint names the event shapes
    handler = _HANDLERS.get(endpoint)
    parser = SSEParser()
    async for chunk in chunks:
        if handler is None:
            yield chunk
            continue
        out: list[bytes] = []
        for ev in parser.feed(chunk):
            if ev.data.strip() == "[DONE]":
                out.extend(_flush_all(endpoint, flt))
                out.append(ev.encode())
                continue
            try:
                data = orjson.loads(ev.data)
            except orjson.JSONDecodeError:
                out.append(ev.encode())
                continue
            if not isinstance(data, dict):
                out.append(ev.encode())
                continue
            if endpoint == "messages" and data.get("type") == "message_delta":
                out.extend(_flush_all(endpoint, flt))
            out.extend(handler(ev, data, flt))
        if out:
            yield b"".join(out)
    tail = _flush_all(endpoint, flt)
    if tail:
        yield b"".join(tail)
