"""`sumun comply …` as an operator runs it.

The demo test runs the real `sumun demo` server and makes a real chat call through it; then
`sumun comply report` (in-process, to keep the suite fast) reads the running demo through its
admin channel (keys verified) — and again after the deployment changed. The workflow test runs
on SUMUN_HOME directly: register with the questionnaire, an auditor's review, attestations, a
scan import, exit codes and one-line errors.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sumun.cli.main import app
from sumun.store.directory import Directory
from tests.fixtures.demo import start_demo

SUMUN = [sys.executable, "-m", "sumun.cli.main"]


def _status(report: dict[str, Any], requirement: str) -> str:
    return next(r["status"] for r in report["requirements"] if r["id"] == requirement)


# -- the demo deployment, real processes ---------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    home = tmp_path / "demo"
    proc, ready = start_demo(home)
    try:
        yield home, ready
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def test_report_on_the_demo_deployment_and_after_changing_it(
    demo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, ready = demo
    reply = httpx.post(
        f"{ready['base_url']}/v1/chat/completions",
        headers={"authorization": f"Bearer {ready['api_key']}"},
        json={"model": "demo", "messages": [{"role": "user", "content": "안녕하세요"}]},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    runner = Runner(home)  # in-process CLI; the running demo answers on its admin channel
    report = runner.json("comply", "report")
    keys = report["deployment"]["keys"]
    assert keys["verified"] is True and "running Sumun" in keys["origin"]
    assert report["deployment"]["ledger"]["verified"] is True
    assert report["deployment"]["ledger"]["entries"] >= 2
    assert _status(report, "AIBA-31.1") == "needs-attestation"  # notice on; the app's own left
    assert _status(report, "AIBA-31.2") == "satisfied"
    assert _status(report, "AIBA-33") == "not-satisfied"  # demo/playground not registered
    assert _status(report, "N2SF-CA.SEP") == "satisfied"  # the demo tenant's own key, verified

    # Change the deployment (as `sumun tenants update demo --no-ai-notice` does), report again.
    with Directory(home / "store.db") as directory:
        directory.update_tenant("demo", ai_notice=False)
    html_file = tmp_path / "report.html"
    done = runner.run("comply", "report", "-o", str(html_file), "--fail-on", "not-satisfied")
    assert done.exit_code == 1, done.output
    assert "What to fix first" in done.stdout and "AIBA-33" in done.stdout
    html = html_file.read_text(encoding="utf-8")
    # Art. 31(2) asks for a notice a person can perceive; with Sumun's off, only the app's own
    # UI could give it — which Sumun cannot see: undetermined, not failed.
    assert "only the machine-readable mark for tenant(s) demo" in html
    assert html.count('class="req st-undetermined" id="AIBA-31.2"') == 1


# -- the workflow, in-process --------------------------------------------------------------------


class Runner:
    def __init__(self, home: Path) -> None:
        self.home = home
        self._runner = CliRunner()

    def run(self, *args: str, input: str | None = None, **env: str) -> Any:
        return self._runner.invoke(
            app,
            list(args),
            input=input,
            env={"SUMUN_HOME": str(self.home), "SUMUN_CONFIG": "", "COLUMNS": "200", **env},
            catch_exceptions=False,
        )

    def json(self, *args: str, **env: str) -> Any:
        result = self.run(*args, "--json", **env)
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def sumun(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """One deployment for the tests that only read or fail (they change nothing)."""
    runner = Runner(tmp_path_factory.mktemp("comply") / "home")
    runner.json("init", "--custodians", "3", "--threshold", "2")
    runner.json("tenants", "create", "acme", "--rpm", "60")
    runner.json("tenants", "apps", "create", "acme", "loans")
    return runner


def _quorum(shares: list[str]) -> list[str]:
    return [arg for share in shares[:2] for arg in ("--share", share)]


def test_register_review_attest_and_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = Runner(tmp_path / "home")
    shares = runner.json("init", "--custodians", "3", "--threshold", "2")["shares"]
    runner.json("tenants", "create", "acme", "--rpm", "60")
    runner.json("tenants", "apps", "create", "acme", "loans")
    quorum = _quorum(shares)
    runner.json("keys", "create", "acme", *quorum)

    # Without a terminal and without the answers, the error lists what to pass.
    mute = runner.run("comply", "register", "acme/loans", "--purpose", "대출 심사 보조",
                      "--high-impact", "ask", "--area", "rights-decisions",
                      "--significant", "yes")  # fmt: skip
    assert mute.exit_code == 2 and "--automated yes|no|unsure" in mute.output
    # A person makes the final decision: a listed area, but not high-impact (MSIT, Jan 2026).
    human = runner.json("comply", "register", "acme/loans", "--purpose", "대출 심사 보조",
                        "--sector", "finance", "--high-impact", "ask", "--area",
                        "rights-decisions", "--significant", "yes",
                        "--automated", "no")  # fmt: skip
    assert human["high_impact"] is False
    assert human["determination"]["automated"] == "no"
    # The questionnaire, answered at a terminal (typed on stdin here): area 7 (사, loan
    # screening), significant: yes, automated: yes.
    monkeypatch.setattr("sumun.cli._comply_register.interactive", lambda: True)
    asked = runner.run(
        "comply", "register", "acme/loans", "--purpose", "대출 심사 보조", "--sector", "finance",
        "--high-impact", "ask", "--model", "demo", "--oversight", "Kim <kim@acme.kr>",
        input="7\nyes\nyes\n",
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    assert "HIGH-IMPACT" in asked.stdout and "(사)" in asked.stdout
    assert "without a person making the final decision" in asked.stdout
    listed = runner.json("comply", "register", "--list")["apps"]
    assert listed[0]["subject"] == "acme/loans" and listed[0]["high_impact"] is True
    assert listed[0]["determination"]["areas"] == ["rights-decisions"]

    auditor = runner.json("tenants", "keys", "issue", "--tenant", "acme", "--role", "auditor",
                          "--user", "kim")["api_key"]  # fmt: skip
    call = runner.json("ledger", "append", "--tenant", "acme", "--kind", "request-admitted",
                       "--attr", "app=loans")["seq"]  # fmt: skip
    review = runner.json(
        "comply", "review", str(call), "--flag", "--decision", "override",
        "--annotate", "거절 사유 재검토", *quorum, SUMUN_AUDITOR_KEY=auditor,
    )  # fmt: skip
    assert review["reviewed_seq"] == call and review["app"] == "acme/loans"
    shown = runner.json("comply", "reviews", "--decrypt", *quorum)["reviews"]
    assert shown == [
        {
            "seq": review["seq"], "reviewed_seq": call, "app": "acme/loans",
            "reviewer": shown[0]["reviewer"], "reviewer_user": "kim", "flag": True,
            "decision": "override", "time": shown[0]["time"], "annotated": True,
            "annotation": "거절 사유 재검토",
        }
    ]  # fmt: skip
    assert runner.run("ledger", "verify").exit_code == 0  # the review verifies with the rest

    plan = tmp_path / "risk-plan.pdf"
    plan.write_bytes(b"%PDF-1.4 risk management plan")
    attested = runner.json(
        "comply", "attest", "AIBA-34.1", "--app", "acme/loans", "--by", "Kim (CISO)",
        "--file", str(plan), "--ref", "https://acme.kr/ai/risk",
    )  # fmt: skip
    assert attested["documents"][0]["sha256"] and attested["ledger_seq"] > review["seq"]
    assert (runner.home / attested["documents"][0]["stored"]).read_bytes() == plan.read_bytes()

    scan = tmp_path / "scan.json"
    scan.write_text(json.dumps({"findings": [], "components": []}), encoding="utf-8")
    runner.json("comply", "scan-import", str(scan))

    report = runner.json("comply", "report", *quorum)
    assert report["deployment"]["keys"]["verified"] is True
    assert _subject_status(report, "AIBA-34.1", "acme/loans") == "satisfied"
    assert _subject_status(report, "AIBA-34.2", "acme/loans") == "needs-attestation"
    assert _subject_status(report, "AIBA-34.4", "acme/loans") == "needs-attestation"
    assert _status(report, "AIBA-33") == "satisfied"
    assert _status(report, "FIN-LOC") == "needs-attestation"  # finance app: localisation
    assert _status(report, "N2SF-CA.ASSET") == "satisfied"
    failing = runner.run("comply", "report", "--json", "--fail-on", "not-satisfied")
    assert failing.exit_code == 1


def _subject_status(report: dict[str, Any], requirement: str, subject: str) -> str:
    return next(
        r["status"]
        for r in report["requirements"]
        if r["id"] == requirement and r["subject"] == subject
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["comply", "register", "acme/nope", "--purpose", "x y z"], {}, "no app 'nope'"),
        (["comply", "register", "loans"], {}, "name the app as TENANT/APP"),
        (
            ["comply", "register", "acme/loans", "--purpose", "chat", "--high-impact", "maybe"],
            {},
            "--high-impact must be yes, no or ask",
        ),
        (
            ["comply", "register", "acme/loans", "--purpose", "chat", "--sector", "other"],
            {},
            "the high-impact questionnaire needs answers",
        ),
        (["comply", "attest", "NOPE-1", "--by", "k", "--ref", "x"], {}, "no requirement"),
        (["comply", "attest", "AIBA-33", "--by", "k", "--ref", "x"], {}, "checked automatically"),
        (["comply", "attest", "AIBA-34.1", "--by", "k", "--ref", "x"], {}, "is per app"),
        (["comply", "review", "0", "--decision", "confirm"], {}, "SUMUN_AUDITOR_KEY"),
        (
            ["comply", "review", "0", "--decision", "confirm"],
            {"SUMUN_AUDITOR_KEY": "sk-sumun-aaaaaaaaaa-" + "a" * 40},
            "invalid API key",
        ),
        (["comply", "report", "--format", "pdf"], {}, "--format must be html or json"),
        (["comply", "report", "--fail-on", "satisfied"], {}, "--fail-on must be"),
        (["comply", "scan-import", "missing.json"], {}, "no such scan result"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    sumun: Runner, args: list[str], env: dict[str, str], message: str
) -> None:
    result = sumun.run(*args, **env)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_user_key_cannot_review(sumun: Runner) -> None:
    user = sumun.json("tenants", "keys", "issue", "--tenant", "acme", "--app", "loans")["api_key"]
    result = sumun.run("comply", "review", "0", "--decision", "confirm", SUMUN_AUDITOR_KEY=user)
    assert result.exit_code == 2
    assert "role user, which may not review; that needs role auditor" in result.stderr


def test_catalog_lists_requirements_and_collectors(sumun: Runner) -> None:
    data = sumun.json("comply", "catalog")
    assert len(data["requirements"]) >= 35 and "keys.suite" in data["collectors"]
    human = sumun.run("comply", "catalog")
    assert human.exit_code == 0 and "[unconfirmed]" in human.stdout
