"""How a failed request reads on the wire: exception → status, error code and message.

Known errors map to the status the caller can act on (401, 403, 404, 429, 503 with advice);
anything else is a 500 that says the request was not forwarded — never a traceback.
"""

from __future__ import annotations

from sumun.errors import (
    AuthError,
    BackendError,
    BudgetExceededError,
    ForbiddenError,
    KeyDestroyedError,
    KeyDisabledError,
    KeyStateError,
    LedgerError,
    ProviderCutError,
    RateLimitedError,
    SealedError,
    SumunError,
    http_status,
)
from sumun.gateway.router import UnknownModelError
from sumun.gateway.upstream.base import UpstreamError, Wire
from sumun.gateway.upstream.sse import json_event
from sumun.gateway.wire import BadRequestError

__all__ = ["classify_failure", "stream_error"]


# exception types -> (error code, how the message reads); the first match wins. The status is
# the error's own (`sumun.errors.http_status`, stated once in sumun.errors); 503 for a
# SumunError without one: Sumun cannot serve the request now, the caller may retry.
_CLASSES: tuple[tuple[tuple[type[BaseException], ...], str, str], ...] = (
    ((UnknownModelError,), "model_not_found", "{exc}"),
    ((AuthError,), "invalid_api_key", "{exc}"),
    ((RateLimitedError, BudgetExceededError), "rate_limit_exceeded", "{exc}"),
    ((ForbiddenError,), "forbidden", "{exc}"),
    (
        (KeyDisabledError, KeyDestroyedError, KeyStateError),
        "tenant_key_revoked",
        "this tenant's key does not allow new requests: {exc}",
    ),
    ((ProviderCutError,), "provider_cut", "{exc}"),
    (
        (SealedError, BackendError, LedgerError),
        "unavailable",
        "Sumun cannot protect and record this request now: {exc}",
    ),
    ((SumunError,), "unavailable", "Sumun cannot serve this request now: {exc}"),
)

_UNLISTED = 503  # a SumunError without a status of its own


def classify_failure(exc: Exception) -> tuple[int, str, str | None]:
    """(status, message, code) of the answer to a request that failed with `exc`."""
    if isinstance(exc, BadRequestError):
        return exc.status, str(exc), exc.code
    if isinstance(exc, UpstreamError):
        return exc.status, f"provider {exc.provider}: {exc}", exc.kind
    for kinds, code, template in _CLASSES:
        if isinstance(exc, kinds):
            return http_status(exc, _UNLISTED), template.format(exc=exc), code
    return 500, "internal error in the gateway (the request was not forwarded)", "internal_error"


def stream_error(wire: Wire, exc: UpstreamError | SealedError) -> bytes:
    """The event that ends a stream cut short: by its provider, or by `sumun seal`."""
    if isinstance(exc, UpstreamError):
        message = f"provider {exc.provider}: the stream was interrupted ({exc.kind})"
    else:
        message = str(exc)
    if wire is Wire.ANTHROPIC:
        data = {"type": "error", "error": {"type": "api_error", "message": message}}
        return json_event(data, "error")
    return json_event({"error": {"message": message, "type": "api_error"}})
