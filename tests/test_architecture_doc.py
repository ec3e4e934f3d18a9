"""docs/architecture.md (issue 18): standalone — every link stays in the repository and
resolves — linked from the README's Layout, and naming every package the rules govern."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_architecture import FORBIDDEN

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
_LINK = re.compile(r"\]\(([^)]+)\)")


def test_every_link_stays_in_the_repository_and_resolves() -> None:
    links = _LINK.findall(DOC.read_text(encoding="utf-8"))
    assert links
    for link in links:
        target = link.split("#")[0]
        assert "://" not in link and not target.startswith("/"), link
        assert (DOC.parent / target).resolve().is_relative_to(ROOT), link
        assert (DOC.parent / target).is_file(), link


def test_the_readme_layout_links_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    assert "](docs/architecture.md)" in layout


def test_it_names_the_ports_and_every_governed_package() -> None:
    text = DOC.read_text(encoding="utf-8")
    for port in ("8480", "8481", "8482", "admin.sock"):
        assert port in text
    for package in FORBIDDEN:
        assert f"`{package}`" in text, package
