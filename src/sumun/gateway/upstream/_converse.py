"""Amazon Bedrock's Converse API <-> Anthropic Messages: requests and answers (streams: see
`_converse_stream`).

Pure, no I/O. Converse is built on the same content-block model as Anthropic Messages (text,
image, document, toolUse/toolResult, reasoning blocks; the same stop reasons), so the Bedrock
adapter pivots on Anthropic Messages: an Anthropic client's body maps one to one, and an OpenAI
client's chat completion goes through `sumun.gateway.translate` (OpenAI -> Anthropic) first — one
translator per format pair, never a second OpenAI one. On the way back the Converse answer
becomes an Anthropic message (and, for OpenAI clients, a chat completion via the same package).

What does not map raises `TranslationError` (the client gets a 400): image or document URLs
(Converse takes bytes or S3 locations only), server tools, unknown block types. Knobs Converse
has no field for go to `additionalModelRequestFields` where Bedrock documents them (`top_k`,
`thinking`), or are dropped (`metadata`, `service_tier`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sumun.gateway.translate import TranslationError
from sumun.gateway.upstream.base import Usage

__all__ = [
    "anthropic_to_converse",
    "converse_to_anthropic",
    "converse_usage",
    "read_usage",
    "stop_reason",
]

Json = dict[str, Any]

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DOCUMENT_FORMATS = {"application/pdf": "pdf", "text/plain": "txt", "text/csv": "csv"}
# Converse stop reasons -> Anthropic's. Guardrail and content-filter stops read as a refusal
# (which OpenAI clients see as finish_reason "content_filter").
_STOP_REASONS = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "guardrail_intervened": "refusal",
    "content_filtered": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
}
_CACHE_POINT: Json = {"cachePoint": {"type": "default"}}


# --- requests: Anthropic -> Converse ---------------------------------------------------------


def anthropic_to_converse(body: Mapping[str, Any]) -> Json:
    """An Anthropic `messages` request body as a Converse request body (the model goes in the
    URL, not the body)."""
    out: Json = {"messages": _messages(body.get("messages") or ())}
    system = _system(body.get("system"))
    if system:
        out["system"] = system
    inference: Json = {}
    if body.get("max_tokens") is not None:
        inference["maxTokens"] = int(body["max_tokens"])
    if body.get("temperature") is not None:
        inference["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        inference["topP"] = body["top_p"]
    if body.get("stop_sequences"):
        inference["stopSequences"] = list(body["stop_sequences"])
    if inference:
        out["inferenceConfig"] = inference
    extra = _additional_fields(body)
    if extra:
        out["additionalModelRequestFields"] = extra
    tools = _tool_config(body, out["messages"])
    if tools is not None:
        out["toolConfig"] = tools
    return out


def _additional_fields(body: Mapping[str, Any]) -> Json:
    """What Bedrock documents as model-specific fields for Claude (`top_k`, `thinking`)."""
    extra: Json = {}
    if body.get("top_k") is not None:
        extra["top_k"] = body["top_k"]
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") != "disabled":
        extra["thinking"] = dict(thinking)
    return extra


def _messages(source: Any) -> list[Json]:
    messages: list[Json] = []
    for index, item in enumerate(source):
        message = _message(item, index)
        if messages and messages[-1]["role"] == message["role"]:
            messages[-1]["content"].extend(message["content"])  # Converse needs alternation
        else:
            messages.append(message)
    return messages


def _system(system: Any) -> list[Json]:
    if isinstance(system, str):
        return [{"text": system}] if system else []
    blocks: list[Json] = []
    for block in system or ():
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise TranslationError("system prompt blocks must be text for Amazon Bedrock")
        blocks.append({"text": str(block.get("text", ""))})
        if block.get("cache_control"):
            blocks.append(_CACHE_POINT)
    return blocks


def _message(message: Any, index: int) -> Json:
    where = f"messages[{index}]"
    if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
        raise TranslationError(f"{where}: the role must be user or assistant")
    content = message.get("content")
    blocks: list[Json] = []
    if isinstance(content, str):
        blocks.append({"text": content})
    else:
        for block in content or ():
            if not isinstance(block, Mapping):
                raise TranslationError(f"{where}: a content block is not an object")
            blocks.append(_block(block, where))
            if block.get("cache_control"):
                blocks.append(_CACHE_POINT)
    # Converse refuses empty text blocks; beside other content they carry nothing anyway.
    kept = [b for b in blocks if b.get("text", True) != ""]
    return {"role": message["role"], "content": kept or blocks}


def _block(block: Mapping[str, Any], where: str) -> Json:
    kind = block.get("type")
    if kind == "text":
        return {"text": str(block.get("text", ""))}
    if kind == "image":
        return {"image": _media(block, where, _IMAGE_FORMATS, "image")}
    if kind == "document":
        document = _media(block, where, _DOCUMENT_FORMATS, "document")
        # Converse requires a name (letters, digits, spaces, hyphens, brackets).
        document["name"] = str(block.get("title") or "document")
        return {"document": document}
    if kind == "tool_use":
        tool = {"toolUseId": block.get("id"), "name": block.get("name")}
        return {"toolUse": {**tool, "input": block.get("input") or {}}}
    if kind == "tool_result":
        return {"toolResult": _tool_result(block, where)}
    if kind in ("thinking", "redacted_thinking"):
        return {"reasoningContent": _reasoning(block)}
    raise TranslationError(f"{where}: content of type {kind!r} is not supported by Amazon Bedrock")


def _reasoning(block: Mapping[str, Any]) -> Json:
    if block.get("type") == "redacted_thinking":
        return {"redactedContent": block.get("data", "")}
    return {
        "reasoningText": {"text": block.get("thinking", ""), "signature": block.get("signature")}
    }


def _media(block: Mapping[str, Any], where: str, formats: Mapping[str, str], what: str) -> Json:
    source = block.get("source") or {}
    if source.get("type") == "text" and what == "document":
        raw = str(source.get("data", "")).encode("utf-8")
        return {"format": "txt", "source": {"bytes": base64.b64encode(raw).decode()}}
    if source.get("type") != "base64":
        raise TranslationError(
            f"{where}: Amazon Bedrock takes {what}s as inline base64 data, not {source.get('type')}"
        )
    media_type = str(source.get("media_type", ""))
    if media_type not in formats:
        raise TranslationError(f"{where}: {what} type {media_type!r} is not supported by Bedrock")
    # JSON carries Converse's `bytes` blobs as base64 text: the data goes through as it came.
    return {"format": formats[media_type], "source": {"bytes": source.get("data", "")}}


def _tool_result(block: Mapping[str, Any], where: str) -> Json:
    content = block.get("content")
    parts: list[Json] = []
    if isinstance(content, str):
        parts.append({"text": content})
    else:
        for part in content or ():
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind == "text":
                parts.append({"text": str(part.get("text", ""))})
            elif kind == "image":
                parts.append({"image": _media(part, where, _IMAGE_FORMATS, "image")})
            else:
                raise TranslationError(f"{where}: tool result content {kind!r} is not supported")
    result: Json = {"toolUseId": block.get("tool_use_id"), "content": parts or [{"text": ""}]}
    if block.get("is_error"):
        result["status"] = "error"
    return result


def _tool_config(body: Mapping[str, Any], messages: list[Json]) -> Json | None:
    tools = body.get("tools") or ()
    specs: list[Json] = []
    for tool in tools:
        if not isinstance(tool, Mapping) or tool.get("type") not in (None, "custom"):
            kind = tool.get("type") if isinstance(tool, Mapping) else None
            raise TranslationError(f"tool type {kind!r} is not supported by Amazon Bedrock")
        spec: Json = {
            "name": tool.get("name"),
            "inputSchema": {"json": tool.get("input_schema") or {"type": "object"}},
        }
        if tool.get("description"):
            spec["description"] = tool["description"]
        specs.append({"toolSpec": spec})
    if not specs:
        return None
    choice = body.get("tool_choice") or {}
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    config: Json = {"tools": specs}
    if kind == "any":
        config["toolChoice"] = {"any": {}}
    elif kind == "tool":
        config["toolChoice"] = {"tool": {"name": choice.get("name")}}
    elif kind == "none":
        # Converse has no "none": without tool blocks in the history the tools are left out;
        # with them Bedrock requires the tool list, and the model may still call one.
        used = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
        return config if used else None
    elif kind == "auto":
        config["toolChoice"] = {"auto": {}}
    return config


# --- answers: Converse -> Anthropic ------------------------------------------------------------


def converse_usage(reported: Any) -> Json:
    """A Converse `usage` object as Anthropic's."""
    usage = reported if isinstance(reported, Mapping) else {}
    out: Json = {
        "input_tokens": int(usage.get("inputTokens") or 0),
        "output_tokens": int(usage.get("outputTokens") or 0),
    }
    if usage.get("cacheReadInputTokens"):
        out["cache_read_input_tokens"] = int(usage["cacheReadInputTokens"])
    if usage.get("cacheWriteInputTokens"):
        out["cache_creation_input_tokens"] = int(usage["cacheWriteInputTokens"])
    return out


def read_usage(reported: Any, into: Usage) -> None:
    """Token counts of a Converse `usage` object (cached prompt tokens counted as prompt)."""
    usage = converse_usage(reported)
    into.tokens_in = (
        usage["input_tokens"]
        + usage.get("cache_read_input_tokens", 0)
        + usage.get("cache_creation_input_tokens", 0)
    )
    into.tokens_out = usage["output_tokens"]


def stop_reason(converse: Any) -> str:
    return _STOP_REASONS.get(str(converse), "end_turn")


def converse_to_anthropic(answer: Mapping[str, Any], *, model: str, message_id: str) -> Json:
    """A Converse answer as an Anthropic `message`."""
    message = (answer.get("output") or {}).get("message") or {}
    content: list[Json] = []
    for block in message.get("content") or ():
        if not isinstance(block, Mapping):
            continue
        if "text" in block:
            content.append({"type": "text", "text": str(block["text"])})
        elif "toolUse" in block:
            use = block["toolUse"] or {}
            tool = {"id": use.get("toolUseId"), "name": use.get("name")}
            content.append({"type": "tool_use", **tool, "input": use.get("input") or {}})
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"] or {}
            if "redactedContent" in reasoning:
                content.append({"type": "redacted_thinking", "data": reasoning["redactedContent"]})
            else:
                text = reasoning.get("reasoningText") or {}
                thinking = {"thinking": text.get("text", ""), "signature": text.get("signature")}
                content.append({"type": "thinking", **thinking})
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(answer.get("stopReason")),
        "stop_sequence": None,
        "usage": converse_usage(answer.get("usage")),
    }
