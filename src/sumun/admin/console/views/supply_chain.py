"""Supply chain: recorded scans with their findings and the AI-BOM.

Everything here is the admin API's scan operations (`admin.http.scans`), run as the signed-in
caller: the list, one scan's findings, and the CycloneDX and SARIF documents, which the console
hands to the browser as downloads (`download`). Scans are deployment-wide: a tenant's key is
told so instead of being shown a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sumun.admin.console.actions import OPERATIONS, check
from sumun.admin.console.web import Console, Visit, guarded
from sumun.admin.http.auth import Caller
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, NoQuery
from sumun.admin.http.operation import Call, Text
from sumun.admin.http.scans import ScanDetail, ScanList
from sumun.errors import ForbiddenError

__all__ = ["download", "routes"]


def _text(ctx: AdminContext, caller: Caller, name: str, path: Mapping[str, str]) -> Text:
    """A Text operation (not a JSON model) as `caller`: authorized exactly as `invoke` does."""
    check(ctx, caller, name)
    reply = OPERATIONS[name].handler(ctx, Call(caller, dict(path), NoQuery(), NoBody()))
    if not isinstance(reply, Text):  # pragma: no cover - a declaration error
        raise TypeError(f"{name} answers {type(reply).__name__}, not Text")
    return reply


async def download(
    visit: Visit, name: str, filename: str, path: Mapping[str, str] | None = None
) -> Response:
    """The operation's document as a file to save (`attachment`: the browser does not render
    it under the console's origin, so the report's own inline CSS is not the console's)."""
    reply = await run_in_threadpool(_text, visit.console.ctx, visit.who, name, dict(path or {}))
    return visit.finish(
        Response(
            reply.body,
            media_type=reply.media_type,
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )
    )


async def _scans(visit: Visit, detail: ScanDetail | None = None) -> Response:
    try:
        await run_in_threadpool(check, visit.console.ctx, visit.who, "listScans")
    except ForbiddenError:
        return visit.render("supply_chain.html", page="supply-chain", scans=None, detail=None)
    listed = await visit.call("listScans", ScanList)
    if detail is None and listed.scans:
        detail = await visit.call("getScan", ScanDetail, path={"id": listed.scans[0].id})
    return visit.render("supply_chain.html", page="supply-chain", scans=listed, detail=detail)


async def scans(visit: Visit) -> Response:
    """`GET /console/supply-chain`: the scans, and the newest one's findings."""
    return await _scans(visit)


async def scan(visit: Visit) -> Response:
    """`GET /console/supply-chain/{id}`: one scan's findings (404 for an id not listed)."""
    scan_id = str(visit.request.path_params["id"])
    detail = await visit.call("getScan", ScanDetail, path={"id": scan_id})
    return await _scans(visit, detail)


async def cyclonedx(visit: Visit) -> Response:
    scan_id = str(visit.request.path_params["id"])
    return await download(
        visit, "getScanCycloneDX", f"sumun-ai-bom-{scan_id}.cdx.json", {"id": scan_id}
    )


async def sarif(visit: Visit) -> Response:
    scan_id = str(visit.request.path_params["id"])
    return await download(visit, "getScanSarif", f"sumun-scan-{scan_id}.sarif", {"id": scan_id})


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes, below /console."""
    get = ["GET"]
    return [
        Route("/supply-chain", guarded(console, scans), methods=get),
        Route("/supply-chain/{id}", guarded(console, scan), methods=get),
        Route("/supply-chain/{id}/cyclonedx", guarded(console, cyclonedx), methods=get),
        Route("/supply-chain/{id}/sarif", guarded(console, sarif), methods=get),
    ]
