"""The admin HTTP API through a real `sumun demo` process, driven the way operators drive it.

Changes are made through the admin API (or, for what the API is not asked to do here, the
`sumun` CLI in another process) and observed from outside: the gateway answering the official
`openai` SDK, the admin API's own reads, and `sumun ledger tail`.
"""

from __future__ import annotations

import base64
import json
import signal
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from jsonschema import Draft202012Validator

from sumun.admin.http import OPERATIONS
from sumun.ledger import merkle
from sumun.ledger.note import Verifier, verify_checkpoint
from sumun.store.model import GRANTS, Role
from tests.fixtures.demo import SUMUN, demo_env, start_demo

CHAT = [{"role": "user", "content": "안녕하세요"}]
CANARY = "CANARY-수문-7f3a"  # sent in bad requests; must never come back


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    home: Path
    base_url: str
    admin_url: str
    api_key: str  # user role, demo tenant
    admin_key: str  # admin role, demo tenant (the demo's operator tenant)

    def api(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        return httpx.request(
            method, f"{self.admin_url}/admin/v1{path}", headers=headers, timeout=20, **kw
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

    def issue(self, tenant: str, role: Role) -> str:
        """A key issued by the CLI in another process (as an operator would)."""
        issued = self.cli("tenants", "keys", "issue", "--tenant", tenant, "--role", role.value)
        return str(issued["api_key"])

    def chat(self, key: str) -> openai.types.chat.ChatCompletion:
        client = openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=key, max_retries=0)
        try:
            return client.chat.completions.create(model="demo", messages=CHAT)  # type: ignore[arg-type]
        finally:
            client.close()


def key_id(key: str) -> str:
    return key.split("-")[2]  # sk-sumun-<key_id>-<secret>


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=30) == 0  # a graceful drain of all three listeners
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("admin") / "home"
    proc, ready = start_demo(home)
    try:
        yield Demo(
            proc,
            home,
            ready["base_url"],
            ready["admin_url"],
            ready["api_key"],
            ready["admin_key"],
        )
    finally:
        _stop(proc)


def _admin_changes(demo: Demo, action: str) -> list[dict[str, Any]]:
    found = demo.api("GET", "/ledger/search?kind=admin-change&count=1000", demo.admin_key).json()
    return [r["entry"] for r in found["entries"] if r["entry"]["attrs"]["action"] == action]


# -- providers and the kill switch -------------------------------------------------------------


def test_an_admin_key_lists_the_providers(demo: Demo) -> None:
    response = demo.api("GET", "/providers", demo.admin_key)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    [provider] = response.json()["providers"]
    assert provider["name"] == "demo" and provider["cut"] is False
    assert provider["routes"] == ["demo"]
    # The built-in demo provider: on-prem with organization-held keys, so admitted for C.
    assert provider["profile"]["hosting"] == "on-prem"
    assert provider["admitted"]["max_class"] == "C"
    assert provider["admitted"]["classes"] == ["O", "S", "C"]


def test_a_cut_stops_the_gateway_within_a_second_and_a_restore_resumes_it(demo: Demo) -> None:
    assert demo.chat(demo.api_key).choices[0].message.content

    cut = demo.api("POST", "/providers/demo/cut", demo.admin_key, json={"reason": "drill 7"})
    assert cut.status_code == 200, cut.text
    cut_at = time.monotonic()
    body = cut.json()
    assert body["cut"] is True and body["reason"] == "drill 7"
    assert body["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    refused = None
    while time.monotonic() - cut_at < 1.0:
        try:
            demo.chat(demo.api_key)
        except openai.APIStatusError as exc:
            refused = exc
            break
        time.sleep(0.05)
    assert refused is not None and refused.status_code == 503, "still served 1 s after the cut"
    listed = demo.api("GET", "/providers", demo.admin_key).json()["providers"][0]
    assert listed["cut"] is True and listed["reason"] == "drill 7"

    restored = demo.api("POST", "/providers/demo/restore", demo.admin_key)
    assert restored.status_code == 200, restored.text
    assert restored.json()["cut"] is False
    assert demo.chat(demo.api_key).choices[0].message.content

    # Both are in the ledger, naming the key that made them (seen by the CLI, another process).
    tail = demo.cli("ledger", "tail", "-n", "50")["entries"]
    changes = [r["entry"] for r in tail if r["entry"]["kind"] == "admin-change"]
    mine = [e for e in changes if e["attrs"]["actor"] == f"{key_id(demo.admin_key)}@admin-api"]
    by_action = {e["attrs"]["action"]: e for e in mine}
    assert by_action["provider-cut"]["seq"] == body["ledger_seq"]
    assert by_action["provider-cut"]["attrs"]["reason"] == "drill 7"
    assert by_action["provider-cut"]["provider"] == "demo"
    assert by_action["provider-restore"]["seq"] == restored.json()["ledger_seq"]
    assert by_action["provider-cut"]["attrs"]["actor_role"] == "admin"


# -- who may do what ---------------------------------------------------------------------------


def _concrete(path: str) -> str:
    """A path of that template that exists in the demo deployment (with a query that needs
    one)."""
    path = (
        path.replace("{name}", "demo")
        .replace("{tenant}", "demo")
        .replace("{key_id}", "aaaaaaaaaa")
        .replace("{seq}", "0")
    )
    return path + "?kind=admin-change" if path.endswith("/ledger/search") else path


def test_every_operation_obeys_the_role_table(demo: Demo, tmp_path: Path) -> None:
    keys = {
        Role.USER: demo.api_key,
        Role.ADMIN: demo.admin_key,
        Role.AUDITOR: demo.issue("demo", Role.AUDITOR),
    }
    (tmp_path / "m.py").write_text("import openai\n", encoding="utf-8")  # no high finding
    subprocess.run(
        [*SUMUN, "scan", str(tmp_path), "--record", "--json"],
        env=demo_env(demo.home),
        capture_output=True,
        timeout=60,
        check=True,
    )
    scan_id = demo.api("GET", "/scans", demo.admin_key).json()["scans"][0]["id"]
    # The compliance report is built in the background; a GET before it exists answers 503.
    assert demo.api("GET", "/compliance/report?wait=60", demo.admin_key).status_code == 200
    for op in OPERATIONS:
        path = _concrete(op.path).replace("{id}", scan_id)
        anonymous = demo.api(op.method, path)
        assert anonymous.status_code == 401, (op.name, anonymous.text)
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.json()["error"]["type"] == "AuthError"
        wrong = demo.api(op.method, path, "sk-sumun-aaaaaaaaaa-" + "a" * 40)
        assert wrong.status_code == 401, (op.name, wrong.text)
        for role, key in keys.items():
            allowed = op.permission in GRANTS[role]
            if allowed and op.method == "POST":
                continue  # changes are made, with their effects checked, in the tests below
            response = demo.api(op.method, path, key)
            if allowed:
                assert response.status_code == 200, (op.name, role, response.text)
            else:
                assert response.status_code == 403, (op.name, role, response.text)
                error = response.json()["error"]
                assert error["type"] == "ForbiddenError" and role.value in error["message"]


def test_an_auditor_reads_but_cannot_cut(demo: Demo) -> None:
    auditor = demo.issue("demo", Role.AUDITOR)
    assert demo.api("GET", "/providers", auditor).status_code == 200
    refused = demo.api("POST", "/providers/demo/cut", auditor, json={"reason": "no"})
    assert refused.status_code == 403
    assert "auditor" in refused.json()["error"]["message"]
    assert demo.api("GET", "/providers", demo.admin_key).json()["providers"][0]["cut"] is False


def test_a_user_key_is_refused_and_no_key_is_unauthenticated(demo: Demo) -> None:
    assert demo.api("GET", "/providers", demo.api_key).status_code == 403
    assert demo.api("POST", "/providers/demo/cut", demo.api_key, json={}).status_code == 403
    assert demo.api("GET", "/providers").status_code == 401
    assert demo.api("GET", "/providers", headers={"authorization": "Basic eDp5"}).status_code == 401


def test_a_tenant_admin_sees_and_changes_only_its_tenant(demo: Demo) -> None:
    tenant = f"acme-{uuid.uuid4().hex[:6]}"
    created = demo.api("POST", "/tenants", demo.admin_key, json={"name": tenant, "rpm": 60})
    assert created.status_code == 201, created.text
    assert created.json()["rpm"] == 60
    issued = demo.api("POST", f"/tenants/{tenant}/api-keys", demo.admin_key, json={"role": "admin"})
    assert issued.status_code == 201, issued.text
    local = issued.json()["api_key"]

    names = [t["name"] for t in demo.api("GET", "/tenants", local).json()["tenants"]]
    assert names == [tenant]
    assert demo.api("GET", "/tenants/demo", local).status_code == 404
    assert demo.api("GET", "/tenants/demo/api-keys", local).status_code == 404
    # Another tenant's name answers like a missing one: same status, same message shape.
    other = demo.api("GET", "/tenants/demo/apps", local).json()["error"]["message"]
    missing = demo.api("GET", "/tenants/nope/apps", local).json()["error"]["message"]
    assert other.replace("demo", "X") == missing.replace("nope", "X")
    revoke = demo.api("POST", f"/api-keys/{key_id(demo.api_key)}/revoke", local)
    assert revoke.status_code == 404
    assert demo.chat(demo.api_key).choices[0].message.content  # untouched

    # Deployment-wide acts are the operator tenant's.
    cut = demo.api("POST", "/providers/demo/cut", local, json={"reason": "mine"})
    assert cut.status_code == 403 and "operator tenant" in cut.json()["error"]["message"]
    assert demo.api("POST", "/tenants", local, json={"name": f"{tenant}-2"}).status_code == 403
    assert demo.api("GET", "/metrics", local).status_code == 403

    app = demo.api("POST", f"/tenants/{tenant}/apps", local, json={"name": "chat"})
    assert app.status_code == 201, app.text
    status = demo.api("GET", "/status", local).json()
    assert status["caller"]["scope"] == "tenant" and status["caller"]["tenant"] == tenant
    assert status["keys"]["backend_facts"] == {}

    # Its ledger view: only entries about its tenant.
    entries = demo.api("GET", "/ledger/entries?count=200", local).json()["entries"]
    assert entries
    for row in entries:
        entry = row["entry"]
        assert entry["tenant"] == tenant or entry["attrs"].get("target_tenant") == tenant
    actions = [r["entry"]["attrs"].get("action") for r in entries]
    assert {"tenant-create", "key-issue", "app-create"} <= set(actions)


def test_a_key_issued_through_the_api_works_with_the_openai_sdk_until_revoked(
    demo: Demo,
) -> None:
    issued = demo.api(
        "POST",
        "/tenants/demo/api-keys",
        demo.admin_key,
        json={"app": "playground", "user": "kim", "rpm": 100},
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    secret, new_id = body["api_key"], body["key"]["key_id"]
    assert body["key"]["role"] == "user" and body["key"]["app"] == "playground"
    assert issued.headers["cache-control"] == "no-store"

    assert demo.chat(secret).choices[0].message.content

    listed = demo.api("GET", "/tenants/demo/api-keys", demo.admin_key)
    assert new_id in listed.text and secret.split("-")[-1] not in listed.text  # never the secret

    revoked = demo.api("POST", f"/api-keys/{new_id}/revoke", demo.admin_key)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    deadline = time.monotonic() + 1.0
    while True:
        try:
            demo.chat(secret)
        except openai.AuthenticationError:
            break
        assert time.monotonic() < deadline, "a revoked key still works after 1 s"
        time.sleep(0.05)
    again = demo.api("POST", f"/api-keys/{new_id}/revoke", demo.admin_key)
    assert again.status_code == 200 and again.json()["ledger_seq"] is None  # idempotent

    actor = f"{key_id(demo.admin_key)}@admin-api"
    [issue] = [e for e in _admin_changes(demo, "key-issue") if e["attrs"]["key_id"] == new_id]
    [revoke] = [e for e in _admin_changes(demo, "key-revoke") if e["attrs"]["key_id"] == new_id]
    assert issue["attrs"]["actor"] == actor and revoke["attrs"]["actor"] == actor
    assert issue["seq"] == body["ledger_seq"]
    assert secret not in json.dumps(issue)


# -- reads -------------------------------------------------------------------------------------


def test_status_metrics_and_the_ledger_reads(demo: Demo) -> None:
    status = demo.api("GET", "/status", demo.admin_key).json()
    assert status["keys"]["sealed"] is False and status["keys"]["backend"] == "embedded"
    assert status["control"] == {"store": "sqlite", "problem": None}
    assert status["ledger"]["size"] > 0 and status["operator_tenant"] == "demo"
    assert status["caller"]["scope"] == "deployment"
    assert "manage" in status["caller"]["permissions"]

    metrics = demo.api("GET", "/metrics", demo.admin_key)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "sumun_requests_total" in metrics.text

    reply = httpx.post(
        f"{demo.base_url}/v1/chat/completions",
        json={"model": "demo", "messages": CHAT},
        headers={"authorization": f"Bearer {demo.api_key}"},
        timeout=20,
    )
    seq = int(reply.headers["x-sumun-ledger-seq"])
    one = demo.api("GET", f"/ledger/entries/{seq}", demo.admin_key).json()
    assert one["seq"] == seq and one["entry"]["kind"] == "request-admitted"
    assert one["payload_state"] == "encrypted" and "payload" not in one  # metadata only
    assert "안녕하세요" not in json.dumps(one)
    found = demo.api(
        "GET", f"/ledger/search?request_id={one['entry']['request_id']}", demo.admin_key
    ).json()
    assert seq in [r["seq"] for r in found["entries"]] and found["complete"] is True

    page = demo.api("GET", "/ledger/entries?count=3", demo.admin_key).json()
    assert len(page["entries"]) == 3 and page["next_before"] == page["entries"][0]["seq"]
    older = demo.api(
        "GET", f"/ledger/entries?count=3&before={page['next_before']}", demo.admin_key
    ).json()
    assert older["entries"][-1]["seq"] == page["next_before"] - 1


def test_an_entrys_inclusion_proof_verifies_against_the_signed_checkpoint(demo: Demo) -> None:
    """What the console's in-browser check does, done here with sumun.ledger.note and merkle
    alone (as a third party would): leaf hash, audit path, then the checkpoint's signature."""
    reply = httpx.post(
        f"{demo.base_url}/v1/chat/completions",
        json={"model": "demo", "messages": CHAT},
        headers={"authorization": f"Bearer {demo.api_key}"},
        timeout=20,
    )
    seq = int(reply.headers["x-sumun-ledger-seq"])
    auditor = demo.issue("demo", Role.AUDITOR)
    proved = demo.api("GET", f"/ledger/entries/{seq}/proof", auditor)
    assert proved.status_code == 200, proved.text
    assert proved.headers["cache-control"] == "no-store"
    proof = proved.json()
    assert set(proof) == {"seq", "leaf", "leaf_hash", "tree_size", "proof", "checkpoint"}
    vkeys = demo.api("GET", "/ledger/vkeys", auditor).json()["vkeys"]
    assert vkeys and vkeys == demo.cli("ledger", "vkeys")["vkeys"]  # the CLI's, from outside

    leaf = base64.b64decode(proof["leaf"])
    entry = json.loads(leaf)
    assert entry["seq"] == seq and entry["kind"] == "request-admitted"
    assert "안녕하세요" not in leaf.decode()  # the entry names its payload by hash only
    assert merkle.leaf_hash(leaf).hex() == proof["leaf_hash"]
    checkpoint = verify_checkpoint(proof["checkpoint"], [Verifier.from_vkey(v) for v in vkeys])
    assert checkpoint.size == proof["tree_size"] > seq
    path = [bytes.fromhex(h) for h in proof["proof"]]
    merkle.verify_inclusion(merkle.leaf_hash(leaf), seq, checkpoint.size, path, checkpoint.root)
    # One flipped bit anywhere in the path and it no longer leads to the signed root.
    if path:
        bad = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
        with pytest.raises(merkle.VerificationError):
            merkle.verify_inclusion(
                merkle.leaf_hash(leaf), seq, checkpoint.size, bad, checkpoint.root
            )

    # Like the entry itself: 404 past the end, 400 for a non-number, 403 for a user key.
    assert demo.api("GET", "/ledger/entries/999999999/proof", auditor).status_code == 404
    assert demo.api("GET", "/ledger/entries/x/proof", auditor).status_code == 400
    assert demo.api("GET", f"/ledger/entries/{seq}/proof", demo.api_key).status_code == 403
    assert demo.api("GET", "/ledger/vkeys", demo.api_key).status_code == 403


def test_a_tenant_admin_gets_proofs_of_its_own_entries_only(demo: Demo) -> None:
    tenant = f"proof-{uuid.uuid4().hex[:6]}"
    assert demo.api("POST", "/tenants", demo.admin_key, json={"name": tenant}).status_code == 201
    issued = demo.api("POST", f"/tenants/{tenant}/api-keys", demo.admin_key, json={"role": "admin"})
    local = issued.json()["api_key"]
    own = demo.api("GET", "/ledger/entries?count=5", local).json()["entries"][-1]["seq"]
    assert demo.api("GET", f"/ledger/entries/{own}/proof", local).status_code == 200
    others = demo.api("GET", "/ledger/search?tenant=demo&count=1", demo.admin_key).json()
    other = others["entries"][0]["seq"]
    hidden = demo.api("GET", f"/ledger/entries/{other}/proof", local)
    assert hidden.status_code == 404  # as for an entry that does not exist: no oracle
    assert demo.api("GET", "/ledger/vkeys", local).status_code == 200  # public keys


def test_the_openapi_document_lists_every_route_and_its_schemas_are_valid(demo: Demo) -> None:
    response = demo.api("GET", "/openapi.json")  # public: it describes the API, not the data
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    declared = {(op.method, op.route) for op in OPERATIONS}
    assert documented == declared | {("GET", "/admin/v1/openapi.json")}
    # Every documented route is served (401 without a key, not 404/405) ...
    for method, path in sorted(declared):
        answer = httpx.request(method, demo.admin_url + _concrete(path), timeout=20)
        assert answer.status_code == 401, (method, path)
    # ... and nothing else is.
    assert demo.api("DELETE", "/providers", demo.admin_key).status_code == 405
    assert demo.api("GET", "/nothing-here", demo.admin_key).json()["error"]["type"] == "NotFound"

    schemas = doc["components"]["schemas"]
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)  # OpenAPI 3.1 schemas are JSON Schema 2020-12
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
    cut = doc["paths"]["/admin/v1/providers/{name}/cut"]["post"]
    assert cut["x-sumun-permission"] == "manage" and cut["x-sumun-scope"] == "deployment"
    assert {"401", "403", "404", "413"} <= set(cut["responses"])


# -- bad input ---------------------------------------------------------------------------------


def _no_echo(response: httpx.Response) -> dict[str, Any]:
    assert CANARY not in response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    return dict(body["error"])


def test_bad_input_is_refused_clearly_and_nothing_is_half_applied(demo: Demo) -> None:
    key = demo.admin_key
    before = demo.api("GET", "/status", key).json()["ledger"]["size"]
    tenants = demo.api("GET", "/tenants", key).json()
    keys = demo.api("GET", "/tenants/demo/api-keys", key).json()
    json_type = {"content-type": "application/json"}

    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("POST", "/providers/demo/cut", {"content": "{" + CANARY}, 400, "not valid JSON"),
        ("POST", "/providers/demo/cut", {"content": f'["{CANARY}"]'}, 400, "JSON object"),
        ("POST", "/providers/demo/cut", {"json": {"reason": 5}}, 400, "body.reason"),
        ("POST", "/providers/demo/cut", {"json": {"reason": ""}}, 400, "body.reason"),
        ("POST", "/providers/demo/cut", {"json": {CANARY: 1}}, 400, "unknown field"),
        ("POST", "/providers/demo/cut", {"json": {"reason": "x" * 70_000}}, 413, "65536"),
        ("POST", "/providers/nope/cut", {"json": {"reason": "x"}}, 404, "unknown provider"),
        ("POST", "/providers/demo/restore", {}, 409, "not cut"),
        ("POST", "/tenants", {"json": {"name": "Bad Name"}}, 400, "body.name"),
        ("POST", "/tenants", {"json": {"name": "demo"}}, 409, "already exists"),
        ("POST", "/tenants", {"json": {"name": "t1", "rpm": "60"}}, 400, "body.rpm"),
        ("POST", "/tenants", {"json": {"name": "t1", "rpm": True}}, 400, "body.rpm"),
        ("POST", "/tenants", {"json": {"name": "t1", "rpm": 0}}, 400, "body.rpm"),
        ("POST", "/tenants/nope/apps", {"json": {"name": "a"}}, 404, "no tenant"),
        ("POST", "/tenants/demo/api-keys", {"json": {"app": "nope"}}, 404, "no app"),
        ("POST", "/tenants/demo/api-keys", {"json": {"role": "root"}}, 400, "body.role"),
        ("POST", "/api-keys/aaaaaaaaaa/revoke", {}, 404, "no API key"),
        ("GET", "/ledger/entries?count=abc", {}, 400, "query.count"),
        ("GET", "/ledger/entries?count=5000", {}, 400, "query.count"),
        ("GET", "/ledger/entries?count=1&count=2", {}, 400, "more than once"),
        ("GET", f"/ledger/entries?{CANARY}=1", {}, 400, "unknown field"),
        ("GET", "/ledger/entries/99999999", {}, 404, "no ledger entry"),
        ("GET", "/ledger/entries/-1", {}, 400, "whole number"),
        ("GET", "/ledger/search", {}, 400, "at least one"),
    ]
    for method, path, kw, status, message in cases:
        headers = json_type if "content" in kw else {}
        response = demo.api(method, path, key, headers=headers, **kw)
        assert response.status_code == status, (path, kw, response.text)
        assert message in _no_echo(response)["message"], (path, response.text)

    form = demo.api(
        "POST",
        "/providers/demo/cut",
        key,
        content=f"reason={CANARY}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415 and _no_echo(form)["type"] == "UnsupportedMediaType"

    # Nothing was applied, nothing recorded.
    assert demo.api("GET", "/providers", key).json()["providers"][0]["cut"] is False
    assert demo.api("GET", "/tenants", key).json() == tenants
    assert demo.api("GET", "/tenants/demo/api-keys", key).json() == keys
    after = demo.api("GET", "/status", key).json()["ledger"]["size"]
    new = demo.api(
        "GET", f"/ledger/search?kind=admin-change&before={after}&scan={after - before + 1}", key
    ).json()["entries"]
    assert [r for r in new if r["seq"] >= before] == []


# -- TLS ---------------------------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sumun-admin-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "admin.crt", directory / "admin.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_admin_listener_serves_tls_from_the_configured_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cert, key = _self_signed(tmp_path)
    (home / "sumun.yaml").write_text(
        f"admin_api: {{tls_cert_file: {cert}, tls_key_file: {key}}}\n", encoding="utf-8"
    )
    proc, ready = start_demo(home)
    try:
        assert ready["admin_url"].startswith("https://127.0.0.1:")
        assert ready["console_url"] == ready["admin_url"] + "/console/"
        response = httpx.get(
            f"{ready['admin_url']}/admin/v1/providers",
            headers={"authorization": f"Bearer {ready['admin_key']}"},
            verify=ssl.create_default_context(cafile=str(cert)),
            timeout=20,
        )
        assert response.status_code == 200, response.text
        with pytest.raises(httpx.HTTPError):
            httpx.get(ready["admin_url"].replace("https", "http") + "/admin/v1/status", timeout=5)
    finally:
        _stop(proc)


def test_a_missing_tls_file_is_one_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(
        f"admin_api: {{tls_cert_file: {tmp_path}/no.crt, tls_key_file: {tmp_path}/no.key}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [*SUMUN, "demo", "--port", "0"],
        env=demo_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "admin_api TLS file not found" in done.stderr and "Traceback" not in done.stderr


def test_the_admin_api_config_defaults_and_refuses_half_a_tls_pair(tmp_path: Path) -> None:
    from sumun import config
    from sumun.errors import ConfigError

    conf = config.load(home=tmp_path, env={}).admin_api
    assert (conf.host, conf.port, conf.operator_tenant, conf.enabled) == (
        "127.0.0.1",
        8481,
        "sumun",
        True,
    )
    path = tmp_path / "sumun.yaml"
    path.write_text("admin_api: {tls_cert_file: a.crt}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="tls_cert_file and tls_key_file go together"):
        config.load(config_file=path, home=tmp_path, env={})
