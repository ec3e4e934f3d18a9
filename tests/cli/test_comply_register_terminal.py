"""`sumun comply register` without a terminal, and the area ids (issue 18, Rule 1).

The questionnaire needs a person at a terminal: without one (a script, CI, a pipe that stays
open) the command fails at once — exit 2, one line naming the flags to pass instead, no
traceback, no hang. The valid `--area` ids are in `--help`, in the error for a wrong one, and
listed by `sumun comply areas` (human and --json).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from sumun.comply.catalog import load_catalog
from tests.cli.test_comply_cli import Runner

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
AREA_IDS = [a.id for a in load_catalog().areas]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    runner = Runner(tmp_path_factory.mktemp("register") / "home")
    runner.json("init", "--custodians", "3", "--threshold", "2")
    runner.json("tenants", "create", "acme", "--rpm", "60")
    runner.json("tenants", "apps", "create", "acme", "loans")
    return runner


def _env(runner: Runner) -> dict[str, str]:
    return {**os.environ, "SUMUN_HOME": str(runner.home), "SUMUN_CONFIG": "", "COLUMNS": "200"}


@pytest.mark.parametrize(
    "extra",
    [
        [],  # a new app: the questionnaire is the default
        ["--high-impact", "ask"],
        ["--high-impact", "ask", "--area", "rights-decisions"],  # two answers still missing
    ],
)
def test_without_a_terminal_it_fails_at_once_naming_the_flags(
    home: Runner, extra: list[str]
) -> None:
    """stdin is a pipe nobody writes to and nobody closes: a prompt would wait forever."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [*SUMUN, "comply", "register", "acme/loans", "--purpose", "대출 심사 보조", *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(home),
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        assert proc.stdin is not None
        proc.stdin.close()
    assert proc.returncode == 2, (out, err)
    assert time.monotonic() - started < 60
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "no terminal" in lines[0]
    for flag in ("--high-impact yes|no", "--area ID", "--significant", "--automated"):
        assert flag in lines[0]
    assert "sumun comply areas" in lines[0]
    listed = home.json("comply", "register", "--list")["apps"]
    assert listed == []  # nothing was registered


def test_the_flags_answer_it_without_a_terminal(home: Runner) -> None:
    none = home.json("comply", "register", "acme/loans", "--purpose", "상담 챗봇",
                     "--sector", "other", "--high-impact", "ask",
                     "--area", "none")  # fmt: skip
    assert none["high_impact"] is False and none["determination"]["method"] == "questionnaire"
    home.run("comply", "register", "acme/loans", "--remove")


def test_a_wrong_area_lists_the_valid_ids(home: Runner) -> None:
    result = home.run("comply", "register", "acme/loans", "--purpose", "chat",
                      "--high-impact", "ask", "--area", "loans")  # fmt: skip
    assert result.exit_code == 2
    assert "unknown high-impact area 'loans'" in result.stderr
    assert all(a in result.stderr for a in AREA_IDS)
    assert "sumun comply areas" in result.stderr
    declared = home.run("comply", "register", "acme/loans", "--purpose", "chat",
                        "--high-impact", "yes", "--area", "loans")  # fmt: skip
    assert declared.exit_code == 2 and all(a in declared.stderr for a in AREA_IDS)


def test_help_lists_the_area_ids(home: Runner) -> None:
    result = home.run("comply", "register", "--help")
    assert result.exit_code == 0
    flat = " ".join(result.stdout.replace("│", " ").split())
    for area in AREA_IDS:
        assert area in flat, area
    assert "sumun comply areas" in flat


def test_areas_human_and_json(home: Runner) -> None:
    data = home.json("comply", "areas")["areas"]
    assert [a["id"] for a in data] == AREA_IDS
    rights = next(a for a in data if a["id"] == "rights-decisions")
    assert rights["item"] and rights["title_ko"] and rights["title_en"]
    human = home.run("comply", "areas")
    assert human.exit_code == 0
    assert all(a in human.stdout for a in AREA_IDS)
    assert "--area" in human.stdout
