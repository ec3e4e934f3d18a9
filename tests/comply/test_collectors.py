"""Each collector against real state built in the test — and the requirement it decides.

The issue's cases: a foreign provider admitted for S fails N2SF-S; ARIA satisfies KCMVP and
AES does not; a tampered ledger fails integrity; the kill switch never vs once exercised;
labelling off fails art. 31; a high-impact app brings the art. 34 duties.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sumun.comply.assess import assess
from sumun.comply.collectors import COLLECTORS
from sumun.comply.gather import gather
from sumun.comply.scans import record_scan
from sumun.gateway.assemble import kill_switch_entry
from sumun.gateway.killswitch import KillSwitch
from sumun.store.directory import Directory
from tests.comply.conftest import APP, TENANT, Deployment

Deploy = Callable[..., Deployment]

_FOREIGN = {
    "name": "azure-kr",
    "kind": "openai",
    "base_url": "https://example.openai.azure.com/openai",
    "api_key_env": "AZURE_KEY",
}
_KR_REGION_FOREIGN = {
    "jurisdiction": "US",
    "hosting": "kr-region",
    "key_custody": "provider",
    "retention_days": 0,
    "training_use": False,
    "cross_border_basis": "contract",
}


def _with_provider(profile: dict[str, Any] | None) -> dict[str, Any]:
    provider = dict(_FOREIGN, **({"profile": profile} if profile else {}))
    return {
        "providers": [{"name": "demo", "kind": "demo"}, provider],
        "routes": [
            {"model": "demo", "targets": [{"provider": "demo", "model": "sumun-demo-1"}]},
            {"model": "gpt", "targets": [{"provider": "azure-kr", "model": "gpt-4o"}]},
        ],
    }


# -- policy: provider admissions vs profiles ----------------------------------------------------


def test_a_foreign_provider_admitted_for_s_fails_n2sf_s(deploy: Deploy) -> None:
    d = deploy(_with_provider(_KR_REGION_FOREIGN))
    item = d.assess()["N2SF-S"]
    assert item.status == "not-satisfied"
    evidence = item.evidence[0]
    assert evidence.ok is False
    assert "azure-kr (US, S)" in evidence.summary
    assert "admitted up to S; operator US, hosting kr-region" in str(evidence.details["azure-kr"])
    # The same provider with a declared basis satisfies PIPA 28-8's check (attestation left).
    assert d.assess()["PIPA-28-8"].status == "needs-attestation"
    # AI Basic Act art. 36 now concerns this deployment: a foreign operator is in use, and no
    # domestic representative is recorded for it.
    assert d.assess()["AIBA-36"].status == "not-satisfied"


def test_art_36_needs_a_domestic_representative_per_foreign_provider(deploy: Deploy) -> None:
    found = deploy(_with_provider(_KR_REGION_FOREIGN)).assess()["AIBA-36"]
    assert found.status == "not-satisfied"
    evidence = found.evidence[0]
    assert evidence.ok is False
    assert "no domestic representative (art. 36) recorded" in evidence.summary
    assert "azure-kr (US)" in evidence.summary
    assert "demo" not in evidence.summary  # KR, on-prem: not foreign
    assert evidence.advice is not None and "name: azure-kr" in evidence.advice
    assert "domestic_representative" in evidence.advice and "below-threshold" in evidence.advice
    assert evidence.details["azure-kr"] == "operator US; domestic representative NOT RECORDED"

    # An unknown jurisdiction counts as foreign too.
    unknown = deploy(_with_provider({"hosting": "abroad"})).assess()["AIBA-36"]
    assert unknown.status == "not-satisfied" and "azure-kr (unknown)" in unknown.reason

    for recorded in ("Example Korea LLC, rep@example.kr", "below-threshold"):
        profile = dict(_KR_REGION_FOREIGN, domestic_representative=recorded)
        d = deploy(_with_provider(profile))
        item = d.assess()["AIBA-36"]
        assert item.status == "needs-attestation", recorded  # the appointment's document left
        assert item.evidence[0].ok is True
        assert f"azure-kr ({recorded})" in item.evidence[0].summary
        # Shown in the report's provider table too.
        providers = d.report().to_json()["deployment"]["providers"]
        shown = {p["name"]: p["domestic_representative"] for p in providers}
        assert shown == {"demo": None, "azure-kr": recorded}


def test_without_a_cross_border_basis_the_provider_is_o_only_and_28_8_fails(
    deploy: Deploy,
) -> None:
    profile = dict(_KR_REGION_FOREIGN, cross_border_basis=None)
    d = deploy(_with_provider(profile))
    found = d.assess()
    assert found["N2SF-S"].status == "satisfied"  # admitted for O only
    assert found["PIPA-28-8"].status == "not-satisfied"
    assert "azure-kr" in found["PIPA-28-8"].reason


def test_domestic_only_deployment_makes_cross_border_not_applicable(deploy: Deploy) -> None:
    found = deploy().assess()
    assert found["N2SF-S"].status == "satisfied"
    assert found["PIPA-28-8"].status == "not-applicable"
    assert "no transfer abroad" in found["PIPA-28-8"].reason
    assert found["AIBA-36"].status == "not-applicable"


def test_unique_identifiers_sent_in_clear_fail_pipa_24(deploy: Deploy) -> None:
    d = deploy()
    assert d.assess()["PIPA-24"].status == "needs-attestation"  # built-in policy pseudonymizes
    (d.home / "policy.yaml").write_text("pii: {rules: [], default: allow}\n", encoding="utf-8")
    item = d.assess()["PIPA-24"]
    assert item.status == "not-satisfied"
    assert "sent in clear to providers hosted outside the organization: KR_RRN" in item.reason
    assert d.assess()["PIPA-24-2"].status == "not-satisfied"
    assert d.assess()["N2SF-GENAI"].status == "not-satisfied"  # no AI-DLP rule at all


def test_a_broken_policy_file_makes_policy_checks_undetermined(deploy: Deploy) -> None:
    d = deploy()
    (d.home / "policy.yaml").write_text("pii: {default: shred}\n", encoding="utf-8")
    item = d.assess()["PIPA-24"]
    assert item.status == "undetermined"
    assert "policy file does not validate" in item.reason


# -- keys -------------------------------------------------------------------------------------


def test_aria_satisfies_kcmvp_and_aes_does_not(deploy: Deploy) -> None:
    aes = deploy()
    aes.register(high_impact=False, sector="public")
    item = aes.assess()["KCMVP-CIPHER"]
    assert item.status == "not-satisfied"
    assert "the deployment encrypts with aes-256-gcm" in item.reason
    assert "AES is expected to be added to the KCMVP list in 2026 [unconfirmed: " in item.reason

    aria = deploy({"keys": {"suite": "aria-256-gcm"}})
    aria.register(high_impact=False, sector="public")
    aria.call()  # a payload sealed with ARIA, read back from its envelope header
    item = aria.assess()["KCMVP-CIPHER"]
    assert item.status == "satisfied", item.reason
    assert item.evidence[0].details["payload suites"] == "aria-256-gcm ×1"


def test_kcmvp_is_not_applicable_outside_the_public_sector(deploy: Deploy) -> None:
    item = deploy().assess()["KCMVP-CIPHER"]
    assert item.status == "not-applicable"
    assert "public sector" in item.reason


def test_sealed_keys_make_registry_checks_undetermined(deploy: Deploy) -> None:
    d = deploy()
    d.runtime.keys.seal(actor="test")
    found = d.assess()
    assert found["N2SF-CA.DATA"].status == "undetermined"
    rotation = next(e for e in found["N2SF-CA.DATA"].evidence if e.collector == "keys.rotation")
    assert rotation.ok is None and "keys are sealed" in rotation.summary
    # What home.json tells without keys is still decided.
    assert found["N2SF-CA.AUTH"].status == "satisfied"


def test_a_passphrase_seal_fails_the_custodian_quorum(deploy: Deploy) -> None:
    d = deploy()
    info = d.runtime.keys.status().to_json() | {"method": "passphrase", "threshold": 1}
    facts = gather(d.settings, key_status=info, key_origin="edited status")
    item = next(a for a in assess(d.catalog, facts) if a.requirement.id == "N2SF-CA.AUTH")
    assert item.status == "not-satisfied" and "one operator's passphrase" in item.reason


def test_an_old_primary_version_fails_rotation(deploy: Deploy) -> None:
    d = deploy()
    rotation = COLLECTORS["keys.rotation"]
    assert rotation(d.facts(), {"max_age_days": 365}, None).ok is True
    late = rotation(d.facts(now=time.time() + 400 * 86400), {"max_age_days": 365}, None)
    assert late.ok is False
    assert "not rotated for over 365 days: acme" in late.summary
    assert late.advice == "`sumun keys rotate acme` (old versions stay decrypt-only)"


# -- ledger -----------------------------------------------------------------------------------


def test_a_tampered_ledger_fails_the_integrity_requirement(deploy: Deploy) -> None:
    d = deploy()
    for _ in range(5):
        d.call()
    d.runtime.ledger.checkpoint()
    assert d.assess()["N2SF-LOG"].status == "satisfied"
    db = d.home / "ledger" / "ledger.db"
    with sqlite3.connect(db) as conn:
        (entry,) = conn.execute("SELECT entry FROM entries WHERE seq = 3").fetchone()
        forged = bytes(entry).replace(b'"decision":"allow"', b'"decision":"block"')
        assert forged != bytes(entry)
        conn.execute("UPDATE entries SET entry = ? WHERE seq = 3", (forged,))
    item = d.assess()["N2SF-LOG"]
    assert item.status == "not-satisfied"
    integrity = next(e for e in item.evidence if e.collector == "ledger.integrity")
    assert integrity.ok is False
    assert integrity.details["first bad seq"] == 3
    assert "ledger verification FAILED (first bad entry: #3)" in integrity.summary
    assert d.assess()["PIPA-29"].status == "not-satisfied"


def test_batched_durability_fails_the_log_requirement(deploy: Deploy) -> None:
    d = deploy({"ledger": {"durability": "batched"}})
    item = d.assess()["N2SF-LOG"]
    assert item.status == "not-satisfied"
    assert "ledger durability is batched" in item.reason


def test_a_stale_checkpoint_is_reported(deploy: Deploy) -> None:
    d = deploy()
    d.call()
    d.runtime.ledger.checkpoint()
    d.call()
    fresh = COLLECTORS["ledger.checkpoint"](d.facts(), {"max_age_hours": 24}, None)
    assert fresh.ok is True
    stale = COLLECTORS["ledger.checkpoint"](
        d.facts(now=time.time() + 2 * 86400), {"max_age_hours": 24}, None
    )
    assert stale.ok is False and "newer than the latest checkpoint" in stale.summary


# -- gateway ----------------------------------------------------------------------------------


def _drill(d: Deployment) -> None:
    switch = KillSwitch(d.home / "store.db")
    try:
        switch.cut("demo", "drill", "ops@test")
        d.runtime.ledger.append(kill_switch_entry("demo", "cut", "ops@test", "drill")).wait()
        switch.restore("demo", "ops@test")
        d.runtime.ledger.append(kill_switch_entry("demo", "restore", "ops@test", "drill")).wait()
    finally:
        switch.stop()


def test_kill_switch_never_exercised_vs_exercised(deploy: Deploy) -> None:
    d = deploy(rpm=600)
    item = d.assess()["N2SF-CA.CTRL"]
    assert item.status == "not-satisfied"
    assert "the kill switch has never been exercised" in item.reason
    _drill(d)
    item = d.assess()["N2SF-CA.CTRL"]
    assert item.status == "satisfied", item.reason
    switch = next(e for e in item.evidence if e.collector == "gateway.kill_switch")
    assert switch.details["cuts recorded"] == 1 and switch.details["restores recorded"] == 1
    assert "ledger admin-change entries" in switch.origin


def test_tenants_without_limits_fail_the_control_area(deploy: Deploy) -> None:
    d = deploy()
    _drill(d)
    item = d.assess()["N2SF-CA.CTRL"]
    assert item.status == "not-satisfied"
    assert "no rate limit or token budget for tenant(s) acme" in item.reason


def test_labelling_off_leaves_article_31_2_undetermined(deploy: Deploy) -> None:
    d = deploy()
    found = d.assess()
    # Art. 31(1) is the app's prior notice: an attestation, whatever the per-answer notice does.
    assert found["AIBA-31.1"].status == "needs-attestation" and not found["AIBA-31.1"].evidence
    assert found["AIBA-31.2"].status == "satisfied"
    assert "machine-readable, and with a visible Korean notice" in found["AIBA-31.2"].reason
    with d.directory() as directory:
        directory.update_tenant(TENANT, ai_notice=False)
    found = d.assess()
    assert found["AIBA-31.1"].status == "needs-attestation"
    # Only the machine-readable mark: the decree wants a notice a person can perceive, and the
    # app's own UI label would do — which Sumun cannot see.
    item = found["AIBA-31.2"]
    assert item.status == "undetermined"
    assert "only the machine-readable mark for tenant(s) acme" in item.reason
    assert "a notice a person can perceive is also required" in item.reason
    assert item.evidence[0].advice == (
        "`sumun tenants update acme --ai-notice`, or label outputs in the app's UI"
    )


def test_a_notice_without_korean_fails_article_31_2(deploy: Deploy) -> None:
    d = deploy(notice_text="This answer was generated by AI.")
    item = d.assess()["AIBA-31.2"]
    assert item.status == "not-satisfied" and "no Korean for tenant(s) acme" in item.reason
    assert d.assess()["AIBA-31.1"].status == "needs-attestation"


def test_undeclared_default_class_fails_n2sf_grade(deploy: Deploy) -> None:
    assert deploy().assess()["N2SF-GRADE"].status == "not-satisfied"
    assert deploy(default_data_class="s").assess()["N2SF-GRADE"].status == "satisfied"


def test_c_requirements_apply_once_c_data_is_seen(deploy: Deploy) -> None:
    d = deploy()
    assert d.assess()["N2SF-C"].status == "not-applicable"
    d.call(data_class="C")
    item = d.assess()["N2SF-C"]
    assert item.status == "not-satisfied"  # the embedded keystore is no HSM
    assert "expected: pkcs11 or openbao" in item.reason
    class_c = next(e for e in item.evidence if e.collector == "policy.class_c")
    assert class_c.ok is True and "demo" in class_c.summary  # the built-in on-prem provider


# -- register and oversight -------------------------------------------------------------------


def test_unregistered_apps_fail_article_33(deploy: Deploy) -> None:
    d = deploy()
    item = d.assess()["AIBA-33"]
    assert item.status == "not-satisfied" and "acme/loans" in item.reason
    d.register(high_impact=False)
    assert d.assess()["AIBA-33"].status == "satisfied"
    assert d.assess()["AIBA-34.1"].status == "not-applicable"


def test_a_high_impact_app_brings_the_article_34_duties(deploy: Deploy) -> None:
    d = deploy()
    d.register(high_impact=True, oversight=None)
    d.runtime.ledger.checkpoint()
    found = d.assess()
    subject = f"{TENANT}/{APP}"
    for rid in ("AIBA-34.1", "AIBA-34.2", "AIBA-34.3", "AIBA-35"):
        assert found[f"{rid}@{subject}"].status == "needs-attestation", rid
    oversight = found[f"AIBA-34.4@{subject}"]
    assert oversight.status == "not-satisfied"
    assert "no person named for oversight (Sumun's reading of art. 34(4))" in oversight.reason
    assert "no active auditor key for tenant acme" in oversight.reason
    assert found[f"AIBA-34.5@{subject}"].status == "needs-attestation"


def test_scans_decide_the_information_assets_area(deploy: Deploy) -> None:
    d = deploy()
    assert d.assess()["N2SF-CA.ASSET"].status == "not-satisfied"
    result = {
        "findings": [
            {"path": "m.pkl", "severity": "critical", "rule": "pickle.dangerous-global",
             "message": "os.system"},
        ],
        "components": [
            {"type": "machine-learning-model", "name": "m.pkl", "path": "m.pkl"},
            {"type": "service", "name": "OpenAI API", "provider": "openai",
             "jurisdiction": "US", "paths": ["app/chat.py"]},
        ],
        "summary": {"root": "/srv/models"},
    }  # fmt: skip
    record_scan(d.home, result, now=time.time())
    item = d.assess()["N2SF-CA.ASSET"]
    assert item.status == "not-satisfied"
    findings = next(e for e in item.evidence if e.collector == "scan.findings")
    assert "1 open finding(s) at high or above" in findings.summary
    services = next(e for e in item.evidence if e.collector == "scan.services")
    assert "OpenAI API (US)" in services.summary
    clean = {"findings": [], "components": result["components"][:1]}
    path = d.home / "clean.json"
    path.write_text(json.dumps(clean), encoding="utf-8")
    assert d.assess(scan_file=path)["N2SF-CA.ASSET"].status == "satisfied"


def test_an_old_scan_is_stale(deploy: Deploy) -> None:
    d = deploy()
    record_scan(d.home, {"findings": [], "components": []}, now=time.time() - 40 * 86400)
    latest = d.evidence("N2SF-CA.ASSET", "scan.latest")
    assert latest.ok is False and "more than 30 days" in latest.summary


def test_user_keys_without_an_app_fail_privileges(deploy: Deploy) -> None:
    d = deploy()
    assert d.assess()["N2SF-CA.PRIV"].status == "satisfied"
    with Directory(d.home / "store.db") as directory:
        directory.issue_key(TENANT, user="shared")
    item = d.assess()["N2SF-CA.PRIV"]
    assert item.status == "not-satisfied" and "not bound to an app" in item.reason


def test_pseudonymization_applies_only_when_a_rule_reaches_a_provider(deploy: Deploy) -> None:
    local = deploy().assess()
    assert local["PIPA-29-PSEUDO"].status == "not-applicable"
    assert "match no configured provider" in local["PIPA-29-PSEUDO"].reason
    d = deploy(_with_provider(_KR_REGION_FOREIGN))
    found = d.assess()
    assert found["PIPA-29-PSEUDO"].status == "satisfied"  # a safety measure: no 28-2 purpose
    assert "(a safety measure, art. 29)" in found["PIPA-29-PSEUDO"].reason
    assert "28-2" not in found["PIPA-29-PSEUDO"].reason
    evidence = found["PIPA-28-4"].evidence[0]
    assert evidence.ok is True
    assert "pseudonym tables (art. 28-4 additional information)" in evidence.details
    assert "pii.unique-id" in evidence.details
    assert "for azure-kr" in str(evidence.details["pii.unique-id"])
    assert "kept 30 days, sealed under the tenant's key" in evidence.summary


def test_overdue_destruction_fails_pipa_21(deploy: Deploy) -> None:
    d = deploy()
    lifecycle = d.runtime.keys.lifecycle
    lifecycle.create("old-tenant", actor="test")
    lifecycle.destroy_now("old-tenant", actor="test", shares=d.shares[:3])
    lifecycle.create("leaving", actor="test")
    lifecycle.schedule_destroy("leaving", actor="test", grace_days=1)
    now = d.evidence("PIPA-21", "keys.destruction")
    assert now.ok is True and "1 key(s) crypto-shredded, 1 scheduled" in now.summary
    late = COLLECTORS["keys.destruction"](d.facts(now=time.time() + 3 * 86400), {}, None)
    assert late.ok is False and "scheduled destruction overdue: leaving" in late.summary


def test_kcmvp_signatures_need_ecdsa(deploy: Deploy) -> None:
    aes = deploy()
    aes.register(high_impact=False, sector="public")
    assert aes.assess()["KCMVP-SIG"].status == "undetermined"  # nothing signed yet
    aes.runtime.ledger.checkpoint()
    item = aes.assess()["KCMVP-SIG"]
    assert item.status == "not-satisfied" and "signed with ed25519;" in item.reason
    aria = deploy({"keys": {"suite": "aria-256-gcm"}})
    aria.register(high_impact=False, sector="public")
    aria.runtime.ledger.checkpoint()
    assert aria.assess()["KCMVP-SIG"].status == "satisfied"


def test_public_sector_clouds_need_csap_and_korean_hosting(deploy: Deploy) -> None:
    d = deploy(_with_provider(_KR_REGION_FOREIGN))
    d.register(high_impact=False, sector="public")
    item = d.assess()["CSAP-GRADE"]
    assert item.status == "not-satisfied"
    assert "admitted for S data without CSAP-상 or CSAP-중: azure-kr" in item.reason
    certified = deploy(_with_provider(dict(_KR_REGION_FOREIGN, certifications=["CSAP-중"])))
    certified.register(high_impact=False, sector="public")
    assert certified.assess()["CSAP-GRADE"].status == "satisfied"
    abroad = deploy(_with_provider({"jurisdiction": "US", "hosting": "abroad"}))
    abroad.register(high_impact=False, sector="public")
    low = abroad.assess()["CSAP-LOW"]
    assert low.status == "not-satisfied" and "not hosted in Korea: azure-kr" in low.reason


def test_medical_records_abroad_fail_when_the_policy_admits_them(deploy: Deploy) -> None:
    abroad = dict(_KR_REGION_FOREIGN, hosting="abroad")
    d = deploy(_with_provider(abroad))
    d.register(high_impact=False, sector="healthcare")
    assert d.assess()["MED-EMR"].status == "needs-attestation"  # abroad ⇒ O only by default
    (d.home / "policy.yaml").write_text(
        "admission:\n  S: {hosting: [on-prem, kr-region, abroad]}\n", encoding="utf-8"
    )
    item = d.assess()["MED-EMR"]
    assert item.status == "not-satisfied"
    assert "admitted for S data but not hosted in Korea: azure-kr" in item.reason
