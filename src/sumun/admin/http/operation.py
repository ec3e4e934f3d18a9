"""One admin API operation, declared once: its route, who may call it, its input and output
models and its handler. The Starlette routes (`app.py`) and the OpenAPI document
(`openapi.py`) are both derived from these declarations.

Every operation runs the same steps, in this order (`endpoint`):

    1. authenticate   bearer key → Caller                 401 (nothing else is read first)
    2. authorize      the role table, then the scope      403
    3. read input     query string, then the JSON body    400 / 413 / 415
    4. handle         in a worker thread (stores block)   4xx from the handler's SumunError
    5. answer         the response model as JSON, never cached

An unexpected exception is logged once with the request id (never the request's content) and
answered 500 with that id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sumun.admin.http.auth import Caller, authenticate
from sumun.admin.http.context import AdminContext
from sumun.admin.http.errors import (
    NO_STORE,
    HttpError,
    error_response,
    headers_of,
    status_of,
)
from sumun.admin.http.inputs import BodyModel, QueryModel, read_body, read_query
from sumun.errors import AuthError, SumunError
from sumun.store.model import Permission

__all__ = ["API_PREFIX", "Call", "Operation", "Reply", "Text", "authorize", "endpoint"]

log = logging.getLogger("sumun.admin.http")

API_PREFIX = "/admin/v1"

Q = TypeVar("Q", bound=QueryModel)
B = TypeVar("B", bound=BodyModel)


@dataclass(frozen=True, slots=True)
class Text:
    """A response that is not a JSON model (the metrics' Prometheus text, the OpenAPI file)."""

    body: bytes
    media_type: str


Reply = BaseModel | Text


@dataclass(frozen=True, slots=True)
class Call(Generic[Q, B]):
    """One call's typed input, handed to the handler."""

    caller: Caller | None  # None only for public operations (the OpenAPI document)
    path: Mapping[str, str]
    query: Q
    body: B

    @property
    def who(self) -> Caller:
        if self.caller is None:  # pragma: no cover - a declaration error, not a request's
            raise RuntimeError("this operation is public: it has no caller")
        return self.caller


@dataclass(frozen=True, slots=True)
class Operation(Generic[Q, B]):
    method: Literal["GET", "POST"]
    path: str  # below API_PREFIX, e.g. "/providers/{name}/cut"
    name: str  # the OpenAPI operationId
    summary: str
    tag: str
    # The role-table permission needed; None: public (only the OpenAPI document is).
    permission: Permission | None
    query: type[Q]
    body: type[B]
    response: type[BaseModel] | None  # None: `media_type` text (Text replies)
    handler: Callable[[AdminContext, Call[Q, B]], Reply]
    status: int = 200
    # "deployment": only keys of the operator tenant (auth.py); "tenant": any scope, the
    # handler keeps a tenant-scoped caller to its tenant.
    scope: Literal["tenant", "deployment"] = "tenant"
    media_type: str = "application/json"
    description: str = ""

    @property
    def route(self) -> str:
        return API_PREFIX + self.path

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(p.split("}")[0] for p in self.path.split("{")[1:])


def _answer(op: Operation[Any, Any], reply: Reply, request_id: str) -> Response:
    headers = {**NO_STORE, "x-request-id": request_id}
    if isinstance(reply, Text):
        return Response(
            reply.body, status_code=op.status, media_type=reply.media_type, headers=headers
        )
    return JSONResponse(reply.model_dump(mode="json"), status_code=op.status, headers=headers)


def authorize(op: Operation[Any, Any], caller: Caller, operator_tenant: str) -> None:
    """Step 2: the role table, then the scope (ForbiddenError → 403). The console runs the
    same check before it calls a handler, so it can do nothing the API would refuse."""
    if op.permission is not None:
        caller.require(op.permission)
    if op.scope == "deployment":
        caller.require_operator(f"{op.method} {op.route}", operator_tenant)


def endpoint(op: Operation[Q, B], ctx: AdminContext) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint that runs `op` through the steps in the module docstring."""

    def identify(request: Request) -> Caller:
        caller = authenticate(ctx.directory, request, ctx.operator_tenant)  # 1
        authorize(op, caller, ctx.operator_tenant)  # 2
        return caller

    async def run(request: Request) -> Response:
        request_id = uuid.uuid4().hex
        try:
            caller = None
            if op.permission is not None:
                try:
                    caller = await run_in_threadpool(identify, request)
                except AuthError as exc:
                    ctx.metrics.count_auth_failure(exc)
                    raise
            query = read_query(request, op.query)  # 3
            body = await read_body(request, op.body) if op.method == "POST" else op.body()
            call = Call(caller, dict(request.path_params), query, body)
            reply = await run_in_threadpool(op.handler, ctx, call)  # 4
        except HttpError as exc:
            return error_response(exc.status, exc.kind, str(exc), request_id=request_id)
        except SumunError as exc:
            return error_response(
                status_of(exc),
                type(exc).__name__,
                str(exc),
                request_id=request_id,
                headers=headers_of(exc),
            )
        except Exception:
            log.exception("admin API %s %s failed (request %s)", op.method, op.route, request_id)
            return error_response(
                500,
                "InternalError",
                f"the server failed; it logged request id {request_id}",
                request_id=request_id,
            )
        return _answer(op, reply, request_id)  # 5

    return run
