"""Recorded supply-chain scans (`sumun scan --record`, `sumun comply scan-import`), listed and
read back for the admin API.

`comply.scans.record_scan` keeps each result as `$SUMUN_HOME/scans/<UTC stamp>.json` and the
latest again as `latest.json`. A scan's id is its file's stem — an opaque name taken from the
listing, never a path: `find` looks the id up in the listing of that one folder and refuses
anything else (no `..`, no separator, no symlink out of the folder).

`scan_result` turns a recorded `ScanResult.to_json()` document back into a `ScanResult`, so
the AI-BOM (CycloneDX) and SARIF are made by the scanner's own writers, as `sumun scan
--format cyclonedx|sarif` makes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sumun.comply.scans import LATEST, SCANS_DIR, load_scan_file
from sumun.errors import NotFoundError, UsageError
from sumun.scan.model import Component, ComponentType, Finding, ScanResult, Severity

__all__ = ["RecordedScan", "ScanListing", "find_scan", "list_scans", "scan_result"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,79}$")
_SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class RecordedScan:
    id: str
    path: Path
    scanned_at: str | None
    root: str | None
    by_severity: dict[str, int]
    components: int
    latest: bool


def _files(home: Path) -> dict[str, Path]:
    folder = home / SCANS_DIR
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in folder.iterdir():
        if path.suffix != ".json" or path.name == LATEST or not _ID.match(path.stem):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        found[path.stem] = path
    return found


def _summary(scan_id: str, path: Path, document: dict[str, Any], latest: bool) -> RecordedScan:
    findings = document["findings"]
    summary = document.get("summary") if isinstance(document.get("summary"), dict) else {}
    assert isinstance(summary, dict)  # noqa: S101 - narrowed above
    root = summary.get("root")
    return RecordedScan(
        id=scan_id,
        path=path,
        scanned_at=str(document["scanned_at"]) if document.get("scanned_at") else None,
        root=str(root) if root else None,
        by_severity={s: sum(1 for f in findings if f.get("severity") == s) for s in _SEVERITIES},
        components=len(document["components"]),
        latest=latest,
    )


@dataclass(frozen=True, slots=True)
class ScanListing:
    scans: tuple[RecordedScan, ...]  # newest first
    unreadable: tuple[tuple[str, str], ...]  # (id, error): listed, not hidden


def list_scans(home: Path) -> ScanListing:
    """Every recorded scan, newest first; a file that no longer parses is listed apart."""
    latest_path = home / SCANS_DIR / LATEST
    latest = latest_path.read_bytes() if latest_path.is_file() else None
    scans: list[RecordedScan] = []
    unreadable: list[tuple[str, str]] = []
    for scan_id, path in sorted(_files(home).items(), reverse=True):
        try:
            document = load_scan_file(path)
        except UsageError as exc:
            unreadable.append((scan_id, str(exc)))
            continue
        is_latest = latest is not None and path.read_bytes() == latest
        scans.append(_summary(scan_id, path, document, is_latest))
    return ScanListing(tuple(scans), tuple(unreadable))


def find_scan(home: Path, scan_id: str) -> tuple[RecordedScan, dict[str, Any]]:
    """The recorded scan named `scan_id` (NotFoundError for any other name)."""
    path = _files(home).get(scan_id) if _ID.match(scan_id) else None
    if path is None:
        raise NotFoundError("no recorded scan with that id; list them with GET /scans")
    document = load_scan_file(path)
    latest = home / SCANS_DIR / LATEST
    is_latest = latest.is_file() and latest.read_bytes() == path.read_bytes()
    return _summary(scan_id, path, document, is_latest), document


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _component(obj: dict[str, Any]) -> Component:
    hashes = obj.get("hashes") or {}
    props = obj.get("properties") or {}
    return Component(
        type=cast(ComponentType, str(obj["type"])),
        name=str(obj.get("name", "?")),
        path=_text(obj.get("path")),
        member=_text(obj.get("member")),
        hashes=tuple((str(k), str(v)) for k, v in hashes.items()),
        version=_text(obj.get("version")),
        publisher=_text(obj.get("publisher")),
        provider=_text(obj.get("provider")),
        jurisdiction=_text(obj.get("jurisdiction")),
        endpoint=_text(obj.get("endpoint")),
        paths=tuple(str(p) for p in obj.get("paths") or ()),
        license=_text(obj.get("license")),
        base_models=tuple(str(p) for p in obj.get("base_models") or ()),
        datasets=tuple(str(p) for p in obj.get("datasets") or ()),
        properties=tuple((str(k), str(v)) for k, v in props.items()),
    )


def scan_result(document: dict[str, Any]) -> ScanResult:
    """A recorded `ScanResult.to_json()` document as a `ScanResult` (inverse of to_json)."""
    summary = document.get("summary") if isinstance(document.get("summary"), dict) else {}
    assert isinstance(summary, dict)  # noqa: S101 - narrowed above
    return ScanResult(
        root=str(summary.get("root") or "?"),
        findings=[
            Finding(
                path=str(f.get("path", "?")),
                severity=Severity.parse(str(f["severity"])),
                rule=str(f.get("rule", "?")),
                message=str(f.get("message", "")),
                member=_text(f.get("member")),
                line=f["line"] if isinstance(f.get("line"), int) else None,
            )
            for f in document["findings"]
        ],
        components=[_component(c) for c in document["components"]],
        files=int(summary.get("files") or 0),
        bytes=int(summary.get("bytes") or 0),
        seconds=float(summary.get("seconds") or 0.0),
        formats={str(k): int(v) for k, v in (summary.get("formats") or {}).items()},
    )
