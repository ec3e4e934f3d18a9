"""AI Basic Act art. 31(2) notices: where they go in whole answers and in streams.

Streams are fed in awkward pieces (one byte at a time, and whole) and parsed back with the
gateway's SSE parser, so the placement is checked on events, not on byte strings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sumun.gateway.labels import label_body, notice_stream
from sumun.gateway.upstream.base import Endpoint
from sumun.gateway.upstream.sse import SSEParser, frame

NOTICE = "[AI 생성 답변]"
SUFFIX = "\n\n" + NOTICE


def _sse(events: list[tuple[str | None, Any]]) -> bytes:
    return b"".join(
        frame(d.encode() if isinstance(d, str) else json.dumps(d).encode(), name)
        for name, d in events
    )


async def _pieces(raw: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(raw), size):
        yield raw[i : i + size]


def _run(raw: bytes, endpoint: Endpoint, size: int) -> list[tuple[str | None, Any]]:
    async def collect() -> bytes:
        return b"".join([c async for c in notice_stream(_pieces(raw, size), endpoint, NOTICE)])

    out = asyncio.run(collect())
    events = SSEParser().feed(out)
    return [(e.event, e.data if e.data == "[DONE]" else json.loads(e.data)) for e in events]


SIZES = pytest.mark.parametrize("size", [1, 7, 1 << 20])


def _chat(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 5,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def _chat_text_until_finish(events: list[tuple[str | None, Any]], index: int = 0) -> str:
    """What a consumer that stops at the choice's finish_reason has read."""
    text = ""
    for _name, data in events:
        for choice in data["choices"] if isinstance(data, dict) else ():
            if choice["index"] != index:
                continue
            text += choice["delta"].get("content") or ""
            if choice["finish_reason"] is not None:
                return text
    raise AssertionError("no finish_reason")


@SIZES
def test_chat_notice_arrives_before_the_finish_reason_and_the_usage_chunk(size: int) -> None:
    usage = {"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": {"x": 1}}
    raw = _sse(
        [
            (None, _chat(0, {"role": "assistant", "content": ""})),
            (None, _chat(0, {"content": "안녕"})),
            (None, _chat(0, {}, "stop")),
            (None, usage),
            (None, "[DONE]"),
        ]
    )
    events = _run(raw, "chat", size)
    assert _chat_text_until_finish(events) == "안녕" + SUFFIX
    inserted = events[2][1]
    assert inserted["id"] == "c1" and inserted["model"] == "m" and inserted["created"] == 5
    assert events[-2][1] == usage and events[-1][1] == "[DONE]"
    assert sum(json.dumps(d, ensure_ascii=False).count(NOTICE) for _n, d in events) == 1


def test_chat_notice_joins_a_finishing_chunk_that_carries_text() -> None:
    raw = _sse([(None, _chat(0, {"content": "끝"}, "stop")), (None, "[DONE]")])
    events = _run(raw, "chat", 3)
    assert len(events) == 2
    assert events[0][1]["choices"][0]["delta"]["content"] == "끝" + SUFFIX


def test_chat_every_choice_gets_its_notice_and_tool_calls_get_none() -> None:
    call = {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}
    raw = _sse(
        [
            (None, _chat(0, {"content": "a"})),
            (None, _chat(1, {"content": "b"})),
            (None, _chat(2, {"role": "assistant", "content": "", **call})),
            (None, _chat(0, {}, "stop")),
            (None, _chat(1, {}, "length")),
            (None, _chat(2, {}, "tool_calls")),
            (None, "[DONE]"),
        ]
    )
    events = _run(raw, "chat", 5)
    assert _chat_text_until_finish(events, 0) == "a" + SUFFIX
    assert _chat_text_until_finish(events, 1) == "b" + SUFFIX
    assert _chat_text_until_finish(events, 2) == ""


def test_chat_without_a_finish_reason_is_labelled_before_done() -> None:
    raw = _sse([(None, _chat(0, {"content": "x"})), (None, "[DONE]")])
    events = _run(raw, "chat", 4)
    assert events[1][1]["choices"][0]["delta"]["content"] == SUFFIX
    assert events[-1][1] == "[DONE]"


TOOL = {"type": "tool_use", "id": "t", "name": "f", "input": {}}


def _anthropic(tool_first: bool) -> bytes:
    blocks: list[tuple[str | None, Any]] = []
    index = 0
    if tool_first:
        blocks += [
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": TOOL}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ]  # fmt: skip
        index = 1
    blocks += [
        ("content_block_start", {"type": "content_block_start", "index": index,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": index,
                                 "delta": {"type": "text_delta", "text": "안녕"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]  # fmt: skip
    return _sse(
        [
            ("message_start", {"type": "message_start", "message": {"id": "m", "content": []}}),
            *blocks,
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
            ("message_stop", {"type": "message_stop"}),
        ]
    )


@SIZES
@pytest.mark.parametrize("tool_first", [False, True])
def test_anthropic_notice_is_its_own_block_before_the_stop_reason(
    size: int, tool_first: bool
) -> None:
    events = _run(_anthropic(tool_first), "messages", size)
    names = [n for n, _d in events]
    at = names.index("message_delta")
    start, delta, stop = (d for _n, d in events[at - 3 : at])
    last = 2 if tool_first else 1
    assert start == {
        "type": "content_block_start",
        "index": last,
        "content_block": {"type": "text", "text": ""},
    }
    assert delta["index"] == last and delta["delta"] == {"type": "text_delta", "text": SUFFIX}
    assert stop == {"type": "content_block_stop", "index": last}
    # Every block opened is closed before the next one opens (the protocol's order).
    open_blocks: list[int] = []
    for name, data in events:
        if name == "content_block_start":
            assert not open_blocks
            open_blocks.append(data["index"])
        elif name == "content_block_stop":
            assert open_blocks == [data["index"]]
            open_blocks.clear()


def test_anthropic_tool_use_only_gets_no_notice() -> None:
    raw = _sse(
        [
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": TOOL}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}}),
        ]
    )  # fmt: skip
    assert NOTICE not in json.dumps(_run(raw, "messages", 9), ensure_ascii=False)


def _responses(seq: bool) -> bytes:
    part = {"type": "output_text", "text": "안녕", "annotations": []}
    item = {"id": "msg", "type": "message", "role": "assistant", "content": [part]}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": "r", "output": []}},
        {"type": "response.output_text.delta", "item_id": "msg", "output_index": 0,
         "content_index": 0, "delta": "안녕"},
        {"type": "response.output_text.done", "item_id": "msg", "output_index": 0,
         "content_index": 0, "text": "안녕"},
        {"type": "response.content_part.done", "item_id": "msg", "output_index": 0,
         "content_index": 0, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": {"id": "r", "output": [item]}},
    ]  # fmt: skip
    if seq:
        for n, e in enumerate(events):
            e["sequence_number"] = n
    return _sse([(e["type"], e) for e in events])


@SIZES
@pytest.mark.parametrize("seq", [False, True])
def test_responses_notice_before_the_text_is_done_and_in_every_repeat(size: int, seq: bool) -> None:
    events = _run(_responses(seq), "responses", size)
    kinds = [d["type"] for _n, d in events]
    assert kinds[1:4] == [
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
    ]
    streamed = "".join(d["delta"] for _n, d in events if d["type"].endswith("text.delta"))
    assert streamed == "안녕" + SUFFIX
    by_kind = {d["type"]: d for _n, d in events}
    assert by_kind["response.output_text.done"]["text"] == "안녕" + SUFFIX
    assert by_kind["response.content_part.done"]["part"]["text"] == "안녕" + SUFFIX
    assert by_kind["response.output_item.done"]["item"]["content"][0]["text"] == "안녕" + SUFFIX
    final = by_kind["response.completed"]["response"]["output"][0]["content"][0]["text"]
    assert final == "안녕" + SUFFIX
    numbers = [d.get("sequence_number") for _n, d in events]
    if seq:
        assert numbers == list(range(len(events)))
    else:
        assert numbers == [None] * len(events)


def test_whole_answers_in_each_format() -> None:
    chat = {"choices": [{"message": {"content": "a"}}, {"message": {"content": None}}]}
    label_body(chat, "chat", notice=NOTICE, meta={})
    assert chat["choices"][0]["message"]["content"] == "a" + SUFFIX
    assert chat["choices"][1]["message"]["content"] is None
    msg: dict[str, Any] = {"content": [{"type": "text", "text": "b"}]}
    label_body(msg, "messages", notice=NOTICE, meta={"x": 1})
    assert msg["content"][-1] == {"type": "text", "text": SUFFIX}
    assert msg["sumun"] == {"ai_generated": True, "x": 1}
    tools: dict[str, Any] = {"content": [{"type": "tool_use", "id": "t"}]}
    label_body(tools, "messages", notice=NOTICE, meta={})
    assert len(tools["content"]) == 1 and tools["sumun"]["ai_generated"] is True
    resp: dict[str, Any] = {
        "output": [
            {"type": "reasoning", "summary": []},
            {"type": "message", "content": [{"type": "output_text", "text": "c"}]},
        ]
    }
    label_body(resp, "responses", notice=NOTICE, meta={})
    assert resp["output"][1]["content"][0]["text"] == "c" + SUFFIX
    emb: dict[str, Any] = {"data": [{"embedding": [0.1]}]}
    label_body(emb, "embeddings", notice=NOTICE, meta={})
    assert NOTICE not in json.dumps(emb, ensure_ascii=False)
