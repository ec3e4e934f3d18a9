"""`sumun scan --cache DIR`: per-file results kept across scans, for repeated scans in CI.

A file's entry is keyed by what changes when the file or the scanner changes: the file's device,
inode, size and modification time (ns), its path (relative and absolute: findings name the
relative one), the archive and time limits, the pickle allowlist (`--trust-module`,
`SUMUN_SCAN_PICKLE_ALLOW`), and the scanner's fingerprint (Sumun's version plus
the name, size and mtime of every file of the `sumun.scan` package, so an upgraded or edited
analyzer never reuses an old answer). Any key field that differs is a miss and the file is
scanned again.

An entry stores the file's findings and components in full (never a verdict alone), so a cached
file reports exactly what its scan reported: the cache cannot turn a finding into a pass. Results
that depend on the moment (a `scan.timeout`, an `scan.analyzer-error`: a worker that died, a
read that failed) are not stored. Entries are JSON (never pickle: a scanner of hostile pickles
does not unpickle its own cache), one file each, written to a temporary name and renamed; an
unreadable or malformed entry is a miss. The directory must be as trusted as the scanner itself
(anyone who can write to it can hide findings), so it is created private (0700).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sumun import __version__
from sumun.errors import UsageError
from sumun.scan.model import Component, Finding, Severity
from sumun.scan.walk import FileTask, Limits, Task

__all__ = ["ALLOW_ENV", "Outcome", "ScanCache", "scanner_fingerprint"]

_FORMAT = 1
# `sumun.scan.formats._pickle_policy.ALLOW_ENV`, spelled out: importing the pickle policy here
# would cost a cached rescan a quarter of a second (a test keeps the two equal)
ALLOW_ENV = "SUMUN_SCAN_PICKLE_ALLOW"
_TRANSIENT_RULES = frozenset({"scan.timeout", "scan.analyzer-error", "walk.unreadable"})


@dataclass(slots=True)
class Outcome:
    """What one task produced (the engine's unit of result, and what the cache holds for a
    file); crosses back from a worker process, so kept plain."""

    findings: list[Finding] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0


def scanner_fingerprint() -> str:
    """Sumun's version and the name, size and mtime of every file of the scan package."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode())
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                st = os.stat(path)
                rel = os.path.relpath(path, root)
                digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _finding_json(f: Finding) -> list[Any]:
    return [f.path, int(f.severity), f.rule, f.message, f.member, f.line]


def _finding(raw: list[Any]) -> Finding:
    path, severity, rule, message, member, line = raw
    return Finding(path, Severity(severity), rule, message, member=member, line=line)


def _component_json(c: Component) -> dict[str, Any]:
    return {f.name: getattr(c, f.name) for f in fields(c)}


def _component(raw: dict[str, Any]) -> Component:
    values: dict[str, Any] = {}
    for f in fields(Component):
        value = raw[f.name]
        if isinstance(value, list):  # tuples, and tuples of pairs, come back as lists
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        values[f.name] = value
    return Component(**values)


class ScanCache:
    """A directory of per-file entries (see the module docstring)."""

    def __init__(self, directory: Path, limits: Limits) -> None:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"--cache {directory}: cannot create the directory ({exc.strerror})",
                advice="give a writable directory",
            ) from None
        if not directory.is_dir():
            raise UsageError(f"--cache {directory}: not a directory", advice="give a directory")
        self.directory = directory
        # the pickle allowlist (`--trust-module`) changes verdicts, so it is part of the key
        allow = os.environ.get(ALLOW_ENV, "")
        self._scanner = json.dumps([_FORMAT, scanner_fingerprint(), repr(limits), allow])
        self.hits = 0
        self.misses = 0

    def key(self, task: FileTask) -> str | None:
        """The entry's key for the file as it is now; None when it cannot be stat'ed."""
        try:
            st = os.stat(task.real_path)
        except OSError:
            return None
        fields_ = (
            self._scanner,
            task.path,
            task.real_path,
            st.st_dev,
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
        )
        return json.dumps(fields_, ensure_ascii=True)

    def _entry(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest() + ".json")

    def get(self, key: str) -> Outcome | None:
        try:
            raw = json.loads(self._entry(key).read_bytes())
            if raw["key"] != key:
                raise ValueError("key mismatch")
            out = Outcome(
                findings=[_finding(f) for f in raw["findings"]],
                components=[_component(c) for c in raw["components"]],
                formats=Counter({str(k): int(v) for k, v in raw["formats"].items()}),
                files=int(raw["files"]),
                bytes=int(raw["bytes"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return out

    def put(self, key: str, out: Outcome) -> None:
        """Store `out` unless it holds a result of the moment; a failed write is ignored (the
        next scan is a miss, never a wrong answer)."""
        if any(f.rule in _TRANSIENT_RULES for f in out.findings):
            return
        doc = {
            "key": key,
            "findings": [_finding_json(f) for f in out.findings],
            "components": [_component_json(c) for c in out.components],
            "formats": dict(out.formats),
            "files": out.files,
            "bytes": out.bytes,
        }
        entry = self._entry(key)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        try:
            # ASCII: lone surrogates from non-UTF-8 names survive as \udcXX escapes
            data = json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, entry)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                tmp.unlink()

    @staticmethod
    def split(
        store: ScanCache | None, tasks: Sequence[Task]
    ) -> tuple[list[tuple[Task, Outcome]], dict[Task, str], list[Task]]:
        """(the cached outcomes, the keys of files to scan and then store, the tasks to run).
        Model folders are always run: their result depends on several files."""
        if store is None:
            return [], {}, list(tasks)
        cached: list[tuple[Task, Outcome]] = []
        keys: dict[Task, str] = {}
        todo: list[Task] = []
        for task in tasks:
            key = store.key(task) if isinstance(task, FileTask) else None
            hit = store.get(key) if key is not None else None
            if hit is not None:
                cached.append((task, hit))
                continue
            if key is not None:
                keys[task] = key
            todo.append(task)
        return cached, keys, todo
