"""The issue's "done when", walked through in Korean by someone who never opens a terminal.

A compliance officer with a Korean browser signs in with the admin key the platform team gave
them, sees which providers may receive which class of data and why, cuts the demo provider
off with a reason (the gateway refuses within a second), finds the cut in the ledger by the
number the console showed, and has the browser itself verify that entry's inclusion proof —
every step by the Korean labels on the screen, nothing by URL, test id or English text.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, expect

from tests.console.support import VIEWPORT, Demo, watched

pytestmark = pytest.mark.slow


def test_a_compliance_officer_cuts_a_provider_and_verifies_the_record_in_korean(
    demo: Demo, browser: Browser
) -> None:
    context = browser.new_context(viewport=VIEWPORT, locale="ko-KR")  # type: ignore[arg-type]
    try:
        page, problems = watched(context)
        assert demo.chat(demo.api_key) == 200

        # Sign in: the field is labelled "API 키" and the page is Korean from the start.
        page.goto(demo.console_url)
        expect(page.get_by_role("heading", name="로그인")).to_be_visible()
        page.get_by_label("API 키").fill(demo.admin_key)
        page.get_by_role("button", name="로그인").click()
        expect(page.get_by_role("heading", name="개요")).to_be_visible()

        # Which provider may receive which class of data, and why.
        page.get_by_role("link", name="AI 제공자").first.click()
        card = page.locator("[data-provider='demo']")
        expect(card).to_contain_text("허용 등급")
        expect(card).to_contain_text("근거")
        expect(card.locator(".class").first).to_contain_text(re.compile("기밀|민감|공개"))
        expect(card).to_contain_text("연결됨: 트래픽 허용")

        # Cut it off, with a reason and a confirmation.
        card.get_by_label("사유").fill("위탁 계약 재검토 중 차단")
        card.get_by_role("button", name="차단…").click()
        expect(page.get_by_role("heading", name="demo 차단")).to_be_visible()
        page.get_by_role("button", name="demo 차단 확인").click()
        cut_at = time.monotonic()
        refused = None
        while time.monotonic() - cut_at < 1.0:
            refused = demo.chat(demo.api_key)
            if refused == 503:
                break
            time.sleep(0.05)
        assert refused == 503, "still served 1 s after the cut"
        done = page.get_by_role("status").first
        expect(done).to_contain_text("demo 차단됨")
        seq = re.search(r"원장 항목 (\d+)", done.inner_text())
        assert seq is not None, done.inner_text()

        # The record: found by the number shown, verified by the browser itself.
        page.get_by_role("link", name="원장").first.click()
        page.get_by_label("순번 또는 요청 ID").fill(seq.group(1))
        page.get_by_role("button", name="검색").click()
        expect(page.get_by_role("heading", name=f"원장 항목 {seq.group(1)}")).to_be_visible()
        entry = page.get_by_test_id("entry")
        expect(entry).to_contain_text("provider-cut")
        expect(entry).to_contain_text("위탁 계약 재검토 중 차단")
        verdict = page.get_by_test_id("verdict")
        expect(verdict).to_contain_text(f"브라우저에서 검증됨: 항목 {seq.group(1)}는")
        expect(verdict).to_have_attribute("data-state", "ok")

        # Restore, so the rest of the module's tests find the provider open.
        page.get_by_role("link", name="AI 제공자").first.click()
        card.get_by_role("button", name="복구").click()
        expect(card.get_by_test_id("state")).to_have_text("연결됨: 트래픽 허용")
        assert demo.chat(demo.api_key) == 200
        assert problems == []
    finally:
        context.close()
