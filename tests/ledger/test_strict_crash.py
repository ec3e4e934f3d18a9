"""Kill -9 during sustained strict appends (16 threads, one process): after restart every append
that had returned is present at its seq, no half-written entry is visible, and fsck passes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sumun.ledger.entry import decode_entry
from sumun.ledger.fsck import fsck
from sumun.ledger.store.base import LedgerStore

ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(kind: str, target: str, env: dict[str, str], seconds: float) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger._strict_worker", kind, target],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(seconds)
    finally:
        proc.send_signal(signal.SIGKILL)  # always: a failed assertion must not leave it running
    out, _ = proc.communicate(timeout=20)
    return [line for line in out.splitlines() if line.strip()]


def _check(store: LedgerStore, promised: list[str]) -> None:
    assert len(promised) > 100, "the worker made too little progress to mean anything"
    size = store.size()
    stored = {s.seq: decode_entry(s.entry)["request_id"] for s in store.entries(0, size)}
    for line in promised[:-1]:  # the last line may be torn by the kill
        seq_text, request_id = line.split()
        assert stored.get(int(seq_text)) == request_id, f"acknowledged append {line} was lost"
    report = fsck(store, [])
    assert report.size == size


@pytest.mark.slow
def test_sigkill_during_strict_appends_sqlite(tmp_path: Path) -> None:
    from sumun.ledger.store.sqlite import SqliteStore

    db = tmp_path / "ledger.db"
    promised = _run_and_kill("sqlite", str(db), {}, 1.5)
    store = SqliteStore(db)
    try:
        _check(store, promised)
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_during_strict_appends_postgres(postgres_dsn: str, postgres_schema: str) -> None:
    from sumun.ledger.store.postgres import PostgresStore

    env = {"SUMUN_TEST_WORKER_DSN": postgres_dsn}
    promised = _run_and_kill("postgres", postgres_schema, env, 1.5)
    store = PostgresStore(postgres_dsn, schema=postgres_schema)
    try:
        _check(store, promised)
    finally:
        store.close()
