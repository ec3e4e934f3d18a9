"""A newcomer never meets a traceback or a silent success (issue 18, Rule 1): real processes.

A mistyped SUMUN_HOME is refused by every read command before anything is created in it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sumun import __version__
from tests.fixtures.demo import start_demo

SUMUN = [sys.executable, "-m", "sumun.cli.main"]


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env |= {"SUMUN_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [*SUMUN, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


READS = [
    ["status"],
    ["keys", "list"],
    ["tenants", "list"],
    ["tenants", "apps", "list"],
    ["tenants", "keys", "list"],
    ["ledger", "tail"],
    ["ledger", "verify"],
    ["ledger", "vkeys"],
    ["ledger", "prove", "--seq", "0"],
    ["providers", "list"],
    ["xks", "keystores", "list"],
]


@pytest.mark.parametrize("args", READS, ids=" ".join)
@pytest.mark.parametrize("exists", [False, True], ids=["missing", "empty"])
def test_read_on_uninitialised_home_exits_2_and_creates_nothing(
    tmp_path: Path, args: list[str], exists: bool
) -> None:
    home = tmp_path / "typo-home"
    if exists:
        home.mkdir()
    before = _tree(tmp_path)
    done = _run(home, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and str(home) in lines[0]
    assert "not an initialised Sumun home" in lines[0] and "sumun init" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert _tree(tmp_path) == before


def test_version_json(tmp_path: Path) -> None:
    done = _run(tmp_path / "any", "version", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"version": __version__}
    assert not (tmp_path / "any").exists()


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (["status"], "StateError", "not an initialised Sumun home"),
        (["keys", "list"], "StateError", "not an initialised Sumun home"),
        (["tenants", "list"], "StateError", "not an initialised Sumun home"),
        (["tenants", "create", "Bad Name"], "UsageError", "bad tenant name 'Bad Name'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_errors_under_json_are_one_object_on_stdout_same_exit_code(
    tmp_path: Path, args: list[str], kind: str, message: str
) -> None:
    home = tmp_path / "typo-home"
    plain = _run(home, *args)
    as_json = _run(home, *args, "--json")
    assert as_json.returncode == plain.returncode == 2, (plain.stderr, as_json.stdout)
    assert as_json.stderr == plain.stderr  # the person at the terminal still reads the line
    lines = as_json.stdout.splitlines()
    assert len(lines) == 1
    error = json.loads(lines[0])
    assert set(error) == {"error"} and error["error"]["type"] == kind
    assert message in error["error"]["message"]
    assert error["error"]["message"] in plain.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


@pytest.mark.parametrize("flag", ["--port", "--admin-port"])
def test_serve_on_a_busy_port_is_one_line_naming_it(
    tmp_path: Path, busy_port: int, flag: str
) -> None:
    home = tmp_path / "home"
    proc, _ready = start_demo(home)  # an initialised demo home, as `make run` leaves it
    proc.terminate()
    proc.wait(30)
    ports = {"--port": "0", "--admin-port": "0", flag: str(busy_port)}
    done = _run(home, "serve", *(arg for item in ports.items() for arg in item))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == done.stderr.strip().splitlines()[-1:], done.stderr
    assert f"127.0.0.1:{busy_port}" in errors[0] and "Address already in use" in errors[0]
    assert "--port" in errors[0]
