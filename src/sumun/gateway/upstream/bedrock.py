"""Amazon Bedrock Runtime, natively: Converse and ConverseStream, signed with AWS SigV4.

    POST {base_url}/model/{modelId}/converse          JSON in, JSON out
    POST {base_url}/model/{modelId}/converse-stream   JSON in, application/vnd.amazon.eventstream

`base_url` defaults to `https://bedrock-runtime.{region}.amazonaws.com` (e.g. `region:
ap-northeast-2`, Seoul); the route's model is the Bedrock model id or inference profile
(`anthropic.claude-…-v1:0`, `apac.amazon.nova-pro-v1:0`, an ARN). Requests are signed by
botocore's own SigV4 signer (service `bedrock`) with credentials from an AWS shared
credentials file (`aws_credentials_file`, re-read when it changes, so STS temporary credentials
a sidecar renews are used without a reload: see `_credentials`), or from the environment: the
standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or the variables the
provider names, read once when the provider is built and fixed until a restart.

Translation pivots on Anthropic Messages (see `_converse`): Anthropic clients map straight to
Converse, OpenAI chat clients go through `sumun.gateway.translate` first; answers and streams
come back the same way. Embeddings and the responses API are not offered: 400 `unsupported`.
Bedrock Runtime cannot list models, so `models()` is empty.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from sumun.config import ProviderConfig
from sumun.errors import ConfigError
from sumun.gateway.translate import (
    AnthropicToOpenAIStream,
    TranslationError,
    anthropic_to_openai_response,
    openai_to_anthropic_request,
)
from sumun.gateway.upstream._converse import (
    anthropic_to_converse,
    converse_to_anthropic,
    read_usage,
)
from sumun.gateway.upstream._converse_stream import ConverseToAnthropicEvents
from sumun.gateway.upstream._credentials import AwsCredentials, aws_credentials
from sumun.gateway.upstream._eventstream import (
    EventStreamReply,
    botocore,
    error_for_response,
)
from sumun.gateway.upstream._http import UpstreamSession, error_for_transport
from sumun.gateway.upstream.base import Call, Reply, StreamReply, UpstreamError, Usage, Wire

__all__ = ["BedrockAdapter", "default_base_url"]

Json = dict[str, Any]
_EVENTSTREAM = "application/vnd.amazon.eventstream"
_TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)


def default_base_url(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


class _AnthropicOut:
    """ConverseStream events as Anthropic stream events."""

    def __init__(self, events: ConverseToAnthropicEvents) -> None:
        self._events = events

    @property
    def done(self) -> bool:
        return self._events.done

    def feed(self, kind: str, payload: Json) -> list[bytes]:
        return [event.encode() for event in self._events.feed(kind, payload)]

    def close(self) -> list[bytes]:
        return [event.encode() for event in self._events.close()]


class _OpenAIOut:
    """ConverseStream events as OpenAI chunks, through the Anthropic -> OpenAI stream translator."""

    def __init__(self, events: ConverseToAnthropicEvents, openai: AnthropicToOpenAIStream) -> None:
        self._events = events
        self._openai = openai

    @property
    def done(self) -> bool:
        return self._openai.done

    def feed(self, kind: str, payload: Json) -> list[bytes]:
        return [
            out for event in self._events.feed(kind, payload) for out in self._openai.feed(event)
        ]

    def close(self) -> list[bytes]:
        out = [chunk for event in self._events.close() for chunk in self._openai.feed(event)]
        return out + self._openai.close()


class BedrockAdapter:
    """A `ProviderAdapter` for Amazon Bedrock Runtime's Converse API (kind `bedrock`)."""

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        if config.kind != "bedrock" or not config.region:
            raise ConfigError(f"provider {config.name!r} is not a bedrock provider with a region")
        base = (config.base_url or default_base_url(config.region)).rstrip("/")
        self._config = config.model_copy(update={"base_url": base})
        self._base = base
        self._clock = clock
        self._credentials = aws_credentials(config)
        # botocore logs each canonical request (the session token included) at DEBUG: a debug
        # log level elsewhere must never put AWS credentials into Sumun's logs.
        logging.getLogger("botocore.auth").setLevel(logging.INFO)
        self._signed_with: AwsCredentials | None = None
        self._signer: Any = None
        self._signer_for(self._credentials.current())
        self._request_class = botocore("awsrequest").AWSRequest
        self._session = UpstreamSession(self._config)

    @property
    def name(self) -> str:
        return self._config.name

    async def complete(self, call: Call) -> Reply:
        model, body = self._request(call)
        response = await self._post(call, model, "converse", body, accept="application/json")
        try:
            try:
                answer = orjson.loads(await response.read())
            finally:
                response.close()
        except _TRANSPORT_ERRORS as exc:
            raise error_for_transport(self.name, exc) from exc
        except orjson.JSONDecodeError as exc:
            raise error_for_transport(self.name, ValueError("the answer is not JSON")) from exc
        if not isinstance(answer, dict):
            raise error_for_transport(self.name, ValueError("the answer is not a JSON object"))
        usage = Usage()
        read_usage(answer.get("usage"), usage)
        message = converse_to_anthropic(answer, model=model, message_id=self._message_id(call))
        if call.wire is Wire.OPENAI:
            try:
                message = anthropic_to_openai_response(message, created=int(self._clock()))
            except TranslationError as exc:
                raise error_for_transport(self.name, exc) from exc
        return Reply(status=200, body=message, usage=usage)

    async def stream(self, call: Call) -> StreamReply:
        model, body = self._request(call)
        usage = Usage()
        events = ConverseToAnthropicEvents(
            model=model, message_id=self._message_id(call), usage=usage
        )
        pipe: _AnthropicOut | _OpenAIOut
        if call.wire is Wire.OPENAI:
            options = call.body.get("stream_options")
            openai = AnthropicToOpenAIStream(
                model=model,
                created=int(self._clock()),
                include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
                usage=usage,
            )
            pipe = _OpenAIOut(events, openai)
        else:
            pipe = _AnthropicOut(events)
        response = await self._post(call, model, "converse-stream", body, accept=_EVENTSTREAM)
        if not response.headers.get("Content-Type", "").startswith(_EVENTSTREAM):
            response.close()
            raise error_for_transport(self.name, ValueError("the answer is not an event stream"))
        secrets = self._credentials.current().secrets()
        chunks = EventStreamReply(response, pipe, provider=self.name, secrets=secrets)
        await chunks.prefetch()
        return StreamReply(chunks=chunks, usage=usage)

    async def models(self) -> list[str]:
        return []  # Bedrock Runtime has no model list (that is the control-plane API)

    async def aclose(self) -> None:
        await self._session.aclose()

    def _request(self, call: Call) -> tuple[str, Json]:
        """(model id, Converse body). Never mutates the caller's body."""
        try:
            if call.wire is Wire.ANTHROPIC and call.endpoint == "messages":
                anthropic: Json = dict(call.body)
            elif call.wire is Wire.OPENAI and call.endpoint == "chat":
                anthropic = openai_to_anthropic_request(call.body)
                if not (call.body.get("max_completion_tokens") or call.body.get("max_tokens")):
                    del anthropic["max_tokens"]  # Converse does not require one: model default
            else:
                raise UpstreamError(
                    f"{call.endpoint} is not supported by Amazon Bedrock "
                    "(chat completions and messages are)",
                    provider=self.name,
                    status=400,
                    kind="unsupported",
                )
            body = anthropic_to_converse(anthropic)
        except TranslationError as exc:
            raise UpstreamError(
                str(exc), provider=self.name, status=400, kind="unsupported"
            ) from exc
        return str(call.body.get("model") or ""), body

    async def _post(
        self, call: Call, model: str, action: str, body: Json, *, accept: str
    ) -> aiohttp.ClientResponse:
        """Send one signed request; the response once its headers are in (not an error)."""
        url = f"{self._base}/model/{quote(model, safe='')}/{action}"
        content = orjson.dumps(body)
        request = self._request_class(
            method="POST",
            url=url,
            data=content,
            headers={"Content-Type": "application/json", "Accept": accept},
        )
        credentials = self._credentials.current()
        # Authorization, X-Amz-Date (+ X-Amz-Security-Token)
        self._signer_for(credentials).add_auth(request)
        headers = {str(k): str(v) for k, v in request.headers.items()}
        headers.update({"User-Agent": "sumun", "X-Request-Id": call.request_id})
        if accept == _EVENTSTREAM:
            headers["Accept-Encoding"] = "identity"
        session = await self._session.get()
        try:
            # encoded=True: the path goes out exactly as signed (a model id's `:` stays %3A).
            response = await session.request(
                "POST", URL(url, encoded=True), data=content, headers=headers, allow_redirects=False
            )
        except _TRANSPORT_ERRORS as exc:
            raise error_for_transport(self.name, exc) from exc
        if response.status >= 400:
            try:
                error_body = await response.read()
            except _TRANSPORT_ERRORS:
                error_body = b""
            finally:
                response.close()
            raise error_for_response(
                self.name, response.status, response.headers, error_body, credentials.secrets()
            )
        return response

    def _signer_for(self, credentials: AwsCredentials) -> Any:
        """botocore's SigV4 signer for these credentials, made anew only when they change."""
        if credentials is not self._signed_with:
            keys = botocore("credentials").Credentials(
                credentials.access_key, credentials.secret_key, credentials.token
            )
            self._signer = botocore("auth").SigV4Auth(keys, "bedrock", self._config.region)
            self._signed_with = credentials
        return self._signer

    @staticmethod
    def _message_id(call: Call) -> str:
        return f"msg_bdrk_{call.request_id}"
