"""The key layer end to end on a real SUMUN_HOME with the embedded backend."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import (
    DecryptionError,
    KeyDestroyedError,
    KeyDisabledError,
    KeyStateError,
    KeystoreCorruptError,
    SealedError,
    UnknownKeyError,
    UnsealError,
    UsageError,
)
from sumun.keys.envelope import Context
from sumun.keys.events import MemoryEventSink
from sumun.keys.model import KeyAction, KeyState, VersionState
from sumun.keys.service import KeyService
from tests.keys.conftest import Deployment, make_settings

CTX = Context("acme", "req-42", "prompt")
Deploy = Callable[..., Deployment]


def test_round_trip_and_binding_to_tenant_record_and_purpose(deploy: Deploy) -> None:
    d = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    blob = svc.encrypt("acme", b"secret prompt", CTX)
    assert b"secret prompt" not in blob
    assert svc.decrypt(blob, CTX) == b"secret prompt"
    for moved in (
        Context("other", "req-42", "prompt"),
        Context("acme", "req-43", "prompt"),
        Context("acme", "req-42", "response"),
    ):
        with pytest.raises(DecryptionError, match="decryption failed"):
            svc.decrypt(blob, moved)


def test_every_flipped_bit_is_detected(deploy: Deploy) -> None:
    svc = deploy().service()
    svc.lifecycle.create("acme", actor="t")
    blob = svc.encrypt("acme", b"x" * 40, CTX)
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[i] ^= bit
            with pytest.raises((DecryptionError, UnknownKeyError)):
                svc.decrypt(bytes(tampered), CTX)


def test_nonces_never_repeat_and_a_new_dek_starts_at_the_record_limit(deploy: Deploy) -> None:
    d = deploy(dek_max_records=100)
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    seen_nonces: set[tuple[bytes, bytes]] = set()
    dek_ids = set()
    for i in range(450):
        blob = svc.encrypt("acme", f"r{i}".encode(), CTX)
        dek_id, nonce = blob[4:20], blob[29:41]
        assert (dek_id, nonce) not in seen_nonces
        seen_nonces.add((dek_id, nonce))
        dek_ids.add(dek_id)
        assert svc.decrypt(blob, CTX) == f"r{i}".encode()
    assert len(dek_ids) == 5  # 100 records per DEK, then a fresh one


def test_kek_rotates_itself_before_its_wrap_limit(deploy: Deploy) -> None:
    d = deploy(kek_max_wraps=3, dek_max_records=1)
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    blobs = [svc.encrypt("acme", b"r", CTX) for _ in range(7)]
    record = svc.get_key("acme")
    assert record is not None and record.primary == 3
    assert all(v.wraps <= 3 for v in record.versions)
    assert all(svc.decrypt(b, CTX) == b"r" for b in blobs)
    rotations = [e for e in d.events.events if e.action is KeyAction.ROTATE]
    assert rotations and rotations[0].detail["reason"] == "wrap limit reached"


def test_rotation_keeps_old_versions_for_decryption_only(deploy: Deploy) -> None:
    d = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    old = svc.encrypt("acme", b"old", CTX)
    svc.lifecycle.rotate("acme", actor="t")
    d.clock.advance(4000)  # next DEK window: new DEKs come from the new primary
    new = svc.encrypt("acme", b"new", CTX)
    assert int.from_bytes(old[20:24], "big") == 1
    assert int.from_bytes(new[20:24], "big") == 2
    assert svc.decrypt(old, CTX) == b"old"
    svc.lifecycle.disable("acme", actor="t", version=1)
    with pytest.raises(KeyDisabledError, match="version 1 is disabled"):
        svc.decrypt(old, CTX)
    assert svc.decrypt(new, CTX) == b"new"
    with pytest.raises(KeyStateError, match="primary"):
        svc.lifecycle.disable("acme", actor="t", version=2)
    svc.lifecycle.enable("acme", actor="t", version=1)
    assert svc.decrypt(old, CTX) == b"old"


def test_disable_is_refused_in_another_process_within_the_revocation_ttl(deploy: Deploy) -> None:
    d = deploy(revocation_ttl_seconds=5.0)
    admin, worker = d.service(), d.service()
    admin.lifecycle.create("acme", actor="t")
    blob = worker.encrypt("acme", b"cached", CTX)
    assert worker.decrypt(blob, CTX) == b"cached"  # DEK now cached in the worker
    admin.lifecycle.disable("acme", actor="t")
    d.clock.advance(5.0)  # the documented bound
    with pytest.raises(KeyDisabledError, match="disabled"):
        worker.decrypt(blob, CTX)
    with pytest.raises(KeyDisabledError):
        worker.encrypt("acme", b"more", CTX)
    admin.lifecycle.enable("acme", actor="t")
    d.clock.advance(5.0)
    assert worker.decrypt(blob, CTX) == b"cached"


def test_disable_takes_effect_at_once_in_the_same_process(deploy: Deploy) -> None:
    svc = deploy().service()
    svc.lifecycle.create("acme", actor="t")
    blob = svc.encrypt("acme", b"x", CTX)
    svc.lifecycle.disable("acme", actor="t")
    with pytest.raises(KeyDisabledError):
        svc.decrypt(blob, CTX)


def test_scheduled_destruction_has_a_grace_period_and_can_be_cancelled(deploy: Deploy) -> None:
    d = deploy(destroy_grace_days=7)
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    blob = svc.encrypt("acme", b"x", CTX)
    svc.lifecycle.schedule_destroy("acme", actor="t")
    with pytest.raises(KeyStateError, match="scheduled for destruction"):
        svc.decrypt(blob, CTX)
    svc.lifecycle.enable("acme", actor="t")  # cancel
    assert svc.decrypt(blob, CTX) == b"x"
    svc.lifecycle.schedule_destroy("acme", actor="t", grace_days=1)
    d.clock.advance(86400 - 10)
    assert svc.lifecycle.purge_due() == []
    d.clock.advance(20)
    [destroyed] = svc.lifecycle.purge_due()
    assert destroyed.state is KeyState.DESTROYED
    with pytest.raises(KeyDestroyedError, match="gone for good"):
        svc.decrypt(blob, CTX)
    # A fresh process (cold caches) cannot read it either: the material is gone.
    fresh = d.service()
    with pytest.raises(KeyDestroyedError):
        fresh.decrypt(blob, CTX)
    keks = json.loads((d.home / "keystore" / "embedded-keks.json").read_text())
    assert "acme" not in keks["keks"]
    assert [e.detail.get("mode") for e in d.events.events if e.action is KeyAction.DESTROY] == [
        "scheduled"
    ]


def test_immediate_destruction_needs_a_fresh_quorum(deploy: Deploy) -> None:
    d = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    blob = svc.encrypt("acme", b"x", CTX)
    with pytest.raises(UnsealError, match="3 custodian shares are needed"):
        svc.lifecycle.destroy_now("acme", actor="t", shares=d.shares[:2])
    assert svc.decrypt(blob, CTX) == b"x"
    svc.lifecycle.destroy_now("acme", actor="t", shares=d.shares[2:5])
    with pytest.raises(KeyDestroyedError):
        svc.decrypt(blob, CTX)
    with pytest.raises(KeyDestroyedError):
        svc.lifecycle.rotate("acme", actor="t")
    with pytest.raises(KeyStateError, match="never reused"):
        svc.lifecycle.create("acme", actor="t")


def test_destroying_one_old_version_shreds_only_its_data(deploy: Deploy) -> None:
    d = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    old = svc.encrypt("acme", b"old", CTX)
    svc.lifecycle.rotate("acme", actor="t")
    d.clock.advance(4000)
    new = svc.encrypt("acme", b"new", CTX)
    svc.lifecycle.destroy_now("acme", actor="t", shares=d.shares[:3], version=1)
    with pytest.raises(KeyDestroyedError, match="version 1"):
        svc.decrypt(old, CTX)
    assert svc.decrypt(new, CTX) == b"new"
    record = svc.get_key("acme")
    assert record is not None and record.version(1).state is VersionState.DESTROYED  # type: ignore[union-attr]


def test_a_subjects_records_can_be_shredded_alone(deploy: Deploy) -> None:
    d = deploy()
    svc, other_process = d.service(), d.service()
    svc.lifecycle.create("acme", actor="t")
    kim = svc.encrypt("acme", b"Kim's record", CTX, subject="customer-900101")
    lee = svc.encrypt("acme", b"Lee's record", CTX, subject="customer-880202")
    tenant = svc.encrypt("acme", b"tenant record", CTX)
    assert other_process.decrypt(kim, CTX) == b"Kim's record"  # cached over there
    svc.shred_subject("acme", "customer-900101", actor="t")
    d.clock.advance(5)
    for process in (svc, other_process, d.service()):
        with pytest.raises(DecryptionError):
            process.decrypt(kim, CTX)
        assert process.decrypt(lee, CTX) == b"Lee's record"
        assert process.decrypt(tenant, CTX) == b"tenant record"
    db = (d.home / "keystore" / "deks.db").read_bytes()
    assert b"customer-900101" not in db  # the store keeps an HMAC, never the id
    shred = [e for e in d.events.events if e.action is KeyAction.SHRED_SUBJECT]
    assert shred and "customer" not in json.dumps(shred[0].to_json())


def test_backend_is_called_once_per_dek_window_not_per_record(deploy: Deploy) -> None:
    d = deploy(dek_window_seconds=3600, dek_cache_ttl_seconds=300)
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    blobs = [svc.encrypt("acme", b"r", CTX) for _ in range(10_000)]
    for blob in blobs:
        svc.decrypt(blob, CTX)
    assert (svc.envelopes.calls.wraps, svc.envelopes.calls.unwraps) == (1, 0)
    d.clock.advance(301)  # cache TTL over: one unwrap to read, one new DEK to write
    svc.decrypt(blobs[0], CTX)
    svc.encrypt("acme", b"r", CTX)
    assert (svc.envelopes.calls.wraps, svc.envelopes.calls.unwraps) == (2, 1)


def test_sealed_is_a_state_every_caller_sees(deploy: Deploy) -> None:
    d = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    blob = svc.encrypt("acme", b"x", CTX)
    svc.seal(actor="t")
    assert svc.sealed
    status = svc.status()
    assert status.sealed and not status.verified and status.keys[0].key_id == "acme"
    with pytest.raises(SealedError, match="sealed"):
        svc.decrypt(blob, CTX)
    with pytest.raises(SealedError):
        svc.encrypt("acme", b"x", CTX)
    with pytest.raises(SealedError):
        svc.lifecycle.rotate("acme", actor="t")


def test_unseal_share_by_share_like_custodians_arriving(deploy: Deploy) -> None:
    d = deploy()
    svc = KeyService(d.settings, events=d.events)
    assert svc.submit_share(d.shares[4]) == (1, 3)
    with pytest.raises(UnsealError, match="repeats"):
        svc.submit_share(d.shares[4])
    assert svc.submit_share(d.shares[0]) == (2, 3)
    assert svc.sealed
    assert svc.submit_share(d.shares[2]) == (3, 3)
    assert not svc.sealed
    svc.seal()


def test_wrong_mistyped_and_foreign_shares_are_refused(deploy: Deploy) -> None:
    d, other = deploy(), deploy()
    svc = KeyService(d.settings, events=d.events)
    mistyped = d.shares[0][:-3] + ("AAA" if not d.shares[0].endswith("AAA") else "BBB")
    with pytest.raises(UnsealError, match=r"mistyped|checksum|characters"):
        svc.unseal(shares=[mistyped, *d.shares[1:3]])
    with pytest.raises(UnsealError, match="another Sumun deployment"):
        svc.unseal(shares=[other.shares[0], *d.shares[1:3]])
    with pytest.raises(UnsealError, match="3 custodian shares are needed"):
        svc.unseal(shares=d.shares[:2])
    assert svc.sealed


def test_passphrase_sealing(tmp_path: Path) -> None:
    from sumun.crypto.kdf import ScryptParams

    settings = make_settings(tmp_path / "h")
    svc = KeyService(settings, events=MemoryEventSink())
    svc.initialise(
        passphrase="수문 금고의 비밀번호 2026", kdf_params=ScryptParams(n=2**10)
    ).master_key.wipe()
    with pytest.raises(UnsealError, match="wrong passphrase"):
        svc.unseal(passphrase="wrong")
    svc.unseal(passphrase="수문 금고의 비밀번호 2026")
    svc.lifecycle.create("acme", actor="t")
    with pytest.raises(UsageError, match="passphrase"):
        svc.lifecycle.destroy_now("acme", actor="t")
    svc.lifecycle.destroy_now("acme", actor="t", passphrase="수문 금고의 비밀번호 2026")
    svc.seal()


def test_init_twice_is_refused(deploy: Deploy) -> None:
    from sumun.errors import StateError

    d = deploy()
    with pytest.raises(StateError, match="already initialised"):
        KeyService(d.settings, events=d.events).initialise()


def test_an_edited_registry_is_refused(deploy: Deploy) -> None:
    d = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    svc.lifecycle.disable("acme", actor="t")
    svc.seal()
    path = d.home / "keystore" / "keys.json"
    path.write_text(path.read_text().replace('"disabled"', '"enabled"'))
    with pytest.raises(KeystoreCorruptError, match="integrity check"):
        d.service()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "swap-entries"])
def test_a_corrupted_embedded_keystore_gives_one_clear_error(deploy: Deploy, damage: str) -> None:
    d = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    svc.lifecycle.create("bank", actor="t")
    svc.seal()
    path = d.home / "keystore" / "embedded-keks.json"
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff" * 50)
    else:
        body = json.loads(raw)
        body["keks"]["acme"], body["keks"]["bank"] = body["keks"]["bank"], body["keks"]["acme"]
        path.write_text(json.dumps(body))
    with pytest.raises(KeystoreCorruptError) as info:
        fresh = d.service()
        fresh.encrypt("acme", b"x", CTX)
    assert "restore" in str(info.value)


def test_unknown_key_and_bad_ids(deploy: Deploy) -> None:
    svc = deploy().service()
    with pytest.raises(UnknownKeyError, match="no key 'nope'"):
        svc.encrypt("nope", b"x", CTX)
    with pytest.raises(UnknownKeyError, match="no key 'nope'"):
        svc.lifecycle.rotate("nope", actor="t")
    with pytest.raises(UsageError, match="invalid key id"):
        svc.lifecycle.create("Bad Id!", actor="t")


def test_aria_suite_end_to_end(deploy: Deploy) -> None:
    svc = deploy(suite=Suite.ARIA_256_GCM).service()
    svc.lifecycle.create("kcmvp", actor="t")
    blob = svc.encrypt("kcmvp", b"aria record", CTX)
    assert blob[3] == Suite.ARIA_256_GCM.wire_id
    assert svc.decrypt(blob, CTX) == b"aria record"


def test_key_material_never_appears_in_repr_logs_or_errors(
    deploy: Deploy, caplog: pytest.LogCaptureFixture
) -> None:
    planted = bytes.fromhex("5a" * 32)
    d = deploy()
    caplog.set_level(logging.DEBUG)
    svc = KeyService(
        d.settings,
        events=d.events,
        rng=lambda n: planted[:n] if n in (16, 32) else bytes(n),
    )
    svc.unseal(shares=d.shares[:3])
    svc.lifecycle.create("acme", actor="t")
    blob = svc.encrypt("acme", b"x", CTX)  # the DEK is the planted key
    texts = [repr(svc), repr(svc.envelopes), repr(svc.lifecycle), caplog.text]
    texts += [json.dumps(e.to_json()) for e in d.events.events]
    try:
        svc.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), CTX)
    except DecryptionError as exc:
        texts.append(str(exc) + repr(exc))
    for text in texts:
        assert planted.hex() not in text
        assert "5a5a5a5a" not in text.lower()
    for path in (d.home / "keystore").iterdir():
        assert planted not in path.read_bytes()
        assert planted.hex().encode() not in path.read_bytes()
    svc.seal()
