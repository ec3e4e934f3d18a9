"""The console's compliance page in Debian's Chromium, against a real `sumun demo` process:
the live report requirement by requirement, the AI register, attestations, and the oversight
queue where an auditor records a review that becomes an `oversight-review` ledger entry.

Observed from outside: the admin API's own reads of the ledger, and forged requests from an
admin's console session (no `review` permission) refused 403.
"""

from __future__ import annotations

import re
import threading
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from sumun.admin.console import i18n
from sumun.admin.console.app import _templates
from sumun.admin.console.views.compliance import REFRESH_S
from sumun.admin.http.compliance import RegisterList
from sumun.admin.http.compliance_report import (
    ReportPreparingError,
    ReportQuery,
    get_report,
    report_cache,
)
from sumun.admin.http.compliance_reviews import ReviewList
from sumun.admin.http.errors import headers_of, status_of
from sumun.admin.http.inputs import NoBody
from sumun.admin.http.operation import Call
from sumun.store.model import Role
from tests.console.support import Demo, console_session, key_id, shot, sign_in, watched

pytestmark = pytest.mark.slow


def _api(demo: Demo, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {demo.admin_key}"}
    return httpx.request(
        method, f"{demo.admin_url}/admin/v1{path}", headers=headers, timeout=30, **kw
    )


@pytest.fixture(scope="module")
def awaiting(demo: Demo) -> int:
    """demo/playground registered as high-impact, and one call of it awaiting review; the
    first compliance report computed (it is computed in the background from the start)."""
    assert _api(demo, "GET", "/compliance/report?wait=60").status_code == 200
    body = {
        "app": "demo/playground",
        "purpose": "대출 상담 보조",
        "high_impact": "yes",
        "sector": "finance",
    }
    assert _api(demo, "POST", "/compliance/register", json=body).status_code == 200
    assert demo.chat(demo.api_key) == 200
    queue = _api(demo, "GET", "/compliance/reviews").json()["awaiting"]
    assert len(queue) == 1
    return int(queue[0]["seq"])


def test_an_admin_sees_the_report_and_attests(
    demo: Demo, context: BrowserContext, awaiting: int
) -> None:
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}compliance")
    expect(page.get_by_role("heading", name="Compliance", exact=True)).to_be_visible()
    expect(page.get_by_test_id("headline")).to_contain_text("applicable requirements")
    aiba = page.locator("[data-catalog='ai_basic_act.yaml']")
    expect(aiba.get_by_role("heading")).to_contain_text("AI Basic Act")
    for catalog in ("pipa.yaml", "n2sf.yaml", "kcmvp.yaml", "csap.yaml"):
        expect(page.locator(f"[data-catalog='{catalog}']")).to_have_count(1)
    prior = page.locator("tr[data-requirement='AIBA-31.1']")
    expect(prior.get_by_test_id("status")).to_have_text("Needs attestation")
    label = page.locator("tr[data-requirement='AIBA-31.2']")
    label.locator("summary").click()
    expect(label.locator("ul.evidence")).to_contain_text("gateway.output_label")
    expect(page.locator("tr[data-app='demo/playground']")).to_contain_text("high-impact")
    expect(page.locator(f"tr[data-awaiting='{awaiting}']")).to_be_visible()
    expect(page.get_by_test_id("review")).to_have_count(0)  # an admin may not review
    size = _api(demo, "GET", "/status").json()["ledger"]["size"]
    expect(page.get_by_test_id("report-computed")).to_contain_text("ledger entries")
    expect(page.get_by_test_id("queue-window")).to_contain_text(
        f"Looked through ledger entries #0 to #{size - 1} of {size}"
    )
    expect(page.get_by_test_id("queue-further")).to_have_count(0)  # it read every entry
    shot(page, "compliance", "en")

    form = page.get_by_test_id("attest-form")
    form.locator("select[name=requirement]").select_option("AIBA-34.1")
    form.locator("input[name=app]").fill("demo/playground")
    form.locator("input[name=by]").fill("김준법 (준법감시인)")
    form.locator("input[name=refs]").fill("위험관리계획서 RM-2026-03")
    page.get_by_test_id("attest").click()
    flash = page.locator(".flash.ok")
    expect(flash).to_contain_text("AIBA-34.1 attested (ledger #")
    seq = int(re.findall(r"#(\d+)", flash.inner_text())[0])
    entry = _api(demo, "GET", f"/ledger/entries/{seq}").json()["entry"]
    assert entry["attrs"]["action"] == "comply-attest"
    assert entry["attrs"]["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    expect(page.locator("tr[data-attestation='AIBA-34.1']")).to_contain_text("RM-2026-03")

    page.goto(f"{demo.console_url}lang/ko?next=/console/compliance")
    expect(page.get_by_role("heading", name="규제 준수", exact=True)).to_be_visible()
    expect(prior.get_by_test_id("status")).to_have_text("증빙 필요")
    shot(page, "compliance", "ko")
    assert problems == []

    client, _token = console_session(demo, demo.admin_key)
    try:
        saved = client.get("/console/compliance/report.html")
    finally:
        client.close()
    assert saved.status_code == 200
    assert saved.headers["content-disposition"].startswith("attachment;")
    assert saved.headers["content-type"].startswith("text/html")
    assert "AIBA-34.1" in saved.text


def test_an_auditor_records_a_review_that_the_ledger_names(
    demo: Demo, context: BrowserContext, awaiting: int
) -> None:
    auditor = demo.issue(Role.AUDITOR)
    page, problems = watched(context)
    sign_in(page, demo, auditor)
    page.goto(f"{demo.console_url}compliance#reviews")
    row = page.locator(f"tr[data-awaiting='{awaiting}']")
    row.locator("select[name=outcome]").select_option("override")
    row.locator("input[name=flag]").check()
    row.locator("textarea[name=note]").fill("상담 내용 재확인 필요: 금리 안내 오류")
    row.get_by_test_id("review").click()

    flash = page.locator(".flash.ok")
    expect(flash).to_contain_text(f"Review of entry #{awaiting} recorded as ledger entry #")
    seq = int(re.findall(r"#(\d+)", flash.inner_text())[1])
    expect(page.locator(f"tr[data-awaiting='{awaiting}']")).to_have_count(0)
    done = page.locator(f"tr[data-review='{seq}']")
    expect(done).to_contain_text("flagged")
    done.get_by_test_id("review-entry").click()
    expect(page).to_have_url(f"{demo.console_url}ledger/{seq}")
    expect(page.locator("main")).to_contain_text("oversight-review")

    entry = _api(demo, "GET", f"/ledger/entries/{seq}").json()["entry"]
    assert entry["kind"] == "oversight-review"
    assert entry["attrs"]["reviewed_seq"] == str(awaiting)
    assert entry["attrs"]["decision"] == "override" and entry["attrs"]["flag"] == "true"
    assert entry["attrs"]["actor"] == f"{key_id(auditor)}@admin-api"
    assert entry["attrs"]["reviewer"] == key_id(auditor)
    assert problems == []


def test_the_report_is_recomputed_on_request_and_says_over_what(
    demo: Demo, context: BrowserContext, awaiting: int
) -> None:
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    before = _api(demo, "GET", "/compliance/report?wait=60").json()["cache"]
    assert demo.chat(demo.api_key) == 200  # the ledger grows after the cached report
    page.goto(f"{demo.console_url}compliance")
    computed = page.get_by_test_id("report-computed")
    expect(computed).to_contain_text(f"verifying {before['ledger_size']:,} ledger entries")
    now = int(re.findall(r"now holds ([\d,]+)", computed.inner_text())[0].replace(",", ""))
    assert now > before["ledger_size"]
    page.get_by_test_id("report-refresh").click()
    expect(page.locator(".flash.ok")).to_contain_text("A new report is being computed")
    fresh = _api(demo, "GET", "/compliance/report?wait=60").json()["cache"]
    assert fresh["ledger_size"] >= now and fresh["refreshing"] is False
    page.goto(f"{demo.console_url}compliance")
    expect(computed).to_contain_text(f"verifying {fresh['ledger_size']:,} ledger entries")
    expect(page.get_by_test_id("report-refreshing")).to_have_count(0)
    assert problems == []


def test_the_queue_pages_back_through_the_ledger(
    demo: Demo, context: BrowserContext, awaiting: int
) -> None:
    auditor = demo.issue(Role.AUDITOR)
    page, problems = watched(context)
    sign_in(page, demo, auditor)
    size = _api(demo, "GET", "/status").json()["ledger"]["size"]
    scan = size - awaiting - 1  # the newest entries, up to but not including the call
    page.goto(f"{demo.console_url}compliance?scan={scan}#reviews")
    window = page.get_by_test_id("queue-window")
    expect(window).to_contain_text(f"#{size - scan} to #{size - 1} of {size}")
    expect(page.locator(f"tr[data-awaiting='{awaiting}']")).to_have_count(0)
    page.get_by_test_id("queue-further").click()
    expect(page).to_have_url(re.compile(rf"before={size - scan}&scan={scan}"))
    expect(window).to_contain_text(f"to #{size - scan - 1} of {size}")
    expect(window).to_contain_text(f"Reviews recorded after entry #{size - scan - 1}")
    row = page.locator(f"tr[data-awaiting='{awaiting}']")
    expect(row).to_be_visible()
    page.goto(f"{demo.console_url}lang/ko?next=/console/compliance")
    page.goto(f"{demo.console_url}compliance?scan={scan}&before={size - scan}#reviews")
    expect(window).to_contain_text(f"원장 항목 {size}건 가운데")
    expect(page.get_by_test_id("queue-further")).to_have_text("더 이전 항목 살펴보기")
    page.get_by_test_id("queue-newest").click()
    expect(window).to_contain_text(f"#0부터 #{size - 1}까지")
    page.goto(f"{demo.console_url}lang/en?next=/console/compliance")
    assert problems == []


def test_an_admin_session_cannot_forge_a_review(demo: Demo, awaiting: int) -> None:
    size = _api(demo, "GET", "/status").json()["ledger"]["size"]
    client, token = console_session(demo, demo.admin_key)
    try:
        form = {"seq": str(awaiting), "outcome": "confirm", "csrf": token}
        forged = client.post("/console/compliance/reviews", data=form)
        assert forged.status_code == 403
        assert "may not review" in forged.text
        no_token = client.post(
            "/console/compliance/reviews", data={"seq": str(awaiting), "outcome": "confirm"}
        )
        assert no_token.status_code == 403
    finally:
        client.close()
    assert _api(demo, "GET", "/status").json()["ledger"]["size"] == size


def test_a_tenant_admin_sees_its_own_register_but_not_the_report(demo: Demo, awaiting: int) -> None:
    demo.cli("tenants", "create", "hospital")
    issued = demo.cli("tenants", "keys", "issue", "--tenant", "hospital", "--role", "admin")
    client, _token = console_session(demo, str(issued["api_key"]))
    try:
        page = client.get("/console/compliance")
        saved = client.get("/console/compliance/report.html")
    finally:
        client.close()
    assert page.status_code == 200
    assert 'data-testid="report-operator-only"' in page.text
    assert "demo/playground" not in page.text  # another tenant's register entry
    assert saved.status_code == 403


# -- before the first report (in-process: a real cache whose computation the test holds) ---------


class _HeldKeys:
    """Key status that blocks until released, then fails: the computation the cache runs
    (`compliance_report._build`) is held in "being prepared", then ends in a failure."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def status(self) -> Any:
        assert self.release.wait(10)
        raise RuntimeError("key registry unreachable")


def _render(lang: str, preparing: ReportPreparingError) -> str:
    empty = ReviewList(
        awaiting=[], awaiting_total=0, reviews=[], size=0, scanned_from=0, scanned_to=0,
        complete=True,
    )  # fmt: skip
    reload_seconds = REFRESH_S if preparing.failed is None else None
    return _templates().get_template("compliance.html").render(
        t=i18n.translator(lang), lang=lang, languages=i18n.LANGUAGES, here="/console/compliance",
        caller=None, may_manage=False, operator=True, csrf_field="csrf", csrf_token="t",
        flashes=[], when=str, page="compliance", report=None, preparing=preparing,
        reload_seconds=reload_seconds, groups=[], attestations=[], attestable=[],
        register=RegisterList(apps=[], areas=[], models=[]), reviews=empty, may_review=False,
        scan_param="",
    )  # fmt: skip


def test_before_the_first_report_the_api_answers_503_and_the_page_reloads_itself() -> None:
    keys = _HeldKeys()
    store = SimpleNamespace(size=lambda: 1_000_000)
    ctx: Any = SimpleNamespace(keys=keys, ledger=SimpleNamespace(store=store), settings=None)
    call: Call[ReportQuery, NoBody] = Call(None, {}, ReportQuery(wait=0.2), NoBody())  # type: ignore[arg-type]
    try:
        with pytest.raises(ReportPreparingError) as preparing:
            get_report(ctx, call)  # waited 0.2 s for the computation, then gave up
        assert status_of(preparing.value) == 503
        assert headers_of(preparing.value) == {"retry-after": "5"}
        assert preparing.value.ledger_size == 1_000_000 and preparing.value.failed is None
        assert "being prepared: verifying 1,000,000 ledger entries" in str(preparing.value)
        for lang, text in (("en", "verifying 1,000,000 ledger entries"), ("ko", "1,000,000건")):
            page = _render(lang, preparing.value)
            assert 'data-testid="report-preparing"' in page and text in page
            assert '<meta http-equiv="refresh" content="5">' in page
    finally:
        keys.release.set()
    report_cache(ctx).wait(5)
    with pytest.raises(ReportPreparingError) as failed:
        get_report(ctx, call)  # failed: said so, and not retried at once
    assert failed.value.failed == "RuntimeError: key registry unreachable"
    assert headers_of(failed.value) == {}  # not "ask again in 5 s": it waits for a retry
    assert not report_cache(ctx).snapshot().refreshing
    page = _render("en", failed.value)
    assert "could not be computed: RuntimeError: key registry unreachable" in page
    assert 'http-equiv="refresh"' not in page
