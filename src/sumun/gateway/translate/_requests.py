"""Request bodies: OpenAI chat completions <-> Anthropic messages.

Fields with a counterpart are mapped; fields whose loss would change what the client gets back
(`n > 1`, `response_format`, audio, server tools, …) raise `TranslationError`; the remaining
tuning knobs without a counterpart (penalties, seed, logprobs, `top_k`, …) are dropped, because
the receiving API rejects fields it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sumun.gateway.translate._common import (
    TranslationError,
    data_url,
    openai_tool_call,
    parse_data_url,
    tool_input,
)

__all__ = ["DEFAULT_MAX_TOKENS", "anthropic_to_openai_request", "openai_to_anthropic_request"]

# Anthropic requires `max_tokens`; OpenAI clients usually leave it out. 4096 is what Anthropic's
# own examples use and fits every current Claude model's output limit.
DEFAULT_MAX_TOKENS = 4096

Json = dict[str, Any]


# --- OpenAI -> Anthropic --------------------------------------------------------------------


def openai_to_anthropic_request(body: Mapping[str, Any]) -> Json:
    """An OpenAI `chat.completions` request body as an Anthropic `messages` request body."""
    _refuse_untranslatable(body)
    system, messages = _anthropic_messages(body.get("messages") or ())
    out: Json = {"model": body.get("model"), "messages": messages}
    if system:
        out["system"] = "\n\n".join(system)
    out["max_tokens"] = (
        body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    )
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif stop:
        out["stop_sequences"] = list(stop)
    if body.get("temperature") is not None:
        # OpenAI allows 0..2, Anthropic 0..1: above 1 means "as random as you go".
        out["temperature"] = min(float(body["temperature"]), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    if body.get("stream"):
        out["stream"] = True
    if body.get("user"):
        out["metadata"] = {"user_id": body["user"]}
    tools = body.get("tools")
    if tools:
        out["tools"] = [_anthropic_tool(tool, i) for i, tool in enumerate(tools)]
    choice = _anthropic_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and tools:  # both APIs refuse a tool choice without tools
        out["tool_choice"] = choice
    return out


def _refuse_untranslatable(body: Mapping[str, Any]) -> None:
    if (body.get("n") or 1) > 1:
        raise TranslationError("n > 1 (several choices) is not supported by Anthropic models")
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") not in (None, "text"):
        raise TranslationError("response_format is not supported when translating to Anthropic")
    if body.get("audio") is not None or "audio" in (body.get("modalities") or ()):
        raise TranslationError("audio output is not supported by Anthropic models")


def _anthropic_messages(source: Any) -> tuple[list[str], list[Json]]:
    """(system texts, messages): system and developer turns move to Anthropic's `system`."""
    system: list[str] = []
    messages: list[Json] = []
    for index, message in enumerate(source):
        role = message.get("role")
        where = f"messages[{index}]"
        if role in ("system", "developer"):
            system.append(_plain_text(message.get("content"), where))
        elif role == "user":
            _append(messages, "user", _user_content(message.get("content"), where))
        elif role == "assistant":
            _append(messages, "assistant", _assistant_content(message, where))
        elif role == "tool":
            _append(messages, "user", [_tool_result(message, where)])
        else:
            raise TranslationError(f"{where}: role {role!r} has no Anthropic equivalent")
    return system, messages


def _append(messages: list[Json], role: str, content: str | list[Json]) -> None:
    """Add a turn, merging into the previous one when the role repeats (tool results + text)."""
    if messages and messages[-1]["role"] == role:
        previous = messages[-1]["content"]
        merged = _as_blocks(previous) + _as_blocks(content)
        messages[-1] = {"role": role, "content": merged}
    else:
        messages.append({"role": role, "content": content})


def _as_blocks(content: str | list[Json]) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content)


def _plain_text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.get("type") != "text":
            raise TranslationError(f"{where}: only text parts are allowed here")
        texts.append(part.get("text", ""))
    return "\n".join(texts)


def _user_content(content: Any, where: str) -> str | list[Json]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return [_user_block(part, f"{where}.content[{i}]") for i, part in enumerate(content)]


def _user_block(part: Mapping[str, Any], where: str) -> Json:
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url") or {}
        url = image.get("url", "") if isinstance(image, Mapping) else str(image)
        inline = parse_data_url(url)
        if inline is not None:
            media_type, data = inline
            return {
                "type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data},
            }
        return {"type": "image", "source": {"type": "url", "url": url}}
    if kind == "file":
        file = part.get("file") or {}
        inline = parse_data_url(file.get("file_data") or "")
        if inline is None:
            raise TranslationError(f"{where}: only inline (file_data) files can be translated")
        media_type, data = inline
        block: Json = {
            "type": "document",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
        if file.get("filename"):
            block["title"] = file["filename"]
        return block
    raise TranslationError(f"{where}: content part {kind!r} has no Anthropic equivalent")


def _assistant_content(message: Mapping[str, Any], where: str) -> str | list[Json]:
    content = message.get("content")
    tool_calls = message.get("tool_calls") or ()
    if isinstance(content, str) and not tool_calls:
        return content
    blocks: list[Json] = []
    if isinstance(content, str):
        blocks.extend(_as_blocks(content))
    elif content:
        for part in content:
            text = part.get("text") if part.get("type") == "text" else part.get("refusal")
            if text:
                blocks.append({"type": "text", "text": text})
    for i, call in enumerate(tool_calls):
        if call.get("type", "function") != "function":
            raise TranslationError(f"{where}.tool_calls[{i}]: only function tool calls translate")
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": tool_input(function.get("arguments"), where=f"{where}.tool_calls[{i}]"),
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any], where: str) -> Json:
    content = message.get("content")
    result: Json = {"type": "tool_result", "tool_use_id": message.get("tool_call_id")}
    if isinstance(content, str):
        result["content"] = content
    elif content:
        result["content"] = [
            {"type": "text", "text": _plain_text([part], where)} for part in content
        ]
    return result


def _anthropic_tool(tool: Mapping[str, Any], index: int) -> Json:
    if tool.get("type") != "function":
        raise TranslationError(f"tools[{index}]: only function tools can be translated")
    function = tool.get("function") or {}
    out: Json = {
        "name": function.get("name"),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _anthropic_tool_choice(choice: Any, parallel: Any) -> Json | None:
    out: Json
    if choice is None:
        if parallel is not False:
            return None
        out = {"type": "auto"}
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}  # parallelism is moot when no tool may be called
    elif isinstance(choice, Mapping) and choice.get("type") == "function":
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    else:
        raise TranslationError(f"tool_choice {choice!r} has no Anthropic equivalent")
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


# --- Anthropic -> OpenAI --------------------------------------------------------------------


def anthropic_to_openai_request(body: Mapping[str, Any]) -> Json:
    """An Anthropic `messages` request body as an OpenAI `chat.completions` request body.

    When streaming, `stream_options.include_usage` is set: Anthropic clients expect token counts
    in `message_delta`, and OpenAI reports them only in that extra final chunk.
    """
    out: Json = {"model": body.get("model"), "messages": _openai_messages(body)}
    if body.get("max_tokens") is not None:
        out["max_tokens"] = body["max_tokens"]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    metadata = body.get("metadata") or {}
    if metadata.get("user_id"):
        out["user"] = metadata["user_id"]
    tools = body.get("tools")
    if tools:
        out["tools"] = [_openai_tool(tool, i) for i, tool in enumerate(tools)]
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping) and tools:  # both APIs refuse a tool choice without tools
        out.update(_openai_tool_choice(choice))
    return out


def _openai_messages(body: Mapping[str, Any]) -> list[Json]:
    messages: list[Json] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _anthropic_text(system, "system")})
    for index, message in enumerate(body.get("messages") or ()):
        role = message.get("role")
        where = f"messages[{index}]"
        if role == "user":
            messages.extend(_openai_user(message.get("content"), where))
        elif role == "assistant":
            messages.append(_openai_assistant(message.get("content"), where))
        else:
            raise TranslationError(f"{where}: role {role!r} has no OpenAI equivalent")
    return messages


def _anthropic_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for block in content:
        if block.get("type") != "text":
            raise TranslationError(f"{where}: only text blocks are allowed here")
        texts.append(block.get("text", ""))
    return "\n".join(texts)


def _openai_user(content: Any, where: str) -> list[Json]:
    """One Anthropic user turn: its tool results become `tool` messages, the rest one message."""
    if content is None or isinstance(content, str):
        return [{"role": "user", "content": content or ""}]
    out: list[Json] = []
    parts: list[Json] = []
    for i, block in enumerate(content):
        here = f"{where}.content[{i}]"
        if block.get("type") == "tool_result":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id"),
                    "content": _tool_result_text(block.get("content"), here),
                }
            )
        else:
            parts.append(_openai_part(block, here))
    if parts:
        if len(parts) == 1 and parts[0]["type"] == "text":
            out.append({"role": "user", "content": parts[0]["text"]})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _tool_result_text(content: Any, where: str) -> str:
    # OpenAI tool messages carry text only; `is_error` has no counterpart and is dropped.
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return _anthropic_text(content, where)


def _openai_part(block: Mapping[str, Any], where: str) -> Json:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    source = block.get("source") or {}
    if kind == "image":
        if source.get("type") == "base64":
            url = data_url(source.get("media_type", ""), source.get("data", ""))
        elif source.get("type") == "url":
            url = source.get("url", "")
        else:
            raise TranslationError(f"{where}: image source {source.get('type')!r} not supported")
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "document":
        if source.get("type") == "text":
            return {"type": "text", "text": source.get("data", "")}
        if source.get("type") == "base64":
            media_type = source.get("media_type", "application/pdf")
            return {
                "type": "file",
                "file": {
                    "file_data": data_url(media_type, source.get("data", "")),
                    "filename": block.get("title") or "document.pdf",
                },
            }
        raise TranslationError(f"{where}: document source {source.get('type')!r} not supported")
    raise TranslationError(f"{where}: content block {kind!r} has no OpenAI equivalent")


def _openai_assistant(content: Any, where: str) -> Json:
    if content is None or isinstance(content, str):
        return {"role": "assistant", "content": content or ""}
    texts: list[str] = []
    calls: list[Json] = []
    for i, block in enumerate(content):
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append(openai_tool_call(block))
        elif kind in ("thinking", "redacted_thinking"):
            continue  # signed reasoning only the Anthropic API can verify; nothing to map to
        else:
            raise TranslationError(f"{where}.content[{i}]: block {kind!r} has no OpenAI equivalent")
    out: Json = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        out["tool_calls"] = calls
    return out


def _openai_tool(tool: Mapping[str, Any], index: int) -> Json:
    if tool.get("type") not in (None, "custom"):
        raise TranslationError(
            f"tools[{index}]: server tool {tool.get('type')!r} exists only on Anthropic"
        )
    function: Json = {
        "name": tool.get("name"),
        "parameters": tool.get("input_schema") or {"type": "object", "properties": {}},
    }
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _openai_tool_choice(choice: Mapping[str, Any]) -> Json:
    kind = choice.get("type")
    out: Json = {}
    if kind == "auto":
        out["tool_choice"] = "auto"
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    else:
        raise TranslationError(f"tool_choice type {kind!r} has no OpenAI equivalent")
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False
    return out
