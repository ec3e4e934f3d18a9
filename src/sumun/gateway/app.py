"""The public ASGI app. For now: liveness and readiness; the model APIs build on it.

`/readyz` is the fail-closed signal load balancers act on: 503 while sealed, or while the key
backend or the ledger store is unreachable, so no traffic goes to a node that could not protect
and record it.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sumun.errors import SumunError
from sumun.runtime import Runtime

__all__ = ["public_app"]


def public_app(runtime: Runtime) -> Starlette:
    service = runtime.keys

    def ledger_problem() -> str | None:
        try:
            runtime.ledger.store.size()
        except SumunError as exc:
            return str(exc)
        return None

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        if service.sealed:
            return JSONResponse({"ready": False, "reason": "sealed"}, status_code=503)
        problem = await run_in_threadpool(service.backend_error)
        if problem is not None:
            return JSONResponse(
                {"ready": False, "reason": f"key backend unavailable: {problem}"},
                status_code=503,
            )
        ledger = await run_in_threadpool(ledger_problem)
        if ledger is not None:
            return JSONResponse(
                {"ready": False, "reason": f"ledger unavailable: {ledger}"}, status_code=503
            )
        return JSONResponse({"ready": True})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ]
    )
