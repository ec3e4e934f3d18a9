"""The latest AI supply-chain scan, as the report reads it.

Contract with `sumun scan` (CONTRACTS.md, `ScanResult.to_json()`): the latest result is kept at
`$SUMUN_HOME/scans/latest.json` — that JSON object, plus an optional top-level
`"scanned_at"` (ISO 8601, UTC; the file's modification time when absent) and `"target"` (the
scanned path, made absolute when `sumun scan --record` recorded it). Earlier results are kept
beside it as `scans/<UTC stamp>.json`. `record_scan` writes both; `sumun comply scan-import
FILE` calls it for a result produced elsewhere.

Which scans count (`scan_scope`): with `comply.model_paths` set, the newest scan of each path
under them is the deployment's, and scans of any other path are "other scans" — shown apart,
never failing a requirement (a scan of some unrelated checkout says nothing about the
deployment). Without it, the newest recorded scan counts, as recorded; older scans of other
paths are other scans.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sumun._fs import atomic_write, private_dir
from sumun.comply.facts import ScanFacts, ScanService
from sumun.errors import UsageError

__all__ = [
    "LATEST",
    "SCANS_DIR",
    "ScanScope",
    "load_scan_file",
    "read_scan",
    "record_scan",
    "scan_scope",
]

SCANS_DIR = "scans"
LATEST = "latest.json"
_SEVERITIES = ("critical", "high", "medium", "low", "info")
_MAX_BYTES = 256 * 1024 * 1024
_HISTORY = 20  # recorded scans read per report, newest first


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


def _root(obj: dict[str, Any]) -> str | None:
    summary = obj.get("summary")
    root = summary.get("root") if isinstance(summary, dict) else None
    return root if isinstance(root, str) and root else None


def record_scan(
    home: Path, result: dict[str, Any], *, now: float, resolve_root: bool = True
) -> Path:
    """Keep `result` as the latest scan (and in the history). Returns the latest's path.

    `resolve_root`: the result was made here, now (`sumun scan --record`), so a relative root
    is resolved against the current directory into `target`; an imported result keeps only an
    absolute root as its target (a relative one named a directory elsewhere)."""
    result = dict(_validate(result, "scan result"))
    result.setdefault("scanned_at", _stamp(now))
    root = _root(result)
    if root is not None and "target" not in result:
        if Path(root).is_absolute():
            result["target"] = root
        elif resolve_root:
            result["target"] = str(Path(root).resolve())
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
    target = obj.get("target")
    return ScanFacts(
        origin=origin,
        scanned_at=_when(obj, path),
        root=_root(obj),
        target=target if isinstance(target, str) and target else _root(obj),
        by_severity=by_severity,
        worst_findings=tuple(
            (str(f["severity"]), str(f.get("rule", "?")), str(f.get("path", "?"))) for f in worst
        ),
        components=dict(sorted(components.items())),
        services=tuple(services),
    )


@dataclass(frozen=True, slots=True)
class ScanScope:
    """The recorded scans, split: the deployment's (newest first) and the others."""

    scans: tuple[ScanFacts, ...]
    others: tuple[ScanFacts, ...]
    model_paths: tuple[str, ...]


def _under(target: str | None, places: Sequence[Path]) -> bool:
    if target is None:
        return False
    path = Path(target)
    return any(path == place or place in path.parents for place in places)


def _recorded(home: Path) -> list[ScanFacts]:
    """The newest recorded scans (history, else latest.json alone), newest first."""
    folder = home / SCANS_DIR
    if not folder.is_dir():
        return []
    history = sorted(
        (p for p in folder.glob("*.json") if p.name != LATEST and p.is_file()),
        key=lambda p: p.name,
        reverse=True,
    )[:_HISTORY]
    found = [read_scan(p) for p in history] or [read_scan(folder / LATEST)]
    scans = [f for f in found if f is not None]
    return sorted(scans, key=lambda f: f.scanned_at or 0.0, reverse=True)


def scan_scope(
    home: Path, model_paths: Sequence[Path], *, scan_file: Path | None = None
) -> ScanScope:
    """Which scans count against the deployment (see the module's docstring).

    `model_paths` are absolute. A scan file given for this report (`--scan`) counts alone."""
    places = tuple(model_paths)
    named = tuple(str(p) for p in places)
    if scan_file is not None:
        given = read_scan(scan_file)
        return ScanScope((given,) if given else (), (), named)
    newest: dict[str | None, ScanFacts] = {}
    for scan in _recorded(home):
        newest.setdefault(scan.target, scan)  # newest first: keep the first per path
    ordered = list(newest.values())
    if not places:
        return ScanScope(tuple(ordered[:1]), tuple(ordered[1:]), named)
    ours = tuple(s for s in ordered if _under(s.target, places))
    others = tuple(s for s in ordered if not _under(s.target, places))
    return ScanScope(ours, others, named)
