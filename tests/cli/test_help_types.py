"""Help names value types in words, never raw Python types (issue 18, Rule 1).

Every command and sub-command of `sumun` (the lazy ones too) is walked and its `--help` read:
no `<bool>`, `<int>`, `<str>`, `<float>`, `<path>`, `<Path>` nor `<list[…]>` may appear.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import typer.main
from typer._click.core import Command, Context
from typer.testing import CliRunner

from sumun.cli._help import friendly_type
from sumun.cli.main import app

RAW = re.compile(r"<(?:bool|int|str|float|path|Path|file|directory|list\[[^>]*\])>")


def _commands(command: Command, path: list[str]) -> Iterator[list[str]]:
    yield path
    lister = getattr(command, "list_commands", None)
    if lister is None:
        return
    ctx = Context(command, info_name=path[-1] if path else "sumun")
    for name in lister(ctx):
        sub = command.get_command(ctx, name)  # type: ignore[attr-defined]
        if sub is not None and not getattr(sub, "hidden", False):
            yield from _commands(sub, [*path, name])


def test_no_help_shows_a_raw_type() -> None:
    runner = CliRunner()
    paths = list(_commands(typer.main.get_command(app), []))
    assert len(paths) > 50  # every sub-app was reached, the lazily loaded ones too
    offenders = {}
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        raw = RAW.findall(result.output)
        if raw:
            offenders[" ".join(path) or "sumun"] = sorted(set(raw))
    assert offenders == {}


def test_a_real_process_shows_words() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "sumun.cli.main", "keys", "create", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert not RAW.search(done.stdout)
    assert "TEXT..." in done.stdout  # --share, repeatable
    assert "[aes-256-gcm|aria-256-gcm]" in done.stdout


def test_the_words() -> None:
    assert friendly_type("<bool>") == ""
    assert friendly_type("<list[str]>") == "TEXT..."
    assert friendly_type("<list[Path]>") == "PATH..."
    assert friendly_type("<int>") == "INTEGER"
    assert friendly_type("<a|b>") == "[a|b]"
    assert friendly_type("<list[a|b]>") == "[a|b]..."
