"""Google's Gemini models, natively: the Gemini API (`kind: gemini`) and Vertex AI (`kind: vertex`).

    gemini  POST {base}/v1beta/models/{model}:generateContent           x-goog-api-key: <key>
            (base https://generativelanguage.googleapis.com unless base_url says otherwise)
    vertex  POST {base}/v1/projects/{project}/locations/{location}/publishers/google/models/
                 {model}:generateContent                               Authorization: Bearer <token>
            (base https://{location}-aiplatform.googleapis.com, e.g. asia-northeast3 for Seoul)

Streaming calls `:streamGenerateContent?alt=sse`: one `GenerateContentResponse` per `data:` line.
OpenAI clients' chat completions are translated to Gemini and back (`_gemini_convert`);
Anthropic clients go through OpenAI first (`_via_openai`). Embeddings and the responses API are
refused (400 `unsupported`).

Vertex takes an OAuth access token, not a key. Sumun does not mint tokens (no google-auth
dependency): the operator keeps a fresh one in the file `api_key_file` names — rewritten by
a timer from `gcloud auth print-access-token`, or by a workload identity sidecar — and it is
re-read when it changes (`_credentials`), before the old one expires (about an hour). A token
in the variable `api_key_env` names is fixed until a restart. An expired token
is refused upstream (401) and reported as a 502 `upstream_auth` that says so — never as the
client's own authentication failure, and never with the token in it.

Errors follow `_http` (429 RESOURCE_EXHAUSTED -> 429 retryable; 5xx UNAVAILABLE -> 502
retryable; 400 INVALID_ARGUMENT -> 400), except that the Gemini API answers a wrong API key
with 400 API_KEY_INVALID, which is Sumun's credential problem and so a 502 `upstream_auth`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.translate import TranslationError
from sumun.gateway.upstream._credentials import api_secret
from sumun.gateway.upstream._gemini_convert import (
    GeminiToOpenAIStream,
    gemini_request,
    gemini_usage,
    openai_completion,
)
from sumun.gateway.upstream._http import (
    UpstreamSession,
    error_for_transport,
    open_stream,
    send_json,
)
from sumun.gateway.upstream._via_openai import (
    ClientPipe,
    client_answer,
    openai_chat_body,
)
from sumun.gateway.upstream.base import Call, Reply, StreamReply, UpstreamError, Usage

__all__ = ["GEMINI_API_BASE", "GeminiAdapter", "vertex_base"]

GEMINI_API_BASE = "https://generativelanguage.googleapis.com"
# Google Cloud project ids and region names; both end up in the URL (the region in the host).
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_LOCATION = re.compile(r"^[a-z]+(?:-[a-z0-9]+)*$")

Json = dict[str, Any]


def vertex_base(location: str) -> str:
    """The regional Vertex AI endpoint (the `global` location has no region prefix)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


class GeminiAdapter:
    """A `ProviderAdapter` for Gemini models on the Gemini API or Vertex AI."""

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        if config.kind not in ("gemini", "vertex"):
            raise ConfigError(f"provider {config.name!r} is {config.kind}, not gemini or vertex")
        self._vertex = config.kind == "vertex"
        if self._vertex:
            config = self._check_vertex(config)
        elif not config.base_url:
            config = config.model_copy(update={"base_url": GEMINI_API_BASE})
        self._config = config
        self._base = str(config.base_url).rstrip("/")
        self._key = api_secret(config)  # read per request: a token file may be renewed
        self._clock = clock
        self._session = UpstreamSession(config)

    @staticmethod
    def _check_vertex(config: ProviderConfig) -> ProviderConfig:
        project, location = str(config.project), str(config.location)
        if not _PROJECT.match(project) or not _LOCATION.match(location):
            raise ConfigError(
                f"provider {config.name!r}: {project!r} / {location!r} is not a Google Cloud "
                "project id and location",
                advice="e.g. project: my-project-123, location: asia-northeast3",
            )
        if config.api_key_env is None and config.api_key_file is None:
            raise ConfigError(
                f"provider {config.name!r} (vertex) needs api_key_env (a variable holding its "
                "access token) or api_key_file (a file renewed with it)",
                advice="e.g. api_key_file: vertex.token, rewritten by a timer from "
                "`gcloud auth print-access-token`",
            )
        if not config.base_url:
            config = config.model_copy(update={"base_url": vertex_base(location)})
        return config

    @property
    def name(self) -> str:
        return self._config.name

    async def complete(self, call: Call) -> Reply:
        openai_body = openai_chat_body(call, self.name, stream=False)
        model = str(openai_body.get("model") or "")
        try:
            answer = await send_json(
                await self._session.get(),
                "POST",
                self._url(model, "generateContent"),
                provider=self.name,
                headers=self._headers(call),
                secret=self._secret(),
                body=self._request(openai_body),
            )
        except UpstreamError as exc:
            raise self._credential_error(exc) from exc
        usage = Usage()
        gemini_usage(answer, usage)
        try:
            completion = openai_completion(
                answer, model=model, created=int(self._clock()), usage=usage
            )
        except TranslationError as exc:
            raise error_for_transport(self.name, exc) from exc
        return Reply(status=200, body=client_answer(call, completion, self.name), usage=usage)

    async def stream(self, call: Call) -> StreamReply:
        openai_body = openai_chat_body(call, self.name, stream=True)
        model = str(openai_body.get("model") or "")
        options = openai_body.get("stream_options")
        usage = Usage()
        inner = GeminiToOpenAIStream(
            model=model,
            created=int(self._clock()),
            include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
            usage=usage,
        )
        try:
            chunks = await open_stream(
                await self._session.get(),
                self._url(model, "streamGenerateContent"),
                ClientPipe(inner, wire=call.wire, model=model, usage=usage),
                provider=self.name,
                headers=self._headers(call),
                secret=self._secret(),
                body=self._request(openai_body),
                params={"alt": "sse"},
            )
        except UpstreamError as exc:
            raise self._credential_error(exc) from exc
        return StreamReply(chunks=chunks, usage=usage)

    async def models(self) -> list[str]:
        if self._vertex:
            return []  # Vertex lists publisher models per region elsewhere; routes name them
        answer = await send_json(
            await self._session.get(),
            "GET",
            f"{self._base}/v1beta/models",
            provider=self.name,
            headers=self._headers(None),
            secret=self._secret(),
            params={"pageSize": "1000"},
        )
        return [
            str(m["name"]).removeprefix("models/")
            for m in answer.get("models") or ()
            if isinstance(m, dict) and "name" in m
        ]

    async def aclose(self) -> None:
        await self._session.aclose()

    def _request(self, openai_body: Json) -> Json:
        try:
            return gemini_request(openai_body)
        except TranslationError as exc:
            raise UpstreamError(
                f"{self.name}: {exc}", provider=self.name, status=400, kind="unsupported"
            ) from exc

    def _url(self, model: str, method: str) -> str:
        name = quote(model, safe="")
        if not self._vertex:
            return f"{self._base}/v1beta/models/{name}:{method}"
        project = quote(str(self._config.project), safe="")
        location = quote(str(self._config.location), safe="")
        return (
            f"{self._base}/v1/projects/{project}/locations/{location}"
            f"/publishers/google/models/{name}:{method}"
        )

    def _secret(self) -> str | None:
        return self._key.current()

    def _headers(self, call: Call | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "sumun"}
        secret = self._secret()
        if secret is not None:
            if self._vertex:
                headers["Authorization"] = f"Bearer {secret}"
            else:
                headers["x-goog-api-key"] = secret
        if call is not None:
            headers["X-Request-Id"] = call.request_id
        return headers

    def _credential_error(self, exc: UpstreamError) -> UpstreamError:
        """A refused credential said plainly (which variable, what to do), never shown."""
        refused_key = exc.status == 400 and "API key not valid" in str(exc)
        if exc.kind != "upstream_auth" and not refused_key:
            return exc
        what = "access token" if self._vertex else "API key"
        hint = (
            (
                "it may have expired: check that the file is renewed "
                "(e.g. from `gcloud auth print-access-token`)"
                if self._config.api_key_file is not None
                else "it may have expired: renew it (e.g. `gcloud auth print-access-token`) "
                "and restart, or use api_key_file for a token renewed while Sumun runs"
            )
            if self._vertex
            else "check the key and that the Generative Language API is enabled for it"
        )
        return UpstreamError(
            f"{self.name}: the upstream refused Sumun's {what} "
            f"(from {self._key.origin}); {hint} [{exc}]",
            provider=self.name,
            status=502,
            retryable=True,
            kind="upstream_auth",
        )
