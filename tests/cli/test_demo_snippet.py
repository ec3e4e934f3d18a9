"""`make run` prints an OpenAI SDK snippet; it must run as printed in the project's venv.

The snippet is taken from `sumun demo`'s own output (not retyped here) and run by the venv's
interpreter against that demo; and `make run` installs what the snippet imports.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from tests.fixtures.demo import SUMUN, demo_env

ROOT = Path(__file__).resolve().parents[2]


def _snippet_from_demo(proc: subprocess.Popen[str]) -> str:
    """The indented snippet from the demo's output (read line by line: the demo prints it
    once it listens, then stays up; pytest's timeout bounds a demo that never prints it)."""
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if line.strip().startswith("print(reply"):
            break
    text = "".join(lines)
    start = text.index("    from openai import OpenAI")
    return textwrap.dedent(text[start:])


def test_the_printed_snippet_runs_as_printed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [*SUMUN, "demo", "--port", "0"],
        env=demo_env(home) | {"COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        snippet = _snippet_from_demo(proc)
        done = subprocess.run(
            [sys.executable, "-c", snippet],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*"},
        )
        assert done.returncode == 0, done.stderr
        assert "안녕하세요" in done.stdout
    finally:
        proc.terminate()
        proc.wait(30)


def test_make_run_installs_what_the_snippet_imports() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    client = project["project"]["optional-dependencies"]["client"]
    assert any(re.match(r"openai\b", requirement) for requirement in client)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(RUN_STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "'.[client]'" in recipe
