"""The console's ASGI app, mounted at `/console/` on the admin listener — every route in view.

Pages are server-rendered (jinja2, autoescaped); the scripts are `static/console.js` (the
copy button) and `static/proof.js` (a ledger entry's proof, checked in the browser). Every
asset ships in this package: no CDN, no external font or script, so the console works inside
a network with no internet.
"""

from __future__ import annotations

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sumun.admin.console.sessions import SessionStore
from sumun.admin.console.views import (
    compliance,
    keys,
    ledger,
    login,
    overview,
    policy,
    providers,
    supply_chain,
    tenants,
)
from sumun.admin.console.web import Console, SecurityHeaders, guarded, public
from sumun.admin.http.context import AdminContext

__all__ = ["console_app"]


def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sumun.admin.console", "templates"),
        autoescape=True,  # every value — tenant names, reasons, messages — is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


async def _router_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    return PlainTextResponse(f"{exc.status_code} {exc.detail}\n", status_code=exc.status_code)


def console_app(ctx: AdminContext) -> Starlette:
    """The console for this node's parts. Its sessions live in this app (this process)."""
    console = Console(
        ctx=ctx,
        sessions=SessionStore(ctx.settings.admin_api.console_idle_minutes * 60.0),
        templates=_templates(),
    )

    get, post = ["GET"], ["POST"]
    routes: list[BaseRoute] = [
        Route("/login", public(console, login.show), methods=get),
        Route("/login", public(console, login.sign_in), methods=post),
        Route("/logout", public(console, login.sign_out), methods=post),
        Route("/lang/{code}", login.language, methods=get),
        *login.routes(console),
        Route("/", guarded(console, overview.overview), methods=get),
        Route("/providers", guarded(console, providers.providers), methods=get),
        Route("/providers/{name}/cut", guarded(console, providers.cut), methods=post),
        Route("/providers/{name}/restore", guarded(console, providers.restore), methods=post),
        Route("/tenants", guarded(console, tenants.tenants), methods=get),
        Route("/tenants/{tenant}/keys", guarded(console, tenants.issue), methods=post),
        Route("/keys/{key_id}/revoke", guarded(console, tenants.revoke), methods=post),
        Route("/ledger", guarded(console, ledger.entries), methods=get),
        Route("/ledger/vkeys.json", guarded(console, ledger.vkeys_json), methods=get),
        Route("/ledger/{seq}", guarded(console, ledger.entry), methods=get),
        Route("/ledger/{seq}/proof.json", guarded(console, ledger.proof_json), methods=get),
        *tenants.routes(console),
        *ledger.routes(console),
        *policy.routes(console),
        *keys.routes(console),
        *compliance.routes(console),
        *supply_chain.routes(console),
        Mount(
            "/static",
            StaticFiles(packages=[("sumun.admin.console", "static")]),
            name="static",
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: _router_error},
    )
