"""The latest AI supply-chain scan, as the report reads it.

Contract with `sumun scan` (CONTRACTS.md, `ScanResult.to_json()`): the latest result is kept at
`$SUMUN_HOME/scans/latest.json` — that JSON object, plus an optional top-level
`"scanned_at"` (ISO 8601, UTC; the file's modification time when absent). Earlier results are
kept beside it as `scans/<UTC stamp>.json`. `record_scan` writes both; `sumun comply
scan-import FILE` calls it for a result produced elsewhere.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sumun._fs import atomic_write, private_dir
from sumun.comply.facts import ScanFacts, ScanService
from sumun.errors import UsageError

__all__ = ["LATEST", "SCANS_DIR", "load_scan_file", "read_scan", "record_scan"]

SCANS_DIR = "scans"
LATEST = "latest.json"
_SEVERITIES = ("critical", "high", "medium", "low", "info")
_MAX_BYTES = 256 * 1024 * 1024


def _stamp(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _validate(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise UsageError(f"{where}: a scan result is one JSON object")
    findings, components = obj.get("findings"), obj.get("components")
    if not isinstance(findings, list) or not isinstance(components, list):
        raise UsageError(
            f"{where}: not a `sumun scan --format json` result (needs findings and components)"
        )
    for i, finding in enumerate(findings):
        if not isinstance(finding, dict) or finding.get("severity") not in _SEVERITIES:
            raise UsageError(f"{where}: findings[{i}] has no valid severity")
    for i, component in enumerate(components):
        if not isinstance(component, dict) or not isinstance(component.get("type"), str):
            raise UsageError(f"{where}: components[{i}] has no type")
    return obj


def record_scan(home: Path, result: dict[str, Any], *, now: float) -> Path:
    """Keep `result` as the latest scan (and in the history). Returns the latest's path."""
    result = dict(_validate(result, "scan result"))
    result.setdefault("scanned_at", _stamp(now))
    folder = private_dir(home / SCANS_DIR)
    data = json.dumps(result, ensure_ascii=False, sort_keys=True).encode()
    stamp = str(result["scanned_at"]).replace(":", "")
    atomic_write(folder / f"{stamp}.json", data, mode=0o640)
    latest = folder / LATEST
    atomic_write(latest, data, mode=0o640)
    return latest


def load_scan_file(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise UsageError(f"{path}: larger than 256 MB")
        return _validate(json.loads(path.read_bytes()), str(path))
    except FileNotFoundError as exc:
        raise UsageError(f"no such scan result: {path}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from exc


def _when(obj: dict[str, Any], path: Path) -> float:
    raw = obj.get("scanned_at")
    if isinstance(raw, str):
        try:
            parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed.timestamp()
    return path.stat().st_mtime


def read_scan(path: Path) -> ScanFacts | None:
    """The facts of a scan result file; None when there is none; `error` when unreadable."""
    if not path.exists():
        return None
    origin = f"scan result {path}"
    try:
        obj = load_scan_file(path)
    except UsageError as exc:
        return ScanFacts(origin=origin, error=str(exc))
    findings = [f for f in obj["findings"] if isinstance(f, dict)]
    by_severity = {s: sum(1 for f in findings if f.get("severity") == s) for s in _SEVERITIES}
    rank = {s: i for i, s in enumerate(_SEVERITIES)}
    worst = sorted(findings, key=lambda f: rank[str(f["severity"])])[:10]
    components: dict[str, int] = {}
    services = []
    for component in obj["components"]:
        kind = str(component["type"])
        components[kind] = components.get(kind, 0) + 1
        if kind == "service":
            paths = component.get("paths") or ([component["path"]] if "path" in component else [])
            services.append(
                ScanService(
                    name=str(component.get("name", "?")),
                    provider=component.get("provider"),
                    jurisdiction=component.get("jurisdiction"),
                    paths=tuple(str(p) for p in paths),
                )
            )
    summary = obj.get("summary") if isinstance(obj.get("summary"), dict) else {}
    return ScanFacts(
        origin=origin,
        scanned_at=_when(obj, path),
        root=str(summary.get("root")) if summary and summary.get("root") else None,
        by_severity=by_severity,
        worst_findings=tuple(
            (str(f["severity"]), str(f.get("rule", "?")), str(f.get("path", "?"))) for f in worst
        ),
        components=dict(sorted(components.items())),
        services=tuple(services),
    )
