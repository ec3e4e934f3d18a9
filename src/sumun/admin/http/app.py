"""The admin API's ASGI app: every operation's route, and JSON errors for the router's own.

Assembled in one function from the resource modules' declarations, so the whole API is in
view here: providers (kill switch), tenants and apps, API keys, the ledger, status, and the
OpenAPI document made from the same declarations — and the web console at `/console/`.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from sumun.admin.http import (
    api_keys,
    compliance,
    compliance_report,
    compliance_reviews,
    kek,
    ledger,
    ledger_more,
    policy,
    providers,
    reload,
    scans,
    spend_budgets,
    status,
    tenants,
    usage,
    xks,
)
from sumun.admin.http.context import AdminContext
from sumun.admin.http.errors import error_response
from sumun.admin.http.openapi import document_operation
from sumun.admin.http.operation import API_PREFIX, Operation, endpoint

__all__ = ["OPERATIONS", "admin_http_app"]

OPERATIONS: tuple[Operation[Any, Any], ...] = (
    *providers.OPERATIONS,
    *tenants.OPERATIONS,
    *api_keys.OPERATIONS,
    *spend_budgets.OPERATIONS,
    *ledger.OPERATIONS,
    *ledger_more.OPERATIONS,
    *status.OPERATIONS,
    *policy.OPERATIONS,
    *reload.OPERATIONS,
    *kek.OPERATIONS,
    *compliance_report.OPERATIONS,
    *compliance.OPERATIONS,
    *compliance_reviews.OPERATIONS,
    *scans.OPERATIONS,
    *usage.OPERATIONS,
    *xks.OPERATIONS,
)


async def _router_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if exc.status_code == 404:
        return error_response(404, "NotFound", f"no such endpoint; see {API_PREFIX}/openapi.json")
    if exc.status_code == 405:
        return error_response(
            405, "MethodNotAllowed", "method not allowed here", headers=exc.headers
        )
    return error_response(exc.status_code, "HTTPError", str(exc.detail))


def admin_http_app(ctx: AdminContext) -> Starlette:
    # Imported here: the console is built on this package's operations (it imports them).
    from sumun.admin.console import console_app

    operations = (*OPERATIONS, document_operation(OPERATIONS))
    routes: list[BaseRoute] = [
        Route(op.route, endpoint(op, ctx), methods=[op.method], name=op.name) for op in operations
    ]
    routes += [  # the web console (sumun.admin.console, docs/console.md) on the same origin
        Route("/console", lambda _request: RedirectResponse("/console/"), methods=["GET"]),
        Mount("/console", console_app(ctx)),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _router_error})
