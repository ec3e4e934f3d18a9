"""`sumun policy check|explain` as users run them (real processes, a config with providers)."""

from __future__ import annotations

import json

from tests.cli.test_cli_keys import Cli

CONFIG = """\
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
RRN = "900101-1234568"


def _setup(cli: Cli, policy: str | None = None) -> None:
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "sumun.yaml").write_text(CONFIG, encoding="utf-8")
    if policy is not None:
        (cli.home / "policy.yaml").write_text(policy, encoding="utf-8")


def test_explain_prints_class_findings_rules_and_the_text_as_it_leaves(cli: Cli) -> None:
    _setup(cli)
    text = f"고객 주민번호는{RRN}, 연락처 010-1234-5678"
    out = cli.json("policy", "explain", "--model", "gpt", "--text", text)
    assert out["decision"] == "transform" and out["providers"] == ["gpt-abroad"]
    assert {f["type"] for f in out["findings"]} == {"KR_RRN", "PHONE_KR"}
    assert "pii.unique-id" in out["rules"]
    assert out["text_out"] == ["고객 주민번호는[주민등록번호_1], 연락처 [전화번호_1]"]
    human = cli.run("policy", "explain", "--model", "gpt", "--text", text)
    assert human.returncode == 0 and "transform" in human.stdout and "KR_RRN" in human.stdout


def test_explain_reads_a_request_body_from_stdin_and_reroutes_classified_data(cli: Cli) -> None:
    _setup(cli)
    body = {"model": "gpt", "messages": [{"role": "user", "content": "Ⅱ급 비밀: 작전 계획 요약"}]}
    proc = cli.run("policy", "explain", "--model", "gpt", "--json", input_text=json.dumps(body))
    out = json.loads(proc.stdout)
    assert out["data_class"] == "C" and out["decision"] == "reroute"
    assert out["providers"] == ["local"] and "class.marker.graded-secret" in out["rules"]


def test_explain_uses_the_policy_file_and_shows_a_block(cli: Cli) -> None:
    _setup(cli, "pii:\n  rules:\n    - {id: pii.rrn-never, types: [KR_RRN], action: block}\n")
    out = cli.json("policy", "explain", "--model", "gpt", "--text", f"번호 {RRN}")
    assert out["decision"] == "block" and "pii.rrn-never" in out["rules"]
    assert RRN not in out["reason"]


def test_check_reports_line_numbered_errors_with_exit_2(cli: Cli) -> None:
    _setup(cli, "pii:\n  rules:\n    - {id: pii.x, types: [KR_RRN], action: erase}\n")
    proc = cli.run("policy", "check")
    assert proc.returncode == 2
    assert "policy.yaml:3:" in proc.stderr and "pii.rules[0].action" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Everything that loads the policy refuses the same file with the same message.
    served = cli.run("policy", "explain", "--text", "hi")
    assert served.returncode == 2 and "policy.yaml:3:" in served.stderr


def test_check_accepts_a_valid_file(cli: Cli) -> None:
    _setup(cli, "pii:\n  default: mask\n")
    proc = cli.run("policy", "check")
    assert proc.returncode == 0 and "default mask" in proc.stdout


def test_reidentify_opens_a_sealed_table_and_records_the_access(cli: Cli) -> None:
    import base64

    from sumun.store.pseudonyms import PseudonymVault

    shares = cli.json("init", "--custodians", "3", "--threshold", "2")["shares"]
    quorum = [arg for share in shares[:2] for arg in ("--share", share)]
    assert cli.run("keys", "create", "acme", *quorum).returncode == 0
    table = {"[주민등록번호_1]": RRN}
    sealed = cli.run(
        "keys", "encrypt", "acme", "--record", "req-1", "--purpose", "pseudonym-map", *quorum,
        input_text=json.dumps(table, ensure_ascii=False),
    )  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    vault = PseudonymVault(cli.home / "pseudonyms.db")
    vault.put("req-1", "acme", base64.b64decode(sealed.stdout.strip()))
    vault.close()

    out = cli.json("policy", "reidentify", "req-1", "--reason", "민원 처리 확인", *quorum)
    assert out["table"] == table and out["tenant"] == "acme"
    entries = cli.json("ledger", "tail", "-n", "5")["entries"]
    access = [e for e in entries if e["entry"]["attrs"].get("action") == "pseudonyms-reidentified"]
    assert len(access) == 1 and access[0]["seq"] == out["seq"]
    attrs = access[0]["entry"]["attrs"]
    assert attrs["request_id"] == "req-1" and attrs["reason"] == "민원 처리 확인"
    assert RRN not in json.dumps(access[0]["entry"], ensure_ascii=False)  # never the values

    missing = cli.run("policy", "reidentify", "req-2", "--reason", "x", *quorum)
    assert missing.returncode == 2 and "no pseudonym table for request 'req-2'" in missing.stderr
    # A table sealed for one request does not open as another's (the context binds it).
    vault = PseudonymVault(cli.home / "pseudonyms.db")
    vault.put("req-3", "acme", base64.b64decode(sealed.stdout.strip()))
    vault.close()
    swapped = cli.run("policy", "reidentify", "req-3", "--reason", "x", *quorum)
    assert swapped.returncode != 0 and "Traceback" not in swapped.stderr


def test_explain_refuses_a_bad_class_in_one_line(cli: Cli) -> None:
    _setup(cli)
    for option in ("--class", "--tenant-default"):
        proc = cli.run("policy", "explain", "--text", "hi", option, "X")
        assert proc.returncode == 2 and "'X': a data class is C, S or O" in proc.stderr
        assert "Traceback" not in proc.stderr
