"""NAVER Cloud CLOVA Studio (HyperCLOVA X), natively: Chat Completions v3 (`kind: clova`).

    POST {base}/v3/chat-completions/{model}      e.g. HCX-005, HCX-007, HCX-DASH-002
    Authorization: Bearer <API key>              X-NCP-CLOVASTUDIO-REQUEST-ID: <Sumun request id>
    (base https://clovastudio.stream.ntruss.com unless base_url says otherwise)

Streaming asks for `Accept: text/event-stream`. OpenAI clients' chat completions are translated
to CLOVA's body and back (`_clova_convert`); Anthropic clients go through OpenAI first
(`_via_openai`). Embeddings and the responses API are refused (400 `unsupported`).

CLOVA Studio also offers an OpenAI-compatible endpoint, which `kind: openai` covers; this
adapter is for what that endpoint lacks: CLOVA's own parameters (`thinking`, `topK`,
`repetitionPenalty`, `includeAiFilters`), the request id header that ties Sumun's ledger to
NAVER's logs, and v3 models served only on the native API.

Errors: HTTP 429 (CLOVA code 42901 "too many requests") -> 429 rate_limited, retryable; other
4xx -> bad_request (401/403: 502 upstream_auth, the key is Sumun's); 5xx -> 502 retryable. A
200 answer whose `status.code` is not 20000 is read as an error of that code's HTTP class.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.translate import TranslationError
from sumun.gateway.upstream._clova_convert import (
    ClovaToOpenAIStream,
    clova_request,
    clova_usage,
    openai_completion,
)
from sumun.gateway.upstream._credentials import api_secret
from sumun.gateway.upstream._http import (
    UpstreamSession,
    error_for_status,
    error_for_transport,
    open_stream,
    send_json,
)
from sumun.gateway.upstream._via_openai import ClientPipe, client_answer, openai_chat_body
from sumun.gateway.upstream.base import Call, Reply, StreamReply, UpstreamError, Usage

__all__ = ["CLOVA_BASE", "ClovaAdapter"]

CLOVA_BASE = "https://clovastudio.stream.ntruss.com"
_OK = "20000"

Json = dict[str, Any]


class ClovaAdapter:
    """A `ProviderAdapter` for CLOVA Studio's native Chat Completions v3 API."""

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        if config.kind != "clova":
            raise ConfigError(f"provider {config.name!r} is {config.kind}, not clova")
        if not config.base_url:
            config = config.model_copy(update={"base_url": CLOVA_BASE})
        self._config = config
        self._base = str(config.base_url).rstrip("/")
        self._key = api_secret(config)  # read per request: a key file may be renewed
        self._clock = clock
        self._session = UpstreamSession(config)

    @property
    def name(self) -> str:
        return self._config.name

    async def complete(self, call: Call) -> Reply:
        openai_body = openai_chat_body(call, self.name, stream=False)
        model = str(openai_body.get("model") or "")
        secret = self._key.current()
        answer = await send_json(
            await self._session.get(),
            "POST",
            self._url(model),
            provider=self.name,
            headers=self._headers(call, secret),
            secret=secret,
            body=self._request(openai_body),
        )
        status = answer.get("status") or {}
        code = str(status.get("code") or _OK)
        if code != _OK:
            http = int(code[:3]) if code[:3].isdigit() and code[0] in "45" else 502
            raise error_for_status(self.name, http, orjson.dumps(answer), secret)
        result = answer.get("result")
        if not isinstance(result, dict):
            raise error_for_transport(self.name, ValueError("the answer has no result"))
        usage = Usage()
        clova_usage(result, usage)
        try:
            completion = openai_completion(
                result, model=model, created=int(self._clock()), usage=usage
            )
        except TranslationError as exc:
            raise error_for_transport(self.name, exc) from exc
        return Reply(status=200, body=client_answer(call, completion, self.name), usage=usage)

    async def stream(self, call: Call) -> StreamReply:
        openai_body = openai_chat_body(call, self.name, stream=True)
        model = str(openai_body.get("model") or "")
        options = openai_body.get("stream_options")
        usage = Usage()
        inner = ClovaToOpenAIStream(
            model=model,
            created=int(self._clock()),
            include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
            usage=usage,
        )
        secret = self._key.current()
        chunks = await open_stream(
            await self._session.get(),
            self._url(model),
            ClientPipe(inner, wire=call.wire, model=model, usage=usage),
            provider=self.name,
            headers=self._headers(call, secret),
            secret=secret,
            body=self._request(openai_body),
        )
        return StreamReply(chunks=chunks, usage=usage)

    async def models(self) -> list[str]:
        return []  # the API key cannot list models; routes name them (HCX-005, HCX-007 …)

    async def aclose(self) -> None:
        await self._session.aclose()

    def _request(self, openai_body: Json) -> Json:
        try:
            return clova_request(openai_body)
        except TranslationError as exc:
            raise UpstreamError(
                f"{self.name}: {exc}", provider=self.name, status=400, kind="unsupported"
            ) from exc

    def _url(self, model: str) -> str:
        return f"{self._base}/v3/chat-completions/{quote(model, safe='')}"

    @staticmethod
    def _headers(call: Call, key: str | None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "sumun",
            "X-NCP-CLOVASTUDIO-REQUEST-ID": call.request_id,
        }
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return headers
