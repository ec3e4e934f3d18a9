"""ONNX external-data files on disk, checked as onnx's own checker does
(onnx/checker.cc `resolve_external_data_location`): missing files, symlinks leaving the model
folder (directly or through a symlinked folder), symlinks and hard links inside it, and the
Hugging Face cache layout that links every snapshot file to a blob."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sumun.scan import walk
from sumun.scan.engine import scan
from sumun.scan.formats import onnx
from sumun.scan.model import FileResult, Severity
from tests.data.scan import gen_misses
from tests.data.scan.gen_formats import label_holds, onnx_with_initializer


def _analyze(path: Path) -> FileResult:
    task = walk.FileTask(path.name, str(path), path.stat().st_size)
    return onnx.analyze(walk.file_source(task))


def _model(folder: Path, location: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    path.write_bytes(onnx_with_initializer(location))
    return path


def _rules(result: FileResult) -> list[tuple[str, Severity]]:
    return [(f.rule, f.severity) for f in result.findings]


def test_data_beside_the_model_is_fine(tmp_path: Path) -> None:
    path = _model(tmp_path, "weights/model.data")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.data").write_bytes(bytes(64))
    assert _analyze(path).findings == []


def test_a_missing_file_is_medium(tmp_path: Path) -> None:
    (finding,) = _analyze(_model(tmp_path, "model.data")).findings
    assert (finding.rule, finding.severity) == ("onnx.external-data-missing", Severity.MEDIUM)
    assert "tensor 'W' reads its data from 'model.data', which does not exist" in finding.message


def test_a_directory_is_not_data(tmp_path: Path) -> None:
    (tmp_path / "model.data").mkdir()
    (finding,) = _analyze(_model(tmp_path, "model.data")).findings
    assert "not a regular file" in finding.message


@pytest.mark.parametrize("target", ["/etc/hostname", "../outside.bin", "/nonexistent/dangling"])
def test_symlinks_leaving_the_folder_are_high(tmp_path: Path, target: str) -> None:
    folder = tmp_path / "model"
    path = _model(folder, "model.data")
    (tmp_path / "outside.bin").write_bytes(b"secret")
    os.symlink(target, folder / "model.data")
    (finding,) = _analyze(path).findings
    assert (finding.rule, finding.severity) == ("onnx.external-data-symlink", Severity.HIGH)
    assert "outside the model folder" in finding.message


def test_a_symlinked_parent_folder_is_high(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    path = _model(folder, "weights/hostname")
    os.symlink("/etc", folder / "weights")
    (finding,) = _analyze(path).findings
    assert (finding.rule, finding.severity) == ("onnx.external-data-symlink", Severity.HIGH)


def test_links_inside_the_folder_are_medium(tmp_path: Path) -> None:
    path = _model(tmp_path, "model.data")
    (tmp_path / "v1.bin").write_bytes(bytes(64))
    os.symlink("v1.bin", tmp_path / "model.data")
    assert _rules(_analyze(path)) == [("onnx.external-data-symlink", Severity.MEDIUM)]
    os.unlink(tmp_path / "model.data")
    os.link(tmp_path / "v1.bin", tmp_path / "model.data")
    (finding,) = _analyze(path).findings
    assert finding.severity is Severity.MEDIUM and "2 hard links" in finding.message


def test_the_hugging_face_cache_layout_is_fine(tmp_path: Path) -> None:
    repo = tmp_path / "models--acme--m"
    snapshot = repo / "snapshots" / "abc123"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / "f00d").write_bytes(bytes(64))
    path = _model(snapshot, "model.onnx_data")
    os.symlink("../../blobs/f00d", snapshot / "model.onnx_data")
    assert _analyze(path).findings == []


def test_escaping_locations_are_not_looked_up_twice(tmp_path: Path) -> None:
    result = _analyze(_model(tmp_path, "../../etc/passwd"))
    assert _rules(result) == [("onnx.external-data-escape", Severity.HIGH)]


def test_members_of_archives_and_streams_are_not_looked_up(tmp_path: Path) -> None:
    path = _model(tmp_path, "model.data")
    data = path.read_bytes()
    source = walk.file_source(walk.FileTask("model.onnx", str(path), len(data)))
    streamed = source.__class__(source.path, source.size, source.head, source.opener)
    assert onnx.analyze(streamed).findings == []  # no real_path: nothing to check on disk


def test_the_reference_saver_output_is_fine(tmp_path: Path) -> None:
    onnx_lib: Any = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 4), dtype=np.float32), "W")
    node = helper.make_node("MatMul", ["x", "W"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [weight],
    )
    model = helper.make_model(graph)
    path = tmp_path / "model.onnx"
    onnx_lib.save_model(
        model, str(path), save_as_external_data=True, location="model.data", size_threshold=0
    )
    assert _analyze(path).findings == []
    onnx_lib.checker.check_model(str(path))  # the reference agrees it is well-formed
    os.unlink(tmp_path / "model.data")
    os.symlink("/etc/hostname", tmp_path / "model.data")
    assert _rules(_analyze(path)) == [("onnx.external-data-symlink", Severity.HIGH)]
    with pytest.raises(onnx_lib.checker.ValidationError, match="symbolic link"):
        onnx_lib.checker.check_model(str(path))


def test_corpus_samples_meet_their_labels(tmp_path: Path) -> None:
    samples = [s for s in gen_misses.generate(tmp_path) if s[2].startswith("ONNX external data:")]
    assert {label for _, label, _ in samples} == {"benign", "malicious"}
    result = scan(tmp_path / "onnx-ext", workers=1)
    failed = []
    for rel, label, _ in samples:
        mine = [f for f in result.findings if f"onnx-ext/{f.path}" == rel]
        if not label_holds(label, mine):
            failed.append((rel, label, [(f.rule, f.severity.label) for f in mine]))
    assert failed == []
