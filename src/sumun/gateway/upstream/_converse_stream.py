"""ConverseStream events -> Anthropic `messages` stream events. Pure, no I/O.

The Bedrock adapter feeds this the events botocore decodes from the binary event stream; what
comes out is either sent as is (Anthropic clients) or fed on to `AnthropicToOpenAIStream`
(OpenAI clients), so there is one stream translator per format pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from sumun.gateway.upstream._converse import converse_usage, read_usage, stop_reason
from sumun.gateway.upstream.base import Usage
from sumun.gateway.upstream.sse import SSEEvent

__all__ = ["ConverseToAnthropicEvents"]

Json = dict[str, Any]


def _event(name: str, data: Json) -> SSEEvent:
    return SSEEvent(data=orjson.dumps({"type": name, **data}).decode(), event=name)


class ConverseToAnthropicEvents:
    """ConverseStream events in, Anthropic `messages` stream events out.

    Converse opens a text block with its first delta (only tool-use blocks get a start event),
    and reports usage in a `metadata` event *after* `messageStop`; so the stop reason is held
    until the usage arrives, and `message_delta` + `message_stop` go out together. A stream that
    ends after `messageStop` without `metadata` is whole (`close`), only the usage is unknown.
    """

    def __init__(self, *, model: str, message_id: str, usage: Usage) -> None:
        self.done = False
        self.usage = usage
        self._model = model
        self._id = message_id
        self._started = False
        self._open: dict[int, str] = {}  # Converse block index -> the Anthropic block type open
        self._stop: str | None = None

    def feed(self, kind: str, payload: Mapping[str, Any]) -> list[SSEEvent]:
        if self.done:
            return []
        out = [] if self._started or kind == "metadata" else [self._message_start()]
        index = int(payload.get("contentBlockIndex") or 0)
        if kind == "contentBlockStart":
            use = (payload.get("start") or {}).get("toolUse")
            if isinstance(use, Mapping):
                self._open[index] = "tool_use"
                block = {"type": "tool_use", "id": use.get("toolUseId"), "name": use.get("name")}
                out.append(_event("content_block_start", {"index": index, "content_block": block}))
        elif kind == "contentBlockDelta":
            out.extend(self._delta(index, payload.get("delta") or {}))
        elif kind == "contentBlockStop":
            if self._open.pop(index, None) is not None:
                out.append(_event("content_block_stop", {"index": index}))
        elif kind == "messageStop":
            out.extend(self._close_blocks())
            self._stop = stop_reason(payload.get("stopReason"))
        elif kind == "metadata":
            read_usage(payload.get("usage"), self.usage)
            if self._stop is not None:
                out.extend(self._finish(converse_usage(payload.get("usage"))))
        return out  # messageStart (beyond opening the message) and later event types: nothing

    def close(self) -> list[SSEEvent]:
        """The stream ended: the closing events when the answer had reached its stop reason."""
        if self.done or self._stop is None:
            return []
        known = {"input_tokens": self.usage.tokens_in, "output_tokens": self.usage.tokens_out}
        return self._finish({k: v or 0 for k, v in known.items()})

    def _message_start(self) -> SSEEvent:
        self._started = True
        message: Json = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"message": message})

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        block: Json
        body: Json
        if "text" in delta:
            kind, block, body = "text", {"type": "text", "text": ""}, {"type": "text_delta"}
            body["text"] = str(delta["text"])
        elif "toolUse" in delta:
            kind, block = "tool_use", {"type": "tool_use", "id": None, "name": None}
            body = {
                "type": "input_json_delta",
                "partial_json": (delta["toolUse"] or {}).get("input", ""),
            }
        elif "reasoningContent" in delta:
            reasoning = delta["reasoningContent"] or {}
            kind, block = "thinking", {"type": "thinking", "thinking": ""}
            if "signature" in reasoning:
                body = {"type": "signature_delta", "signature": reasoning["signature"]}
            else:
                body = {"type": "thinking_delta", "thinking": reasoning.get("text", "")}
        else:
            return []
        if index not in self._open:
            self._open[index] = kind
            out.append(_event("content_block_start", {"index": index, "content_block": block}))
        out.append(_event("content_block_delta", {"index": index, "delta": body}))
        return out

    def _close_blocks(self) -> list[SSEEvent]:
        out = [_event("content_block_stop", {"index": i}) for i in sorted(self._open)]
        self._open.clear()
        return out

    def _finish(self, usage: Json) -> list[SSEEvent]:
        self.done = True
        delta = {"stop_reason": self._stop, "stop_sequence": None}
        return [
            _event("message_delta", {"delta": delta, "usage": usage}),
            _event("message_stop", {}),
        ]
