"""The incremental SSE parser: WHATWG event-stream rules, any chunking, bounded buffering."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sumun.gateway.upstream.sse import SSEError, SSEEvent, SSEParser, frame


def parse(*chunks: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"data: hello\n\n", [SSEEvent("hello")]),
        (b"event: ping\ndata: {}\n\n", [SSEEvent("{}", event="ping")]),
        (b"data: a\r\n\r\n", [SSEEvent("a")]),
        (b"data: a\r\rdata: b\r\r", [SSEEvent("a"), SSEEvent("b")]),
        (b"data: one\ndata: two\n\n", [SSEEvent("one\ntwo")]),
        (b": keep-alive\n\ndata: x\n\n", [SSEEvent("x")]),
        (b"data:no-space\n\n", [SSEEvent("no-space")]),
        (b"data:  two spaces\n\n", [SSEEvent(" two spaces")]),
        (b"data\n\n", [SSEEvent("")]),
        (b"event: lonely\n\n", []),  # no data line: not dispatched
        (b"id: 7\ndata: x\n\n", [SSEEvent("x", id="7")]),
        (b"retry: 10\nunknown: y\ndata: x\n\n", [SSEEvent("x")]),
        (b"\xef\xbb\xbfdata: bom\n\n", [SSEEvent("bom")]),
        ("data: 한국어\n\n".encode(), [SSEEvent("한국어")]),
        (b"data: [DONE]\n\n", [SSEEvent("[DONE]")]),
        (b"data: unterminated", []),
    ],
)
def test_parse(stream: bytes, expected: list[SSEEvent]) -> None:
    assert parse(stream) == expected


def test_events_split_across_chunks_and_a_crlf_split_in_half() -> None:
    events = parse(b"event: message_st", b"art\r", b'\ndata: {"a"', b": 1}\r\n", b"\r\n")
    assert events == [SSEEvent('{"a": 1}', event="message_start")]


def test_a_multibyte_character_split_across_chunks() -> None:
    raw = "data: 수문\n\n".encode()
    assert parse(raw[:8], raw[8:]) == [SSEEvent("수문")]


def test_a_bom_split_across_chunks_is_still_stripped() -> None:
    assert parse(b"\xef", b"\xbb\xbfdata: x\n\n") == [SSEEvent("x")]


def test_pending_tells_a_stream_that_stopped_mid_event() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: whole\n\n") == [SSEEvent("whole")]
    assert not parser.pending
    parser.feed(b"data: half")
    assert parser.pending
    parser.feed(b"\n")
    assert parser.pending  # a data line without the blank line that ends the event


def test_an_event_larger_than_the_limit_is_refused() -> None:
    parser = SSEParser(max_event_bytes=64)
    with pytest.raises(SSEError, match="exceeds 64 bytes"):
        parser.feed(b"data: " + b"x" * 100)
    parser = SSEParser(max_event_bytes=64)
    with pytest.raises(SSEError):
        for _ in range(10):
            parser.feed(b"data: " + b"y" * 10 + b"\n")


@pytest.mark.parametrize(
    ("data", "event", "wire"),
    [
        (b"{}", None, b"data: {}\n\n"),
        (b"{}", "ping", b"event: ping\ndata: {}\n\n"),
        (b"a\nb", None, b"data: a\ndata: b\n\n"),
        (b"a\r\nb", "x", b"event: x\ndata: a\ndata: b\n\n"),
    ],
)
def test_frame(data: bytes, event: str | None, wire: bytes) -> None:
    assert frame(data, event) == wire
    assert parse(wire) == [SSEEvent(data.decode().replace("\r\n", "\n"), event=event)]


_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)
_events = st.lists(
    st.builds(
        SSEEvent,
        data=st.lists(_texts, min_size=1, max_size=3).map("\n".join),
        event=st.none() | _texts.filter(lambda t: t == t.strip() and t != ""),
    ),
    max_size=6,
)


@given(events=_events, cuts=st.lists(st.integers(min_value=0), max_size=8), crlf=st.booleans())
def test_any_chunking_gives_the_same_events(
    events: list[SSEEvent], cuts: list[int], crlf: bool
) -> None:
    wire = b"".join(e.encode() for e in events)
    if crlf:
        wire = wire.replace(b"\n", b"\r\n")
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    chunks = [wire[a:b] for a, b in itertools.pairwise(points)]
    assert parse(*chunks) == events
