"""The scanner's typed results, shared by every analyzer, the walker and the output writers.

An analyzer turns one `Source` (a file, or a member of an archive) into a `FileResult`:
findings (something wrong or worth a look) and components (AI-BOM entries: models, datasets,
libraries, cloud AI services). Analyzers MUST NOT raise on bad input: a file they cannot parse
yields a `medium` (or `info`) finding whose rule ends in `.parse-error`, never an exception.
They MUST read with bounded memory (headers with size caps, streams in chunks).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Literal

__all__ = [
    "Analyzer",
    "Component",
    "ComponentType",
    "FileResult",
    "Finding",
    "ScanResult",
    "Severity",
    "Source",
]


class Severity(enum.IntEnum):
    """Ordered: `Severity.CRITICAL > Severity.HIGH`. The wire name is `.label`."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r}") from None


ComponentType = Literal["machine-learning-model", "data", "library", "service"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem or observation. `path` is relative to the scanned root (POSIX separators).

    MUST NOT carry a secret: API keys are reported masked (`sk-…abcd`), never whole.
    """

    path: str
    severity: Severity
    rule: str  # dotted, stable: "pickle.dangerous-global", "code.torch-load-unsafe", …
    message: str
    member: str | None = None  # a member inside an archive (zip, tar), when there is one
    line: int | None = None  # 1-based, for code and config findings

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": self.path,
            "severity": self.severity.label,
            "rule": self.rule,
            "message": self.message,
        }
        if self.member is not None:
            out["member"] = self.member
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True, slots=True)
class Component:
    """An AI-BOM entry (CONTRACTS.md `sumun scan`; CycloneDX 1.6 component).

    Files carry `path` and `hashes`; services (cloud AI APIs) carry `provider`, `jurisdiction`
    and the `paths` where they are used. `properties` holds format metadata as strings
    (`format`, `architecture`, `quantization`, `license`, `opset`, …).
    """

    type: ComponentType
    name: str
    path: str | None = None
    member: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (("SHA-256", hex), …) — CycloneDX alg names
    version: str | None = None
    publisher: str | None = None  # model publisher / dataset owner / SDK vendor
    provider: str | None = None  # services: the jurisdiction table's provider id ("openai")
    jurisdiction: str | None = None  # ISO 3166 alpha-2 of the operator's headquarters
    endpoint: str | None = None  # services: the URL or host seen
    paths: tuple[str, ...] = ()  # services and libraries: where they are used
    license: str | None = None
    base_models: tuple[str, ...] = ()  # pedigree ancestors (HF ids)
    datasets: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def key(self) -> tuple[str, str, str | None, str | None]:
        """Identity for de-duplication across files."""
        return (self.type, self.name, self.path, self.member)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"type": self.type, "name": self.name}
        for name in ("path", "member", "version", "publisher", "provider", "jurisdiction"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.endpoint is not None:
            out["endpoint"] = self.endpoint
        if self.hashes:
            out["hashes"] = {alg: value for alg, value in self.hashes}
        if self.paths:
            out["paths"] = list(self.paths)
        if self.license is not None:
            out["license"] = self.license
        if self.base_models:
            out["base_models"] = list(self.base_models)
        if self.datasets:
            out["datasets"] = list(self.datasets)
        if self.properties:
            out["properties"] = dict(self.properties)
        return out


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to analyze: a file on disk or a member of an archive.

    `open()` returns a fresh binary stream positioned at 0 (seekable for files and zip members);
    the caller closes it. `head` holds the first bytes (up to 4 KiB) for format identification.
    """

    path: str  # relative to the scan root, POSIX separators
    size: int
    head: bytes
    opener: Callable[[], IO[bytes]]
    member: str | None = None
    real_path: str | None = None  # absolute path on disk when this is a plain file

    def open(self) -> IO[bytes]:
        return self.opener()

    def finding(
        self, severity: Severity, rule: str, message: str, line: int | None = None
    ) -> Finding:
        return Finding(self.path, severity, rule, message, member=self.member, line=line)


@dataclass(slots=True)
class FileResult:
    format: str  # "pickle", "pytorch", "safetensors", "gguf", "python", "unknown", …
    findings: list[Finding] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)


Analyzer = Callable[[Source], FileResult]


@dataclass(slots=True)
class ScanResult:
    """What `scan` returns. Every string in it is valid Unicode (so every document written
    from it is valid UTF-8): names that are not UTF-8 are shown backslash-escaped."""

    root: str
    findings: list[Finding] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    formats: dict[str, int] = field(default_factory=dict)  # format -> files seen

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def to_json(self) -> dict[str, object]:
        return {
            "findings": [f.to_json() for f in self.findings],
            "components": [c.to_json() for c in self.components],
            "summary": {
                "root": self.root,
                "files": self.files,
                "bytes": self.bytes,
                "seconds": round(self.seconds, 3),
                "formats": dict(sorted(self.formats.items())),
                "by_severity": {
                    s.label: sum(1 for f in self.findings if f.severity is s)
                    for s in sorted(Severity, reverse=True)
                },
            },
        }
