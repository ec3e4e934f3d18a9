"""Compliance and supply-chain scans over the admin API, against a real `sumun demo` process.

State is made the way operators make it — `sumun scan --record` and `sumun tenants …` in
another process, model calls through the official `openai` SDK — and read back over HTTP. The
AI-BOM download is validated against the official CycloneDX 1.6 schema, the SARIF download
against the OASIS 2.1.0 schema.
"""

from __future__ import annotations

import json
import pickle
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from sumun.store.model import Role
from tests.console.support import Demo, demo, key_id
from tests.fixtures.demo import SUMUN, demo_env
from tests.scan.test_sarif import validate as validate_sarif

pytestmark = pytest.mark.slow

__all__ = ["demo"]  # the module-scoped `sumun demo` fixture

CANARY = "CANARY-수문-31d9"


class _Evil:
    """Pickles as a call of os.system: the scanner must flag it (it is never unpickled)."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        import os

        return (os.system, ("echo pwned",))


def make_project(root: Path) -> Path:
    """A small tree with one of each kind of finding the report and the BOM show."""
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text(
        "import openai\nimport torch\n"
        'client = openai.OpenAI(base_url="https://api.openai.com/v1")\n'
        'model = torch.load("model.pt")\n',
        encoding="utf-8",
    )
    (root / "models").mkdir()
    (root / "models" / "evil.pkl").write_bytes(pickle.dumps(_Evil()))
    return root


def record_scan(demo: Demo, target: Path) -> None:
    """`sumun scan TARGET --record` in another process (exit 1: it found critical issues)."""
    done = subprocess.run(
        [*SUMUN, "scan", str(target), "--record", "--json"],
        capture_output=True,
        text=True,
        env=demo_env(demo.home),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # 1: a critical or high finding
    assert json.loads(done.stdout)["summary"]["by_severity"]["critical"] >= 1


def scan_document(demo: Demo, target: Path, fmt: str) -> str:
    """`sumun scan TARGET --format FMT` in another process: the document it writes."""
    done = subprocess.run(
        [*SUMUN, "scan", str(target), "--format", fmt],
        capture_output=True,
        text=True,
        env=demo_env(demo.home),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return done.stdout


def entry(demo: Demo, seq: int) -> dict[str, Any]:
    got = demo.api("GET", f"/ledger/entries/{seq}", demo.admin_key)
    assert got.status_code == 200, got.text
    found: dict[str, Any] = got.json()["entry"]
    return found


@pytest.fixture(scope="module")
def other_admin(demo: Demo) -> str:
    demo.cli("tenants", "create", "bank")
    issued = demo.cli("tenants", "keys", "issue", "--tenant", "bank", "--role", "admin")
    return str(issued["api_key"])


# -- the report ----------------------------------------------------------------------------------


def _comparable(report: dict[str, Any]) -> Any:
    """The report without what legitimately differs between two computations a moment apart
    by two readers: when it was made, where the key status was read, "N s ago", and the
    checkpoints the node signed meanwhile."""
    text = json.dumps({k: v for k, v in report.items() if k not in ("generated_at", "cache")})
    text = text.replace("this Sumun node (admin API)", "KEYS").replace(
        "the running Sumun (admin channel)", "KEYS"
    )
    text = re.sub(r"\d+ s ago", "N s ago", text)
    # The running node signs a checkpoint every 10 s: how many there are, and what the latest
    # covers, may move between the two computations (a loaded CI machine widens the window).
    text = re.sub(r"\d+ signed checkpoint", "N signed checkpoint", text)
    text = re.sub(r'"(signed checkpoints|latest checkpoint size)": \d+', r'"\1": 0', text)
    text = re.sub(r"checkpoint covers [\d,]+ of", "checkpoint covers N of", text)
    text = re.sub(r"entries, [\d.]+ s\)", "entries, T s)", text)  # how long verifying took
    return json.loads(text)


def test_the_report_is_the_clis_and_the_operators_only(demo: Demo, other_admin: str) -> None:
    # A signed checkpoint first (a proof signs one if none covers the entry), so that both
    # computations see one: the node's own first may land between them otherwise.
    assert demo.api("GET", "/ledger/entries/0/proof", demo.admin_key).status_code == 200
    got = demo.api("GET", "/compliance/report?refresh=true&wait=60", demo.admin_key)
    assert got.status_code == 200, got.text
    report = got.json()
    cli = demo.cli("comply", "report")
    assert report["format"] == cli["format"] == "sumun-comply-report/1"
    assert "cache" not in cli
    assert _comparable(report) == _comparable(cli)  # the CLI's report, key for key
    cache = report["cache"]
    assert cache["ledger_size"] == report["deployment"]["ledger"]["entries"]
    assert cache["ledger_size"] <= cache["ledger_size_now"]
    assert cache["stale"] is False and cache["refreshing"] is False
    assert cache["refresh_error"] is None and cache["computed_at"] <= report["generated_at"]
    files = {c["file"] for c in report["catalog"]}
    assert {"ai_basic_act.yaml", "pipa.yaml", "n2sf.yaml"} <= files
    assert report["deployment"]["keys"]["origin"].startswith("this Sumun node (admin API)")

    html = demo.api("GET", "/compliance/report.html", demo.admin_key)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "AIBA-31.1" in html.text and "<script" not in html.text

    for path in ("/compliance/report", "/compliance/report.html"):
        refused = demo.api("GET", path, other_admin)
        assert refused.status_code == 403, refused.text
        assert "operator tenant" in refused.json()["error"]["message"]


def test_the_report_is_served_from_the_cache_and_refreshed_on_request(
    demo: Demo, other_admin: str
) -> None:
    first = demo.api("GET", "/compliance/report?wait=60", demo.admin_key).json()
    demo.cli("tenants", "create", "cachecheck")
    assert demo.chat(demo.api_key) == 200  # the ledger grows by the call's entries
    cached = demo.api("GET", "/compliance/report", demo.admin_key).json()
    assert cached["generated_at"] == first["generated_at"]  # not computed again
    assert cached["cache"]["ledger_size"] == first["cache"]["ledger_size"]
    assert cached["cache"]["ledger_size_now"] > cached["cache"]["ledger_size"]
    assert "cachecheck" not in cached["deployment"]["tenants"]

    started = demo.api("POST", "/compliance/report/refresh", demo.admin_key)
    assert started.status_code == 202, started.text
    assert started.json()["refreshing"] is True
    again = demo.api("POST", "/compliance/report/refresh", demo.admin_key)  # joins the first
    assert again.status_code == 202 and again.json()["started_at"] == started.json()["started_at"]
    fresh = demo.api("GET", "/compliance/report?wait=60", demo.admin_key).json()
    assert "cachecheck" in fresh["deployment"]["tenants"]
    assert fresh["cache"]["ledger_size"] == fresh["cache"]["ledger_size_now"]
    assert fresh["cache"]["refreshing"] is False

    auditor = demo.issue(Role.AUDITOR)  # read-control: an operator auditor may ask
    assert demo.api("POST", "/compliance/report/refresh", auditor).status_code == 202
    refused = demo.api("POST", "/compliance/report/refresh", other_admin)
    assert refused.status_code == 403
    for bad, named in (("wait=-1", "query.wait"), ("wait=121", "query.wait"),
                       ("refresh=maybe", "query.refresh"), ("x=1", "unknown field")):  # fmt: skip
        wrong = demo.api("GET", f"/compliance/report?{bad}", demo.admin_key)
        assert wrong.status_code == 400, (bad, wrong.text)
        assert named in wrong.json()["error"]["message"]


# -- register and attestations -------------------------------------------------------------------


def test_register_and_attest_are_recorded_with_the_actor(demo: Demo, other_admin: str) -> None:
    body = {
        "app": "demo/playground",
        "purpose": "대출 심사 보조",
        "sector": "finance",
        "high_impact": "yes",
        "models": ["demo"],
    }
    done = demo.api("POST", "/compliance/register", demo.admin_key, json=body)
    assert done.status_code == 200, done.text
    reg = done.json()
    assert reg["entry"]["high_impact"] is True and reg["entry"]["subject"] == "demo/playground"
    recorded = entry(demo, reg["ledger_seq"])
    assert recorded["kind"] == "admin-change"
    assert recorded["attrs"]["action"] == "comply-register"
    assert recorded["attrs"]["actor"] == f"{key_id(demo.admin_key)}@admin-api"
    assert recorded["attrs"]["target_tenant"] == "demo"
    listed = demo.cli("comply", "register", "--list")["apps"]
    assert [a["subject"] for a in listed] == ["demo/playground"]  # the CLI reads the same register
    report = demo.api("GET", "/compliance/report?wait=60", demo.admin_key).json()
    assert report["deployment"]["register"] == [  # the change started a new report
        {"app": "demo/playground", "sector": "finance", "high_impact": True}
    ]

    # an update keeps what it does not name
    update = {"app": "demo/playground", "oversight": "박감독 (준법감시팀)"}
    again = demo.api("POST", "/compliance/register", demo.admin_key, json=update).json()
    assert again["entry"]["entry"]["purpose"] == "대출 심사 보조"
    assert again["entry"]["entry"]["oversight"] == "박감독 (준법감시팀)"

    attest = {
        "requirement": "AIBA-34.1",
        "by": "김준법 (CISO)",
        "refs": ["DOC-2026-017"],
        "app": "demo/playground",
    }
    made = demo.api("POST", "/compliance/attestations", demo.admin_key, json=attest)
    assert made.status_code == 201, made.text
    seq = made.json()["ledger_seq"]
    assert entry(demo, seq)["attrs"]["action"] == "comply-attest"
    shown = demo.cli("comply", "attestations")["attestations"]
    assert [(a["requirement"], a["subject"], a["ledger_seq"]) for a in shown] == [
        ("AIBA-34.1", "demo/playground", seq)
    ]

    # another tenant's admin sees neither, and cannot write into demo
    assert demo.api("GET", "/compliance/register", other_admin).json()["apps"] == []
    assert demo.api("GET", "/compliance/attestations", other_admin).json()["attestations"] == []
    foreign = demo.api("POST", "/compliance/attestations", other_admin, json=attest)
    assert foreign.status_code == 404
    whole = dict(attest, requirement="AIBA-31.1")
    whole.pop("app")
    assert demo.api("POST", "/compliance/attestations", other_admin, json=whole).status_code == 403


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/compliance/register", {"app": "demo/nope", "high_impact": "no"}, "no app 'nope'"),
        ("/compliance/register", {"app": "demo/playground", "sector": CANARY}, "body.sector"),
        ("/compliance/register", {"app": "demo", "x": CANARY}, "unknown field"),
        ("/compliance/attestations", {"requirement": "AIBA-33", "by": "k", "refs": ["x"]},
         "checked automatically"),
        ("/compliance/attestations", {"requirement": "AIBA-34.1", "by": "k", "refs": []},
         "body.refs"),
        ("/compliance/reviews", {"seq": 0, "outcome": "maybe"}, "body.outcome"),
    ],
)  # fmt: skip
def test_bad_changes_are_400_naming_the_field_never_the_value(
    demo: Demo, path: str, body: dict[str, Any], message: str
) -> None:
    key = demo.issue(Role.AUDITOR) if path.endswith("reviews") else demo.admin_key
    size = demo.api("GET", "/status", demo.admin_key).json()["ledger"]["size"]
    refused = demo.api("POST", path, key, json=body)
    assert refused.status_code == 400, refused.text
    assert message in refused.json()["error"]["message"]
    assert CANARY not in refused.text
    assert demo.api("GET", "/status", demo.admin_key).json()["ledger"]["size"] == size


# -- oversight reviews ---------------------------------------------------------------------------


def test_an_auditor_reviews_a_high_impact_call_and_an_admin_may_not(demo: Demo) -> None:
    demo.api(
        "POST",
        "/compliance/register",
        demo.admin_key,
        json={"app": "demo/playground", "purpose": "대출 심사 보조", "high_impact": "yes"},
    )
    assert demo.chat(demo.api_key) == 200
    queue = demo.api("GET", "/compliance/reviews", demo.admin_key).json()
    awaiting = queue["awaiting"][0]
    assert awaiting["app"] == "playground" and awaiting["tenant"] == "demo"

    body = {"seq": awaiting["seq"], "outcome": "override", "flag": True, "note": "사람이 재심사"}
    refused = demo.api("POST", "/compliance/reviews", demo.admin_key, json=body)
    assert refused.status_code == 403
    assert "may not review" in refused.json()["error"]["message"]

    auditor = demo.issue(Role.AUDITOR)
    done = demo.api("POST", "/compliance/reviews", auditor, json=body)
    assert done.status_code == 201, done.text
    review = done.json()
    assert review["actor"] == f"{key_id(auditor)}@admin-api"
    recorded = entry(demo, review["ledger_seq"])
    assert recorded["kind"] == "oversight-review"
    assert recorded["attrs"]["reviewed_seq"] == str(awaiting["seq"])
    assert recorded["attrs"]["decision"] == "override" and recorded["attrs"]["flag"] == "true"
    assert recorded["attrs"]["actor"] == f"{key_id(auditor)}@admin-api"
    assert recorded["attrs"]["actor_role"] == "auditor"
    assert "payload" in recorded  # the note, encrypted under the tenant's key

    after = demo.api("GET", "/compliance/reviews", auditor).json()
    assert awaiting["seq"] not in [a["seq"] for a in after["awaiting"]]
    assert after["reviews"][0]["seq"] == review["ledger_seq"]
    cli = demo.cli("comply", "reviews")["reviews"]
    assert [(r["seq"], r["reviewed_seq"], r["decision"]) for r in cli][-1] == (
        review["ledger_seq"],
        awaiting["seq"],
        "override",
    )

    of_review = {**body, "seq": review["ledger_seq"]}  # a review is not a model call
    not_a_call = demo.api("POST", "/compliance/reviews", auditor, json=of_review)
    assert not_a_call.status_code == 400
    assert "oversight reviews are of model calls" in not_a_call.json()["error"]["message"]
    foreign = demo.api("POST", "/compliance/reviews", auditor, json={**body, "seq": 0})
    assert foreign.status_code == 403  # entry 0 is the operator's key creation, tenant sumun


def test_the_queue_reads_a_bounded_window_and_pages_back(demo: Demo) -> None:
    registered = demo.api(
        "POST",
        "/compliance/register",
        demo.admin_key,
        json={
            "app": "demo/playground",
            "purpose": "대출 심사 보조",
            "sector": "finance",
            "high_impact": "yes",
        },
    )
    assert registered.status_code == 200, registered.text  # also when run alone
    assert demo.chat(demo.api_key) == 200
    assert demo.chat(demo.api_key) == 200
    whole = demo.api("GET", "/compliance/reviews", demo.admin_key).json()
    size = whole["size"]
    assert whole["complete"] is True and whole["scanned_from"] == 0  # under 10,000 entries
    assert whole["scanned_to"] == size
    newest, older = whole["awaiting"][0]["seq"], whole["awaiting"][1]["seq"]
    assert older < newest

    # only the newest call's entries: the older call is not read
    window = demo.api("GET", f"/compliance/reviews?scan={size - newest}", demo.admin_key).json()
    assert window["complete"] is False
    assert (window["scanned_from"], window["scanned_to"]) == (newest, size)
    assert [a["seq"] for a in window["awaiting"]] == [newest]
    assert window["awaiting_total"] == 1

    # paging on with before = scanned_from: the older call, the newest left out
    back = demo.api(
        "GET", f"/compliance/reviews?before={newest}&scan={size}", demo.admin_key
    ).json()
    assert back["complete"] is True and back["scanned_to"] == newest
    seqs = [a["seq"] for a in back["awaiting"]]
    assert older in seqs and newest not in seqs

    # a review counts in any window that holds it
    auditor = demo.issue(Role.AUDITOR)
    done = demo.api(
        "POST", "/compliance/reviews", auditor, json={"seq": older, "outcome": "confirm"}
    )
    assert done.status_code == 201, done.text
    review_seq = done.json()["ledger_seq"]
    after = demo.api("GET", "/compliance/reviews", auditor).json()
    assert older not in [a["seq"] for a in after["awaiting"]]
    assert after["reviews"][0]["seq"] == review_seq
    # ... and not in one that ends before it (the documented limit of `before`)
    before = demo.api("GET", f"/compliance/reviews?before={review_seq}", auditor).json()
    assert older in [a["seq"] for a in before["awaiting"]]
    assert review_seq not in [r["seq"] for r in before["reviews"]]

    beyond = demo.api("GET", f"/compliance/reviews?before={size * 10}", auditor).json()
    assert beyond["scanned_to"] == beyond["size"]  # `before` past the end: the newest
    for bad in ("scan=0", "scan=100001", "before=-1", "scan=x"):
        wrong = demo.api("GET", f"/compliance/reviews?{bad}", auditor)
        assert wrong.status_code == 400, (bad, wrong.text)
        assert f"query.{bad.split('=')[0]}" in wrong.json()["error"]["message"]


# -- scans -----------------------------------------------------------------------------------------


def test_recorded_scans_findings_and_their_documents(
    demo: Demo, other_admin: str, tmp_path: Path
) -> None:
    assert demo.api("GET", "/scans", demo.admin_key).json() == {"scans": [], "unreadable": []}
    record_scan(demo, make_project(tmp_path / "project"))
    listed = demo.api("GET", "/scans", demo.admin_key).json()["scans"]
    assert len(listed) == 1
    scan = listed[0]
    assert scan["latest"] is True and scan["root"] == str(tmp_path / "project")
    assert scan["by_severity"]["critical"] == 1 and scan["by_severity"]["high"] >= 1

    detail = demo.api("GET", f"/scans/{scan['id']}", demo.admin_key).json()
    assert detail["findings"][0]["severity"] == "critical"
    assert detail["findings"][0]["rule"] == "pickle.dangerous-global"
    assert {c["provider"] for c in detail["components"] if c["type"] == "service"} == {"openai"}

    bom = demo.api("GET", f"/scans/{scan['id']}/cyclonedx", demo.admin_key)
    assert bom.status_code == 200
    assert bom.headers["content-type"] == "application/vnd.cyclonedx+json"
    problem = JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom.text)
    assert problem is None, problem
    assert bom.json()["services"][0]["provider"]["name"] == "OpenAI"

    sarif = demo.api("GET", f"/scans/{scan['id']}/sarif", demo.admin_key)
    assert sarif.headers["content-type"] == "application/sarif+json"
    validate_sarif(sarif.json())
    rules = {r["ruleId"] for r in sarif.json()["runs"][0]["results"]}
    assert {"pickle.dangerous-global", "code.torch-load-unsafe"} <= rules

    # the same documents `sumun scan --format cyclonedx|sarif` writes for that tree
    cli_bom = json.loads(scan_document(demo, tmp_path / "project", "cyclonedx"))
    for doc in (cli_bom, served := bom.json()):
        doc.pop("serialNumber")
        doc["metadata"].pop("timestamp")
    assert served == cli_bom
    assert sarif.json() == json.loads(scan_document(demo, tmp_path / "project", "sarif"))

    for bad in ("latest", "..%2F..%2Fstore.db", "%2e%2e", ".hidden", scan["id"] + "x"):
        for suffix in ("", "/cyclonedx", "/sarif"):
            got = demo.api("GET", f"/scans/{bad}{suffix}", demo.admin_key)
            assert got.status_code == 404, (bad, suffix, got.text)
    assert demo.api("GET", "/scans", other_admin).status_code == 403
    assert demo.api("GET", f"/scans/{scan['id']}/cyclonedx", other_admin).status_code == 403


def test_the_operations_are_in_the_openapi_document(demo: Demo) -> None:
    doc = httpx.get(f"{demo.admin_url}/admin/v1/openapi.json", timeout=20).json()
    paths = doc["paths"]
    assert "post" in paths["/admin/v1/compliance/reviews"]
    assert "post" in paths["/admin/v1/compliance/report/refresh"]
    queue = paths["/admin/v1/compliance/reviews"]["get"]
    assert {"scan", "before"} <= {p["name"] for p in queue["parameters"]}
    report = paths["/admin/v1/compliance/report"]["get"]
    assert {"refresh", "wait"} <= {p["name"] for p in report["parameters"]}
    assert "application/vnd.cyclonedx+json" in json.dumps(paths["/admin/v1/scans/{id}/cyclonedx"])


def test_the_questionnaire_asks_whether_a_person_decides(demo: Demo) -> None:
    """MSIT's January-2026 criteria: a listed area is high-impact only in automated use."""
    body = {
        "app": "demo/playground",
        "purpose": "대출 심사 보조",
        "sector": "finance",
        "high_impact": "questionnaire",
        "areas": ["rights-decisions"],
        "significant": "yes",
    }
    human = demo.api(
        "POST", "/compliance/register", demo.admin_key, json=body | {"automated": "no"}
    )
    assert human.status_code == 200, human.text
    assert human.json()["entry"]["high_impact"] is False
    assert human.json()["entry"]["entry"]["determination"]["automated"] == "no"
    machine = demo.api(
        "POST", "/compliance/register", demo.admin_key, json=body | {"automated": "yes"}
    )
    assert machine.json()["entry"]["high_impact"] is True
    wrong = demo.api("POST", "/compliance/register", demo.admin_key, json=body | {"automated": 1})
    assert wrong.status_code == 400
