"""`sumun scan` on a real project tree: the official anthropic SDK as installed (3,000+ files).

Real code is where false positives live: this tree once produced 247 "hard-coded key" findings
(`api_key=resolved_api_key,`). It must come out clean, with its cloud AI services mapped to
their jurisdictions, a BOM that validates against CycloneDX 1.6 and SARIF against 2.1.0.
"""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from sumun.scan.bom import to_cyclonedx
from sumun.scan.engine import scan
from sumun.scan.html import render_html
from sumun.scan.model import ScanResult, Severity
from sumun.scan.sarif import to_sarif
from tests.scan.test_bom import validate as validate_bom
from tests.scan.test_sarif import validate as validate_sarif


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return scan(Path(anthropic.__file__).parent)


def test_a_real_sdk_has_no_critical_or_high_findings(result: ScanResult) -> None:
    assert result.files > 1000
    loud = [f for f in result.findings if f.severity >= Severity.HIGH]
    assert loud == []


def test_its_cloud_services_are_mapped_to_jurisdictions(result: ScanResult) -> None:
    services = {(c.provider, c.jurisdiction) for c in result.components if c.type == "service"}
    assert ("anthropic", "US") in services
    assert any(provider and "vertex" in provider for provider, _j in services)


def test_the_documents_validate(result: ScanResult) -> None:
    validate_bom(to_cyclonedx(result))
    validate_sarif(to_sarif(result))
    html = render_html(result)
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
