"""The node at a glance and its metrics: `GET /status`, `GET /metrics`.

`/status` is what an operator checks first (sealed? key backend reachable? control store
fresh? how big is the ledger?) and tells the caller who it is and what its key may do, so a
front end shows only the actions that will be allowed. `/metrics` is the gateway's Prometheus
text; it names every tenant, so it is for the operator tenant's keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation, Text
from sumun.store.model import GRANTS, Permission

__all__ = ["OPERATIONS"]


class KeyLayer(BaseModel):
    initialised: bool
    sealed: bool
    method: str | None = Field(description="shares or passphrase")
    threshold: int | None
    custodians: int | None
    backend: str | None = Field(description="embedded, pkcs11 or openbao")
    suite: str | None
    backend_ok: bool | None = Field(description="null while sealed")
    backend_error: str | None = Field(description="operator tenant's keys only")
    backend_facts: dict[str, str] = Field(description="operator tenant's keys only")


class LedgerState(BaseModel):
    store: str
    size: int
    checkpoint_size: int | None
    checkpoint_time_ms: int | None


class ControlState(BaseModel):
    store: Literal["sqlite", "postgres"]
    problem: str | None = Field(description="why this node cannot vouch for its control state")


class Caller(BaseModel):
    key_id: str
    tenant: str
    role: str
    scope: Literal["deployment", "tenant"]
    permissions: list[str] = Field(description="from the role table (store.model.GRANTS)")


class Status(BaseModel):
    keys: KeyLayer
    ledger: LedgerState
    control: ControlState
    operator_tenant: str
    caller: Caller


def status(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Status:
    who = call.who
    facts: dict[str, Any] = ctx.keys.status().to_json()
    if not who.operator:
        facts["backend_error"] = None if facts["backend_ok"] is not False else "unavailable"
        facts["backend_facts"] = {}
    store = ctx.ledger.store
    latest = store.latest_checkpoint()
    principal = who.principal
    return Status(
        keys=KeyLayer.model_validate({name: facts.get(name) for name in KeyLayer.model_fields}),
        ledger=LedgerState(
            store=store.name,
            size=store.size(),
            checkpoint_size=latest.size if latest else None,
            checkpoint_time_ms=latest.time_ms if latest else None,
        ),
        control=ControlState(
            store=ctx.settings.control.store, problem=ctx.directory.control_problem()
        ),
        operator_tenant=ctx.operator_tenant,
        caller=Caller(
            key_id=principal.key_id,
            tenant=principal.tenant,
            role=principal.role.value,
            scope="deployment" if who.operator else "tenant",
            permissions=sorted(p.value for p in GRANTS[principal.role]),
        ),
    )


def metrics(ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> Text:
    return Text(ctx.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/status",
        "getStatus",
        "Seal state, key backend, control store, ledger size — and who is asking",
        "status",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        Status,
        status,
    ),
    Operation(
        "GET",
        "/metrics",
        "getMetrics",
        "The gateway's Prometheus metrics (the same as its /metrics)",
        "status",
        Permission.READ_METRICS,
        NoQuery,
        NoBody,
        None,
        metrics,
        scope="deployment",
        media_type="text/plain",
    ),
)
