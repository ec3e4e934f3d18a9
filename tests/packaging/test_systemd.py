"""deploy/systemd: the unit passes `systemd-analyze verify` with no warning, and keeps the
hardening and the stop/reload contract docs/deploy.md describes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sumun.config import ServerConfig

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "sumun.service"
INSTALLED = "/opt/sumun/bin/sumun"


def _directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart's binary exists: point it at this venv's `sumun`.
    sumun = Path(sys.executable).parent / "sumun"
    assert sumun.is_file()
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED in text
    unit = tmp_path / "sumun.service"
    unit.write_text(text.replace(INSTALLED, str(sumun)), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    output = (done.stdout + done.stderr).strip()
    about_unit = [line for line in output.splitlines() if "sumun" in line]
    assert done.returncode == 0 and not about_unit, output


def test_the_unit_is_hardened_and_stops_gracefully() -> None:
    unit = _directives(UNIT.read_text(encoding="utf-8"))
    expected = {
        "User": "sumun",
        "StateDirectory": "sumun",
        "StateDirectoryMode": "0700",
        "Environment": "SUMUN_HOME=/var/lib/sumun",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter": "@system-service",
        "MemoryDenyWriteExecute": "yes",
        "UMask": "0077",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
    }
    for key, value in expected.items():
        assert value in unit.get(key, []), f"{key}={value} missing"
    # Requests in flight get server.drain_seconds, then a final checkpoint is signed.
    stop = int(unit["TimeoutStopSec"][0])
    assert stop >= ServerConfig().drain_seconds + 15
    assert int(unit["LimitNOFILE"][0]) >= ServerConfig().max_connections * 2


def test_the_example_env_file_holds_no_secret() -> None:
    example = ROOT / "deploy" / "systemd" / "sumun.env.example"
    for line in example.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            pytest.fail(f"the example sets a value: {line}")


def test_docs_deploy_explains_every_line_and_stays_in_the_repository() -> None:
    doc = ROOT / "docs" / "deploy.md"
    text = doc.read_text(encoding="utf-8")
    for key in _directives(UNIT.read_text(encoding="utf-8")):
        if key not in {"Description", "Wants", "After", "WantedBy"}:
            assert key in text, f"docs/deploy.md does not explain {key}="
    for link in re.findall(r"\]\(([^)]+)\)", text):
        assert "://" not in link and not link.startswith("/"), link
        assert (doc.parent / link.split("#")[0]).is_file(), link
