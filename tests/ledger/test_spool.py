"""The ledger spool and recovery (sumun.ledger.spool, sumun.ledger.outage), against a real
SQLite store that can be made to fail the way a database does: refusing appends, or committing
a batch and then losing the answer (a connection cut during COMMIT)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from sumun.config import LedgerConfig
from sumun.errors import LedgerUnavailableError
from sumun.ledger.entry import EntryDraft, EntryKind, EntryMeta, decode_entry
from sumun.ledger.service import Ledger
from sumun.ledger.spool import Spool
from sumun.ledger.store.base import AppendResult
from sumun.ledger.store.sqlite import SqliteStore

ENVELOPE = b"\x01sealed-envelope-bytes\x00\xff"  # stands for the key layer's ciphertext


class _FlakyStore(SqliteStore):
    """`down`: every append fails. `lie`: the batch commits, then the append raises anyway.
    `fail_after`: that many more batches go in, then appends fail (a crash mid-replay)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.down = False
        self.lie = False
        self.fail_after: int | None = None

    def append_batch(self, drafts: Sequence[EntryDraft]) -> AppendResult:
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise LedgerUnavailableError("the process died here")
            self.fail_after -= 1
        if self.down:
            raise LedgerUnavailableError("connection refused")
        result = super().append_batch(drafts)
        if self.lie:
            raise LedgerUnavailableError("server closed the connection during COMMIT")
        return result


def _completed(i: int) -> EntryMeta:
    return EntryMeta(
        EntryKind.REQUEST_COMPLETED,
        "acme",
        1_800_000_000_000 + i,
        request_id=f"req-{i:04d}",
        attrs={"status": "200", "outcome": "ok", "admitted_seq": "0"},
    )


def _ledger(home: Path, store: SqliteStore, **conf: object) -> Ledger:
    config = LedgerConfig(batch_delay_ms=0, retry_seconds=0.1, **conf)  # type: ignore[arg-type]
    return Ledger(store, config, home=home, origin="test")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[_FlakyStore]:
    s = _FlakyStore(tmp_path / "ledger.db")
    yield s
    s.close()


def _submit(ledger: Ledger, first: int, count: int) -> None:
    """Queue `count` completed entries whose payload is an (opaque) envelope."""
    for i in range(first, first + count):
        draft = EntryDraft(_completed(i), ENVELOPE + str(i).encode())
        ledger._sequencer.submit(draft, "batched")
    ledger.flush()


def _kinds(store: SqliteStore) -> list[tuple[str, str | None]]:
    return [
        (obj["kind"], obj["request_id"])
        for obj in (decode_entry(e.entry) for e in store.entries(0, store.size()))
    ]


def _wait(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_queued_entries_are_spooled_while_the_store_fails_and_replayed_in_order(
    tmp_path: Path, store: _FlakyStore
) -> None:
    ledger = _ledger(tmp_path / "home", store)
    _submit(ledger, 0, 3)
    store.down = True
    _submit(ledger, 3, 5)
    stats = ledger.spool_stats()
    assert (stats.spooled, stats.depth, stats.lost) == (5, 5, 0)
    problem = ledger.append_problem()
    assert problem is not None
    assert problem.startswith("the ledger store cannot append: connection refused")
    spool_dir = tmp_path / "home" / "spool"
    assert stat.S_IMODE(spool_dir.stat().st_mode) == 0o700
    (spooled,) = spool_dir.glob("*.spool")
    assert stat.S_IMODE(spooled.stat().st_mode) == 0o600

    store.down = False
    _wait(lambda: ledger.spool_stats().depth == 0)
    kinds = _kinds(store)
    assert kinds[:8] == [("request-completed", f"req-{i:04d}") for i in range(8)]
    assert kinds[8] == ("ledger-recovery", None)
    assert len(kinds) == 9
    recovery = decode_entry(next(iter(store.entries(8, 9))).entry)["attrs"]
    assert recovery["spooled"] == recovery["replayed"] == "5"
    assert recovery["lost"] == recovery["already_recorded"] == "0"
    assert recovery["reason"].startswith("connection refused")
    assert int(recovery["failed_batches"]) >= 1
    # The replayed entries are the ones submitted: same payload envelopes, byte for byte.
    assert [e.payload for e in store.entries(3, 8)] == [
        ENVELOPE + str(i).encode() for i in range(3, 8)
    ]
    assert ledger.append_problem() is None
    assert ledger.spool_stats().replayed == 5
    assert list(spool_dir.glob("*.spool")) == []
    ledger.close()


def test_a_commit_whose_answer_was_lost_is_not_recorded_twice(
    tmp_path: Path, store: _FlakyStore
) -> None:
    ledger = _ledger(tmp_path / "home", store)
    _submit(ledger, 0, 1)
    store.lie = True  # committed, but the writer is told it failed: it spools the batch
    _submit(ledger, 1, 4)
    assert ledger.spool_stats().spooled == 4
    store.lie = False
    _submit(ledger, 5, 1)  # the store answers again
    _wait(lambda: ledger.spool_stats().depth == 0)
    ids = [rid for kind, rid in _kinds(store) if kind == "request-completed"]
    assert sorted(ids) == [f"req-{i:04d}" for i in range(6)]  # each exactly once
    recovery = [decode_entry(e.entry) for e in store.entries(0, store.size())][-1]
    assert recovery["kind"] == "ledger-recovery"
    assert (recovery["attrs"]["replayed"], recovery["attrs"]["already_recorded"]) == ("0", "4")
    ledger.close()


def test_a_replay_cut_short_by_a_crash_is_finished_at_the_next_start_without_duplicates(
    tmp_path: Path, store: _FlakyStore
) -> None:
    home = tmp_path / "home"
    ledger = _ledger(home, store, batch_max=3)
    _submit(ledger, 0, 1)
    store.down = True
    _submit(ledger, 1, 7)
    store.down, store.fail_after = False, 1  # the replay gets one batch in, then "dies"
    _wait(lambda: store.fail_after == 0)
    ledger._sequencer.close()
    assert ledger.spool_stats().depth == 7  # the segment stays until the replay is complete

    store.fail_after = None
    restarted = _ledger(home, store, batch_max=3)  # a new process finds the spool
    assert restarted.spool_stats().depth == 7
    _wait(lambda: restarted.spool_stats().depth == 0)
    ids = [rid for kind, rid in _kinds(store) if kind == "request-completed"]
    assert ids == [f"req-{i:04d}" for i in range(8)]
    recovery = [decode_entry(e.entry) for e in store.entries(0, store.size())][-1]
    assert recovery["attrs"]["reason"] == "spool left by an earlier run"
    assert (recovery["attrs"]["replayed"], recovery["attrs"]["already_recorded"]) == ("4", "3")
    restarted.close()


def test_entries_the_spool_cannot_take_are_counted_lost_and_readiness_says_so(
    tmp_path: Path, store: _FlakyStore
) -> None:
    home = tmp_path / "home"
    (home / "spool" / "pending.spool").mkdir(parents=True)  # the spool file cannot be opened
    ledger = _ledger(home, store)
    store.down = True
    _submit(ledger, 0, 2)
    stats = ledger.spool_stats()
    assert (stats.spooled, stats.lost) == (0, 2)
    problem = ledger.append_problem()
    assert problem is not None
    assert problem.startswith("the ledger spool cannot be written (2 entries lost so far)")

    (home / "spool" / "pending.spool").rmdir()
    store.down = False
    _wait(lambda: ledger.append_problem() is None)  # the probe (the recovery entry) went in
    (recovery,) = [decode_entry(e.entry) for e in store.entries(0, store.size())]
    assert recovery["kind"] == "ledger-recovery"
    assert (recovery["attrs"]["lost"], recovery["attrs"]["spooled"]) == ("2", "0")
    ledger.close()


def test_a_torn_record_ends_its_file_and_is_counted_lost(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    spool.keep([EntryDraft(_completed(i), ENVELOPE) for i in range(3)], hint=5)
    with (tmp_path / "spool" / "pending.spool").open("ab") as f:
        f.write(b"SSP1\x00\x00\x00\x10")  # a crash in the middle of the next record
    reopened = Spool(tmp_path / "spool", max_bytes=1 << 20)
    assert reopened.depth() == 3
    with reopened.claim() as segments:
        (segment,) = segments
        assert segment.damaged == 1
        assert [e.draft.meta.request_id for e in segment.entries] == [
            "req-0000",
            "req-0001",
            "req-0002",
        ]
        assert all(e.hint == 5 and e.draft.payload == ENVELOPE for e in segment.entries)
        reopened.finish(segments)
    assert reopened.depth() == 0
    assert not any(p.suffix == ".spool" for p in (tmp_path / "spool").iterdir())


def test_a_full_spool_refuses_whole_batches(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=64 * 1024)
    big = EntryDraft(_completed(0), os.urandom(40 * 1024))
    spool.keep([big], hint=None)
    with pytest.raises(LedgerUnavailableError, match="the ledger spool is full"):
        spool.keep([big], hint=None)
    assert spool.depth() == 1


def test_a_failed_write_leaves_no_torn_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    spool.keep([EntryDraft(_completed(0), ENVELOPE)], hint=None)
    real_write = os.write

    def half_then_enospc(fd: int, data: bytes | memoryview) -> int:
        if len(data) > 100:
            real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_enospc)
    with pytest.raises(OSError, match="No space left"):
        spool.keep([EntryDraft(_completed(1), ENVELOPE * 20)], hint=None)
    monkeypatch.undo()
    spool.keep([EntryDraft(_completed(2), ENVELOPE)], hint=None)
    with spool.claim() as segments:
        assert [e.draft.meta.request_id for e in segments[0].entries] == ["req-0000", "req-0002"]
        assert segments[0].damaged == 0
