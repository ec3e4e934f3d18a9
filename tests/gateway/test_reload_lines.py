"""The parts of a reload that need no server: sumun.yaml's problems at their lines, and which
changes a reload may apply (`sumun.config_errors`, `sumun.gateway.reload_plan`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sumun.config import Settings
from sumun.config_errors import InvalidFilesError, read_settings
from sumun.gateway.reload_plan import changed_sections, needs_restart, reloadable

GOOD = """\
providers:
  - name: local
    kind: demo
routes:
  - model: chat
    targets:
      - provider: local
        model: m
"""


def _problems(tmp_path: Path, text: str) -> list[tuple[int | None, str]]:
    path = tmp_path / "sumun.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidFilesError) as caught:
        read_settings(path, tmp_path, {})
    assert caught.value.body == text.encode()
    return [(p.line, p.message) for p in caught.value.problems]


def test_a_valid_file_loads_with_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "sumun.yaml"
    path.write_text(GOOD, encoding="utf-8")
    loaded = read_settings(path, tmp_path, {})
    assert loaded.body == GOOD.encode()
    assert [r.model for r in loaded.settings.routes] == ["chat"]


def test_each_problem_at_its_line(tmp_path: Path) -> None:
    text = GOOD + "gateway:\n  max_body_bytes: 10\n  breaker_failures: 0\nserver:\n  prot: 1\n"
    found = _problems(tmp_path, text)
    assert (10, "gateway.max_body_bytes: Input should be greater than or equal to 1024") in found
    assert any(line == 11 and "gateway.breaker_failures" in m for line, m in found)
    assert any(line == 13 and m.startswith("server.prot: Extra inputs") for line, m in found)
    assert len(found) == 3


def test_a_missing_key_points_at_its_parent_and_a_whole_file_error_at_its_name(
    tmp_path: Path,
) -> None:
    missing = _problems(tmp_path, GOOD.replace("    kind: demo\n", ""))
    assert missing == [(2, "providers.0.kind: Field required")]
    unknown = _problems(tmp_path, GOOD.replace("provider: local", "provider: ghost"))
    assert len(unknown) == 1 and unknown[0][0] == 7
    assert "unknown provider 'ghost'" in unknown[0][1]


def test_yaml_that_does_not_parse(tmp_path: Path) -> None:
    found = _problems(tmp_path, GOOD + "gateway: [a,\n")
    assert len(found) == 1 and found[0][0] == 10
    assert found[0][1].startswith("not valid YAML")
    top = _problems(tmp_path, "- a\n- b\n")
    assert top == [(1, "the top level must be a mapping")]


def test_what_needs_a_restart_and_what_reloads(tmp_path: Path) -> None:
    old = Settings(home=tmp_path)
    new = Settings(
        home=tmp_path,
        server={"port": 9999},
        ledger={"durability": "batched"},
        gateway={"redis_url": "redis://127.0.0.1/0", "max_body_bytes": 2048},
    )
    assert needs_restart(old, new) == ["ledger.durability", "server.port", "gateway.redis_url"]
    assert changed_sections(old, new) == ["gateway"]
    limits = Settings(home=tmp_path, gateway={"max_body_bytes": 2048, "breaker_failures": 2})
    assert needs_restart(old, limits) == []
    # What the node runs with keeps its start-time values outside the reloadable sections.
    base = old.model_copy(update={"admin_api": old.admin_api.model_copy(update={"port": 1})})
    merged = reloadable(base, limits)
    assert merged.admin_api.port == 1 and merged.gateway.max_body_bytes == 2048
