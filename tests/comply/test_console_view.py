"""The console's compliance page shows the report as the printable one does (issue 18, Rule 1):
the system's configured name, evidence on an unsettled card marked supporting only, commands as
unbreakable tokens, each gap with its own remedy, and `$SUMUN_HOME` instead of the home's path.

A real `sumun demo` (loopback, its own admin listener); the page is fetched over HTTP with a
console session (no browser needed).
"""

from __future__ import annotations

import html
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.demo import start_demo


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("console") / "demo"
    home.mkdir()
    (home / "sumun.yaml").write_text("comply:\n  system_name: 여신심사 AI\n", encoding="utf-8")
    proc, ready = start_demo(home)
    try:
        yield _compliance_page(ready), home
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def _compliance_page(ready: dict[str, Any]) -> str:
    base = ready["console_url"].rsplit("/console/", 1)[0]
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert token is not None
        signed = client.post(
            "/console/login", data={"api_key": ready["admin_key"], "csrf": token.group(1)}
        )
        assert signed.status_code in (200, 303), signed.text
        deadline = time.monotonic() + 90
        while True:
            got = client.get("/console/compliance")
            assert got.status_code == 200
            if 'data-testid="report-preparing"' not in got.text:
                return got.text
            assert time.monotonic() < deadline, "the report was not computed in 90 s"
            time.sleep(1)


def _row(text: str, requirement: str) -> str:
    found = re.search(rf'<tr data-requirement="{re.escape(requirement)}">(.*?)</tr>', text, re.S)
    assert found is not None, requirement
    return found.group(1)


def test_the_console_names_the_system_and_hides_the_home(page: tuple[str, Path]) -> None:
    text, home = page
    assert 'data-testid="report-failed"' not in text
    assert '<span class="system-name">여신심사 AI</span>' in text
    assert str(home) not in text
    assert "$SUMUN_HOME/store.db" in text


def test_unsettled_evidence_is_supporting_only(page: tuple[str, Path]) -> None:
    text, _home = page
    row = _row(text, "AIBA-31.2")  # the demo's notice is on: satisfied, evidence passes
    assert "ev-pass" in row and "ev-support" not in row
    attest = [
        r for r in re.findall(r"<tr data-requirement=[^>]*>(.*?)</tr>", text, re.S)
        if "s-needs-attestation" in r and "<ul class=\"evidence\">" in r and "ev-" in r
    ]  # fmt: skip
    assert attest
    for r in attest:
        assert "ev-pass" not in r and "ev-support" in r
        words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split())
        assert "supports but does not settle the item; an attestation is needed:" in words
        assert "sumun comply attest" in words and "supporting only" in words


def test_each_gap_has_its_own_command_unbroken(page: tuple[str, Path]) -> None:
    text, _home = page
    row = _row(text, "N2SF-CA.CTRL")  # no drill and no limits in the demo: two gaps
    items = re.findall(r"<li class=\"ev-[a-z]+[^\"]*\">(.*?)</li>", row, re.S)
    drill = next(i for i in items if "gateway.kill_switch" in i)
    limits = next(i for i in items if "gateway.rate_limits" in i)
    assert "providers</span>" in drill and "--rpm" not in drill
    assert "--rpm</span>" in limits and "providers" not in limits
    word = r'<span class="tok">[^\s<]+</span>'
    for block in re.findall(r'<code class="cmd">(.*?)</code>', text, re.S):
        assert re.fullmatch(rf"{word}( {word})*", block), block
    assert "How to fix" not in row  # the general remedy gives way to each gap's own
