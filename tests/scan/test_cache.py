"""`scan(..., cache=DIR)` / `sumun scan --cache DIR`: an unchanged file is not scanned again, a
changed one is, a scanner change invalidates everything, and a cached file reports the same
findings as a fresh scan (the cache never turns a finding into a pass)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sumun.cli.main import app
from sumun.scan import _cache, engine
from sumun.scan.engine import scan
from sumun.scan.model import ScanResult, Severity
from sumun.scan.walk import FileTask, Limits

EVIL = b"cos\nsystem\n(S'echo pwned'\ntR."  # protocol 0: os.system("echo pwned")
BENIGN = b"(dp0\nS'weights'\np1\n(lp2\nI1\naI2\nas."  # {"weights": [1, 2]}


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The relative paths `engine._file` analyzed, in order (scans run inline: workers=1)."""
    seen: list[str] = []
    real: Callable[..., object] = engine._file

    def counting(task: FileTask, *args: object) -> object:
        seen.append(task.path)
        return real(task, *args)

    monkeypatch.setattr(engine, "_file", counting)
    return seen


def _tree(root: Path) -> Path:
    tree = root / "tree"
    tree.mkdir()
    (tree / "evil.pkl").write_bytes(EVIL)
    (tree / "model.pkl").write_bytes(BENIGN)
    return tree


def _doc(result: ScanResult) -> dict[str, object]:
    doc = result.to_json()
    summary = doc["summary"]
    assert isinstance(summary, dict)
    summary.pop("seconds")
    return doc


def _touch_later(path: Path, data: bytes) -> None:
    before = path.stat().st_mtime_ns
    path.write_bytes(data)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a later mtime, whatever the clock


def test_unchanged_files_come_from_the_cache_changed_ones_are_rescanned(
    tmp_path: Path, scanned: list[str]
) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    fresh = scan(tree, workers=1, cache=cache)
    assert sorted(scanned) == ["evil.pkl", "model.pkl"]
    assert any(f.path == "evil.pkl" and f.severity is Severity.CRITICAL for f in fresh.findings)

    scanned.clear()
    again = scan(tree, workers=1, cache=cache)
    assert scanned == []  # nothing analyzed: both from the cache
    assert _doc(again) == _doc(fresh)  # the critical finding included, not a bare verdict

    _touch_later(tree / "model.pkl", EVIL)  # the benign file turns malicious
    scanned.clear()
    changed = scan(tree, workers=1, cache=cache)
    assert scanned == ["model.pkl"]
    assert any(f.path == "model.pkl" and f.severity is Severity.CRITICAL for f in changed.findings)
    assert _doc(changed) == _doc(scan(tree, workers=1))  # the same as without a cache


def test_a_new_inode_with_the_same_size_and_mtime_is_rescanned(
    tmp_path: Path, scanned: list[str]
) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    scan(tree, workers=1, cache=cache)
    target = tree / "model.pkl"
    st = target.stat()
    replacement = tmp_path / "swap.pkl"
    replacement.write_bytes(BENIGN)  # same size and, below, the same mtime: another inode
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, target)
    scanned.clear()
    scan(tree, workers=1, cache=cache)
    assert scanned == ["model.pkl"]


def test_a_scanner_change_invalidates_every_entry(
    tmp_path: Path, scanned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    scan(tree, workers=1, cache=cache)
    monkeypatch.setattr(_cache, "scanner_fingerprint", lambda: "another scanner build")
    scanned.clear()
    scan(tree, workers=1, cache=cache)
    assert sorted(scanned) == ["evil.pkl", "model.pkl"]


def test_the_allowlist_variable_is_the_pickle_policys() -> None:
    from sumun.scan.formats._pickle_policy import ALLOW_ENV

    assert _cache.ALLOW_ENV == ALLOW_ENV


def test_the_trust_allowlist_is_part_of_the_key(
    tmp_path: Path, scanned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    scan(tree, workers=1, cache=cache)
    monkeypatch.setenv("SUMUN_SCAN_PICKLE_ALLOW", "mypackage.*")
    scanned.clear()
    scan(tree, workers=1, cache=cache)
    assert sorted(scanned) == ["evil.pkl", "model.pkl"]


def test_a_corrupt_or_foreign_entry_is_a_miss_never_a_pass(
    tmp_path: Path, scanned: list[str]
) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    fresh = scan(tree, workers=1, cache=cache)
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_text("{not json")
    scanned.clear()
    again = scan(tree, workers=1, cache=cache)
    assert sorted(scanned) == ["evil.pkl", "model.pkl"]
    assert _doc(again) == _doc(fresh)


def test_entries_round_trip_findings_and_components_exactly(tmp_path: Path) -> None:
    store = _cache.ScanCache(tmp_path / "c", Limits())
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    key = store.key(FileTask("f.bin", str(path), 1))
    assert key is not None
    from sumun.scan.model import Component, Finding

    out = _cache.Outcome(
        findings=[Finding("f\udcff.bin", Severity.HIGH, "r.x", "m", member="a/b", line=3)],
        components=[
            Component(
                "machine-learning-model",
                "f",
                path="f.bin",
                hashes=(("SHA-256", "ab" * 32),),
                paths=("x", "y"),
                properties=(("format", "pickle"),),
            )
        ],
        files=1,
        bytes=1,
    )
    out.formats.update(["pickle"])
    store.put(key, out)
    assert store.get(key) == out
    timed = _cache.Outcome(findings=[Finding("f.bin", Severity.MEDIUM, "scan.timeout", "t")])
    other = store.key(FileTask("g.bin", str(path), 1))
    assert other is not None
    store.put(other, timed)  # a result of the moment is not kept
    assert store.get(other) is None


def test_cli_cache_gives_the_same_document_and_exit_code(tmp_path: Path) -> None:
    tree, cache = _tree(tmp_path), tmp_path / "cache"
    runs = [
        CliRunner().invoke(app, ["scan", str(tree), "--json", "--cache", str(cache)])
        for _ in range(2)
    ]
    assert [r.exit_code for r in runs] == [1, 1]  # a critical finding, cached or not
    docs = [json.loads(r.stdout) for r in runs]
    for doc in docs:
        doc["summary"].pop("seconds")
    assert docs[0] == docs[1]
    assert len(list(cache.glob("*.json"))) == 2
    assert (cache.stat().st_mode & 0o777) == 0o700
