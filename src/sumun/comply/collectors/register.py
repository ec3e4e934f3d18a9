"""Collectors over the AI system register (art. 33) and human oversight (art. 34(4))."""

from __future__ import annotations

from sumun.comply.collectors.base import Collector, Params, ago, param_float
from sumun.comply.facts import Facts
from sumun.comply.model import DetailValue, Evidence
from sumun.comply.register import Registration
from sumun.store.model import Role

__all__ = ["COLLECTORS"]

_DAY = 86400.0


def coverage(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """Every app has been assessed for high impact in advance (art. 33)."""
    name = "register.coverage"
    origin = f"{facts.register_origin}; {facts.directory.origin}"
    apps = {f"{a.tenant}/{a.name}" for a in facts.directory.apps}
    # Calls made with tenant-wide keys count too: an app nobody registered is still an app.
    apps |= {s for s in facts.ledger.activity.apps if not s.endswith("/")}
    registered = {r.subject: r for r in facts.register}
    info: dict[str, DetailValue] = {
        s: (
            ("HIGH-IMPACT" if registered[s].high_impact else "not high-impact")
            + f" ({registered[s].determination.method}), sector {registered[s].sector}"
            if s in registered
            else "NOT REGISTERED"
        )
        for s in sorted(apps | set(registered))
    }
    if not apps and not registered:
        return Evidence(
            collector=name,
            ok=None,
            summary="no app exists yet",
            origin=origin,
            advice="`sumun tenants apps create TENANT APP`, then register it",
        )
    missing = sorted(apps - set(registered))
    if missing:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{len(missing)} app(s) not assessed for high impact: " + ", ".join(missing),
            origin=origin,
            details=info,
            advice=f"`sumun comply register {missing[0]} --purpose '…' --sector other "
            "--high-impact ask`",
        )
    high = sum(1 for r in facts.register if r.high_impact)
    return Evidence(
        collector=name,
        ok=True,
        summary=f"all {len(apps)} app(s) are in the register; {high} high-impact",
        origin=origin,
        details=info,
    )


def entry(facts: Facts, _params: Params, subject: Registration | None) -> Evidence:
    """The app's register entry names its models and who oversees it.

    Art. 34(1) item 4 asks for human management and oversight; requiring a named person is
    Sumun's reading of how to show it, and the evidence says so.
    """
    name = "register.entry"
    if subject is None:
        raise ValueError("register.entry is assessed per app")
    info: dict[str, DetailValue] = {
        "purpose": subject.purpose,
        "sector": subject.sector,
        "models": ", ".join(subject.models) or "none named",
        "oversight": subject.oversight or "none named",
        "determination": subject.determination.reason,
    }
    if subject.determination.automated is not None:
        info["automated, no person in the final decision"] = subject.determination.automated
    gaps = []
    if not subject.oversight:
        gaps.append("no person named for oversight (Sumun's reading of art. 34(4))")
    if not subject.models:
        gaps.append("no models named")
    unknown = [m for m in subject.models if facts.routes and m not in facts.routes]
    if unknown:
        gaps.append("models not configured as routes: " + ", ".join(unknown))
    if gaps:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"register entry of {subject.subject} is incomplete: " + "; ".join(gaps),
            origin=facts.register_origin,
            details=info,
            advice=f"`sumun comply register {subject.subject} --oversight 'NAME <email>' "
            f"--model {facts.routes[0] if facts.routes else 'MODEL'} …`",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{subject.subject}: oversight by {subject.oversight}; models "
        + ", ".join(subject.models),
        origin=facts.register_origin,
        details=info,
    )


def reviews(facts: Facts, params: Params, subject: Registration | None) -> Evidence:
    """A person can oversee the app (auditor key) and does (reviews recorded in the ledger)."""
    name = "oversight.reviews"
    if subject is None:
        raise ValueError("oversight.reviews is assessed per app")
    window = param_float(params, "window_days", 90)
    minimum = int(param_float(params, "min_reviews", 1))
    origin = f"ledger oversight-review entries; {facts.directory.origin}"
    auditors = [
        k
        for k in facts.directory.keys
        if k.role is Role.AUDITOR and k.tenant == subject.tenant and not k.revoked
    ]
    mine = [
        r
        for r in facts.ledger.activity.reviews
        if r.tenant == subject.tenant and r.app == subject.app
    ]
    recent = [r for r in mine if facts.now - r.time_ms / 1000 <= window * _DAY]
    activity = facts.ledger.activity.apps.get(subject.subject)
    calls = activity.requests if activity else 0
    info: dict[str, DetailValue] = {
        "auditor keys": len(auditors),
        "calls": calls,
        "reviews": len(mine),
        f"reviews in {window:g} days": len(recent),
        "flagged": sum(1 for r in mine if r.flag),
        "decisions": ", ".join(sorted({r.decision for r in mine})) or "none",
    }
    if mine:
        last = max(mine, key=lambda r: r.time_ms)
        info["last review"] = (
            f"#{last.seq} of #{last.reviewed_seq} by {last.reviewer_user or last.reviewer}, "
            f"{ago(facts.now, last.time_ms / 1000)}"
        )
    if not auditors:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"no active auditor key for tenant {subject.tenant}: nobody can review "
            f"{subject.subject}",
            origin=origin,
            details=info,
            advice=f"`sumun tenants keys issue --tenant {subject.tenant} --role auditor "
            f"--user '{subject.oversight or 'NAME'}'`",
        )
    if calls and len(recent) < minimum:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{calls:,} call(s) of {subject.subject} but {len(recent)} review(s) in the "
            f"last {window:g} days",
            origin=origin,
            details=info,
            advice="review entries: `sumun comply review SEQ --decision confirm` "
            "(list candidates with `sumun ledger tail`)",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{len(auditors)} auditor key(s); {len(recent)} review(s) of {subject.subject} "
        f"in the last {window:g} days" + ("" if calls else " (no calls yet)"),
        origin=origin,
        details=info,
    )


COLLECTORS = (
    Collector("register.coverage", coverage, "register vs apps in store.db and the ledger"),
    Collector("register.entry", entry, "the app's register entry", per_app=True),
    Collector("oversight.reviews", reviews, "auditor keys; oversight-review entries", True),
)
