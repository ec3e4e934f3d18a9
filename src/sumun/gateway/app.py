"""The public ASGI app. For now: liveness and readiness; the model APIs build on it.

`/readyz` is the fail-closed signal load balancers act on: 503 while sealed or while the key
backend is unreachable, so no traffic is sent to a node that could not protect it.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sumun.keys.service import KeyService

__all__ = ["public_app"]


def public_app(service: KeyService) -> Starlette:
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
        return JSONResponse({"ready": True})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ]
    )
