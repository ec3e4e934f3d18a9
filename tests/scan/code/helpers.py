"""Build an in-memory `Source` for the code and config analyzers."""

from __future__ import annotations

import io

from sumun.scan.model import Component, FileResult, Finding, Source


def source(data: bytes | str, path: str = "app.py") -> Source:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return Source(path=path, size=len(raw), head=raw[:4096], opener=lambda: io.BytesIO(raw))


def rules(result: FileResult) -> list[tuple[str, str, int | None]]:
    return [(f.rule, f.severity.label, f.line) for f in result.findings]


def by_rule(result: FileResult, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]


def components(result: FileResult, kind: str) -> dict[str, Component]:
    return {c.name: c for c in result.components if c.type == kind}


def services(result: FileResult) -> dict[str, Component]:
    """Services by provider id (or by name when the table does not know them)."""
    return {c.provider or c.name: c for c in result.components if c.type == "service"}
