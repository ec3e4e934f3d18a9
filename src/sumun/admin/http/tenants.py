"""Tenants and their apps: `GET|POST /tenants`, `GET /tenants/{tenant}`,
`GET|POST /tenants/{tenant}/apps`.

Creating a tenant acts on the whole deployment (operator tenant's keys only); a tenant admin
creates apps in its own tenant. Each creation is an `admin-change` entry (`tenant-create`,
`app-create`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import change_entry, record, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.errors import ConflictError, NotFoundError, UsageError
from sumun.store.model import App as AppRecord
from sumun.store.model import Permission
from sumun.store.model import Tenant as TenantRecord

__all__ = ["OPERATIONS", "existing_tenant"]

_NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class Tenant(BaseModel):
    name: str
    ai_notice: bool = Field(description="end users are told they talk to an AI (AI Basic Act)")
    notice_text: str | None
    default_data_class: Literal["C", "S", "O"] | None
    rpm: int | None
    tpm: int | None
    token_budget: int | None
    created_at: float


class Tenants(BaseModel):
    tenants: list[Tenant]


class NewTenant(BodyModel):
    name: str = Field(pattern=_NAME, description="a-z 0-9 . _ - (1-63)")
    ai_notice: bool = True
    notice_text: str | None = Field(default=None, min_length=1, max_length=4000)
    default_data_class: Literal["C", "S", "O"] | None = None
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    token_budget: int | None = Field(default=None, ge=1)


class Created(BaseModel):
    ledger_seq: int


class TenantCreated(Tenant, Created):
    pass


class App(BaseModel):
    tenant: str
    name: str
    created_at: float


class Apps(BaseModel):
    apps: list[App]


class NewApp(BodyModel):
    name: str = Field(pattern=_NAME, description="a-z 0-9 . _ - (1-63)")


class AppCreated(App, Created):
    pass


def tenant_json(tenant: TenantRecord) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "ai_notice": tenant.ai_notice,
        "notice_text": tenant.notice_text,
        "default_data_class": tenant.default_data_class,
        "rpm": tenant.rpm,
        "tpm": tenant.tpm,
        "token_budget": tenant.token_budget,
        "created_at": tenant.created_at,
    }


def _app_json(app: AppRecord) -> dict[str, Any]:
    return {"tenant": app.tenant, "name": app.name, "created_at": app.created_at}


def existing_tenant(ctx: AdminContext, call: Call[Any, Any]) -> TenantRecord:
    """The path's tenant, if the caller may see it and it exists; else 404 (the same answer)."""
    name = call.path["tenant"]
    call.who.require_tenant(name)
    try:
        return ctx.directory.get_tenant(name)
    except UsageError as exc:
        raise NotFoundError(f"no tenant named {name!r}") from exc


def list_tenants(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Tenants:
    caller = call.who
    return Tenants(
        tenants=[
            Tenant(**tenant_json(t)) for t in ctx.directory.list_tenants() if caller.sees(t.name)
        ]
    )


def get_tenant(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Tenant:
    return Tenant(**tenant_json(existing_tenant(ctx, call)))


def create_tenant(ctx: AdminContext, call: Call[NoQuery, NewTenant]) -> TenantCreated:
    body = call.body
    if any(t.name == body.name for t in ctx.directory.list_tenants()):
        raise ConflictError(f"tenant {body.name!r} already exists")
    writable(ctx)
    tenant = ctx.directory.create_tenant(
        body.name,
        ai_notice=body.ai_notice,
        notice_text=body.notice_text,
        default_data_class=body.default_data_class,
        rpm=body.rpm,
        tpm=body.tpm,
        token_budget=body.token_budget,
    )
    seq = record(ctx, call.who, change_entry(call.who, "tenant-create", tenant=tenant.name))
    return TenantCreated(**tenant_json(tenant), ledger_seq=seq)


def list_apps(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Apps:
    tenant = existing_tenant(ctx, call)
    return Apps(apps=[App(**_app_json(a)) for a in ctx.directory.list_apps(tenant.name)])


def create_app(ctx: AdminContext, call: Call[NoQuery, NewApp]) -> AppCreated:
    tenant = existing_tenant(ctx, call)
    if any(a.name == call.body.name for a in ctx.directory.list_apps(tenant.name)):
        raise ConflictError(f"tenant {tenant.name!r} already has an app named {call.body.name!r}")
    writable(ctx)
    app = ctx.directory.create_app(tenant.name, call.body.name)
    seq = record(
        ctx,
        call.who,
        change_entry(call.who, "app-create", tenant=tenant.name, attrs={"app": app.name}),
    )
    return AppCreated(**_app_json(app), ledger_seq=seq)


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/tenants",
        "listTenants",
        "Tenants this key may see (all of them for the operator tenant's keys)",
        "tenants",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        Tenants,
        list_tenants,
    ),
    Operation(
        "POST",
        "/tenants",
        "createTenant",
        "Create a tenant",
        "tenants",
        Permission.MANAGE,
        NoQuery,
        NewTenant,
        TenantCreated,
        create_tenant,
        status=201,
        scope="deployment",
        description="409 if it exists. Recorded in the ledger (`tenant-create`).",
    ),
    Operation(
        "GET",
        "/tenants/{tenant}",
        "getTenant",
        "One tenant: its AI notice, default data class and limits",
        "tenants",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        Tenant,
        get_tenant,
    ),
    Operation(
        "GET",
        "/tenants/{tenant}/apps",
        "listApps",
        "A tenant's apps",
        "tenants",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        Apps,
        list_apps,
    ),
    Operation(
        "POST",
        "/tenants/{tenant}/apps",
        "createApp",
        "Create an app in a tenant (API keys may be bound to it)",
        "tenants",
        Permission.MANAGE,
        NoQuery,
        NewApp,
        AppCreated,
        create_app,
        status=201,
        description="409 if the tenant has an app of that name. Recorded (`app-create`).",
    ),
)
