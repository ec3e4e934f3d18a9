"""Tenants and their virtual API keys: list, issue (the key shown once, with a copy button),
revoke. Each change is the admin API's operation (`issueApiKey`, `revokeApiKey`), recorded in
the ledger as the API records it. A tenant admin sees its own tenant only (the API's scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from sumun.admin.console.web import BASE, Visit
from sumun.admin.http.api_keys import ApiKey, ApiKeys, IssuedKey, NewKey, Revoked
from sumun.admin.http.inputs import body_from
from sumun.admin.http.tenants import Apps, Tenant, Tenants
from sumun.store.model import Role

__all__ = ["issue", "revoke", "tenants"]

PAGE = f"{BASE}tenants"


@dataclass(frozen=True, slots=True)
class TenantView:
    tenant: Tenant
    apps: list[str]
    keys: list[ApiKey]


async def tenants(visit: Visit) -> Response:
    views = []
    for tenant in (await visit.call("listTenants", Tenants)).tenants:
        path = {"tenant": tenant.name}
        keys = (await visit.call("listApiKeys", ApiKeys, path=path)).keys
        apps = (await visit.call("listApps", Apps, path=path)).apps
        views.append(TenantView(tenant, [a.name for a in apps], keys))
    return visit.render(
        "tenants.html", page="tenants", tenants=views, roles=[r.value for r in Role]
    )


async def issue(visit: Visit) -> Response:
    """`POST /console/tenants/{tenant}/keys`: the new key, on this answer only."""
    tenant = str(visit.request.path_params["tenant"])
    fields: dict[str, Any] = {"role": visit.form.get("role", Role.USER.value)}
    for name in ("app", "user"):
        value = visit.form.get(name, "").strip()
        if value:
            fields[name] = value
    body = body_from(NewKey, fields)
    issued = await visit.call("issueApiKey", IssuedKey, path={"tenant": tenant}, body=body)
    return visit.render("issued.html", page="tenants", issued=issued)


async def revoke(visit: Visit) -> Response:
    key_id = str(visit.request.path_params["key_id"])
    done = await visit.call("revokeApiKey", Revoked, path={"key_id": key_id})
    if done.ledger_seq is None:
        visit.flash("ok", visit.t("done.revoked_already", key_id=done.key_id))
    else:
        visit.flash("ok", visit.t("done.revoke", key_id=done.key_id, seq=done.ledger_seq))
    return visit.redirect(PAGE)
