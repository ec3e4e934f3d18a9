"""Compliance records over the admin API: attestations and the AI register (the report is
`compliance_report`, oversight reviews `compliance_reviews`).

Each operation is the CLI's (`sumun comply attest|register`), built from the same code in
`sumun.comply`: an attestation is checked by `comply.attesting`, a register entry by
`comply.registration`. What differs is who acts: the calling key, named in every ledger entry
as `<key id>@admin-api`.

Scope (who sees what): a tenant's admin or auditor sees and changes its own tenant's apps;
deployment-wide attestations are the operator's. Each change starts a new compliance report
in the background (`compliance_report`), so the cached report soon counts it.

Order for every change (nothing half-applied): validate everything, check the ledger answers
(`writable`), append the ledger entry, then store the record — the stored record names its
entry's seq, as the CLI's does. A failed store after the append leaves an entry describing a
change that was not kept; never a change without its entry.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import change_entry, record, writable
from sumun.admin.http.auth import Caller
from sumun.admin.http.compliance_report import report_cache
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.comply.attest import Attestations as AttestationStore
from sumun.comply.attest import reference
from sumun.comply.attesting import attest_attrs, attestation_subject
from sumun.comply.catalog import Catalog, load_catalog
from sumun.comply.model import AttestationRecord
from sumun.comply.register import Determination, Register, Registration, determine, parse_subject
from sumun.comply.registration import Proposal, build_registration, declared, require_app
from sumun.errors import UsageError
from sumun.store.control import documents_for
from sumun.store.model import Permission

__all__ = ["OPERATIONS"]


@functools.cache
def _catalog() -> Catalog:
    """The packaged catalog, parsed once per process: it is package data, fixed while the
    process runs, and parsing its YAML takes ~50 ms — most of a register listing otherwise."""
    return load_catalog()


# -- attestations --------------------------------------------------------------------------------


class AttestationList(BaseModel):
    attestations: list[AttestationRecord]


class AttestBody(BodyModel):
    requirement: str = Field(pattern=r"^[A-Z][A-Z0-9.-]{1,40}$", description="e.g. AIBA-34.1")
    by: str = Field(min_length=1, max_length=200, description="the person who attests")
    refs: list[str] = Field(
        min_length=1, max_length=10, description="URLs or document numbers (no uploads here)"
    )
    app: str | None = Field(default=None, max_length=130, description="TENANT/APP, per-app only")
    note: str | None = Field(default=None, max_length=2000)


class Attested(BaseModel):
    attestation: AttestationRecord
    ledger_seq: int


def _tenant_of(subject: str | None) -> str | None:
    return None if subject is None else subject.partition("/")[0]


def list_attestations(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> AttestationList:
    caller = call.who
    records = AttestationStore(documents_for(ctx.settings)).load()
    return AttestationList(
        attestations=[r for r in records if _sees_subject(caller, r.subject)],
    )


def _sees_subject(caller: Caller, subject: str | None) -> bool:
    tenant = _tenant_of(subject)
    return caller.operator if tenant is None else caller.sees(tenant)


def attest(ctx: AdminContext, call: Call[NoQuery, AttestBody]) -> Attested:
    caller, body = call.who, call.body
    subject = attestation_subject(_catalog(), body.requirement, body.app)
    tenant = _tenant_of(subject)
    if tenant is None:
        caller.require_operator("an attestation for the whole deployment", ctx.operator_tenant)
    else:
        caller.require_tenant(tenant)
    documents = [reference(r) for r in body.refs]
    attrs = attest_attrs(body.requirement, body.by, documents, subject)
    attrs.pop("action")
    writable(ctx)
    seq = record(ctx, caller, change_entry(caller, "comply-attest", tenant=tenant, attrs=attrs))
    stored = AttestationStore(documents_for(ctx.settings)).add(
        AttestationRecord(
            requirement=body.requirement,
            subject=subject,
            documents=tuple(documents),
            by=body.by,
            at=time.time(),
            note=body.note,
            ledger_seq=seq,
        )
    )
    report_cache(ctx).refresh()  # the report counts attestations: recompute it
    return Attested(attestation=stored, ledger_seq=seq)


# -- the AI register -----------------------------------------------------------------------------


class Area(BaseModel):
    """An art. 2(4) area the high-impact questionnaire asks about."""

    id: str
    item: str
    title_en: str
    title_ko: str
    sector: str | None


class RegisterEntry(BaseModel):
    subject: str
    high_impact: bool
    entry: Registration


class RegisterList(BaseModel):
    apps: list[RegisterEntry]
    areas: list[Area]
    models: list[str] = Field(description="configured model aliases an entry may name")


class RegisterBody(BodyModel):
    app: str = Field(max_length=130, description="TENANT/APP")
    purpose: str | None = Field(default=None, min_length=3, max_length=2000)
    sector: Literal["finance", "healthcare", "public", "other"] | None = None
    high_impact: Literal["yes", "no", "questionnaire"] | None = Field(
        default=None,
        description="yes/no: declared; questionnaire: decided from `areas`, `significant` "
        "and `automated`. Required for a new entry; omitted, an update keeps the previous "
        "determination.",
    )
    areas: list[str] = Field(default_factory=list, max_length=20)
    significant: Literal["yes", "no", "unsure"] | None = None
    automated: Literal["yes", "no", "unsure"] | None = Field(
        default=None,
        description="is the output used without a person making the final decision (MSIT's "
        "January-2026 criteria)? Omitted: not asked, read as unsure.",
    )
    models: list[str] | None = Field(default=None, max_length=50)
    oversight: str | None = Field(default=None, max_length=500)
    data_classes: list[Literal["C", "S", "O"]] | None = None


class Registered(BaseModel):
    entry: RegisterEntry
    ledger_seq: int


def _entry(reg: Registration) -> RegisterEntry:
    return RegisterEntry(subject=reg.subject, high_impact=reg.high_impact, entry=reg)


def list_register(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> RegisterList:
    caller = call.who
    catalog = _catalog()
    apps = Register(documents_for(ctx.settings)).load()
    return RegisterList(
        apps=[_entry(r) for r in apps if caller.sees(r.tenant)],
        areas=[
            Area(id=a.id, item=a.item, title_en=a.title_en, title_ko=a.title_ko, sector=a.sector)
            for a in catalog.areas
        ],
        models=[r.model for r in ctx.settings.routes],
    )


def _determination(body: RegisterBody, previous: Registration | None) -> Determination:
    catalog = _catalog()
    if body.high_impact in ("yes", "no"):
        return declared(catalog.areas, body.high_impact == "yes", body.areas)
    if body.high_impact == "questionnaire":
        if body.areas and body.significant is None:
            raise UsageError(
                "body.significant: required with areas (yes, no or unsure: may the app's "
                "output significantly affect life, physical safety or fundamental rights?)"
            )
        return determine(catalog.areas, body.areas, body.significant or "no", body.automated)
    if previous is None:
        raise UsageError("body.high_impact: required for a new entry (yes, no or questionnaire)")
    return previous.determination


def register_app(ctx: AdminContext, call: Call[NoQuery, RegisterBody]) -> Registered:
    caller, body = call.who, call.body
    tenant, app = parse_subject(body.app)
    caller.require_tenant(tenant)
    require_app(ctx.settings, tenant, app)
    store = Register(documents_for(ctx.settings))
    previous = next((r for r in store.load() if r.subject == f"{tenant}/{app}"), None)
    proposal = Proposal(
        tenant=tenant,
        app=app,
        determination=_determination(body, previous),
        purpose=body.purpose,
        sector=body.sector,
        models=tuple(body.models) if body.models else None,
        oversight=body.oversight,
        data_classes=tuple(body.data_classes) if body.data_classes else None,
    )
    areas = _catalog().areas
    reg = build_registration(
        ctx.settings, areas, previous, proposal, actor=caller.actor, now=time.time()
    )
    writable(ctx)
    attrs = {"app": app, "high_impact": str(reg.high_impact).lower(), "sector": reg.sector}
    seq = record(ctx, caller, change_entry(caller, "comply-register", tenant=tenant, attrs=attrs))
    registered = _entry(store.put(reg))
    report_cache(ctx).refresh()  # the report assesses each registered app: recompute it
    return Registered(entry=registered, ledger_seq=seq)


def _op(
    method: Literal["GET", "POST"],
    path: str,
    name: str,
    summary: str,
    handler: Any,
    *,
    permission: Permission = Permission.READ_CONTROL,
    body: type[BodyModel] = NoBody,
    response: type[BaseModel] | None,
    **extra: Any,
) -> Operation[Any, Any]:
    return Operation(
        method, path, name, summary, "compliance", permission, NoQuery, body, response, handler,
        **extra,
    )  # fmt: skip


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    _op(
        "GET", "/compliance/attestations", "listAttestations",
        "Attestations: documents for requirements no machine can check", list_attestations,
        response=AttestationList,
        description="A tenant's key sees its own apps' attestations; deployment-wide ones are "
        "the operator tenant's.",
    ),
    _op(
        "POST", "/compliance/attestations", "addAttestation",
        "Attest a requirement by referencing documents", attest,
        permission=Permission.MANAGE, body=AttestBody, response=Attested, status=201,
        description="References only (URLs, document numbers); upload files with `sumun "
        "comply attest --file`. Recorded in the ledger (`comply-attest`).",
    ),
    _op(
        "GET", "/compliance/register", "listRegister",
        "The AI system register (AI Basic Act art. 33)", list_register,
        response=RegisterList,
        description="With the art. 2(4) areas and the configured models an entry may name.",
    ),
    _op(
        "POST", "/compliance/register", "registerApp",
        "Add or update an app's register entry", register_app,
        permission=Permission.MANAGE, body=RegisterBody, response=Registered,
        description="The app must exist. An update keeps what the body leaves out. Recorded "
        "in the ledger (`comply-register`).",
    ),
)  # fmt: skip
