"""Tenants and their apps: `GET|POST /tenants`, `GET /tenants/{tenant}`,
`POST /tenants/{tenant}/limits`, `GET|POST /tenants/{tenant}/apps`.

Creating a tenant and changing its limits act on the whole deployment (operator tenant's keys
only: a tenant does not raise its own budget); a tenant admin creates apps in its own tenant.
Each change is an `admin-change` entry (`tenant-create`, `tenant-limits`, `app-create`).

Usage (`used`): the tokens charged against a budget, as the gateway's limiter counts them
(`sumun.gateway.limits`: reservations in flight included). With `gateway.redis_url` that is the
whole deployment's count; without it, this process's since it started. Null when this node's
admin context has no limiter to read, or it cannot be read now.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import change_entry, record, record_or_undo, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.errors import (
    ConflictError,
    LimiterUnavailableError,
    NotFoundError,
    UsageError,
)
from sumun.keys.shredded import refuse_shredded_name
from sumun.store.directory import UNCHANGED, Unchanged
from sumun.store.model import App as AppRecord
from sumun.store.model import Permission
from sumun.store.model import Tenant as TenantRecord

__all__ = [
    "OPERATIONS",
    "NewLimits",
    "budget_used",
    "existing_tenant",
    "limit_attrs",
]

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
    used: int | None = Field(
        default=None, description="tokens charged against the budget (module docstring)"
    )
    keys: int | None = Field(default=None, description="its API keys, revoked ones included")


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


class NewLimits(BodyModel):
    """New limits: a field left out stays as it is; null lifts that limit."""

    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    token_budget: int | None = Field(default=None, ge=1)

    def changes(self) -> dict[str, int | Unchanged | None]:
        """Each limit's new value, or UNCHANGED (as the directory's updates take them)."""
        given = self.model_fields_set
        return {
            name: getattr(self, name) if name in given else UNCHANGED
            for name in ("rpm", "tpm", "token_budget")
        }


class TenantLimits(Tenant, Created):
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


def budget_used(
    ctx: AdminContext, scope: Literal["key", "tenant"], names: Sequence[str]
) -> dict[str, int]:
    """Tokens charged against each named key's or tenant's budget; empty when this node's
    limiter cannot be read now (a page still shows the limits)."""
    if not names:
        return {}
    try:
        return ctx.limiter.used(scope, list(names))
    except LimiterUnavailableError:
        return {}


def limit_attrs(body: NewLimits) -> dict[str, str]:
    """The ledger's record of a limits change: each changed limit, "none" when lifted."""
    return {
        name: "none" if value is None else str(value)
        for name, value in body.changes().items()
        if not isinstance(value, Unchanged)
    }


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
    seen = [t for t in ctx.directory.list_tenants() if caller.sees(t.name)]
    used = budget_used(ctx, "tenant", [t.name for t in seen])
    keys = ctx.directory.key_counts()
    return Tenants(
        tenants=[
            Tenant(**tenant_json(t), used=used.get(t.name), keys=keys.get(t.name, 0)) for t in seen
        ]
    )


def get_tenant(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Tenant:
    tenant = existing_tenant(ctx, call)
    used = budget_used(ctx, "tenant", [tenant.name])
    keys = ctx.directory.key_counts().get(tenant.name, 0)
    return Tenant(**tenant_json(tenant), used=used.get(tenant.name), keys=keys)


def set_limits(ctx: AdminContext, call: Call[NoQuery, NewLimits]) -> TenantLimits:
    tenant, caller = existing_tenant(ctx, call), call.who
    attrs = limit_attrs(call.body)
    if not attrs:
        raise UsageError("body: give at least one of rpm, tpm, token_budget (null lifts one)")
    new = call.body.changes()
    writable(ctx)
    changed = ctx.directory.update_tenant(
        tenant.name, rpm=new["rpm"], tpm=new["tpm"], token_budget=new["token_budget"]
    )
    entry = change_entry(caller, "tenant-limits", tenant=tenant.name, attrs=attrs)
    seq = record_or_undo(
        ctx,
        caller,
        entry,
        lambda: ctx.directory.update_tenant(
            tenant.name, rpm=tenant.rpm, tpm=tenant.tpm, token_budget=tenant.token_budget
        ),
    )
    used = budget_used(ctx, "tenant", [tenant.name])
    return TenantLimits(**tenant_json(changed), used=used.get(tenant.name), ledger_seq=seq)


def create_tenant(ctx: AdminContext, call: Call[NoQuery, NewTenant]) -> TenantCreated:
    body = call.body
    if any(t.name == body.name for t in ctx.directory.list_tenants()):
        raise ConflictError(f"tenant {body.name!r} already exists")
    refuse_shredded_name(ctx.control.documents, body.name)
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
        "POST",
        "/tenants/{tenant}/limits",
        "setTenantLimits",
        "Change a tenant's rpm, tpm and token budget (a field left out stays; null lifts it)",
        "tenants",
        Permission.MANAGE,
        NoQuery,
        NewLimits,
        TenantLimits,
        set_limits,
        scope="deployment",
        description="Takes effect on every node within 1 s. Recorded (`tenant-limits`, with "
        "each changed limit).",
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
