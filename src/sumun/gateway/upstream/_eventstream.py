"""AWS plumbing for the Bedrock adapter: botocore (lazily), AWS error mapping, and the pump that
reads ConverseStream's binary `application/vnd.amazon.eventstream` answer.

Errors map like every other upstream's (see `_http`), keyed by AWS's error type:

    ThrottlingException, ServiceQuotaExceeded, HTTP 429   -> 429 rate_limited  retryable
    ServiceUnavailable, ModelNotReady                     -> 503 unavailable   retryable
    InternalServer, ModelError, ModelStreamError, 5xx     -> 502               retryable
    ModelTimeout, HTTP 408                                -> 504 timeout       retryable
    AccessDenied, UnrecognizedClient, signature, 401/403  -> 502 upstream_auth retryable
                                                             (Sumun's AWS credentials, not the
                                                             client's: never shown as 401/403)
    ValidationException, other 4xx                        -> same status, bad_request

The same names arrive as `exception` messages inside a stream; once a chunk reached the client
(`started=True`) nothing is retryable. Framing is decoded by botocore's own event-stream parser
(prelude and message CRC32s checked), never by hand.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Protocol

import aiohttp
import orjson

from sumun.errors import ConfigError
from sumun.gateway.translate import TranslationError
from sumun.gateway.upstream._http import ReadingStream
from sumun.gateway.upstream.base import UpstreamError

__all__ = ["ConversePipe", "EventStreamReply", "aws_error", "botocore", "error_for_response"]

Json = dict[str, Any]
_MESSAGE_LIMIT = 500
# The client-error exceptions a stream may carry, with their HTTP status; any other is a 5xx.
_CLIENT_ERRORS = {"validation": 400, "resourcenotfound": 404, "accessdenied": 403}
_AUTH = (
    "accessdenied",
    "unrecognizedclient",
    "invalidsignature",
    "signaturedoesnotmatch",
    "incompletesignature",
    "missingauthenticationtoken",
    "expiredtoken",
    "invalidclienttokenid",
)


def botocore(module: str) -> Any:
    """A botocore module (`auth`, `awsrequest`, `credentials`, `eventstream`), imported when a
    Bedrock provider is first built: the rest of Sumun does not need botocore installed."""
    try:
        return importlib.import_module(f"botocore.{module}")
    except ImportError as exc:
        raise ConfigError(
            "Amazon Bedrock providers need botocore (AWS's SigV4 signer)",
            advice="install it: pip install 'sumun[bedrock]'",
        ) from exc


def _clean(message: str, secrets: tuple[str, ...]) -> str:
    text = " ".join(message.split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    if len(text) > _MESSAGE_LIMIT:
        text = text[:_MESSAGE_LIMIT] + "…"
    return text or "no details given"


def aws_error(
    provider: str,
    status: int,
    error_type: str,
    message: str,
    *,
    secrets: tuple[str, ...] = (),
    started: bool = False,
) -> UpstreamError:
    """The UpstreamError for an AWS error (an HTTP error answer or a stream exception)."""
    name = error_type.split(":", 1)[0].rsplit("#", maxsplit=1)[-1] or f"HTTP {status}"
    key = name.lower().removesuffix("exception")
    text = _clean(message, secrets)
    said = f"Amazon Bedrock answered {name}: {text}"  # the gateway names the provider
    if status < 400:  # an exception inside a stream: the status AWS gives it over HTTP
        status = _CLIENT_ERRORS.get(key, 500)
    code, kind, retryable = status, "bad_request", False
    if key in ("throttling", "servicequotaexceeded", "toomanyrequests") or status == 429:
        code, kind, retryable = 429, "rate_limited", True
    elif key in ("serviceunavailable", "modelnotready"):
        code, kind, retryable = 503, "unavailable", True
    elif key in ("modeltimeout",) or status == 408:
        code, kind, retryable = 504, "timeout", True
    elif key in _AUTH or status in (401, 403):
        code, kind, retryable = 502, "upstream_auth", True
        said = (
            f"Amazon Bedrock refused Sumun's AWS credentials ({name}): {text} — "
            "check the provider's access key, secret and session token, its region, and that "
            "the IAM identity may call bedrock:InvokeModel on this model"
        )
    elif key in ("internalserver", "modelerror", "modelstreamerror") or status >= 500:
        code, kind, retryable = 502, "upstream_error", True
    return UpstreamError(
        said,
        provider=provider,
        status=code,
        retryable=retryable and not started,
        started=started,
        kind=kind,
    )


def error_for_response(
    provider: str, status: int, headers: Any, body: bytes, secrets: tuple[str, ...]
) -> UpstreamError:
    """The UpstreamError for an HTTP error answer from Bedrock Runtime."""
    error_type = str(headers.get("x-amzn-ErrorType") or "")
    message = ""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        message = body.decode("utf-8", errors="replace")
    else:
        if isinstance(parsed, dict):
            message = str(parsed.get("message") or parsed.get("Message") or "")
            error_type = error_type or str(parsed.get("__type") or "")
    return aws_error(provider, status, error_type, message, secrets=secrets)


class ConversePipe(Protocol):
    """Turns ConverseStream events into client SSE bytes."""

    @property
    def done(self) -> bool: ...  # the answer is whole

    def feed(self, kind: str, payload: Json) -> list[bytes]: ...

    def close(self) -> list[bytes]: ...


class EventStreamReply(ReadingStream):
    """The `chunks` of a Bedrock StreamReply: AWS's binary event stream, read as the client
    reads us (`_http.ReadingStream` does the reading, closing and retry rules)."""

    _pipe: ConversePipe

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        pipe: ConversePipe,
        *,
        provider: str,
        secrets: tuple[str, ...],
    ) -> None:
        super().__init__(response, pipe, provider=provider)
        self._secrets = secrets
        self._buffer = botocore("eventstream").EventStreamBuffer()

    def _decode(self, raw: bytes) -> list[bytes]:
        out: list[bytes] = []
        parser_error = botocore("eventstream").ParserError
        try:
            self._buffer.add_data(raw)
            for message in self._buffer:
                fault = self._message(message, out)
                if fault is not None:
                    if not self._started:
                        raise fault  # nothing handed out yet: the router may fail over
                    self._error = fault
                    break
                if self._pipe.done:
                    break
        except parser_error as exc:
            raise self._broken(ValueError(f"broken event-stream framing ({exc})")) from exc
        except (orjson.JSONDecodeError, TranslationError) as exc:
            raise self._broken(ValueError(f"unreadable event ({type(exc).__name__})")) from exc
        return out

    def _message(self, message: Any, out: list[bytes]) -> UpstreamError | None:
        headers = message.headers
        kind = str(headers.get(":message-type") or "event")
        if kind == "event":
            payload = orjson.loads(message.payload) if message.payload else {}
            if not isinstance(payload, dict):
                raise TranslationError("an event payload is not a JSON object")
            out.extend(self._pipe.feed(str(headers.get(":event-type") or ""), payload))
            return None
        error_type = str(headers.get(":exception-type") or headers.get(":error-code") or kind)
        text = headers.get(":error-message") or ""
        with contextlib.suppress(orjson.JSONDecodeError):
            parsed = orjson.loads(message.payload)
            if isinstance(parsed, dict):
                text = parsed.get("message") or parsed.get("Message") or text
        return aws_error(
            self._provider,
            200,
            error_type,
            f"in its stream: {text}",
            secrets=self._secrets,
            started=self._started,
        )
