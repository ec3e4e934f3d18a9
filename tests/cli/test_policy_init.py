"""`sumun policy init` and the documented `policy explain` example (issue 18, Rule 1).

The sample policy `policy init` writes validates as it is (the policy parser, `policy check`,
`policy explain`), is the built-in policy spelled out, ships in the package, and is never written
over without --force. The Explain example of docs/policy.md — its sumun.yaml and its command —
is run as written and must print what the doc shows.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path

from sumun.config import read_policy
from sumun.policy.rules import DEFAULT_POLICY, parse_policy

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env |= {"SUMUN_HOME": str(home), "COLUMNS": "100"}
    return subprocess.run(
        [*SUMUN, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_the_sample_is_the_built_in_policy_and_ships_in_the_package() -> None:
    sample = (resources.files("sumun.policy") / "data" / "sample.yaml").read_text("utf-8")
    parsed = parse_policy(sample, source="sample.yaml")
    assert parsed.model_dump() == DEFAULT_POLICY.model_dump()
    assert sample.count("\n#") > 10  # commented, for a person to edit
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8")
    assert '"policy/data/*.yaml"' in pyproject  # in the wheel's package data


def test_init_writes_a_valid_sample_and_never_overwrites_without_force(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _run(home, "policy", "init")
    assert done.returncode == 0, done.stderr
    written = home / "policy.yaml"
    assert read_policy(written).model_dump() == DEFAULT_POLICY.model_dump()
    check = _run(home, "policy", "check")  # the home's policy.yaml is the one in force
    assert check.returncode == 0 and str(written) in check.stdout, check.stderr
    explained = _run(home, "policy", "explain", "--text", "주민번호 900101-1234568", "--json")
    assert explained.returncode == 0, explained.stderr
    assert f'"policy": "{written}"' in explained.stdout

    written.write_text("# mine\nversion: 1\n", encoding="utf-8")
    again = _run(home, "policy", "init")
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert written.read_text(encoding="utf-8") == "# mine\nversion: 1\n"
    forced = _run(home, "policy", "init", "--force")
    assert forced.returncode == 0 and "# Sumun policy file" in written.read_text("utf-8")

    elsewhere = tmp_path / "drafts" / "p.yaml"
    elsewhere.parent.mkdir()
    assert _run(home, "policy", "init", str(elsewhere)).returncode == 0
    assert _run(home, "policy", "check", str(elsewhere)).returncode == 0
    not_a_file = _run(home, "policy", "init", str(tmp_path))
    assert not_a_file.returncode == 2 and "is a directory" in not_a_file.stderr


def _explain_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("## Explain\n") :].split("\n## ", 1)[0]


def test_the_documented_explain_example_is_true(tmp_path: Path) -> None:
    section = _explain_section()
    config = re.search(r"```yaml\n(.*?)```", section, re.S)
    example = re.search(r"```\n\$ (sumun policy explain .*?)\n(.*?)```", section, re.S)
    assert config is not None and example is not None, "docs/policy.md lost its example"
    home = tmp_path / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(config.group(1), encoding="utf-8")
    argv = shlex.split(example.group(1))
    assert argv[:3] == ["sumun", "policy", "explain"]
    done = _run(home, *argv[1:])
    assert done.returncode == 0, done.stderr
    shown = [line.rstrip() for line in done.stdout.strip("\n").splitlines()]
    documented = [line.rstrip() for line in example.group(2).strip("\n").splitlines()]
    assert shown == documented
