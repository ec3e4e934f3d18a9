"""The overview: what is cheap to know now — providers and what is cut off, tenants, the
ledger's size and last checkpoint, the key layer's seal state, the control store's health.
Each figure is read through the admin API's own operations; none scans the ledger."""

from __future__ import annotations

from starlette.responses import Response

from sumun.admin.console.web import Visit
from sumun.admin.http.providers import Providers
from sumun.admin.http.status import Status
from sumun.admin.http.tenants import Tenants

__all__ = ["overview"]


async def overview(visit: Visit) -> Response:
    status = await visit.call("getStatus", Status)
    providers = (await visit.call("listProviders", Providers)).providers
    tenants = (await visit.call("listTenants", Tenants)).tenants
    return visit.render(
        "overview.html",
        page="overview",
        status=status,
        providers=providers,
        cut=[p.name for p in providers if p.cut],
        tenants=len(tenants),
    )
