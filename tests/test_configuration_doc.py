"""docs/configuration.md stays the whole map of sumun.yaml: every top-level section of
`Settings` has its row, every doc it points to exists, and what it says reloads is what the
reloader reloads."""

from __future__ import annotations

import re
from pathlib import Path

from sumun.config import Settings
from sumun.gateway.reload_plan import GATEWAY_RELOADABLE, RELOADABLE

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def _rows() -> dict[str, str]:
    table = DOC.split("## The sections", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+)$", table, re.MULTILINE)
    return dict(rows)


def test_every_section_has_its_row() -> None:
    sections = set(Settings.model_fields) - {"home", "config_file"}
    assert set(_rows()) == sections


def test_every_doc_it_points_to_exists() -> None:
    for path in set(re.findall(r"docs/[a-z-]+\.md", DOC)):
        assert (ROOT / path).is_file(), path


def test_what_it_says_reloads_is_what_reloads() -> None:
    section = DOC.split("### What reloads, and what needs a restart", 1)[1].split("\n### ", 1)[0]
    left = "\n".join(
        line.split("|")[1]
        for line in section.splitlines()
        if line.startswith("| ") and "---" not in line
    )
    for name in RELOADABLE:
        if name != "gateway":  # listed key by key, below
            assert f"`{name}`" in left, name
    for name in GATEWAY_RELOADABLE:
        assert name in left, name
