"""Turn an HTTP request into typed input: a size-capped JSON body and the query string,
each validated by the operation's pydantic model.

Refusals (never quoting what was sent):
    413  body over `MAX_BODY_BYTES` (declared or actual)
    415  a non-empty body that is not `application/json`
    400  not JSON, not an object, a wrong type, a missing or unknown field, a repeated or
         unknown query parameter — the message names the field and the rule broken
An empty body is the empty object: `POST …/restore` needs no body at all.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

from sumun.admin.http.errors import HttpError
from sumun.errors import UsageError

__all__ = [
    "MAX_BODY_BYTES",
    "BodyModel",
    "NoBody",
    "NoQuery",
    "QueryModel",
    "body_from",
    "read_body",
    "read_query",
]

MAX_BODY_BYTES = 64 * 1024
_MAX_PROBLEMS = 5

M = TypeVar("M", bound=BaseModel)


class BodyModel(BaseModel):
    """A request body: strict types (no "5" for 5, no true for 1), no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class QueryModel(BaseModel):
    """Query parameters: strings converted to the declared types, no unknown names."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoBody(BodyModel):
    """No fields: an empty body or `{}`."""


class NoQuery(QueryModel):
    """No query parameters."""


def _problems(where: str, model: type[BaseModel], exc: ValidationError) -> str:
    """Field paths and rules broken; never the input (pydantic keeps that in `input`), and an
    unknown field is not named back: the allowed ones are."""
    out = []
    for err in exc.errors(include_input=False, include_url=False)[:_MAX_PROBLEMS]:
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields) or "none"
            out.append(f"{where}: unknown field (allowed: {allowed})")
            continue
        loc = ".".join(str(part) for part in (where, *err["loc"]))
        out.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - _MAX_PROBLEMS
    return "; ".join(out) + (f" (and {more} more)" if more > 0 else "")


async def _raw(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HttpError(413, "RequestTooLarge", f"request body over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, "RequestTooLarge", f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, model: type[M], *, limit: int = MAX_BODY_BYTES) -> M:
    raw = await _raw(request, limit)
    if not raw.strip():
        raw = b"{}"
    else:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise HttpError(
                415, "UnsupportedMediaType", "send the body as `Content-Type: application/json`"
            )
        try:
            data: Any = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise UsageError("request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise UsageError("request body must be a JSON object")
    try:
        # JSON mode: strict types as JSON has them (an enum's value is a string there).
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise UsageError(_problems("body", model, exc)) from exc


def body_from(model: type[M], data: dict[str, Any]) -> M:
    """A body model from already-parsed fields (the console's forms), refused as `read_body`
    refuses a JSON body: UsageError naming the field and the rule, never the value."""
    try:
        # Through JSON, so the rules are exactly a JSON body's (an enum given by its value).
        return model.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        raise UsageError(_problems("form", model, exc)) from exc


def read_query(request: Request, model: type[M]) -> M:
    params = request.query_params
    if any(len(params.getlist(k)) > 1 for k in params):
        raise UsageError("a query parameter is given more than once")
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise UsageError(_problems("query", model, exc)) from exc
