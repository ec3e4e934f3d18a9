"""`scan()`: dispatch, errors contained, merging, determinism — with small analyzers of our own.

The fakes are module-level functions so they pickle by reference into worker processes.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from sumun.errors import UsageError
from sumun.scan.engine import scan
from sumun.scan.model import Component, FileResult, Severity, Source
from sumun.scan.registry import Registry
from sumun.scan.walk import Limits

EVIL = b"\x80\x04cos\nsystem\n\x8c\necho pwned\x85R."  # bytes only; never unpickled


def fake_pickle(source: Source) -> FileResult:
    with source.open() as stream:
        data = stream.read()
    result = FileResult("pickle")
    if b"system" in data:
        result.findings.append(
            source.finding(Severity.CRITICAL, "pickle.dangerous-global", "os.system")
        )
    result.components.append(
        Component("machine-learning-model", "pickled", path=source.path, member=source.member)
    )
    return result


def fake_python(source: Source) -> FileResult:
    result = FileResult("python")
    with source.open() as stream:
        text = stream.read().decode()
    if "openai" in text:
        result.components.append(
            Component(
                "service",
                "OpenAI API",
                path=source.path,
                provider="openai",
                jurisdiction="US",
                endpoint="https://api.openai.com/v1",
            )
        )
        result.components.append(Component("library", "openai", paths=(source.path,)))
    if "crash" in text:
        raise ValueError("analyzer bug with <secret> text")
    if "die" in text:
        os._exit(3)  # a worker process dying mid-task
    return result


def fake_folder(folder: str, files: Mapping[str, Path]) -> FileResult:
    return FileResult(
        "hf",
        components=[
            Component(
                "machine-learning-model",
                "acme/bert-ko",
                path=f"{folder}/config.json",
                license="apache-2.0",
                base_models=("google-bert/bert-base-multilingual-cased",),
                datasets=("klue", "acme/private-set"),
            )
        ],
    )


def fake_safetensors(source: Source) -> FileResult:
    return FileResult("safetensors")  # no component: the engine adds one with the hash


REGISTRY = Registry(
    analyzers={
        "pickle": fake_pickle,
        "python": fake_python,
        "safetensors": fake_safetensors,
        "json": "sumun.scan.nonexistent_module:analyze",
    },
    sniffers={},
    folder=fake_folder,
)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "models" / "bert").mkdir(parents=True)
    (root / "src" / "a.py").write_text("import openai\n")
    (root / "src" / "b.py").write_text("from openai import OpenAI  # openai again\n")
    (root / "models" / "bert" / "config.json").write_text("{}")
    (root / "models" / "evil.pkl").write_bytes(EVIL)
    (root / "models" / "ok.pkl").write_bytes(pickle.dumps({"w": 1}, protocol=4))
    (root / "models" / "w.safetensors").write_bytes(b"\x10" + b"\0" * 7 + b'{"a": 1}' + b" " * 8)
    (root / "bundle.zip").write_bytes(zip_bytes({"inner/evil.pkl": EVIL, "notes.txt": b"hi"}))
    return root


def run(path: Path, **kwargs: object) -> dict[str, object]:
    doc = scan(path, registry=REGISTRY, **kwargs).to_json()  # type: ignore[arg-type]
    summary = doc["summary"]
    assert isinstance(summary, dict)
    summary.pop("seconds")
    return doc


def test_findings_components_and_summary(tree: Path) -> None:
    result = scan(tree, registry=REGISTRY, workers=1)
    where = [(f.path, f.member, f.severity.label, f.rule) for f in result.findings]
    assert where == [
        ("bundle.zip", "inner/evil.pkl", "critical", "pickle.dangerous-global"),
        ("models/bert/config.json", None, "info", "scan.no-analyzer"),
        ("models/evil.pkl", None, "critical", "pickle.dangerous-global"),
    ]
    assert result.files == 7 and result.bytes == sum(
        p.stat().st_size for p in tree.rglob("*") if p.is_file()
    )
    assert result.formats == {
        "json": 1,
        "pickle": 3,
        "python": 2,
        "safetensors": 1,
        "unknown": 1,
        "zip": 1,
    }
    assert result.worst is Severity.CRITICAL


def test_services_merge_across_files_and_datasets_become_components(tree: Path) -> None:
    components = scan(tree, registry=REGISTRY, workers=1).components
    (service,) = [c for c in components if c.type == "service"]
    assert service.provider == "openai" and service.endpoint == "https://api.openai.com/v1"
    assert service.paths == ("src/a.py", "src/b.py") and service.path is None
    (library,) = [c for c in components if c.type == "library"]
    assert library.paths == ("src/a.py", "src/b.py")
    assert sorted(c.name for c in components if c.type == "data") == ["acme/private-set", "klue"]
    (card,) = [c for c in components if c.name == "acme/bert-ko"]
    assert card.path == "models/bert/config.json"  # "./" and folder joins normalised


def test_model_files_are_hashed(tree: Path) -> None:
    components = scan(tree, registry=REGISTRY, workers=1).components
    by_path = {(c.path, c.member): c for c in components if c.type == "machine-learning-model"}
    evil = dict(by_path[("models/evil.pkl", None)].hashes)
    assert evil == {"SHA-256": hashlib.sha256(EVIL).hexdigest()}
    assert dict(by_path[("bundle.zip", "inner/evil.pkl")].hashes)["SHA-256"] == evil["SHA-256"]
    # No analyzer component for the safetensors file: the engine adds one, hashed.
    added = by_path[("models/w.safetensors", None)]
    assert added.name == "w.safetensors" and dict(added.properties) == {"format": "safetensors"}
    data = (tree / "models" / "w.safetensors").read_bytes()
    assert dict(added.hashes) == {"SHA-256": hashlib.sha256(data).hexdigest()}


def test_output_is_the_same_inline_with_processes_and_with_threads(tree: Path) -> None:
    for i in range(40):  # enough tasks for several batches
        (tree / "src" / f"gen{i:02}.py").write_text("import openai\n" if i % 3 else "x = 1\n")
    inline = run(tree, workers=1)
    assert run(tree, workers=2) == inline
    assert run(tree, workers=2, executor="thread") == inline


def test_processes_work_from_a_threaded_application(tree: Path) -> None:
    for i in range(12):
        (tree / "src" / f"t{i}.py").write_text("import openai\n")
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    try:
        threaded = run(tree, workers=2)  # forkserver: no fork under a live thread
    finally:
        stop.set()
        busy.join()
    assert threaded == run(tree, workers=1)


def test_an_analyzer_that_raises_is_a_medium_finding_naming_the_exception(tree: Path) -> None:
    (tree / "src" / "c.py").write_text("crash\n")
    result = scan(tree, registry=REGISTRY, workers=1)
    (error,) = [f for f in result.findings if f.rule == "scan.analyzer-error"]
    assert error.path == "src/c.py" and error.severity is Severity.MEDIUM
    assert "ValueError" in error.message and "<secret>" not in error.message
    assert any(f.rule == "pickle.dangerous-global" for f in result.findings)  # scan went on


def test_a_worker_process_that_dies_is_contained(tree: Path) -> None:
    (tree / "src" / "d.py").write_text("die\n")
    for i in range(12):
        (tree / "src" / f"n{i}.py").write_text("x = 1\n")
    result = scan(tree, registry=REGISTRY, workers=2)
    (error,) = [f for f in result.findings if f.rule == "scan.analyzer-error"]
    assert error.path == "src/d.py" and "worker process" in error.message
    assert {f.path for f in result.findings if f.rule == "pickle.dangerous-global"} == {
        "bundle.zip",
        "models/evil.pkl",
    }


def test_an_analyzer_module_that_fails_to_import_is_an_error_not_absence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = tmp_path / "mods"
    modules.mkdir()
    (modules / "broken_analyzer_mod.py").write_text("import not_installed_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(modules))
    (tmp_path / "x.py").write_text("x = 1\n")
    registry = Registry(analyzers={"python": "broken_analyzer_mod:analyze"}, sniffers={})
    (finding,) = scan(tmp_path / "x.py", registry=registry, workers=1).findings
    assert finding.rule == "scan.analyzer-error" and "ModuleNotFoundError" in finding.message


def test_order_is_path_member_then_worst_first(tmp_path: Path) -> None:
    (tmp_path / "b.pkl").write_bytes(EVIL)
    (tmp_path / "a.png").write_bytes(EVIL)  # critical + medium extension mismatch
    result = scan(tmp_path, registry=REGISTRY, workers=1)
    assert [(f.path, f.severity.label) for f in result.findings] == [
        ("a.png", "critical"),
        ("a.png", "medium"),
        ("b.pkl", "critical"),
    ]


def test_polyglot_files_get_every_analyzer_and_a_finding(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(EVIL + zip_bytes({"x.txt": b"hello"}))
    result = scan(tmp_path, registry=REGISTRY, workers=1)
    rules = [(f.rule, f.severity.label) for f in result.findings]
    assert ("scan.polyglot", "high") in rules and ("pickle.dangerous-global", "critical") in rules


def test_archives_nest_only_to_the_depth_limit(tmp_path: Path) -> None:
    data = EVIL
    for level in range(5):
        data = zip_bytes({f"level{level}.zip" if level else "evil.pkl": data})
    (tmp_path / "deep.zip").write_bytes(data)
    result = scan(tmp_path, registry=REGISTRY, workers=1, limits=Limits(max_depth=3))
    assert [(f.rule, f.member) for f in result.findings] == [
        ("archive.limit", "level4.zip!/level3.zip!/level2.zip")
    ]
    shallow = scan(tmp_path, registry=REGISTRY, workers=1, limits=Limits(max_depth=6))
    (hit,) = shallow.findings
    assert hit.member == "level4.zip!/level3.zip!/level2.zip!/level1.zip!/evil.pkl"


def test_single_file_paths_are_relative_to_its_directory(tree: Path) -> None:
    result = scan(tree / "models" / "evil.pkl", registry=REGISTRY)
    assert [f.path for f in result.findings] == ["evil.pkl"]
    assert result.root == str(tree / "models" / "evil.pkl")


def test_progress_reports_every_task(tree: Path) -> None:
    calls: list[tuple[int, int]] = []
    scan(tree, registry=REGISTRY, workers=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 8) and calls[-1] == (8, 8)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or directory"):
        scan(tmp_path / "missing")
    with pytest.raises(UsageError, match="at least 1"):
        scan(tmp_path, workers=0)
