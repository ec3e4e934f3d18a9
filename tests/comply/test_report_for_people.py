"""The printable report as a person reads it (issue 18, Rule 1): evidence that does not settle
an item says so, commands never wrap inside a word, each gap carries its own remedy, values are
words and the system has a name, and scans of other paths neither count nor go unnamed.
"""

from __future__ import annotations

import html as htmlmod
import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sumun.comply.assess import assess
from sumun.comply.collectors import COLLECTORS
from sumun.comply.model import Assessment, Evidence
from sumun.comply.present import commands, human
from sumun.comply.report import build_report, render_html
from sumun.comply.scans import record_scan
from tests.comply.conftest import Deployment
from tests.comply.test_collectors import _drill

Deploy = Callable[..., Deployment]


def _html(d: Deployment, **kwargs: Any) -> str:
    facts = d.facts(**kwargs)
    return render_html(build_report(d.catalog, facts, assess(d.catalog, facts)))


def _visible(page: str) -> str:
    """The text a reader sees: no style block, no tags, entities decoded."""
    body = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    body = re.sub(r"<title>.*?</title>", " ", body, flags=re.S)
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", body))


def _articles(page: str) -> dict[str, str]:
    """Each requirement card's HTML by its id attribute."""
    found = re.findall(
        r'<article class="req st-([a-z-]+)" id="([^"]+)">(.*?)</article>', page, re.S
    )
    return {ident: f"{status}|{body}" for status, ident, body in found}


# -- 2. evidence on a card that is not satisfied is supporting only ---------------------------


def test_needs_attestation_cards_mark_evidence_as_supporting_only(deploy: Deploy) -> None:
    d = deploy(rpm=600)
    page = _html(d)
    cards = _articles(page)
    attest = {k: v for k, v in cards.items() if v.startswith("needs-attestation|")}
    with_evidence = {k: v for k, v in attest.items() if '<ul class="evidence">' in v}
    assert with_evidence, "a needs-attestation card with evidence lines is expected"
    for ident, card in with_evidence.items():
        assert 'class="ev-pass"' not in card, ident  # no green ✔ where nothing is settled
        assert 'class="ev-support"' in card, ident
        text = " ".join(_visible(card).split())
        assert "This evidence supports but does not settle the item; an attestation is needed:" in (
            text
        ), ident
        assert f"sumun comply attest {ident}" in text, ident
        assert "supporting only" in text
    satisfied = [v for v in cards.values() if v.startswith("satisfied|") and "<ul" in v]
    assert satisfied and all('class="ev-pass"' in v for v in satisfied)
    assert all("ev-support" not in v and "supports but" not in v for v in satisfied)
    css = page.split("<style>")[1].split("</style>")[0]
    assert '.ev-support::before { content: "○ "' in css and "var(--na)" in css


# -- 3. commands never wrap inside a token ---------------------------------------------------


def test_commands_are_tokens_that_never_break_inside(deploy: Deploy) -> None:
    page = _html(deploy())
    css = page.split("<style>")[1].split("</style>")[0]
    assert "break-all" not in css and "code.cmd .tok { white-space: nowrap; }" in css
    assert "overflow-x: auto" in css.split("code.cmd {")[1].split("}")[0]
    blocks = re.findall(r'<code class="cmd">(.*?)</code>', page, re.S)
    assert len(blocks) > 10
    for block in blocks:
        # every word of a command is one nowrap span, and only single spaces lie between them
        word = r'<span class="tok">[^\s<]+</span>'
        assert re.fullmatch(rf"{word}( {word})*", block), block
    joined = [" ".join(re.findall(r'<span class="tok">([^<]+)</span>', b)) for b in blocks]
    assert "sumun providers cut demo --reason drill" in [htmlmod.unescape(j) for j in joined]
    assert "`" not in _visible(page)  # every `command` of the advice became a code block


def test_commands_filter_escapes_and_keeps_prose() -> None:
    out = str(commands("run `sumun scan <dir> --record` now (sumun comply areas)"))
    assert out.startswith('run <code class="cmd"><span class="tok">sumun</span> ')
    assert "&lt;dir&gt;" in out and " now (<code" in out and "areas</span></code>)" in out


# -- 4. each gap carries its own remedy ------------------------------------------------------

# Every failing (✘) and undetermined (?) check's advice must name its own subject: a pattern
# of the remedy for that collector. A collector missing here fails the test: audit it, add it.
FAILING: dict[str, str] = {
    "directory.classification": r"--default-class",
    "directory.key_roles": r"keys issue",
    "gateway.kill_switch": r"sumun providers cut",
    "gateway.output_label": r"notice",
    "gateway.rate_limits": r"--rpm",
    "keys.backend": r"backend",
    "keys.destruction": r"keys destroy|unseal",
    "keys.quorum": r"--custodians",
    "keys.rotation": r"sumun keys rotate",
    "keys.suite": r"--suite",
    "keys.tenant_keys": r"ledger verify",
    "ledger.app_records": r"ledger verify",
    "ledger.checkpoint": r"ledger checkpoint",
    "ledger.durability": r"durability",
    "ledger.encrypted_payloads": r"ledger verify",
    "ledger.integrity": r"ledger verify",
    "ledger.signing": r"ECDSA",
    "oversight.reviews": r"--role auditor|comply review",
    "policy.certifications": r"certification",
    "policy.class_c": r"admission\.C",
    "policy.cross_border": r"cross_border_basis",
    "policy.foreign_admission": r"to O data",
    "policy.foreign_providers": r"domestic_representative",
    "policy.localisation": r"admission\.S\.hosting",
    "policy.pii_actions": r"PII rule|output: \{scan",
    "policy.unique_ids": r"PII rule|floor_types",
    "policy.pseudonymization": r"pseudonym",  # never fails today; would need its remedy
    "register.coverage": r"sumun comply register",
    "register.entry": r"sumun comply register",
    "scan.findings": r"sumun scan",
    "scan.latest": r"sumun scan",
    "scan.services": r"base_url",
    "xks.keys_held": r"xks keys",
    "xks.kill_switch_drilled": r"xks",
    "xks.uses_recorded": r"xks",
}
# Undetermined: the remedy is to make the state readable — for that collector's source.
_FAMILY = {
    "keys": r"--share|sumun status",
    "ledger": r"ledger verify",
    "policy": r"policy check",
    "directory": r"sumun tenants",
    "gateway": r"sumun tenants|notice",
    "register": r"sumun tenants apps create",
    "oversight": r"ledger verify",
    "scan": r"sumun scan",
    "xks": r"--share|xks|ledger verify|sumun status",
}


def _gaps(found: dict[str, Assessment]) -> list[tuple[str, Evidence]]:
    return [(k, e) for k, a in found.items() for e in a.evidence if e.applies and e.ok is not True]


def _check_gap(where: str, e: Evidence) -> None:
    assert e.collector in FAILING, f"{e.collector} ({where}) is not audited: add it to the map"
    assert e.advice, f"{e.collector} gives no remedy for: {e.summary}"
    pattern = FAILING[e.collector] if e.ok is False else _FAMILY[e.collector.split(".")[0]]
    assert re.search(pattern, e.advice), (e.collector, e.ok, e.advice)


def test_the_remedy_map_covers_every_collector() -> None:
    assert set(FAILING) == set(COLLECTORS)
    assert {name.split(".")[0] for name in COLLECTORS} <= set(_FAMILY)


def test_every_gap_has_a_remedy_about_itself(deploy: Deploy) -> None:
    d = deploy()  # no limits, no drill, no scan, undeclared class, unregistered app
    found = d.assess()
    gaps = _gaps(found)
    seen = {e.collector for _k, e in gaps}
    assert {"gateway.rate_limits", "gateway.kill_switch", "scan.latest"} <= seen
    for where, e in gaps:
        _check_gap(where, e)
    d.runtime.keys.seal(actor="test")
    sealed = _gaps(d.assess())
    assert any(e.collector == "keys.rotation" and e.ok is None for _k, e in sealed)
    for where, e in sealed:
        _check_gap(where, e)


def test_a_rate_limit_gap_suggests_limits_not_a_drill(deploy: Deploy) -> None:
    d = deploy()
    _drill(d)  # the kill switch is drilled: only the limits are missing
    report = build_report(d.catalog, d.facts(), tuple(d.assess().values()))
    rows = [t for t in report.summary.top_failures if t.id == "N2SF-CA.CTRL"]
    assert len(rows) == 1
    assert "rate limit" in rows[0].problem
    assert rows[0].advice and "--rpm" in rows[0].advice
    assert "providers cut" not in rows[0].advice and rows[0].remedy_en is None
    page = render_html(report)
    fix_first = page.split('id="summary"')[1].split("</section>")[0]
    row = next(r for r in fix_first.split("<tr>") if "N2SF-CA.CTRL" in r)
    assert "providers" not in row and "drill" not in row and "--rpm" in row


def test_two_gaps_of_one_requirement_are_two_rows(deploy: Deploy) -> None:
    d = deploy()
    report = build_report(d.catalog, d.facts(), tuple(d.assess().values()))
    rows = {
        t.problem: t.advice or "" for t in report.summary.top_failures if t.id == "N2SF-CA.CTRL"
    }
    assert len(rows) == 2
    drill = next(a for p, a in rows.items() if "kill switch" in p)
    limits = next(a for p, a in rows.items() if "rate limit" in p)
    assert "providers cut" in drill and "--rpm" not in drill
    assert "--rpm" in limits and "providers cut" not in limits


# -- 5. the system's name; values in words ---------------------------------------------------


def test_values_are_words_and_the_home_path_is_not_shown(deploy: Deploy) -> None:
    d = deploy()
    text = _visible(_html(d))
    for raw in ("True", "False", "None"):
        assert not re.search(rf"\b{raw}\b", text), raw
    assert not re.search(r"\[\s*'|\[\s*\"|\(\s*'", text)  # no list or tuple repr
    assert str(d.home) not in text
    assert "$SUMUN_HOME/store.db" in text  # where the evidence came from, inside the home
    assert f"Sumun at {socket.gethostname()}" in text  # the default name of the system
    assert "answers scanned" in text  # a detail that is a bool …
    assert re.search(r"answers scanned\s+yes", text)  # … shown as a word


def test_the_configured_system_name_heads_the_report(deploy: Deploy) -> None:
    d = deploy({"comply": {"system_name": "여신심사 AI 게이트웨이"}})
    page = _html(d)
    assert '<strong class="system-name">여신심사 AI 게이트웨이</strong>' in page
    assert d.report().to_json()["deployment"]["system_name"] == "여신심사 AI 게이트웨이"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (True, "yes"),
        (False, "no"),
        (None, "—"),
        (["a", "b"], "a, b"),
        ("['KR_RRN', 'KR_FRN']", "KR_RRN, KR_FRN"),
        ("None", "—"),
        (1234, "1,234"),
        (0.5, "0.5"),
        ("plain", "plain"),
    ],
)
def test_human(value: object, words: str) -> None:
    assert human(value) == words


# -- 6. scans: the path and when, and other scans apart --------------------------------------


def _scan(root: str, *, critical: int = 0) -> dict[str, Any]:
    return {
        "findings": [{"path": "m.pkl", "severity": "critical", "rule": "pickle.dangerous-global"}]
        * critical,
        "components": [{"type": "machine-learning-model", "name": "m", "path": "m.pkl"}],
        "summary": {"root": root},
    }


def test_scans_outside_the_model_paths_are_other_scans(deploy: Deploy, tmp_path: Path) -> None:
    models, elsewhere = tmp_path / "models", tmp_path / "someone-elses-repo"
    models.mkdir()
    elsewhere.mkdir()
    d = deploy({"comply": {"model_paths": [str(models)]}})
    now = time.time()
    record_scan(d.home, _scan(str(models / "llm")), now=now - 3600)
    record_scan(d.home, _scan(str(elsewhere), critical=2), now=now)  # newer, and bad
    item = d.assess()["N2SF-CA.ASSET"]
    assert item.status == "satisfied", item.reason  # the unrelated scan does not count
    findings = next(e for e in item.evidence if e.collector == "scan.findings")
    assert f"in the scan of {models / 'llm'} on " in findings.summary and " UTC" in findings.summary
    data = d.report().to_json()["deployment"]
    assert [s["target"] for s in data["scans"]] == [str(models / "llm")]
    assert [s["target"] for s in data["other_scans"]] == [str(elsewhere)]
    assert data["other_scans"][0]["by_severity"]["critical"] == 2
    page = _html(d)
    other = page.split('id="other-scans"')[1].split("</tr>")[0]
    assert str(elsewhere) in other and "not counted against the deployment" in other


def test_without_model_paths_the_newest_scan_counts_and_is_named(
    deploy: Deploy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = deploy()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repo").mkdir()
    record_scan(d.home, _scan(str(tmp_path / "models")), now=time.time() - 60)
    record_scan(d.home, _scan("repo", critical=1), now=time.time())  # relative: resolved
    item = d.assess()["N2SF-CA.ASSET"]
    assert item.status == "not-satisfied"
    findings = next(e for e in item.evidence if e.collector == "scan.findings")
    assert f"1 open finding(s) at high or above in the scan of {tmp_path / 'repo'} on " in (
        findings.summary
    )
    assert f"sumun scan {tmp_path / 'repo'} --record" in (findings.advice or "")
    data = d.report().to_json()["deployment"]
    assert [s["target"] for s in data["other_scans"]] == [str(tmp_path / "models")]


def test_with_model_paths_but_no_scan_of_them(deploy: Deploy, tmp_path: Path) -> None:
    models = tmp_path / "models"
    d = deploy({"comply": {"model_paths": [str(models)]}})
    record_scan(d.home, _scan(str(tmp_path / "other"), critical=1), now=time.time())
    latest = d.evidence("N2SF-CA.ASSET", "scan.latest")
    assert latest.ok is False
    assert f"no scan of the deployment's model paths ({models})" in latest.summary
    assert "1 scan(s) of other paths do not count" in latest.summary
    assert latest.advice == f"`sumun scan {models} --record`"


def test_an_imported_scan_keeps_only_an_absolute_root(deploy: Deploy, tmp_path: Path) -> None:
    d = deploy()
    latest = record_scan(d.home, _scan("relative/elsewhere"), now=time.time(), resolve_root=False)
    assert "target" not in json.loads(latest.read_text(encoding="utf-8"))
    latest = record_scan(d.home, _scan("/srv/models"), now=time.time(), resolve_root=False)
    assert json.loads(latest.read_text(encoding="utf-8"))["target"] == "/srv/models"
