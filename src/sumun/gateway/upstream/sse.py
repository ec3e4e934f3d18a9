"""Server-sent events: an incremental parser over byte chunks, and the framing we emit.

Every event Sumun writes is framed here (`frame`, `json_event`, `DONE`): the adapters, the
translators, the answer filters, the labels and the stream errors never spell `data: ` out.

The parser follows the WHATWG HTML "event stream interpretation" rules: lines end in CRLF, LF
or CR (a CRLF may be split across two chunks); lines starting with `:` are comments; a field
without a colon has an empty value; one space after the colon is dropped; several `data:` lines
join with LF; a blank line dispatches the event, and an event without any `data:` line is not
dispatched. Unlike a browser it does not remember the last event id across events, and `retry:`
is ignored — nothing in Sumun reconnects.

A partial event at the end of the stream is never dispatched (per the spec); `pending` tells the
caller that the stream stopped mid-event, which is how adapters recognise a cut stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DONE",
    "SSEError",
    "SSEEvent",
    "SSEParser",
    "frame",
    "json_event",
]

# One event (or one unterminated line) may not grow past this: a broken or hostile upstream must
# not make the gateway buffer without bound.
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024

_EOL = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class SSEError(ValueError):
    """The byte stream is not a usable event stream (an event larger than the limit)."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: str
    event: str | None = None  # None when the event had no `event:` line (type "message")
    id: str | None = None

    def encode(self) -> bytes:
        """This event framed for the wire, `event:` line first when there is one."""
        return frame(self.data.encode("utf-8"), self.event)


def frame(data: bytes, event: str | None = None) -> bytes:
    """Frame `data` as one SSE event. Data containing line breaks becomes several `data:` lines."""
    head = b"event: " + event.encode("utf-8") + b"\n" if event is not None else b""
    if b"\n" not in data and b"\r" not in data:
        return head + b"data: " + data + b"\n\n"
    lines = _EOL.split(data)
    return head + b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"


def json_event(data: Any, event: str | None = None) -> bytes:
    """`data` as JSON in one SSE event (JSON escapes line breaks: always one `data:` line)."""
    return frame(orjson.dumps(data), event)


# The OpenAI dialect's last event (chat completions; the Responses API ends with an event).
DONE = frame(b"[DONE]")


class SSEParser:
    """Feed it bytes as they arrive; it returns the events completed by each chunk."""

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._buf = b""
        self._started = False  # a leading BOM is only stripped at the very start
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._data: list[str] = []
        self._data_bytes = 0
        self._event: str | None = None
        self._id: str | None = None

    @property
    def pending(self) -> bool:
        """True when bytes of an unfinished event are buffered (the stream stopped mid-event)."""
        return bool(self._buf) or bool(self._data) or self._event is not None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < len(_BOM) and _BOM.startswith(buf):
                self._buf = buf  # could still become a BOM
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[len(_BOM) :]
        events: list[SSEEvent] = []
        pos = 0
        for match in _EOL.finditer(buf):
            self._line(buf[pos : match.start()], events)
            pos = match.end()
        self._buf = buf[pos:]
        if pos and pos == len(buf) and buf[-1:] == b"\r":
            self._skip_lf = True
        if len(self._buf) + self._data_bytes > self._max:
            raise SSEError(f"an event stream event exceeds {self._max} bytes")
        return events

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line[:1] == b":":
            return  # a comment (servers use them as keep-alives)
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            text = value.decode("utf-8", errors="replace")
            self._data.append(text)
            self._data_bytes += len(value) + 1
        elif name == b"event":
            self._event = value.decode("utf-8", errors="replace")
        elif name == b"id" and b"\0" not in value:
            self._id = value.decode("utf-8", errors="replace")

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if self._data:
            events.append(SSEEvent(data="\n".join(self._data), event=self._event, id=self._id))
        self._data = []
        self._data_bytes = 0
        self._event = None
        self._id = None
