"""XKS facts gathered from a real deployment: keystores, credentials and external keys made by
the real management code, calls answered by the real keyring and recorded by the real audit,
and a kill-switch drill (disable → AWS refused → enable) — then the report that shows them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sumun.comply.report import render_html
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.store.control import open_control
from sumun.store.xks import XksStore
from sumun.xks.audit import LedgerAudit
from sumun.xks.errors import InvalidStateError
from sumun.xks.keyring import SumunKeyring
from sumun.xks.model import Encrypted, RequestMetadata, XksCall
from sumun.xks.service import ServiceKeyLayer, XksManager, build_xks
from tests.comply.conftest import Deployment

Deploy = Callable[..., Deployment]
REQUIREMENT = "PIPA-29-CLOUDKEY"
KEY = "s3-data"
S3_ROLE = "arn:aws:iam::111122223333:role/S3Reader"
S3 = "s3.ap-northeast-2.amazonaws.com"


def _manager(d: Deployment) -> XksManager:
    """The management the CLI and admin API share, recording like the CLI does."""

    def record(action: str, attrs: dict[str, str]) -> int | None:
        meta = EntryMeta(
            kind=EntryKind.ADMIN_CHANGE,
            tenant="sumun-xks",
            time_ms=int(time.time() * 1000),
            attrs={"action": action, "actor": "ops@bank", "via": "test", **attrs},
        )
        return d.runtime.ledger.append(meta).wait()

    store = XksStore(open_control(d.settings).database())
    return XksManager(store, ServiceKeyLayer(d.runtime.keys, "ops@bank"), record)


def _metadata(operation: str, n: int) -> RequestMetadata:
    return RequestMetadata(
        kms_operation=operation,
        kms_request_id=f"req-{n:04}",
        aws_principal_arn=S3_ROLE,
        kms_key_arn="arn:aws:kms:ap-northeast-2:111122223333:key/abc",
        kms_via_service=S3,
    )


async def _call(
    keyring: SumunKeyring, audit: LedgerAudit, operation: str, n: int, sealed: Encrypted | None
) -> tuple[str, Encrypted | None]:
    """One AWS call as the proxy answers and records it."""
    try:
        if operation == "Encrypt":
            sealed = await keyring.encrypt("bank", KEY, b"a data key", b"aad")
        else:
            assert sealed is not None
            await keyring.decrypt("bank", KEY, sealed, b"aad")
        outcome = "ok"
    except InvalidStateError as exc:
        outcome = exc.error_name
    call = XksCall("bank", operation, KEY, _metadata(operation, n), outcome, "AKIDTEST")  # type: ignore[arg-type]
    await audit.record(call)
    return outcome, sealed


def _refused_within(keyring: SumunKeyring, sealed: Encrypted, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            asyncio.run(keyring.decrypt("bank", KEY, sealed, b"aad"))
        except InvalidStateError:
            return
        time.sleep(0.02)
    raise AssertionError("the disabled key still decrypts")


def _xks_tables(d: Deployment) -> bool:
    with sqlite3.connect(d.home / "store.db") as db:
        return bool(
            db.execute("SELECT 1 FROM sqlite_master WHERE name = 'xks_keystores'").fetchall()
        )


def test_without_xks_the_requirement_is_moot_and_no_table_is_created(deploy: Deploy) -> None:
    d = deploy()
    facts = d.facts()
    assert facts.xks.configured is False and facts.xks.error is None
    assert d.assess()[REQUIREMENT].status == "not-applicable"
    assert not _xks_tables(d)  # reading never adds the XKS tables to a deployment
    assert d.report().to_json()["deployment"]["xks"]["configured"] is False


def test_gathered_from_a_real_deployment_with_a_drill(deploy: Deploy) -> None:
    d = deploy()
    manager = _manager(d)
    manager.create_keystore("bank", "/kms/bank")
    issued = [manager.issue_credential("bank") for _ in range(2)]
    manager.create_key("bank", KEY, "both")
    keyring, credentials, _audit = build_xks(d.runtime)
    audit = LedgerAudit(d.runtime.ledger)
    try:
        # Not a drill: the disable and enable of a key that is not an external key.
        d.runtime.keys.lifecycle.disable("acme", actor="ops@bank")
        d.runtime.keys.lifecycle.enable("acme", actor="ops@bank")
        facts = d.facts()
        assert facts.ledger.activity.xks.drills == ()
        assert d.evidence(REQUIREMENT, "xks.kill_switch_drilled").ok is False

        outcome, sealed = asyncio.run(_call(keyring, audit, "Encrypt", 1, None))
        assert outcome == "ok" and sealed is not None
        assert asyncio.run(_call(keyring, audit, "Decrypt", 2, sealed))[0] == "ok"
        t_disable = time.time()
        manager.disable_key(KEY)
        _refused_within(keyring, sealed)
        refused = [
            asyncio.run(_call(keyring, audit, "Decrypt", 3 + i, sealed))[0] for i in range(3)
        ]
        assert refused == ["InvalidStateException"] * 3
        manager.enable_key(KEY)
        deadline = time.monotonic() + 3
        while asyncio.run(_call(keyring, audit, "Decrypt", 9, sealed))[0] != "ok":
            assert time.monotonic() < deadline, "the re-enabled key does not decrypt"
            time.sleep(0.02)

        facts = d.facts()
    finally:
        credentials.close()

    xks = facts.xks
    assert xks.configured and xks.error is None
    assert [(k.name, k.uri_prefix, k.active_credentials) for k in xks.keystores] == [
        ("bank", "/kms/bank", 2)
    ]
    assert [(k.key_id, k.usage, k.state, k.backend) for k in xks.keys] == [
        (KEY, "both", "enabled", "embedded")
    ]
    calls = facts.ledger.activity.xks
    ok_after = calls.by_operation["Decrypt"]["ok"]
    assert ok_after >= 2
    assert calls.by_operation["Encrypt"] == {"ok": 1}
    assert calls.by_operation["Decrypt"]["InvalidStateException"] >= 3
    assert calls.with_metadata == calls.calls
    assert set(calls.principals) == {S3_ROLE} and set(calls.via_services) == {S3}
    assert calls.last_ms is not None and calls.last_ms >= int(t_disable * 1000)
    (drill,) = calls.drills
    assert drill.key_id == KEY and drill.complete
    assert drill.disabled_by == "ops@bank" and drill.enabled_by == "ops@bank"
    assert drill.refusals >= 3
    assert drill.enabled_seq is not None and drill.enabled_seq > drill.disabled_seq
    assert drill.disabled_ms >= int(t_disable * 1000) - 1

    found = d.assess()[REQUIREMENT]
    by = {e.collector: e for e in found.evidence}
    assert by["xks.keys_held"].ok is True, by["xks.keys_held"].summary
    assert by["xks.uses_recorded"].ok is True, by["xks.uses_recorded"].summary
    assert by["xks.kill_switch_drilled"].ok is True, by["xks.kill_switch_drilled"].summary
    assert found.status == "needs-attestation"
    assert "refused InvalidStateException meanwhile" in by["xks.kill_switch_drilled"].summary

    report = d.report()
    data: dict[str, Any] = report.to_json()
    shown = data["deployment"]["xks"]
    assert shown["keys"] == [
        {"key_id": KEY, "keystore": "bank", "usage": "both", "state": "enabled",
         "backend": "embedded"}
    ]  # fmt: skip
    assert shown["drills"][0]["key_id"] == KEY and shown["drills"][0]["enabled_at"]
    assert shown["calls"]["total"] == calls.calls
    html = render_html(report)
    assert 'id="deployment-xks"' in html and f"<code>{KEY}</code>" in html
    assert "xks.kill_switch_drilled" in html
    text = json.dumps(data) + html
    for credential in issued:  # counted, never shown
        assert credential.secret_access_key not in text
        assert credential.access_key_id not in text


def test_the_pass_reads_the_kind_from_the_bytes_and_parses_only_what_it_needs() -> None:
    from sumun.comply.gather import _kind_of, ledger_activity
    from sumun.ledger.entry import EntryDraft

    def entry(seq: int, of: EntryKind, **attrs: str) -> bytes:
        meta = EntryMeta(kind=of, tenant="t", time_ms=1000 + seq, attrs=attrs)
        return EntryDraft(meta).finalize(seq)

    tricky = entry(0, EntryKind.REQUEST_COMPLETED, kind="xks", note='"kind":"xks"')
    assert _kind_of(tricky) == "request-completed"
    assert _kind_of(b"not an entry") is None

    class Stored:
        def __init__(self, seq: int, raw: bytes) -> None:
            self.seq, self.entry, self.payload = seq, raw, None

    raws = [
        tricky,
        entry(1, EntryKind.ADMIN_CHANGE, action="xks-key-create", key_id="k1"),
        entry(2, EntryKind.KEY_EVENT, action="disable", key_id="k1", actor="a", version="2"),
        entry(3, EntryKind.KEY_EVENT, action="disable", key_id="k1", actor="a"),
        entry(4, EntryKind.XKS, operation="Decrypt", key_id="k1", outcome="InvalidStateException"),
        entry(5, EntryKind.KEY_EVENT, action="destroy", key_id="k1", actor="a"),
        entry(6, EntryKind.KEY_EVENT, action="disable", key_id="other", actor="a"),
        entry(7, EntryKind.KEY_EVENT, action="enable", key_id="other", actor="a"),
        b"garbage",
    ]

    class Store:
        def entries(self, start: int, end: int) -> Any:
            return iter(Stored(i, r) for i, r in enumerate(raws[start:end], start))

    activity = ledger_activity(Store(), len(raws))  # type: ignore[arg-type]
    assert activity.by_kind == {
        "admin-change": 1, "key-event": 5, "request-completed": 1, "xks": 1
    }  # fmt: skip
    assert activity.unreadable == 1
    # The version-level disable is not a cut; the destroyed key's cut is no drill; "other" is
    # not an external key (no xks-key-create, no xks call, not in the store's list).
    assert activity.xks.drills == ()
    assert activity.xks.by_operation == {"Decrypt": {"InvalidStateException": 1}}
    assert activity.xks.with_metadata == 0
    with_other = ledger_activity(Store(), len(raws), xks_keys=["other"])  # type: ignore[arg-type]
    (drill,) = with_other.xks.drills
    assert (drill.key_id, drill.disabled_seq, drill.enabled_seq, drill.refusals) == (
        "other", 6, 7, 0
    )  # fmt: skip
