"""SQLite-only failures: a full disk, a damaged or foreign file, a writer that never lets go."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sumun.errors import LedgerCorruptError, LedgerUnavailableError
from sumun.ledger.store.sqlite import SqliteStore
from tests.ledger.store._support import REPO, assert_consistent, draft, drafts

_CORRUPT = r"is damaged \((database disk image is malformed|file is not a database)\)"


def _ledger(path: Path, entries: int) -> None:
    store = SqliteStore(path)
    for k in range(0, entries, 1000):
        store.append_batch(drafts("f", min(1000, entries - k), start=k))
    store.close()  # the last connection checkpoints the WAL into the file


def test_database_full_is_unavailable_and_what_was_committed_stays_readable(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "ledger.db")
    store.append_batch(drafts("f", 100))
    # A real SQLITE_FULL: cap the file a few pages above its size (test-only knob; a quota
    # or a full disk fails the same way inside SQLite's pager).
    writer = store._writer
    assert writer is not None
    (pages,) = writer.execute("PRAGMA page_count").fetchone()
    writer.execute(f"PRAGMA max_page_count = {pages + 2}")
    big = [draft("big", i, payload=b"z" * 4000) for i in range(50)]
    with pytest.raises(LedgerUnavailableError, match=r"the disk or the database is full"):
        store.append_batch(big)
    assert store.size() == 100
    assert_consistent(store)
    writer.execute("PRAGMA max_page_count = 1073741823")  # space is back
    assert store.append_batch(big).first_seq == 100
    assert_consistent(store)


_FSIZE_WORKER = """
import json, resource, signal, sys
from pathlib import Path
from sumun.errors import SumunError
from sumun.ledger.store.sqlite import SqliteStore
from tests.ledger.store._support import draft

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # make the kernel answer EFBIG instead
store = SqliteStore(Path(sys.argv[1]))
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
size = 0
try:
    for k in range(1000):
        size = store.append_batch([draft("q", 10 * k + i, b"p" * 3000) for i in range(10)]).size
except SumunError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc), "size": size,
                      "still": store.size(), "entries": sum(1 for _ in store.entries(0, size))}))
"""


def test_a_real_write_failure_from_the_kernel_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SqliteStore(path).close()
    done = subprocess.run(
        [sys.executable, "-c", _FSIZE_WORKER, str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["error"] == "LedgerUnavailableError"
    assert "cannot append to the ledger" in report["message"]
    assert "full" in report["message"] or "I/O error" in report["message"]
    assert report["still"] == report["size"] == report["entries"] > 0
    store = SqliteStore(path)
    assert store.size() == report["size"]
    assert_consistent(store)
    store.close()


def test_garbage_is_corrupt_at_open(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(os.urandom(16384))
    with pytest.raises(LedgerCorruptError, match=_CORRUPT):
        SqliteStore(path)


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
def test_a_truncated_file_is_corrupt_at_open_or_first_read(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "ledger.db"
    _ledger(path, 4000)
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(LedgerCorruptError, match=_CORRUPT):
        assert_consistent(SqliteStore(path))


def test_a_damaged_page_is_corrupt_at_open_or_first_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _ledger(path, 4000)
    raw = bytearray(path.read_bytes())
    page = 4096
    middle = (len(raw) // page // 2) * page
    raw[middle : middle + page] = b"\xff" * page
    path.write_bytes(bytes(raw))
    with pytest.raises(LedgerCorruptError, match=_CORRUPT):
        assert_consistent(SqliteStore(path))


def test_an_empty_file_is_a_truncated_ledger_not_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.touch()
    with pytest.raises(LedgerCorruptError, match="an empty file: a truncated ledger"):
        SqliteStore(path)


def test_a_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE entries (x)")
    conn.close()
    with pytest.raises(LedgerCorruptError, match="an SQLite file but not a Sumun ledger"):
        SqliteStore(path)


def test_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(
        LedgerUnavailableError, match=r"cannot open or create the ledger at .*No such file"
    ):
        SqliteStore(tmp_path / "nowhere" / "ledger.db")


def test_a_writer_that_holds_the_lock_too_long_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    store = SqliteStore(path, timeout=0.3)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    began = time.monotonic()
    with pytest.raises(LedgerUnavailableError, match=r"another writer held the database for"):
        store.append_batch(drafts("l", 1))
    assert time.monotonic() - began < 3
    assert store.size() == 0  # readers are not blocked by the writer (WAL)
    other.execute("ROLLBACK")
    other.close()
    assert store.append_batch(drafts("l", 1)).size == 1
    store.close()


def test_the_file_is_private_durable_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    store = SqliteStore(path)
    writer = store._writer
    assert writer is not None
    assert writer.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: fsync every commit
    store.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob(".*.init"))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
