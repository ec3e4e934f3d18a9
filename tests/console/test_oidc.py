"""Signing in to the console with OpenID Connect, against a real provider: panva/oidc-provider
(OpenID Certified) run by node from tests/oidc on loopback, and a real `sumun demo` whose
sumun.yaml configures it. People log in at the provider's own pages in Debian's Chromium.

The provider's issuer is `http://localhost:<port>` while the console is on `127.0.0.1`: two
different sites, so the browser comes back to the console cross-site, as it would from a real
identity provider (the console's session cookie is SameSite=Strict).

Without node or tests/oidc/node_modules (`scripts/ensure-oidc-provider`, run by `make test`)
the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from sumun.admin.console.oidc import OidcClient, OidcError
from sumun.admin.http.auth import Person
from sumun.config import OidcConfig
from sumun.store.model import Role
from tests.console.support import VIEWPORT, Demo, shot, watched
from tests.fixtures.demo import start_demo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc"
SECRET = "sumun-test-secret-7f1c"  # the test provider's client secret
IDP = "Test IdP"


@dataclass
class Setup:
    demo: Demo
    issuer: str
    callback: str


def _provider_installed() -> None:
    """tests/oidc/node_modules, installed by scripts/ensure-oidc-provider if need be."""
    if shutil.which("node") is not None:
        subprocess.run([ROOT / "scripts" / "ensure-oidc-provider"], check=False, timeout=300)
    if (
        shutil.which("node") is None
        or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir()
    ):
        message = "node or tests/oidc/node_modules is missing: run scripts/ensure-oidc-provider"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_provider(port: int, issuer: str, callback: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_ISSUER": issuer,
        "OIDC_REDIRECT_URI": callback,
        "OIDC_CLIENT_SECRET": SECRET,
    }
    proc = subprocess.Popen(
        ["node", str(PROVIDER_DIR / "server.mjs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(30)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("{"):
        proc.kill()
        raise AssertionError(f"the OIDC provider did not start: {line!r}")
    assert json.loads(line)["issuer"] == issuer
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    _provider_installed()
    base = tmp_path_factory.mktemp("oidc")
    home = base / "home"
    home.mkdir()
    (base / "client-secret").write_text(SECRET + "\n", encoding="utf-8")
    port = _free_port()
    issuer = f"http://localhost:{port}"
    (home / "sumun.yaml").write_text(
        f"""admin_api:
  oidc:
    issuer: {issuer}
    client_id: sumun-console
    client_secret_file: {base / "client-secret"}
    scopes: [openid, profile, sumun]
    role_claim: sumun_role
    roles: {{sumun-admins: admin, sumun-auditors: auditor}}
    tenant_claim: sumun_tenant
    display_name: {IDP}
""",
        encoding="utf-8",
    )
    proc, ready = start_demo(home)
    callback = f"{ready['admin_url']}/console/oidc/callback"
    demo = Demo(
        proc,
        home,
        ready["base_url"],
        ready["admin_url"],
        ready["console_url"],
        ready["api_key"],
        ready["admin_key"],
    )
    try:
        demo.cli("tenants", "create", "acme")
        provider = _start_provider(port, issuer, callback)
        try:
            yield Setup(demo, issuer, callback)
        finally:
            _stop(provider)
    finally:
        _stop(proc)


@pytest.fixture
def person(browser: Browser) -> Iterator[BrowserContext]:
    """A browser context of its own per person (the provider remembers who logged in)."""
    made = browser.new_context(viewport=VIEWPORT, locale="en-US")  # type: ignore[arg-type]
    # The provider's development login page imports a web font; the sandbox has no internet.
    made.route(
        "https://fonts.googleapis.com/**", lambda r: r.fulfill(body="", content_type="text/css")
    )
    try:
        yield made
    finally:
        made.close()


def log_in_at_provider(page: Page, setup: Setup, login: str) -> None:
    """From the console's login page through the provider's login and consent pages."""
    page.goto(f"{setup.demo.console_url}login")
    page.get_by_role("link", name=f"Sign in with {IDP}").click()
    expect(page).to_have_url(re.compile("^" + re.escape(setup.issuer)))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # consent, once per person


def _ledger_entries(demo: Demo, actor: str) -> dict[str, dict[str, object]]:
    tail = demo.cli("ledger", "tail", "-n", "50")["entries"]
    return {
        r["entry"]["attrs"]["action"]: r["entry"]
        for r in tail
        if r["entry"]["kind"] == "admin-change" and r["entry"]["attrs"].get("actor") == actor
    }


def test_the_login_page_offers_the_provider_next_to_the_api_key(
    setup: Setup, browser: Browser
) -> None:
    for locale, lang, label, button in (
        ("en-US", "en", "API key", f"Sign in with {IDP}"),
        ("ko-KR", "ko", "API 키", f"{IDP} 계정으로 로그인"),
    ):
        made = browser.new_context(viewport=VIEWPORT, locale=locale)  # type: ignore[arg-type]
        try:
            page, problems = watched(made)
            page.goto(f"{setup.demo.console_url}login")
            expect(page.get_by_label(label)).to_be_visible()
            expect(page.get_by_role("link", name=button)).to_have_attribute(
                "href", "/console/oidc/start"
            )
            shot(page, "login-oidc", lang)
            assert problems == []
        finally:
            made.close()


def test_an_admin_person_signs_in_and_the_ledger_names_them(
    setup: Setup, person: BrowserContext
) -> None:
    demo = setup.demo
    page, problems = watched(person)
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/oidc/callback" in r.url else None)
    log_in_at_provider(page, setup, "alice")
    expect(page).to_have_url(demo.console_url)  # through the same-site step
    expect(page.get_by_test_id("who")).to_have_text("Alice Admin · admin · tenant demo")

    # A change made by the person is recorded under the person's stable name.
    page.goto(f"{demo.console_url}providers")
    card = page.locator("[data-provider='demo']")
    card.get_by_label("Reason").fill("drill by a person")
    card.get_by_test_id("cut").click()
    page.get_by_test_id("confirm-cut").click()
    expect(card.get_by_test_id("state")).to_have_text("Cut off")
    actor = f"oidc:alice@{urlsplit(setup.issuer).netloc}"
    assert demo.provider()["actor"] == actor
    card.get_by_test_id("restore").click()
    expect(card.get_by_test_id("state")).to_have_text("Open: traffic flows")
    mine = _ledger_entries(demo, actor)
    assert mine["provider-cut"]["attrs"]["reason"] == "drill by a person"  # type: ignore[index]
    assert mine["provider-cut"]["attrs"]["actor_role"] == "admin"  # type: ignore[index]
    assert "provider-restore" in mine
    assert problems == []  # no CSP violation, no script error on the way

    # The provider's answer, replayed: refused, and the person is still who they were.
    assert len(callbacks) == 1
    replay = page.goto(callbacks[0])
    assert replay is not None and replay.status == 400
    expect(page.get_by_role("alert")).to_contain_text("already used")

    # Signing out ends the session.
    page.goto(demo.console_url)
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{demo.console_url}providers")
    expect(page).to_have_url(re.compile("/console/login"))


def test_an_auditor_person_reads_but_cannot_cut(setup: Setup, person: BrowserContext) -> None:
    demo = setup.demo
    page, _ = watched(person)
    log_in_at_provider(page, setup, "bob")
    expect(page.get_by_test_id("who")).to_have_text("Bob Auditor · auditor · tenant demo")
    page.goto(f"{demo.console_url}providers")
    expect(page.locator("[data-provider='demo']")).to_be_visible()
    assert page.get_by_test_id("cut").count() == 0
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    forged = page.request.post(
        f"{demo.console_url}providers/demo/cut",
        form={"csrf": str(token), "reason": "forged", "confirm": "yes"},
    )
    assert forged.status == 403
    assert demo.provider()["cut"] is False


def test_a_tenant_admin_person_sees_only_that_tenant(setup: Setup, person: BrowserContext) -> None:
    page, _ = watched(person)
    log_in_at_provider(page, setup, "dave")  # sumun_role [staff, sumun-admins], tenant acme
    expect(page.get_by_test_id("who")).to_have_text("Dave Tenant · admin · tenant acme")
    page.goto(f"{setup.demo.console_url}tenants")
    expect(page.locator("main")).to_contain_text("acme")
    assert page.locator("[data-tenant='demo']").count() == 0


def test_a_person_with_no_mapped_role_is_refused(setup: Setup, person: BrowserContext) -> None:
    page, _ = watched(person)
    log_in_at_provider(page, setup, "carol")  # sumun_role "staff": not mapped
    expect(page.get_by_role("alert")).to_contain_text("has no role in this console")
    assert page.get_by_test_id("who").count() == 0
    page.goto(setup.demo.console_url)
    expect(page).to_have_url(re.compile("/console/login"))


def _answer_without_a_browser(
    setup: Setup, login: str, start: str | None = None
) -> tuple[httpx.Client, str]:
    """The same login driven with plain HTTP (the provider's forms, cookies kept): the client
    and the provider's answer — the callback URL — not yet followed."""
    client = httpx.Client(timeout=20)
    url = start or f"{setup.demo.console_url}oidc/start"
    form: dict[str, str] | None = None
    for _ in range(20):
        answer = client.post(url, data=form) if form is not None else client.get(url)
        form = None
        if answer.is_redirect:
            url = str(answer.url.join(answer.headers["location"]))
            if url.startswith(setup.callback):
                return client, url
            continue
        assert answer.status_code == 200, answer.text
        action = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
        assert action is not None, answer.text
        url = str(answer.url.join(action.group(1)))
        prompt = re.search(r'name="prompt" value="(\w+)"', answer.text)
        assert prompt is not None
        form = {"prompt": prompt.group(1), "login": login, "password": "any password"}
    raise AssertionError("the provider never answered the console")


def test_a_tampered_state_is_refused_and_spends_the_login(setup: Setup) -> None:
    client, answer = _answer_without_a_browser(setup, "alice")
    try:
        url = urlsplit(answer)
        query = dict(parse_qsl(url.query))
        tampered = url._replace(query=urlencode({**query, "state": query["state"][:-2] + "xx"}))
        refused = client.get(tampered.geturl())
        assert refused.status_code == 400
        assert "does not belong to this sign-in" in refused.text
        # The genuine answer after that: the login was spent by the attempt.
        again = client.get(answer)
        assert again.status_code == 400
        assert "already used" in again.text
        page = client.get(setup.demo.console_url)
        assert page.status_code in (303, 401)  # nobody is signed in
    finally:
        client.close()


def test_the_same_login_without_a_browser_signs_in_once(setup: Setup) -> None:
    client, answer = _answer_without_a_browser(setup, "alice")
    try:
        signed_in = client.get(answer)
        assert signed_in.status_code == 200
        assert 'http-equiv="refresh"' in signed_in.text
        assert "Alice Admin" in client.get(setup.demo.console_url).text
        replayed = httpx.get(answer, timeout=20)  # the answer stolen, played elsewhere
        assert replayed.status_code == 400
    finally:
        client.close()


def test_a_callback_with_no_login_under_way_is_refused(setup: Setup) -> None:
    answer = httpx.get(f"{setup.callback}?code=abc&state=def", timeout=20)
    assert answer.status_code == 400
    assert "was not started in this browser" in answer.text


def test_a_public_client_gets_es256_tokens_and_userinfo_claims(setup: Setup) -> None:
    """The relying party on its own, as the other client the provider knows: public (no
    secret), ID tokens signed ES256, the role and tenant read from userinfo."""
    conf = OidcConfig(
        issuer=setup.issuer,
        client_id="sumun-console-public",
        scopes=("openid", "profile", "sumun"),
        role_claim="sumun_role",
        roles={"sumun-admins": "admin", "sumun-auditors": "auditor"},
        tenant_claim="sumun_tenant",
        claims_source="userinfo",
    )
    relying = OidcClient(conf, "demo")
    start = relying.begin(setup.callback)
    client, answer = _answer_without_a_browser(setup, "bob", start.url)
    client.close()
    query = dict(parse_qsl(urlsplit(answer).query))
    assert query["state"] == start.state
    finish = {"redirect_uri": setup.callback, "verifier": start.verifier, "nonce": start.nonce}
    person = relying.finish(query["code"], **finish)
    assert person == Person(setup.issuer, "bob", "Bob Auditor", Role.AUDITOR, "demo")
    with pytest.raises(OidcError, match="refused the authorization code"):
        relying.finish(query["code"], **finish)  # a code is good once


def test_a_wrong_client_secret_is_refused_by_the_provider(setup: Setup) -> None:
    conf = OidcConfig(
        issuer=setup.issuer,
        client_id="sumun-console",
        client_secret_env="SECRET",
        scopes=("openid", "sumun"),
        role_claim="sumun_role",
        roles={"sumun-admins": "admin"},
    )
    relying = OidcClient(conf, "demo", environ={"SECRET": "not-the-secret"})
    start = relying.begin(setup.callback)
    client, answer = _answer_without_a_browser(setup, "alice", start.url)
    client.close()
    code = dict(parse_qsl(urlsplit(answer).query))["code"]
    with pytest.raises(OidcError, match="HTTP 401"):
        relying.finish(
            code, redirect_uri=setup.callback, verifier=start.verifier, nonce=start.nonce
        )
