"""A passphrase that seals the master key: at least 12 characters, not common, not trivial,
typed twice (issue 19; NIST SP 800-63B §5.1.1.2)."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sumun.crypto.passphrase_policy import check_passphrase
from sumun.errors import UsageError

SUMUN = [sys.executable, "-m", "sumun.cli.main"]


@pytest.mark.parametrize(
    ("passphrase", "why"),
    [
        ("x", "at least 12"),
        ("수문 비밀번호", "at least 12"),
        (unicodedata.normalize("NFD", "가나다라마바사아자차카"), "at least 12"),  # 11 syllables
        ("password1234", "commonly used"),
        ("!!Password2026", "commonly used"),
        ("수문수문수문수문수문수문", "commonly used"),
        ("aaaaaaaaaaaa", "commonly used"),
        ("abababababab", "commonly used"),
        ("123456789012", "commonly used"),
        ("abcdefghijklmn", "commonly used"),
        ("qwertyuiopasdf", "commonly used"),
        ("correct horse battery staple", "commonly used"),
    ],
)
def test_weak_passphrases_are_refused(passphrase: str, why: str) -> None:
    with pytest.raises(UsageError, match=why) as caught:
        check_passphrase(passphrase)
    assert passphrase not in str(caught.value)  # never echoed


@pytest.mark.parametrize(
    "passphrase", ["수문 금고의 비밀번호 2026", "violet tram seven oceans", "kim's 3 orange kites"]
)
def test_reasonable_passphrases_pass(passphrase: str) -> None:
    check_passphrase(passphrase)


def test_init_refuses_a_weak_passphrase_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env |= {"SUMUN_HOME": str(home), "SUMUN_PASSPHRASE": "letmein"}
    done = subprocess.run(
        [*SUMUN, "init", "--passphrase"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "at least 12 characters" in done.stderr and "letmein" not in done.stderr
    assert not (home / "home.json").exists()


def test_a_new_passphrase_is_typed_twice_at_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sumun.cli.main import app

    monkeypatch.delenv("SUMUN_PASSPHRASE", raising=False)
    monkeypatch.delenv("SUMUN_CONFIG", raising=False)
    monkeypatch.setenv("SUMUN_HOME", str(tmp_path / "a"))
    monkeypatch.setattr("sumun.cli.common.interactive", lambda: True)
    runner = CliRunner()
    mismatch = runner.invoke(
        app, ["init", "--passphrase"], input="violet tram seven oceans\nviolet tram 7 oceans\n"
    )
    assert mismatch.exit_code != 0 and not (tmp_path / "a" / "home.json").exists()
    same = "violet tram seven oceans\n" * 2
    assert runner.invoke(app, ["init", "--passphrase"], input=same).exit_code == 0
    assert (tmp_path / "a" / "home.json").exists()
