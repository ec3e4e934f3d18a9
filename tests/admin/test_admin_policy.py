"""The policy over the admin API, through a real `sumun demo` process: view, validate (errors
at their YAML lines), apply (recorded with its actor, then enforced by the gateway within a
second), reload, and explain with Korean PII — and the refusals (400, 401, 403, 409, 413).

Observed from outside: the gateway answering the official `openai` SDK, the admin API's own
reads, the ledger, and the demo's log (the explained prompt must not be in it).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from sumun.store.model import Role
from tests.console.support import Demo, demo, key_id
from tests.fixtures.demo import start_demo

__all__ = ["demo"]

pytestmark = pytest.mark.slow

RRN, PHONE, CARD = "900101-1234568", "010-1234-5678", "4111-1111-1111-1111"
POLICY = """\
pii:
  rules:
    - {id: pii.rrn-pseudonymize, types: [KR_RRN], action: pseudonymize}
    - {id: pii.phone-mask, types: [PHONE_KR], action: mask}
    - {id: pii.card-never, types: [CREDIT_CARD], action: block}
"""
BROKEN = """\
version: 1
pii:
  default: erase
  rules:
    - {id: Not-An-Id, types: [KR_RRN], action: mask}
"""


def card_chat(demo: Demo) -> int:
    """The gateway's status for a chat that carries a card number."""
    client = openai.OpenAI(base_url=f"{demo.base_url}/v1", api_key=demo.api_key, max_retries=0)
    try:
        client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": f"카드 {CARD} 결제 취소"}]
        )
    except openai.APIStatusError as exc:
        return exc.status_code
    finally:
        client.close()
    return 200


def entry(demo: Demo, seq: int) -> dict[str, Any]:
    found = demo.api("GET", f"/ledger/entries/{seq}", demo.admin_key)
    assert found.status_code == 200, found.text
    return dict(found.json()["entry"])


def test_the_policy_in_force_is_shown_to_admins_and_auditors_only(demo: Demo) -> None:
    auditor = demo.issue(Role.AUDITOR)
    for key in (demo.admin_key, auditor):
        view = demo.api("GET", "/policy", key)
        assert view.status_code == 200, view.text
        body = view.json()
        assert body["origin"] == "built-in" and body["source"] == "built-in"
        assert body["document"] is None and body["sha256"] is None and body["in_force"] is True
        assert body["from_file"] is False
        ids = [r["id"] for r in body["summary"]["pii_rules"]]
        assert ids == [
            "pii.unique-id",
            "pii.health-insurance",
            "pii.financial",
            "pii.contact-abroad",
        ]
        assert body["summary"]["admission"]["classified_hosting"] == ["on-prem"]
    assert demo.api("GET", "/policy", demo.api_key).status_code == 403  # a user key
    assert demo.api("GET", "/policy").status_code == 401
    assert demo.api("GET", "/policy", "sk-sumun-nosuchkey0-" + "a" * 43).status_code == 401


def test_validate_names_each_problem_at_its_line_and_changes_nothing(demo: Demo) -> None:
    auditor = demo.issue(Role.AUDITOR)  # read-control is enough
    size = demo.api("GET", "/ledger/entries?count=1", demo.admin_key).json()
    good = demo.api("POST", "/policy/validate", auditor, json={"document": POLICY})
    assert good.status_code == 200 and good.json()["valid"] is True
    assert good.json()["errors"] == []

    bad = demo.api("POST", "/policy/validate", auditor, json={"document": BROKEN}).json()
    assert bad["valid"] is False
    at = {(e["line"], e["column"]): e["message"] for e in bad["errors"]}
    assert at[(3, 12)].startswith("pii.default: Input should be")
    assert at[(5, 12)].startswith("pii.rules[0].id: String should match pattern")

    yaml_error = demo.api(
        "POST", "/policy/validate", auditor, json={"document": "pii:\n  rules: [\n  x: : y\n"}
    ).json()
    assert yaml_error["valid"] is False and yaml_error["errors"][0]["line"] == 3
    assert "not valid YAML" in yaml_error["errors"][0]["message"]
    listing = demo.api("POST", "/policy/validate", auditor, json={"document": "- a\n"}).json()
    assert listing["errors"] == [
        {"line": 1, "column": 1, "message": "the top level must be a mapping"}
    ]

    # Nothing changed: no ledger entry, the policy in force is still the built-in one.
    assert demo.api("GET", "/ledger/entries?count=1", demo.admin_key).json() == size
    assert demo.api("GET", "/policy", auditor).json()["origin"] == "built-in"

    for wrong in ({}, {"document": ""}, {"document": 5}, {"document": POLICY, "x": 1}):
        refused = demo.api("POST", "/policy/validate", auditor, json=wrong)
        assert refused.status_code == 400, wrong
        assert "body" in refused.json()["error"]["message"]
    as_text = demo.api(
        "POST",
        "/policy/validate",
        auditor,
        content=POLICY,
        headers={"content-type": "text/yaml"},
    )
    assert as_text.status_code == 415
    huge = demo.api("POST", "/policy/validate", auditor, json={"document": "#" * 70_000})
    assert huge.status_code == 413


def test_an_applied_policy_is_recorded_and_the_gateway_enforces_it_within_a_second(
    demo: Demo,
) -> None:
    assert card_chat(demo) == 200  # the built-in policy lets a card reach an on-prem model

    # Refusals first: nothing of these is applied.
    auditor = demo.issue(Role.AUDITOR)
    demo.cli("tenants", "create", "retail")
    tenant_admin = demo.cli("tenants", "keys", "issue", "--tenant", "retail", "--role", "admin")
    for key, status in ((auditor, 403), (tenant_admin["api_key"], 403), (demo.api_key, 403)):
        refused = demo.api("POST", "/policy", key, json={"document": POLICY})
        assert refused.status_code == status, refused.text
    assert demo.api("POST", "/policy", json={"document": POLICY}).status_code == 401
    invalid = demo.api("POST", "/policy", demo.admin_key, json={"document": BROKEN})
    assert invalid.status_code == 400
    message = invalid.json()["error"]["message"]
    assert "nothing was applied" in message and "line 3, column 12: pii.default" in message
    assert demo.api("GET", "/policy", demo.admin_key).json()["origin"] == "built-in"

    applied = demo.api("POST", "/policy", demo.admin_key, json={"document": POLICY})
    assert applied.status_code == 200, applied.text
    started = time.monotonic()
    done = applied.json()
    while card_chat(demo) != 403:
        assert time.monotonic() - started < 3.0, "the gateway still lets the card through"
        time.sleep(0.05)
    took = time.monotonic() - started
    assert took < 1.5, f"enforced after {took:.2f}s"

    recorded = entry(demo, done["ledger_seq"])
    assert recorded["kind"] == "admin-change" and recorded["decision"] == "policy-apply"
    attrs = recorded["attrs"]
    assert attrs["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    assert attrs["actor_role"] == "admin" and attrs["actor_tenant"] == "demo"
    assert attrs["sha256"] == done["sha256"]

    view = demo.api("GET", "/policy", auditor).json()
    assert view["origin"] == "stored" and view["document"] == POLICY
    assert view["sha256"] == done["sha256"] and view["in_force"] is True
    assert [r["id"] for r in view["summary"]["pii_rules"]] == [
        "pii.rrn-pseudonymize",
        "pii.phone-mask",
        "pii.card-never",
    ]


def test_reload_asks_every_node_and_is_recorded(demo: Demo) -> None:
    auditor = demo.issue(Role.AUDITOR)
    assert demo.api("POST", "/policy/reload", auditor).status_code == 403
    reloaded = demo.api("POST", "/policy/reload", demo.admin_key)
    assert reloaded.status_code == 200, reloaded.text
    recorded = entry(demo, reloaded.json()["ledger_seq"])
    assert recorded["attrs"]["action"] == "policy-reload"
    assert recorded["attrs"]["actor"] == f"{key_id(demo.admin_key)}@admin-api"


def test_explain_shows_korean_pii_masked_per_provider_and_keeps_no_trace(demo: Demo) -> None:
    assert demo.api("POST", "/policy", demo.admin_key, json={"document": POLICY}).is_success
    auditor = demo.issue(Role.AUDITOR)
    size = demo.api("GET", "/ledger/entries?count=1", demo.admin_key).json()["entries"][-1]
    text = f"고객 주민등록번호는 {RRN}, 연락처는 {PHONE}입니다."
    answer = demo.api("POST", "/policy/explain", auditor, json={"text": text, "model": "demo"})
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["decision"] == "transform" and got["data_class"] == "O"
    assert got["rules"] == ["pii.rrn-pseudonymize", "pii.phone-mask"]
    found = {f["type"]: f for f in got["findings"]}
    assert found["KR_RRN"]["preview"] == "90****-*******"
    assert found["PHONE_KR"]["preview"] == "01*-****-****"
    assert text[found["KR_RRN"]["start"] : found["KR_RRN"]["end"]] == RRN
    [plan] = got["plans"]
    assert plan["name"] == "demo" and plan["admitted"] is True and plan["chosen"] is True
    assert plan["text"] == "고객 주민등록번호는 [주민등록번호_1], 연락처는 [전화번호]입니다."
    assert got["text_out"] == plan["text"]
    assert RRN not in answer.text and PHONE not in answer.text  # never the values

    # A card: refused for the provider, and why.
    blocked = demo.api("POST", "/policy/explain", auditor, json={"text": f"카드 {CARD}"}).json()
    assert blocked["decision"] == "block" and "pii.card-never" in blocked["rules"]
    assert blocked["plans"][0]["admitted"] is False and blocked["plans"][0]["text"] is None
    assert "pii.card-never" in blocked["plans"][0]["reason"] and CARD not in str(blocked)
    # A declared class.
    declared = demo.api(
        "POST", "/policy/explain", auditor, json={"text": "회의록", "data_class": "S"}
    ).json()
    assert declared["data_class"] == "S" and declared["classification_rules"] == ["class.declared"]

    # Explaining changes nothing and leaves no trace: no ledger entry, nothing in the log.
    latest = demo.api("GET", "/ledger/entries?count=1", demo.admin_key).json()["entries"][-1]
    assert latest["seq"] == size["seq"]
    log = demo.home.parent / f"{demo.home.name}-demo.log"
    assert RRN not in log.read_text(encoding="utf-8", errors="replace")

    for wrong in (
        {"text": ""},
        {"text": "hi", "data_class": "X"},
        {"text": "hi", "model": "no-such-model"},
        {"text": "hi", "prompt": "x"},
        {"model": "demo"},
    ):
        refused = demo.api("POST", "/policy/explain", auditor, json=wrong)
        assert refused.status_code == 400, (wrong, refused.text)
        assert "hi" not in refused.json()["error"]["message"].split(":")[0]
    too_long = demo.api("POST", "/policy/explain", auditor, json={"text": "가" * 30_000})
    assert too_long.status_code == 413  # 90 KB of UTF-8: over the 64 KiB body cap
    assert demo.api("POST", "/policy/explain", demo.api_key, json={"text": "x"}).status_code == 403


OWN_CONFIG = """\
policy_file: own-policy.yaml
providers:
  - {name: local, kind: demo}
  - name: gpt-abroad
    kind: openai
    base_url: http://127.0.0.1:9/v1
    profile: {jurisdiction: US, hosting: abroad, key_custody: provider, retention_days: 30,
              training_use: false, cross_border_basis: contract}
routes:
  - model: gpt
    targets: [{provider: gpt-abroad, model: gpt-4o}, {provider: local, model: sumun-demo-1}]
"""
OWN_POLICY = """\
pii:
  rules:
    - {id: pii.rrn-abroad, types: [KR_RRN], action: pseudonymize, when: {hosting: [abroad]}}
"""


def test_a_policy_file_deployment_refuses_apply_reloads_and_explains_per_provider(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(OWN_CONFIG, encoding="utf-8")
    own = home / "own-policy.yaml"
    own.write_text(OWN_POLICY, encoding="utf-8")
    proc, ready = start_demo(home)
    try:
        headers = {"authorization": f"Bearer {ready['admin_key']}"}
        base = f"{ready['admin_url']}/admin/v1/policy"
        view = httpx.get(base, headers=headers, timeout=20).json()
        assert view["from_file"] is True and view["origin"] == "file"
        assert view["document"] == OWN_POLICY and view["in_force"] is True
        refused = httpx.post(base, headers=headers, json={"document": POLICY}, timeout=20)
        assert refused.status_code == 409
        assert "policy_file" in refused.json()["error"]["message"]

        # Each provider of the route on its own: the one abroad gets a pseudonym, the
        # on-prem one the number as it is (and the class it raises).
        text = f"주민번호 {RRN} 확인"
        got = httpx.post(
            f"{base}/explain", headers=headers, json={"text": text, "model": "gpt"}, timeout=20
        ).json()
        plans = {p["name"]: p for p in got["plans"]}
        assert list(plans) == ["gpt-abroad", "local"]
        assert plans["gpt-abroad"]["text"] == "주민번호 [주민등록번호_1] 확인"
        assert plans["gpt-abroad"]["chosen"] is True and plans["gpt-abroad"]["data_class"] == "O"
        assert plans["local"]["text"] == text and plans["local"]["data_class"] == "S"
        assert plans["local"]["admitted"] is True and plans["local"]["chosen"] is False
        assert got["decision"] == "transform" and got["providers"] == ["gpt-abroad"]

        # The file edited on the node, then a reload: enforced at once.
        own.write_text(OWN_POLICY + "  default: mask\n", encoding="utf-8")
        reloaded = httpx.post(f"{base}/reload", headers=headers, timeout=20)
        assert reloaded.status_code == 200, reloaded.text
        deadline = time.monotonic() + 3.0
        while (
            httpx.get(base, headers=headers, timeout=20).json()["summary"]["pii_default"] != "mask"
        ):
            assert time.monotonic() < deadline, "the node did not re-read its policy file"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
