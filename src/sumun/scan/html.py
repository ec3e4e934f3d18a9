"""The scan as one self-contained HTML page a compliance officer can read.

No scripts, no external assets (inline CSS only), so the file can be mailed, archived and
opened offline. Every value is HTML-escaped by Jinja2's autoescape: file names, messages and
model-card fields come from the scanned files, i.e. from whoever wrote them.

Korean and English side by side, as the compliance report is (`sumun.comply.report`): every
label is a (ko, en) pair from `LABELS`, and each finding carries its remediation line in both
languages (`sumun.scan.remediation`).

Sections: summary by severity; providers by jurisdiction (provider, operator, jurisdiction,
hosting region — flagged when it is in Korea —, endpoint, where used); with `--ledger`, the
services the gateway used in the period, marked declared or not in code; models with licences,
base models, datasets and hashes; datasets; libraries; all findings with what to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jinja2

from sumun import __version__
from sumun.scan.model import Component, Finding, ScanResult, Severity
from sumun.scan.remediation import remediation
from sumun.scan.runtime import RuntimeUsage, iso_ms, join

__all__ = ["LABELS", "SEVERITY_LABELS", "render_html"]

SEVERITY_LABELS = {
    "critical": ("치명", "critical"),
    "high": ("높음", "high"),
    "medium": ("중간", "medium"),
    "low": ("낮음", "low"),
    "info": ("정보", "info"),
    "none": ("없음", "none"),
}
LABELS = {
    "title": ("AI 공급망 검사", "AI supply-chain scan"),
    "files": ("파일", "files"),
    "generated": ("생성", "generated"),
    "worst": ("가장 심각한 결과", "Worst finding"),
    "act": (
        "치명·높음 결과는 이 모델과 서비스를 쓰기 전에 조치해야 합니다.",
        "critical or high findings need action before these models or services are used.",
    ),
    "summary": ("심각도별 요약", "Summary by severity"),
    "providers": ("관할별 AI 제공자", "AI providers by jurisdiction"),
    "provider": ("제공자", "Provider"),
    "operator": ("운영자", "Operator"),
    "jurisdiction": ("관할(본사)", "Jurisdiction (HQ)"),
    "region": ("호스팅 리전", "Hosting region"),
    "in_korea": ("국내", "in Korea"),
    "abroad": ("국외", "abroad"),
    "endpoint": ("엔드포인트", "Endpoint"),
    "where_used": ("사용 위치", "Where used"),
    "no_services": (
        "코드와 설정에서 클라우드 AI 서비스를 찾지 못했습니다.",
        "No cloud AI services found in code or configuration.",
    ),
    "runtime": ("게이트웨이가 실제로 쓴 서비스", "Services the gateway used"),
    "period": ("기간", "Period"),
    "tenant_app": ("테넌트/앱", "Tenant/app"),
    "model": ("모델", "Model"),
    "calls": ("호출", "Calls"),
    "classes": ("데이터 등급", "Data classes"),
    "pii": ("개인정보 유형·조치", "PII types and actions"),
    "seen": ("처음·마지막", "First · last seen"),
    "declared": ("코드에 선언", "Declared in code"),
    "yes": ("예", "yes"),
    "no": ("아니오", "no"),
    "unused": (
        "코드에는 있으나 이 기간에 쓰이지 않은 서비스",
        "Services in code but not used in the period",
    ),
    "no_runtime": (
        "이 기간에 게이트웨이를 거친 호출이 없습니다.",
        "No calls went through the gateway in this period.",
    ),
    "models": ("모델", "Models"),
    "file": ("파일", "File"),
    "format": ("형식", "Format"),
    "architecture": ("아키텍처", "Architecture"),
    "license": ("라이선스", "Licence"),
    "base_models": ("기반 모델", "Base models"),
    "datasets": ("데이터셋", "Datasets"),
    "no_models": ("모델 파일을 찾지 못했습니다.", "No model files found."),
    "dataset": ("데이터셋", "Dataset"),
    "declared_in": ("선언 위치", "Declared in"),
    "libraries": ("AI 라이브러리와 SDK", "AI libraries and SDKs"),
    "library": ("라이브러리", "Library"),
    "version": ("버전", "Version"),
    "findings": ("검사 결과", "Findings"),
    "severity": ("심각도", "Severity"),
    "where": ("위치", "Where"),
    "line": ("줄", "Line"),
    "rule": ("규칙", "Rule"),
    "finding": ("내용", "Finding"),
    "fix": ("조치", "What to do"),
    "no_findings": ("발견된 문제가 없습니다.", "No findings."),
    "formats": ("검사한 형식", "Formats seen"),
    "footer": (
        "관할은 제공 운영자의 본사 소재국(ISO 3166-1 alpha-2)이며, 수문의 출처 표기 관할표에서 "
        "가져옵니다. 리전은 코드와 설정의 엔드포인트·리전 값에서 읽습니다.",
        "Jurisdiction is the provider operator's headquarters (ISO 3166-1 alpha-2), from "
        "Sumun's sourced jurisdiction table; the region is read from endpoints and region "
        "settings in code and configuration.",
    ),
}


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
    fix_ko: str
    fix_en: str


def _where(path: str | None, member: str | None) -> str:
    if path is None:
        return ""
    return path if member is None else f"{path} → {member}"


def _findings(findings: Iterable[Finding]) -> list[_Row]:
    ordered = sorted(findings, key=lambda f: (-int(f.severity), f.path, f.member or "", f.rule))
    rows = []
    for f in ordered:
        fix = remediation(f.rule)
        rows.append(
            _Row(
                f.severity.label,
                _where(f.path, f.member),
                "" if f.line is None else str(f.line),
                f.rule,
                f.message,
                fix.ko if fix else "",
                fix.en if fix else "",
            )
        )
    return rows


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
    props = _props(c)
    countries = props.get("region_country", "")
    return {
        "provider": c.provider or c.name,
        "operator": c.publisher or "",
        "jurisdiction": c.jurisdiction or "unknown",
        "region": props.get("region", ""),
        "region_country": countries,
        "in_korea": "KR" in countries.split(","),
        "endpoint": c.endpoint or "",
        "paths": list(c.paths) or ([c.path] if c.path else []),
        "used": None,
    }


def _counts(pairs: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {n}" for name, n in pairs)


def _runtime(result: ScanResult, usage: RuntimeUsage) -> dict[str, Any]:
    matched = join(result.components, usage)
    rows = []
    for u, use in enumerate(usage.uses):
        provider = usage.provider(use.provider)
        rows.append(
            {
                "subject": use.subject,
                "provider": use.provider,
                "model": use.model,
                "jurisdiction": (
                    (provider.jurisdiction or provider.table_jurisdiction) if provider else None
                )
                or "unknown",
                "hosting": (provider.hosting if provider else None) or "",
                "region": (provider.region if provider else None) or "",
                "in_korea": bool(provider and provider.region_country == "KR"),
                "calls": use.calls,
                "classes": _counts(use.data_classes),
                "pii": _counts(use.pii_actions or use.pii_types),
                "seen": f"{iso_ms(use.first_ms)} · {iso_ms(use.last_ms)}",
                "declared": bool(matched.declared.get(u)),
            }
        )
    unused = {
        c.provider or c.name
        for i, c in enumerate(result.components)
        if c.type == "service" and not matched.used_services.get(i)
    }
    return {
        "period": (
            (iso_ms(usage.since_ms) if usage.since_ms is not None else "…")
            + " – "
            + (iso_ms(usage.until_ms) if usage.until_ms is not None else "…")
        ),
        "origin": usage.origin,
        "rows": rows,
        "unused": sorted(unused),
    }


def render_html(
    result: ScanResult,
    *,
    generated: dt.datetime | None = None,
    runtime: RuntimeUsage | None = None,
) -> str:
    """The report as a string (UTF-8 when written), Korean and English side by side."""
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
            runtime=_runtime(result, runtime) if runtime is not None else None,
            t=LABELS,
            sev=SEVERITY_LABELS,
        )
    )
