"""The console's keys page in Debian's Chromium, against a real `sumun demo` (3-of-5 Shamir;
its shares are in `$SUMUN_HOME/demo-shares.txt`, demo only).

Changes are made by clicking, and observed from outside: the admin API's reads, the ledger,
and the gateway answering the `openai` SDK. The seal / unseal test runs last in the module and
leaves the demo unsealed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from sumun.store.model import Role
from tests.console.support import (
    Demo,
    console_session,
    key_id,
    shot,
    sign_in,
    watched,
)

pytestmark = pytest.mark.slow


def kek(demo: Demo, name: str) -> dict[str, Any]:
    listed = httpx.get(
        f"{demo.admin_url}/admin/v1/keys",
        headers={"authorization": f"Bearer {demo.admin_key}"},
        timeout=20,
    ).json()["keys"]
    return dict(next(k for k in listed if k["key_id"] == name))


def language(page: Page, demo: Demo, lang: str) -> None:
    page.goto(f"{demo.console_url}lang/{lang}?next=/console/keys")


def test_the_page_shows_versions_and_ages_and_rotates(demo: Demo, context: BrowserContext) -> None:
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.get_by_role("link", name="Keys", exact=True).click()
    expect(page.get_by_test_id("seal-state")).to_have_text("Unsealed")
    seal = page.get_by_test_id("seal")
    expect(seal).to_contain_text("3 of 5 custodians")
    expect(seal).to_contain_text("embedded")
    card = page.locator("[data-kek='demo']")
    expect(card.locator("tr[data-version='1']")).to_contain_text("primary")
    expect(card.locator("tr[data-version='1'] [data-testid='age']")).to_have_text("0 days")
    expect(page.locator("[data-kek='sumun-ledger']")).to_be_visible()  # operator: every key

    card.get_by_test_id("rotate").click()
    expect(page.get_by_role("status")).to_contain_text("demo rotated (ledger entry")
    card = page.locator("[data-kek='demo']")
    expect(card.locator("tr[data-version='2']")).to_contain_text("primary")
    expect(card.locator("tr[data-version='1']")).not_to_contain_text("primary")
    assert kek(demo, "demo")["primary"] == 2
    assert demo.chat(demo.api_key) == 200  # the gateway wraps under the new version
    shot(page, "keys", "en")

    language(page, demo, "ko")
    expect(page.get_by_test_id("seal-state")).to_have_text("봉인 해제됨")
    expect(page.locator("[data-kek='demo']").get_by_test_id("rotate")).to_have_text("키 교체")
    shot(page, "keys", "ko")
    assert problems == []


def test_destroy_needs_the_typed_key_id(demo: Demo, context: BrowserContext) -> None:
    demo.cli("keys", "create", "scratch", "--tenant", "demo")
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}keys")
    card = page.locator("[data-kek='scratch']")
    card.locator("summary").click()
    card.get_by_test_id("confirm").fill("scratc")
    card.get_by_test_id("destroy").click()
    expect(page.get_by_role("alert")).to_contain_text("type the key id again")
    assert kek(demo, "scratch")["state"] == "enabled"
    assert len(problems) == 1 and "400" in problems[0]  # the refusal page's own status
    problems.clear()

    page.goto(f"{demo.console_url}keys")
    card = page.locator("[data-kek='scratch']")
    card.locator("summary").click()
    card.get_by_test_id("confirm").fill("scratch")
    card.get_by_label("Grace period (days)").fill("3")
    card.get_by_test_id("destroy").click()
    expect(page.get_by_role("status")).to_contain_text("scratch is scheduled for destruction")
    card = page.locator("[data-kek='scratch']")
    expect(card.get_by_test_id("kek-state")).to_have_text("destruction pending")
    expect(card.get_by_test_id("destroy-after")).to_be_visible()
    found = kek(demo, "scratch")
    assert found["state"] == "pending-destruction"
    assert found["destroy_after"] == pytest.approx(found["created_at"] + 3 * 86400, abs=120)

    card.get_by_test_id("enable").click()  # "Cancel destruction"
    expect(page.locator("[data-kek='scratch']").get_by_test_id("kek-state")).to_have_text("enabled")
    assert problems == []


def test_an_auditor_sees_everything_no_buttons_and_a_forged_post_is_refused(
    demo: Demo, context: BrowserContext
) -> None:
    auditor = demo.issue(Role.AUDITOR)
    page, problems = watched(context)
    sign_in(page, demo, auditor)
    page.goto(f"{demo.console_url}keys")
    expect(page.locator("[data-kek='demo'] tr[data-version='1']")).to_be_visible()
    expect(page.get_by_test_id("seal")).to_contain_text("3 of 5 custodians")
    assert page.locator("main form").count() == 0  # no rotate, destroy, seal or unseal
    assert page.locator("main button").count() == 0
    assert problems == []

    client, token = console_session(demo, auditor)
    try:
        for path, extra in (
            ("keys/demo/rotate", {}),
            ("keys/demo/disable", {}),
            ("keys/demo/destroy", {"confirm": "demo"}),
            ("keys/seal", {"confirm": "yes"}),
            ("keys/unseal", {"share": "sumun-share-forged"}),
        ):
            forged = client.post(f"/console/{path}", data={"csrf": token, **extra})
            assert forged.status_code == 403, (path, forged.text)
            assert "auditor" in forged.text
    finally:
        client.close()
    assert kek(demo, "demo")["state"] == "enabled"
    assert demo.chat(demo.api_key) == 200


def test_seal_then_unseal_share_by_share_through_the_console(
    demo: Demo, context: BrowserContext
) -> None:
    shares = (demo.home / "demo-shares.txt").read_text().split()
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}keys")
    page.get_by_test_id("seal-button").click()
    expect(page.get_by_role("heading", name="Seal the key layer?")).to_be_visible()
    assert demo.chat(demo.api_key) == 200  # the confirmation sealed nothing
    page.get_by_test_id("confirm-seal").click()
    expect(page.get_by_test_id("seal-state")).to_have_text("Sealed")
    expect(page.get_by_test_id("progress")).to_have_text("0 of 3 shares")
    expect(page.get_by_test_id("unverified")).to_be_visible()
    assert demo.chat(demo.api_key) == 503

    field = page.get_by_label("Your custodian share")
    assert field.get_attribute("type") == "password"
    assert field.get_attribute("autocomplete") == "off"
    field.fill(shares[0][:-4] + "ZZZZ")  # mistyped
    page.get_by_test_id("unseal").click()
    expect(page.locator(".flash.error")).to_contain_text("share 1")
    expect(page.get_by_test_id("progress")).to_have_text("0 of 3 shares")

    for n, share in enumerate(shares[:2], start=1):
        page.get_by_label("Your custodian share").fill(share)
        page.get_by_test_id("unseal").click()
        expect(page.get_by_test_id("progress")).to_have_text(f"{n} of 3 shares")
        expect(page.get_by_label("Your custodian share")).to_have_value("")
        assert share not in page.content()  # never rendered back
    expect(page.get_by_role("status").last).to_contain_text("1 more needed")
    assert demo.chat(demo.api_key) == 503
    shot(page, "keys-sealed", "en")
    language(page, demo, "ko")
    expect(page.get_by_test_id("progress")).to_have_text("키 조각 3개 중 2개")
    shot(page, "keys-sealed", "ko")

    page.get_by_label("본인의 관리인 키 조각").fill(shares[2])
    page.get_by_test_id("unseal").click()
    expect(page.get_by_test_id("seal-state")).to_have_text("봉인 해제됨")
    expect(page.get_by_role("status").first).to_contain_text("봉인을 해제했습니다")
    assert demo.chat(demo.api_key) == 200
    actor = f"{key_id(demo.admin_key)}@admin-api"
    search = httpx.get(
        f"{demo.admin_url}/admin/v1/ledger/search?kind=key-event&count=50",
        headers={"authorization": f"Bearer {demo.admin_key}"},
        timeout=20,
    ).json()
    actions = [
        r["entry"]["attrs"]["action"]
        for r in search["entries"]
        if r["entry"]["attrs"]["actor"] == actor
    ]
    assert actions[-2:] == ["seal", "unseal"]
    assert problems == []
