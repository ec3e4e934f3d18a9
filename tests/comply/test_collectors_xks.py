"""The XKS collectors as pure functions of built facts: every status each one can answer, and
the requirement that uses them (PIPA-29-CLOUDKEY) as the assessment decides it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sumun.comply.assess import assess
from sumun.comply.catalog import Catalog
from sumun.comply.collectors import COLLECTORS
from sumun.comply.facts import (
    DirectoryFacts,
    Facts,
    KeyFacts,
    LedgerActivity,
    LedgerFacts,
    PolicyFacts,
    XksActivity,
    XksDrill,
    XksFacts,
    XksKeyFact,
    XksKeystoreFact,
)
from sumun.comply.model import Evidence
from sumun.policy.rules import DEFAULT_POLICY

NOW = 1_800_000_000.0
DAY = 86400.0
REQUIREMENT = "PIPA-29-CLOUDKEY"


def _ms(ts: float) -> int:
    return int(ts * 1000)


KEYSTORE = XksKeystoreFact("bank", "/kms/bank", NOW - 30 * DAY, 2, 1)


def _key(
    key_id: str = "s3-data", state: str | None = "enabled", backend: str | None = "pkcs11"
) -> XksKeyFact:
    return XksKeyFact(key_id, "bank", "both", NOW - 20 * DAY, state, backend)


def _drill(
    days_ago: float = 3, *, refusals: int = 4, complete: bool = True, key_id: str = "s3-data"
) -> XksDrill:
    disabled = NOW - days_ago * DAY
    return XksDrill(
        key_id=key_id,
        disabled_seq=40,
        disabled_ms=_ms(disabled),
        disabled_by="ops@bank",
        enabled_seq=47 if complete else None,
        enabled_ms=_ms(disabled + 300) if complete else None,
        enabled_by="ops@bank" if complete else None,
        refusals=refusals,
        first_refusal_ms=_ms(disabled + 10) if refusals else None,
        last_refusal_ms=_ms(disabled + 200) if refusals else None,
    )


CALLS = XksActivity(
    calls=12,
    by_operation={
        "Decrypt": {"InvalidStateException": 4, "ok": 5},
        "Encrypt": {"ok": 2},
        "GetHealthStatus": {"ok": 1},
    },
    with_metadata=11,
    principals={"arn:aws:iam::111122223333:role/S3Reader": 9, "arn:aws:iam::111:user/x": 2},
    via_services={"s3.ap-northeast-2.amazonaws.com": 9},
    first_ms=_ms(NOW - 10 * DAY),
    last_ms=_ms(NOW - 60),
    drills=(_drill(),),
)


def _facts(
    *,
    xks: XksFacts | None = None,
    calls: XksActivity = CALLS,
    keys: dict[str, Any] | None = None,
    ledger: dict[str, Any] | None = None,
) -> Facts:
    key_facts = KeyFacts(
        origin="test key status",
        initialised=True,
        sealed=False,
        verified=True,
        backend="pkcs11",
        suite="aes-256-gcm",
    )
    ledger_facts = LedgerFacts(
        origin="ledger fsck of test",
        store="sqlite",
        location="test",
        durability="strict",
        batch_delay_ms=0,
        size=100,
        verified=True,
        activity=LedgerActivity(xks=calls),
    )
    return Facts(
        now=NOW,
        home="/srv/sumun",
        config_file=None,
        keys=dataclasses.replace(key_facts, **(keys or {})),
        ledger=dataclasses.replace(ledger_facts, **(ledger or {})),
        directory=DirectoryFacts(origin="test directory", exists=True),
        policy=PolicyFacts(
            origin="test policy",
            providers=(),
            rules=DEFAULT_POLICY.admission.rules(),
            unique_identifiers=frozenset(),
        ),
        scan=None,
        xks=xks
        if xks is not None
        else XksFacts(
            origin="XKS tables in test",
            configured=True,
            listen="127.0.0.1:8482",
            keystores=(KEYSTORE,),
            keys=(_key(), _key("ebs-vol", state="disabled")),
        ),
    )


def _run(collector: str, facts: Facts, **params: Any) -> Evidence:
    return COLLECTORS[collector](facts, params, None)


def _configured(*keys: XksKeyFact) -> XksFacts:
    return XksFacts(
        origin="XKS tables in test", configured=True, keystores=(KEYSTORE,), keys=tuple(keys)
    )


ALL = ("xks.keys_held", "xks.uses_recorded", "xks.kill_switch_drilled")


# -- not configured, unreadable ---------------------------------------------------------------


@pytest.mark.parametrize("collector", ALL)
def test_without_a_keystore_every_check_is_moot(collector: str) -> None:
    found = _run(collector, _facts(xks=XksFacts(origin="XKS tables in test")))
    assert found.applies is False and found.ok is True
    assert "no AWS KMS external key store is configured" in found.summary
    listening = _run(collector, _facts(xks=XksFacts(origin="o", listen="0.0.0.0:8482")))
    assert "xks.listen is 0.0.0.0:8482 but no keystore exists" in listening.summary


@pytest.mark.parametrize("collector", ALL)
def test_unreadable_xks_tables_are_undetermined(collector: str) -> None:
    found = _run(collector, _facts(xks=XksFacts(origin="o", error="database is locked")))
    assert found.ok is None and found.applies
    assert "database is locked" in found.summary


def test_the_requirement_is_not_applicable_without_xks(catalog: Catalog) -> None:
    facts = _facts(xks=XksFacts(origin="XKS tables in test"))
    item = next(a for a in assess(catalog, facts) if a.requirement.id == REQUIREMENT)
    assert item.status == "not-applicable"
    assert "no AWS KMS external key store" in item.reason


# -- xks.keys_held ----------------------------------------------------------------------------


def test_keys_held_on_an_organization_backend() -> None:
    found = _run("xks.keys_held", _facts())
    assert found.ok is True
    assert "2 external key(s) held by the organization in the PKCS#11 HSM (1 enabled)" in (
        found.summary
    )
    assert found.details["keystore bank"] == (
        "URI prefix /kms/bank; 2 active SigV4 credential(s), 1 revoked"
    )
    assert found.details["key ebs-vol"] == "keystore bank, usage both, disabled, on pkcs11"


def test_keys_held_needs_a_key() -> None:
    found = _run("xks.keys_held", _facts(xks=_configured()))
    assert found.ok is False
    assert "no external key" in found.summary
    assert found.advice is not None
    assert found.advice.startswith("`sumun xks keys create bank KEY_ID --usage both`")


def test_keys_held_while_sealed_or_uninitialised_is_undetermined() -> None:
    sealed = _run("xks.keys_held", _facts(keys={"sealed": True, "verified": False}))
    assert sealed.ok is None and "keys are sealed" in sealed.summary
    bare = _run("xks.keys_held", _facts(keys={"initialised": False}))
    assert bare.ok is None and "not initialised" in bare.summary
    broken = _run("xks.keys_held", _facts(keys={"error": "bad registry"}))
    assert broken.ok is None and "bad registry" in broken.summary


def test_a_key_missing_from_the_registry_fails() -> None:
    found = _run("xks.keys_held", _facts(xks=_configured(_key(), _key("gone", state=None))))
    assert found.ok is False
    assert "no record in the key registry" in found.summary and "gone" in found.summary


def test_a_backend_not_allowed_fails() -> None:
    embedded = _configured(_key(backend="embedded"))
    found = _run("xks.keys_held", _facts(xks=embedded), allowed="pkcs11,openbao")
    assert found.ok is False
    assert "s3-data (embedded)" in found.summary and "pkcs11 or openbao" in found.summary
    # By default the embedded keystore is the organization's too.
    assert _run("xks.keys_held", _facts(xks=embedded)).ok is True


def test_no_enabled_key_fails() -> None:
    cut = _configured(_key(state="disabled"), _key("old", state="destroyed"))
    found = _run("xks.keys_held", _facts(xks=cut))
    assert found.ok is False
    assert "none of the 2 external key(s) is enabled" in found.summary
    assert found.advice is not None and "sumun xks keys enable s3-data" in found.advice


# -- xks.uses_recorded ------------------------------------------------------------------------


def test_uses_recorded_in_the_verified_ledger() -> None:
    found = _run("xks.uses_recorded", _facts())
    assert found.ok is True
    assert "12 XKS call(s) recorded in the verified ledger, 11 with AWS's requestMetadata" in (
        found.summary
    )
    assert "from 2 AWS principal(s); newest 60 s ago" in found.summary
    assert found.details["Decrypt"] == "InvalidStateException ×4, ok ×5"
    assert found.details["distinct AWS principals"] == 2
    assert "role/S3Reader" in str(found.details["AWS principals"])
    assert found.details["kmsViaService"] == "s3.ap-northeast-2.amazonaws.com"


def test_uses_recorded_caps_the_principals_it_lists() -> None:
    many = dataclasses.replace(
        CALLS, principals={f"arn:aws:iam::1:role/r{i:02}": 1 for i in range(15)}, principals_more=3
    )
    found = _run("xks.uses_recorded", _facts(calls=many))
    assert found.details["distinct AWS principals"] == "15+"
    assert str(found.details["AWS principals"]).endswith("… and 5 more")


def test_uses_recorded_fails_when_the_ledger_does_not_verify() -> None:
    found = _run("xks.uses_recorded", _facts(ledger={"verified": False, "verify_error": "x"}))
    assert found.ok is False and "FAILED verification" in found.summary
    unknown = _run("xks.uses_recorded", _facts(ledger={"verified": None}))
    assert unknown.ok is None
    unread = _run("xks.uses_recorded", _facts(ledger={"error": "no such file"}))
    assert unread.ok is None and "no such file" in unread.summary


def test_uses_recorded_without_any_call_is_undetermined() -> None:
    found = _run("xks.uses_recorded", _facts(calls=XksActivity()))
    assert found.ok is None
    assert "no XKS call is recorded yet" in found.summary
    assert found.advice is not None and "sumun ledger tail --kind xks" in found.advice


# -- xks.kill_switch_drilled ------------------------------------------------------------------


def test_a_recent_drill_satisfies() -> None:
    found = _run("xks.kill_switch_drilled", _facts(), max_age_days=90)
    assert found.ok is True
    assert found.summary.startswith("kill switch drilled on s3-data 3 days ago: disabled ")
    assert "4 AWS call(s) refused InvalidStateException meanwhile" in found.summary
    line = str(found.details["s3-data #40"])
    assert "by ops@bank (#40)" in line and "re-enabled" in line and "(#47, after 300 s)" in line


def test_a_drill_no_aws_call_came_in_still_counts() -> None:
    quiet = dataclasses.replace(CALLS, drills=(_drill(refusals=0),))
    found = _run("xks.kill_switch_drilled", _facts(calls=quiet))
    assert found.ok is True and "no AWS call came while it was disabled" in found.summary


def test_never_drilled_fails_with_the_commands() -> None:
    found = _run("xks.kill_switch_drilled", _facts(calls=dataclasses.replace(CALLS, drills=())))
    assert found.ok is False
    assert "never been drilled" in found.summary
    assert found.advice is not None
    assert "`sumun xks keys disable s3-data`" in found.advice
    assert "`sumun xks keys enable s3-data`" in found.advice


def test_a_cut_never_re_enabled_is_not_a_drill() -> None:
    open_cut = dataclasses.replace(CALLS, drills=(_drill(complete=False, key_id="ebs-vol"),))
    found = _run("xks.kill_switch_drilled", _facts(calls=open_cut))
    assert found.ok is False
    assert "cut now, not re-enabled: ebs-vol" in found.summary
    assert "NOT re-enabled: still cut" in str(found.details["ebs-vol #40"])


def test_an_old_drill_fails_past_max_age() -> None:
    old = dataclasses.replace(CALLS, drills=(_drill(days_ago=120),))
    found = _run("xks.kill_switch_drilled", _facts(calls=old), max_age_days=90)
    assert found.ok is False and "(more than 90 days)" in found.summary
    assert _run("xks.kill_switch_drilled", _facts(calls=old), max_age_days=180).ok is True


def test_drill_collector_undetermined_on_an_unreadable_ledger() -> None:
    found = _run("xks.kill_switch_drilled", _facts(ledger={"error": "gone"}))
    assert found.ok is None


# -- the requirement ---------------------------------------------------------------------------


def test_the_requirement_as_assessed(catalog: Catalog) -> None:
    def status(facts: Facts) -> str:
        return next(a for a in assess(catalog, facts) if a.requirement.id == REQUIREMENT).status

    assert status(_facts()) == "needs-attestation"  # checks pass; the procedure is attested
    assert status(_facts(calls=dataclasses.replace(CALLS, drills=()))) == "not-satisfied"
    assert status(_facts(ledger={"verified": None})) == "undetermined"
    req = catalog.get(REQUIREMENT)
    assert req is not None
    assert {c.collector for c in req.checks} == set(ALL)
    assert req.source.status == "unconfirmed" and req.source.url is not None
