"""Providers and the kill switch: `GET /providers`, `POST /providers/{name}/cut|restore`.

Each provider's `health` is its circuit breaker on this node (`gateway.breaker`): `closed`
(traffic flows), `open` (it failed repeatedly; no traffic until the cool-down ends), `half-open`
(one trial request decides). Breakers are per process, so another node may see it otherwise;
the kill switch (`cut`) is the deployment-wide decision.

A cut is the kill switch's (`gateway.killswitch`): durable in the control store before the
answer, seen by every node within 1 s, recorded as the CLI records it (`provider-cut` /
`provider-restore`) with the calling key as actor. Cutting and restoring act on the whole
deployment, so only keys of the operator tenant may do them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import record, writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.config import ProviderConfig, RouteConfig
from sumun.errors import ConflictError, NotFoundError
from sumun.gateway.assemble import kill_switch_entry
from sumun.policy.classes import DataClass
from sumun.policy.profiles import ProviderProfile, admit_profile
from sumun.store.model import Permission

__all__ = ["OPERATIONS"]


class Profile(BaseModel):
    """The provider's declared terms (sumun.yaml `providers[].profile`)."""

    jurisdiction: str
    hosting: str | None
    key_custody: str | None
    retention_days: int | None
    training_use: bool | None
    certifications: list[str]
    cross_border_basis: str | None


class Admitted(BaseModel):
    """What the policy in force admits this provider for, and why."""

    max_class: Literal["C", "S", "O"]
    classes: list[Literal["C", "S", "O"]]
    rules: list[str]
    reasons: list[str]


class Provider(BaseModel):
    name: str
    kind: str
    base_url: str | None
    routes: list[str] = Field(description="model aliases this provider serves")
    declared: bool = Field(description="false: no declared profile (admitted for O only)")
    profile: Profile
    admitted: Admitted
    cut: bool
    reason: str | None = Field(description="why it was last cut (kept after a restore)")
    actor: str | None = Field(description="who last cut or restored it")
    changed_at: float | None = Field(description="Unix seconds of the last cut or restore")
    health: Literal["closed", "open", "half-open"] = Field(
        description="this node's circuit breaker for it (module docstring)"
    )


class Providers(BaseModel):
    providers: list[Provider]


class CutBody(BodyModel):
    reason: str = Field(
        default="cut by operator",
        min_length=1,
        max_length=500,
        description="why (recorded in the ledger)",
    )


class Change(BaseModel):
    name: str
    cut: bool
    reason: str
    actor: str
    ledger_seq: int


def _configured(ctx: AdminContext, name: str) -> ProviderConfig:
    for provider in ctx.settings.providers:
        if provider.name == name:
            return provider
    known = ", ".join(p.name for p in ctx.settings.providers)
    raise NotFoundError(f"unknown provider {name!r}; configured: {known}")


def _targets(route: RouteConfig) -> set[str]:
    return {t.provider for t in route.targets}


def _view(ctx: AdminContext, provider: ProviderConfig) -> Provider:
    declared = provider.effective_profile()
    profile = ProviderProfile(**declared.model_dump()) if declared else ProviderProfile()
    admitted = admit_profile(profile, ctx.policy().admission.rules())
    record = next((r for r in ctx.killswitch.records() if r.name == provider.name), None)
    return Provider(
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        routes=[r.model for r in ctx.settings.routes if provider.name in _targets(r)],
        declared=declared is not None,
        profile=Profile(
            jurisdiction=profile.jurisdiction,
            hosting=profile.hosting,
            key_custody=profile.key_custody,
            retention_days=profile.retention_days,
            training_use=profile.training_use,
            certifications=list(profile.certifications),
            cross_border_basis=profile.cross_border_basis,
        ),
        admitted=Admitted(
            max_class=admitted.max_class.value,
            classes=[c.value for c in DataClass if admitted.max_class.admits(c)],
            rules=list(admitted.rules),
            reasons=list(admitted.reasons),
        ),
        cut=ctx.killswitch.is_cut(provider.name),
        reason=record.reason if record else None,
        actor=record.actor if record else None,
        changed_at=record.at if record else None,
        health=ctx.breaker.state(provider.name).value,
    )


def list_providers(ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> Providers:
    return Providers(providers=[_view(ctx, p) for p in ctx.settings.providers])


def cut(ctx: AdminContext, call: Call[NoQuery, CutBody]) -> Change:
    caller, name = call.who, _configured(ctx, call.path["name"]).name
    writable(ctx)
    done = ctx.killswitch.cut(name, call.body.reason, caller.actor)
    seq = record(ctx, caller, kill_switch_entry(name, "cut", caller.actor, done.reason))
    return Change(name=name, cut=True, reason=done.reason, actor=done.actor, ledger_seq=seq)


def restore(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Change:
    caller, name = call.who, _configured(ctx, call.path["name"]).name
    if not ctx.killswitch.is_cut(name):
        raise ConflictError(f"provider {name!r} is not cut")
    writable(ctx)
    done = ctx.killswitch.restore(name, caller.actor)
    seq = record(ctx, caller, kill_switch_entry(name, "restore", caller.actor, done.reason))
    return Change(name=name, cut=False, reason=done.reason, actor=done.actor, ledger_seq=seq)


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/providers",
        "listProviders",
        "Providers, what each is admitted for, and the kill switch's state",
        "providers",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        Providers,
        list_providers,
    ),
    Operation(
        "POST",
        "/providers/{name}/cut",
        "cutProvider",
        "Cut a provider off on every node within 1 s",
        "providers",
        Permission.MANAGE,
        NoQuery,
        CutBody,
        Change,
        cut,
        scope="deployment",
        description="Traffic fails over to the route's other providers or is refused (503). "
        "Recorded in the ledger (`provider-cut`) with the calling key as actor.",
    ),
    Operation(
        "POST",
        "/providers/{name}/restore",
        "restoreProvider",
        "Let traffic reach a cut provider again",
        "providers",
        Permission.MANAGE,
        NoQuery,
        NoBody,
        Change,
        restore,
        scope="deployment",
        description="409 when the provider is not cut. Recorded (`provider-restore`).",
    ),
)
