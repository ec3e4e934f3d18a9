"""The key backend chosen at `sumun init` is remembered (issue 18, Rule 1): real CLI, real OpenBao.

`home.json` records the backend; later commands need not repeat `SUMUN_KEYS_BACKEND` (nor
`--backend`), and a configuration that explicitly names another backend is refused in one line.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.openbao import OpenBaoServer

SUMUN = [sys.executable, "-m", "sumun.cli.main"]

pytestmark = pytest.mark.openbao


class Home:
    def __init__(self, home: Path, bao: OpenBaoServer) -> None:
        self.home = home
        self.bao = bao

    def run(
        self, *args: str, stdin: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUMUN_", "BAO_"))}
        env |= {
            "SUMUN_HOME": str(self.home),
            "SUMUN_OPENBAO_ADDR": self.bao.address,
            "SUMUN_OPENBAO_TOKEN": self.bao.token,
            "COLUMNS": "200",
            **extra,
        }
        return subprocess.run(
            [*SUMUN, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    def json(self, *args: str, **extra: str) -> Any:
        done = self.run(*args, "--json", **extra)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _quorum(shares: list[str]) -> list[str]:
    return [arg for share in shares[:3] for arg in ("--share", share)]


def _transit_keys(bao: OpenBaoServer) -> list[str]:
    client = bao.client()
    try:
        return list(client.secrets.transit.list_keys(mount_point="transit")["data"]["keys"])
    finally:
        client.adapter.close()


@pytest.mark.parametrize("how", ["env", "option"])
def test_later_commands_use_the_backend_recorded_at_init(
    tmp_path: Path, openbao_server: OpenBaoServer, how: str
) -> None:
    home = Home(tmp_path / "home", openbao_server)
    if how == "env":
        out = home.json("init", SUMUN_KEYS_BACKEND="openbao")
    else:
        out = home.json("init", "--backend", "openbao")
    assert out["backend"] == "openbao"
    quorum = _quorum(out["shares"])

    key = f"acme-{secrets.token_hex(4)}"
    created = home.json("keys", "create", key, *quorum)  # no SUMUN_KEYS_BACKEND any more
    assert created["backend"] == "openbao"
    assert f"sumun-{key}" in _transit_keys(openbao_server)  # really in OpenBao
    sealed = home.run("keys", "encrypt", key, *quorum, stdin="안녕")
    assert sealed.returncode == 0, sealed.stderr
    opened = home.run("keys", "decrypt", key, *quorum, stdin=sealed.stdout)
    assert opened.returncode == 0 and opened.stdout == "안녕", opened.stderr
    status = home.json("status")
    assert status["backend"] == "openbao"
    # The same choice, said again, is fine.
    again = home.json("keys", "rotate", key, *quorum, SUMUN_KEYS_BACKEND="openbao")
    assert again["primary"] == 2


def test_an_explicit_conflicting_backend_is_one_clear_error(
    tmp_path: Path, openbao_server: OpenBaoServer
) -> None:
    home = Home(tmp_path / "home", openbao_server)
    torn = home.run("init", "--backend", "openbao", SUMUN_KEYS_BACKEND="embedded")
    assert torn.returncode == 2 and "choose one" in torn.stderr
    assert not home.home.exists()  # refused before anything was created
    quorum = _quorum(home.json("init", "--backend", "openbao")["shares"])

    from_env = home.run("keys", "create", "acme", *quorum, SUMUN_KEYS_BACKEND="embedded")
    assert from_env.returncode == 2
    lines = from_env.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in from_env.stderr
    assert "initialised with the openbao key backend" in lines[0]
    assert "SUMUN_KEYS_BACKEND" in lines[0] and "says embedded" in lines[0]

    (home.home / "sumun.yaml").write_text("keys:\n  backend: embedded\n", encoding="utf-8")
    from_file = home.run("keys", "create", "acme", *quorum)
    assert from_file.returncode == 2
    assert f"keys.backend in {home.home / 'sumun.yaml'}" in from_file.stderr
    assert "initialised with the openbao key backend" in from_file.stderr
    assert "acme" not in home.json("keys", "list", SUMUN_KEYS_BACKEND="openbao")["keys"]


def test_a_running_server_unseals_with_the_recorded_backend(
    tmp_path: Path, openbao_server: OpenBaoServer
) -> None:
    home = Home(tmp_path / "home", openbao_server)
    shares = home.json("init", "--backend", "openbao")["shares"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUMUN_", "BAO_"))}
    env |= {
        "SUMUN_HOME": str(home.home),
        "SUMUN_OPENBAO_ADDR": openbao_server.address,
        "SUMUN_OPENBAO_TOKEN": openbao_server.token,
    }
    proc = subprocess.Popen(
        [*SUMUN, "serve", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())  # ready
        unsealed = home.json("unseal", *_quorum(shares))
        assert unsealed["mode"] == "running server" and unsealed["sealed"] is False
        key = f"srv-{secrets.token_hex(4)}"
        assert home.json("keys", "create", key)["backend"] == "openbao"
        assert f"sumun-{key}" in _transit_keys(openbao_server)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
