"""Rekey epochs (issue "Hold the keys under pressure"; docs/keys.md, "Shredding: what is erased,
and when").

A copy of the DEK store taken before a subject was shredded cannot open that subject once the
next rekey has run: the version that wraps their DEK in the copy is destroyed. On PKCS#11
(SoftHSM2 here) that version is gone from the token, whatever the backup holds; on the embedded
backend a backup that also holds the keystore document of its time still opens it for whoever
holds the master key — shown here exactly as the doc says. The DEK-store backup is the files
(WAL included) on one host, or the table's rows when the DEK store is PostgreSQL. Without the
rekey the backup opens the shredded subject (the control that proves these tests can fail). A rekey
interrupted half-way leaves everything readable and a re-run finishes it; afterwards no old
wrapped blob is left in the store's files; a writer in another process is not disturbed; the
schedule owes a key a rekey `rekey_days` after its oldest live version was made.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from sumun.config import OpenBaoConfig
from sumun.crypto.hazmat.aead import new_cipher
from sumun.errors import DecryptionError, KeyDestroyedError, KeyStateError, UnknownKeyError
from sumun.keys import envelope
from sumun.keys.dek_store import wrap_aad
from sumun.keys.envelope import Context
from sumun.keys.epoch import Rekeyer, rekey_due
from sumun.keys.events import MemoryEventSink
from sumun.keys.model import KeyAction, KeyState, VersionState
from sumun.keys.service import KeyService
from sumun.ledger.keystate import key_state_disagreements
from tests.fixtures.openbao import OpenBaoServer
from tests.fixtures.softhsm import SoftHsmToken
from tests.keys.conftest import Deployment, FakeClock, make_settings

DAY = 86400.0
KIM = Context("acme", "kim-1", "prompt")
LEE = Context("acme", "lee-1", "prompt")
DEK_FILES = ("deks.db", "deks.db-wal")
_DEK_COLUMNS = sql.SQL("dek_id, key_id, kek_version, scope, suite, wrapped, created_at")


class _CrashError(Exception):
    """Stands for the process dying at a progress point."""


@dataclass
class Setup:
    d: Deployment
    key: str  # unique per test: the SoftHSM2 token is shared by the whole session
    postgres: tuple[str, str] | None = None  # (dsn, schema) when the DEK store is PostgreSQL

    @property
    def keystore(self) -> Path:
        return self.d.home / "keystore"

    @contextlib.contextmanager
    def opened(self) -> Iterator[KeyService]:
        """One process's service; sealed on leaving (PKCS#11: one login per process)."""
        svc = self.d.service()
        try:
            yield svc
        finally:
            svc.seal()

    def rekeyer(self, svc: KeyService, **kwargs: Any) -> Rekeyer:
        return svc.rekeyer(sleep=self.d.clock.advance, **kwargs)

    def copy(self, dest: Path, names: tuple[str, ...]) -> Path:
        """A hot copy, as a file backup takes it: the files as they are, WAL included."""
        dest.mkdir()
        for name in names:
            if (self.keystore / name).exists():
                shutil.copy2(self.keystore / name, dest / name)
        return dest

    def restore(self, backup: Path, names: tuple[str, ...]) -> None:
        """Put a copy back in place of the live files (every service is sealed by now)."""
        for name in (*names, "deks.db-shm"):
            (self.keystore / name).unlink(missing_ok=True)
        for found in backup.iterdir():
            shutil.copy2(found, self.keystore / found.name)

    def backup_deks(self, dest: Path) -> Path | list[tuple[Any, ...]]:
        """The DEK store as a backup holds it: the files, or the rows of PostgreSQL's table."""
        if self.postgres is None:
            return self.copy(dest, DEK_FILES)
        dsn, schema = self.postgres
        with psycopg.connect(dsn, autocommit=True) as conn:
            query = sql.SQL("SELECT {} FROM {}").format(
                _DEK_COLUMNS, sql.Identifier(schema, "deks")
            )
            return conn.execute(query).fetchall()

    def restore_deks(self, backup: Path | list[tuple[Any, ...]]) -> None:
        if isinstance(backup, Path):
            self.restore(backup, DEK_FILES)
            return
        assert self.postgres is not None
        dsn, schema = self.postgres
        table = sql.Identifier(schema, "deks")
        with psycopg.connect(dsn) as conn, conn.transaction():
            conn.execute(sql.SQL("DELETE FROM {}").format(table))
            with conn.cursor() as cur:
                insert = sql.SQL("INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s, %s)")
                cur.executemany(insert.format(table, _DEK_COLUMNS), backup)


@pytest.fixture(params=["embedded", "pkcs11", "openbao"])
def setup(
    request: pytest.FixtureRequest,
    deploy: Callable[..., Deployment],
    monkeypatch: pytest.MonkeyPatch,
) -> Setup:
    return _setup(request, deploy, monkeypatch)


def _setup(
    request: pytest.FixtureRequest,
    deploy: Callable[..., Deployment],
    monkeypatch: pytest.MonkeyPatch,
) -> Setup:
    if request.param == "pkcs11":
        token: SoftHsmToken = request.getfixturevalue("softhsm_token")
        monkeypatch.setenv("SUMUN_PKCS11_PIN", token.pin)
        return Setup(deploy(backend="pkcs11", pkcs11=token.config()), _key_id())
    if request.param == "openbao":
        server: OpenBaoServer = request.getfixturevalue("openbao_server")
        monkeypatch.setenv("SUMUN_OPENBAO_TOKEN", server.token)
        bao = OpenBaoConfig(address=server.address, key_prefix=f"rk-{secrets.token_hex(4)}-")
        return Setup(deploy(backend="openbao", openbao=bao), _key_id())
    return Setup(deploy(), _key_id())


@pytest.fixture(params=["embedded", "pkcs11", "openbao", "postgres"])
def stores(
    request: pytest.FixtureRequest,
    deploy: Callable[..., Deployment],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Setup]:
    """`setup`'s backends, and the embedded backend with the DEK store in PostgreSQL."""
    if request.param != "postgres":
        yield _setup(request, deploy, monkeypatch)
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema: str = request.getfixturevalue("postgres_schema")
    monkeypatch.setenv("SUMUN_CONTROL_DSN", dsn)
    home = tmp_path / "pg-home"
    settings = make_settings(home)
    control = settings.control.model_copy(update={"store": "postgres", "postgres_schema": schema})
    settings = settings.model_copy(update={"control": control})
    clock = FakeClock()
    first = KeyService(settings, events=MemoryEventSink(), clock=clock.time)
    shares = first.initialise(custodians=5, threshold=3, actor="test").shares
    d = Deployment(home, settings, shares, clock)
    yield Setup(d, _key_id(), postgres=(dsn, schema))
    first.seal()


@pytest.fixture
def embedded(deploy: Callable[..., Deployment]) -> Setup:
    return Setup(deploy(), _key_id())


def _key_id() -> str:
    return f"rk-{secrets.token_hex(4)}"


def _dek_id(blob: bytes) -> bytes:
    return envelope.parse(blob)[0].dek_id


def _raw(keystore: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(keystore.glob("deks.db*")) if p.is_file())


# -- an old backup after the rekey ----------------------------------------------------------


def test_a_dek_store_backup_from_before_a_shred_cannot_open_the_subject_after_the_rekey(
    stores: Setup, tmp_path: Path
) -> None:
    s = stores
    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        kim = svc.encrypt(s.key, b"kim's record", KIM, subject="kim")
        lee = svc.encrypt(s.key, b"lee's record", LEE, subject="lee")
        backup = s.backup_deks(tmp_path / "backup")
        svc.shred_subject(s.key, "kim", actor="t")
        report = s.rekeyer(svc).rekey(s.key, actor="t")
        assert (report.primary, report.rewrapped, report.destroyed) == (2, 1, (1,))
        assert svc.decrypt(lee, LEE) == b"lee's record"  # live data opens on, same process
    live = s.backup_deks(tmp_path / "live")

    s.restore_deks(backup)
    with s.opened() as svc:
        row = svc._require_open().store.get(_dek_id(kim))
        assert row is not None and row.kek_version == 1  # the backup does hold kim's DEK
        with pytest.raises(KeyDestroyedError, match="version 1 was destroyed"):
            svc.decrypt(kim, KIM)
        with pytest.raises(KeyDestroyedError, match="version 1 was destroyed"):
            svc.decrypt(lee, LEE)  # the whole copy is dead, not only the shredded subject
        # Not the registry's word alone: the backend no longer holds what wraps it.
        aad = wrap_aad(row.dek_id, row.key_id, 1, row.scope)
        with pytest.raises(UnknownKeyError, match=r"v1|version 1"):
            svc._require_open().backend.unwrap(s.key, 1, row.wrapped, aad)

    s.restore_deks(live)
    with s.opened() as svc:  # the live store, in a fresh process with cold caches
        assert svc.decrypt(lee, LEE) == b"lee's record"
        with pytest.raises(KeyDestroyedError):
            svc.decrypt(kim, KIM)


def test_without_the_rekey_the_same_backup_still_opens_the_shredded_subject(
    stores: Setup, tmp_path: Path
) -> None:
    """The control: what the rekey takes away. If this passes and the test above fails, the
    rekey is what failed."""
    s = stores
    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        kim = svc.encrypt(s.key, b"kim's record", KIM, subject="kim")
        backup = s.backup_deks(tmp_path / "backup")
        svc.shred_subject(s.key, "kim", actor="t")
        with pytest.raises(DecryptionError):
            svc.decrypt(kim, KIM)  # shredded in the live store
    s.restore_deks(backup)
    with s.opened() as svc:
        assert svc.decrypt(kim, KIM) == b"kim's record"  # the backup brings them back


def test_a_backup_that_also_holds_the_kek_material_opens_the_subject_on_embedded_only(
    setup: Setup, tmp_path: Path
) -> None:
    """docs/keys.md: the embedded backend keeps KEK material in the keystore document, so a
    backup that holds that document too still opens the subject for whoever holds the master
    key — Sumun's registry refuses, the cryptography does not. A token's destroyed version is
    gone from the token, whatever the backup holds."""
    s = setup
    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        kim = svc.encrypt(s.key, b"kim's record", KIM, subject="kim")
        backup = s.copy(tmp_path / "backup", ("embedded-keks.json", *DEK_FILES))
        svc.shred_subject(s.key, "kim", actor="t")
        s.rekeyer(svc).rekey(s.key, actor="t")
    s.restore(backup, ("embedded-keks.json", *DEK_FILES))
    with s.opened() as svc:
        with pytest.raises(KeyDestroyedError, match="version 1 was destroyed"):
            svc.decrypt(kim, KIM)  # the live registry knows v1 is gone
        opened = svc._require_open()
        row = opened.store.get(_dek_id(kim))
        assert row is not None
        aad = wrap_aad(row.dek_id, row.key_id, 1, row.scope)
        if svc.settings.keys.backend != "embedded":
            with pytest.raises(UnknownKeyError, match=r"v1|version 1"):
                opened.backend.unwrap(s.key, 1, row.wrapped, aad)
            return
        dek = opened.backend.unwrap(s.key, 1, row.wrapped, aad)  # the restored document has v1
        header, end = envelope.parse(kim)
        cipher = new_cipher(header.suite, dek)
        assert cipher.decrypt(header.nonce, kim[end:], kim[:end] + KIM.encode()) == b"kim's record"


# -- crash safety, carving, other processes ---------------------------------------------------


def test_an_interrupted_rekey_leaves_everything_readable_and_a_rerun_finishes(
    setup: Setup,
) -> None:
    s, count = setup, 60
    contexts = [Context("acme", f"r{i}", "prompt") for i in range(count)]

    def crash_half_way(done: int, total: int) -> None:
        if done >= total // 2:
            raise _CrashError

    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        blobs = [
            svc.encrypt(s.key, f"record {i}".encode(), ctx, subject=f"subject-{i}")
            for i, ctx in enumerate(contexts)
        ]
        with pytest.raises(_CrashError):
            s.rekeyer(svc, batch_size=10).rekey(s.key, actor="t", progress=crash_half_way)
        record = svc.get_key(s.key)
        assert record is not None and record.primary == 2
        assert record.version(1).state is VersionState.ENABLED  # type: ignore[union-attr]
        store = svc._require_open().store
        assert store.count_under(s.key, frozenset({1})) == count // 2
        assert store.count_under(s.key, frozenset({2})) == count // 2
        assert [svc.decrypt(b, c) for b, c in zip(blobs, contexts, strict=True)] == [
            f"record {i}".encode() for i in range(count)
        ]
    with s.opened() as svc:  # another process, cold caches: everything opens
        assert all(svc.decrypt(b, c) for b, c in zip(blobs, contexts, strict=True))
        report = s.rekeyer(svc, batch_size=10).rekey(s.key, actor="t", rotate=False)
        assert (report.primary, report.rewrapped, report.destroyed) == (2, count // 2, (1,))
        assert [svc.decrypt(b, c) for b, c in zip(blobs, contexts, strict=True)] == [
            f"record {i}".encode() for i in range(count)
        ]
        record = svc.get_key(s.key)
        assert record is not None and record.version(1).state is VersionState.DESTROYED  # type: ignore[union-attr]
        assert svc._require_open().store.count_under(s.key, frozenset({1})) == 0
        with pytest.raises(UnknownKeyError):  # the material itself is gone
            svc._require_open().backend.wrap(s.key, 1, bytes(32), b"probe")


def test_after_the_rekey_no_old_wrapped_blob_is_left_in_the_store_files(setup: Setup) -> None:
    s = setup
    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        for i in range(5):
            svc.encrypt(s.key, b"x", Context("acme", f"r{i}", "p"), subject=f"subject-{i}")
        svc.encrypt(s.key, b"x", KIM)  # and a time-window DEK
        store = svc._require_open().store
        old = [row.wrapped for row in store.under(s.key, frozenset({1}))]
        assert len(old) == 6 and all(blob in _raw(s.keystore) for blob in old)
        s.rekeyer(svc).rekey(s.key, actor="t")
        new = [row.wrapped for row in store.under(s.key, frozenset({2}))]
        raw = _raw(s.keystore)
        assert not [blob for blob in old if blob in raw]  # neither a free page nor the WAL
        assert len(new) == 6 and all(blob in raw for blob in new)


def test_a_writer_in_another_process_is_not_disturbed_by_the_rekey(embedded: Setup) -> None:
    s = embedded
    admin, worker = s.d.service(), s.d.service()
    try:
        admin.lifecycle.create(s.key, actor="t")
        before = worker.encrypt(s.key, b"before", KIM)  # the worker's active DEK is under v1
        assert worker.decrypt(before, KIM) == b"before"  # and cached there
        s.rekeyer(admin).rekey(s.key, actor="t")  # waits out the revocation bound (fake clock)
        after = worker.encrypt(s.key, b"after", LEE)  # its DEK retired: a new one, under v2
        assert envelope.parse(after)[0].kek_version == 2
        assert envelope.parse(before)[0].kek_version == 1  # the header keeps its first version
        assert worker.decrypt(before, KIM) == b"before"  # reloaded: the row is under v2 now
        assert admin.decrypt(before, KIM) == b"before"
        assert admin.decrypt(after, LEE) == b"after"
    finally:
        admin.seal()
        worker.seal()


# -- refusals, schedule, ledger ---------------------------------------------------------------


def test_a_key_with_a_disabled_version_is_refused_and_left_alone(embedded: Setup) -> None:
    s = embedded
    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        svc.lifecycle.rotate(s.key, actor="t")
        svc.lifecycle.disable(s.key, actor="t", version=1)
        with pytest.raises(KeyStateError, match=r"disabled versions \(v1\).*undo the disable"):
            s.rekeyer(svc).rekey(s.key, actor="t")
        record = svc.get_key(s.key)
        assert record is not None and record.primary == 2  # not even rotated
        svc.lifecycle.disable(s.key, actor="t")
        with pytest.raises(KeyStateError, match="only an enabled key can be rekeyed"):
            s.rekeyer(svc).rekey(s.key, actor="t")


def test_the_schedule_owes_a_key_a_rekey_once_its_oldest_version_is_due(embedded: Setup) -> None:
    s, count = embedded, 20
    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        for i in range(count):
            svc.encrypt(s.key, b"x", Context("acme", f"r{i}", "p"), subject=f"subject-{i}")
        rekeyer = s.rekeyer(svc, batch_size=4)
        s.d.clock.advance(30 * DAY - 1)
        assert rekeyer.due() == [] and rekeyer.scheduled(s.key) is None
        s.d.clock.advance(1)
        assert rekeyer.due() == [s.key]

        def crash(done: int, _total: int) -> None:
            if done >= 8:
                raise _CrashError

        with pytest.raises(_CrashError):
            rekeyer.scheduled(s.key, progress=crash)
        assert rekeyer.due() == [s.key]  # v1 is still live, and due
        resumed = rekeyer.scheduled(s.key)
        assert resumed is not None and not resumed.rotated  # v2 is fresh: no second rotation
        assert (resumed.primary, resumed.rewrapped, resumed.destroyed) == (2, count - 8, (1,))
        assert rekeyer.due() == []
        s.d.clock.advance(30 * DAY)
        again = rekeyer.scheduled(s.key)
        assert again is not None and again.rotated and (again.primary, again.destroyed) == (3, (2,))


def test_rekey_due_is_pure_and_zero_days_turns_the_schedule_off(
    deploy: Callable[..., Deployment],
) -> None:
    s = Setup(deploy(rekey_days=0), _key_id())
    with s.opened() as svc:
        record = svc.lifecycle.create(s.key, actor="t")
        s.d.clock.advance(3650 * DAY)
        assert s.rekeyer(svc).due() == []
    now = record.created_at
    assert not rekey_due(record, now + 10 * DAY, 0)
    assert not rekey_due(record, now + 10 * DAY - 1, 10 * DAY)
    assert rekey_due(record, now + 10 * DAY, 10 * DAY)
    assert not rekey_due(replace(record, state=KeyState.DISABLED), now + 99 * DAY, 10 * DAY)


def test_the_ledger_account_of_a_rekey_agrees_with_the_registry(embedded: Setup) -> None:
    s = embedded
    with s.opened() as svc:
        svc.lifecycle.create(s.key, actor="t")
        svc.encrypt(s.key, b"x", KIM)
        s.rekeyer(svc).rekey(s.key, actor="ops")
        s.rekeyer(svc).rekey(s.key, actor="ops")
        records = {s.key: svc.get_key(s.key)}
    mine = [e for e in s.d.events.events if e.key_id == s.key]
    assert [(e.action, e.version) for e in mine] == [
        (KeyAction.CREATE, 1),
        (KeyAction.ROTATE, 2),
        (KeyAction.DESTROY, 1),
        (KeyAction.REKEY, 2),
        (KeyAction.ROTATE, 3),
        (KeyAction.DESTROY, 2),
        (KeyAction.REKEY, 3),
    ]
    assert mine[3].detail["rewrapped"] == "1" and mine[3].detail["destroyed"] == "1"
    assert {e.detail.get("mode") for e in mine if e.action is KeyAction.DESTROY} == {"rekey"}
    entries = [
        (seq, {"attrs": {"key_id": e.key_id, "action": e.action.value, "version": e.version}})
        for seq, e in enumerate(mine)
    ]
    assert key_state_disagreements(entries, records) == []  # type: ignore[arg-type]
