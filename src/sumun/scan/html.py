"""The scan as one self-contained HTML page a compliance officer can read.

No scripts, no external assets (inline CSS only), so the file can be mailed, archived and
opened offline. Every value is HTML-escaped by Jinja2's autoescape: file names, messages and
model-card fields come from the scanned files, i.e. from whoever wrote them.

Sections: summary by severity; providers by jurisdiction (provider, operator, jurisdiction,
endpoint, where used); models with licences, base models, datasets and hashes; datasets;
libraries; all findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jinja2

from sumun import __version__
from sumun.scan.model import Component, Finding, ScanResult, Severity

__all__ = ["render_html"]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sumun.scan", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True, slots=True)
class _Row:
    severity: str
    where: str
    line: str
    rule: str
    message: str


def _where(path: str | None, member: str | None) -> str:
    if path is None:
        return ""
    return path if member is None else f"{path} → {member}"


def _findings(findings: Iterable[Finding]) -> list[_Row]:
    ordered = sorted(findings, key=lambda f: (-int(f.severity), f.path, f.member or "", f.rule))
    return [
        _Row(
            f.severity.label,
            _where(f.path, f.member),
            "" if f.line is None else str(f.line),
            f.rule,
            f.message,
        )
        for f in ordered
    ]


def _props(c: Component) -> dict[str, str]:
    return dict(c.properties)


def _model(c: Component) -> dict[str, Any]:
    props = _props(c)
    sha = dict(c.hashes).get("SHA-256", "")
    return {
        "name": c.name,
        "where": _where(c.path, c.member) or ", ".join(c.paths),
        "format": props.get("format", ""),
        "architecture": props.get("architecture", props.get("model_type", "")),
        "license": c.license or "",
        "base_models": ", ".join(c.base_models),
        "datasets": ", ".join(c.datasets),
        "sha256": sha[:16] + "…" if sha else "",
        "sha256_full": sha,
    }


def _service(c: Component) -> dict[str, Any]:
    return {
        "provider": c.provider or c.name,
        "operator": c.publisher or "",
        "jurisdiction": c.jurisdiction or "unknown",
        "endpoint": c.endpoint or "",
        "paths": list(c.paths) or ([c.path] if c.path else []),
    }


def render_html(result: ScanResult, *, generated: dt.datetime | None = None) -> str:
    """The report as a string (UTF-8 when written)."""
    when = generated if generated is not None else dt.datetime.now(dt.UTC)
    counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
    for finding in result.findings:
        counts[finding.severity.label] += 1
    services = sorted(
        (_service(c) for c in result.components if c.type == "service"),
        key=lambda s: (s["jurisdiction"], s["provider"], s["endpoint"]),
    )
    jurisdictions = sorted({s["jurisdiction"] for s in services} - {"unknown"})
    unknown = sum(1 for s in services if s["jurisdiction"] == "unknown")
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            root=result.root,
            generated=when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            version=__version__,
            files=result.files,
            size_mb=f"{result.bytes / 1e6:,.1f}",
            seconds=f"{result.seconds:.1f}",
            formats=sorted(result.formats.items()),
            counts=counts,
            worst=result.worst.label if result.worst is not None else "none",
            services=services,
            jurisdictions=jurisdictions,
            unknown=unknown,
            models=[_model(c) for c in result.components if c.type == "machine-learning-model"],
            datasets=[
                {"name": c.name, "where": ", ".join(c.paths) or _where(c.path, c.member)}
                for c in result.components
                if c.type == "data"
            ],
            libraries=[
                {"name": c.name, "version": c.version or "", "paths": ", ".join(c.paths)}
                for c in result.components
                if c.type == "library"
            ],
            findings=_findings(result.findings),
        )
    )
