"""The answer on its way back (gateway/answer.py): output masking, pseudonym restoration and
streams cut anywhere — in process, with a tiny stand-in detector (phone numbers only)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from sumun.gateway.answer import AnswerFilter, rewrite_body, rewrite_stream
from sumun.gateway.upstream.base import Endpoint, Wire
from sumun.gateway.upstream.sse import DONE, SSEParser, json_event
from sumun.policy.pii import Finding
from sumun.policy.transform import OutputRules

PHONE = "010-1234-5678"
MASK = "[전화번호]"
_PHONE = re.compile(r"010-\d{4}-\d{4}")


def detect(text: str) -> list[Finding]:
    return [Finding("PHONE_KR", m.start(), m.end(), 0.9) for m in _PHONE.finditer(text)]


MASKING: OutputRules = {"PHONE_KR": ("mask", "output.phone", 0.5)}
BLOCKING: OutputRules = {"PHONE_KR": ("block", "output.phone.block", 0.5)}
NAMES = {"[이름_1]": '김 "철수"'}


def _scan(rules: OutputRules = MASKING) -> AnswerFilter:
    return AnswerFilter(detect, rules, {})


def _restore(pseudonyms: dict[str, str] = NAMES) -> AnswerFilter:
    return AnswerFilter(detect, {}, pseudonyms)


# -- whole bodies ------------------------------------------------------------------------------


def test_a_filter_with_no_rules_and_no_pseudonyms_is_inactive() -> None:
    assert not AnswerFilter(detect, {}, {}).active
    assert _scan().active and _restore().active


def test_chat_answer_text_is_masked_and_tool_arguments_are_not() -> None:
    args = orjson.dumps({"phone": PHONE}).decode()
    body: dict[str, Any] = {
        "choices": [
            {
                "message": {
                    "content": f"call {PHONE} now",
                    "tool_calls": [{"function": {"name": "f", "arguments": args}}],
                }
            }
        ]
    }
    flt = _scan()
    rewrite_body(body, "chat", flt)
    message = body["choices"][0]["message"]
    assert message["content"] == f"call {MASK} now"
    assert message["tool_calls"][0]["function"]["arguments"] == args  # never masked
    assert flt.hits() == ["PHONE_KR:mask"] and flt.blocked is None


def test_a_blocking_rule_names_itself() -> None:
    flt = _scan(BLOCKING)
    rewrite_body({"content": [{"type": "text", "text": PHONE}]}, "messages", flt)
    assert flt.blocked == "output.phone.block"


def test_pseudonyms_are_restored_in_text_and_json_escaped_in_tool_arguments() -> None:
    body: dict[str, Any] = {
        "choices": [
            {
                "message": {
                    "content": "안녕 [이름_1], and [이름_2] stays",
                    "tool_calls": [{"function": {"arguments": '{"who": "[이름_1]"}'}}],
                }
            }
        ]
    }
    flt = _restore()
    rewrite_body(body, "chat", flt)
    message = body["choices"][0]["message"]
    assert message["content"] == '안녕 김 "철수", and [이름_2] stays'  # unknown tokens stay
    arguments = message["tool_calls"][0]["function"]["arguments"]
    assert orjson.loads(arguments) == {"who": '김 "철수"'}  # still valid JSON
    assert flt.restored() == 1


def test_anthropic_tool_input_and_responses_output_are_restored() -> None:
    messages: dict[str, Any] = {
        "content": [
            {"type": "text", "text": "[이름_1]"},
            {"type": "tool_use", "input": {"to": ["[이름_1]"], "n": 1}},
        ]
    }
    rewrite_body(messages, "messages", _restore())
    assert messages["content"][0]["text"] == NAMES["[이름_1]"]
    assert messages["content"][1]["input"] == {"to": [NAMES["[이름_1]"]], "n": 1}
    responses: dict[str, Any] = {
        "output": [{"content": [{"type": "output_text", "text": "hi [이름_1]"}]}],
        "output_text": "hi [이름_1]",
    }
    rewrite_body(responses, "responses", _restore())
    assert responses["output"][0]["content"][0]["text"] == f"hi {NAMES['[이름_1]']}"
    assert responses["output_text"] == f"hi {NAMES['[이름_1]']}"


# -- streams -------------------------------------------------------------------------------------


async def _source(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _run(chunks: list[bytes], endpoint: Endpoint, wire: Wire, flt: AnswerFilter) -> bytes:
    async def collect() -> bytes:
        out = [c async for c in rewrite_stream(_source(chunks), endpoint, wire, flt)]
        return b"".join(out)

    return asyncio.run(collect())


def _cut(stream: bytes, every: int) -> list[bytes]:
    return [stream[i : i + every] for i in range(0, len(stream), every)]


def _chat_stream(deltas: list[str]) -> bytes:
    events = [
        json_event({"id": "c", "choices": [{"index": 0, "delta": {"content": d}}]}) for d in deltas
    ]
    events.append(
        json_event({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    )
    return b"".join(events) + DONE


def _chat_text(stream: bytes) -> tuple[str, list[str]]:
    """(the content deltas joined, the event kinds in order) of a chat stream."""
    text, kinds = "", []
    for ev in SSEParser().feed(stream):
        if ev.data == "[DONE]":
            kinds.append("done")
            continue
        choice = orjson.loads(ev.data)["choices"][0]
        text += choice["delta"].get("content") or ""
        kinds.append("finish" if choice.get("finish_reason") else "delta")
    return text, kinds


@pytest.mark.parametrize("every", [1, 3, 7, 64, 10_000])
def test_a_phone_number_split_across_deltas_and_chunks_is_masked(every: int) -> None:
    deltas = ["Call me at 010-12", "34-5", "678 please", " — or later. " * 8]
    stream = _chat_stream(deltas)
    out = _run(_cut(stream, every), "chat", Wire.OPENAI, _scan())
    assert PHONE.encode() not in out
    text, kinds = _chat_text(out)
    assert text == f"Call me at {MASK} please" + " — or later. " * 8
    assert kinds[-2:] == ["finish", "done"]  # held-back text went out before the finish


@pytest.mark.parametrize("every", [1, 5, 10_000])
def test_a_token_split_across_deltas_is_restored(every: int) -> None:
    stream = _chat_stream(["Hello [이", "름_", "1]!"])
    out = _run(_cut(stream, every), "chat", Wire.OPENAI, _restore())
    text, kinds = _chat_text(out)
    assert text == f"Hello {NAMES['[이름_1]']}!"
    assert kinds[-2:] == ["finish", "done"]


def test_held_text_is_released_before_the_anthropic_block_stops() -> None:
    def delta(text: str) -> bytes:
        part = {"type": "text_delta", "text": text}
        body = {"type": "content_block_delta", "index": 0, "delta": part}
        return json_event(body, "content_block_delta")

    stream = (
        json_event({"type": "content_block_start", "index": 0}, "content_block_start")
        + delta("번호는 010-1234")
        + delta("-5678 입니다")
        + json_event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        + json_event({"type": "message_stop"}, "message_stop")
    )
    out = _run(_cut(stream, 9), "messages", Wire.ANTHROPIC, _scan())
    events = SSEParser().feed(out)
    names = [ev.event for ev in events]
    text = "".join(
        orjson.loads(ev.data)["delta"]["text"] for ev in events if ev.event == "content_block_delta"
    )
    assert text == f"번호는 {MASK} 입니다"
    last_delta = max(i for i, name in enumerate(names) if name == "content_block_delta")
    assert last_delta < names.index("content_block_stop") < names.index("message_stop")


def test_events_without_text_pass_through() -> None:
    ping = b'event: ping\ndata: {"type":"ping"}\n\n'
    not_json = b"data: not json\n\n"
    out = _run([ping, not_json, DONE], "chat", Wire.OPENAI, _scan())
    assert out == ping + not_json + DONE


def test_an_endpoint_without_text_streams_is_left_alone() -> None:
    raw = [b'data: {"a": "010-1234-5678"}\n\n']
    assert _run(raw, "embeddings", Wire.OPENAI, _scan()) == raw[0]
