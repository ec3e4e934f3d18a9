"""The admin API's error answers: one JSON shape, one status per error (from sumun.errors).

    {"error": {"type": "<error class>", "message": "<what went wrong and what to do>"}}

A message MUST NOT echo the request's content (bodies are neither quoted nor logged); it may
name a field, a limit, or the tenant / provider / key id the caller put in the path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.responses import JSONResponse

from sumun.errors import SumunError, http_status

__all__ = ["NO_STORE", "HttpError", "error_response", "headers_of", "status_of"]

log = logging.getLogger("sumun.admin.http")

# Every answer may carry a secret (an issued key) or tenant data: never cached, never sniffed.
NO_STORE = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


class HttpError(Exception):
    """A request the HTTP layer refuses before any handler runs (size, media type, JSON).
    Internal to the wire adapter, like the gateway's `BadRequestError`."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def status_of(exc: SumunError) -> int:
    """The error's own status (stated once, in sumun.errors); 409 for one without."""
    return http_status(exc, 409)


def headers_of(exc: SumunError) -> Mapping[str, str]:
    """Headers an error asks its answer to carry (e.g. `Retry-After`), from its own `headers`."""
    own = getattr(exc, "headers", None)
    return own if isinstance(own, Mapping) else {}


def error_response(
    status: int,
    kind: str,
    message: str,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    extra = dict(NO_STORE)
    if request_id is not None:
        extra["x-request-id"] = request_id
    if status == 401:
        extra["www-authenticate"] = 'Bearer realm="sumun-admin"'
    extra.update(headers or {})
    return JSONResponse(
        {"error": {"type": kind, "message": message}}, status_code=status, headers=extra
    )
