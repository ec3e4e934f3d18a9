"""Shredding one data subject leaves no copy of their wrapped DEK in the live DEK store
(issue 19): not in a free page of deks.db, not in its WAL. A carving test: the wrapped bytes are
searched for in the raw files, as the review recovered them."""

from __future__ import annotations

from pathlib import Path

from sumun import config
from sumun.keys.envelope import Context
from sumun.keys.events import MemoryEventSink
from sumun.keys.service import KeyService


def _raw(home: Path) -> bytes:
    folder = home / "keystore"
    return b"".join(p.read_bytes() for p in folder.glob("deks.db*") if p.is_file())


def test_a_shredded_subjects_wrapped_dek_is_gone_from_the_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    svc = KeyService(config.load(home=home, env={}), events=MemoryEventSink())
    svc.unseal_with(svc.initialise(custodians=3, threshold=2).master_key)
    svc.lifecycle.create("acme", actor="t")
    svc.encrypt("acme", b"kim's record", Context("acme", "r1", "t"), subject="customer-17")
    svc.encrypt("acme", b"lee's record", Context("acme", "r2", "t"), subject="customer-18")
    store = svc._require_open().store
    rows = store._db.read("SELECT scope, wrapped FROM deks WHERE scope LIKE 'subject:%'")
    assert len(rows) == 2
    scope_17 = svc.envelopes.subject_scope("acme", "customer-17")
    wrapped = {str(scope): bytes(blob) for scope, blob in rows}
    kim, lee = wrapped[scope_17], next(b for s, b in wrapped.items() if s != scope_17)
    assert kim in _raw(home)  # it is there to be found before the shred

    svc.shred_subject("acme", "customer-17", actor="t")
    raw = _raw(home)
    assert kim not in raw  # nowhere: neither a free page nor the WAL
    assert lee in raw  # the other subject is untouched
    svc.seal()
