"""The scan's findings as SARIF 2.1.0 (OASIS), for code-scanning dashboards and CI.

One run; `tool.driver.rules` lists every rule that fired, with `defaultConfiguration.level` from
its worst finding and a `security-severity` score (the property GitHub code scanning ranks
by). Each finding is one `result`: `level` error (critical, high), warning (medium) or note
(low, info); the file as a relative `artifactLocation.uri` under `%SRCROOT%`, with
`region.startLine` for code findings. A finding inside an archive names the member in its
message and in `properties.member` (a SARIF location cannot point inside a zip).
`partialFingerprints` let dashboards follow a finding across runs. Each rule's `help` is its
remediation line (English in `text`, Korean beside it in `markdown` and `properties`).

The run's `properties` list the cloud AI services found (`sumun:services`): provider, operator
jurisdiction, the hosting region the code or configuration names (`region`, its country, and
`in_korea` for Seoul: ap-northeast-2, asia-northeast3, koreacentral, …), endpoint and paths —
a SARIF result is a finding, and a service is not one, so they ride on the run.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any

from sumun import __version__
from sumun.scan.model import Component, Finding, ScanResult, Severity
from sumun.scan.remediation import remediation

__all__ = ["SARIF_SCHEMA", "level", "to_sarif"]

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SCORE = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
# Rules the engine itself raises; analyzers' rules are described from their ids.
_DESCRIPTIONS = {
    "scan.analyzer-error": "An analyzer failed on this file; it was not fully analyzed",
    "scan.no-analyzer": "No analyzer for this format in this build",
    "scan.polyglot": "The file is valid as several formats at once",
    "scan.extension-mismatch": "The file name hides what the content is",
    "scan.skipped": "The file was too large to analyze as code or configuration",
    "archive.bomb": "Archive expands far beyond its size (decompression bomb)",
    "archive.limit": "Archive exceeds the expansion limits; part was not inspected",
    "archive.path-traversal": "Archive member escapes the extraction directory",
    "archive.parse-error": "Archive could not be read",
    "archive.encrypted": "Encrypted archive member not inspected",
    "archive.unsupported": "Compression format not inspected",
    "walk.unreadable": "File or directory could not be read",
    "walk.symlink-outside-root": "Symlink leaves the scanned directory; not followed",
    "walk.symlink-loop": "Symlink loop; not followed",
    "walk.not-regular": "FIFO, socket or device; skipped without opening it",
}


def level(severity: Severity) -> str:
    return _LEVEL[severity]


def _describe(rule: str) -> str:
    if rule in _DESCRIPTIONS:
        return _DESCRIPTIONS[rule]
    family, _, name = rule.partition(".")
    words = name.replace("-", " ").replace("_", " ") if name else family
    return f"{family}: {words}"


def _uri(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


def _fingerprint(finding: Finding) -> str:
    key = "\x1f".join((finding.rule, finding.path, finding.member or "", finding.message))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _result(finding: Finding, index: int) -> dict[str, Any]:
    text = finding.message
    if finding.member is not None:
        text = f"{text} (archive member {finding.member})"
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "%SRCROOT%"}
    }
    if finding.line is not None and finding.line >= 1:
        physical["region"] = {"startLine": finding.line}
    properties: dict[str, Any] = {"severity": finding.severity.label}
    if finding.member is not None:
        properties["member"] = finding.member
    return {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": level(finding.severity),
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"sumunFinding/v1": _fingerprint(finding)},
        "properties": properties,
    }


def _rule(rule: str, worst: Severity) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule,
        "name": rule,
        "shortDescription": {"text": _describe(rule)},
        "defaultConfiguration": {"level": level(worst)},
        "properties": {"security-severity": _SCORE[worst], "tags": ["security", "ai-supply-chain"]},
    }
    fix = remediation(rule)
    if fix is not None:
        out["help"] = {"text": fix.en, "markdown": f"{fix.en}\n\n{fix.ko}"}
        out["properties"]["remediation_ko"] = fix.ko
    return out


def _service(c: Component) -> dict[str, Any]:
    props = dict(c.properties)
    countries = [x for x in props.get("region_country", "").split(",") if x]
    out: dict[str, Any] = {
        "provider": c.provider or c.name,
        "jurisdiction": c.jurisdiction or "unknown",
    }
    if props.get("region"):
        out["region"] = props["region"]
        out["region_country"] = ",".join(countries)
        out["in_korea"] = "KR" in countries
    if c.endpoint:
        out["endpoint"] = c.endpoint
    out["paths"] = list(c.paths)
    return out


def to_sarif(result: ScanResult) -> dict[str, Any]:
    """The SARIF 2.1.0 log (a dict ready for `json.dumps`)."""
    worst: dict[str, Severity] = {}
    for finding in result.findings:
        worst[finding.rule] = max(worst.get(finding.rule, finding.severity), finding.severity)
    rule_ids = sorted(worst)
    index = {rule: i for i, rule in enumerate(rule_ids)}
    rules = [_rule(rule, worst[rule]) for rule in rule_ids]
    services = [_service(c) for c in result.components if c.type == "service"]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sumun",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, index[f.rule]) for f in result.findings],
                "properties": {"sumun:services": services},
            }
        ],
    }
