"""A new SUMUN_HOME and everything Sumun creates in it is owner-only (issue 12)."""

from __future__ import annotations

import stat
from pathlib import Path

from sumun import config
from sumun._fs import private_dir
from sumun.runtime import open_runtime


def test_private_dir_makes_every_missing_parent_owner_only(tmp_path: Path) -> None:
    leaf = private_dir(tmp_path / "a" / "b" / "c")
    for folder in (tmp_path / "a", tmp_path / "a" / "b", leaf):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_new_home_and_its_files_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    runtime = open_runtime(config.load(home=home, env={}))  # as every CLI command opens it
    try:
        result = runtime.keys.initialise(custodians=3, threshold=2)
        runtime.keys.unseal_with(result.master_key)
        runtime.keys.lifecycle.create("acme", actor="t")
        runtime.ledger.checkpoint()
    finally:
        runtime.close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in home.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
