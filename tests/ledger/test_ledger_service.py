"""The ledger with the real key layer: encrypted payloads, signed checkpoints, crypto-shredding,
key events, and fsck that pinpoints tampering — on SQLite (PostgreSQL in the store tests)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sumun import config
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import LedgerIntegrityError, SealedError
from sumun.ledger import merkle, signing
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.ledger.fsck import fsck
from sumun.ledger.note import Ed25519Signer, Verifier, sign_note, verify_checkpoint
from sumun.runtime import Runtime, open_runtime


@dataclass
class Deployed:
    runtime: Runtime
    shares: tuple[str, ...]
    home: Path

    @property
    def db(self) -> Path:
        return self.home / "ledger" / "ledger.db"

    def verifiers(self) -> list[Verifier]:
        return [Verifier.from_vkey(v) for v in signing.public_vkeys(self.home)]

    def reopen(self) -> Runtime:
        self.runtime.close()
        self.runtime = open_runtime(self.runtime.settings)
        self.runtime.keys.unseal(shares=self.shares[:3])
        return self.runtime


def _deploy(home: Path, **keys: object) -> Deployed:
    base = config.load(home=home, env={})
    settings = base.model_copy(update={"keys": base.keys.model_copy(update=keys)})
    runtime = open_runtime(settings)
    result = runtime.keys.initialise(custodians=5, threshold=3, actor="test")
    runtime.keys.unseal_with(result.master_key, actor="test")
    runtime.keys.lifecycle.create("acme", actor="test")
    return Deployed(runtime, result.shares, home)


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Deployed]:
    d = _deploy(tmp_path / "home")
    yield d
    d.runtime.close()


def meta(i: int, tenant: str = "acme", **extra: object) -> EntryMeta:
    return EntryMeta(
        kind=EntryKind.REQUEST_ADMITTED,
        tenant=tenant,
        time_ms=1_800_000_000_000 + i,
        decision="allow",
        rules=("r.default",),
        provider="demo",
        data_class="O",
        request_id=f"req-{i}",
        **extra,  # type: ignore[arg-type]
    )


def test_payloads_are_encrypted_metadata_is_clear(deployed: Deployed) -> None:
    ledger = deployed.runtime.ledger
    seq = ledger.append(meta(1), "주민번호 900101-1234567 문의".encode()).wait()
    row = ledger.tail(1, decrypt=True)[-1]
    assert row.seq == seq and row.payload_state == "decrypted"
    assert row.payload == "주민번호 900101-1234567 문의".encode()
    assert row.entry["tenant"] == "acme" and row.entry["provider"] == "demo"
    assert row.entry["payload"]["len"] > 0
    assert b"900101" not in deployed.db.read_bytes()
    assert ledger.tail(1)[-1].payload_state == "encrypted"  # no decrypt asked


def test_key_events_are_ledger_entries(deployed: Deployed) -> None:
    ledger = deployed.runtime.ledger
    deployed.runtime.keys.lifecycle.rotate("acme", actor="alice")
    events = [r.entry for r in ledger.tail(50) if r.entry["kind"] == "key-event"]
    actions = [e["attrs"]["action"] for e in events]
    assert actions[:2] == ["init", "unseal"] and "create" in actions
    rotate = events[-1]
    assert rotate["attrs"] == {
        "actor": "alice",
        "action": "rotate",
        "key_id": "acme",
        "version": "2",
        "backend": "embedded",
        "detail.reason": "manual",
        # the registry revision it produced: create wrote 1 (its intent cleared: 2), rotate 3
        "detail.registry_revision": "3",
    }
    assert rotate["payload"] is None


def test_checkpoints_are_signed_and_never_inconsistent(deployed: Deployed) -> None:
    ledger = deployed.runtime.ledger
    for i in range(10):
        ledger.append(meta(i), b"x")
    ledger.flush()
    first = ledger.checkpoint()
    assert ledger.checkpoint() == first  # nothing new: the same checkpoint
    cp = verify_checkpoint(first.note, deployed.verifiers(), origin=ledger.origin)
    assert (cp.size, cp.root) == (first.size, first.root)
    ledger.append(meta(99), b"y").wait()
    second = ledger.checkpoint()
    assert second.size == first.size + 1
    proof = ledger.consistency_proof(first.size, second.size)
    merkle.verify_consistency(first.size, second.size, first.root, second.root, proof)

    # Rewrite history underneath, consistently (entry, every node, the state): the ledger
    # refuses to sign a tree that does not extend its last checkpoint.
    ledger.flush()
    deployed.runtime.close()
    _rewrite_consistently(deployed.db, 0)
    ledger = deployed.reopen().ledger
    ledger.append(meta(100), b"z").wait()
    with pytest.raises(LedgerIntegrityError, match="refusing to sign"):
        ledger.checkpoint()


def _rewrite_consistently(db_path: Path, target: int) -> None:
    """Edit entry `target` and recompute every stored node and the state to match."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT seq, entry FROM entries ORDER BY seq").fetchall()
        entries = [bytes(e) for _s, e in rows]
        entries[target] = entries[target].replace(b'"decision":"allow"', b'"decision":"block"')
        entries[target] = entries[target].replace(b'"actor":"test"', b'"actor":"mallory"')
        frontier = merkle.Frontier()
        conn.execute("DELETE FROM nodes")
        for e in entries:
            for level, index, h in frontier.append(merkle.leaf_hash(e)):
                conn.execute("INSERT INTO nodes VALUES (?, ?)", ((level << 48) | index, h))
        conn.execute("UPDATE entries SET entry = ? WHERE seq = ?", (entries[target], target))
        conn.execute(
            "UPDATE state SET root = ?, frontier = ?", (frontier.root(), frontier.to_bytes())
        )


def test_kcmvp_deployments_also_sign_with_ecdsa_p256(tmp_path: Path) -> None:
    d = _deploy(tmp_path / "kcmvp", suite=Suite.ARIA_256_GCM)
    try:
        seq = d.runtime.ledger.append(meta(1), b"aria payload").wait()
        note = d.runtime.ledger.checkpoint().note
        assert len(signing.public_vkeys(d.home)) == 2
        assert note.count("\n\u2014 ") == 2  # two signature lines
        verify_checkpoint(note, d.verifiers())
        rows = {r.seq: r for r in d.runtime.ledger.tail(20, decrypt=True)}
        assert rows[seq].payload == b"aria payload"
    finally:
        d.runtime.close()


def test_crypto_shredding_keeps_every_proof_valid(deployed: Deployed) -> None:
    ledger, keys = deployed.runtime.ledger, deployed.runtime.keys
    keys.lifecycle.create("bank", actor="t")
    kept = ledger.append(meta(1, "bank"), b"bank secret").wait()
    gone = ledger.append(meta(2, "acme"), b"acme secret").wait()
    person = ledger.append(meta(3, "bank"), b"kim's record", key_id="bank", subject="kim").wait()
    ledger.checkpoint()
    keys.lifecycle.destroy_now("acme", actor="t", shares=deployed.shares[:3])
    keys.shred_subject("bank", "kim", actor="t")
    rows = {r.seq: r for r in ledger.tail(100, decrypt=True)}
    assert rows[kept].payload == b"bank secret"
    assert rows[gone].payload_state.startswith("unreadable")
    assert rows[person].payload_state.startswith("unreadable")
    ledger.flush()
    report = fsck(ledger.store, deployed.verifiers(), origin=ledger.origin)
    assert report.size == ledger.store.size()
    for seq in (kept, gone, person):
        bundle = ledger.prove(seq)
        cp = verify_checkpoint(bundle.checkpoint, deployed.verifiers())
        merkle.verify_inclusion(merkle.leaf_hash(bundle.entry), seq, cp.size, bundle.proof, cp.root)


def test_payload_appends_need_unsealed_keys(deployed: Deployed) -> None:
    ledger = deployed.runtime.ledger
    deployed.runtime.keys.seal()
    with pytest.raises(SealedError):
        ledger.append(meta(1), b"secret")
    with pytest.raises(SealedError):
        ledger.checkpoint()
    assert ledger.append(meta(2)).wait() >= 0  # metadata-only entries need no keys


# -- fsck pinpoints tampering --------------------------------------------------------------


def _filled(deployed: Deployed, count: int = 40) -> int:
    ledger = deployed.runtime.ledger
    for i in range(count):
        ledger.append(meta(i), f"payload {i}".encode())
    ledger.flush()
    ledger.checkpoint()
    deployed.runtime.close()
    return count


def _fsck(deployed: Deployed) -> None:
    from sumun.ledger.store.sqlite import SqliteStore

    store = SqliteStore(deployed.db)
    try:
        fsck(store, deployed.verifiers())
    finally:
        store.close()


def _seq_of_request(db: Path, i: int) -> int:
    with sqlite3.connect(db) as conn:
        for seq, entry in conn.execute("SELECT seq, entry FROM entries"):
            if f'"request_id":"req-{i}"'.encode() in entry:
                return int(seq)
    raise AssertionError("not found")


def test_fsck_passes_on_an_untouched_ledger(deployed: Deployed) -> None:
    _filled(deployed)
    _fsck(deployed)


@pytest.mark.parametrize("bit", [0, 7])
def test_fsck_names_the_entry_with_a_flipped_bit(deployed: Deployed, bit: int) -> None:
    _filled(deployed)
    target = _seq_of_request(deployed.db, 17)
    with sqlite3.connect(deployed.db) as conn:
        (entry,) = conn.execute("SELECT entry FROM entries WHERE seq = ?", (target,)).fetchone()
        flipped = bytearray(entry)
        flipped[len(flipped) // 2] ^= 1 << bit
        conn.execute("UPDATE entries SET entry = ? WHERE seq = ?", (bytes(flipped), target))
    with pytest.raises(LedgerIntegrityError) as info:
        _fsck(deployed)
    assert info.value.seq == target


def test_fsck_names_a_deleted_entry(deployed: Deployed) -> None:
    _filled(deployed)
    target = _seq_of_request(deployed.db, 5)
    with sqlite3.connect(deployed.db) as conn:
        conn.execute("DELETE FROM entries WHERE seq = ?", (target,))
    with pytest.raises(LedgerIntegrityError, match=f"entry {target} is missing") as info:
        _fsck(deployed)
    assert info.value.seq == target


def test_fsck_names_reordered_entries(deployed: Deployed) -> None:
    _filled(deployed)
    a, b = _seq_of_request(deployed.db, 8), _seq_of_request(deployed.db, 9)
    with sqlite3.connect(deployed.db) as conn:
        ea = conn.execute("SELECT entry, payload FROM entries WHERE seq = ?", (a,)).fetchone()
        eb = conn.execute("SELECT entry, payload FROM entries WHERE seq = ?", (b,)).fetchone()
        conn.execute("UPDATE entries SET entry = ?, payload = ? WHERE seq = ?", (*eb, a))
        conn.execute("UPDATE entries SET entry = ?, payload = ? WHERE seq = ?", (*ea, b))
    with pytest.raises(LedgerIntegrityError, match="reordered") as info:
        _fsck(deployed)
    assert info.value.seq == min(a, b)


def test_fsck_names_a_swapped_payload(deployed: Deployed) -> None:
    _filled(deployed)
    target = _seq_of_request(deployed.db, 30)
    with sqlite3.connect(deployed.db) as conn:
        conn.execute("UPDATE entries SET payload = ? WHERE seq = ?", (b"forged", target))
    with pytest.raises(LedgerIntegrityError, match="payload does not match") as info:
        _fsck(deployed)
    assert info.value.seq == target


def test_fsck_refuses_a_forged_checkpoint(deployed: Deployed) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _filled(deployed)
    with sqlite3.connect(deployed.db) as conn:
        size, _root, note = conn.execute(
            "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        body = note.split("\n\n")[0] + "\n"
        origin = body.splitlines()[0]
        forged = sign_note(body, [Ed25519Signer(origin, Ed25519PrivateKey.generate())])
        conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (forged, size))
    with pytest.raises(LedgerIntegrityError, match="does not verify") as info:
        _fsck(deployed)
    assert info.value.seq == size - 1


def test_fsck_detects_a_consistent_rewrite_through_the_signed_checkpoint(
    deployed: Deployed,
) -> None:
    """Edit an entry AND recompute every stored node: only the signature can catch it."""
    _filled(deployed)
    target = _seq_of_request(deployed.db, 3)
    _rewrite_consistently(deployed.db, target)
    with pytest.raises(LedgerIntegrityError, match="root signed at size") as info:
        _fsck(deployed)
    assert info.value.seq is not None and info.value.seq >= target


def test_fsck_on_a_truncated_database_is_a_clear_failure(deployed: Deployed) -> None:
    from sumun.errors import LedgerError

    _filled(deployed, 400)
    raw = deployed.db.read_bytes()
    deployed.db.write_bytes(raw[: len(raw) // 3])
    for extra in (Path(f"{deployed.db}-wal"), Path(f"{deployed.db}-shm")):
        extra.unlink(missing_ok=True)
    with pytest.raises(LedgerError):
        _fsck(deployed)
