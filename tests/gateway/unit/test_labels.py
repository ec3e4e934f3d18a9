"""The AI notice (gateway/labels.py), in process: it goes out before each stream's finishing
event, so a client that stops reading there has seen it; whole answers carry it too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from sumun.gateway.labels import label_body, notice_stream
from sumun.gateway.upstream.base import Endpoint
from sumun.gateway.upstream.sse import DONE, SSEEvent, SSEParser, json_event

NOTICE = "※ AI가 생성했습니다."
SUFFIX = "\n\n" + NOTICE


async def _source(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _label(stream: bytes, endpoint: Endpoint, every: int = 10_000) -> list[SSEEvent]:
    chunks = [stream[i : i + every] for i in range(0, len(stream), every)]

    async def collect() -> bytes:
        return b"".join([c async for c in notice_stream(_source(chunks), endpoint, NOTICE)])

    return SSEParser().feed(asyncio.run(collect()))


def _chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> bytes:
    choice = {"index": index, "delta": delta, "finish_reason": finish}
    return json_event({"id": "c1", "model": "m", "created": 1, "choices": [choice]})


def _chat_texts(events: list[SSEEvent]) -> list[tuple[str, str | None]]:
    """(content, finish_reason) of each chat chunk; ("[DONE]", None) for the end."""
    out = []
    for ev in events:
        if ev.data == "[DONE]":
            out.append(("[DONE]", None))
            continue
        choice = orjson.loads(ev.data)["choices"][0]
        out.append((choice["delta"].get("content") or "", choice["finish_reason"]))
    return out


# -- chat ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("every", [1, 13, 10_000])
def test_chat_a_separate_finish_chunk_gets_a_notice_chunk_just_before_it(every: int) -> None:
    stream = _chunk({"content": "안녕"}) + _chunk({}, "stop") + DONE
    texts = _chat_texts(_label(stream, "chat", every))
    assert texts == [("안녕", None), (SUFFIX, None), ("", "stop"), ("[DONE]", None)]


def test_chat_a_finish_chunk_with_text_carries_the_notice_itself() -> None:
    stream = _chunk({"content": "a"}) + _chunk({"content": "b"}, "stop") + DONE
    texts = _chat_texts(_label(stream, "chat"))
    assert texts == [("a", None), ("b" + SUFFIX, "stop"), ("[DONE]", None)]


def test_chat_without_a_finish_reason_is_labelled_before_done() -> None:
    texts = _chat_texts(_label(_chunk({"content": "a"}) + DONE, "chat"))
    assert texts == [("a", None), (SUFFIX, None), ("[DONE]", None)]


def test_chat_each_choice_is_labelled_once() -> None:
    stream = (
        _chunk({"content": "x"}, index=0)
        + _chunk({"content": "y"}, index=1)
        + _chunk({}, "stop", index=0)
        + _chunk({}, "stop", index=1)
        + DONE
    )
    events = _label(stream, "chat")
    notices = [
        choice["index"]
        for ev in events
        if ev.data != "[DONE]"
        for choice in orjson.loads(ev.data)["choices"]
        if NOTICE in (choice["delta"].get("content") or "")
    ]
    assert sorted(notices) == [0, 1]


def test_chat_tool_calls_only_carry_no_notice() -> None:
    call = {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}
    events = _label(_chunk(call) + _chunk({}, "tool_calls") + DONE, "chat")
    assert all(NOTICE not in ev.data for ev in events)


# -- messages ------------------------------------------------------------------------------------


def test_messages_a_notice_block_goes_before_message_delta() -> None:
    stream = b"".join(
        json_event({"type": kind, **extra}, kind)
        for kind, extra in [
            ("message_start", {"message": {"id": "m"}}),
            ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "hi"}}),
            ("content_block_stop", {"index": 0}),
            ("message_delta", {"delta": {"stop_reason": "end_turn"}}),
            ("message_stop", {}),
        ]
    )
    events = _label(stream, "messages", every=7)
    names = [ev.event for ev in events]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    notice = orjson.loads(events[5].data)
    assert notice["index"] == 1 and notice["delta"]["text"] == SUFFIX


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text}


# -- responses -------------------------------------------------------------------------------------


def test_responses_a_notice_delta_precedes_done_and_sequence_numbers_stay_increasing() -> None:
    where = {"item_id": "i", "output_index": 0, "content_index": 0}
    events = [
        ("response.output_text.delta", {**where, "delta": "hi"}),
        ("response.output_text.done", {**where, "text": "hi"}),
        ("response.completed", {"response": {"output": [{"content": [_part("hi")]}]}}),
    ]
    stream = b"".join(
        json_event({"type": kind, "sequence_number": n, **body}, kind)
        for n, (kind, body) in enumerate(events)
    )
    out = _label(stream, "responses")
    kinds = [ev.event for ev in out]
    assert kinds == [
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.completed",
    ]
    bodies = [orjson.loads(ev.data) for ev in out]
    assert bodies[1]["delta"] == SUFFIX
    assert bodies[2]["text"] == "hi" + SUFFIX
    assert bodies[3]["response"]["output"][0]["content"][0]["text"] == "hi" + SUFFIX
    assert [b["sequence_number"] for b in bodies] == [0, 1, 2, 3]


# -- whole answers and other endpoints -----------------------------------------------------------


def test_whole_answers_carry_the_mark_and_the_notice() -> None:
    chat = {"choices": [{"message": {"content": "a"}}]}
    labelled = label_body(chat, "chat", notice=NOTICE, meta={"ledger_seq": 7})
    assert labelled["choices"][0]["message"]["content"] == "a" + SUFFIX
    assert labelled["sumun"] == {"ai_generated": True, "ledger_seq": 7}
    messages: dict[str, Any] = {"content": [{"type": "text", "text": "a"}]}
    label_body(messages, "messages", notice=NOTICE, meta={})
    assert NOTICE in orjson.dumps(messages).decode()
    plain = label_body({"choices": [{"message": {"content": "a"}}]}, "chat", notice=None, meta={})
    assert plain["choices"][0]["message"]["content"] == "a"


def test_embeddings_streams_are_left_alone() -> None:
    raw = b'data: {"x": 1}\n\n'

    async def collect() -> bytes:
        return b"".join([c async for c in notice_stream(_source([raw]), "embeddings", NOTICE)])

    assert asyncio.run(collect()) == raw
