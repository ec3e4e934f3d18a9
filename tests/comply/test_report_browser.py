"""The printable report in a real browser: at a narrow width a command wraps between its words,
never inside one, and the needs-attestation cards show no green mark (issue 18, Rule 1).

Debian's Chromium driven by Playwright, as the console's tests do (`scripts/ensure-system-deps`
installs it; no browser is downloaded). Without /usr/bin/chromium the test skips locally and
fails under CI=true. A screenshot of the narrow page is kept beside the test's tmp files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from sumun.comply.assess import assess
from sumun.comply.report import build_report, render_html
from tests.comply.conftest import Deployment

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs /usr/bin/chromium (scripts/ensure-system-deps)")
        pytest.skip("no /usr/bin/chromium")
    return CHROMIUM


def test_commands_wrap_between_words_only(
    deploy: Callable[..., Deployment], chromium: Path, tmp_path: Path
) -> None:
    d = deploy(rpm=600)
    facts = d.facts()
    page_html = render_html(build_report(d.catalog, facts, assess(d.catalog, facts)))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 900})
            page.set_content(page_html, wait_until="load")
            page.screenshot(path=str(tmp_path / "narrow.png"), full_page=True)
            tokens = page.locator("code.cmd .tok")
            assert tokens.count() > 20
            # An inline box broken across lines has one client rect per line it spans.
            broken = page.evaluate(
                """() => [...document.querySelectorAll('code.cmd .tok')]
                    .filter(t => t.getClientRects().length > 1).map(t => t.textContent)"""
            )
            assert broken == []
            wrapped = page.evaluate(
                """() => [...document.querySelectorAll('code.cmd')]
                    .filter(c => c.getClientRects()[0].height > 24).length"""
            )
            assert wrapped > 0  # the narrow page does wrap commands — between their words
            marks = page.evaluate(
                """() => [...document.querySelectorAll('article.st-needs-attestation li')]
                    .map(li => getComputedStyle(li, '::before').content)"""
            )
            assert marks and set(marks) == {'"○ "'}
        finally:
            browser.close()
