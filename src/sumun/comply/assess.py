"""The assessment: each requirement of the catalog against the facts, in three steps.

1. Applicability (scope). `ai: high-impact` requirements are assessed once per app the
   register marks high-impact (none ⇒ not applicable). Sectors apply when a registered app is
   in one of them. Data classes apply when the deployment handles that class: seen in the
   ledger, declared as a tenant's default, or declared for a registered app. Generative-AI
   requirements always apply: Sumun serves generative models.
2. Evidence: every check's collector is run; a collector may find the requirement moot for
   this deployment (`applies=False`, e.g. no foreign operator ⇒ no representative to name).
3. Status: any check failed ⇒ not-satisfied; else any check could not read its state ⇒
   undetermined; else an attestation it needs is missing ⇒ needs-attestation; else satisfied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sumun.comply.catalog import Catalog
from sumun.comply.collectors import COLLECTORS
from sumun.comply.facts import Facts
from sumun.comply.model import (
    STATUSES,
    Assessment,
    AttestationRecord,
    Evidence,
    Requirement,
    Status,
)
from sumun.comply.register import Registration

__all__ = ["Applicability", "Summary", "TopItem", "applicability", "assess", "summarize"]

_GENERATIVE = "Sumun serves generative AI models: applies to every deployment"


@dataclass(frozen=True, slots=True)
class Applicability:
    """What the deployment is, for scoping: its high-impact apps, sectors, data classes."""

    high_impact: tuple[Registration, ...]
    sectors: dict[str, tuple[str, ...]]  # sector -> registered apps in it
    classes: dict[str, tuple[str, ...]]  # class -> why the deployment handles it
    unregistered: int  # apps not yet assessed (art. 33)


def applicability(facts: Facts) -> Applicability:
    sectors: dict[str, list[str]] = {}
    classes: dict[str, list[str]] = {}
    for reg in facts.register:
        sectors.setdefault(reg.sector, []).append(reg.subject)
        for declared in reg.data_classes:
            classes.setdefault(declared, []).append(f"declared for {reg.subject}")
    for tenant in facts.directory.tenants:
        if tenant.default_data_class:
            classes.setdefault(tenant.default_data_class.upper(), []).append(
                f"default of tenant {tenant.name}"
            )
    for seen, count in facts.ledger.activity.classes_seen.items():
        classes.setdefault(seen, []).append(f"{count:,} request(s) in the ledger")
    apps = {f"{a.tenant}/{a.name}" for a in facts.directory.apps}
    registered = {r.subject for r in facts.register}
    return Applicability(
        high_impact=tuple(r for r in facts.register if r.high_impact),
        sectors={k: tuple(v) for k, v in sorted(sectors.items())},
        classes={k: tuple(v) for k, v in sorted(classes.items())},
        unregistered=len(apps - registered),
    )


def _scope_reason(req: Requirement, where: Applicability) -> tuple[bool, str]:
    """(applies, why) for the sector and data-class parts of the scope."""
    reasons = []
    if req.scope.sectors:
        hits = [s for s in req.scope.sectors if s in where.sectors]
        if not hits:
            return False, (
                f"applies to the {' / '.join(req.scope.sectors)} sector; no registered app is in it"
            )
        apps = [a for s in hits for a in where.sectors[s]]
        reasons.append(f"sector {', '.join(hits)}: {', '.join(apps)}")
    if req.scope.data_classes:
        handled = [c for c in req.scope.data_classes if c in where.classes]
        if not handled:
            return False, (
                f"applies to {'/'.join(req.scope.data_classes)}-grade data; none is handled "
                "(ledger, tenant defaults, register)"
            )
        reasons.append(
            "; ".join(f"{c}-grade data: {', '.join(where.classes[c][:2])}" for c in handled)
        )
    if req.scope.ai == "generative":
        reasons.append(_GENERATIVE)
    return True, "; ".join(reasons) or "applies to every deployment"


def _attested(
    records: Sequence[AttestationRecord], requirement: str, subject: str | None
) -> tuple[AttestationRecord, ...]:
    return tuple(r for r in records if r.requirement == requirement and r.subject == subject)


def _run(req: Requirement, facts: Facts, subject: Registration | None) -> list[Evidence]:
    found = []
    for check in req.checks:
        collector = COLLECTORS[check.collector]
        try:
            found.append(collector(facts, check.params, subject))
        except ValueError as exc:  # a misconfigured check: report it, assess the rest
            found.append(
                Evidence(
                    collector=check.collector,
                    ok=None,
                    summary=f"check misconfigured in the catalog: {exc}",
                    origin="catalog",
                )
            )
    return found


def _join(parts: Iterable[str]) -> str:
    return "; ".join(dict.fromkeys(parts))  # each distinct summary once, in order


def _one(req: Requirement, facts: Facts, subject: Registration | None, why: str) -> Assessment:
    name = subject.subject if subject else None
    evidence = _run(req, facts, subject)
    attestations = _attested(facts.attestations, req.id, name)
    moot = [e for e in evidence if not e.applies]
    status: Status
    if moot:
        status, reason = "not-applicable", moot[0].summary
    elif any(e.ok is False for e in evidence):
        failed = [e for e in evidence if e.ok is False]
        status, reason = "not-satisfied", _join(e.summary for e in failed)
    elif any(e.ok is None for e in evidence):
        unknown = [e for e in evidence if e.ok is None]
        status, reason = "undetermined", _join(e.summary for e in unknown)
    elif req.attestation is not None and not attestations:
        status = "needs-attestation"
        reason = "needs: " + "; ".join(req.attestation.documents)
    else:
        status = "satisfied"
        reason = _join(e.summary for e in evidence if e.ok)
        if attestations:
            reason += ("; " if reason else "") + f"attested by {attestations[-1].by}"
    return Assessment(
        requirement=req,
        status=status,
        subject=name,
        evidence=tuple(evidence),
        attestations=attestations,
        reason=reason,
        applies_because=why if status != "not-applicable" else "",
    )


def assess(catalog: Catalog, facts: Facts) -> tuple[Assessment, ...]:
    """Every requirement (per high-impact app where scoped so), in catalog order."""
    where = applicability(facts)
    out: list[Assessment] = []
    for req in catalog.requirements:
        applies, why = _scope_reason(req, where)
        if not applies:
            out.append(Assessment(requirement=req, status="not-applicable", reason=why))
            continue
        if req.scope.ai == "high-impact":
            if not where.high_impact:
                pending = (
                    f"; {where.unregistered} app(s) are not yet assessed (art. 33)"
                    if where.unregistered
                    else ""
                )
                out.append(
                    Assessment(
                        requirement=req,
                        status="not-applicable",
                        reason="no app is registered as high-impact" + pending,
                    )
                )
                continue
            out.extend(
                _one(req, facts, reg, f"{reg.subject} is registered as high-impact AI")
                for reg in where.high_impact
            )
            continue
        out.append(_one(req, facts, None, why))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TopItem:
    """One gap of a failing requirement and its own remedy (`advice`, a command when there is
    one); `remedy_*` (the requirement's general remedy) only when the check gave none."""

    id: str
    subject: str | None
    title_ko: str
    title_en: str
    problem: str
    advice: str | None
    remedy_ko: str | None
    remedy_en: str | None


@dataclass(frozen=True, slots=True)
class Summary:
    counts: dict[Status, int]
    applicable: int
    unconfirmed: int  # applicable requirements whose source is unconfirmed
    top_failures: tuple[TopItem, ...]
    headline_en: str
    headline_ko: str


def _gaps(item: Assessment) -> list[TopItem]:
    """One row per gap: each failing (else undetermined) check with its own remedy — a
    requirement with two gaps (no drill, no limits) gets two rows, each with what fixes it.
    The requirement's general remedy is kept only where a check gave no advice of its own."""
    failing = [e for e in item.evidence if e.ok is False] or [
        e for e in item.evidence if e.ok is None
    ]
    req = item.requirement

    def row(problem: str, advice: str | None) -> TopItem:
        generic = advice is None
        return TopItem(
            id=req.id,
            subject=item.subject,
            title_ko=req.title_ko,
            title_en=req.title_en,
            problem=problem,
            advice=advice,
            remedy_ko=req.remedy_ko if generic else None,
            remedy_en=req.remedy_en if generic else None,
        )

    if not failing:
        return [row(item.reason, None)]
    return [row(e.summary, e.advice) for e in failing]


def summarize(assessments: Sequence[Assessment], *, top: int = 8) -> Summary:
    counts: dict[Status, int] = {s: 0 for s in STATUSES}
    for item in assessments:
        counts[item.status] += 1
    applicable = len(assessments) - counts["not-applicable"]
    unconfirmed = sum(
        1
        for a in assessments
        if a.status != "not-applicable" and a.requirement.source.status == "unconfirmed"
    )
    failures = tuple(g for a in assessments if a.status == "not-satisfied" for g in _gaps(a))[:top]
    bad, attest = counts["not-satisfied"], counts["needs-attestation"]
    ok, unknown = counts["satisfied"], counts["undetermined"]
    headline_en = (
        f"{ok} of {applicable} applicable requirements are satisfied; {bad} are not, "
        f"{attest} need an attestation"
        + (f", {unknown} could not be determined" if unknown else "")
        + "."
    )
    headline_ko = (
        f"적용 대상 요구사항 {applicable}개 중 {ok}개 충족, {bad}개 미충족, "
        f"{attest}개 증빙 필요" + (f", {unknown}개 판단 불가" if unknown else "") + "."
    )
    return Summary(counts, applicable, unconfirmed, failures, headline_en, headline_ko)
