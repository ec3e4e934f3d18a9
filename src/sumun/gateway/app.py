"""The public ASGI app: the model APIs, health, readiness and metrics.

    POST /v1/chat/completions   OpenAI (stream or not)      POST /v1/messages    Anthropic
    POST /v1/responses          OpenAI                      GET  /v1/models      OpenAI
    POST /v1/embeddings         OpenAI
    GET  /healthz  alive        GET /readyz  fail-closed readiness
    GET  /metrics  Prometheus, for an auditor or admin API key (it names tenants)

`/readyz` is the signal load balancers act on: 503 while sealed, while the key backend or the
ledger store is unreachable or cannot append (a full disk reads fine), while the ledger spool
cannot be written or holds more than `ledger.spool_ready_entries` (sumun.ledger.outage), so no
traffic goes to a node that could not protect and record it, and while the node drains for
shutdown (`draining()`, see sumun.server). A spool within its bound is `"degraded"` (still 200).
Without a gateway (the key layer alone) only health and readiness are served.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sumun.errors import AuthError, ForbiddenError, SumunError
from sumun.gateway.credentials import api_key
from sumun.gateway.failures import classify_failure
from sumun.gateway.pipeline import Gateway
from sumun.gateway.upstream.base import Endpoint, Wire
from sumun.gateway.wire import error_response
from sumun.runtime import Runtime
from sumun.store.model import Permission

__all__ = ["public_app"]


def public_app(
    runtime: Runtime,
    gateway: Gateway | None = None,
    *,
    draining: Callable[[], bool] = lambda: False,
) -> Starlette:
    service = runtime.keys

    def ledger_problem() -> str | None:
        problem = runtime.ledger.append_problem()  # appends failing: reads may still work
        if problem is not None:
            return problem
        try:
            runtime.ledger.store.size()
        except SumunError as exc:
            return str(exc)
        return None

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        if draining():
            return JSONResponse({"ready": False, "reason": "shutting down"}, status_code=503)
        if service.sealed:
            return JSONResponse({"ready": False, "reason": "sealed"}, status_code=503)
        problem = await run_in_threadpool(service.backend_error)
        if problem is not None:
            return JSONResponse(
                {"ready": False, "reason": f"key backend unavailable: {problem}"},
                status_code=503,
            )
        control = gateway.directory.control_problem() if gateway is not None else None
        if control is not None:
            return JSONResponse({"ready": False, "reason": control}, status_code=503)
        ledger = await run_in_threadpool(ledger_problem)
        if ledger is not None:
            return JSONResponse(
                {"ready": False, "reason": f"ledger unavailable: {ledger}"}, status_code=503
            )
        waiting = runtime.ledger.spool_stats().depth  # within its bound: ready, but say so
        degraded = {"degraded": f"{waiting} ledger entries spooled"} if waiting else {}
        return JSONResponse({"ready": True, **degraded})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if gateway is not None:
        routes += _model_routes(gateway)
    return Starlette(routes=routes, exception_handlers={404: _not_routed, 405: _not_routed})


def _model_routes(gateway: Gateway) -> list[Route]:
    def handler(endpoint: Endpoint, wire: Wire) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint_fn(request: Request) -> Response:
            return await gateway.handle(request, endpoint, wire)

        return endpoint_fn

    async def models(request: Request) -> Response:
        try:  # both SDKs list models here: the Anthropic one may send `x-api-key`
            principal = gateway.directory.authenticate(api_key(request.headers, x_api_key=True))
        except SumunError as exc:
            return _auth_failure(gateway, exc)
        try:
            principal.require_permission(Permission.LIST_MODELS)
        except ForbiddenError as exc:
            return error_response(Wire.OPENAI, 403, str(exc), code="forbidden")
        created = int(time.time())
        data = [
            {"id": alias, "object": "model", "created": created, "owned_by": "sumun"}
            for alias in gateway.router.aliases()
        ]
        return JSONResponse({"object": "list", "data": data})

    async def metrics(request: Request) -> Response:
        # The metrics name tenants and count their tokens: auditors and admins only (issue 12).
        try:
            principal = gateway.directory.authenticate(api_key(request.headers, x_api_key=False))
        except SumunError as exc:
            return _auth_failure(gateway, exc)
        try:
            principal.require_permission(Permission.READ_METRICS)
        except ForbiddenError as exc:
            return error_response(Wire.OPENAI, 403, str(exc), code="forbidden")
        return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4")

    return [
        Route("/v1/chat/completions", handler("chat", Wire.OPENAI), methods=["POST"]),
        Route("/v1/responses", handler("responses", Wire.OPENAI), methods=["POST"]),
        Route("/v1/embeddings", handler("embeddings", Wire.OPENAI), methods=["POST"]),
        Route("/v1/messages", handler("messages", Wire.ANTHROPIC), methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def _auth_failure(gateway: Gateway, exc: SumunError) -> Response:
    """A key that is wrong is 401; a control store that cannot say whether it is right is 503
    (a store error must not read as "your key is invalid")."""
    if isinstance(exc, AuthError):
        gateway.metrics.count_auth_failure(exc)
        return error_response(Wire.OPENAI, 401, str(exc), code="invalid_api_key")
    status, message, code = classify_failure(exc)
    return error_response(Wire.OPENAI, status, message, code=code, headers={"retry-after": "5"})


async def _not_routed(request: Request, exc: Exception) -> Response:
    """An unknown path or a wrong method: a JSON error in the dialect the path belongs to
    (Anthropic under /v1/messages, OpenAI elsewhere), like every other refusal."""
    status = getattr(exc, "status_code", 404)
    wire = Wire.ANTHROPIC if request.url.path.startswith("/v1/messages") else Wire.OPENAI
    if status == 405:
        return error_response(wire, 405, f"{request.method} is not allowed on this path")
    return error_response(wire, 404, "no such endpoint", code="not_found")
