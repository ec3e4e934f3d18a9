"""`sumun init --passphrase` at a terminal: the policy is applied as it is typed, the
passphrase is typed twice, and its estimated strength is shown (issue "Hold the keys under
pressure"; NIST SP 800-63B §5.1.1.2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

GOOD = "violet tram seven oceans"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SUMUN_PASSPHRASE", raising=False)
    monkeypatch.delenv("SUMUN_CONFIG", raising=False)
    monkeypatch.setenv("SUMUN_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("sumun.cli.common.interactive", lambda: True)  # a person at a terminal
    return tmp_path / "home"


def _init(*lines: str) -> Result:
    from sumun.cli.main import app

    return CliRunner().invoke(app, ["init", "--passphrase"], input="".join(f"{x}\n" for x in lines))


def test_typed_twice_and_its_strength_is_shown(home: Path) -> None:
    done = _init(GOOD, GOOD)
    assert done.exit_code == 0, done.output
    assert "strength: fair — about 40 bits" in done.stderr
    assert GOOD not in done.output  # never echoed
    assert (home / "home.json").exists()


def test_a_mismatch_says_so_and_asks_again(home: Path) -> None:
    done = _init(GOOD, "violet tram 7 oceans", GOOD, GOOD)
    assert done.exit_code == 0, done.output
    assert "the two passphrases do not match; start again" in done.stderr
    assert done.stderr.count("strength:") == 2
    assert (home / "home.json").exists()


def test_a_weak_passphrase_is_refused_at_once_and_asked_again(home: Path) -> None:
    done = _init("letmein", GOOD, GOOD)
    assert done.exit_code == 0, done.output
    assert "at least 12 characters" in done.stderr and "letmein" not in done.output
    assert done.stderr.count("strength:") == 1  # shown only for the one that passed
    assert (home / "home.json").exists()


def test_three_failed_tries_end_with_a_clear_error_and_create_nothing(home: Path) -> None:
    done = _init(GOOD, "a", GOOD, "b", GOOD, "c")
    assert done.exit_code == 2
    assert "no passphrase was set after 3 tries" in done.stderr
    assert not (home / "home.json").exists()


def test_from_the_environment_its_strength_is_shown_too(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env |= {"SUMUN_HOME": str(tmp_path / "home"), "SUMUN_PASSPHRASE": GOOD + " under glass"}
    done = subprocess.run(
        [sys.executable, "-m", "sumun.cli.main", "init", "--passphrase", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "strength: strong — about 51 bits" in done.stderr
    assert GOOD not in done.stdout + done.stderr
