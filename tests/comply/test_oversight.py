"""Oversight reviews (art. 34(4)): an auditor's review is a ledger entry, proved like any other."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sumun.comply.attest import Attestations
from sumun.comply.model import AttestationRecord, DocumentRef
from sumun.comply.oversight import plan_review
from sumun.comply.register import Register
from sumun.errors import ForbiddenError, UsageError
from sumun.ledger import merkle, signing
from sumun.ledger.fsck import fsck
from sumun.ledger.note import Verifier, verify_checkpoint
from sumun.ledger.service import payload_context
from sumun.ledger.wire import parse_append
from sumun.runtime import ledger_origin
from sumun.store.model import Role
from tests.comply.conftest import APP, TENANT, Deployment

Deploy = Callable[..., Deployment]


def _review(d: Deployment, seq: int, api_key: str, **kwargs: object) -> int:
    with d.directory() as directory:
        principal = directory.authenticate(api_key)
    plan = plan_review(
        d.runtime.ledger.store,
        Register(d.home).load(),
        principal,
        seq,
        **{"flag": False, "decision": "none", "annotation": None, **kwargs},  # type: ignore[arg-type]
    )
    meta, payload = parse_append(plan.body, "kim@test")
    return d.runtime.ledger.append(meta, payload, durability="strict").wait()


def test_a_review_is_a_ledger_entry_that_verifies(deploy: Deploy) -> None:
    d = deploy()
    d.register(high_impact=True)
    call = d.call()
    seq = _review(
        d, call, d.auditor_key(), flag=True, decision="override", annotation="대출 거절 사유 확인"
    )
    ledger = d.runtime.ledger
    ledger.checkpoint()
    verifiers = [Verifier.from_vkey(v) for v in signing.public_vkeys(d.home)]
    report = fsck(ledger.store, verifiers, origin=ledger_origin(d.settings))
    assert report.size == ledger.store.size() > seq  # every entry, the review too, verifies
    bundle = ledger.prove(seq)  # an inclusion proof against a signed checkpoint
    signed = verify_checkpoint(bundle.checkpoint, verifiers, origin=ledger_origin(d.settings))
    merkle.verify_inclusion(
        merkle.leaf_hash(bundle.entry), seq, signed.size, list(bundle.proof), signed.root
    )
    rows = ledger.tail(ledger.store.size() - seq, decrypt=True)
    row = next(r for r in rows if r.seq == seq)
    assert row.entry["kind"] == "oversight-review"
    assert row.entry["attrs"]["reviewed_seq"] == str(call)
    assert row.entry["attrs"]["decision"] == "override" and row.entry["attrs"]["flag"] == "true"
    assert row.payload is not None and row.payload.decode() == "대출 거절 사유 확인"
    stored = next(iter(ledger.store.entries(seq, seq + 1)))
    assert "대출".encode() not in stored.entry and "대출".encode() not in (stored.payload or b"")
    assert d.runtime.keys.decrypt(stored.payload or b"", payload_context(row.entry)) == (
        "대출 거절 사유 확인".encode()
    )


def test_reviews_satisfy_the_oversight_check_and_attestation_completes_it(
    deploy: Deploy,
) -> None:
    d = deploy()
    d.register(high_impact=True)
    key = d.auditor_key()
    call = d.call()
    subject = f"{TENANT}/{APP}"
    item = d.assess()[f"AIBA-34.4@{subject}"]
    assert item.status == "not-satisfied"
    assert "1 call(s) of acme/loans but 0 review(s)" in item.reason
    _review(d, call, key, decision="confirm")
    item = d.assess()[f"AIBA-34.4@{subject}"]
    assert item.status == "needs-attestation", item.reason
    Attestations(d.home).add(
        AttestationRecord(
            requirement="AIBA-34.4",
            subject=subject,
            documents=(DocumentRef(name="DOC-2026-17 oversight procedure", kind="reference"),),
            by="Kim (CISO)",
            at=1.0,
        )
    )
    item = d.assess()[f"AIBA-34.4@{subject}"]
    assert item.status == "satisfied"
    assert item.attestations[0].by == "Kim (CISO)"
    reviews = d.facts().ledger.activity.reviews
    assert [(r.reviewed_seq, r.decision, r.reviewer_user) for r in reviews] == [
        (call, "confirm", "kim")
    ]


def test_a_completed_entry_is_reviewed_through_its_admitted_entry(deploy: Deploy) -> None:
    d = deploy()
    d.register(high_impact=True)
    admitted = d.call()
    meta, _ = parse_append(
        {"tenant": TENANT, "kind": "request-completed", "attrs": {"admitted_seq": str(admitted)}},
        "gw",
    )
    completed = d.runtime.ledger.append(meta).wait()
    seq = _review(d, completed, d.auditor_key(), decision="escalate")
    assert d.facts().ledger.activity.reviews[0].app == APP
    assert seq == completed + 1


def test_only_an_auditor_of_the_tenant_may_review(deploy: Deploy) -> None:
    d = deploy()
    d.register(high_impact=True)
    call = d.call()
    with d.directory() as directory:
        _k, user_key = directory.issue_key(TENANT, app=APP, user="clerk2")
        directory.create_tenant("other")
        _k, other_auditor = directory.issue_key("other", user="eve", role=Role.AUDITOR)
    with pytest.raises(ForbiddenError, match="role user, which may not review"):
        _review(d, call, user_key, decision="confirm")
    with pytest.raises(ForbiddenError, match=r"entry \d+ belongs to tenant 'acme'"):
        _review(d, call, other_auditor, decision="confirm")


def test_reviews_are_for_model_calls_of_high_impact_apps(deploy: Deploy) -> None:
    d = deploy()
    key = d.auditor_key()
    call = d.call()
    with pytest.raises(UsageError, match="not in the register"):
        _review(d, call, key, decision="confirm")
    d.register(high_impact=False)
    with pytest.raises(UsageError, match="not registered as high-impact"):
        _review(d, call, key, decision="confirm")
    d.register(high_impact=True)
    key_event = next(
        e.seq
        for e in d.runtime.ledger.store.entries(0, call)
        if b'"kind":"key-event"' in e.entry and b'"tenant":"acme"' in e.entry
    )
    with pytest.raises(UsageError, match="is a key-event entry"):
        _review(d, key_event, key, decision="confirm")
    with pytest.raises(UsageError, match="no ledger entry 999"):
        _review(d, 999, key, decision="confirm")
    with pytest.raises(UsageError, match="needs --flag, --annotate or a --decision"):
        _review(d, call, key)
