"""SSE framing is written once (gateway/upstream/sse.py): the encoder's bytes, and a guard that
no other gateway module spells an event out by hand."""

from __future__ import annotations

import re
from pathlib import Path

from sumun.gateway.upstream.sse import DONE, SSEParser, frame, json_event

GATEWAY = Path(__file__).resolve().parents[3] / "src" / "sumun" / "gateway"
# A hand-built frame: `b"data: " + …`, `b"event: " + …`, or a literal event ending in "\n\n".
_HAND_FRAMED = re.compile(r'(?:data|event): "\s*\+|b"(?:data|event): [^"]*\\n\\n"')


def test_the_encoder_bytes() -> None:
    assert DONE == b"data: [DONE]\n\n"
    assert json_event({"a": "x\ny", "b": "한"}) == b'data: {"a":"x\\ny","b":"\xed\x95\x9c"}\n\n'
    assert json_event({"type": "ping"}, "ping") == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert frame(b"one\ntwo", "e") == b"event: e\ndata: one\ndata: two\n\n"


def test_what_the_encoder_writes_the_parser_reads_back() -> None:
    data = {"text": "줄\n바꿈\r\n", "n": 1}
    (event,) = SSEParser().feed(json_event(data, "message_delta"))
    assert event.event == "message_delta" and event.data == json_event(data)[6:-2].decode()


def test_no_gateway_module_frames_events_by_hand() -> None:
    offenders = [
        f"{path.relative_to(GATEWAY)}:{n}"
        for path in sorted(GATEWAY.rglob("*.py"))
        if path.name != "sse.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _HAND_FRAMED.search(line)
    ]
    assert len(list(GATEWAY.rglob("*.py"))) > 40  # the walk found the package
    assert offenders == [], f"use sumun.gateway.upstream.sse (frame/json_event/DONE): {offenders}"
