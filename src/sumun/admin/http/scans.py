"""Supply-chain scans over the admin API: recorded scans, findings, the AI-BOM as CycloneDX and
SARIF.

A scan is recorded by `sumun scan PATH --record` (or `sumun comply scan-import FILE`) into
`$SUMUN_HOME/scans/`; these operations read what is recorded there (`comply.recorded`), and
the downloads are made by the scanner's own writers (`scan.bom.to_cyclonedx`,
`scan.sarif.to_sarif`) — the same documents as `sumun scan --format cyclonedx|sarif`.

A scan's `{id}` is an opaque name from `GET /scans`, never a path: any other value is 404.
Scans describe the organisation's code and models, not one tenant's: operator tenant only.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation, Text
from sumun.comply.recorded import RecordedScan, find_scan, list_scans, scan_result
from sumun.scan.bom import to_cyclonedx
from sumun.scan.sarif import to_sarif
from sumun.store.model import Permission

__all__ = ["CYCLONEDX", "OPERATIONS", "SARIF"]

CYCLONEDX = "application/vnd.cyclonedx+json"
SARIF = "application/sarif+json"


class ScanSummary(BaseModel):
    id: str = Field(description="opaque; use it in /scans/{id}")
    scanned_at: str | None
    root: str | None = Field(description="the scanned directory, file or archive")
    by_severity: dict[str, int]
    components: int
    latest: bool = Field(description="the scan `sumun comply report` reads")


class UnreadableScan(BaseModel):
    id: str
    error: str


class ScanList(BaseModel):
    scans: list[ScanSummary]
    unreadable: list[UnreadableScan]


class ScanFinding(BaseModel):
    severity: str
    rule: str
    path: str
    member: str | None
    line: int | None
    message: str


class ScanComponent(BaseModel):
    type: str
    name: str
    path: str | None
    paths: list[str] = Field(description="services and libraries: where they are used")
    provider: str | None
    jurisdiction: str | None
    license: str | None


class ScanDetail(BaseModel):
    scan: ScanSummary
    findings: list[ScanFinding] = Field(description="worst first")
    components: list[ScanComponent]


def _summary(scan: RecordedScan) -> ScanSummary:
    return ScanSummary(
        id=scan.id,
        scanned_at=scan.scanned_at,
        root=scan.root,
        by_severity=scan.by_severity,
        components=scan.components,
        latest=scan.latest,
    )


def list_recorded(ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> ScanList:
    listed = list_scans(ctx.settings.home)
    return ScanList(
        scans=[_summary(s) for s in listed.scans],
        unreadable=[UnreadableScan(id=i, error=e) for i, e in listed.unreadable],
    )


def get_scan(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> ScanDetail:
    scan, document = find_scan(ctx.settings.home, call.path["id"])
    result = scan_result(document)
    ordered = sorted(result.findings, key=lambda f: (-int(f.severity), f.path, f.rule))
    return ScanDetail(
        scan=_summary(scan),
        findings=[
            ScanFinding(
                severity=f.severity.label,
                rule=f.rule,
                path=f.path,
                member=f.member,
                line=f.line,
                message=f.message,
            )
            for f in ordered
        ],
        components=[
            ScanComponent(
                type=c.type,
                name=c.name,
                path=c.path,
                paths=list(c.paths),
                provider=c.provider,
                jurisdiction=c.jurisdiction,
                license=c.license,
            )
            for c in result.components
        ],
    )


def _document(ctx: AdminContext, scan_id: str) -> dict[str, Any]:
    return find_scan(ctx.settings.home, scan_id)[1]


def get_cyclonedx(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Text:
    bom = to_cyclonedx(scan_result(_document(ctx, call.path["id"])))
    return Text(json.dumps(bom, ensure_ascii=False, indent=2).encode("utf-8"), CYCLONEDX)


def get_sarif(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Text:
    log = to_sarif(scan_result(_document(ctx, call.path["id"])))
    return Text(json.dumps(log, ensure_ascii=False, indent=2).encode("utf-8"), SARIF)


def _op(
    path: str,
    name: str,
    summary: str,
    response: type[BaseModel] | None,
    handler: Any,
    *,
    media_type: str = "application/json",
) -> Operation[Any, Any]:
    return Operation(
        "GET",
        path,
        name,
        summary,
        "scans",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        response,
        handler,
        scope="deployment",
        media_type=media_type,
    )


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    _op(
        "/scans", "listScans", "Recorded supply-chain scans, newest first", ScanList, list_recorded
    ),
    _op(
        "/scans/{id}",
        "getScan",
        "One recorded scan: its findings and AI-BOM components",
        ScanDetail,
        get_scan,
    ),
    _op(
        "/scans/{id}/cyclonedx",
        "getScanCycloneDX",
        "The scan's AI-BOM as CycloneDX 1.6 JSON",
        None,
        get_cyclonedx,
        media_type=CYCLONEDX,
    ),
    _op(
        "/scans/{id}/sarif",
        "getScanSarif",
        "The scan's findings as SARIF 2.1.0",
        None,
        get_sarif,
        media_type=SARIF,
    ),
)
