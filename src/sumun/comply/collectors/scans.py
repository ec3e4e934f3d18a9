"""Collectors over the deployment's recorded AI supply-chain scans (`comply.scans.scan_scope`).

Every line names the scanned path and when it was scanned. Only the deployment's scans count:
with `comply.model_paths` set, the newest scan of each path under them; without it, the newest
recorded scan. Scans of other paths are the report's "other scans" and never fail an item.
"""

from __future__ import annotations

from collections.abc import Sequence

from sumun.comply.collectors.base import Collector, Params, ago, param_float, param_str
from sumun.comply.facts import Facts, ScanFacts
from sumun.comply.model import DetailValue, Evidence
from sumun.comply.register import Registration

__all__ = ["COLLECTORS"]

_ORDER = ("info", "low", "medium", "high", "critical")
_NO_SCAN = "no AI supply-chain scan is recorded"
_HOW = "`sumun scan PATH --record` (or `sumun comply scan-import RESULT.json`)"


def _missing(name: str, facts: Facts, *, ok: bool | None) -> Evidence:
    """No scan of the deployment: say which paths count and what the other scans were."""
    where = f"{facts.home}/scans/"
    if facts.model_paths:
        summary = f"no scan of the deployment's model paths ({', '.join(facts.model_paths)})"
        advice = f"`sumun scan {facts.model_paths[0]} --record`"
    else:
        summary, advice = _NO_SCAN, f"scan your models and code: {_HOW}"
    if facts.other_scans:
        summary += f"; {len(facts.other_scans)} scan(s) of other paths do not count"
    return Evidence(collector=name, ok=ok, summary=summary, origin=where, advice=advice)


def _origin(scans: Sequence[ScanFacts]) -> str:
    return "; ".join(s.origin for s in scans)


def _unreadable(name: str, scans: tuple[ScanFacts, ...]) -> Evidence | None:
    bad = next((s for s in scans if s.error or s.scanned_at is None), None)
    if bad is None:
        return None
    return Evidence(
        collector=name,
        ok=None,
        summary=f"scan unreadable: {bad.error}",
        origin=bad.origin,
        advice=f"scan again: {_HOW}",
    )


def latest(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "scan.latest"
    scans = facts.deployment_scans
    max_days = param_float(params, "max_age_days", 30)
    if not scans:
        return _missing(name, facts, ok=False)
    broken = _unreadable(name, scans)
    if broken is not None:
        return broken
    info: dict[str, DetailValue] = {}
    for scan in scans:
        assert scan.scanned_at is not None  # noqa: S101 - checked by _unreadable
        info[scan.target or "?"] = f"scanned {ago(facts.now, scan.scanned_at)}"
    kinds: dict[str, int] = {}
    for scan in scans:
        for kind, n in scan.components.items():
            kinds[kind] = kinds.get(kind, 0) + n
    info.update({f"{kind} components": n for kind, n in sorted(kinds.items())})
    oldest = min(scans, key=lambda s: s.scanned_at or 0.0)
    assert oldest.scanned_at is not None  # noqa: S101 - checked by _unreadable
    if facts.now - oldest.scanned_at > max_days * 86400:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{oldest.named} is {ago(facts.now, oldest.scanned_at)} old "
            f"(more than {max_days:g} days)",
            origin=_origin(scans),
            details=info,
            advice=f"scan again: `sumun scan {oldest.target or 'PATH'} --record`",
        )
    total = sum(kinds.values())
    return Evidence(
        collector=name,
        ok=True,
        summary=f"AI-BOM of {total} component(s) from "
        + "; ".join(f"{s.named} ({ago(facts.now, s.scanned_at or 0.0)})" for s in scans),
        origin=_origin(scans),
        details=info,
    )


def findings(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "scan.findings"
    scans = facts.deployment_scans
    fail_on = param_str(params, "fail_on", "high")
    if fail_on not in _ORDER:
        raise ValueError(f"scan.findings: fail_on must be one of {', '.join(_ORDER)}")
    if not scans:
        return _missing(name, facts, ok=None)
    broken = _unreadable(name, scans)
    if broken is not None:
        return broken
    failing = _ORDER[_ORDER.index(fail_on) :]
    info: dict[str, DetailValue] = {
        s: sum(scan.by_severity.get(s, 0) for scan in scans) for s in reversed(_ORDER)
    }
    shown = 0
    for scan in scans:
        for severity, rule, path in scan.worst_findings[: 5 - shown]:
            shown += 1
            info[f"finding {shown}"] = f"{severity}: {rule} in {path} ({scan.target or '?'})"
    open_in = [s for s in scans if sum(s.by_severity.get(v, 0) for v in failing)]
    if open_in:
        count = sum(s.by_severity.get(v, 0) for s in open_in for v in failing)
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{count} open finding(s) at {fail_on} or above in "
            + "; ".join(s.named for s in open_in),
            origin=_origin(open_in),
            details=info,
            advice="remove or replace the flagged files (e.g. convert pickles to safetensors), "
            f"then scan again: `sumun scan {open_in[0].target or 'PATH'} --record`",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"no finding at {fail_on} or above in " + "; ".join(s.named for s in scans),
        origin=_origin(scans),
        details=info,
    )


def services(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """Cloud AI services called from code directly — around the gateway, uncontrolled."""
    name = "scan.services"
    scans = facts.deployment_scans
    if not scans:
        return _missing(name, facts, ok=None)
    broken = _unreadable(name, scans)
    if broken is not None:
        return broken
    seen = [s for scan in scans for s in scan.services]
    foreign = [s for s in seen if (s.jurisdiction or "unknown") != "KR"]
    info: dict[str, DetailValue] = {
        s.name: f"{s.jurisdiction or 'unknown'}: {', '.join(s.paths[:3]) or '?'}" for s in seen
    }
    named = "; ".join(s.named for s in scans)
    if foreign:
        return Evidence(
            collector=name,
            ok=False,
            summary="code calls foreign AI services directly (around the gateway): "
            + ", ".join(f"{s.name} ({s.jurisdiction or 'unknown'})" for s in foreign)
            + f", found by {named}",
            origin=_origin(scans),
            details=info,
            advice="point these clients at Sumun (base_url = the gateway) so policy and the "
            "ledger apply",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"no direct use of foreign AI services found ({len(seen)} service(s) "
        f"seen in total) by {named}",
        origin=_origin(scans),
        details=info,
    )


COLLECTORS = (
    Collector("scan.latest", latest, "scans/: presence and age of the deployment's scans"),
    Collector("scan.findings", findings, "scans/: open findings by severity, per scanned path"),
    Collector("scan.services", services, "scans/: AI services used from code"),
)
