"""HTTP plumbing the networked adapters share: client, error mapping, and the stream pump.

Errors map the same way for every upstream (the router acts on `status`/`retryable`/`kind`):

    HTTP 429                      -> 429 rate_limited   retryable
    HTTP 401/403                  -> 502 upstream_auth  retryable   (Sumun's key for the
                                     upstream is wrong, not the client's: never shown as 401)
    other HTTP 4xx                -> same status, bad_request, not retryable
    HTTP 5xx (incl. 529)          -> 502 upstream_error retryable
    cannot connect / pool full    -> 503 unavailable    retryable
    no bytes for timeout_seconds  -> 504 timeout        retryable
    connection broke mid-answer   -> 502 stream_cut     retryable
    broken or unparsable answer   -> 502 bad_response   retryable

Once a chunk has been handed out (`started=True`) nothing is retryable. The upstream's own
message is kept (it helps the user) but cut short, and Sumun's API key is scrubbed from it.

The transport is aiohttp, not httpx, for speed: the gateway may add at most 1 ms over calling
an upstream directly, and per call on loopback aiohttp costs about a third of what httpx does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, Protocol, Self

import aiohttp
import certifi
import orjson

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.translate import StreamFault, TranslationError
from sumun.gateway.upstream.base import UpstreamError
from sumun.gateway.upstream.sse import SSEError, SSEEvent, SSEParser

__all__ = [
    "EventPipe",
    "ReadingStream",
    "StreamEnd",
    "UpstreamSession",
    "UpstreamStream",
    "base_url",
    "error_for_status",
    "error_for_transport",
    "open_stream",
    "send_json",
]

_MESSAGE_LIMIT = 500
# After the end marker the rest of the body is normally already buffered; give it this long to
# arrive so the connection can be reused, then drop the connection instead.
_DRAIN_SECONDS = 0.25
_MAX_CONNECTIONS = 512
_KEEPALIVE_SECONDS = 30
_DNS_CACHE_SECONDS = 10  # short, so a DNS-based failover of the upstream is seen soon
# Per connection, what is read ahead of a slow client before reading pauses (backpressure).
_READ_BUFFER = 64 * 1024

Json = dict[str, Any]
# What aiohttp raises for transport failures: its own errors, and its timeouts (TimeoutError).
_TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)


def base_url(config: ProviderConfig) -> str:
    # Required rather than defaulted: where prompts go must be readable in the config itself.
    if not config.base_url:
        raise ConfigError(f"provider {config.name!r} ({config.kind}) needs a base_url")
    return config.base_url.rstrip("/")


class UpstreamSession:
    """One keep-alive HTTP/1.1 session per adapter, with the provider's time bounds.

    aiohttp binds a session to the event loop it was made in, and adapters are built before any
    loop runs: so the session is opened by the first call, inside the running loop (and opened
    anew should a later call run in another loop).
    """

    def __init__(self, config: ProviderConfig) -> None:
        self._tls = base_url(config).lower().startswith("https:")
        # No total deadline, so a stream may run as long as it flows; each socket read (and the
        # wait for the answer's headers) is bounded instead. Connecting — waiting for a pooled
        # connection, resolving the name and the TCP/TLS handshake — has its own bound.
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=config.connect_timeout_seconds,
            sock_connect=config.connect_timeout_seconds,
            sock_read=config.timeout_seconds,
        )
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(self) -> aiohttp.ClientSession:
        """The open session of the running loop."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or self._loop is not loop or session.closed:
            old, old_loop = self._session, self._loop
            session = self._session = self._open()
            self._loop = loop
            await _drop(old, old_loop)
        return session

    async def aclose(self) -> None:
        """Close the session. Safe when it was never opened, and from another loop (at teardown,
        after the session's own loop has gone): the session is then dropped, never raised on."""
        old, old_loop = self._session, self._loop
        self._session = self._loop = None
        await _drop(old, old_loop)

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            # One adapter talks to one host, so the per-host bound is the one that counts.
            limit=_MAX_CONNECTIONS,
            limit_per_host=_MAX_CONNECTIONS,
            keepalive_timeout=_KEEPALIVE_SECONDS,
            ttl_dns_cache=_DNS_CACHE_SECONDS,
            # certifi's CA bundle, as the official SDKs (httpx) trust, not the host's store.
            ssl=ssl.create_default_context(cafile=certifi.where()) if self._tls else True,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            # trust_env=False: proxy variables in the environment must not divert prompts
            # elsewhere. No cookie jar: a cookie set in one tenant's answer must not ride along
            # on another tenant's request.
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            read_bufsize=_READ_BUFFER,
        )


async def _drop(
    session: aiohttp.ClientSession | None, loop: asyncio.AbstractEventLoop | None
) -> None:
    if session is None or session.closed or loop is None:
        return
    if loop is asyncio.get_running_loop() or loop.is_closed():
        # On a closed loop aiohttp touches no socket: this only marks the session closed.
        await session.close()
        return
    # Its sockets belong to a loop that is still open (in another thread): only that loop may
    # close them. Ask it to, without waiting; if it closes first, the session is just dropped.
    closing = session.close()
    try:
        asyncio.run_coroutine_threadsafe(closing, loop)
    except RuntimeError:  # that loop closed meanwhile
        closing.close()


def _message(body: bytes, secret: str | None) -> str:
    text: str
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", errors="replace").strip()
    else:
        text = _message_of(parsed) or ""
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "[redacted]")
    if len(text) > _MESSAGE_LIMIT:
        text = text[:_MESSAGE_LIMIT] + "…"
    return text or "no details given"


def _message_of(parsed: Any) -> str | None:
    # OpenAI {"error": {"message"}}, Anthropic {"type": "error", "error": {"message"}},
    # FastAPI-style servers {"detail": …}, and a few plain {"message": …}.
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        status = parsed.get("status")  # CLOVA Studio {"status": {"code": "42901", "message"}}
        if isinstance(status, dict) and status.get("message"):
            return f"{status.get('code', '')} {status['message']}".strip()
        for key in ("message", "detail"):
            if parsed.get(key):
                value = parsed[key]
                return value if isinstance(value, str) else orjson.dumps(value).decode()
    return None


def error_for_status(provider: str, status: int, body: bytes, secret: str | None) -> UpstreamError:
    message = f"{provider} answered HTTP {status}: {_message(body, secret)}"
    if status == 429:
        return UpstreamError(
            message, provider=provider, status=429, retryable=True, kind="rate_limited"
        )
    if status in (401, 403):
        return UpstreamError(
            message, provider=provider, status=502, retryable=True, kind="upstream_auth"
        )
    if status >= 500:
        return UpstreamError(message, provider=provider, status=502, retryable=True)
    return UpstreamError(
        message, provider=provider, status=status, retryable=False, kind="bad_request"
    )


def error_for_transport(
    provider: str, exc: Exception, *, started: bool = False, phase: str = ""
) -> UpstreamError:
    """A transport, framing or translation failure as the UpstreamError the router acts on."""
    where = f" {phase}" if phase else ""
    status, kind, text = 502, "bad_response", str(exc) or type(exc).__name__
    # Refused, unresolvable, TLS failure, or no connection within connect_timeout_seconds
    # (including the wait for a free pooled one).
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        status, kind, text = 503, "unavailable", f"cannot connect ({type(exc).__name__})"
    elif isinstance(exc, TimeoutError):  # aiohttp's SocketTimeoutError: silent for too long
        status, kind, text = 504, "timeout", f"no answer in time ({type(exc).__name__})"
    elif isinstance(exc, aiohttp.ClientError):
        status, kind, text = 502, "stream_cut", f"connection broke ({type(exc).__name__})"
    return UpstreamError(
        f"{provider}{where}: {text}",
        provider=provider,
        status=status,
        retryable=not started,
        started=started,
        kind=kind,
    )


def _error_for_fault(provider: str, fault: StreamFault, *, started: bool) -> UpstreamError:
    kind = fault.type.lower()
    status, name = 502, "upstream_error"
    if "rate_limit" in kind or kind in ("requests", "tokens"):
        status, name = 429, "rate_limited"
    elif kind.startswith("invalid_request"):
        status, name = 400, "bad_request"
    elif kind.startswith("overloaded"):
        name = "overloaded"
    retryable = not started and status != 400
    message = f"{provider} reported {fault.type} in its stream: {fault.message[:_MESSAGE_LIMIT]}"
    return UpstreamError(
        message, provider=provider, status=status, retryable=retryable, started=started, kind=name
    )


async def send_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    provider: str,
    headers: dict[str, str],
    secret: str | None,
    body: Json | None = None,
    params: dict[str, str] | None = None,
) -> Json:
    """One non-streaming JSON call; the decoded answer, or UpstreamError."""
    content = orjson.dumps(body) if body is not None else None
    try:
        response = await session.request(
            method, url, data=content, headers=headers, params=params, allow_redirects=False
        )
        try:
            raw = await response.read()  # read to the end, the connection goes back to the pool
        finally:
            response.close()  # without effect then; otherwise it drops the connection
    except _TRANSPORT_ERRORS as exc:
        raise error_for_transport(provider, exc) from exc
    if response.status >= 400:
        raise error_for_status(provider, response.status, raw, secret)
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise error_for_transport(provider, ValueError("the answer is not JSON")) from exc
    if not isinstance(answer, dict):
        raise error_for_transport(provider, ValueError("the answer is not a JSON object"))
    return answer


class EventPipe(Protocol):
    """Turns upstream SSE events into client SSE bytes (a pass-through or a translator)."""

    done: bool  # the upstream's end marker arrived
    fault: StreamFault | None  # the upstream reported an error inside the stream

    def feed(self, event: SSEEvent) -> list[bytes]: ...

    def close(self) -> list[bytes]: ...


class StreamEnd(Protocol):
    """What a reading stream asks of its pipe: is the answer whole, and what does the end add."""

    @property
    def done(self) -> bool: ...

    def close(self) -> list[bytes]: ...


class ReadingStream(AsyncIterator[bytes]):
    """The `chunks` of a StreamReply: reads the upstream as the client reads us, no buffering.

    Each item is every complete client event produced by one upstream read. Closing it — by
    `aclose()`, by cancellation, or on any error — closes the upstream response, which drops
    the connection and so cancels the generation upstream (unless the body was read to its
    end: the connection is then back in the pool).

    Failures raise UpstreamError: before anything was handed out with `started=False` (from
    `prefetch`, so the router may fail over), afterwards with `started=True`. An error event
    inside the upstream stream is such a failure too; it is not forwarded as is, because the
    gateway writes the error in the client's wire format from the UpstreamError's message.

    Subclasses say how the upstream's bytes become client events (`_decode`): SSE here
    (`UpstreamStream`), AWS's binary event stream for Bedrock (`_eventstream.EventStreamReply`).
    """

    def __init__(self, response: aiohttp.ClientResponse, pipe: StreamEnd, *, provider: str) -> None:
        self._response = response
        self._body = response.content
        self._pipe = pipe
        self._provider = provider
        self._ready: deque[bytes] = deque()
        self._error: UpstreamError | None = None  # raised once the ready chunks are out
        self._started = False
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        try:
            while not self._ready:
                if self._error is not None:
                    raise self._error
                if self._pipe.done or self._closed:
                    await self._finish()
                    raise StopAsyncIteration
                await self._pull()
        except BaseException:
            await self.aclose()
            raise
        self._started = True
        return self._ready.popleft()

    async def prefetch(self) -> None:
        """Read until there is something to hand out, so early failures stay retryable."""
        try:
            while not self._ready and not self._pipe.done:
                if self._error is not None:
                    raise self._error
                await self._pull()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        self._ready.clear()
        if self._closed:
            return
        self._closed = True
        self._response.close()  # synchronous: a cancelled caller still releases the socket

    async def _pull(self) -> None:
        try:
            raw = await self._body.readany()
        except _TRANSPORT_ERRORS as exc:
            raise self._broken(exc) from exc
        if not raw:  # the end of the body
            tail = self._pipe.close()
            if not self._pipe.done:
                raise self._broken(EOFError("the upstream ended the stream early"))
            self._push(tail)
            return
        self._push(self._decode(raw))

    def _decode(self, raw: bytes) -> list[bytes]:
        """The client events one upstream read produces. An error the upstream reports in its
        stream: raised if nothing was handed out yet (the router may fail over), else kept in
        `_error` (raised after the events before it)."""
        raise NotImplementedError

    def _push(self, out: list[bytes]) -> None:
        if out:
            self._ready.append(out[0] if len(out) == 1 else b"".join(out))

    def _broken(self, exc: Exception) -> UpstreamError:
        return error_for_transport(self._provider, exc, started=self._started, phase="stream")

    async def _finish(self) -> None:
        if not self._closed and not self._body.at_eof():
            # The answer is whole; what may follow is the chunked terminator. Reading it lets
            # the connection be reused, and a failure now changes nothing for the client.
            with contextlib.suppress(*_TRANSPORT_ERRORS):
                async with asyncio.timeout(_DRAIN_SECONDS):
                    while await self._body.readany():
                        pass
        await self.aclose()


class UpstreamStream(ReadingStream):
    """An upstream answering in server-sent events."""

    _pipe: EventPipe

    def __init__(self, response: aiohttp.ClientResponse, pipe: EventPipe, *, provider: str) -> None:
        super().__init__(response, pipe, provider=provider)
        self._parser = SSEParser()

    def _decode(self, raw: bytes) -> list[bytes]:
        out: list[bytes] = []
        try:
            for event in self._parser.feed(raw):
                produced = self._pipe.feed(event)
                if self._pipe.fault is not None:
                    break  # its error event is not forwarded: the gateway reports the error
                out.extend(produced)
                if self._pipe.done:
                    break
        except (SSEError, TranslationError) as exc:
            raise self._broken(exc) from exc
        fault = self._pipe.fault
        if fault is not None:
            if not self._started:
                # Nothing was handed out yet (events before the error included): the router
                # may still fail over.
                raise _error_for_fault(self._provider, fault, started=False)
            self._error = _error_for_fault(self._provider, fault, started=True)
        return out


async def open_stream(
    session: aiohttp.ClientSession,
    url: str,
    pipe: EventPipe,
    *,
    provider: str,
    headers: dict[str, str],
    secret: str | None,
    body: Json,
    params: dict[str, str] | None = None,
) -> UpstreamStream:
    """Start a streaming call; UpstreamError (started=False) unless the first event is good."""
    try:
        # Returns once the headers are in; the body is read as the client reads the stream.
        response = await session.request(
            "POST",
            url,
            data=orjson.dumps(body),
            headers={**headers, "Accept": "text/event-stream", "Accept-Encoding": "identity"},
            params=params,
            allow_redirects=False,
        )
    except _TRANSPORT_ERRORS as exc:
        raise error_for_transport(provider, exc) from exc
    if response.status >= 400:
        try:
            error_body = await response.read()
        except _TRANSPORT_ERRORS:
            error_body = b""
        finally:
            response.close()
        raise error_for_status(provider, response.status, error_body, secret)
    stream = UpstreamStream(response, pipe, provider=provider)
    await stream.prefetch()
    return stream
