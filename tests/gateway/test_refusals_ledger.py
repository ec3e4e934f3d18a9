"""Refusals of authenticated callers are in the ledger; unauthenticated 401s are only counted.

Through the real HTTP server (harness.py): 429 limits, 403 a revoked tenant key, 503 a cut
provider each get a `request-refused` entry whose seq the response names; a policy block is
recorded once (admitted + completed), never twice; a flood of refusals shares entries and
every refusal is still counted; 401s add nothing to the ledger and count in the metrics.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from sumun.ledger.entry import decode_entry
from tests.gateway.harness import Running

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "안녕하세요"}]}


def _post(g: Running, key: str | None, body: dict[str, Any] = CHAT) -> httpx.Response:
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    return httpx.post(f"{g.base_url}/v1/chat/completions", json=body, headers=headers, timeout=20)


def _key_id(secret: str) -> str:
    return secret.split("-")[2]  # sk-sumun-<key id>-<secret>


def _entry(g: Running, response: httpx.Response) -> dict[str, Any]:
    """The ledger entry the response names in X-Sumun-Ledger-Seq (durable before the answer)."""
    seq = int(response.headers["x-sumun-ledger-seq"])
    (stored,) = g.runtime.ledger.store.entries(seq, seq + 1)
    assert stored.payload is None  # metadata only: nothing of the request is kept
    return decode_entry(stored.entry)


def _ledger_size(g: Running) -> int:
    g.runtime.ledger.flush()
    return g.runtime.ledger.store.size()


def _metric(g: Running, name: str, **labels: str) -> float:
    auditor = {"authorization": f"Bearer {g.keys['auditor']}"}
    text = httpx.get(f"{g.base_url}/metrics", headers=auditor).text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{re.escape(want)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def _burst(g: Running, key: str, count: int) -> list[httpx.Response]:
    """`count` requests sent at once, each on its own connection."""
    limits = httpx.Limits(max_connections=count)
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=20) as client:
        url = f"{g.base_url}/v1/chat/completions"
        return list(await asyncio.gather(*(client.post(url, json=CHAT) for _ in range(count))))


def _exhaust(g: Running, key: str, allowed: int) -> None:
    for _ in range(allowed):
        assert _post(g, key).status_code == 200


def test_a_rate_limited_call_is_recorded_with_its_rule(gateway: Running) -> None:
    _exhaust(gateway, gateway.keys["tight"], 2)  # tenant `tight`: 2 requests per minute
    refused = _post(gateway, gateway.keys["tight"])
    assert refused.status_code == 429 and "retry-after" in refused.headers
    entry = _entry(gateway, refused)
    assert entry["kind"] == "request-refused" and entry["decision"] == "refused"
    assert entry["tenant"] == "tight" and entry["rules"] == ["limit.tenant.rpm"]
    assert entry["request_id"] == refused.headers["x-sumun-request-id"]
    assert entry["attrs"] == {
        "status": "429",
        "code": "rate_limit_exceeded",
        "endpoint": "chat",
        "key_id": _key_id(gateway.keys["tight"]),
        "app": "",
        "user": "",
        "count": "1",
    }
    # One entry for the refusal, nothing else: it was never admitted.
    found = gateway.entries_for(refused.headers["x-sumun-request-id"], wait=0.3)
    assert [e["kind"] for e in found] == ["request-refused"]


def test_a_flood_of_refusals_shares_entries_and_counts_every_one(gateway: Running) -> None:
    key = gateway.keys["tight"]
    _exhaust(gateway, key, 2)
    before = _ledger_size(gateway)
    responses = asyncio.run(_burst(gateway, key, 60))
    assert {r.status_code for r in responses} == {429}
    entries = {int(r.headers["x-sumun-ledger-seq"]): _entry(gateway, r) for r in responses}
    seqs = set(entries)
    # Every refused response names an entry that counts it; the entries together count all 60.
    assert sum(int(e["attrs"]["count"]) for e in entries.values()) == 60
    assert all(e["rules"] == ["limit.tenant.rpm"] for e in entries.values())
    assert len(seqs) <= 10  # a burst shares entries (one per 100 ms window), not one each
    assert _ledger_size(gateway) - before == len(seqs)
    coalesced = [e for e in entries.values() if e["attrs"]["count"] != "1"]
    assert coalesced and all(int(e["attrs"]["first_ms"]) <= e["time_ms"] for e in coalesced)
    counted = sum(
        _metric(gateway, "sumun_refusals_total", rule="limit.tenant.rpm", recorded=how)
        for how in ("entry", "coalesced")
    )
    assert counted == 60


def test_a_revoked_tenant_key_refusal_is_recorded(gateway: Running) -> None:
    assert _post(gateway, gateway.keys["acme"]).status_code == 200  # creates acme's key
    gateway.runtime.keys.lifecycle.disable("acme", actor="test")
    try:
        refused = _post(gateway, gateway.keys["acme"])
    finally:
        gateway.runtime.keys.lifecycle.enable("acme", actor="test")
    assert refused.status_code == 403
    entry = _entry(gateway, refused)
    assert (entry["kind"], entry["decision"], entry["tenant"]) == (
        "request-refused",
        "refused",
        "acme",
    )
    assert entry["rules"] == ["tenant-key.disabled"]
    assert entry["attrs"]["status"] == "403" and entry["attrs"]["code"] == "tenant_key_revoked"
    assert entry["attrs"]["key_id"] == _key_id(gateway.keys["acme"])
    assert (entry["attrs"]["app"], entry["attrs"]["user"]) == ("chat", "kim")


def test_a_cut_provider_refusal_is_recorded(gateway: Running) -> None:
    gateway.parts.killswitch.cut("fake-openai", "incident 42", "test")
    try:
        refused = _post(gateway, gateway.keys["acme"], {**CHAT, "model": "gpt-test"})
    finally:
        gateway.parts.killswitch.restore("fake-openai", "test")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "provider_cut"
    assert "kill switch" in refused.json()["error"]["message"]
    entry = _entry(gateway, refused)
    assert (entry["kind"], entry["decision"]) == ("request-refused", "refused")
    assert entry["rules"] == ["provider.cut"] and entry["provider"] == "fake-openai"
    assert entry["attrs"]["status"] == "503" and entry["attrs"]["providers"] == "fake-openai"
    assert entry["attrs"]["key_id"] == _key_id(gateway.keys["acme"])
    found = gateway.entries_for(refused.headers["x-sumun-request-id"], wait=0.3)
    assert [e["kind"] for e in found] == ["request-refused"]  # never admitted, nothing sealed


@pytest.mark.parametrize(
    ("key", "body", "rules"),
    [
        ("auditor", CHAT, "role.auditor-calls-no-models"),  # a forbidden role
        (
            "acme",
            {
                **CHAT,
                "model": "gpt-test",
                "messages": [{"role": "user", "content": "[대외비] 보고"}],
            },
            "profile.none-admitted",  # no provider admitted for the data's class
        ),
    ],
)
def test_a_policy_block_is_recorded_once(
    gateway: Running, key: str, body: dict[str, Any], rules: str
) -> None:
    blocked = _post(gateway, gateway.keys[key], body)
    assert blocked.status_code == 403
    found = gateway.entries_for(blocked.headers["x-sumun-request-id"])
    assert [(e["kind"], e["decision"]) for e in found] == [
        ("request-admitted", "block"),
        ("request-completed", "block"),
    ]
    assert rules in found[0]["rules"] and found[0]["attrs"]["key_id"] == _key_id(gateway.keys[key])
    assert found[1]["attrs"]["status"] == "403"
    assert int(blocked.headers["x-sumun-ledger-seq"]) == found[0]["seq"]


def test_unauthenticated_calls_are_counted_not_recorded(gateway: Running) -> None:
    before = _ledger_size(gateway)
    revoked = gateway.keys["revoked"]
    wrong = revoked[:-4] + ("aaaa" if not revoked.endswith("aaaa") else "bbbb")
    attempts = {
        "missing": [None],
        "invalid": ["sk-not-a-key", wrong],
        "revoked": [revoked],
    }
    for keys in attempts.values():
        for key in keys:
            response = _post(gateway, key)
            assert response.status_code == 401
            assert "x-sumun-ledger-seq" not in response.headers
    assert httpx.get(f"{gateway.base_url}/v1/models").status_code == 401
    assert _ledger_size(gateway) == before
    # One key parser (gateway/credentials.py): no key is "missing" on /v1/models too.
    assert _metric(gateway, "sumun_auth_failures_total", reason="missing") == 2
    assert _metric(gateway, "sumun_auth_failures_total", reason="invalid") == 2
    assert _metric(gateway, "sumun_auth_failures_total", reason="revoked") == 1
