"""`sumun demo` — what `make run` calls (CONTRACTS.md): first stdout line is JSON for scripts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

SUMUN = [sys.executable, "-m", "sumun.cli.main"]


def _demo(home: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [*SUMUN, "demo", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SUMUN_HOME": str(home)},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    try:
        return proc, json.loads(first)
    except ValueError as exc:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"not JSON: {first!r} / {err}") from exc


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    return err


def test_demo_initialises_unseals_serves_and_restarts(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    proc, ready = _demo(home)
    try:
        assert set(ready) >= {"base_url", "api_key", "admin_socket", "console_url", "admin_key"}
        assert httpx.get(f"{ready['base_url']}/readyz").json() == {"ready": True}
        # The admin API on its own listener; the console's URL is on that origin.
        assert ready["console_url"] == ready["admin_url"] + "/console/"
        assert ready["admin_url"] != ready["base_url"]
        first_admin_key = ready["admin_key"]
        status = httpx.get(
            f"{ready['admin_url']}/admin/v1/status",
            headers={"authorization": f"Bearer {first_admin_key}"},
        ).json()
        assert status["caller"]["role"] == "admin" and status["caller"]["tenant"] == "demo"
        assert status["caller"]["scope"] == "deployment"  # the demo's operator tenant
    finally:
        err = _stop(proc)
    assert "demo only" in err  # the shares-on-disk warning
    assert len((home / "demo-shares.txt").read_text().split()) == 5

    # Second start: same home, unseals itself from the demo shares, keeps its keys.
    proc, ready = _demo(home)
    try:
        assert httpx.get(f"{ready['base_url']}/readyz").status_code == 200
        assert ready["admin_key"] == first_admin_key  # kept with the demo's home
        status = subprocess.run(
            [*SUMUN, "status", "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, "SUMUN_HOME": str(home)},
            timeout=30,
            check=True,
        )
        body = json.loads(status.stdout)
        assert body["mode"] == "running server" and body["sealed"] is False
        assert "demo" in [k["key_id"] for k in body["keys"]]
    finally:
        _stop(proc)


def test_demo_refuses_a_home_it_did_not_create(tmp_path: Path) -> None:
    home = tmp_path / "real"
    env = {**os.environ, "SUMUN_HOME": str(home)}
    subprocess.run([*SUMUN, "init", "--json"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [*SUMUN, "demo", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and "not created by `sumun demo`" in done.stderr
