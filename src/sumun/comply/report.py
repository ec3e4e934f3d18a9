"""The compliance report: one JSON document with stable keys, and the same as printable HTML.

HTML is rendered with jinja2 (autoescape on: every value from the deployment — tenant names,
notice texts, scan paths — is escaped), self-contained (inline CSS, no script, no external
resource), Korean and English side by side, with a print stylesheet. Both formats open with
the disclaimer: guidance with sources, not legal advice. The HTML shows values for people
(`comply.present`): the system's name rather than its home directory, words rather than
Python values, commands that never wrap inside a token.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jinja2

from sumun.comply.assess import Summary, summarize
from sumun.comply.catalog import Catalog
from sumun.comply.facts import Facts, ScanFacts
from sumun.comply.model import STATUSES, Assessment, Evidence
from sumun.comply.present import (
    SUPPORTING_EN,
    SUPPORTING_KO,
    attest_command,
    commands,
    for_people,
    human,
    marker,
)

__all__ = ["DISCLAIMER_EN", "DISCLAIMER_KO", "FORMAT", "Report", "build_report", "render_html"]

FORMAT = "sumun-comply-report/1"
DISCLAIMER_EN = (
    "Guidance with sources, not legal advice. Sumun reads its own configuration and state and "
    "maps them to requirements as we understand them; items marked [unconfirmed] could not be "
    "checked against an official text. Confirm with counsel and the competent authority."
)
DISCLAIMER_KO = (
    "법률 자문이 아닙니다. 출처를 밝힌 참고용 안내입니다. 수문은 자신의 설정과 상태를 읽어 "
    "저희가 이해한 요구사항에 대응시킵니다. [미확인] 표시 항목은 공식 원문으로 확인하지 못한 "
    "것입니다. 법률 전문가와 소관 기관에 확인하십시오."
)
STATUS_LABELS = {
    "satisfied": ("충족", "Satisfied"),
    "not-satisfied": ("미충족", "Not satisfied"),
    "undetermined": ("판단 불가", "Undetermined"),
    "needs-attestation": ("증빙 필요", "Needs attestation"),
    "not-applicable": ("해당 없음", "Not applicable"),
}


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: float
    catalog: Catalog
    facts: Facts
    assessments: tuple[Assessment, ...]
    summary: Summary

    def source_file(self, requirement_id: str) -> str:
        source = self.catalog.source_of(requirement_id)
        return source.file if source else "?"

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object; keys are stable (CONTRACTS.md `--json`)."""
        facts = self.facts
        keys, ledger, scan = facts.keys, facts.ledger, facts.scan
        return {
            "format": FORMAT,
            "generated_at": _iso(self.generated_at),
            "disclaimer": {"en": DISCLAIMER_EN, "ko": DISCLAIMER_KO},
            "deployment": {
                "system_name": facts.system_name,
                "home": facts.home,
                "config_file": facts.config_file,
                "keys": {
                    "origin": keys.origin,
                    "sealed": keys.sealed,
                    "verified": keys.verified,
                    "backend": keys.backend,
                    "suite": keys.suite,
                    "threshold": keys.threshold,
                    "custodians": keys.custodians,
                },
                "ledger": {
                    "store": ledger.store,
                    "entries": ledger.size,
                    "verified": ledger.verified,
                    "checkpoints": ledger.checkpoints,
                },
                "tenants": [t.name for t in facts.directory.tenants],
                "providers": [
                    {
                        "name": p.name,
                        "jurisdiction": p.profile.jurisdiction,
                        "hosting": p.profile.hosting,
                        "admitted": p.admitted.max_class.value,
                        # AI Basic Act art. 36; None when not recorded (foreign: a finding).
                        "domestic_representative": p.profile.domestic_representative,
                    }
                    for p in facts.policy.providers
                ],
                "register": [
                    {"app": r.subject, "sector": r.sector, "high_impact": r.high_impact}
                    for r in facts.register
                ],
                "xks": _xks(facts),
                "scan": None if scan is None else _scan(scan),
                # Which paths hold the deployment's models (`comply.model_paths`); the scans
                # that count, newest per path, and the other scans that do not.
                "model_paths": list(facts.model_paths),
                "scans": [_scan(s) for s in facts.deployment_scans],
                "other_scans": [_scan(s) for s in facts.other_scans],
            },
            "catalog": [
                {
                    "file": s.file,
                    "instrument_en": s.instrument_en,
                    "instrument_ko": s.instrument_ko,
                    "catalog_version": s.catalog_version,
                    "as_of": s.as_of,
                    "requirements": s.requirements,
                    "unconfirmed": s.unconfirmed,
                }
                for s in self.catalog.sources
            ],
            "summary": {
                "headline_en": self.summary.headline_en,
                "headline_ko": self.summary.headline_ko,
                "counts": dict(self.summary.counts),
                "applicable": self.summary.applicable,
                "unconfirmed_sources": self.summary.unconfirmed,
                "top_failures": [
                    {
                        "id": t.id,
                        "subject": t.subject,
                        "title_en": t.title_en,
                        "title_ko": t.title_ko,
                        "problem": t.problem,
                        "advice": t.advice,
                        "remedy_en": t.remedy_en,
                        "remedy_ko": t.remedy_ko,
                    }
                    for t in self.summary.top_failures
                ],
            },
            "requirements": [self._item(a) for a in self.assessments],
        }

    def _item(self, a: Assessment) -> dict[str, Any]:
        req = a.requirement
        return {
            "id": req.id,
            "subject": a.subject,
            "catalog_file": self.source_file(req.id),
            "status": a.status,
            "reason": a.reason,
            "applies_because": a.applies_because,
            "title_en": req.title_en,
            "title_ko": req.title_ko,
            "text_en": req.text_en,
            "text_ko": req.text_ko,
            "source": req.source.model_dump(mode="json"),
            "scope": req.scope.model_dump(mode="json"),
            "evidence": [_evidence(e) for e in a.evidence],
            "attestation": None
            if req.attestation is None
            else req.attestation.model_dump(mode="json"),
            "attestations": [r.model_dump(mode="json") for r in a.attestations],
            "remedy_en": req.remedy_en,
            "remedy_ko": req.remedy_ko,
        }


def _scan(scan: ScanFacts) -> dict[str, Any]:
    return {
        "origin": scan.origin,
        "target": scan.target,
        "scanned_at": _iso(scan.scanned_at) if scan.scanned_at else None,
        "by_severity": scan.by_severity,
        "error": scan.error,
    }


def _xks(facts: Facts) -> dict[str, Any]:
    """The XKS proxy as read: keystores (credentials counted), external keys, the calls and
    kill-switch drills in the ledger. Never a secret."""
    xks, calls = facts.xks, facts.ledger.activity.xks
    return {
        "origin": xks.origin,
        "configured": xks.configured,
        "listen": xks.listen,
        "error": xks.error,
        "keystores": [
            {
                "name": k.name,
                "uri_prefix": k.uri_prefix,
                "active_credentials": k.active_credentials,
                "revoked_credentials": k.revoked_credentials,
            }
            for k in xks.keystores
        ],
        "keys": [
            {
                "key_id": k.key_id,
                "keystore": k.keystore,
                "usage": k.usage,
                "state": k.state,
                "backend": k.backend,
            }
            for k in xks.keys
        ],
        "calls": {
            "total": calls.calls,
            "with_request_metadata": calls.with_metadata,
            "by_operation": calls.by_operation,
            "aws_principals": len(calls.principals),
            "aws_principals_more": calls.principals_more,
            "kms_via_services": list(calls.via_services),
            "last_call": None if calls.last_ms is None else _iso(calls.last_ms / 1000),
        },
        "drills": [
            {
                "key_id": d.key_id,
                "disabled_at": _iso(d.disabled_ms / 1000),
                "disabled_seq": d.disabled_seq,
                "enabled_at": None if d.enabled_ms is None else _iso(d.enabled_ms / 1000),
                "enabled_seq": d.enabled_seq,
                "refusals": d.refusals,
            }
            for d in calls.drills
        ],
    }


def _evidence(e: Evidence) -> dict[str, Any]:
    return {
        "collector": e.collector,
        "ok": e.ok,
        "applies": e.applies,
        "summary": e.summary,
        "origin": e.origin,
        "details": dict(e.details),
        "advice": e.advice,
    }


def build_report(catalog: Catalog, facts: Facts, assessments: tuple[Assessment, ...]) -> Report:
    return Report(
        generated_at=facts.now,
        catalog=catalog,
        facts=facts,
        assessments=assessments,
        summary=summarize(assessments),
    )


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sumun.comply", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = _iso
    env.filters["cmd"] = commands
    env.filters["human"] = human
    env.globals.update(
        marker=marker,
        attest_command=attest_command,
        supporting_en=SUPPORTING_EN,
        supporting_ko=SUPPORTING_KO,
    )
    return env


def render_html(report: Report) -> str:
    """The report as one self-contained, printable HTML page (Korean and English)."""
    data = for_people(report.to_json(), report.facts.home)
    groups = []
    for source in data["catalog"]:
        items = [r for r in data["requirements"] if r["catalog_file"] == source["file"]]
        groups.append({"source": source, "items": items})
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=data,
        groups=groups,
        labels=STATUS_LABELS,
        statuses=STATUSES,
    )
