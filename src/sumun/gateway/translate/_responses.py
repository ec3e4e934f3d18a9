"""Complete (non-streaming) answers: Anthropic `message` <-> OpenAI `chat.completion`.

Token counts: Anthropic's `input_tokens` excludes prompt-cache reads and writes, OpenAI's
`prompt_tokens` includes cached tokens. So the OpenAI prompt count is the sum of Anthropic's
three input counts, and cached tokens travel as `prompt_tokens_details.cached_tokens` <->
`cache_read_input_tokens`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sumun.gateway.translate._common import (
    ANTHROPIC_TO_OPENAI_FINISH,
    OPENAI_TO_ANTHROPIC_STOP,
    TranslationError,
    openai_tool_call,
    tool_input,
)

__all__ = [
    "anthropic_prompt_tokens",
    "anthropic_to_openai_response",
    "anthropic_usage",
    "openai_to_anthropic_response",
    "openai_usage",
]

Json = dict[str, Any]


def anthropic_prompt_tokens(usage: Mapping[str, Any]) -> int:
    """All prompt tokens of an Anthropic `usage` object, cached ones included."""
    return sum(
        int(usage.get(name) or 0)
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def openai_usage(usage: Mapping[str, Any]) -> Json:
    """An Anthropic `usage` object as OpenAI's `usage`."""
    prompt = anthropic_prompt_tokens(usage)
    completion = int(usage.get("output_tokens") or 0)
    out: Json = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if usage.get("cache_read_input_tokens"):
        out["prompt_tokens_details"] = {"cached_tokens": usage["cache_read_input_tokens"]}
    return out


def anthropic_usage(usage: Mapping[str, Any] | None) -> Json:
    """An OpenAI `usage` object as Anthropic's `usage`."""
    usage = usage or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    out: Json = {
        "input_tokens": prompt - cached,
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }
    if cached:
        out["cache_read_input_tokens"] = cached
    return out


def anthropic_to_openai_response(message: Mapping[str, Any], *, created: int) -> Json:
    """An Anthropic `message` as an OpenAI `chat.completion`. `created` is a Unix time."""
    texts: list[str] = []
    calls: list[Json] = []
    for block in message.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append(openai_tool_call(block))
        # thinking and server-tool blocks have no chat-completions counterpart
    reply: Json = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        reply["tool_calls"] = calls
    stop = message.get("stop_reason")
    return {
        "id": message.get("id"),
        "object": "chat.completion",
        "created": created,
        "model": message.get("model"),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": ANTHROPIC_TO_OPENAI_FINISH.get(stop or "end_turn", "stop"),
                "logprobs": None,
            }
        ],
        "usage": openai_usage(message.get("usage") or {}),
    }


def openai_to_anthropic_response(completion: Mapping[str, Any]) -> Json:
    """An OpenAI `chat.completion` as an Anthropic `message` (first choice only)."""
    choices = completion.get("choices") or ()
    if not choices:
        raise TranslationError("the upstream answer has no choices")
    choice = choices[0]
    reply = choice.get("message") or {}
    blocks: list[Json] = []
    text = reply.get("content") or reply.get("refusal")
    if isinstance(text, list):  # a few servers answer with content parts
        text = "".join(part.get("text", "") for part in text if isinstance(part, Mapping))
    if text:
        blocks.append({"type": "text", "text": text})
    for i, call in enumerate(reply.get("tool_calls") or ()):
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": tool_input(function.get("arguments"), where=f"tool_calls[{i}]"),
            }
        )
    finish = choice.get("finish_reason")
    return {
        "id": completion.get("id"),
        "type": "message",
        "role": "assistant",
        "model": completion.get("model"),
        "content": blocks,
        "stop_reason": OPENAI_TO_ANTHROPIC_STOP.get(finish or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": anthropic_usage(completion.get("usage")),
    }
