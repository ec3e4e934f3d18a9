"""The code corpus (tests/data/scan/gen_code.py) meets its labels, and no fake key leaks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sumun.scan.code import config, patterns, python
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_code


def _analyze(root: Path, rel: str) -> FileResult:
    data = (root / rel).read_bytes()
    src = Source(rel, len(data), data[:4096], lambda: io.BytesIO(data), real_path=str(root / rel))
    if python.handles(rel):
        return python.analyze(src)
    if patterns.handles(rel):
        return patterns.analyze(src)
    assert config.handles(rel), f"no code analyzer handles {rel}"
    return config.analyze(src)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[gen_code.Sample]]:
    root = tmp_path_factory.mktemp("code-corpus")
    return root, gen_code.generate(root)


def test_corpus_size_and_determinism(
    corpus: tuple[Path, list[gen_code.Sample]], tmp_path: Path
) -> None:
    root, samples = corpus
    labels = [label for _, label, _ in samples]
    assert labels.count("benign") >= 30 and labels.count("malicious") >= 10
    assert labels.count("broken") >= 5
    kinds = {rel.rsplit(".", 1)[-1] for rel, label, _ in samples if label == "benign"}
    assert {"py", "ts", "js", "java", "go", "env", "yaml", "json", "toml", "properties"} <= kinds
    again = gen_code.generate(tmp_path)
    assert again == samples
    for rel, _, _ in samples:
        assert (tmp_path / rel).read_bytes() == (root / rel).read_bytes()


def test_every_sample_meets_its_label(corpus: tuple[Path, list[gen_code.Sample]]) -> None:
    root, samples = corpus
    wrong = []
    for rel, label, technique in samples:
        result = _analyze(root, rel)
        worst = max((f.severity for f in result.findings), default=Severity.INFO)
        if label == "malicious" and worst < Severity.HIGH:
            wrong.append(f"{rel} ({technique}): worst {worst.label}")
        elif label == "benign" and (worst >= Severity.HIGH or not result.components):
            wrong.append(
                f"{rel} ({technique}): worst {worst.label}, {len(result.components)} comps"
            )
        elif label == "broken" and not any(
            f.rule.endswith(".parse-error") and f.severity <= Severity.MEDIUM
            for f in result.findings
        ):
            wrong.append(f"{rel} ({technique}): no parse-error")
    assert not wrong, "\n".join(wrong)


def test_no_fake_key_ever_appears_in_output(corpus: tuple[Path, list[gen_code.Sample]]) -> None:
    root, samples = corpus
    blob = json.dumps(
        [
            [f.to_json() for f in r.findings] + [c.to_json() for c in r.components]
            for r in (_analyze(root, rel) for rel, _, _ in samples)
        ]
    )
    for kind, key in gen_code.fake_secrets().items():
        assert key not in blob, kind
        assert key[4:-4] not in blob, f"{kind}: the middle of the key leaked"
    assert "SumunFake" not in blob


def test_every_fake_key_is_detected(corpus: tuple[Path, list[gen_code.Sample]]) -> None:
    root, samples = corpus
    secret_findings = [
        f
        for rel, label, _ in samples
        if label == "malicious"
        for f in _analyze(root, rel).findings
        if f.rule.endswith("hardcoded-secret")
    ]
    assert len(secret_findings) >= len(gen_code.fake_secrets()) - 1  # AWS id+secret: one pair


def test_generation_is_fast_and_small(tmp_path: Path) -> None:
    import time

    start = time.perf_counter()
    samples = gen_code.generate(tmp_path)
    assert time.perf_counter() - start < 1.0
    assert sum((tmp_path / rel).stat().st_size for rel, _, _ in samples) < 200_000
