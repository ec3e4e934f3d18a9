"""The ledger's consistency proofs, checkpoint history and payload reads, key paging and limits,
through the admin API of a real `sumun demo` process.

Proofs are checked here with the repo's own verifier functions (`sumun.ledger.merkle`,
`sumun.ledger.note`) against checkpoints whose signatures this test verifies itself with the
keys the CLI prints — the server's own conclusion is never taken.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from sumun.ledger import merkle
from sumun.ledger.note import Verifier, verify_checkpoint
from sumun.store.model import Role
from tests.admin.test_admin_http import CANARY, Demo, _stop, key_id
from tests.fixtures.demo import start_demo

pytestmark = pytest.mark.slow

PROMPT = "원장 열람 시험: 오늘 회의 안건을 요약해 주세요 (ledger-more)"
REASON = "민원 2026-0412 조사: 고객 요청 원문 확인"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("ledger-more") / "home"
    proc, ready = start_demo(home)
    try:
        yield Demo(
            proc, home, ready["base_url"], ready["admin_url"], ready["api_key"], ready["admin_key"]
        )
    finally:
        _stop(proc)


def _verifiers(demo: Demo) -> list[Verifier]:
    return [Verifier.from_vkey(v) for v in demo.cli("ledger", "vkeys")["vkeys"]]


def _sign_latest(demo: Demo) -> int:
    """Have the ledger sign a checkpoint of its current tree (an inclusion proof of the newest
    entry needs one); its size."""
    size = demo.api("GET", "/status", demo.admin_key).json()["ledger"]["size"]
    proof = demo.api("GET", f"/ledger/entries/{size - 1}/proof", demo.admin_key)
    assert proof.status_code == 200, proof.text
    return int(proof.json()["tree_size"])


def _chat(demo: Demo, key: str, text: str, **kw: Any) -> openai.types.chat.ChatCompletion:
    client = openai.OpenAI(base_url=f"{demo.base_url}/v1", api_key=key, max_retries=0)
    try:
        return client.chat.completions.create(
            model="demo",
            messages=[{"role": "user", "content": text}],
            **kw,
        )
    finally:
        client.close()


# -- consistency and checkpoints ---------------------------------------------------------------


def test_a_consistency_proof_between_two_checkpoints_verifies_independently(demo: Demo) -> None:
    first = _sign_latest(demo)
    for n in range(3):  # the tree grows: admin changes are entries too
        made = demo.api("POST", "/tenants", demo.admin_key, json={"name": f"grow-{n}"})
        assert made.status_code == 201, made.text
    second = _sign_latest(demo)
    assert second > first

    listed = demo.api("GET", "/ledger/checkpoints?count=50", demo.admin_key)
    assert listed.status_code == 200, listed.text
    assert listed.headers["cache-control"] == "no-store"
    rows = listed.json()["checkpoints"]
    sizes = [r["size"] for r in rows]
    assert sizes == sorted(sizes, reverse=True) and {first, second} <= set(sizes)
    verifiers = _verifiers(demo)
    by_size = {}
    for row in rows:  # every listed checkpoint is signed, and says what its note says
        cp = verify_checkpoint(row["note"], verifiers)
        assert (cp.size, cp.root.hex()) == (row["size"], row["root"])
        by_size[cp.size] = cp

    answer = demo.api("GET", f"/ledger/consistency?first={first}&second={second}", demo.admin_key)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["first"], body["second"]) == (first, second)
    # The roots come from the two signed checkpoints, not from the server's answer.
    old, new = by_size[first], by_size[second]
    assert verify_checkpoint(body["checkpoint"], verifiers) == new
    proof = [bytes.fromhex(h) for h in body["proof"]]
    merkle.verify_consistency(first, second, old.root, new.root, proof)
    # A flipped bit, or a forked old root, is caught by the same verifier.
    bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    with pytest.raises(merkle.VerificationError):
        merkle.verify_consistency(first, second, old.root, new.root, bad)
    with pytest.raises(merkle.VerificationError):
        merkle.verify_consistency(first, second, bytes(32), new.root, proof)

    # Defaults: the latest checkpoint and the one before it.
    latest = demo.api("GET", "/ledger/consistency", demo.admin_key).json()
    assert latest["second"] == sizes[0] and latest["first"] == sizes[1]

    # Paging back through the history.
    page = demo.api("GET", "/ledger/checkpoints?count=1", demo.admin_key).json()
    assert [r["size"] for r in page["checkpoints"]] == sizes[:1]
    older = demo.api(
        "GET", f"/ledger/checkpoints?count=1&before={page['next_before']}", demo.admin_key
    )
    assert [r["size"] for r in older.json()["checkpoints"]] == sizes[1:2]

    for query, status, message in (
        (f"first={second}&second={first}", 400, "query.first"),
        (f"second={second + 1_000_000}", 404, "no signed checkpoint"),
        ("first=-1", 400, "query.first"),
    ):
        refused = demo.api("GET", f"/ledger/consistency?{query}", demo.admin_key)
        assert refused.status_code == status, (query, refused.text)
        assert message in refused.json()["error"]["message"]


# -- payload reads ---------------------------------------------------------------------------


def _admitted_seq(demo: Demo, request_id: str) -> int:
    found = demo.api(
        "GET", f"/ledger/search?request_id={request_id}&kind=request-admitted", demo.admin_key
    ).json()["entries"]
    assert found, request_id
    return int(found[0]["seq"])


def _payload_reads(demo: Demo) -> list[dict[str, Any]]:
    found = demo.api("GET", "/ledger/search?kind=admin-change&count=1000", demo.admin_key).json()
    return [r["entry"] for r in found["entries"] if r["entry"]["attrs"]["action"] == "payload-read"]


def test_an_auditor_reads_a_payload_for_a_reason_and_the_read_is_recorded_first(
    demo: Demo,
) -> None:
    with httpx.Client() as raw:  # the request id comes back in a header
        sent = raw.post(
            f"{demo.base_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {demo.api_key}"},
            json={"model": "demo", "messages": [{"role": "user", "content": PROMPT}]},
            timeout=20,
        )
    assert sent.status_code == 200, sent.text
    request_id = sent.headers["x-sumun-request-id"]
    seq = _admitted_seq(demo, request_id)
    auditor = demo.issue("demo", Role.AUDITOR)
    path = f"/ledger/entries/{seq}/payload"

    # Refusals first: none of them decrypts or records anything.
    before = len(_payload_reads(demo))
    admin = demo.api("POST", path, demo.admin_key, json={"reason": REASON})
    assert admin.status_code == 403 and "read-payload" in admin.json()["error"]["message"]
    for body, message in (
        ({}, "body.reason"),
        ({"reason": "short"}, "10-500"),
        ({"reason": "   \n\t  "}, "10-500"),
        ({"reason": "x" * 501}, "10-500"),
        ({"reason": REASON, CANARY: 1}, "unknown field"),
    ):
        refused = demo.api("POST", path, auditor, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert message in refused.json()["error"]["message"]
        assert CANARY not in refused.text and PROMPT not in refused.text
    size = demo.api("GET", "/status", demo.admin_key).json()["ledger"]["size"]
    missing = demo.api(
        "POST", f"/ledger/entries/{size + 100}/payload", auditor, json={"reason": REASON}
    )
    assert missing.status_code == 404
    other = demo.api("POST", "/tenants", demo.admin_key, json={"name": "other-bank"})
    meta_only = other.json()["ledger_seq"]  # an admin change: metadata only
    assert (
        demo.api("GET", f"/ledger/entries/{meta_only}", auditor).json()["payload_state"] == "none"
    )
    refused = demo.api(
        "POST", f"/ledger/entries/{meta_only}/payload", auditor, json={"reason": REASON}
    )
    assert refused.status_code == 409 and "no payload" in refused.json()["error"]["message"]
    assert len(_payload_reads(demo)) == before

    # A tenant's own auditor of another tenant sees the entry as missing.
    stranger = demo.issue("other-bank", Role.AUDITOR)
    hidden = demo.api("POST", path, stranger, json={"reason": REASON})
    assert hidden.status_code == 404 and PROMPT not in hidden.text

    # The read: recorded (strict) and then decrypted; never cached.
    read = demo.api("POST", path, auditor, json={"reason": "  " + REASON.replace(" ", "\n", 1)})
    assert read.status_code == 200, read.text
    assert read.headers["cache-control"] == "no-store"
    got = read.json()
    assert got["seq"] == seq and got["reason"] == REASON
    assert PROMPT in got["text"]
    assert base64.b64decode(got["base64"]).decode() == got["text"]
    assert json.loads(got["text"])["messages"][0]["content"] == PROMPT
    assert got["ledger_seq"] < _sign_latest(demo)

    entry = demo.api("GET", f"/ledger/entries/{got['ledger_seq']}", demo.admin_key).json()["entry"]
    assert entry["kind"] == "admin-change"
    assert entry["attrs"]["action"] == "payload-read"
    assert entry["attrs"]["seq"] == str(seq)
    assert entry["attrs"]["reason"] == REASON
    assert entry["attrs"]["actor"] == f"{key_id(auditor)}@admin-api"
    assert entry["attrs"]["actor_role"] == "auditor"
    assert PROMPT not in json.dumps(entry)  # the record names the read, never the payload
    # The CLI (another process) sees it too.
    tail = demo.cli("ledger", "tail", "-n", "20")["entries"]
    assert any(r["seq"] == got["ledger_seq"] for r in tail)


# -- keys: paging, search, limits and usage ---------------------------------------------------


def test_keys_page_by_count_and_after_and_search_finds_one(demo: Demo) -> None:
    demo.api("POST", "/tenants", demo.admin_key, json={"name": "paged"})
    issued = []
    for n in range(130):
        made = demo.api(
            "POST", "/tenants/paged/api-keys", demo.admin_key, json={"user": f"clerk-{n:03d}"}
        )
        assert made.status_code == 201, made.text
        issued.append(made.json()["key"]["key_id"])

    seen: list[str] = []
    after = None
    timings = []
    while True:
        query = "count=50" + (f"&after={after}" if after else "")
        started = time.perf_counter()
        page = demo.api("GET", f"/tenants/paged/api-keys?{query}", demo.admin_key)
        timings.append(time.perf_counter() - started)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == 130 and len(body["keys"]) <= 50
        seen += [k["key_id"] for k in body["keys"]]
        after = body["next_after"]
        if after is None:
            break
    assert seen == issued  # every key once, in issue order, over three pages
    assert max(timings) < 0.2, timings

    default = demo.api("GET", "/tenants/paged/api-keys", demo.admin_key).json()
    assert len(default["keys"]) == 100 and default["next_after"] == issued[99]
    by_user = demo.api("GET", "/tenants/paged/api-keys?q=CLERK-042", demo.admin_key).json()
    assert [k["key_id"] for k in by_user["keys"]] == [issued[42]] and by_user["total"] == 1
    by_id = demo.api("GET", f"/tenants/paged/api-keys?q={issued[7][:8]}", demo.admin_key).json()
    assert issued[7] in [k["key_id"] for k in by_id["keys"]]
    for query, message in (
        ("count=0", "query.count"),
        ("count=1001", "query.count"),
        ("after=NOT-A-KEY", "query.after"),
        (f"q={'x' * 300}", "query.q"),
    ):
        refused = demo.api("GET", f"/tenants/paged/api-keys?{query}", demo.admin_key)
        assert refused.status_code == 400 and message in refused.json()["error"]["message"]


def test_limits_change_is_recorded_and_the_budget_is_enforced_and_counted(demo: Demo) -> None:
    made = demo.api(
        "POST", "/tenants/demo/api-keys", demo.admin_key, json={"token_budget": 100_000}
    )
    assert made.status_code == 201, made.text
    key, kid = made.json()["api_key"], made.json()["key"]["key_id"]
    answer = _chat(demo, key, "안녕하세요", max_tokens=16)
    spent = answer.usage.total_tokens if answer.usage else 0
    assert spent > 0

    listed = demo.api("GET", f"/tenants/demo/api-keys?q={kid}", demo.admin_key).json()["keys"]
    assert listed[0]["token_budget"] == 100_000 and listed[0]["used"] == spent

    # Lower the budget under what is used: the next call is refused (429 insufficient_quota).
    changed = demo.api(
        "POST", f"/api-keys/{kid}/limits", demo.admin_key, json={"token_budget": spent}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["token_budget"] == spent and changed.json()["rpm"] is None
    deadline = time.monotonic() + 2
    status = 200
    while time.monotonic() < deadline:
        try:
            _chat(demo, key, "안녕하세요", max_tokens=16)
        except openai.APIStatusError as exc:
            status = exc.status_code
            break
        time.sleep(0.05)
    assert status == 429

    # Lifting it (null) lets the key call again; the tenant's limits are the operator's.
    lifted = demo.api(
        "POST", f"/api-keys/{kid}/limits", demo.admin_key, json={"token_budget": None}
    )
    assert lifted.status_code == 200 and lifted.json()["token_budget"] is None
    tenant = demo.api("POST", "/tenants/demo/limits", demo.admin_key, json={"rpm": 10_000})
    assert tenant.status_code == 200 and tenant.json()["rpm"] == 10_000
    assert demo.api("GET", "/tenants/demo", demo.admin_key).json()["rpm"] == 10_000

    changes = {
        r["entry"]["seq"]: r["entry"]["attrs"]
        for r in demo.api(
            "GET", "/ledger/search?kind=admin-change&count=1000", demo.admin_key
        ).json()["entries"]
    }
    assert changes[changed.json()["ledger_seq"]]["action"] == "key-limits"
    assert changes[changed.json()["ledger_seq"]]["key_id"] == kid
    assert changes[changed.json()["ledger_seq"]]["token_budget"] == str(spent)
    assert changes[lifted.json()["ledger_seq"]]["token_budget"] == "none"
    assert changes[tenant.json()["ledger_seq"]]["action"] == "tenant-limits"
    assert changes[tenant.json()["ledger_seq"]]["target_tenant"] == "demo"

    # Refused clearly, and nothing half-applied.
    for path, body, status, message in (
        (f"/api-keys/{kid}/limits", {}, 400, "at least one"),
        (f"/api-keys/{kid}/limits", {"rpm": 0}, 400, "body.rpm"),
        (f"/api-keys/{kid}/limits", {"rpm": "5"}, 400, "body.rpm"),
        ("/api-keys/aaaaaaaaaa/limits", {"rpm": 5}, 404, "no API key"),
        ("/tenants/nope/limits", {"rpm": 5}, 404, "no tenant"),
    ):
        refused = demo.api("POST", path, demo.admin_key, json=body)
        assert refused.status_code == status, (path, body, refused.text)
        assert message in refused.json()["error"]["message"]
    assert (
        demo.api("GET", f"/tenants/demo/api-keys?q={kid}", demo.admin_key).json()["keys"][0]["rpm"]
        is None
    )

    # A tenant admin of another tenant may not touch the key, nor raise its own tenant's limits.
    demo.api("POST", "/tenants", demo.admin_key, json={"name": "branch"})
    branch_admin = demo.issue("branch", Role.ADMIN)
    assert (
        demo.api("POST", f"/api-keys/{kid}/limits", branch_admin, json={"rpm": 1}).status_code
        == 404
    )
    own = demo.api("POST", "/tenants/branch/limits", branch_admin, json={"token_budget": 10**9})
    assert own.status_code == 403


def test_a_sealed_node_decrypts_nothing_and_records_no_read(demo: Demo) -> None:
    """Last in this module: it seals the demo."""
    with httpx.Client() as raw:
        sent = raw.post(
            f"{demo.base_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {demo.api_key}"},
            json={"model": "demo", "messages": [{"role": "user", "content": PROMPT}]},
            timeout=20,
        )
    seq = int(sent.headers["x-sumun-ledger-seq"])
    auditor = demo.issue("demo", Role.AUDITOR)
    before = len(_payload_reads(demo))
    assert demo.cli("seal")["sealed"] is True
    sealed = demo.api("POST", f"/ledger/entries/{seq}/payload", auditor, json={"reason": REASON})
    assert sealed.status_code == 503, sealed.text
    assert "sealed" in sealed.json()["error"]["message"] and PROMPT not in sealed.text
    assert len(_payload_reads(demo)) == before
