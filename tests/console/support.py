"""What the console's browser tests share: a real `sumun demo` process, Debian's Chromium
driven by Playwright, signing in, screenshots for docs/console/, and a console session outside
the browser (to forge requests). The fixtures (`demo`, `browser`, `context`) are in conftest.py.

Chromium is Debian's (`scripts/ensure-system-deps` installs it); no browser is downloaded.
Without /usr/bin/chromium the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from sumun.store.model import Role
from tests.fixtures.demo import SUMUN, demo_env, start_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
VIEWPORT = {"width": 1280, "height": 800}
CHAT = [{"role": "user", "content": "안녕하세요"}]


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    home: Path
    base_url: str
    admin_url: str
    console_url: str
    api_key: str  # user role
    admin_key: str  # admin role of the operator tenant

    def api(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        """One admin API call (`path` below /admin/v1), with `key` as the bearer if given."""
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        return httpx.request(
            method, f"{self.admin_url}/admin/v1{path}", headers=headers, timeout=30, **kw
        )

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            [*SUMUN, *args, "--json"],
            capture_output=True,
            text=True,
            env=demo_env(self.home),
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def issue(self, role: Role) -> str:
        issued = self.cli("tenants", "keys", "issue", "--tenant", "demo", "--role", role.value)
        return str(issued["api_key"])

    def chat(self, key: str) -> int:
        """The gateway's status for one chat completion through the openai SDK."""
        client = openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=key, max_retries=0)
        try:
            client.chat.completions.create(model="demo", messages=CHAT)  # type: ignore[arg-type]
        except openai.APIStatusError as exc:
            return exc.status_code
        finally:
            client.close()
        return 200

    def provider(self) -> dict[str, Any]:
        listed = httpx.get(
            f"{self.admin_url}/admin/v1/providers",
            headers={"authorization": f"Bearer {self.admin_key}"},
            timeout=20,
        )
        return dict(listed.json()["providers"][0])


def key_id(key: str) -> str:
    return key.split("-")[2]  # sk-sumun-<key_id>-<secret>


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("console") / "home"
    proc, ready = start_demo(home)
    try:
        yield Demo(
            proc,
            home,
            ready["base_url"],
            ready["admin_url"],
            ready["console_url"],
            ready["api_key"],
            ready["admin_key"],
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run scripts/ensure-system-deps"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport=VIEWPORT, locale="en-US")  # type: ignore[arg-type]
    try:
        yield made
    finally:
        made.close()


def watched(context: BrowserContext) -> tuple[Page, list[str]]:
    """A page, and the problems the browser reports (CSP violations, script errors, requests
    that left the console's origin)."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return page, problems


def sign_in(page: Page, demo: Demo, key: str, *, label: str = "API key") -> None:
    page.goto(f"{demo.console_url}login")
    page.get_by_label(label).fill(key)
    page.locator("form[action='/console/login'] button[type=submit]").click()


def shot(page: Page, name: str, lang: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / f"{name}-{lang}.png"),
        full_page=False,
        mask=[page.locator(".secret")],  # an issued key never lands in the docs
        mask_color="#1b2430",
    )


def console_session(demo: Demo, key: str) -> tuple[httpx.Client, str]:
    """A signed-in console session outside the browser (to forge requests), and its token."""
    client = httpx.Client(base_url=demo.admin_url, timeout=20)
    login = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert token is not None
    signed_in = client.post("/console/login", data={"api_key": key, "csrf": token.group(1)})
    assert signed_in.status_code == 303, signed_in.text
    page = client.get("/console/providers")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    return client, token.group(1)
