"""`sumun init / unseal / seal / status / keys …` as a person runs them: real processes.

Both paths are exercised: on SUMUN_HOME directly (no server; shares on the command line),
and against a running `sumun serve` through the admin channel.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

SUMUN = [sys.executable, "-m", "sumun.cli.main"]


@dataclass
class Cli:
    home: Path

    def run(self, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SUMUN_HOME": str(self.home), "COLUMNS": "200"}
        env.pop("SUMUN_CONFIG", None)
        return subprocess.run(
            [*SUMUN, *args],
            capture_output=True,
            text=True,
            env=env,
            input=input_text,
            timeout=60,
            check=False,
        )

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _shares(shares: list[str]) -> list[str]:
    return [arg for share in shares for arg in ("--share", share)]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")


def test_init_prints_shares_once_as_json(cli: Cli) -> None:
    out = cli.json("init", "--custodians", "5", "--threshold", "3")
    assert out["threshold"] == 3 and out["custodians"] == 5 and len(out["shares"]) == 5
    assert len(set(out["shares"])) == 5
    stored = b"".join(p.read_bytes() for p in cli.home.rglob("*") if p.is_file())
    for share in out["shares"]:
        assert share.encode() not in stored  # shown once, stored nowhere
    again = cli.run("init")
    assert again.returncode == 2
    assert again.stderr.strip().startswith("error:") and "already initialised" in again.stderr
    assert "Traceback" not in again.stderr


def test_direct_mode_lifecycle(cli: Cli) -> None:
    shares = cli.json("init", "--custodians", "5", "--threshold", "3")["shares"]
    quorum = _shares(shares[1:4])
    created = cli.json("keys", "create", "acme", *quorum)
    assert created["state"] == "enabled" and created["primary"] == 1
    assert cli.json("keys", "rotate", "acme", *quorum)["primary"] == 2
    listed = cli.json("keys", "list")
    assert [k["key_id"] for k in listed["keys"]] == ["acme"] and not listed["verified"]
    assert cli.json("keys", "disable", "acme", *quorum)["state"] == "disabled"
    assert cli.json("keys", "enable", "acme", *quorum)["state"] == "enabled"
    scheduled = cli.json("keys", "destroy", "acme", "--grace-days", "2", *quorum)
    assert scheduled["state"] == "pending-destruction" and scheduled["destroy_after"]
    assert cli.json("keys", "enable", "acme", *quorum)["state"] == "enabled"
    destroyed = cli.json("keys", "destroy", "acme", "--now", *quorum)
    assert destroyed["state"] == "destroyed"
    human = cli.run("keys", "list")
    assert human.returncode == 0 and "destroyed" in human.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "create", "acme"], "3 custodian shares are needed"),
        (["keys", "create", "acme", "--share", "sumun1-AAAAA-BBBBB", "@two"], "share 1"),
        (["keys", "rotate", "nope", "@quorum"], "no key 'nope'"),
        (["keys", "create", "Bad Id", "@quorum"], "invalid key id"),
        (["keys", "destroy", "nope", "--now", "@quorum"], "no key 'nope'"),
        (["init", "--passphrase", "--custodians", "3"], "not both"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_2(cli: Cli, args: list[str], message: str) -> None:
    shares = cli.json("init")["shares"]
    argv: list[str] = []
    for arg in args:
        if arg == "@quorum":
            argv += _shares(shares[:3])
        elif arg == "@two":
            argv += _shares(shares[1:3])
        else:
            argv.append(arg)
    done = cli.run(*argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2


def test_uninitialised_home_is_a_clear_error(cli: Cli) -> None:
    done = cli.run("keys", "create", "acme", "--share", "x")
    assert done.returncode == 2 and "not an initialised Sumun home" in done.stderr
    status = cli.run("status")  # a read on an uninitialised home: exit 2, nothing created
    assert status.returncode == 2 and "not an initialised Sumun home" in status.stderr
    assert not cli.home.exists()


@dataclass
class Server:
    proc: subprocess.Popen[str]
    base_url: str
    admin_socket: str


@pytest.fixture
def server(cli: Cli) -> Iterator[tuple[Cli, Server, list[str]]]:
    shares = cli.json("init", "--custodians", "5", "--threshold", "3")["shares"]
    env = {**os.environ, "SUMUN_HOME": str(cli.home)}
    proc = subprocess.Popen(
        [*SUMUN, "serve", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        yield cli, Server(proc, ready["base_url"], ready["admin_socket"]), shares
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def test_running_server_is_driven_through_the_admin_channel(
    server: tuple[Cli, Server, list[str]],
) -> None:
    cli, srv, shares = server
    assert httpx.get(f"{srv.base_url}/healthz").status_code == 200
    ready = httpx.get(f"{srv.base_url}/readyz")
    assert ready.status_code == 503 and ready.json()["reason"] == "sealed"
    status = cli.json("status")
    assert status["mode"] == "running server" and status["sealed"] is True

    # Custodians arrive one after another.
    first = cli.json("unseal", "--share", shares[0])
    assert (first["sealed"], first["collected"], first["threshold"]) == (True, 1, 3)
    done = cli.json("unseal", *_shares(shares[3:5]))
    assert done["sealed"] is False
    assert httpx.get(f"{srv.base_url}/readyz").status_code == 200

    # Unsealed server: key commands need no shares...
    created = cli.json("keys", "create", "acme")
    assert created["backend"] == "embedded"
    assert cli.json("keys", "rotate", "acme")["primary"] == 2
    assert cli.json("keys", "list")["verified"] is True
    # ...except an immediate destruction, which wants a fresh quorum.
    refused = cli.run("keys", "destroy", "acme", "--now")
    assert refused.returncode == 2 and "3 custodian shares are needed" in refused.stderr
    assert cli.json("keys", "destroy", "acme", "--now", *_shares(shares[:3]))["state"] == (
        "destroyed"
    )

    sealed = cli.json("seal")
    assert sealed["sealed"] is True
    assert httpx.get(f"{srv.base_url}/readyz").status_code == 503
    refused = cli.run("keys", "create", "bank")
    assert refused.returncode == 2 and "sealed" in refused.stderr

    # The admin channel refuses a caller without the token.
    transport = httpx.HTTPTransport(uds=srv.admin_socket)
    with httpx.Client(transport=transport, base_url="http://x") as raw:
        assert raw.get("/admin/v1/status").status_code == 401
        wrong = raw.get("/admin/v1/status", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
    assert oct(Path(srv.admin_socket).stat().st_mode & 0o777) == "0o600"
    assert oct(Path(srv.admin_socket).parent.stat().st_mode & 0o777) == "0o700"


def test_key_events_name_the_admin_channel_actor(server: tuple[Cli, Server, list[str]]) -> None:
    cli, _srv, shares = server
    cli.json("unseal", *_shares(shares[:3]))
    cli.json("keys", "create", "acme")
    entries = [row["entry"] for row in cli.json("ledger", "tail", "-n", "50")["entries"]]
    creates = [
        e
        for e in entries
        if e["kind"] == "key-event"
        and e["attrs"]["action"] == "create"
        and e["attrs"].get("key_id") == "acme"
    ]
    assert creates and creates[-1]["attrs"]["actor"].endswith("via admin-channel")


def test_encrypt_decrypt_by_hand_and_see_a_destroyed_key_shred_its_data(cli: Cli) -> None:
    shares = cli.json("init")["shares"]
    quorum = _shares(shares[:3])
    cli.json("keys", "create", "acme", *quorum)
    sealed = cli.run("keys", "encrypt", "acme", "--record", "r1", *quorum, input_text="안녕 수문")
    assert sealed.returncode == 0, sealed.stderr
    envelope = sealed.stdout.strip()
    assert "안녕" not in envelope
    opened = cli.run("keys", "decrypt", "acme", "--record", "r1", *quorum, input_text=envelope)
    assert opened.returncode == 0 and opened.stdout == "안녕 수문"
    moved = cli.run("keys", "decrypt", "acme", "--record", "r2", *quorum, input_text=envelope)
    assert moved.returncode == 2 and "decryption failed" in moved.stderr
    cli.json("keys", "destroy", "acme", "--now", *quorum)
    gone = cli.run("keys", "decrypt", "acme", "--record", "r1", *quorum, input_text=envelope)
    assert gone.returncode == 2 and "destroyed" in gone.stderr and "Traceback" not in gone.stderr


def test_encrypt_decrypt_through_the_running_server(server: tuple[Cli, Server, list[str]]) -> None:
    cli, _srv, shares = server
    cli.json("unseal", *_shares(shares[:3]))
    cli.json("keys", "create", "acme")
    sealed = cli.run("keys", "encrypt", "acme", "--subject", "kim", input_text="record")
    assert sealed.returncode == 0, sealed.stderr
    opened = cli.run("keys", "decrypt", "acme", input_text=sealed.stdout)
    assert opened.stdout == "record"
    cli.json("keys", "shred-subject", "acme", "kim")
    shredded = cli.run("keys", "decrypt", "acme", input_text=sealed.stdout)
    assert shredded.returncode == 2 and "erased (crypto-shredded on " in shredded.stderr
    cli.json("keys", "disable", "acme")
    refused = cli.run("keys", "encrypt", "acme", input_text="more")
    assert refused.returncode == 2 and "disabled" in refused.stderr
