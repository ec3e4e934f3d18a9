"""Tenants, their apps and virtual API keys: create tenants (operator admins) and apps, issue
keys (shown once, with a copy button) and revoke them, each limit with its budget's usage as a
meter, and changing limits. Every change is the admin API's operation (`createTenant`,
`createApp`, `issueApiKey`, `revokeApiKey`, `setTenantLimits`, `setApiKeyLimits`), recorded in
the ledger as the API records it. A tenant admin sees its own tenant only (the API's scope).

Keys are paged, `PAGE_SIZE` a tenant: `?tenant=<name>` shows that tenant alone, `&after=<key
id>` its next page, `&q=` a search by key id prefix or user. With 10,000 keys a page costs
what a page of 50 costs (`Directory.page_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sumun.admin.console.web import BASE, Console, Visit, guarded
from sumun.admin.http.api_keys import (
    ApiKey,
    ApiKeys,
    IssuedKey,
    KeyLimits,
    KeysQuery,
    NewKey,
    Revoked,
)
from sumun.admin.http.inputs import body_from
from sumun.admin.http.tenants import (
    AppCreated,
    Apps,
    NewApp,
    NewLimits,
    NewTenant,
    Tenant,
    TenantCreated,
    TenantLimits,
    Tenants,
)
from sumun.errors import UsageError
from sumun.store.model import Role

__all__ = ["PAGE_SIZE", "issue", "revoke", "routes", "tenants"]

PAGE = f"{BASE}tenants"
PAGE_SIZE = 50
_LIMITS = ("rpm", "tpm", "token_budget")
_MAX_SEARCH = 256


@dataclass(frozen=True, slots=True)
class Meter:
    """A budget's usage as the page shows it."""

    used: int | None
    budget: int | None

    @property
    def percent(self) -> int:
        if not self.used or not self.budget:
            return 0
        return min(100, round(100 * self.used / self.budget))


@dataclass(frozen=True, slots=True)
class TenantView:
    tenant: Tenant
    apps: list[str]
    keys: list[ApiKey]
    total: int
    first: int  # 1-based position of the first key shown
    next_after: str | None
    q: str

    @property
    def meter(self) -> Meter:
        return tenant_meter(self.tenant)


def key_meter(key: ApiKey) -> Meter:
    return Meter(key.used, key.token_budget)


def tenant_meter(tenant: Tenant) -> Meter:
    return Meter(tenant.used, tenant.token_budget)


def _params(visit: Visit) -> tuple[str | None, str | None, str]:
    params = visit.request.query_params
    tenant = params.get("tenant", "").strip() or None
    after = params.get("after", "").strip() or None
    q = params.get("q", "").strip()
    if len(q) > _MAX_SEARCH:
        raise UsageError(f"a search is at most {_MAX_SEARCH} characters")
    if (after or q) and tenant is None:
        raise UsageError("paging and search need the tenant (`tenant=`)")
    return tenant, after, q


async def _full(
    visit: Visit, tenant: Tenant, after: str | None, q: str, skipped: int
) -> TenantView:
    """One tenant with its apps and a page of its keys."""
    path = {"tenant": tenant.name}
    fields = {"count": PAGE_SIZE, "after": after, "q": q or None}
    query = body_from(KeysQuery, fields)  # a bad `after` is a 400 naming it, as in the API
    page = await visit.call("listApiKeys", ApiKeys, path=path, query=query)
    apps = (await visit.call("listApps", Apps, path=path)).apps
    first = max(0, skipped) + 1 if after else 1
    return TenantView(
        tenant, [a.name for a in apps], page.keys, page.total, first, page.next_after, q
    )


async def tenants(visit: Visit) -> Response:
    """`GET /console/tenants[?tenant=<name>[&after=<key id>][&q=<search>]]`.

    Without `tenant`: every tenant the caller sees as one row of a table (limits, usage, key
    count — one `listTenants` call however many there are), and the caller's own tenant in
    full. With it: that tenant in full, its keys a page at a time."""
    focus, after, q = _params(visit)
    skip = visit.request.query_params.get("skip", "0")
    skipped = int(skip) if skip.isdigit() and len(skip) < 10 else 0
    listed = (await visit.call("listTenants", Tenants)).tenants
    if focus is not None:
        shown = [t for t in listed if t.name == focus]
        if not shown:
            await visit.call("getTenant", Tenant, path={"tenant": focus})  # 404 as the API
    else:
        shown = [t for t in listed if t.name == visit.who.principal.tenant]
    views = [await _full(visit, t, after, q, skipped) for t in shown]
    return visit.render(
        "tenants.html",
        page="tenants",
        tenants=views,
        summary=listed if focus is None and len(listed) > 1 else [],
        focus=focus,
        roles=[r.value for r in Role],
        classes=["C", "S", "O"],
        key_meter=key_meter,
        tenant_meter=tenant_meter,
        page_size=PAGE_SIZE,
    )


def _limits(visit: Visit, *, keep_blank: bool) -> dict[str, Any]:
    """The form's limits: a number, or blank — no limit when `keep_blank` (a change form
    shows every limit, so blank lifts it), else left out."""
    fields: dict[str, Any] = {}
    for name in _LIMITS:
        text = visit.form.get(name, "").strip()
        if not text:
            if keep_blank:
                fields[name] = None
            continue
        if not text.isdigit() or len(text) > 18:
            raise UsageError(f"form.{name}: a positive whole number, or blank for no limit")
        fields[name] = int(text)
    return fields


def _tenant_path(visit: Visit) -> str:
    return str(visit.request.path_params["tenant"])


def _back(tenant: str) -> str:
    return f"{PAGE}?tenant={tenant}"


async def issue(visit: Visit) -> Response:
    """`POST /console/tenants/{tenant}/keys`: the new key, on this answer only."""
    tenant = _tenant_path(visit)
    fields: dict[str, Any] = {"role": visit.form.get("role", Role.USER.value)}
    for name in ("app", "user"):
        value = visit.form.get(name, "").strip()
        if value:
            fields[name] = value
    fields.update(_limits(visit, keep_blank=False))
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
    return visit.redirect(_back(done.tenant))


async def create_tenant(visit: Visit) -> Response:
    """`POST /console/tenants`: operator admins (the API's `createTenant` scope)."""
    fields: dict[str, Any] = {
        "name": visit.form.get("name", "").strip(),
        "ai_notice": visit.form.get("ai_notice") == "on",
    }
    data_class = visit.form.get("default_data_class", "").strip()
    if data_class:
        fields["default_data_class"] = data_class
    fields.update(_limits(visit, keep_blank=False))
    body = body_from(NewTenant, fields)
    done = await visit.call("createTenant", TenantCreated, body=body)
    visit.flash("ok", visit.t("tenants.created", name=done.name, seq=done.ledger_seq))
    return visit.redirect(_back(done.name))


async def create_app(visit: Visit) -> Response:
    """`POST /console/tenants/{tenant}/apps`: any admin of the tenant."""
    tenant = _tenant_path(visit)
    body = body_from(NewApp, {"name": visit.form.get("name", "").strip()})
    done = await visit.call("createApp", AppCreated, path={"tenant": tenant}, body=body)
    visit.flash(
        "ok", visit.t("tenants.app_created", app=done.name, tenant=done.tenant, seq=done.ledger_seq)
    )
    return visit.redirect(_back(done.tenant))


async def tenant_limits(visit: Visit) -> Response:
    """`POST /console/tenants/{tenant}/limits`: operator admins; a blank field lifts a limit."""
    tenant = _tenant_path(visit)
    body = body_from(NewLimits, _limits(visit, keep_blank=True))
    done = await visit.call("setTenantLimits", TenantLimits, path={"tenant": tenant}, body=body)
    what = visit.t("tenants.tenant_named", tenant=done.name)
    visit.flash("ok", visit.t("tenants.limits_saved", what=what, seq=done.ledger_seq))
    return visit.redirect(_back(done.name))


async def key_limits(visit: Visit) -> Response:
    """`POST /console/keys/{key_id}/limits`: a blank field lifts a limit."""
    key_id = str(visit.request.path_params["key_id"])
    body = body_from(NewLimits, _limits(visit, keep_blank=True))
    done = await visit.call("setApiKeyLimits", KeyLimits, path={"key_id": key_id}, body=body)
    what = visit.t("tenants.key_named", key_id=done.key_id)
    visit.flash("ok", visit.t("tenants.limits_saved", what=what, seq=done.ledger_seq))
    return visit.redirect(_back(done.tenant))


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes below /console, besides `/tenants` (GET), `/tenants/{tenant}/keys`
    and `/keys/{key_id}/revoke`, which app.py names itself."""
    post = ["POST"]
    return [
        Route("/tenants", guarded(console, create_tenant), methods=post),
        Route("/tenants/{tenant}/apps", guarded(console, create_app), methods=post),
        Route("/tenants/{tenant}/limits", guarded(console, tenant_limits), methods=post),
        Route("/keys/{key_id}/limits", guarded(console, key_limits), methods=post),
    ]
