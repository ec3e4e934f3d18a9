"""The key layer over the admin HTTP API, against a real `sumun demo` process (3-of-5 Shamir,
its shares in `$SUMUN_HOME/demo-shares.txt`, demo only).

Changes are made over HTTP and observed from outside: the API's own reads, the ledger's
entries through `/admin/v1/ledger/entries/{seq}`, and the gateway answering the `openai` SDK.
The seal / unseal test runs last in this module: it leaves the demo unsealed again.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from sumun.store.model import Role
from tests.console.support import Demo, demo, key_id

__all__ = ["demo"]

pytestmark = pytest.mark.slow

CANARY = "CANARY-수문-share-7f3a"


def kek(demo: Demo, name: str) -> dict[str, Any]:
    listed = demo.api("GET", "/keys", demo.admin_key).json()["keys"]
    return next(k for k in listed if k["key_id"] == name)


def entry(demo: Demo, seq: int) -> dict[str, Any]:
    found = demo.api("GET", f"/ledger/entries/{seq}", demo.admin_key)
    assert found.status_code == 200, found.text
    return dict(found.json()["entry"])


def shares(demo: Demo) -> list[str]:
    return (demo.home / "demo-shares.txt").read_text().split()


def test_status_and_the_keys_with_versions_and_ages(demo: Demo) -> None:
    status = demo.api("GET", "/keys/status", demo.admin_key)
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["sealed"] is False and body["initialised"] is True
    assert (body["method"], body["threshold"], body["custodians"]) == ("shamir", 3, 5)
    assert body["backend"] == "embedded" and body["suite"] and body["backend_ok"] is True
    assert body["collected"] is None and body["rekey_days"] == 30.0

    listed = demo.api("GET", "/keys", demo.admin_key).json()
    assert listed["verified"] is True
    names = {k["key_id"] for k in listed["keys"]}
    assert {"demo", "sumun-ledger"} <= names
    demo_key = kek(demo, "demo")
    assert demo_key["tenant"] == "demo" and demo_key["state"] == "enabled"
    assert demo_key["primary"] == 1 and demo_key["versions"][0]["primary"] is True
    assert 0 <= demo_key["age_days"] < 1 and demo_key["versions"][0]["state"] == "enabled"
    assert demo_key["rekey_due_at"] == pytest.approx(demo_key["created_at"] + 30 * 86400)


def test_a_tenant_admin_sees_only_its_tenants_keys(demo: Demo) -> None:
    made = demo.api("POST", "/tenants", demo.admin_key, json={"name": "retail"})
    assert made.status_code == 201, made.text
    retail_admin = str(
        demo.cli("tenants", "keys", "issue", "--tenant", "retail", "--role", "admin")["api_key"]
    )
    assert demo.api("GET", "/keys", retail_admin).json()["keys"] == []
    for action in ("rotate", "disable", "enable"):
        refused = demo.api("POST", f"/keys/demo/{action}", retail_admin)
        assert refused.status_code == 404, refused.text  # another tenant's: as if missing
    assert demo.api("POST", "/seal", retail_admin).status_code == 403  # the deployment's
    assert kek(demo, "demo")["primary"] == 1


def test_rotate_makes_a_new_primary_recorded_with_the_actor(demo: Demo) -> None:
    rotated = demo.api("POST", "/keys/demo/rotate", demo.admin_key)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["key"]["primary"] == 2
    assert [(v["version"], v["primary"]) for v in body["key"]["versions"]] == [
        (1, False),
        (2, True),
    ]
    recorded = entry(demo, body["ledger_seq"])
    assert recorded["kind"] == "key-event"
    attrs = recorded["attrs"]
    assert attrs["action"] == "rotate" and attrs["key_id"] == "demo" and attrs["version"] == "2"
    assert attrs["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    # The gateway still works with the new primary (and old envelopes still open).
    assert demo.chat(demo.api_key) == 200
    # Not recorded twice: no admin-change entry repeats the key-event.
    after = demo.api("GET", f"/ledger/entries/{body['ledger_seq'] + 1}", demo.admin_key)
    assert after.status_code == 404 or after.json()["entry"]["kind"] != "admin-change"


def test_disable_and_enable_a_version_and_a_key(demo: Demo) -> None:
    demo.cli("keys", "create", "scratch", "--tenant", "demo")
    demo.api("POST", "/keys/scratch/rotate", demo.admin_key).raise_for_status()
    off = demo.api("POST", "/keys/scratch/disable", demo.admin_key, json={"version": 1})
    assert off.status_code == 200, off.text
    assert [v["state"] for v in off.json()["key"]["versions"]] == ["disabled", "enabled"]
    assert entry(demo, off.json()["ledger_seq"])["attrs"]["action"] == "disable"
    primary = demo.api("POST", "/keys/scratch/disable", demo.admin_key, json={"version": 2})
    assert primary.status_code == 409 and "primary" in primary.json()["error"]["message"]
    missing = demo.api("POST", "/keys/scratch/disable", demo.admin_key, json={"version": 9})
    assert missing.status_code == 404, missing.text
    on = demo.api("POST", "/keys/scratch/enable", demo.admin_key, json={"version": 1})
    assert [v["state"] for v in on.json()["key"]["versions"]] == ["enabled", "enabled"]
    whole = demo.api("POST", "/keys/scratch/disable", demo.admin_key)
    assert whole.json()["key"]["state"] == "disabled"
    assert demo.api("POST", "/keys/scratch/enable", demo.admin_key).json()["key"]["state"] == (
        "enabled"
    )
    bad = demo.api("POST", "/keys/scratch/disable", demo.admin_key, json={"version": "1"})
    assert bad.status_code == 400 and "version" in bad.json()["error"]["message"]
    assert demo.api("POST", "/keys/nope/rotate", demo.admin_key).status_code == 404


def test_destroy_needs_the_typed_key_id_and_waits_out_the_grace(demo: Demo) -> None:
    for body in ({}, {"confirm": "scratc"}, {"confirm": "demo"}):
        refused = demo.api("POST", "/keys/scratch/destroy", demo.admin_key, json=body)
        assert refused.status_code == 400, refused.text
        assert "confirm" in refused.json()["error"]["message"]
    assert kek(demo, "scratch")["state"] == "enabled"  # nothing changed
    single = {"confirm": "scratch", "version": 1}
    assert demo.api("POST", "/keys/scratch/destroy", demo.admin_key, json=single).status_code == (
        400
    )
    before = time.time()
    done = demo.api("POST", "/keys/scratch/destroy", demo.admin_key, json={"confirm": "scratch"})
    assert done.status_code == 200, done.text
    key = done.json()["key"]
    assert key["state"] == "pending-destruction"
    assert key["destroy_after"] == pytest.approx(before + 7 * 86400, abs=60)  # the grace
    recorded = entry(demo, done.json()["ledger_seq"])["attrs"]
    assert recorded["action"] == "schedule-destroy" and recorded["detail.grace_days"] == "7"
    assert recorded["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    # Enable cancels it (recorded as cancel-destroy).
    cancelled = demo.api("POST", "/keys/scratch/enable", demo.admin_key)
    assert cancelled.json()["key"]["state"] == "enabled"
    assert entry(demo, cancelled.json()["ledger_seq"])["attrs"]["action"] == "cancel-destroy"


def test_an_immediate_destruction_needs_a_fresh_quorum(demo: Demo) -> None:
    quorum = shares(demo)
    base = {"confirm": "scratch", "now": True, "version": 1}
    wrong = demo.api(
        "POST", "/keys/scratch/destroy", demo.admin_key, json={**base, "shares": [CANARY]}
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["type"] == "UnsealRefusedError"
    assert CANARY not in wrong.text
    assert [v["state"] for v in kek(demo, "scratch")["versions"]] == ["enabled", "enabled"]
    done = demo.api(
        "POST", "/keys/scratch/destroy", demo.admin_key, json={**base, "shares": quorum[:3]}
    )
    assert done.status_code == 200, done.text
    assert [v["state"] for v in done.json()["key"]["versions"]] == ["destroyed", "enabled"]
    assert entry(demo, done.json()["ledger_seq"])["attrs"]["detail.mode"] == "immediate"
    assert not any(s in done.text for s in quorum)


def test_an_auditor_reads_and_changes_nothing(demo: Demo) -> None:
    auditor = demo.issue(Role.AUDITOR)
    assert demo.api("GET", "/keys", auditor).status_code == 200
    assert demo.api("GET", "/keys/status", auditor).status_code == 200
    for path, body in (
        ("/keys/demo/rotate", {}),
        ("/keys/demo/disable", {}),
        ("/keys/demo/enable", {}),
        ("/keys/demo/destroy", {"confirm": "demo"}),
        ("/seal", {}),
        ("/unseal", {"shares": shares(demo)[:1]}),
    ):
        refused = demo.api("POST", path, auditor, json=body)
        assert refused.status_code == 403, (path, refused.text)
    assert kek(demo, "demo")["state"] == "enabled"
    assert demo.api("GET", "/keys/status", auditor).json()["sealed"] is False


def test_seal_refuses_the_gateway_and_unseal_share_by_share_brings_it_back(demo: Demo) -> None:
    quorum = shares(demo)
    assert demo.api("POST", "/unseal", demo.admin_key, json={"shares": quorum[:1]}).status_code == (
        409  # not sealed
    )
    sealed = demo.api("POST", "/seal", demo.admin_key)
    assert sealed.status_code == 200, sealed.text
    seal_entry = entry(demo, sealed.json()["ledger_seq"])["attrs"]
    assert seal_entry["action"] == "seal"
    assert seal_entry["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    assert demo.chat(demo.api_key) == 503
    assert demo.api("POST", "/keys/demo/rotate", demo.admin_key).status_code == 503
    listed = demo.api("GET", "/keys", demo.admin_key).json()  # readable sealed, unverified
    assert listed["verified"] is False and "demo" in {k["key_id"] for k in listed["keys"]}

    # Bad input changes nothing and is named without being echoed.
    mistyped = quorum[0][:-3] + ("AAA" if not quorum[0].endswith("AAA") else "BBB")
    for body, needle in (
        ({"shares": [CANARY]}, "share 1"),
        ({"shares": [mistyped]}, "share 1"),
        ({"passphrase": CANARY}, "passphrase"),
        ({}, "shares"),
    ):
        refused = demo.api("POST", "/unseal", demo.admin_key, json=body)
        assert refused.status_code == 400, refused.text
        assert needle in refused.json()["error"]["message"] and CANARY not in refused.text
        assert mistyped not in refused.text
    status = demo.api("GET", "/keys/status", demo.admin_key).json()
    assert status["sealed"] is True and status["collected"] in (None, 0)
    found = demo.api("GET", "/ledger/search?kind=admin-change&count=100", demo.admin_key)
    refused = [
        r["entry"]["attrs"]
        for r in found.json()["entries"]
        if r["entry"]["attrs"]["action"] == "unseal-refused"
    ]
    assert [r["reason"][:7] for r in refused] == ["share 1", "share 1"]  # who tried, not what
    assert CANARY not in found.text and mistyped not in found.text

    first = demo.api("POST", "/unseal", demo.admin_key, json={"shares": quorum[:1]})
    assert first.status_code == 200, first.text
    assert first.json() | {"ledger_seq": 0} == {
        "sealed": True,
        "collected": 1,
        "threshold": 3,
        "bad_shares": [],
        "ledger_seq": 0,
    }
    offered = entry(demo, first.json()["ledger_seq"])
    assert offered["kind"] == "admin-change" and offered["attrs"]["action"] == "unseal-share"
    assert offered["attrs"]["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    assert quorum[0] not in str(offered)
    # Sealing again discards the shares given so far (as `sumun seal` does), recorded.
    reset = demo.api("POST", "/seal", demo.admin_key)
    assert entry(demo, reset.json()["ledger_seq"])["attrs"]["action"] == "unseal-reset"
    assert demo.api("GET", "/keys/status", demo.admin_key).json()["collected"] is None
    again = demo.api("POST", "/unseal", demo.admin_key, json={"shares": quorum[:1]})
    assert again.json()["collected"] == 1
    demo.api("POST", "/unseal", demo.admin_key, json={"shares": quorum[1:2]}).raise_for_status()
    assert demo.api("GET", "/keys/status", demo.admin_key).json()["collected"] == 2
    assert demo.chat(demo.api_key) == 503
    last = demo.api("POST", "/unseal", demo.admin_key, json={"shares": quorum[2:3]})
    assert last.status_code == 200 and last.json()["sealed"] is False, last.text
    unsealed = entry(demo, last.json()["ledger_seq"])["attrs"]
    assert unsealed["action"] == "unseal"
    assert unsealed["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    assert demo.chat(demo.api_key) == 200
    assert demo.api("GET", "/keys/status", demo.admin_key).json()["collected"] is None
