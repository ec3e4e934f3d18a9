"""The Anthropic Messages API, natively: `POST {base_url}/v1/messages`.

Anthropic clients pass through untouched. OpenAI clients' chat completions are translated to
messages and back, streams included; a streamed translation honours the client's own
`stream_options.include_usage` (Anthropic always reports usage, so nothing is injected).
Embeddings and the responses API have no Anthropic counterpart: UpstreamError 400 `unsupported`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.translate import (
    AnthropicToOpenAIStream,
    StreamFault,
    TranslationError,
    anthropic_prompt_tokens,
    anthropic_to_openai_response,
    openai_to_anthropic_request,
)
from sumun.gateway.upstream._credentials import api_secret
from sumun.gateway.upstream._http import (
    EventPipe,
    UpstreamSession,
    base_url,
    error_for_transport,
    open_stream,
    send_json,
)
from sumun.gateway.upstream.base import Call, Reply, StreamReply, UpstreamError, Usage, Wire
from sumun.gateway.upstream.sse import SSEEvent

__all__ = ["ANTHROPIC_VERSION", "AnthropicAdapter"]

# The API version every Anthropic SDK sends; newer features arrive through beta headers.
ANTHROPIC_VERSION = "2023-06-01"

Json = dict[str, Any]


def _read_usage(usage: Any, into: Usage) -> None:
    if not isinstance(usage, dict):
        return
    if usage.get("input_tokens") is not None:
        into.tokens_in = anthropic_prompt_tokens(usage)
    if usage.get("output_tokens") is not None:
        into.tokens_out = int(usage["output_tokens"])


class _MessagesPassThrough:
    """Anthropic events out as they came in; reads usage from message_start and message_delta."""

    def __init__(self, usage: Usage) -> None:
        self.done = False
        self.fault: StreamFault | None = None
        self._usage = usage

    def feed(self, event: SSEEvent) -> list[bytes]:
        try:
            obj = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return [event.encode()]
        kind = (obj.get("type") if isinstance(obj, dict) else None) or event.event
        if kind == "message_start":
            _read_usage((obj.get("message") or {}).get("usage"), self._usage)
        elif kind == "message_delta":
            _read_usage(obj.get("usage"), self._usage)
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            error = obj.get("error") or {}
            self.fault = StreamFault(str(error.get("type", "api_error")), str(error.get("message")))
            self.done = True
        return [event.encode()]

    def close(self) -> list[bytes]:
        return []  # Anthropic always ends with message_stop; without it the stream was cut


class AnthropicAdapter:
    """A `ProviderAdapter` for the Anthropic Messages API (kind `anthropic`)."""

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        if config.kind != "anthropic":
            raise ConfigError(f"provider {config.name!r} is {config.kind}, not anthropic")
        self._config = config
        self._base = base_url(config)
        self._key = api_secret(config)  # read per request: a key file may be renewed
        self._clock = clock
        self._session = UpstreamSession(config)
        self._headers = {
            "Content-Type": "application/json",
            "User-Agent": "sumun",
            "anthropic-version": ANTHROPIC_VERSION,
        }

    @property
    def name(self) -> str:
        return self._config.name

    async def complete(self, call: Call) -> Reply:
        body = self._request(call, stream=False)
        answer = await send_json(
            await self._session.get(),
            "POST",
            f"{self._base}/v1/messages",
            provider=self.name,
            headers=self._call_headers(call),
            secret=self._key.current(),
            body=body,
        )
        usage = Usage()
        _read_usage(answer.get("usage"), usage)
        if call.wire is Wire.OPENAI:
            try:
                answer = anthropic_to_openai_response(answer, created=int(self._clock()))
            except TranslationError as exc:
                raise error_for_transport(self.name, exc) from exc
        return Reply(status=200, body=answer, usage=usage)

    async def stream(self, call: Call) -> StreamReply:
        body = self._request(call, stream=True)
        usage = Usage()
        pipe: EventPipe
        if call.wire is Wire.OPENAI:
            options = call.body.get("stream_options")
            pipe = AnthropicToOpenAIStream(
                model=str(body.get("model", "")),
                created=int(self._clock()),
                include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
                usage=usage,
            )
        else:
            pipe = _MessagesPassThrough(usage)
        chunks = await open_stream(
            await self._session.get(),
            f"{self._base}/v1/messages",
            pipe,
            provider=self.name,
            headers=self._call_headers(call),
            secret=self._key.current(),
            body=body,
        )
        return StreamReply(chunks=chunks, usage=usage)

    async def models(self) -> list[str]:
        try:
            answer = await send_json(
                await self._session.get(),
                "GET",
                f"{self._base}/v1/models",
                provider=self.name,
                headers=self._auth_headers(),
                secret=self._key.current(),
                params={"limit": "1000"},
            )
        except UpstreamError as exc:
            if exc.status == 404:
                return []
            raise
        return [str(m["id"]) for m in answer.get("data") or () if isinstance(m, dict) and "id" in m]

    async def aclose(self) -> None:
        await self._session.aclose()

    def _request(self, call: Call, *, stream: bool) -> Json:
        """The Messages body to send. Never mutates the caller's body."""
        if call.wire is Wire.ANTHROPIC and call.endpoint == "messages":
            body = dict(call.body)
        elif call.wire is Wire.OPENAI and call.endpoint == "chat":
            try:
                body = openai_to_anthropic_request(call.body)
            except TranslationError as exc:
                raise UpstreamError(
                    f"{self.name}: {exc}", provider=self.name, status=400, kind="unsupported"
                ) from exc
        else:
            raise UpstreamError(
                f"{self.name}: {call.endpoint} is not supported by Anthropic",
                provider=self.name,
                status=400,
                kind="unsupported",
            )
        if stream:
            body["stream"] = True
        elif body.get("stream"):
            body["stream"] = False
        return body

    def _auth_headers(self) -> dict[str, str]:
        key = self._key.current()
        return self._headers if key is None else {**self._headers, "x-api-key": key}

    def _call_headers(self, call: Call) -> dict[str, str]:
        return {**self._auth_headers(), "X-Request-Id": call.request_id}
