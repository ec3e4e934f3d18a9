"""The tenants & keys page in Debian's Chromium, against a real `sumun demo` process: a tenant
and an app created from the console, a key for the app with a token budget, spent through the
gateway with the official `openai` SDK and seen as a meter on the page; limits changed; many
keys paged and searched; and what a tenant admin may not do.

The demo process, the browser and the screenshots are tests/console/support.py's.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.console.support import VIEWPORT, Demo, console_session, key_id, shot, sign_in, watched

pytestmark = pytest.mark.slow

PAGED = 105  # keys in one tenant: three pages of 50


def _api(demo: Demo, method: str, path: str, key: str, **kw: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{demo.admin_url}/admin/v1{path}",
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
        **kw,
    )


def _spend(demo: Demo, key: str) -> int:
    """One chat completion through the gateway with the openai SDK; its tokens."""
    client = openai.OpenAI(base_url=f"{demo.base_url}/v1", api_key=key, max_retries=0)
    try:
        answer = client.chat.completions.create(
            model="demo",
            messages=[{"role": "user", "content": "이번 달 창구 대기 현황을 요약해 주세요"}],
            max_tokens=32,
        )
    finally:
        client.close()
    assert answer.usage is not None
    return answer.usage.total_tokens


def _create_tenant(page: Page, name: str, budget: str) -> None:
    form = page.get_by_test_id("tenant-new")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    form.get_by_label("Name").fill(name)
    form.get_by_label("Token budget").fill(budget)


def test_a_tenant_an_app_and_a_budgeted_key_made_in_the_console_and_its_usage_seen(
    demo: Demo, context: BrowserContext
) -> None:
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}tenants")
    _create_tenant(page, "hanbit-bank", "2000")
    shot(page, "tenant-new", "en")
    page.get_by_test_id("create-tenant").click()
    expect(page.get_by_role("status").first).to_contain_text("Tenant hanbit-bank is created")
    card = page.locator("[data-tenant='hanbit-bank']")
    expect(card.get_by_test_id("tenant-limits")).to_contain_text("2,000")
    assert page.locator("[data-tenant='demo']").count() == 0  # the new tenant's own view

    card.locator("form.app-new input[name=name]").fill("teller")
    card.get_by_test_id("create-app").click()
    expect(page.get_by_role("status").first).to_contain_text("App teller is created")
    expect(card.get_by_test_id("apps")).to_contain_text("teller")

    issue = card.locator("form.issue")
    issue.locator("select[name=app]").select_option("teller")
    issue.locator("input[name=user]").fill("teller-01")
    issue.locator("input[name=token_budget]").fill("400")
    issue.get_by_test_id("issue").click()
    expect(page.get_by_test_id("issued-budget")).to_have_text("400")
    issued = page.get_by_test_id("issued-key").inner_text().strip()
    spent = _spend(demo, issued) + _spend(demo, issued)

    page.get_by_role("link", name="Back to tenants & keys").click()
    row = page.locator(f"tr[data-key='{key_id(issued)}']")
    expect(row).to_contain_text("teller")
    expect(row.get_by_test_id("usage")).to_contain_text(f"{spent:,} of 400 tokens")
    assert row.get_by_test_id("meter").get_attribute("value") == str(spent)
    tenant_usage = card.get_by_test_id("tenant-limits").get_by_test_id("usage")
    expect(tenant_usage).to_contain_text(f"{spent:,} of 2,000 tokens")
    shot(page, "tenant-usage", "en")

    # The key's budget lowered to what it used: the gateway refuses it (429) within a second.
    row.locator("details.limits-edit summary").click()
    form = row.get_by_test_id("key-limits-form")
    form.locator("input[name=token_budget]").fill(str(spent))
    form.get_by_role("button", name="Save limits").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"Limits of key {key_id(issued)} are changed"
    )
    deadline, status = time.monotonic() + 1.5, 200
    while time.monotonic() < deadline and status != 429:
        try:
            _spend(demo, issued)
        except openai.APIStatusError as exc:
            status = exc.status_code
    assert status == 429

    # The operator's change of the tenant's own limits, and both in the ledger under this key.
    card.locator(":scope > details.limits-edit > summary").click()
    tenant_form = card.get_by_test_id("tenant-limits-form")
    tenant_form.locator("input[name=rpm]").fill("600")
    tenant_form.get_by_role("button", name="Save limits").click()
    expect(page.get_by_role("status").first).to_contain_text("Limits of tenant hanbit-bank")
    expect(card.get_by_test_id("tenant-limits")).to_contain_text("600")
    found = _api(demo, "GET", "/ledger/search?kind=admin-change&count=50", demo.admin_key).json()
    actions = [r["entry"]["attrs"] for r in found["entries"]]
    mine = [a for a in actions if a["actor"] == f"{key_id(demo.admin_key)}@admin-api"]
    done = {a["action"] for a in mine if a.get("target_tenant") == "hanbit-bank"}
    assert {"tenant-create", "app-create", "key-issue", "key-limits", "tenant-limits"} <= done
    # The all-tenants view: one row a tenant, with its limits, usage and number of keys.
    page.goto(f"{demo.console_url}tenants")
    listed = page.locator("tr[data-row-tenant='hanbit-bank']")
    expect(listed).to_contain_text("2,000")
    expect(listed.get_by_test_id("usage")).to_contain_text(f"{spent:,} of 2,000 tokens")
    expect(listed.locator("td").last).to_have_text("1")
    assert problems == []


def test_many_keys_are_paged_and_searched_and_a_page_is_quick(
    demo: Demo, context: BrowserContext
) -> None:
    assert _api(demo, "POST", "/tenants", demo.admin_key, json={"name": "paged"}).is_success
    ids = []
    for n in range(PAGED):
        made = _api(
            demo, "POST", "/tenants/paged/api-keys", demo.admin_key, json={"user": f"clerk-{n:03d}"}
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["key"]["key_id"])

    client, _ = console_session(demo, demo.admin_key)
    try:
        timings = []
        for path in ("/console/tenants", "/console/tenants?tenant=paged"):
            for _ in range(3):
                started = time.perf_counter()
                answer = client.get(path)
                timings.append(time.perf_counter() - started)
                assert answer.status_code == 200
        assert max(timings) < 0.2, timings  # the whole answer, so the server's time is less
        whole = client.get("/console/tenants?tenant=paged").text
        assert len(re.findall(r"<tr data-key=", whole)) == 50
        for query, message in (("tenant=paged&after=NOT-A-KEY", "form.after"), ("q=x", "tenant")):
            refused = client.get(f"/console/tenants?{query}")
            assert refused.status_code == 400 and message in refused.text
        assert client.get("/console/tenants?tenant=nope").status_code == 404
    finally:
        client.close()

    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}tenants?tenant=paged")
    seen: list[str] = []
    for first, last in ((1, 50), (51, 100), (101, PAGED)):
        expect(page.get_by_test_id("keys-shown")).to_contain_text(f"Keys {first}–{last} of {PAGED}")
        seen += page.locator("tr[data-key]").evaluate_all("rows => rows.map(r => r.dataset.key)")
        if first == 51:
            page.get_by_test_id("next-keys").scroll_into_view_if_needed()
            shot(page, "tenant-keys-paged", "en")
        if last < PAGED:
            page.get_by_test_id("next-keys").click()
    assert seen == ids
    assert page.get_by_test_id("next-keys").count() == 0

    page.get_by_label("Key id or user").fill("clerk-042")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_test_id("keys-shown")).to_contain_text("Found 1 for “clerk-042”")
    assert page.locator("tr[data-key]").evaluate_all("r => r.map(x => x.dataset.key)") == [ids[42]]
    page.get_by_label("Key id or user").fill(ids[77][:7])
    page.get_by_role("button", name="Find").click()
    expect(page.locator(f"tr[data-key='{ids[77]}']")).to_be_visible()
    assert problems == []


def test_a_tenant_admin_makes_apps_but_no_tenants_and_cannot_raise_its_limits(
    demo: Demo, context: BrowserContext
) -> None:
    assert _api(demo, "POST", "/tenants", demo.admin_key, json={"name": "branch"}).is_success
    made = _api(demo, "POST", "/tenants/branch/api-keys", demo.admin_key, json={"role": "admin"})
    branch_admin = made.json()["api_key"]

    page, problems = watched(context)
    sign_in(page, demo, branch_admin)
    page.goto(f"{demo.console_url}tenants")
    assert page.get_by_test_id("tenant-new").count() == 0
    assert page.locator("[data-tenant]").evaluate_all("s => s.map(x => x.dataset.tenant)") == [
        "branch"
    ]
    card = page.locator("[data-tenant='branch']")
    expect(card).to_contain_text("set by the operator tenant's admins")
    assert card.get_by_test_id("tenant-limits-form").count() == 0
    card.locator("form.app-new input[name=name]").fill("loans")
    card.get_by_test_id("create-app").click()
    expect(page.get_by_role("status").first).to_contain_text("App loans is created in branch")

    client, token = console_session(demo, branch_admin)
    try:
        forged = client.post("/console/tenants", data={"csrf": token, "name": "rogue"})
        assert forged.status_code == 403 and "operator tenant" in forged.text
        raised = client.post(
            "/console/tenants/branch/limits", data={"csrf": token, "token_budget": "999999999"}
        )
        assert raised.status_code == 403
        other = client.post("/console/tenants/demo/apps", data={"csrf": token, "name": "x"})
        assert other.status_code == 404
        bad = client.post("/console/tenants/branch/apps", data={"csrf": token, "name": "Bad!"})
        assert bad.status_code == 400 and "form.name" in bad.text
    finally:
        client.close()
    names = [t["name"] for t in _api(demo, "GET", "/tenants", demo.admin_key).json()["tenants"]]
    assert "rogue" not in names
    assert _api(demo, "GET", "/tenants/branch", demo.admin_key).json()["token_budget"] is None
    assert problems == []


def test_the_page_in_korean_and_provider_health(demo: Demo, browser: Browser) -> None:
    korean = browser.new_context(viewport=VIEWPORT, locale="ko-KR")  # type: ignore[arg-type]
    try:
        page, problems = watched(korean)
        sign_in(page, demo, demo.admin_key, label="API 키")
        page.goto(f"{demo.console_url}providers")
        expect(page.locator("[data-provider='demo']").get_by_test_id("health")).to_contain_text(
            "정상: 요청 전달 중"
        )
        page.goto(f"{demo.console_url}tenants")
        form = page.get_by_test_id("tenant-new")
        form.locator("summary").click()
        form.get_by_label("이름").fill("nuri-hospital")
        form.get_by_label("토큰 예산").fill("2000000")
        shot(page, "tenant-new", "ko")
        page.get_by_test_id("create-tenant").click()
        expect(page.get_by_role("status").first).to_contain_text("nuri-hospital")
        card = page.locator("[data-tenant='nuri-hospital']")
        card.locator("form.issue input[name=token_budget]").fill("30000")
        card.get_by_test_id("issue").click()
        issued = page.get_by_test_id("issued-key").inner_text().strip()
        spent = _spend(demo, issued)
        page.get_by_role("link", name="테넌트와 키로 돌아가기").click()
        row = page.locator(f"tr[data-key='{key_id(issued)}']")
        expect(row.get_by_test_id("usage")).to_contain_text(f"30,000 토큰 중 {spent:,} 사용")
        shot(page, "tenant-usage", "ko")
        assert problems == []
    finally:
        korean.close()
    english = browser.new_context(viewport=VIEWPORT, locale="en-US")  # type: ignore[arg-type]
    try:
        page, _ = watched(english)
        sign_in(page, demo, demo.admin_key)
        page.goto(f"{demo.console_url}providers")
        health = page.locator("[data-provider='demo']").get_by_test_id("health")
        expect(health).to_contain_text("Healthy: requests go through")
    finally:
        english.close()
