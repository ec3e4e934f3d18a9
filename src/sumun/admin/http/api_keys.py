"""Virtual API keys: `GET|POST /tenants/{tenant}/api-keys`, `POST /api-keys/{key_id}/revoke`.

`POST` issues a key and answers with its secret form this once: Sumun keeps only its SHA-256
digest (`store.directory`). Lists never carry a secret. A revocation reaches every node within
1 s. Both are `admin-change` entries (`key-issue`, `key-revoke`) naming the new or revoked
key's id — never the key.

The path says `api-keys`, not `keys`: `/admin/v1/keys` is the key layer's (KEKs: rotate,
disable, destroy), as on the local admin channel.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sumun.admin.http.audit import change_entry, record, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.admin.http.tenants import existing_tenant
from sumun.errors import NotFoundError, SumunError, UsageError
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


class ApiKeys(BaseModel):
    keys: list[ApiKey]


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
    }


def list_keys(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> ApiKeys:
    tenant = existing_tenant(ctx, call)
    return ApiKeys(keys=[ApiKey(**_view(k)) for k in ctx.directory.list_keys(tenant.name)])


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
    try:
        seq = record(ctx, caller, entry)
    except SumunError:
        ctx.directory.revoke_key(key.key_id)  # an unrecorded key must not work
        raise
    return IssuedKey(key=ApiKey(**_view(key)), api_key=secret, ledger_seq=seq)


def revoke(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Revoked:
    key_id, caller = call.path["key_id"], call.who
    try:
        found: VirtualKey | None = ctx.directory.get_key(key_id)
    except UsageError:
        found = None
    if found is None or not caller.sees(found.tenant):  # another tenant's: as if missing
        raise NotFoundError(f"no API key with id {key_id!r}")
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


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/tenants/{tenant}/api-keys",
        "listApiKeys",
        "A tenant's virtual API keys (never their secrets)",
        "api-keys",
        Permission.READ_CONTROL,
        NoQuery,
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
)
