"""The pickle-family corpus meets the goal: every malicious file critical/high, no benign one.

Runs `tests/data/scan/gen_pickle.py` into a temporary folder and judges every file with the
analyzer its magic bytes pick (the engine's own corpus test does the same through `scan`).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from sumun.scan.formats import numpy as npy
from sumun.scan.formats import pickle as pk
from sumun.scan.formats import pytorch
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_pickle

pytest.importorskip("numpy")
pytest.importorskip("joblib")


def _analyze(path: Path, root: Path) -> FileResult:
    head = path.read_bytes()[:4096]
    source = Source(
        path.relative_to(root).as_posix(),
        path.stat().st_size,
        head,
        lambda: path.open("rb"),
        real_path=str(path),
    )
    if npy.sniff(head) or path.suffix == ".npz":
        return npy.analyze(source)
    if head.startswith(b"PK"):
        return pytorch.analyze(source)
    return pk.analyze(source)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[gen_pickle.Sample], float]:
    root = tmp_path_factory.mktemp("pickle-corpus")
    started = time.perf_counter()
    samples = gen_pickle.generate(root)
    return root, samples, time.perf_counter() - started


def test_the_corpus_is_large_small_and_fast(
    corpus: tuple[Path, list[gen_pickle.Sample], float],
) -> None:
    root, samples, seconds = corpus
    counts = Counter(label for _, label, _ in samples)
    assert counts["malicious"] >= 35
    assert counts["benign"] >= 30
    assert counts["broken"] >= 10
    assert len({technique for _, label, technique in samples if label == "malicious"}) >= 35
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) < 20 << 20
    assert seconds < 5
    assert len({path for path, _, _ in samples}) == len(samples)


def test_every_sample_meets_its_label(corpus: tuple[Path, list[gen_pickle.Sample], float]) -> None:
    root, samples, _ = corpus
    wrong = []
    for rel, label, technique in samples:
        result = _analyze(root / rel, root)
        worst = max((f.severity for f in result.findings), default=None)
        if label == "malicious":
            ok = worst is not None and worst >= Severity.HIGH
        elif label == "benign":
            ok = worst is None or worst < Severity.HIGH
        else:
            ok = any(
                f.rule.endswith(".parse-error") and f.severity <= Severity.MEDIUM
                for f in result.findings
            ) and (worst is None or worst < Severity.HIGH)
        if not ok:
            wrong.append(
                (rel, label, technique, [(f.rule, f.severity.label) for f in result.findings])
            )
    assert wrong == []


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = gen_pickle.generate(tmp_path / "a")
    second = gen_pickle.generate(tmp_path / "b")
    assert first == second
    for rel, _, _ in first:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
