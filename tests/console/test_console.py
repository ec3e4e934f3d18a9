"""The web console in Debian's Chromium (Playwright), against a real `sumun demo` process.

Everything is done the way people do it — a browser for the console, the official `openai`
SDK for the gateway, `httpx` for what a forger would send, the `sumun` CLI in another
process for keys — and observed from outside. The run saves a screenshot of every page in
both languages to docs/console/.

Chromium is Debian's (`scripts/ensure-system-deps` installs it); no browser is downloaded.
Without /usr/bin/chromium the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import json
import re
import signal
import ssl
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from sumun.store.model import Role
from tests.console.support import (
    VIEWPORT,
    Demo,
    console_session,
    key_id,
    shot,
    sign_in,
    watched,
)
from tests.fixtures.demo import start_demo

pytestmark = pytest.mark.slow

# -- signing in --------------------------------------------------------------------------------


def test_an_admin_signs_in_and_sees_the_demo_provider(demo: Demo, context: BrowserContext) -> None:
    page, problems = watched(context)
    page.goto(f"{demo.console_url}login")
    shot(page, "login", "en")
    sign_in(page, demo, demo.admin_key)
    expect(page).to_have_url(demo.console_url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_test_id("who")).to_contain_text(key_id(demo.admin_key))

    page.get_by_role("link", name="Providers", exact=True).first.click()
    card = page.locator("[data-provider='demo']")
    expect(card.get_by_role("heading", name="demo")).to_be_visible()
    expect(card.get_by_test_id("state")).to_have_text("Open: traffic flows")
    expect(card).to_contain_text("Admitted for")
    expect(card.get_by_test_id("cut")).to_be_visible()
    shot(page, "providers", "en")

    page.get_by_role("link", name="Tenants & keys").click()
    expect(page.locator("[data-tenant='demo']")).to_contain_text(key_id(demo.admin_key))
    shot(page, "tenants", "en")
    assert problems == []


def test_the_session_cookie_is_httponly_strict_and_holds_no_key(
    demo: Demo, context: BrowserContext
) -> None:
    page, _ = watched(context)
    sign_in(page, demo, demo.admin_key)
    expect(page).to_have_url(demo.console_url)
    [cookie] = [c for c in context.cookies() if c["name"] == "sumun_console"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain HTTP on loopback; Secure under TLS
    assert cookie["path"] == "/console/"
    assert demo.admin_key not in json.dumps(context.cookies())
    assert key_id(demo.admin_key) not in cookie["value"]


def test_every_answer_has_a_strict_csp_and_every_asset_is_served_by_the_console(
    demo: Demo, context: BrowserContext
) -> None:
    page, problems = watched(context)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    sign_in(page, demo, demo.admin_key)
    for path in ("", "providers", "tenants"):
        answer = page.goto(f"{demo.console_url}{path}")
        assert answer is not None
        headers = answer.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY"
        assert page.locator("script:not([src])").count() == 0  # no inline scripts
    assert requested and all(url.startswith(demo.admin_url + "/console/") for url in requested)
    assert problems == []


def test_a_user_role_key_cannot_sign_in(demo: Demo, context: BrowserContext) -> None:
    page, _ = watched(context)
    sign_in(page, demo, demo.api_key)
    expect(page.get_by_role("alert")).to_contain_text("role “user”")
    expect(page).to_have_url(f"{demo.console_url}login")
    shot(page, "login-refused", "en")
    assert page.goto(f"{demo.console_url}providers") is not None
    expect(page).to_have_url(f"{demo.console_url}login")


def test_an_unknown_key_cannot_sign_in(demo: Demo, context: BrowserContext) -> None:
    page, _ = watched(context)
    sign_in(page, demo, "sk-sumun-aaaaaaaaaa-" + "b" * 40)
    expect(page.get_by_role("alert")).to_contain_text("not valid")


def test_no_session_redirects_pages_to_the_login_and_refuses_other_calls(
    demo: Demo, context: BrowserContext
) -> None:
    page, _ = watched(context)
    for path in ("", "providers", "tenants"):
        page.goto(f"{demo.console_url}{path}")
        expect(page).to_have_url(f"{demo.console_url}login")
        expect(page.get_by_label("API key")).to_be_visible()
    for method, path in (
        ("GET", "providers"),
        ("POST", "providers/demo/cut"),
        ("POST", "providers/demo/restore"),
        ("POST", "keys/abcdefgh23/revoke"),
    ):
        answer = httpx.request(method, f"{demo.console_url}{path}", timeout=20)
        assert answer.status_code == 401, (method, path)


# -- the kill switch ---------------------------------------------------------------------------


def test_a_cut_from_the_console_stops_the_gateway_within_a_second_and_restore_resumes_it(
    demo: Demo, context: BrowserContext
) -> None:
    assert demo.chat(demo.api_key) == 200
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}providers")
    card = page.locator("[data-provider='demo']")
    card.get_by_label("Reason").fill("drill from the console")
    card.get_by_test_id("cut").click()

    # The confirmation step: nothing is cut yet.
    expect(page.get_by_role("heading", name="Cut off demo?")).to_be_visible()
    shot(page, "confirm-cut", "en")
    switch = page.get_by_role("link", name="한국어").get_attribute("href")
    assert switch == "/console/lang/ko?next=/console/providers"  # never back to a POST
    assert demo.chat(demo.api_key) == 200
    page.get_by_test_id("confirm-cut").click()
    expect(page).to_have_url(f"{demo.console_url}providers")
    cut_at = time.monotonic()
    refused = None
    while time.monotonic() - cut_at < 1.0:
        refused = demo.chat(demo.api_key)
        if refused == 503:
            break
        time.sleep(0.05)
    assert refused == 503, "still served 1 s after the cut"
    expect(page.get_by_role("status").first).to_contain_text("demo is cut off")
    expect(card.get_by_test_id("state")).to_have_text("Cut off")
    expect(card).to_contain_text("drill from the console")
    shot(page, "providers-cut", "en")

    listed = demo.provider()
    assert listed["cut"] is True and listed["reason"] == "drill from the console"
    assert listed["actor"] == f"{key_id(demo.admin_key)}@admin-api"  # as the admin API names it

    card.get_by_test_id("restore").click()
    expect(card.get_by_test_id("state")).to_have_text("Open: traffic flows")
    assert demo.chat(demo.api_key) == 200

    # Both are in the ledger exactly as the admin API records them (read by the CLI).
    tail = demo.cli("ledger", "tail", "-n", "50")["entries"]
    mine = [
        r["entry"]
        for r in tail
        if r["entry"]["kind"] == "admin-change"
        and r["entry"]["attrs"].get("actor") == f"{key_id(demo.admin_key)}@admin-api"
    ]
    by_action = {e["attrs"]["action"]: e for e in mine}
    assert by_action["provider-cut"]["attrs"]["reason"] == "drill from the console"
    assert by_action["provider-cut"]["attrs"]["actor_role"] == "admin"
    assert by_action["provider-cut"]["provider"] == "demo"
    assert "provider-restore" in by_action
    assert problems == []


def test_an_auditor_signs_in_sees_no_cut_button_and_a_forged_cut_is_refused(
    demo: Demo, context: BrowserContext
) -> None:
    auditor = demo.issue(Role.AUDITOR)
    page, _ = watched(context)
    sign_in(page, demo, auditor)
    expect(page).to_have_url(demo.console_url)
    expect(page.get_by_text("signed in as an auditor")).to_be_visible()
    page.goto(f"{demo.console_url}providers")
    expect(page.locator("[data-provider='demo']")).to_be_visible()
    assert page.get_by_test_id("cut").count() == 0
    assert page.get_by_test_id("restore").count() == 0
    page.goto(f"{demo.console_url}tenants")
    assert page.get_by_test_id("issue").count() == 0
    assert page.get_by_test_id("revoke").count() == 0

    # A forged POST with the auditor's own session and a valid CSRF token: still 403.
    client, token = console_session(demo, auditor)
    try:
        for path in ("providers/demo/cut", "providers/demo/restore"):
            data = {"csrf": token, "reason": "forged", "confirm": "yes"}
            forged = client.post(f"/console/{path}", data=data)
            assert forged.status_code == 403, (path, forged.text)
            assert "auditor" in forged.text
        issued = client.post("/console/tenants/demo/keys", data={"csrf": token, "role": "admin"})
        assert issued.status_code == 403
    finally:
        client.close()
    assert demo.provider()["cut"] is False
    assert demo.chat(demo.api_key) == 200


def test_a_post_without_the_csrf_token_is_refused(demo: Demo) -> None:
    client, token = console_session(demo, demo.admin_key)
    try:
        for data in (
            {"reason": "csrf", "confirm": "yes"},
            {"reason": "csrf", "confirm": "yes", "csrf": ""},
            {"reason": "csrf", "confirm": "yes", "csrf": token[:-2] + "xx"},
        ):
            refused = client.post("/console/providers/demo/cut", data=data)
            assert refused.status_code == 403, refused.text
            assert "did not come from this console" in refused.text
        refused = client.post("/console/tenants/demo/keys", data={"role": "admin"})
        assert refused.status_code == 403
        assert client.post("/console/logout").status_code == 403  # still signed in after it
        data = {"api_key": demo.admin_key}  # the login form needs its token too
        assert client.post("/console/login", data=data).status_code == 403
        assert client.get("/console/providers").status_code == 200
    finally:
        client.close()
    assert demo.provider()["cut"] is False


# -- tenants and keys --------------------------------------------------------------------------


def test_an_issued_key_is_shown_once_copied_works_and_is_revoked_from_the_console(
    demo: Demo, browser: Browser
) -> None:
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="en-US",
        permissions=["clipboard-read", "clipboard-write"],
    )
    try:
        page, problems = watched(context)
        sign_in(page, demo, demo.admin_key)
        page.goto(f"{demo.console_url}tenants")
        form = page.locator("[data-tenant='demo'] form.issue")
        form.locator("select[name=role]").select_option("user")
        form.locator("input[name=user]").fill("console-test")
        form.get_by_test_id("issue").click()
        issued = page.get_by_test_id("issued-key").inner_text().strip()
        assert re.fullmatch(r"sk-sumun-[a-z0-9]+-[a-z0-9]+", issued)
        shot(page, "key-issued", "en")
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == issued

        assert demo.chat(issued) == 200  # the new key works with the openai SDK
        page.reload()  # shown once: a reload re-posts nothing and shows no key
        page.goto(f"{demo.console_url}tenants")
        assert issued not in page.content()

        row = page.locator(f"tr[data-key='{key_id(issued)}']")
        row.get_by_test_id("revoke").click()
        expect(page.get_by_role("status").first).to_contain_text(f"{key_id(issued)} is revoked")
        expect(page.locator(f"tr[data-key='{key_id(issued)}']")).to_contain_text("revoked")
        deadline = time.monotonic() + 1.0
        while demo.chat(issued) != 401 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert demo.chat(issued) == 401
        assert problems == []
    finally:
        context.close()


# -- Korean ------------------------------------------------------------------------------------


def test_the_console_speaks_korean_by_the_browser_or_by_choice(
    demo: Demo, browser: Browser, context: BrowserContext
) -> None:
    # A Korean browser gets Korean from the first page.
    korean = browser.new_context(viewport=VIEWPORT, locale="ko-KR")  # type: ignore[arg-type]
    try:
        page, problems = watched(korean)
        page.goto(f"{demo.console_url}login")
        expect(page.get_by_label("API 키")).to_be_visible()
        expect(page.get_by_role("heading", name="로그인")).to_be_visible()
        shot(page, "login", "ko")
        sign_in(page, demo, demo.admin_key, label="API 키")
        expect(page.get_by_role("heading", name="개요")).to_be_visible()
        page.get_by_role("link", name="AI 제공자").first.click()
        card = page.locator("[data-provider='demo']")
        expect(card.get_by_test_id("state")).to_have_text("연결됨: 트래픽 허용")
        expect(card).to_contain_text("허용 등급")
        expect(card.get_by_test_id("cut")).to_have_text("차단…")
        shot(page, "providers", "ko")
        card.get_by_label("사유").fill("점검")
        card.get_by_test_id("cut").click()
        expect(page.get_by_role("heading", name="demo 차단")).to_be_visible()
        shot(page, "confirm-cut", "ko")
        page.get_by_role("link", name="취소").click()
        expect(card.get_by_test_id("state")).to_have_text("연결됨: 트래픽 허용")  # cancelled
        assert demo.provider()["cut"] is False

        card.get_by_label("사유").fill("계약 검토 중 일시 차단")
        card.get_by_test_id("cut").click()
        page.get_by_test_id("confirm-cut").click()
        expect(card.get_by_test_id("state")).to_have_text("차단됨")
        expect(page.get_by_role("status").first).to_contain_text("demo 차단됨")
        shot(page, "providers-cut", "ko")
        card.get_by_test_id("restore").click()
        expect(card.get_by_test_id("state")).to_have_text("연결됨: 트래픽 허용")

        page.get_by_role("link", name="테넌트와 키").click()
        expect(page.get_by_role("heading", name="테넌트와 키")).to_be_visible()
        shot(page, "tenants", "ko")
        page.locator("[data-tenant='demo'] form.issue").get_by_test_id("issue").click()
        expect(page.get_by_role("heading", name="demo의 새 API 키")).to_be_visible()
        expect(page.get_by_role("button", name="복사")).to_be_visible()
        shot(page, "key-issued", "ko")
        issued = page.get_by_test_id("issued-key").inner_text().strip()
        page.get_by_role("link", name="테넌트와 키로 돌아가기").click()
        page.locator(f"tr[data-key='{key_id(issued)}']").get_by_test_id("revoke").click()
        expect(page.get_by_role("status").first).to_contain_text("폐기됨")
        assert problems == []
    finally:
        korean.close()
    assert demo.provider()["cut"] is False

    # An English browser switches by the language link, and the choice is remembered.
    page, _ = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}providers")
    expect(page.get_by_role("heading", name="Providers")).to_be_visible()
    page.get_by_role("link", name="한국어").click()
    expect(page).to_have_url(f"{demo.console_url}providers")
    expect(page.get_by_role("heading", name="AI 제공자")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "ko"
    page.goto(demo.console_url)
    expect(page.get_by_role("heading", name="개요")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


# -- TLS ---------------------------------------------------------------------------------------


def test_under_tls_the_session_cookie_is_secure(tmp_path: Path) -> None:
    from tests.admin.test_admin_http import _self_signed  # the admin API tests' certificate

    home = tmp_path / "home"
    home.mkdir()
    cert, key = _self_signed(tmp_path)
    (home / "sumun.yaml").write_text(
        f"admin_api: {{tls_cert_file: {cert}, tls_key_file: {key}, console_idle_minutes: 5}}\n",
        encoding="utf-8",
    )
    proc, ready = start_demo(home)
    try:
        assert ready["console_url"].startswith("https://127.0.0.1:")
        verify = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=ready["admin_url"], verify=verify, timeout=20) as client:
            login = client.get("/console/login")
            assert "secure" in login.headers["set-cookie"].lower()
            token = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert token is not None
            data = {"api_key": ready["admin_key"], "csrf": token.group(1)}
            signed_in = client.post("/console/login", data=data)
            assert signed_in.status_code == 303
            cookie = signed_in.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
            assert client.get("/console/providers").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
