"""Shared by the format tests: run one analyzer over its share of the generated corpus."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from sumun.scan.model import FileResult, Source
from tests.data.scan import gen_formats as gen


def corpus_failures(
    corpus: tuple[Path, list[gen.Sample]],
    extensions: tuple[str, ...],
    analyze: Callable[[Source], FileResult],
    labels: frozenset[str] = frozenset({"benign", "malicious", "broken"}),
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Samples with these extensions whose findings do not meet their label (none expected).

    Every expected label must be represented, or the check proves little.
    """
    root, samples = corpus
    mine = [(rel, label) for rel, label, _ in samples if rel.endswith(extensions)]
    assert {label for _, label in mine} == labels
    failed = []
    for rel, label in mine:
        data = (root / rel).read_bytes()
        source = Source(Path(rel).name, len(data), data[:4096], lambda d=data: io.BytesIO(d))
        result = analyze(source)
        if not gen.label_holds(label, result.findings):
            failed.append((rel, label, [(f.rule, f.severity.label) for f in result.findings]))
    return failed
