"""How a failed request reads on the wire: exception → status, error code and message.

Known errors map to the status the caller can act on (401, 403, 404, 429, 503 with advice);
anything else is a 500 that says the request was not forwarded — never a traceback.
"""

from __future__ import annotations

import orjson

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
)
from sumun.gateway.router import UnknownModelError
from sumun.gateway.upstream.base import UpstreamError, Wire
from sumun.gateway.wire import BadRequestError

__all__ = ["classify_failure", "stream_error"]


# exception types -> (status, code, how the message reads); the first match wins.
_CLASSES: tuple[tuple[tuple[type[BaseException], ...], int, str, str], ...] = (
    ((UnknownModelError,), 404, "model_not_found", "{exc}"),
    ((AuthError,), 401, "invalid_api_key", "{exc}"),
    ((RateLimitedError, BudgetExceededError), 429, "rate_limit_exceeded", "{exc}"),
    ((ForbiddenError,), 403, "forbidden", "{exc}"),
    (
        (KeyDisabledError, KeyDestroyedError, KeyStateError),
        403,
        "tenant_key_revoked",
        "this tenant's key does not allow new requests: {exc}",
    ),
    ((ProviderCutError,), 503, "provider_cut", "{exc}"),
    (
        (SealedError, BackendError, LedgerError),
        503,
        "unavailable",
        "Sumun cannot protect and record this request now: {exc}",
    ),
    ((SumunError,), 503, "unavailable", "Sumun cannot serve this request now: {exc}"),
)


def classify_failure(exc: Exception) -> tuple[int, str, str | None]:
    if isinstance(exc, BadRequestError):
        return exc.status, str(exc), exc.code
    if isinstance(exc, UpstreamError):
        return exc.status, f"provider {exc.provider}: {exc}", exc.kind
    for kinds, status, code, template in _CLASSES:
        if isinstance(exc, kinds):
            return status, template.format(exc=exc), code
    return 500, "internal error in the gateway (the request was not forwarded)", "internal_error"


def stream_error(wire: Wire, exc: UpstreamError | SealedError) -> bytes:
    """The event that ends a stream cut short: by its provider, or by `sumun seal`."""
    if isinstance(exc, UpstreamError):
        message = f"provider {exc.provider}: the stream was interrupted ({exc.kind})"
    else:
        message = str(exc)
    if wire is Wire.ANTHROPIC:
        data = {"type": "error", "error": {"type": "api_error", "message": message}}
        return b"event: error\ndata: " + orjson.dumps(data) + b"\n\n"
    return b"data: " + orjson.dumps({"error": {"message": message, "type": "api_error"}}) + b"\n\n"
