"""Limits on what a connection may cost before anyone is authenticated (issue 12).

uvicorn's httptools protocol, as of 0.54, accepts any number of connections, waits forever for
a request head that trickles in (the keep-alive timer is cancelled by the first byte and is not
armed at all on a new connection), and takes headers of any size and number. Each of those
let an unauthenticated client hold the gateway: 500 slow-loris connections for minutes, ~21,000
idle ones until the file descriptors ran out, a 10 MB header (RSS 85 -> 480 MB).

`guarded_protocol(limits)` is the same protocol with four limits, each answered the way HTTP
says and then closed:

- `max_connections` open at once: the next one is answered `503` (`Retry-After: 1`) and closed
  at once, so descriptors stay bounded and the refusal is clear;
- `head_timeout_seconds` from a connection's first byte (or its opening) to a complete request
  head: `408` and closed — however slowly the bytes arrive;
- `max_header_bytes` for the request line and headers together: `431` and closed;
- `max_headers` header fields: `431` and closed.

An idle keep-alive connection is closed after uvicorn's own `timeout_keep_alive`. Bodies are
bounded by the gateway (`gateway.max_body_bytes`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionLimits", "guarded_protocol"]

log = logging.getLogger(__name__)

_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}
_LOG_EVERY = 10.0  # seconds between two log lines about refused connections


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int = 2048
    head_timeout_seconds: float = 10.0
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100


class _RefusedError(Exception):
    """Raised inside a parser callback to stop parsing a request that is being refused."""


def _response(status: int, message: str, *extra: bytes) -> bytes:
    body = message.encode("ascii")
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            *extra,
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class _Guarded(HttpToolsProtocol):
    limits: ConnectionLimits = ConnectionLimits()
    _last_log = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_open = True  # reading a request head (not yet complete)
        self._head_bytes = 0  # bytes received while the head was open
        self._header_count = 0
        self._refused = False

    # -- the connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport
            self._refused = True
            self._note("connection cap reached (%d open)", len(self.connections))
            transport.write(
                _response(503, "too many connections; try again\n", b"retry-after: 1\r\n")
            )
            transport.close()
            return
        super().connection_made(transport)
        self._arm_head_timer()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, plus: a head that grows past the limit is refused before the parser
        # buffers more of it, and a refusal is not also answered 400 (nor logged per request).
        if self._refused:
            return
        self._unset_keepalive_if_required()
        if self._head_open:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except _RefusedError:
            return
        except httptools.HttpParserError:
            if self._refused:
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._head_open and self._head_bytes > self.limits.max_header_bytes:
            self._refuse(431, f"request head larger than {self.limits.max_header_bytes} bytes\n")

    # -- the request head -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = True
        self._header_count = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refuse(431, f"more than {self.limits.max_headers} header fields\n", stop=True)
        if len(name) + len(value) > self.limits.max_header_bytes:
            self._refuse(
                431, f"a header larger than {self.limits.max_header_bytes} bytes\n", stop=True
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._head_open = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open = True  # the next bytes on this connection start a new head

    def _refuse(self, status: int, message: str, *, stop: bool = False) -> None:
        self._refused = True
        self._cancel_head_timer()
        self._note("refused a request head: %s", message.strip())
        if not self.transport.is_closing():
            self.transport.write(_response(status, message))
            self.transport.close()
        if stop:
            raise _RefusedError(message)  # out of the parser callback; data_received swallows it

    # -- the head timer ---------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.limits.head_timeout_seconds, self._head_late)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a request is being served; look again afterwards
            return
        self._refused = True
        self._note("closed a connection without a complete request head in time")
        timeout = self.limits.head_timeout_seconds
        self.transport.write(_response(408, f"no complete request within {timeout:g}s\n"))
        self.transport.close()

    def _note(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - type(self)._last_log >= _LOG_EVERY:  # an attack must not flood the log
            type(self)._last_log = now
            log.warning("http guard: " + message, *args)


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with `limits` (pass it as `uvicorn.Config(http=...)`)."""
    if limits.max_connections < 1 or limits.max_headers < 1 or limits.max_header_bytes < 256:
        raise ValueError("connection limits must leave room for one ordinary request")
    if limits.head_timeout_seconds <= 0:
        raise ValueError("head_timeout_seconds must be positive")
    return type("GuardedHttpToolsProtocol", (_Guarded,), {"limits": limits})
