"""Reading a ledger payload from the console, in Debian's Chromium against a real `sumun demo`:
an auditor states a reason, the read is recorded in the ledger first (naming the auditor and
the reason), and the prompt a real gateway call sent is shown once. An admin is refused, a
read without a reason decrypts nothing, and another tenant's auditor sees no such entry.

The demo process, the browser and the screenshots are tests/console/support.py's.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from sumun.store.model import Role
from tests.console.support import VIEWPORT, Demo, console_session, key_id, shot, sign_in, watched

pytestmark = pytest.mark.slow

PROMPT = "다음 주 외래 진료 일정표를 표로 정리해 주세요 (payload-read 시험)"
REASON = "감사 2026-17: 외래 일정 문의 요청 원문 확인"


def _api(demo: Demo, method: str, path: str, key: str, **kw: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{demo.admin_url}/admin/v1{path}",
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
        **kw,
    )


def _sent(demo: Demo, text: str) -> int:
    """One chat completion through the gateway; the ledger seq of its admission (which holds
    the request as its payload)."""
    reply = httpx.post(
        f"{demo.base_url}/v1/chat/completions",
        json={"model": "demo", "messages": [{"role": "user", "content": text}]},
        headers={"authorization": f"Bearer {demo.api_key}"},
        timeout=20,
    )
    assert reply.status_code == 200, reply.text
    return int(reply.headers["x-sumun-ledger-seq"])


def _reads(demo: Demo) -> list[dict[str, str]]:
    found = _api(demo, "GET", "/ledger/search?kind=admin-change&count=1000", demo.admin_key)
    return [
        r["entry"]["attrs"]
        for r in found.json()["entries"]
        if r["entry"]["attrs"]["action"] == "payload-read"
    ]


def test_an_auditor_reads_a_payload_after_a_reason_and_the_read_is_recorded(
    demo: Demo, context: BrowserContext
) -> None:
    seq = _sent(demo, PROMPT)
    auditor = demo.issue(Role.AUDITOR)
    page, problems = watched(context)
    sign_in(page, demo, auditor)
    page.goto(f"{demo.console_url}ledger/{seq}")
    panel = page.get_by_test_id("payload-read")
    expect(panel.get_by_role("heading", name="Read the payload")).to_be_visible()
    assert PROMPT not in page.content()  # metadata only until a reason is given
    panel.get_by_label("Reason for reading").fill(REASON)
    panel.get_by_test_id("read-payload").click()

    expect(page.get_by_test_id("payload-text")).to_contain_text(PROMPT)
    expect(page.get_by_test_id("payload-reason")).to_have_text(REASON)
    recorded = int(page.get_by_test_id("payload-read-entry").inner_text())
    expect(page.get_by_test_id("payload-recorded")).to_contain_text(f"ledger entry {recorded}")
    shot(page, "payload-read", "en")

    # The ledger says who read which entry, and why — and never what was read.
    entry = _api(demo, "GET", f"/ledger/entries/{recorded}", demo.admin_key).json()["entry"]
    attrs = entry["attrs"]
    assert (attrs["action"], attrs["seq"], attrs["reason"]) == ("payload-read", str(seq), REASON)
    assert attrs["actor"] == f"{key_id(auditor)}@admin-api" and attrs["actor_role"] == "auditor"
    assert PROMPT not in str(entry)

    # Shown once: back on the entry page, and on the read's own entry page, no payload.
    page.get_by_role("link", name="Back to the entry").click()
    expect(page.get_by_test_id("payload-read")).to_be_visible()
    assert PROMPT not in page.content()
    page.goto(f"{demo.console_url}ledger/{recorded}")
    expect(page.get_by_test_id("entry")).to_contain_text("payload-read")
    expect(page.get_by_test_id("entry")).to_contain_text(REASON)
    assert PROMPT not in page.content()
    assert problems == []


def test_no_reason_an_admin_and_another_tenants_auditor_decrypt_nothing(
    demo: Demo, context: BrowserContext
) -> None:
    seq = _sent(demo, PROMPT)
    before = len(_reads(demo))

    # An admin sees the panel's refusal, no form; a forged POST is refused 403.
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}ledger/{seq}")
    expect(page.get_by_test_id("payload-read")).to_contain_text("Only auditors may read payloads")
    assert page.get_by_test_id("read-payload").count() == 0
    client, token = console_session(demo, demo.admin_key)
    try:
        forged = client.post(
            f"/console/ledger/{seq}/payload", data={"csrf": token, "reason": REASON}
        )
        assert forged.status_code == 403 and PROMPT not in forged.text
        assert "read-payload" in forged.text
    finally:
        client.close()

    # An auditor without a (long enough) reason: 400, nothing decrypted, nothing recorded.
    auditor = demo.issue(Role.AUDITOR)
    client, token = console_session(demo, auditor)
    try:
        for reason in ("", "too short", "          "):
            refused = client.post(
                f"/console/ledger/{seq}/payload", data={"csrf": token, "reason": reason}
            )
            assert refused.status_code == 400, refused.text
            assert "form.reason" in refused.text and PROMPT not in refused.text
        no_csrf = client.post(f"/console/ledger/{seq}/payload", data={"reason": REASON})
        assert no_csrf.status_code == 403 and PROMPT not in no_csrf.text
    finally:
        client.close()

    # Another tenant's auditor: the entry does not exist for it.
    assert _api(demo, "POST", "/tenants", demo.admin_key, json={"name": "clinic"}).is_success
    made = _api(demo, "POST", "/tenants/clinic/api-keys", demo.admin_key, json={"role": "auditor"})
    stranger = made.json()["api_key"]
    client, token = console_session(demo, stranger)
    try:
        hidden = client.post(
            f"/console/ledger/{seq}/payload", data={"csrf": token, "reason": REASON}
        )
        assert hidden.status_code == 404 and PROMPT not in hidden.text
        assert client.get(f"/console/ledger/{seq}").status_code == 404
    finally:
        client.close()
    assert len(_reads(demo)) == before
    assert problems == []


def test_the_payload_read_in_korean(demo: Demo, browser: Browser) -> None:
    seq = _sent(demo, PROMPT)
    auditor = demo.issue(Role.AUDITOR)
    korean = browser.new_context(viewport=VIEWPORT, locale="ko-KR")  # type: ignore[arg-type]
    try:
        page, problems = watched(korean)
        sign_in(page, demo, auditor, label="API 키")
        page.goto(f"{demo.console_url}ledger/{seq}")
        panel = page.get_by_test_id("payload-read")
        expect(panel.get_by_role("heading", name="페이로드 열람")).to_be_visible()
        panel.get_by_label("열람 사유").fill(REASON)
        panel.scroll_into_view_if_needed()
        shot(page, "payload-reason", "ko")
        panel.get_by_test_id("read-payload").click()
        expect(page.get_by_test_id("payload-text")).to_contain_text(PROMPT)
        expect(page.get_by_test_id("payload-recorded")).to_contain_text("원장 항목")
        shot(page, "payload-read", "ko")
        assert problems == []
    finally:
        korean.close()
