"""The scanner's goal on the whole generated corpus, through the real `scan()`:

every malicious sample gets a critical/high finding; no benign sample does; every broken sample
gets a medium/info `.parse-error` and nothing crashes. Plus: no fake secret the generators planted
ever reaches any output format.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from sumun.scan.bom import to_cyclonedx
from sumun.scan.engine import scan
from sumun.scan.html import render_html
from sumun.scan.model import ScanResult
from sumun.scan.sarif import to_sarif
from tests.data.scan.make_corpus import Outcome, Sample, build, evaluate, generators
from tests.scan.test_sarif import validate as validate_sarif


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample], ScanResult]:
    root = tmp_path_factory.mktemp("corpus")
    samples = build(root)
    return root, samples, scan(root)


@pytest.fixture(scope="module")
def total(corpus: tuple[Path, list[Sample], ScanResult]) -> Outcome:
    _, samples, result = corpus
    return evaluate(samples, result.findings)["total"]


def test_every_malicious_sample_is_critical_or_high(total: Outcome) -> None:
    assert total.malicious > 0
    assert total.missed == [], "\n".join(total.missed)


def test_no_benign_sample_is_critical_or_high(total: Outcome) -> None:
    assert total.benign > 0
    assert total.false == [], "\n".join(total.false)


def test_every_broken_sample_is_a_parse_error_and_nothing_crashes(total: Outcome) -> None:
    assert total.broken > 0
    assert total.unhandled == [], "\n".join(total.unhandled)
    assert total.crashed == [], "\n".join(total.crashed)


def test_the_corpus_is_large_enough_once_every_generator_is_there(total: Outcome) -> None:
    missing = {"gen_code", "gen_formats", "gen_pickle"} - set(generators())
    if missing:
        pytest.skip(f"generators not written yet: {sorted(missing)}")
    assert total.malicious >= 30 and total.benign >= 30


def test_the_whole_corpus_scan_is_valid_cyclonedx_and_sarif(
    corpus: tuple[Path, list[Sample], ScanResult],
) -> None:
    _, _, result = corpus
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(to_cyclonedx(result)))
    assert error is None, str(error)[:2000]
    validate_sarif(to_sarif(result))


def test_no_planted_secret_reaches_any_output(
    corpus: tuple[Path, list[Sample], ScanResult],
) -> None:
    _, _, result = corpus
    secrets: list[str] = []
    for name in generators():
        module = importlib.import_module(f"tests.data.scan.{name}")
        if hasattr(module, "fake_secrets"):
            secrets.extend(module.fake_secrets().values())
    if not secrets:
        pytest.skip("no generator plants secrets")
    outputs = [
        json.dumps(result.to_json()),
        json.dumps(to_cyclonedx(result)),
        json.dumps(to_sarif(result)),
        render_html(result),
    ]
    leaked = [s for s in secrets for out in outputs if s in out]
    assert leaked == []
