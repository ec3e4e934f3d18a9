"""The ledger explorer in Debian's Chromium: entries paged and searched, and an entry's
inclusion proof checked by the browser itself (static/proof.js, WebCrypto) — then the proof
the server serves is tampered with in flight (Playwright's `page.route`) and the browser must
say that it fails, and why.

The demo process, the browser and the screenshots are tests/console/support.py's.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from playwright.sync_api import BrowserContext, Page, Route, expect

from sumun.ledger.note import Checkpoint, EcdsaP256Signer, Ed25519Signer, sign_note
from sumun.store.model import Role
from tests.console.support import Demo, console_session, shot, sign_in, watched

pytestmark = pytest.mark.slow

VERIFIED = "Verified in your browser"
FAILED = "Verification failed"


def _requests(demo: Demo, n: int) -> list[int]:
    """`n` chat completions through the gateway; the ledger seq of each admission."""
    seqs = []
    for _ in range(n):
        reply = httpx.post(
            f"{demo.base_url}/v1/chat/completions",
            json={"model": "demo", "messages": [{"role": "user", "content": "원장 확인"}]},
            headers={"authorization": f"Bearer {demo.api_key}"},
            timeout=20,
        )
        assert reply.status_code == 200, reply.text
        seqs.append(int(reply.headers["x-sumun-ledger-seq"]))
    return seqs


def _verdict(page: Page) -> Any:
    return page.get_by_test_id("verdict")


def _tampered(change: Callable[[dict[str, Any]], None]) -> Callable[[Route], None]:
    """A route handler serving the real proof.json with `change` applied to it."""

    def handle(route: Route) -> None:
        served = route.fetch()
        body = served.json()
        change(body)
        route.fulfill(response=served, body=json.dumps(body))

    return handle


def _flip_hex(text: str) -> str:
    return format(int(text[:2], 16) ^ 0x01, "02x") + text[2:]


def _flip_root(proof: dict[str, Any]) -> None:
    """Change the checkpoint's root line (its signature then covers other text)."""
    origin, size, root, rest = proof["checkpoint"].split("\n", 3)
    raw = bytearray(base64.b64decode(root))
    raw[0] ^= 0x01
    proof["checkpoint"] = "\n".join([origin, size, base64.b64encode(raw).decode(), rest])


def _flip_signature(proof: dict[str, Any]) -> None:
    body, _, signatures = proof["checkpoint"].rpartition("\n\n")
    first, _, others = signatures.partition("\n")
    dash_name, _, blob = first.rpartition(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01  # in the signature, after the 4-byte key id
    line = f"{dash_name} {base64.b64encode(raw).decode()}"
    proof["checkpoint"] = f"{body}\n\n{line}\n{others}"


# -- the list, search, and a verified entry ----------------------------------------------------


def test_an_entry_opened_from_the_list_verifies_in_the_browser(
    demo: Demo, context: BrowserContext
) -> None:
    seqs = _requests(demo, 3)
    page, problems = watched(context)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    sign_in(page, demo, demo.admin_key)
    page.get_by_role("link", name="Ledger", exact=True).click()
    expect(page.get_by_role("heading", name="Ledger")).to_be_visible()
    rows = page.locator("table.ledger tbody tr")
    first = int(rows.first.get_attribute("data-seq") or -1)
    assert first >= max(seqs)  # newest first
    expect(page.locator(f"tr[data-seq='{seqs[-1]}']")).to_contain_text("request-admitted")
    shot(page, "ledger", "en")

    page.locator(f"tr[data-seq='{seqs[-1]}']").get_by_test_id("entry-link").click()
    expect(page).to_have_url(f"{demo.console_url}ledger/{seqs[-1]}")
    expect(page.get_by_role("heading", name=f"Ledger entry {seqs[-1]}")).to_be_visible()
    expect(page.get_by_test_id("entry")).to_contain_text("not shown here")  # metadata only
    assert "원장 확인" not in page.content()
    expect(_verdict(page)).to_contain_text(VERIFIED)
    expect(_verdict(page)).to_have_attribute("data-state", "ok")
    vkeys = demo.cli("ledger", "vkeys")["vkeys"]
    used = page.get_by_test_id("key-used").inner_text()
    assert used.strip() in vkeys  # the key it shows is the ledger's, name+hash first
    expect(page.get_by_text("Compare it with the ledger's verifier key")).to_be_visible()
    page.get_by_test_id("proof").scroll_into_view_if_needed()  # the verdict and the key
    shot(page, "ledger-entry", "en")

    # Everything came from the console's own origin; nothing was inline or external.
    assert any(u.endswith(f"/console/ledger/{seqs[-1]}/proof.json") for u in requested)
    assert any(u.endswith("/console/ledger/vkeys.json") for u in requested)
    assert all(u.startswith(demo.admin_url + "/console/") for u in requested)
    assert problems == []


def test_the_list_pages_back_and_searches_by_seq_and_request_id(
    demo: Demo, context: BrowserContext
) -> None:
    seqs = _requests(demo, 2)
    tail = demo.cli("ledger", "tail", "-n", "200")["entries"]
    [admitted] = [r["entry"] for r in tail if r["entry"]["seq"] == seqs[0]]
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}ledger?before=3")
    assert page.locator("table.ledger tbody tr").count() == 3
    expect(page.locator("tr[data-seq='0']")).to_be_visible()
    assert page.get_by_test_id("older").count() == 0  # nothing older than entry 0

    page.goto(f"{demo.console_url}ledger")
    assert page.locator("table.ledger tbody tr").count() <= 50
    page.get_by_label("Sequence number or request id").fill(str(seqs[0]))
    page.get_by_test_id("search").click()
    expect(page).to_have_url(f"{demo.console_url}ledger/{seqs[0]}")

    page.goto(f"{demo.console_url}ledger")
    page.get_by_label("Sequence number or request id").fill(admitted["request_id"])
    page.get_by_test_id("search").click()
    expect(page.get_by_test_id("searched")).to_contain_text(admitted["request_id"])
    found = page.locator("table.ledger tbody tr")
    expect(found.first).to_contain_text(admitted["request_id"])
    assert seqs[0] in [
        int(found.nth(i).get_attribute("data-seq") or -1) for i in range(found.count())
    ]

    page.goto(f"{demo.console_url}ledger?before=x")
    expect(page.get_by_role("alert")).to_contain_text("before must be a whole number")
    page.goto(f"{demo.console_url}ledger?q={'r' * 129}")
    expect(page.get_by_role("alert")).to_contain_text("at most 128 characters")
    assert page.goto(f"{demo.console_url}ledger/999999999") is not None
    expect(page.get_by_role("alert")).to_contain_text("no ledger entry 999999999")
    assert problems == [] or all("404" in p or "400" in p for p in problems)


def test_the_list_filters_by_tenant_and_kind(demo: Demo, context: BrowserContext) -> None:
    _requests(demo, 2)
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}ledger")
    page.get_by_label("Kind").select_option("request-completed")
    page.get_by_label("Tenant").fill("demo")
    page.get_by_test_id("search").click()
    expect(page.get_by_test_id("searched")).to_contain_text("Kind: request-completed")
    rows = page.locator("table.ledger tbody tr")
    expect(rows.first).to_be_visible()
    kinds = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())}
    tenants = {rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())}
    assert kinds == {"request-completed"} and tenants == {"demo"}

    page.goto(f"{demo.console_url}ledger?tenant=nobody-here")
    expect(page.locator("table.ledger")).to_have_count(0)  # no match: no table
    page.goto(f"{demo.console_url}ledger?kind=made-up")
    expect(page.get_by_role("alert")).to_contain_text("not one of the ledger's entry kinds")
    assert problems == [] or all("400" in p for p in problems)


def test_the_browser_check_holds_for_every_entry_of_the_tree(
    demo: Demo, context: BrowserContext
) -> None:
    """proof.js's own functions, run in the page on every entry's proof: every shape of audit
    path (left and right siblings, the last leaf of an unbalanced tree) verifies, and each one
    with a flipped bit does not."""
    _requests(demo, 3)
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.goto(f"{demo.console_url}ledger/0")
    expect(_verdict(page)).to_have_attribute("data-state", "ok")
    size = int(demo.cli("ledger", "tail", "-n", "1")["entries"][-1]["entry"]["seq"]) + 1
    outcome = page.evaluate(
        """async (size) => {
            const vkeys = (await getJSON("/console/ledger/vkeys.json")).vkeys;
            const out = {ok: 0, bad: [], caught: 0, sizes: new Set()};
            for (let seq = 0; seq < size; seq++) {
                const proof = await getJSON(`/console/ledger/${seq}/proof.json`);
                out.sizes.add(proof.tree_size);
                try { await check(seq, proof, vkeys); out.ok++; }
                catch (exc) { out.bad.push([seq, exc.reason]); continue; }
                for (let i = 0; i < proof.proof.length; i++) {
                    const flipped = structuredClone(proof);
                    const h = flipped.proof[i];
                    flipped.proof[i] = (parseInt(h[63], 16) ^ 8).toString(16) + "";
                    flipped.proof[i] = h.slice(0, 63) + flipped.proof[i];
                    try { await check(seq, flipped, vkeys); out.bad.push([seq, "accepted"]); }
                    catch (exc) { if (exc.reason === "path") out.caught++; }
                }
            }
            return {ok: out.ok, bad: out.bad, caught: out.caught, sizes: [...out.sizes]};
        }""",
        size,
    )
    assert outcome["bad"] == [] and outcome["ok"] == size, outcome
    assert outcome["caught"] > size  # every flipped hash of every path was refused
    assert problems == []


# -- tampering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda p: p.update(proof=[_flip_hex(p["proof"][0]), *p["proof"][1:]]),
            "the proof does not lead to the signed root",
        ),
        (
            lambda p: p.update(
                leaf=base64.b64encode(
                    base64.b64decode(p["leaf"]).replace(b'"tenant":"demo"', b'"tenant":"dem0"')
                ).decode()
            ),
            "the proof does not lead to the signed root",
        ),
        (_flip_root, "signature by"),
        (_flip_signature, "signature by"),
        (lambda p: p.update(tree_size=p["tree_size"] + 1), "another tree size"),
        (lambda p: p.update(seq=p["seq"] - 1), "malformed"),
    ],
    ids=["proof-hash", "entry-bytes", "checkpoint-root", "signature", "tree-size", "seq"],
)
def test_a_tampered_proof_fails_in_the_browser(
    demo: Demo,
    context: BrowserContext,
    change: Callable[[dict[str, Any]], None],
    reason: str,
) -> None:
    seq = _requests(demo, 2)[0]  # not the newest: its audit path is never empty
    page, _ = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.route(re.compile(r".*/console/ledger/\d+/proof\.json$"), _tampered(change))
    page.goto(f"{demo.console_url}ledger/{seq}")
    expect(_verdict(page)).to_have_attribute("data-state", "failed")
    expect(_verdict(page)).to_contain_text(FAILED)
    expect(_verdict(page)).to_contain_text(reason)
    assert page.get_by_test_id("proof-facts").is_hidden()

    page.unroute(re.compile(r".*/console/ledger/\d+/proof\.json$"))
    page.reload()  # the same entry, served as it is: verified
    expect(_verdict(page)).to_have_attribute("data-state", "ok")


def test_a_key_substituted_by_the_server_is_caught_by_the_pasted_out_of_band_key(
    demo: Demo, context: BrowserContext
) -> None:
    """A lying server re-signs a forged checkpoint with its own key and serves that key: the
    browser verifies it (it was given that key) — but shows a key that differs from the real
    one, and with the real key pasted in, it fails."""
    seq = _requests(demo, 1)[0]
    real = demo.cli("ledger", "vkeys")["vkeys"]
    forger = Ed25519Signer(real[0].split("+")[0], ed25519.Ed25519PrivateKey.generate())

    def forge(proof: dict[str, Any]) -> None:
        text = proof["checkpoint"].rpartition("\n\n")[0] + "\n"
        proof["checkpoint"] = sign_note(text, [forger])

    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.route(re.compile(r".*/proof\.json$"), _tampered(forge))
    page.route(
        re.compile(r".*/vkeys\.json$"),
        lambda route: route.fulfill(json={"vkeys": [forger.vkey()]}),
    )
    page.goto(f"{demo.console_url}ledger/{seq}")
    expect(_verdict(page)).to_have_attribute("data-state", "ok")
    shown = page.get_by_test_id("key-used").inner_text().strip()
    assert shown == forger.vkey() and shown not in real  # the auditor's comparison catches it

    page.get_by_label("Verifier key obtained out of band").fill(real[0])
    page.get_by_test_id("recheck").click()
    expect(_verdict(page)).to_have_attribute("data-state", "failed")
    expect(_verdict(page)).to_contain_text("no signature by the verifier key")
    assert problems == []


def test_an_ecdsa_p256_signature_is_verified_too(demo: Demo, context: BrowserContext) -> None:
    """KCMVP deployments add an ECDSA P-256 signature (signed-note type 0x02): the browser
    checks it as well — here on the real proof, re-signed with both kinds of key."""
    seq = _requests(demo, 1)[0]
    ed = Ed25519Signer("test.example/log", ed25519.Ed25519PrivateKey.generate())
    p256 = EcdsaP256Signer("test.example/log", ec.generate_private_key(ec.SECP256R1()))

    def resign(proof: dict[str, Any]) -> None:
        body = Checkpoint.from_body(proof["checkpoint"].rpartition("\n\n")[0] + "\n")
        proof["checkpoint"] = sign_note(body.to_body(), [ed, p256])

    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    page.route(re.compile(r".*/proof\.json$"), _tampered(resign))
    page.route(
        re.compile(r".*/vkeys\.json$"),
        lambda route: route.fulfill(json={"vkeys": [p256.vkey()]}),
    )
    page.goto(f"{demo.console_url}ledger/{seq}")
    expect(_verdict(page)).to_have_attribute("data-state", "ok")
    assert page.get_by_test_id("key-used").inner_text().strip() == p256.vkey()
    # A forged ECDSA signature fails like an Ed25519 one.
    page.unroute(re.compile(r".*/proof\.json$"))
    page.route(re.compile(r".*/proof\.json$"), _tampered(lambda p: (resign(p), _flip_root(p))))
    page.reload()
    expect(_verdict(page)).to_contain_text("signature by test.example/log+")
    assert problems == []


# -- who may open it ---------------------------------------------------------------------------


def test_an_auditor_opens_the_explorer_and_verifies_and_a_stranger_gets_nothing(
    demo: Demo, context: BrowserContext
) -> None:
    seq = _requests(demo, 1)[0]
    auditor = demo.issue(Role.AUDITOR)
    page, problems = watched(context)
    sign_in(page, demo, auditor)
    page.get_by_role("link", name="Ledger", exact=True).click()
    expect(page.locator(f"tr[data-seq='{seq}']")).to_be_visible()
    page.goto(f"{demo.console_url}ledger/{seq}")
    expect(_verdict(page)).to_have_attribute("data-state", "ok")
    assert problems == []

    # Without a session: the pages redirect to the login, the JSON is 401.
    for path in ("ledger", f"ledger/{seq}", f"ledger/{seq}/proof.json", "ledger/vkeys.json"):
        answer = httpx.get(f"{demo.console_url}{path}", timeout=20)
        assert answer.status_code == 401, path
    client, _ = console_session(demo, auditor)
    try:
        proof = client.get(f"/console/ledger/{seq}/proof.json")
        assert proof.status_code == 200 and proof.headers["cache-control"] == "no-store"
        assert proof.json()["seq"] == seq
        assert client.get("/console/ledger/vkeys.json").json()["vkeys"]
    finally:
        client.close()


# -- Korean ------------------------------------------------------------------------------------


def test_the_explorer_in_korean(demo: Demo, browser: Any) -> None:
    seq = _requests(demo, 1)[0]
    korean = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ko-KR")
    try:
        page, problems = watched(korean)
        sign_in(page, demo, demo.admin_key, label="API 키")
        page.get_by_role("link", name="원장", exact=True).click()
        expect(page.get_by_role("heading", name="원장")).to_be_visible()
        expect(page.get_by_label("순번 또는 요청 ID")).to_be_visible()
        shot(page, "ledger", "ko")
        page.locator(f"tr[data-seq='{seq}']").get_by_test_id("entry-link").click()
        expect(page.get_by_role("heading", name=f"원장 항목 {seq}")).to_be_visible()
        expect(_verdict(page)).to_contain_text("브라우저에서 검증됨")
        expect(page.get_by_test_id("key-used")).to_be_visible()
        page.get_by_test_id("proof").scroll_into_view_if_needed()
        shot(page, "ledger-entry", "ko")
        page.route(
            re.compile(r".*/proof\.json$"),
            _tampered(lambda p: p.update(proof=[_flip_hex(h) for h in p["proof"]])),
        )
        page.reload()
        expect(_verdict(page)).to_contain_text("검증 실패: 증명이 서명된 루트로 이어지지 않습니다")
        assert problems == []
    finally:
        korean.close()
