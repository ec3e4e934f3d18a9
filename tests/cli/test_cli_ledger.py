"""`sumun ledger …` as a newcomer uses it: append, checkpoint, prove, tail, export, verify —
then the standalone verifier checks the export with nothing but the exported files."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli_keys import Cli, _shares


@pytest.fixture
def ready(tmp_path: Path) -> tuple[Cli, list[str]]:
    cli = Cli(tmp_path / "home")
    shares = cli.json("init")["shares"]
    cli.json("keys", "create", "acme", *_shares(shares[:3]))
    return cli, shares


def _pinned(cli: Cli) -> list[str]:
    """The third party pins the key it got from the deployment, not the export's own copy."""
    return [arg for key in cli.json("ledger", "vkeys")["vkeys"] for arg in ("--key", key)]


def _offline(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # A third party: a fresh interpreter in an unrelated working directory, only the files.
    return subprocess.run(
        [sys.executable, "-m", "sumun.ledger.verifier", str(directory), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=directory.parent,
        check=False,
    )


def test_append_checkpoint_prove_tail_export_verify(
    ready: tuple[Cli, list[str]], tmp_path: Path
) -> None:
    cli, shares = ready
    quorum = _shares(shares[:3])
    payload = tmp_path / "memo.txt"
    payload.write_text("고객 상담: 대출 한도 문의")
    appended = cli.json(
        "ledger",
        "append",
        "--tenant",
        "acme",
        "--attr",
        "ticket=T-17",
        "--payload-file",
        str(payload),
        *quorum,
    )
    seq = appended["seq"]
    cp = cli.json("ledger", "checkpoint", *quorum)
    assert cp["size"] > seq and cp["note"].count("\n\u2014 ") == 1

    proof = cli.json("ledger", "prove", "--seq", str(seq))
    assert proof["seq"] == seq and proof["tree_size"] == cp["size"]

    plain = cli.json("ledger", "tail", "-n", "50")["entries"]
    mine = next(r for r in plain if r["seq"] == seq)
    assert mine["payload_state"] == "encrypted" and mine["entry"]["attrs"]["ticket"] == "T-17"
    opened = cli.json("ledger", "tail", "-n", "50", "--decrypt", *quorum)["entries"]
    assert next(r for r in opened if r["seq"] == seq)["payload"] == "고객 상담: 대출 한도 문의"

    verified = cli.json("ledger", "verify")
    assert verified["ok"] and verified["size"] >= cp["size"]

    out = tmp_path / "tiles"
    cli.json("ledger", "export", "--tiles", str(out))
    assert (out / "checkpoint").read_text() == cp["note"]
    assert (out / "verifier.key").read_text().strip()
    done = _offline(out, *_pinned(cli))
    assert done.returncode == 0, done.stdout + done.stderr

    # The inclusion proof verifies offline too, against the exported checkpoint.
    from sumun.ledger.verifier import verify_inclusion_bundle

    vkeys = (out / "verifier.key").read_text().split()
    verify_inclusion_bundle(proof, proof["checkpoint"], vkeys)


def test_tail_by_kind_reaches_back_past_other_entries(ready: tuple[Cli, list[str]]) -> None:
    cli, shares = ready
    quorum = _shares(shares[:3])
    cli.json("ledger", "append", "--tenant", "acme", "--kind", "oversight-review", *quorum)
    for i in range(5):
        cli.json("ledger", "append", "--tenant", "acme", "--attr", f"n={i}", *quorum)
    rows = cli.json("ledger", "tail", "-n", "3", "--kind", "oversight-review")["entries"]
    assert [r["entry"]["kind"] for r in rows] == ["oversight-review"]
    changes = cli.json("ledger", "tail", "-n", "2", "--kind", "admin-change")["entries"]
    assert [r["entry"]["attrs"]["n"] for r in changes] == ["3", "4"]
    wrong = cli.run("ledger", "tail", "--kind", "no-such-kind")
    assert wrong.returncode == 2 and "xks" in wrong.stdout + wrong.stderr


def test_verify_exits_1_and_names_the_first_bad_entry(ready: tuple[Cli, list[str]]) -> None:
    cli, shares = ready
    quorum = _shares(shares[:3])
    for i in range(6):
        cli.json("ledger", "append", "--tenant", "acme", "--attr", f"n={i}", *quorum)
    cli.json("ledger", "checkpoint", *quorum)
    db = cli.home / "ledger" / "ledger.db"
    with sqlite3.connect(db) as conn:
        (seq, entry) = next(
            row
            for row in conn.execute("SELECT seq, entry FROM entries")
            if b'"n":"3"' in bytes(row[1])
        )
        conn.execute(
            "UPDATE entries SET entry = ? WHERE seq = ?",
            (bytes(entry).replace(b'"n":"3"', b'"n":"4"'), seq),
        )
    done = cli.run("ledger", "verify", "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["first_bad_seq"] == seq
    human = cli.run("ledger", "verify")
    assert (
        human.returncode == 1 and f"seq {seq}" in human.stderr and "Traceback" not in human.stderr
    )


def test_offline_verifier_catches_a_tampered_export(
    ready: tuple[Cli, list[str]], tmp_path: Path
) -> None:
    cli, shares = ready
    quorum = _shares(shares[:3])
    for i in range(3):
        cli.json("ledger", "append", "--tenant", "acme", "--attr", f"n={i}", *quorum)
    cli.json("ledger", "checkpoint", *quorum)
    good = tmp_path / "good"
    cli.json("ledger", "export", "--tiles", str(good))
    assert _offline(good, *_pinned(cli)).returncode == 0

    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    bundle = next(p for p in (bad / "tile" / "entries").rglob("*") if p.is_file())
    raw = bytearray(bundle.read_bytes())
    raw[10] ^= 0x20
    bundle.write_bytes(bytes(raw))
    done = _offline(bad, *_pinned(cli))
    assert done.returncode == 1 and "entry" in (done.stdout + done.stderr)

    forged = tmp_path / "forged"
    shutil.copytree(good, forged)
    note = (forged / "checkpoint").read_text().splitlines(keepends=True)
    note[1] = str(int(note[1]) + 1) + "\n"  # claim one more entry than was signed
    (forged / "checkpoint").write_text("".join(note))
    assert _offline(forged, *_pinned(cli)).returncode == 1


def test_prove_without_a_checkpoint_says_what_to_do(ready: tuple[Cli, list[str]]) -> None:
    cli = ready[0]
    done = cli.run("ledger", "prove", "--seq", "0")
    assert done.returncode == 2 and "sumun ledger checkpoint" in done.stderr


def test_ledger_through_the_running_server(tmp_path: Path) -> None:
    import os
    import signal

    cli = Cli(tmp_path / "home")
    shares = cli.json("init")["shares"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sumun.cli.main",
            "serve",
            "--port",
            "0",
            "--json",
            *_shares(shares[:3]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SUMUN_HOME": str(cli.home)},
    )
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())
        cli.json("keys", "create", "acme")
        done = cli.run(
            "ledger",
            "append",
            "--tenant",
            "acme",
            "--payload-file",
            "-",
            "--json",
            input_text="via server",
        )
        assert done.returncode == 0, done.stderr
        seq = json.loads(done.stdout)["seq"]
        cp = cli.json("ledger", "checkpoint")
        assert cp["size"] > seq
        rows = cli.json("ledger", "tail", "-n", "20", "--decrypt")["entries"]
        assert any(r.get("payload") == "via server" for r in rows)
        assert cli.json("ledger", "verify")["ok"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
