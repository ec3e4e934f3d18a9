"""What the translators share: the error, stream faults, stop-reason maps and small helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from sumun.errors import SumunError

__all__ = [
    "ANTHROPIC_TO_OPENAI_FINISH",
    "OPENAI_TO_ANTHROPIC_STOP",
    "StreamFault",
    "TranslationError",
    "data_url",
    "parse_data_url",
    "tool_arguments",
    "tool_input",
]


class TranslationError(SumunError):
    """A request or answer uses something the other wire format cannot express.

    Raised for requests the client must change (a tool type, `n > 1`, audio input …) and for
    upstream answers that cannot be represented (tool arguments that are not a JSON object).
    """


@dataclass(frozen=True, slots=True)
class StreamFault:
    """An error the upstream reported inside an event stream (after its 200 response)."""

    type: str  # the upstream's error type, e.g. "overloaded_error", "rate_limit_error"
    message: str


# Anthropic `stop_reason` -> OpenAI `finish_reason`. `pause_turn` (a server tool paused the turn)
# has no OpenAI counterpart; the turn did end, so "stop" is the least surprising reading.
ANTHROPIC_TO_OPENAI_FINISH: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# OpenAI `finish_reason` -> Anthropic `stop_reason`. OpenAI does not say whether a stop sequence
# matched, so "stop" is always `end_turn`.
OPENAI_TO_ANTHROPIC_STOP: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

# RFC 2397: data:[<mediatype>][;base64],<data>
_DATA_URL = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)$", re.DOTALL)


def parse_data_url(url: str) -> tuple[str, str] | None:
    """(media type, base64 data) of a base64 `data:` URL; None when `url` is not a data URL."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    params = match.group("params").split(";")
    if "base64" not in params:
        raise TranslationError("only base64 `data:` URLs can be translated")
    return match.group("type") or "application/octet-stream", match.group("data")


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def tool_input(arguments: Any, *, where: str) -> dict[str, Any]:
    """OpenAI tool-call `arguments` (a JSON string) as the object Anthropic's `input` must be."""
    if isinstance(arguments, dict):
        return arguments  # some OpenAI-compatible servers send an object already
    if arguments is None or arguments == "":
        return {}
    try:
        parsed = orjson.loads(arguments)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise TranslationError(f"{where}: tool call arguments are not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise TranslationError(f"{where}: tool call arguments must be a JSON object")
    return parsed


def tool_arguments(value: Any) -> str:
    """Anthropic tool `input` as OpenAI's JSON-string `arguments`."""
    return orjson.dumps(value if value is not None else {}).decode("utf-8")


def openai_tool_call(block: Mapping[str, Any]) -> dict[str, Any]:
    """An Anthropic `tool_use` block as an OpenAI `tool_calls` entry (arguments as JSON text)."""
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {"name": block.get("name"), "arguments": tool_arguments(block.get("input"))},
    }
