"""Virtual API keys: `GET|POST /tenants/{tenant}/api-keys`, `POST /api-keys/{key_id}/revoke`,
`POST /api-keys/{key_id}/limits` (spend budgets: `sumun.admin.http.spend_budgets`).

The list is paged, oldest key first: `count` a page (default 100, at most 1000), `after` the
last key id of the previous page (`next_after` of its answer), `q` a key id prefix or part of
the user name; `total` counts the keys that match. Each key carries its budget's `used`
(see `tenants`).

`POST` issues a key and answers with its secret form this once: Sumun keeps only its SHA-256
digest (`store.directory`). Lists never carry a secret. A revocation reaches every node within
1 s. Both are `admin-change` entries (`key-issue`, `key-revoke`) naming the new or revoked
key's id — never the key.

The path says `api-keys`, not `keys`: `/admin/v1/keys` is the key layer's (KEKs: rotate,
disable, destroy), as on the local admin channel.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import change_entry, record, record_or_undo, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery, QueryModel
from sumun.admin.http.operation import Call, Operation
from sumun.admin.http.tenants import NewLimits, budget_used, existing_tenant, limit_attrs
from sumun.errors import ConflictError, NotFoundError, UsageError
from sumun.gateway.spend import Money
from sumun.store.directory import MAX_PAGE
from sumun.store.model import Permission, Role, VirtualKey

__all__ = ["OPERATIONS"]


class ApiKey(BaseModel):
    """What Sumun knows about an issued key. Never the secret."""

    key_id: str
    tenant: str
    app: str | None
    user: str | None
    role: Role
    created_at: float
    revoked: bool
    revoked_at: float | None
    rpm: int | None
    tpm: int | None
    token_budget: int | None
    used: int | None = Field(
        default=None, description="tokens charged against its budget (see `listTenants`)"
    )
    spend_budget: str | None = Field(
        default=None, description="its spend budget, a decimal amount of `spend_currency`"
    )
    spend_currency: Literal["KRW", "USD"] | None = None


class ApiKeys(BaseModel):
    keys: list[ApiKey] = Field(description="one page, oldest first")
    total: int = Field(description="the tenant's keys matching `q` (all of them without)")
    next_after: str | None = Field(description="`after` for the next page; null on the last")


class KeysQuery(QueryModel):
    count: int = Field(default=100, ge=1, le=MAX_PAGE, description="keys on this page")
    after: str | None = Field(
        default=None, pattern=r"^[a-z2-7]{10}$", description="the previous page's `next_after`"
    )
    q: str | None = Field(
        default=None, min_length=1, max_length=256, description="key id prefix or part of user"
    )


class NewKey(BodyModel):
    app: str | None = Field(default=None, description="bind the key to one of the tenant's apps")
    user: str | None = Field(default=None, min_length=1, max_length=256)
    role: Role = Field(default=Role.USER, description="user calls models; admin; auditor")
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    token_budget: int | None = Field(default=None, ge=1)


class IssuedKey(BaseModel):
    key: ApiKey
    api_key: str = Field(description="the key itself: shown this once, never again")
    ledger_seq: int


class Revoked(ApiKey):
    ledger_seq: int | None = Field(description="null when the key was revoked already")


class KeyLimits(ApiKey):
    ledger_seq: int


def _view(key: VirtualKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "tenant": key.tenant,
        "app": key.app,
        "user": key.user,
        "role": key.role,
        "created_at": key.created_at,
        "revoked": key.revoked,
        "revoked_at": key.revoked_at,
        "rpm": key.rpm,
        "tpm": key.tpm,
        "token_budget": key.token_budget,
        "spend_budget": None
        if key.spend_budget is None or key.spend_currency not in ("KRW", "USD")
        else str(Money(key.spend_currency, key.spend_budget).amount),  # type: ignore[arg-type]
        "spend_currency": key.spend_currency if key.spend_budget is not None else None,
    }


def list_keys(ctx: AdminContext, call: Call[KeysQuery, NoBody]) -> ApiKeys:
    tenant, q = existing_tenant(ctx, call), call.query
    page = ctx.directory.page_keys(tenant.name, count=q.count, after=q.after, search=q.q)
    used = budget_used(ctx, "key", [k.key_id for k in page.keys])
    return ApiKeys(
        keys=[ApiKey(**_view(k), used=used.get(k.key_id)) for k in page.keys],
        total=page.total,
        next_after=page.next_after,
    )


def _visible_key(ctx: AdminContext, call: Call[Any, Any]) -> VirtualKey:
    """The path's key if the caller may see it; else 404, as for a missing one."""
    key_id = call.path["key_id"]
    try:
        found: VirtualKey | None = ctx.directory.get_key(key_id)
    except UsageError:
        found = None
    if found is None or not call.who.sees(found.tenant):  # another tenant's: as if missing
        raise NotFoundError(f"no API key with id {key_id!r}")
    return found


def issue(ctx: AdminContext, call: Call[NoQuery, NewKey]) -> IssuedKey:
    tenant, body, caller = existing_tenant(ctx, call), call.body, call.who
    if body.app is not None and body.app not in {
        a.name for a in ctx.directory.list_apps(tenant.name)
    }:
        raise NotFoundError(f"tenant {tenant.name!r} has no app named {body.app!r}")
    writable(ctx)
    key, secret = ctx.directory.issue_key(
        tenant.name,
        app=body.app,
        user=body.user,
        role=body.role,
        rpm=body.rpm,
        tpm=body.tpm,
        token_budget=body.token_budget,
    )
    attrs = {"key_id": key.key_id, "role": key.role.value}
    if key.app is not None:
        attrs["app"] = key.app
    entry = change_entry(caller, "key-issue", tenant=tenant.name, attrs=attrs)
    seq = record_or_undo(  # an unrecorded key must not work
        ctx, caller, entry, lambda: ctx.directory.revoke_key(key.key_id)
    )
    return IssuedKey(key=ApiKey(**_view(key)), api_key=secret, ledger_seq=seq)


def revoke(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Revoked:
    found, caller = _visible_key(ctx, call), call.who
    key_id = found.key_id
    if found.revoked:
        return Revoked(**_view(found), ledger_seq=None)
    writable(ctx)
    key = ctx.directory.revoke_key(key_id)
    seq = record(
        ctx,
        caller,
        change_entry(caller, "key-revoke", tenant=key.tenant, attrs={"key_id": key.key_id}),
    )
    return Revoked(**_view(key), ledger_seq=seq)


def set_limits(ctx: AdminContext, call: Call[NoQuery, NewLimits]) -> KeyLimits:
    found, caller = _visible_key(ctx, call), call.who
    attrs = limit_attrs(call.body)
    if not attrs:
        raise UsageError("body: give at least one of rpm, tpm, token_budget (null lifts one)")
    if found.revoked:
        raise ConflictError(f"API key {found.key_id!r} is revoked: its limits no longer matter")
    new = call.body.changes()
    writable(ctx)
    key = ctx.directory.update_key_limits(
        found.key_id, rpm=new["rpm"], tpm=new["tpm"], token_budget=new["token_budget"]
    )
    entry = change_entry(
        caller, "key-limits", tenant=key.tenant, attrs={"key_id": key.key_id, **attrs}
    )
    seq = record_or_undo(
        ctx,
        caller,
        entry,
        lambda: ctx.directory.update_key_limits(
            found.key_id, rpm=found.rpm, tpm=found.tpm, token_budget=found.token_budget
        ),
    )
    used = budget_used(ctx, "key", [key.key_id])
    return KeyLimits(**_view(key), used=used.get(key.key_id), ledger_seq=seq)


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/tenants/{tenant}/api-keys",
        "listApiKeys",
        "A tenant's virtual API keys, a page at a time (never their secrets)",
        "api-keys",
        Permission.READ_CONTROL,
        KeysQuery,
        NoBody,
        ApiKeys,
        list_keys,
    ),
    Operation(
        "POST",
        "/tenants/{tenant}/api-keys",
        "issueApiKey",
        "Issue a virtual API key; its secret is in this answer only",
        "api-keys",
        Permission.MANAGE,
        NoQuery,
        NewKey,
        IssuedKey,
        issue,
        status=201,
        description="Recorded in the ledger (`key-issue`, with the new key's id).",
    ),
    Operation(
        "POST",
        "/api-keys/{key_id}/revoke",
        "revokeApiKey",
        "Revoke a key for good; every node refuses it within 1 s",
        "api-keys",
        Permission.MANAGE,
        NoQuery,
        NoBody,
        Revoked,
        revoke,
        description="Idempotent: revoking a revoked key changes and records nothing. "
        "Recorded (`key-revoke`).",
    ),
    Operation(
        "POST",
        "/api-keys/{key_id}/limits",
        "setApiKeyLimits",
        "Change a key's rpm, tpm and token budget (a field left out stays; null lifts it)",
        "api-keys",
        Permission.MANAGE,
        NoQuery,
        NewLimits,
        KeyLimits,
        set_limits,
        description="The tenant's own limits still apply on top. Every node uses the new "
        "limits within 1 s. 409 for a revoked key. Recorded (`key-limits`).",
    ),
)
