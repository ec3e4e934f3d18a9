"""The console's supply-chain page in Debian's Chromium, against a real `sumun demo` process:
a scan recorded by the real CLI (`sumun scan DIR --record`), its findings, and the AI-BOM
(CycloneDX 1.6) and SARIF downloads — saved by the browser and validated against the official
schemas. A tenant's admin is told scans are the operator's; an id that is not listed is 404.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from playwright.sync_api import BrowserContext, expect

from tests.admin.test_admin_compliance import make_project, record_scan
from tests.console.support import Demo, console_session, shot, sign_in, watched
from tests.scan.test_sarif import validate as validate_sarif

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scan_id(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> str:
    record_scan(demo, make_project(tmp_path_factory.mktemp("supply") / "loan-scoring"))
    listed = httpx.get(
        f"{demo.admin_url}/admin/v1/scans",
        headers={"authorization": f"Bearer {demo.admin_key}"},
        timeout=20,
    ).json()["scans"]
    assert len(listed) == 1
    return str(listed[0]["id"])


def test_an_admin_sees_findings_and_downloads_the_ai_bom_and_sarif(
    demo: Demo, context: BrowserContext, scan_id: str, tmp_path: Path
) -> None:
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}supply-chain")
    expect(page.get_by_role("heading", name="AI supply chain")).to_be_visible()
    row = page.locator(f"tr[data-scan='{scan_id}']")
    expect(row).to_contain_text("loan-scoring")
    expect(row.locator("td.n-critical")).to_have_text("1")
    detail = page.get_by_test_id("detail")
    expect(detail.locator("tr[data-rule='pickle.dangerous-global']")).to_contain_text("critical")
    expect(detail.locator("tr[data-rule='code.torch-load-unsafe']")).to_be_visible()
    expect(detail).to_contain_text("OpenAI API")
    shot(page, "supply-chain", "en")

    with page.expect_download() as bom_download:
        row.get_by_test_id("cyclonedx").click()
    bom_file = tmp_path / bom_download.value.suggested_filename
    bom_download.value.save_as(bom_file)
    assert bom_file.name == f"sumun-ai-bom-{scan_id}.cdx.json"
    text = bom_file.read_text(encoding="utf-8")
    problem = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert problem is None, problem
    bom = json.loads(text)
    assert any(c["type"] == "machine-learning-model" for c in bom["components"])
    assert bom["vulnerabilities"][0]["ratings"][0]["severity"] == "critical"

    with page.expect_download() as sarif_download:
        row.get_by_test_id("sarif").click()
    sarif_file = tmp_path / sarif_download.value.suggested_filename
    sarif_download.value.save_as(sarif_file)
    log = json.loads(sarif_file.read_text(encoding="utf-8"))
    validate_sarif(log)
    assert {r["ruleId"] for r in log["runs"][0]["results"]} >= {"pickle.dangerous-global"}

    page.goto(f"{demo.console_url}lang/ko?next=/console/supply-chain")
    expect(page.get_by_role("heading", name="AI 공급망")).to_be_visible()
    expect(row.locator("td.downloads")).to_contain_text("AI-BOM(CycloneDX)")
    shot(page, "supply-chain", "ko")
    assert problems == []


def test_ids_are_names_from_the_listing_never_paths(demo: Demo, scan_id: str) -> None:
    client, _token = console_session(demo, demo.admin_key)
    try:
        assert client.get(f"/console/supply-chain/{scan_id}").status_code == 200
        for bad in ("latest", "..%2F..%2Fstore.db", "%2e%2e", scan_id + ".json"):
            for suffix in ("", "/cyclonedx", "/sarif"):
                got = client.get(f"/console/supply-chain/{bad}{suffix}")
                assert got.status_code == 404, (bad, suffix)
    finally:
        client.close()


def test_a_tenant_admin_is_told_scans_are_the_operators(
    demo: Demo, context: BrowserContext, scan_id: str
) -> None:
    demo.cli("tenants", "create", "clinic")
    key = str(
        demo.cli("tenants", "keys", "issue", "--tenant", "clinic", "--role", "admin")["api_key"]
    )
    page, _ = watched(context)
    sign_in(page, demo, key)
    page.goto(f"{demo.console_url}supply-chain")
    expect(page.get_by_test_id("operator-only")).to_be_visible()
    expect(page.locator(f"tr[data-scan='{scan_id}']")).to_have_count(0)
    answer = page.goto(f"{demo.console_url}supply-chain/{scan_id}/cyclonedx")
    assert answer is not None and answer.status == 403
