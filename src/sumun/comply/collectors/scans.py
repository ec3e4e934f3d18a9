"""Collectors over the latest AI supply-chain scan (`$SUMUN_HOME/scans/latest.json`)."""

from __future__ import annotations

from sumun.comply.collectors.base import Collector, Params, ago, param_float, param_str
from sumun.comply.facts import Facts
from sumun.comply.model import DetailValue, Evidence
from sumun.comply.register import Registration

__all__ = ["COLLECTORS"]

_ORDER = ("info", "low", "medium", "high", "critical")
_NO_SCAN = "no AI supply-chain scan is recorded"
_HOW = "`sumun scan PATH` (or `sumun comply scan-import RESULT.json`)"


def latest(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "scan.latest"
    scan = facts.scan
    max_days = param_float(params, "max_age_days", 30)
    if scan is None:
        return Evidence(
            collector=name,
            ok=False,
            summary=_NO_SCAN,
            origin=f"{facts.home}/scans/latest.json",
            advice=f"scan your models and code: {_HOW}",
        )
    if scan.error or scan.scanned_at is None:
        return Evidence(
            collector=name, ok=None, summary=f"scan unreadable: {scan.error}", origin=scan.origin
        )
    info: dict[str, DetailValue] = {
        "root": scan.root,
        "scanned": ago(facts.now, scan.scanned_at),
        **{f"{kind} components": n for kind, n in scan.components.items()},
    }
    if facts.now - scan.scanned_at > max_days * 86400:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"the latest AI-BOM is {ago(facts.now, scan.scanned_at)} old "
            f"(more than {max_days:g} days)",
            origin=scan.origin,
            details=info,
            advice=f"scan again: {_HOW}",
        )
    total = sum(scan.components.values())
    return Evidence(
        collector=name,
        ok=True,
        summary=f"AI-BOM of {total} component(s) from a scan {ago(facts.now, scan.scanned_at)}",
        origin=scan.origin,
        details=info,
    )


def findings(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "scan.findings"
    scan = facts.scan
    fail_on = param_str(params, "fail_on", "high")
    if fail_on not in _ORDER:
        raise ValueError(f"scan.findings: fail_on must be one of {', '.join(_ORDER)}")
    if scan is None or scan.error:
        return Evidence(
            collector=name,
            ok=None,
            summary=_NO_SCAN if scan is None else f"scan unreadable: {scan.error}",
            origin=f"{facts.home}/scans/latest.json" if scan is None else scan.origin,
        )
    failing = _ORDER[_ORDER.index(fail_on) :]
    open_count = sum(scan.by_severity.get(s, 0) for s in failing)
    info: dict[str, DetailValue] = {s: scan.by_severity.get(s, 0) for s in reversed(_ORDER)}
    for i, (severity, rule, path) in enumerate(scan.worst_findings[:5], start=1):
        info[f"finding {i}"] = f"{severity}: {rule} in {path}"
    if open_count:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{open_count} open finding(s) at {fail_on} or above in the latest scan",
            origin=scan.origin,
            details=info,
            advice="remove or replace the flagged files (e.g. convert pickles to safetensors), "
            "then scan again",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"no finding at {fail_on} or above in the latest scan",
        origin=scan.origin,
        details=info,
    )


def services(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """Cloud AI services called from code directly — around the gateway, uncontrolled."""
    name = "scan.services"
    scan = facts.scan
    if scan is None or scan.error:
        return Evidence(
            collector=name,
            ok=None,
            summary=_NO_SCAN if scan is None else f"scan unreadable: {scan.error}",
            origin=f"{facts.home}/scans/latest.json" if scan is None else scan.origin,
        )
    foreign = [s for s in scan.services if (s.jurisdiction or "unknown") != "KR"]
    info: dict[str, DetailValue] = {
        s.name: f"{s.jurisdiction or 'unknown'}: {', '.join(s.paths[:3]) or '?'}"
        for s in scan.services
    }
    if foreign:
        return Evidence(
            collector=name,
            ok=False,
            summary="code calls foreign AI services directly (around the gateway): "
            + ", ".join(f"{s.name} ({s.jurisdiction or 'unknown'})" for s in foreign),
            origin=scan.origin,
            details=info,
            advice="point these clients at Sumun (base_url = the gateway) so policy and the "
            "ledger apply",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"no direct use of foreign AI services found ({len(scan.services)} service(s) "
        "seen in total)",
        origin=scan.origin,
        details=info,
    )


COLLECTORS = (
    Collector("scan.latest", latest, "scans/latest.json: presence, age, AI-BOM size"),
    Collector("scan.findings", findings, "scans/latest.json: open findings by severity"),
    Collector("scan.services", services, "scans/latest.json: AI services used from code"),
)
