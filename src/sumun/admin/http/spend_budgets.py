"""Spend budgets: `POST /api-keys/{key_id}/spend-budget`, `POST /tenants/{tenant}/spend-budget`.

A spend budget is a total in KRW or USD, charged at the prices in sumun.yaml (`prices:`) and
enforced by the gateway's limiter like a token budget (`sumun.gateway.spend_budget`): held at
admission, settled to each answer's cost, refused 429 when spent; a request for a model
without a price is refused while one applies. `amount` is whole won, or dollars to the cent;
`null` lifts the budget. A key's budget is set by its tenant's admins, a tenant's by the
operator only (a tenant does not raise its own budget). Each change is an `admin-change` entry
(`key-spend-budget`, `tenant-spend-budget`) with the new budget, undone if the ledger refuses it;
the answer says what has been `spent` against it so far, as this node's limiter counts it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.api_keys import ApiKey, _view, _visible_key
from sumun.admin.http.audit import change_entry, record_or_undo, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.admin.http.tenants import existing_tenant
from sumun.errors import ConflictError, LimiterUnavailableError, UsageError
from sumun.gateway.spend import Currency, Money, parse_amount
from sumun.store.model import Permission

__all__ = ["OPERATIONS"]


class NewSpendBudget(BodyModel):
    """A spend budget: `amount` in `currency`, or `amount: null` to lift it."""

    currency: Literal["KRW", "USD"] = "KRW"
    amount: Decimal | None = Field(
        gt=0, allow_inf_nan=False, description="whole won, or dollars to the cent; null lifts it"
    )


class KeySpendBudget(ApiKey):
    spent: str | None = Field(
        description="charged against the spend budget (answers settled, requests in flight); "
        "null: no budget, or this node's limiter cannot be read now"
    )
    ledger_seq: int


class TenantSpendBudget(BaseModel):
    tenant: str
    spend_budget: str | None = Field(description="a decimal amount of `spend_currency`")
    spend_currency: Literal["KRW", "USD"] | None
    spent: str | None = Field(description="as for a key")
    ledger_seq: int


def _chosen(body: NewSpendBudget) -> tuple[str, int] | None:
    if body.amount is None:
        return None
    try:
        money = parse_amount(body.currency, body.amount)
    except ValueError as exc:
        raise UsageError(f"body.amount: {exc}") from None
    return money.currency, money.micros


def _before(record: Any) -> tuple[str, int] | None:
    if record.spend_budget is None or record.spend_currency is None:
        return None
    return str(record.spend_currency), int(record.spend_budget)


def _spent(
    ctx: AdminContext, scope: Literal["key", "tenant"], name: str, spend: tuple[str, int] | None
) -> str | None:
    if spend is None:
        return None
    currency: Currency = "KRW" if spend[0] == "KRW" else "USD"
    try:
        micros = ctx.limiter.spent(scope, [name], currency).get(name, 0)
    except LimiterUnavailableError:
        return None
    return str(Money(currency, micros).amount)


def _attrs(body: NewSpendBudget, spend: tuple[str, int] | None) -> dict[str, str]:
    return {"spend_budget": "none" if spend is None else f"{body.amount} {spend[0]}"}


def set_key_budget(ctx: AdminContext, call: Call[NoQuery, NewSpendBudget]) -> KeySpendBudget:
    found, caller = _visible_key(ctx, call), call.who
    if found.revoked:
        raise ConflictError(f"API key {found.key_id!r} is revoked: its limits no longer matter")
    spend = _chosen(call.body)
    writable(ctx)
    key = ctx.directory.update_key_limits(found.key_id, spend_budget=spend)
    attrs = {"key_id": key.key_id, **_attrs(call.body, spend)}
    entry = change_entry(caller, "key-spend-budget", tenant=key.tenant, attrs=attrs)
    before = _before(found)
    seq = record_or_undo(
        ctx,
        caller,
        entry,
        lambda: ctx.directory.update_key_limits(found.key_id, spend_budget=before),
    )
    spent = _spent(ctx, "key", key.key_id, spend)
    return KeySpendBudget(**_view(key), spent=spent, ledger_seq=seq)


def set_tenant_budget(ctx: AdminContext, call: Call[NoQuery, NewSpendBudget]) -> TenantSpendBudget:
    tenant, caller = existing_tenant(ctx, call), call.who
    spend = _chosen(call.body)
    writable(ctx)
    changed = ctx.directory.update_tenant(tenant.name, spend_budget=spend)
    entry = change_entry(
        caller, "tenant-spend-budget", tenant=tenant.name, attrs=_attrs(call.body, spend)
    )
    before = _before(tenant)
    seq = record_or_undo(
        ctx,
        caller,
        entry,
        lambda: ctx.directory.update_tenant(tenant.name, spend_budget=before),
    )
    currency = changed.spend_currency if changed.spend_budget is not None else None
    return TenantSpendBudget(
        tenant=changed.name,
        spend_budget=None
        if spend is None
        else str(Money("KRW" if spend[0] == "KRW" else "USD", spend[1]).amount),
        spend_currency="KRW" if currency == "KRW" else "USD" if currency == "USD" else None,
        spent=_spent(ctx, "tenant", changed.name, spend),
        ledger_seq=seq,
    )


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "POST",
        "/api-keys/{key_id}/spend-budget",
        "setApiKeySpendBudget",
        "Set a key's spend budget in KRW or USD (`amount: null` lifts it)",
        "api-keys",
        Permission.MANAGE,
        NoQuery,
        NewSpendBudget,
        KeySpendBudget,
        set_key_budget,
        description="Charged at the prices in sumun.yaml (`prices:`): a request for a model "
        "without a price is refused while a spend budget applies. Every node uses it within "
        "1 s. 409 for a revoked key. Recorded (`key-spend-budget`).",
    ),
    Operation(
        "POST",
        "/tenants/{tenant}/spend-budget",
        "setTenantSpendBudget",
        "Set a tenant's spend budget in KRW or USD (`amount: null` lifts it)",
        "tenants",
        Permission.MANAGE,
        NoQuery,
        NewSpendBudget,
        TenantSpendBudget,
        set_tenant_budget,
        scope="deployment",
        description="Shared by all the tenant's keys, on top of their own. Every node uses it "
        "within 1 s. Recorded (`tenant-spend-budget`).",
    ),
)
