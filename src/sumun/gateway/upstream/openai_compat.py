"""OpenAI-compatible upstreams: vLLM, Ollama, llama.cpp, SGLang, OpenAI, Azure OpenAI, and the
OpenAI-compatible endpoints of Korean providers.

OpenAI clients pass through: the body goes out as the client sent it (unknown fields, tool
calls and content parts intact) and the answer comes back as the upstream sent it. Anthropic
clients (`messages`) are translated to chat completions and back, streams included.

Streaming usage: Sumun meters every call, and OpenAI reports streamed token counts only when
asked. So a streamed chat call always goes out with `stream_options.include_usage: true`; when
the client did not ask for it, the extra usage-only chunk is consumed here and not forwarded,
so the client sees the stream it asked for (its chunks carry `"usage": null`, which the field's
schema allows). Servers too old to know `stream_options` are a caveat of this choice.

Azure (`kind: azure`): `{base_url}/openai/deployments/{model}/…?api-version=…` with an
`api-key` header; the route's model is the deployment name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.translate import (
    OpenAIToAnthropicStream,
    StreamFault,
    TranslationError,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
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
from sumun.gateway.upstream.sse import DONE, SSEEvent

__all__ = ["OpenAICompatAdapter"]

Json = dict[str, Any]
_PATHS = {"chat": "chat/completions", "embeddings": "embeddings", "responses": "responses"}
_RESPONSES_END = ("response.completed", "response.incomplete", "response.failed")


def _openai_usage(body: Json, usage: Usage) -> None:
    """Token counts from a chat/embeddings (`prompt_tokens`) or responses (`input_tokens`)."""
    reported = body.get("usage")
    if not isinstance(reported, dict):
        return
    if "prompt_tokens" in reported:
        usage.tokens_in = int(reported.get("prompt_tokens") or 0)
        usage.tokens_out = int(reported.get("completion_tokens") or 0)
    elif "input_tokens" in reported:
        usage.tokens_in = int(reported.get("input_tokens") or 0)
        usage.tokens_out = int(reported.get("output_tokens") or 0)


class _ChatPassThrough:
    """Chat chunks out as they came in; reads usage, hides a usage chunk nobody asked for."""

    def __init__(self, usage: Usage, *, forward_usage_chunk: bool) -> None:
        self.done = False
        self.fault: StreamFault | None = None
        self._usage = usage
        self._forward_usage_chunk = forward_usage_chunk
        self._finished = False  # a finish_reason arrived

    def feed(self, event: SSEEvent) -> list[bytes]:
        if event.data.strip() == "[DONE]":
            self.done = True
            return [DONE]
        try:
            chunk = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return [event.encode()]  # not ours to judge; the client's SDK will
        if not isinstance(chunk, dict):
            return [event.encode()]
        error = chunk.get("error")
        if error is not None:
            detail = error if isinstance(error, dict) else {"message": str(error)}
            kind = str(detail.get("type") or detail.get("code") or "api_error")
            self.fault = StreamFault(kind, str(detail.get("message", "")))
            self.done = True
            return [event.encode()]
        choices = chunk.get("choices")
        if chunk.get("usage"):
            _openai_usage(chunk, self._usage)
            if not choices and not self._forward_usage_chunk:
                return []
        if any(c.get("finish_reason") for c in choices or () if isinstance(c, dict)):
            self._finished = True
        return [event.encode()]

    def close(self) -> list[bytes]:
        # Some servers end without `[DONE]`; after a finish_reason the answer is whole.
        if self._finished and not self.done:
            self.done = True
            return [DONE]
        return []


class _ResponsesPassThrough:
    """Responses-API events out as they came in; reads usage from the final response."""

    def __init__(self, usage: Usage) -> None:
        self.done = False
        self.fault: StreamFault | None = None
        self._usage = usage

    def feed(self, event: SSEEvent) -> list[bytes]:
        if event.data.strip() == "[DONE]":
            self.done = True
            return [event.encode()]
        try:
            obj = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return [event.encode()]
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind in _RESPONSES_END:
            response = obj.get("response") or {}
            _openai_usage(response, self._usage)
            self.done = True
        elif kind == "error":
            self.fault = StreamFault(str(obj.get("code") or "api_error"), str(obj.get("message")))
            self.done = True
        return [event.encode()]

    def close(self) -> list[bytes]:
        return []


class OpenAICompatAdapter:
    """A `ProviderAdapter` for an OpenAI-compatible API (kind `openai` or `azure`)."""

    def __init__(self, config: ProviderConfig) -> None:
        if config.kind not in ("openai", "azure"):
            raise ConfigError(f"provider {config.name!r} is {config.kind}, not OpenAI-compatible")
        self._azure = config.kind == "azure"
        if self._azure and not config.api_version:
            raise ConfigError(f"provider {config.name!r} (azure) needs api_version")
        self._config = config
        self._base = base_url(config)
        self._key = api_secret(config)  # read per request: a key file may be renewed
        self._session = UpstreamSession(config)
        self._headers = {"Content-Type": "application/json", "User-Agent": "sumun"}

    @property
    def name(self) -> str:
        return self._config.name

    async def complete(self, call: Call) -> Reply:
        endpoint, body = self._request(call, stream=False)
        url, params = self._url(endpoint, str(body.get("model", "")))
        answer = await send_json(
            await self._session.get(),
            "POST",
            url,
            provider=self.name,
            headers=self._call_headers(call),
            secret=self._key.current(),
            body=body,
            params=params,
        )
        usage = Usage()
        _openai_usage(answer, usage)
        if call.wire is Wire.ANTHROPIC:
            try:
                answer = openai_to_anthropic_response(answer)
            except TranslationError as exc:
                raise error_for_transport(self.name, exc) from exc
        return Reply(status=200, body=answer, usage=usage)

    async def stream(self, call: Call) -> StreamReply:
        endpoint, body = self._request(call, stream=True)
        usage = Usage()
        pipe: EventPipe
        if call.wire is Wire.ANTHROPIC:
            pipe = OpenAIToAnthropicStream(model=str(body.get("model", "")), usage=usage)
        elif endpoint == "responses":
            pipe = _ResponsesPassThrough(usage)
        elif endpoint == "chat":
            options = body.get("stream_options")
            asked = isinstance(options, dict) and bool(options.get("include_usage"))
            if not asked:
                body["stream_options"] = {**(options or {}), "include_usage": True}
            pipe = _ChatPassThrough(usage, forward_usage_chunk=asked)
        else:
            raise self._unsupported(f"streaming {endpoint}")
        url, params = self._url(endpoint, str(body.get("model", "")))
        chunks = await open_stream(
            await self._session.get(),
            url,
            pipe,
            provider=self.name,
            headers=self._call_headers(call),
            secret=self._key.current(),
            body=body,
            params=params,
        )
        return StreamReply(chunks=chunks, usage=usage)

    async def models(self) -> list[str]:
        if self._azure:
            return []  # Azure lists base models, not the deployments routes name
        try:
            answer = await send_json(
                await self._session.get(),
                "GET",
                f"{self._base}/models",
                provider=self.name,
                headers=self._auth_headers(),
                secret=self._key.current(),
            )
        except UpstreamError as exc:
            if exc.status == 404:
                return []  # the server cannot list its models
            raise
        return [str(m["id"]) for m in answer.get("data") or () if isinstance(m, dict) and "id" in m]

    async def aclose(self) -> None:
        await self._session.aclose()

    def _request(self, call: Call, *, stream: bool) -> tuple[str, Json]:
        """(OpenAI endpoint, body to send). Never mutates the caller's body."""
        if call.wire is Wire.ANTHROPIC:
            if call.endpoint != "messages":
                raise self._unsupported(f"Anthropic-format {call.endpoint}")
            try:
                body = anthropic_to_openai_request({**call.body, "stream": stream})
            except TranslationError as exc:
                raise UpstreamError(
                    f"{self.name}: {exc}", provider=self.name, status=400, kind="unsupported"
                ) from exc
            return "chat", body
        if call.endpoint not in _PATHS:
            raise self._unsupported(f"OpenAI-format {call.endpoint}")
        body = dict(call.body)
        if stream:
            body["stream"] = True
        elif body.get("stream"):
            body["stream"] = False
        return call.endpoint, body

    def _url(self, endpoint: str, model: str) -> tuple[str, dict[str, str] | None]:
        path = _PATHS[endpoint]
        if not self._azure:
            return f"{self._base}/{path}", None
        params = {"api-version": str(self._config.api_version)}
        if endpoint == "responses":
            return f"{self._base}/openai/responses", params
        return f"{self._base}/openai/deployments/{quote(model, safe='')}/{path}", params

    def _auth_headers(self) -> dict[str, str]:
        headers = dict(self._headers)
        key = self._key.current()
        if key is not None:
            if self._azure:
                headers["api-key"] = key
            else:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def _call_headers(self, call: Call) -> dict[str, str]:
        return {**self._auth_headers(), "X-Request-Id": call.request_id}

    def _unsupported(self, what: str) -> UpstreamError:
        return UpstreamError(
            f"{self.name}: {what} is not supported by this provider",
            provider=self.name,
            status=400,
            kind="unsupported",
        )
