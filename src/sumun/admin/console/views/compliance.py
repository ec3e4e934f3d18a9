"""Compliance: the live report, attestations, the AI register, oversight reviews.

The page shows what the admin API's compliance operations answer for the signed-in caller
(`admin.http.compliance`): the report requirement by requirement (operator tenant only: it
names every tenant), the attestations, the AI register and the oversight queue. Its three forms
are the API's changes — `addAttestation`, `registerApp` (admins) and `recordOversightReview`
(auditors) — so each is checked, refused and recorded in the ledger exactly as over HTTP.

Fast at any ledger size: the report comes from the admin process's report cache
(`compliance_report`: computed in the background, its age shown; before the first one exists
the page says it is being prepared and reloads itself with a <meta> refresh, no script), and
the oversight queue reads a bounded window of the newest entries, with a link that looks
further back (`?before=`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sumun.admin.console.actions import check
from sumun.admin.console.views.supply_chain import download
from sumun.admin.console.web import BASE, Console, Visit, guarded
from sumun.admin.http.compliance import (
    AttestationList,
    AttestBody,
    Attested,
    RegisterBody,
    Registered,
    RegisterList,
)
from sumun.admin.http.compliance_report import (
    ComplianceReport,
    RefreshState,
    ReportPreparingError,
    warm,
)
from sumun.admin.http.compliance_reviews import ReviewBody, Reviewed, ReviewList, ReviewQuery
from sumun.admin.http.inputs import body_from
from sumun.comply.present import attest_command, commands, for_people, marker
from sumun.errors import ForbiddenError
from sumun.store.model import Permission

__all__ = ["routes"]

PAGE = f"{BASE}compliance"


async def _may(visit: Visit, name: str) -> bool:
    try:
        await run_in_threadpool(check, visit.console.ctx, visit.who, name)
    except ForbiddenError:
        return False
    return True


def _groups(report: ComplianceReport) -> list[dict[str, Any]]:
    """The requirements under their instrument (AI Basic Act, PIPA, N2SF, KCMVP, CSAP), as
    people read them (`comply.present`: $SUMUN_HOME for the home's path, values in words)."""
    shown = for_people(report.requirements, report.deployment.get("home"))
    return [
        {
            "source": source,
            "items": [r for r in shown if r["catalog_file"] == source["file"]],
        }
        for source in report.catalog
    ]


REFRESH_S = 5  # while the report is being prepared, the page reloads itself this often


def _whole(text: str, low: int, high: int) -> int | None:
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    return int(text) if low <= int(text) <= high else None


def _queue_query(visit: Visit) -> ReviewQuery:
    """`?before=` from the "look further back" link and `?scan=` (how many entries one page
    reads); a value out of range reads from the newest, 10,000 entries."""
    params = visit.request.query_params
    scan = _whole(params.get("scan", ""), 1, 100_000)
    before = _whole(params.get("before", ""), 0, 10**18)
    return ReviewQuery(before=before) if scan is None else ReviewQuery(scan=scan, before=before)


async def compliance(visit: Visit) -> Response:
    report: ComplianceReport | None = None
    preparing: ReportPreparingError | None = None
    if await _may(visit, "getComplianceReport"):
        try:
            report = await visit.call("getComplianceReport", ComplianceReport)
        except ReportPreparingError as exc:
            preparing = exc
    register = await visit.call("listRegister", RegisterList)
    attestations = await visit.call("listAttestations", AttestationList)
    queue = _queue_query(visit)
    reviews = await visit.call("listOversightReviews", ReviewList, query=queue)
    scan_asked = queue.scan if "scan" in queue.model_fields_set else None
    attestable = [r for r in report.requirements if r["attestation"] is not None] if report else []
    return visit.render(
        "compliance.html",
        page="compliance",
        report=report,
        preparing=preparing,
        reload_seconds=REFRESH_S if preparing is not None and preparing.failed is None else None,
        groups=_groups(report) if report else [],
        register=register,
        attestations=attestations.attestations,
        attestable=sorted({r["id"] for r in attestable}),
        reviews=reviews,
        scan_param="" if scan_asked is None else f"&scan={scan_asked}",
        may_review=visit.who.principal.may(Permission.REVIEW),
        cmd=commands,
        marker=marker,
        attest_command=attest_command,
    )


async def report_html(visit: Visit) -> Response:
    """The report's printable HTML, saved as a file (`getComplianceReportHtml`)."""
    return await download(visit, "getComplianceReportHtml", "sumun-compliance-report.html")


async def refresh(visit: Visit) -> Response:
    """`POST /console/compliance/report/refresh`: compute a new report in the background."""
    await visit.call("refreshComplianceReport", RefreshState)
    visit.flash("ok", visit.t("compliance.refresh_started"))
    return visit.redirect(f"{PAGE}#report")


def _fields(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """The non-empty text fields of `form` among `names` (an empty field is "not given")."""
    return {n: form[n].strip() for n in names if form.get(n, "").strip()}


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


async def review(visit: Visit) -> Response:
    """`POST /console/compliance/reviews`: an auditor's review → an `oversight-review` entry."""
    form = visit.form
    fields: dict[str, Any] = _fields(form, ("outcome", "note"))
    seq = form.get("seq", "")
    fields["seq"] = int(seq) if seq.isdigit() else -1  # refused by the body's rule (seq ≥ 0)
    fields["flag"] = form.get("flag") == "yes"
    done = await visit.call("recordOversightReview", Reviewed, body=body_from(ReviewBody, fields))
    visit.flash("ok", visit.t("compliance.reviewed", seq=done.reviewed_seq, entry=done.ledger_seq))
    return visit.redirect(f"{PAGE}#reviews")


async def register(visit: Visit) -> Response:
    """`POST /console/compliance/register`: add or update an app's register entry."""
    form = visit.form
    fields = _fields(form, ("app", "purpose", "sector", "high_impact", "oversight"))
    if form.get("models", "").strip():
        fields["models"] = _listed(form["models"])
    if form.get("data_classes", "").strip():
        fields["data_classes"] = [c.upper() for c in _listed(form["data_classes"])]
    fields.setdefault("app", "")
    done = await visit.call("registerApp", Registered, body=body_from(RegisterBody, fields))
    visit.flash("ok", visit.t("compliance.registered", app=done.entry.subject, seq=done.ledger_seq))
    return visit.redirect(f"{PAGE}#register")


async def attest(visit: Visit) -> Response:
    """`POST /console/compliance/attestations`: attest a requirement by a reference."""
    form = visit.form
    fields = _fields(form, ("requirement", "by", "app", "note"))
    fields["refs"] = _listed(form.get("refs", ""))
    fields.setdefault("requirement", "")
    fields.setdefault("by", "")
    done = await visit.call("addAttestation", Attested, body=body_from(AttestBody, fields))
    visit.flash(
        "ok", visit.t("compliance.attested", req=done.attestation.requirement, seq=done.ledger_seq)
    )
    return visit.redirect(f"{PAGE}#attestations")


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes, below /console. Building them warms the report cache: the first
    report is computed in the background soon after the admin app starts (`warm`)."""
    warm(console.ctx)
    get, post = ["GET"], ["POST"]
    return [
        Route("/compliance", guarded(console, compliance), methods=get),
        Route("/compliance/report.html", guarded(console, report_html), methods=get),
        Route("/compliance/report/refresh", guarded(console, refresh), methods=post),
        Route("/compliance/reviews", guarded(console, review), methods=post),
        Route("/compliance/register", guarded(console, register), methods=post),
        Route("/compliance/attestations", guarded(console, attest), methods=post),
    ]
