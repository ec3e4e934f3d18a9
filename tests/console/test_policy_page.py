"""The console's policy page in Debian's Chromium, against a real `sumun demo` process: the
policy in force, validating a pasted policy (errors beside their lines), applying it (admins
of the operator tenant, after a confirmation), and the explain playground with Korean PII.

Observed from outside: the admin API's own reads and the ledger; a forged apply by an
auditor's console session is refused.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from sumun.store.model import Role
from tests.console.support import Demo, console_session, key_id, shot, sign_in, watched

pytestmark = pytest.mark.slow

RRN, PHONE = "900101-1234568", "010-1234-5678"
PROMPT = f"고객 홍길동의 주민등록번호는 {RRN}, 연락처는 {PHONE}입니다. 상담 내용을 요약해 주세요."
POLICY = """\
# 개인정보: 주민등록번호는 가명 처리, 전화번호는 가림, 카드번호는 차단
pii:
  rules:
    - {id: pii.rrn-pseudonymize, types: [KR_RRN], action: pseudonymize}
    - {id: pii.phone-mask, types: [PHONE_KR], action: mask}
    - {id: pii.card-never, types: [CREDIT_CARD], action: block}
  default: allow
"""
BROKEN = """\
pii:
  rules:
    - {id: pii.rrn, types: [KR_RRN], action: erase}
    - {id: pii.x, types: [NOT_A_TYPE], action: mask}
"""


def _admin(demo: Demo, method: str, path: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {demo.admin_key}"}
    return httpx.request(method, f"{demo.admin_url}/admin/v1{path}", headers=headers, timeout=20)


def _validate_broken(page: Page, *, problems_label: str, line_label: str) -> None:
    page.locator("#document").fill(BROKEN)
    page.get_by_test_id("check").click()
    expect(page.get_by_test_id("validation")).to_contain_text(problems_label)
    line3 = page.locator("#pasted-3")
    expect(line3).to_have_class("problem")
    expect(line3).to_contain_text(line_label)
    expect(line3).to_contain_text("pii.rules[0].action")
    expect(page.locator("#pasted-4")).to_contain_text("unknown PII type")
    expect(page.locator("#pasted-1")).not_to_have_class("problem")


def _explain(page: Page) -> None:
    page.locator("#text").fill(PROMPT)
    page.get_by_test_id("explain").click()
    marks = page.get_by_test_id("highlighted").locator("mark")
    expect(marks).to_have_count(2)
    expect(marks.nth(0)).to_have_attribute("data-type", "KR_RRN")
    expect(marks.nth(1)).to_have_attribute("data-type", "PHONE_KR")
    row = page.get_by_test_id("plans").locator("tr[data-provider='demo']")
    sent = row.get_by_test_id("sent")
    expect(sent).to_contain_text("[주민등록번호_1]")
    expect(sent).to_contain_text("[전화번호]")
    assert RRN not in sent.inner_text() and PHONE not in sent.inner_text()
    expect(page.get_by_test_id("findings")).to_contain_text("90****-*******")


def test_an_admin_views_validates_applies_and_explains(demo: Demo, context: BrowserContext) -> None:
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}policy")
    expect(page.get_by_role("heading", name="Policy", exact=True)).to_be_visible()
    expect(page.get_by_test_id("source")).to_have_text("built-in")
    expect(page.get_by_test_id("active")).to_contain_text("pii.unique-id")

    # Broken: each problem beside its line, nothing applied.
    _validate_broken(page, problems_label="2 problem", line_label="Line 3, column 46")
    assert _admin(demo, "GET", "/policy").json()["origin"] == "built-in"

    # Valid: apply, through a confirmation step.
    page.locator("#document").fill(POLICY)
    page.get_by_test_id("check").click()
    expect(page.get_by_test_id("validation")).to_have_text("Valid: this policy can be applied.")
    page.get_by_test_id("apply").click()
    expect(page.get_by_role("heading", name="Apply this policy?")).to_be_visible()
    assert _admin(demo, "GET", "/policy").json()["origin"] == "built-in"  # not yet
    page.get_by_test_id("confirm-apply").click()
    expect(page.get_by_role("status").first).to_contain_text("The policy is applied")
    view = _admin(demo, "GET", "/policy").json()
    assert view["origin"] == "stored" and view["document"] == POLICY
    expect(page.get_by_test_id("sha256")).to_have_text(view["sha256"])
    expect(page.locator("#document-5")).to_contain_text("pii.phone-mask")  # numbered lines
    found = _admin(demo, "GET", "/ledger/search?kind=admin-change&count=20").json()["entries"]
    applied = [e["entry"]["attrs"] for e in found if e["entry"]["decision"] == "policy-apply"]
    assert applied[-1]["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    assert applied[-1]["sha256"] == view["sha256"]

    page.goto(f"{demo.console_url}policy")
    shot(page, "policy", "en")
    _validate_broken(page, problems_label="2 problem", line_label="Line 3, column 46")
    shot(page, "policy-validate", "en")

    _explain(page)
    expect(page.get_by_test_id("decision")).to_have_text(
        "sent with personal data masked or pseudonymized"
    )
    page.locator("#explain").scroll_into_view_if_needed()
    shot(page, "policy-explain", "en")

    # The same in Korean.
    page.goto(f"{demo.console_url}lang/ko?next=/console/policy")
    expect(page.get_by_role("heading", name="정책", exact=True)).to_be_visible()
    shot(page, "policy", "ko")
    _validate_broken(page, problems_label="문제 2건", line_label="3행 46열")
    shot(page, "policy-validate", "ko")
    _explain(page)
    expect(page.get_by_test_id("decision")).to_have_text("개인정보를 가리거나 가명 처리해 전송")
    page.locator("#explain").scroll_into_view_if_needed()
    shot(page, "policy-explain", "ko")
    assert problems == []


def test_an_auditor_validates_and_explains_but_cannot_apply(
    demo: Demo, context: BrowserContext
) -> None:
    auditor = demo.issue(Role.AUDITOR)
    page, problems = watched(context)
    sign_in(page, demo, auditor)
    page.goto(f"{demo.console_url}policy")
    page.locator("#document").fill("pii:\n  default: mask\n")
    page.get_by_test_id("check").click()
    expect(page.get_by_test_id("validation")).to_have_text("Valid: this policy can be applied.")
    expect(page.get_by_test_id("apply")).to_have_count(0)
    expect(page.locator("#validate")).to_contain_text("only admins of the operator tenant")
    page.locator("#text").fill(f"카드 4111-1111-1111-1111, 전화 {PHONE}")
    page.get_by_test_id("explain").click()
    expect(page.get_by_test_id("explained")).to_be_visible()
    assert problems == []

    # A forged apply from the auditor's session is refused; the policy stays as it was.
    before = _admin(demo, "GET", "/policy").json()["sha256"]
    client, token = console_session(demo, auditor)
    try:
        forged = client.post(
            "/console/policy/apply",
            data={"csrf": token, "document": "pii:\n  default: block\n", "confirm": "yes"},
        )
    finally:
        client.close()
    assert forged.status_code == 403
    assert _admin(demo, "GET", "/policy").json()["sha256"] == before
