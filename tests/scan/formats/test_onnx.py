"""ONNX: models written by the onnx package and by our corpus writer (validated with
onnx.checker), external-data escapes, custom-op domains, the magic-less heuristic, bounded
reading (tensor bytes are skipped, never loaded), and fuzzing."""

from __future__ import annotations

import io
import random
import tracemalloc
from pathlib import Path
from typing import IO, Any

import onnx as onnx_reference  # the reference library (dev dependency)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sumun.scan.formats import onnx
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_formats as gen
from tests.scan.formats.corpus_check import corpus_failures


def _source(data: bytes, path: str = "model.onnx") -> Source:
    return Source(path, len(data), data[:4096], lambda: io.BytesIO(data))


def _file_source(path: Path) -> Source:
    data_size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(4096)
    return Source(path.name, data_size, head, lambda: path.open("rb"), real_path=str(path))


def _props(result: FileResult) -> dict[str, str]:
    (component,) = result.components
    return dict(component.properties)


def _rules(result: FileResult) -> list[tuple[str, Severity]]:
    return [(f.rule, f.severity) for f in result.findings]


# --- models from the reference library -----------------------------------------------------------
@pytest.fixture(scope="module")
def onnx_lib() -> Any:
    return onnx_reference


def _reference_model(onnx_lib: Any) -> Any:
    helper, tp = onnx_lib.helper, onnx_lib.TensorProto
    weight = helper.make_tensor("W", tp.FLOAT, [4, 4], b"\x00\x00\x00\x3f" * 16, raw=True)
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["H"]),
        helper.make_node("Relu", ["H"], ["Y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "reference_mlp",
        [helper.make_tensor_value_info("X", tp.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", tp.FLOAT, [1, 4])],
        [weight],
    )
    model = helper.make_model(
        graph,
        producer_name="pytorch",
        producer_version="2.4.0",
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("ai.onnx.ml", 3)],
        doc_string="a small MLP",
    )
    model.model_version = 3
    helper.set_model_props(model, {"author": "Acme", "license": "mit"})
    onnx_lib.checker.check_model(model)
    return model


def test_a_model_from_onnx_helper(onnx_lib: Any) -> None:
    data = _reference_model(onnx_lib).SerializeToString()
    assert onnx.looks_like_onnx(data[:4096])
    result = onnx.analyze(_source(data))
    assert result.format == "onnx"
    assert result.findings == []
    (component,) = result.components
    assert (component.name, component.version) == ("reference_mlp", "3")
    assert (component.publisher, component.license) == ("Acme", "mit")
    props = dict(component.properties)
    assert props["producer"] == "pytorch 2.4.0"
    assert props["ir_version"] == str(onnx_lib.IR_VERSION)
    assert props["opset"] == "ai.onnx:18,ai.onnx.ml:3"
    assert (props["nodes"], props["initializers"], props["parameters"]) == ("2", "1", "16")
    assert props["op_types"] == "MatMul,Relu"
    assert props["doc_string"] == "a small MLP"


def test_external_data_saved_by_onnx(onnx_lib: Any, tmp_path: Path) -> None:
    model = _reference_model(onnx_lib)
    path = tmp_path / "model.onnx"
    onnx_lib.save_model(
        model, str(path), save_as_external_data=True, location="model.data", size_threshold=0
    )
    result = onnx.analyze(_file_source(path))
    assert result.findings == []
    assert _props(result)["external_data"] == "model.data"


def test_an_escaping_location_written_with_onnx(onnx_lib: Any) -> None:
    model = _reference_model(onnx_lib)
    weight = model.graph.initializer[0]
    onnx_lib.external_data_helper.set_external_data(weight, location="../../../etc/passwd")
    weight.data_location = onnx_lib.TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    (finding,) = onnx.analyze(_source(model.SerializeToString())).findings
    assert (finding.rule, finding.severity) == ("onnx.external-data-escape", Severity.HIGH)
    assert "'W' reads its data from '../../../etc/passwd'" in finding.message
    assert "climbs out of the model folder" in finding.message


@pytest.mark.parametrize(
    "build",
    [
        gen.onnx_add_relu,
        gen.onnx_with_initializer,
        gen.onnx_if_model,
        gen.onnx_vendor_op,
        gen.onnx_local_function,
        gen.onnx_gemm,
        gen.onnx_custom_domain,
    ],
)
def test_the_corpus_writer_makes_valid_models(onnx_lib: Any, build: Any) -> None:
    data = build()
    onnx_lib.checker.check_model(onnx_lib.load_from_string(data))
    assert onnx.looks_like_onnx(data[:4096])


# --- findings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("../weights.bin", "climbs out of the model folder with '..'"),
        ("a/../../b", "climbs out of the model folder with '..'"),
        ("..\\..\\id_rsa", "climbs out of the model folder with '..'"),
        ("/etc/passwd", "is an absolute path"),
        ("\\\\server\\share\\w.bin", "is an absolute path"),
        ("C:\\Windows\\win.ini", "is an absolute path"),
        ("c:relative.bin", "is an absolute path"),
        ("file:///etc/passwd", "is a URL, not a relative path"),
        ("https://example.com/w.bin", "is a URL, not a relative path"),
        ("w.bin\x00.txt", "contains a NUL byte"),
    ],
)
def test_escaping_locations(location: str, why: str) -> None:
    assert onnx.external_data_escapes(location) == why


@pytest.mark.parametrize(
    "location", ["w.bin", "./w.bin", "weights/w.bin", "a/../w.bin", "a/./b/../c.bin", "..w.bin"]
)
def test_locations_inside_the_folder(location: str) -> None:
    assert onnx.external_data_escapes(location) is None


def test_escapes_in_sub_graphs_are_found() -> None:
    result = onnx.analyze(_source(gen.onnx_if_model("../../x.bin")))
    assert _rules(result) == [("onnx.external-data-escape", Severity.HIGH)]
    assert "tensor 'K'" in result.findings[0].message


def test_many_escapes_are_summarised() -> None:
    tensors = [gen.onnx_tensor(f"w{i}", [1], external={"location": "/etc/x"}) for i in range(13)]
    graph = gen.onnx_graph("g", [gen.onnx_node("Identity", ["w0"], ["y"])], [], [], tensors)
    result = onnx.analyze(_source(gen.onnx_model(graph)))
    assert len(result.findings) == 11
    assert result.findings[-1].message.startswith("3 more tensors")


def test_custom_domains() -> None:
    vendor = onnx.analyze(_source(gen.onnx_vendor_op()))
    assert _rules(vendor) == [("onnx.custom-op-domain", Severity.INFO)]
    custom = onnx.analyze(_source(gen.onnx_custom_domain()))
    assert _rules(custom) == [("onnx.custom-op-domain", Severity.MEDIUM)]
    assert "'com.example.customops'" in custom.findings[0].message
    assert "custom-op library (native code)" in custom.findings[0].message
    assert onnx.analyze(_source(gen.onnx_local_function())).findings == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no ir_version or no graph"),
        (gen.pb_int(1, 8), "no ir_version or no graph"),
        (gen.pb_int(1, 8) + b"\x3a\xff\xff\xff\xff\x0f", "claims 4294967295 bytes"),
        (gen.pb_int(1, 8) + b"\x0b", "unsupported wire type 3"),
        (gen.pb_int(1, 8) + b"\x08" + b"\xff" * 11, "longer than 10 bytes"),
        (gen.pb_int(1, 8) + b"\x00\x01", "field number 0"),
    ],
)
def test_broken_models_are_parse_errors(data: bytes, message: str) -> None:
    result = onnx.analyze(_source(data))
    assert [f.rule for f in result.findings] == ["onnx.parse-error"]
    assert result.findings[0].severity is Severity.MEDIUM
    assert message in result.findings[0].message


def test_sub_graph_nesting_is_capped() -> None:
    graph = gen.onnx_graph("leaf", [], [], [])
    for _ in range(40):
        node = gen.onnx_node("If", ["c"], ["o"], attributes=[gen.onnx_attr_graph("g", graph)])
        graph = gen.onnx_graph("g", [node], [], [])
    result = onnx.analyze(_source(gen.onnx_model(graph)))
    assert "nested deeper than 32" in result.findings[0].message


class _Counting(io.FileIO):
    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        _Counting.read_bytes += len(data)
        return data


def test_tensor_bytes_are_skipped_not_read(tmp_path: Path) -> None:
    big = gen.onnx_tensor("W", [4096, 1024], raw=bytes(16 << 20))
    graph = gen.onnx_graph("big", [gen.onnx_node("MatMul", ["X", "W"], ["Y"])], [], [], [big, big])
    path = tmp_path / "big.onnx"
    path.write_bytes(gen.onnx_model(graph))

    def opener() -> IO[bytes]:
        return _Counting(str(path), "r")

    source = Source("big.onnx", path.stat().st_size, b"", opener)
    _Counting.read_bytes = 0
    tracemalloc.start()
    try:
        result = onnx.analyze(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.findings == []
    assert _props(result)["parameters"] == str(2 * 4096 * 1024)
    assert _Counting.read_bytes < 1 << 20 < path.stat().st_size
    assert peak < 1 << 20


# --- the heuristic -------------------------------------------------------------------------------
def test_looks_like_onnx_rejects_other_formats() -> None:
    assert not onnx.looks_like_onnx(b"")
    assert not onnx.looks_like_onnx(b"# a readme\n" * 10)
    assert not onnx.looks_like_onnx(b"\x80\x04\x95\x10" + bytes(40))  # pickle
    assert not onnx.looks_like_onnx(b"GGUF\x03\x00\x00\x00" + bytes(32))
    assert not onnx.looks_like_onnx(gen.safetensors_bytes([("w", "F32", (2,))]))
    assert not onnx.looks_like_onnx(b"PK\x03\x04" + bytes(40))
    saved_model = gen.pb_int(1, 1) + gen.pb_bytes(2, bytes(9000))  # TF SavedModel shape
    assert not onnx.looks_like_onnx(saved_model[:4096])
    assert not onnx.looks_like_onnx(gen.pb_int(1, 8) + gen.pb_bytes(2, b"\xff\xfe"))


def test_looks_like_onnx_on_random_heads() -> None:
    rng = random.Random(7)
    hits = sum(onnx.looks_like_onnx(rng.randbytes(512)) for _ in range(20_000))
    assert hits == 0
    # even with the right first two bytes, random continuations are rejected
    hits = sum(onnx.looks_like_onnx(b"\x08\x08" + rng.randbytes(510)) for _ in range(20_000))
    assert hits < 20  # 8 in 20 000 with this seed: under 0.1 %


def test_looks_like_onnx_on_a_head_cut_inside_the_graph() -> None:
    data = gen.onnx_with_initializer()
    assert onnx.looks_like_onnx(data[:40])


# --- fuzzing -------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = onnx.analyze(_source(data))
    assert isinstance(result, FileResult)
    onnx.looks_like_onnx(data)


_VALID = gen.onnx_if_model("weights/k.bin")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=6),
    st.integers(0, len(_VALID)),
)
def test_mutated_models_never_raise(mutations: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_VALID)
    for offset, value in mutations:
        data[offset] = value
    result = onnx.analyze(_source(bytes(data[:cut])))
    assert isinstance(result, FileResult)
    assert all(f.severity <= Severity.HIGH for f in result.findings)


# --- the corpus ----------------------------------------------------------------------------------
def test_corpus_samples_meet_their_labels(format_corpus: tuple[Path, list[gen.Sample]]) -> None:
    assert corpus_failures(format_corpus, (".onnx",), onnx.analyze) == []
