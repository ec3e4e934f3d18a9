"""TensorFlow SavedModel and keras_metadata.pb: dangerous ops found wherever they sit (top-level
graph, library functions), the saver's checkpoint ops left alone, unknown ops reported medium,
Keras Lambda metadata, asset escapes, bounded parsing.

TensorFlow itself is not installed (and must not be): SavedModels are written byte by byte by
tests/data/scan/gen_misses.py from the field numbers of TensorFlow's .proto files, and that
writer is checked here against the `protobuf` package's own encoder, built at test time from the
same field numbers (a descriptor pool, no generated code).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sumun.scan.formats import _tf_ops, tensorflow
from sumun.scan.identify import identify
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_misses as gen
from tests.data.scan.gen_formats import EVIL_LAMBDA, label_holds, lambda_code, pb_bytes, pb_int

_F = descriptor_pb2.FieldDescriptorProto


def _source(data: bytes, path: str = "model/saved_model.pb") -> Source:
    return Source(path, len(data), data[:4096], lambda: io.BytesIO(data))


def _rules(result: FileResult) -> list[tuple[str, Severity]]:
    return [(f.rule, f.severity) for f in result.findings]


def _model(*nodes: bytes, **kwargs: Any) -> FileResult:
    serving = [gen.tf_node("x", "_Arg"), *nodes, gen.tf_node("Identity", "Identity", ["x"])]
    return tensorflow.analyze(_source(gen.tf2_model(serving, **kwargs)))


# --- the reference encoder -----------------------------------------------------------------------
_SCHEMA: dict[str, list[tuple[str, int, int, bool, str | None]]] = {
    # name: [(field, number, type, repeated, message type)] — numbers from TensorFlow's .proto
    "ListValue": [("s", 2, _F.TYPE_BYTES, True, None)],  # attr_value.proto
    "AttrValue": [
        ("list", 1, _F.TYPE_MESSAGE, False, "ListValue"),
        ("s", 2, _F.TYPE_BYTES, False, None),
    ],
    "AttrEntry": [
        ("key", 1, _F.TYPE_STRING, False, None),
        ("value", 2, _F.TYPE_MESSAGE, False, "AttrValue"),
    ],
    "NodeDef": [  # node_def.proto (map<string, AttrValue> attr = 5 is wire-identical to entries)
        ("name", 1, _F.TYPE_STRING, False, None),
        ("op", 2, _F.TYPE_STRING, False, None),
        ("input", 3, _F.TYPE_STRING, True, None),
        ("attr", 5, _F.TYPE_MESSAGE, True, "AttrEntry"),
    ],
    "OpDef": [("name", 1, _F.TYPE_STRING, False, None)],  # op_def.proto
    "FunctionDef": [  # function.proto
        ("signature", 1, _F.TYPE_MESSAGE, False, "OpDef"),
        ("node_def", 3, _F.TYPE_MESSAGE, True, "NodeDef"),
    ],
    "FunctionDefLibrary": [("function", 1, _F.TYPE_MESSAGE, True, "FunctionDef")],
    "VersionDef": [("producer", 1, _F.TYPE_INT32, False, None)],  # versions.proto
    "GraphDef": [  # graph.proto
        ("node", 1, _F.TYPE_MESSAGE, True, "NodeDef"),
        ("library", 2, _F.TYPE_MESSAGE, False, "FunctionDefLibrary"),
        ("versions", 4, _F.TYPE_MESSAGE, False, "VersionDef"),
    ],
    "MetaInfoDef": [  # meta_graph.proto
        ("tags", 4, _F.TYPE_STRING, True, None),
        ("tensorflow_version", 5, _F.TYPE_STRING, False, None),
    ],
    "SaverDef": [  # saver.proto
        ("filename_tensor_name", 1, _F.TYPE_STRING, False, None),
        ("save_tensor_name", 2, _F.TYPE_STRING, False, None),
        ("restore_op_name", 3, _F.TYPE_STRING, False, None),
        ("version", 7, _F.TYPE_INT32, False, None),
    ],
    "AssetFileDef": [("filename", 2, _F.TYPE_STRING, False, None)],
    "SavedUserObject": [  # saved_object_graph.proto
        ("identifier", 1, _F.TYPE_STRING, False, None),
        ("metadata", 3, _F.TYPE_STRING, False, None),
    ],
    "SavedObject": [("user_object", 4, _F.TYPE_MESSAGE, False, "SavedUserObject")],
    "SavedObjectGraph": [("nodes", 1, _F.TYPE_MESSAGE, True, "SavedObject")],
    "MetaGraphDef": [
        ("meta_info_def", 1, _F.TYPE_MESSAGE, False, "MetaInfoDef"),
        ("graph_def", 2, _F.TYPE_MESSAGE, False, "GraphDef"),
        ("saver_def", 3, _F.TYPE_MESSAGE, False, "SaverDef"),
        ("asset_file_def", 6, _F.TYPE_MESSAGE, True, "AssetFileDef"),
        ("object_graph_def", 7, _F.TYPE_MESSAGE, False, "SavedObjectGraph"),
    ],
    "SavedModel": [  # saved_model.proto
        ("saved_model_schema_version", 1, _F.TYPE_INT64, False, None),
        ("meta_graphs", 2, _F.TYPE_MESSAGE, True, "MetaGraphDef"),
    ],
    "KerasObject": [  # keras/protobuf/saved_metadata.proto SavedObject
        ("node_id", 2, _F.TYPE_INT32, False, None),
        ("node_path", 3, _F.TYPE_STRING, False, None),
        ("identifier", 4, _F.TYPE_STRING, False, None),
        ("metadata", 5, _F.TYPE_STRING, False, None),
    ],
    "SavedMetadata": [("nodes", 1, _F.TYPE_MESSAGE, True, "KerasObject")],
}


@pytest.fixture(scope="module")
def proto() -> dict[str, Any]:
    """Message classes for the SavedModel subset, from a descriptor built at test time."""
    file = descriptor_pb2.FileDescriptorProto(
        name="tfmini.proto", package="tfmini", syntax="proto3"
    )
    for name, spec in _SCHEMA.items():
        message = file.message_type.add(name=name)
        for field, number, kind, repeated, type_name in spec:
            label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            added = message.field.add(name=field, number=number, type=kind, label=label)
            if type_name is not None:
                added.type_name = f".tfmini.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tfmini.{name}"))
        for name in _SCHEMA
    }


def test_the_corpus_writer_matches_the_reference_encoder(proto: dict[str, Any]) -> None:
    data = gen.tf2_model(assets=["vocab.txt"], user_objects=[("_tf_keras_layer", "{}")])
    model = proto["SavedModel"].FromString(data)
    assert model.saved_model_schema_version == 1
    (meta,) = model.meta_graphs
    assert list(meta.meta_info_def.tags) == ["serve"]
    assert meta.saver_def.filename_tensor_name == "saver_filename:0"
    assert [a.filename for a in meta.asset_file_def] == ["vocab.txt"]
    names = [f.signature.name for f in meta.graph_def.library.function]
    assert "__inference__traced_save_5678" in names
    save = next(f for f in meta.graph_def.library.function if "traced_save" in f.signature.name)
    assert "SaveV2" in [n.op for n in save.node_def]
    # Re-encoding gives the same bytes: the writer uses protobuf's field order and encodings.
    assert model.SerializeToString() == data
    metadata = gen.keras_metadata(EVIL_LAMBDA)
    parsed = proto["SavedMetadata"].FromString(metadata)
    assert [n.node_path for n in parsed.nodes][-1] == "root.layer-1"
    assert parsed.SerializeToString() == metadata


def test_a_model_encoded_by_protobuf_is_read(proto: dict[str, Any]) -> None:
    node = proto["NodeDef"](name="steal", op="ReadFile", input=["path"])
    function = proto["FunctionDef"](
        signature=proto["OpDef"](name="__inference_call_7"), node_def=[node]
    )
    graph = proto["GraphDef"](
        node=[proto["NodeDef"](name="call", op="__inference_call_7")],
        library=proto["FunctionDefLibrary"](function=[function]),
    )
    meta = proto["MetaGraphDef"](
        meta_info_def=proto["MetaInfoDef"](tags=["serve"], tensorflow_version="2.16.1"),
        graph_def=graph,
    )
    data = proto["SavedModel"](saved_model_schema_version=1, meta_graphs=[meta]).SerializeToString()
    result = tensorflow.analyze(_source(data))
    (finding,) = result.findings  # the function called as an op is not an unknown op
    assert (finding.rule, finding.severity) == ("tensorflow.dangerous-op", Severity.HIGH)
    assert "op ReadFile at node 'steal' in function '__inference_call_7'" in finding.message
    props = dict(result.components[0].properties)
    assert props["tensorflow_version"] == "2.16.1"
    assert props["format"] == "tensorflow-savedmodel"


# --- benign graphs -------------------------------------------------------------------------------
def test_a_tf2_keras_savedmodel_is_clean_and_described() -> None:
    result = tensorflow.analyze(_source(gen.tf2_model()))
    assert result.findings == []
    (component,) = result.components
    props = dict(component.properties)
    assert (props["meta_graphs"], props["functions"], props["tags"]) == ("1", "3", "serve")
    assert "SaveV2" in props["op_types"] and "MatMul" in props["op_types"]
    assert component.name == "model"  # the SavedModel's folder


def test_a_tf1_estimator_saver_scope_is_expected() -> None:
    assert tensorflow.analyze(_source(gen.tf1_model())).findings == []


def test_checkpoint_ops_outside_the_saver_are_dangerous() -> None:
    result = _model(gen.tf_node("s", "SaveV2", ["p"]), gen.tf_node("r", "RestoreV2", ["p"]))
    assert sorted(_rules(result)) == [
        ("tensorflow.dangerous-op", Severity.HIGH),
        ("tensorflow.dangerous-op", Severity.CRITICAL),
    ]
    assert "outside the model's saver" in result.findings[0].message
    tf1 = tensorflow.analyze(_source(gen.tf1_model([gen.tf_node("x/SaveV2", "SaveV2")])))
    assert _rules(tf1) == [("tensorflow.dangerous-op", Severity.CRITICAL)]
    assert "node 'x/SaveV2'" in tf1.findings[0].message


def test_a_function_named_like_the_saver_only_covers_checkpoint_ops() -> None:
    fake = gen.tf_function("__inference__traced_save_1", [gen.tf_node("w", "WriteFile", ["p"])])
    result = _model(extra_functions=[fake])
    assert _rules(result) == [("tensorflow.dangerous-op", Severity.CRITICAL)]


# --- dangerous ops -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "severity"),
    [
        ("ReadFile", Severity.HIGH),
        ("WriteFile", Severity.CRITICAL),
        ("MatchingFiles", Severity.HIGH),
        ("PyFunc", Severity.HIGH),
        ("EagerPyFunc", Severity.HIGH),
        ("PyFuncStateless", Severity.HIGH),
        ("ImmutableConst", Severity.HIGH),
        ("Save", Severity.CRITICAL),
        ("Restore", Severity.HIGH),
        ("SaveSlices", Severity.CRITICAL),
        ("DistributedSave", Severity.CRITICAL),
        ("RpcClient", Severity.HIGH),
        ("DataServiceDatasetV4", Severity.HIGH),
        ("DebugIdentityV3", Severity.HIGH),
        ("TFRecordDatasetV2", Severity.HIGH),
    ],
)
def test_dangerous_ops_are_named_with_their_node(op: str, severity: Severity) -> None:
    result = _model(gen.tf_node(f"evil_{op}", op, ["x"]))
    (finding,) = result.findings
    assert (finding.rule, finding.severity) == ("tensorflow.dangerous-op", severity)
    assert f"op {op} at node 'evil_{op}'" in finding.message
    assert "function '__inference_serving_default_1234'" in finding.message


def test_dangerous_ops_in_the_top_level_graph() -> None:
    top = (*gen._TOP_TF2, gen.tf_node("boom", "WriteFile", ["a", "b"]))
    result = tensorflow.analyze(_source(gen.tf2_model(top=top)))
    (finding,) = result.findings
    assert "node 'boom'" in finding.message and "in function" not in finding.message


def test_the_path_an_op_uses_is_shown() -> None:
    attr = gen.tf_attr("memory_region_name", s="/etc/passwd")
    (finding,) = _model(gen.tf_node("mm", "ImmutableConst", [], [attr])).findings
    assert "memory_region_name='/etc/passwd'" in finding.message
    urls = gen.tf_attr("debug_urls", strings=["file:///tmp/a", "grpc://evil:80"])
    (finding,) = _model(gen.tf_node("d", "DebugIdentity", ["x"], [urls])).findings
    assert "file:///tmp/a,grpc://evil:80" in finding.message


def test_print_is_fine_unless_it_writes_a_file() -> None:
    stderr = gen.tf_attr("output_stream", s="stderr")
    assert _model(gen.tf_node("p", "PrintV2", ["x"], [stderr])).findings == []
    assert _model(gen.tf_node("p", "PrintV2", ["x"])).findings == []  # default stream
    to_file = gen.tf_attr("output_stream", s="file:///home/u/.bashrc")
    (finding,) = _model(gen.tf_node("p", "PrintV2", ["x"], [to_file])).findings
    assert finding.severity is Severity.CRITICAL and ".bashrc" in finding.message


def test_vocabulary_files_depend_on_assets() -> None:
    init = gen.tf_node("init", "InitializeTableFromTextFileV2", ["t", "path"])
    assert _rules(_model(init, assets=["vocab.txt"])) == [
        ("tensorflow.vocabulary-file", Severity.MEDIUM)
    ]
    assert _rules(_model(init)) == [("tensorflow.dangerous-op", Severity.HIGH)]


def test_unknown_ops_are_medium_and_counted() -> None:
    result = _model(gen.tf_node("a", "Addons>Gelu", ["x"]), gen.tf_node("b", "Addons>Gelu", ["a"]))
    (finding,) = result.findings
    assert (finding.rule, finding.severity) == ("tensorflow.unknown-op", Severity.MEDIUM)
    assert "'Addons>Gelu' (2x, first at node 'a'" in finding.message


def test_many_dangerous_ops_are_summarised() -> None:
    nodes = [gen.tf_node(f"r{i}", "ReadFile", ["x"]) for i in range(30)]
    result = _model(*nodes)
    assert len(result.findings) == 21
    assert result.findings[-1].message == "10 more dangerous ops"


def test_the_op_lists_do_not_overlap() -> None:
    assert not _tf_ops.ORDINARY_OPS & set(_tf_ops.DANGEROUS_OPS)
    assert not _tf_ops.ORDINARY_OPS & set(_tf_ops.CHECKPOINT_OPS)
    assert not set(_tf_ops.DANGEROUS_OPS) & set(_tf_ops.CHECKPOINT_OPS)
    for label, _ in (*_tf_ops.DANGEROUS_OPS.values(), *_tf_ops.CHECKPOINT_OPS.values()):
        assert Severity.parse(label) >= Severity.HIGH


# --- assets, Keras metadata ----------------------------------------------------------------------
def test_asset_names_that_escape() -> None:
    result = tensorflow.analyze(_source(gen.tf2_model(assets=["vocab.txt", "../../etc/passwd"])))
    (finding,) = result.findings
    assert (finding.rule, finding.severity) == ("tensorflow.asset-escape", Severity.HIGH)
    assert "'../../etc/passwd'" in finding.message


def test_keras_metadata_lambda_is_found_with_its_path() -> None:
    result = tensorflow.analyze(_source(gen.keras_metadata(EVIL_LAMBDA), "m/keras_metadata.pb"))
    assert result.format == "tensorflow"
    (finding,) = result.findings
    assert (finding.rule, finding.severity) == ("keras.lambda-layer", Severity.CRITICAL)
    assert finding.message.startswith("root.layer-1: Lambda layer at config.function")
    assert "system" in finding.message
    props = dict(result.components[0].properties)
    assert props == {"format": "keras-metadata", "keras_objects": "3"}


def test_keras_metadata_without_lambda_is_clean() -> None:
    result = tensorflow.analyze(_source(gen.keras_metadata(None), "m/keras_metadata.pb"))
    assert result.findings == []


def test_user_object_metadata_in_saved_model() -> None:
    meta = gen._keras_layer_metadata("Lambda", gen.tf_keras_lambda_config(EVIL_LAMBDA))
    result = tensorflow.analyze(_source(gen.tf2_model(user_objects=[("_tf_keras_layer", meta)])))
    (finding,) = result.findings
    assert finding.rule == "keras.lambda-layer"
    assert finding.message.startswith("object 0 (_tf_keras_layer):")


def test_a_keras_2_list_lambda_in_metadata() -> None:
    config = {"name": "l", "function": [lambda_code("lambda x: x"), None, None]}
    config["function_type"] = "lambda"
    meta = gen._keras_layer_metadata("Lambda", config)
    data = gen.keras_metadata_bytes([(1, "root.layer-0", "_tf_keras_layer", meta)])
    (finding,) = tensorflow.analyze(_source(data, "keras_metadata.pb")).findings
    assert (finding.rule, finding.severity) == ("keras.lambda-layer", Severity.HIGH)


# --- identification and bad input ---------------------------------------------------------------
def test_identified_by_name_unless_the_bytes_say_otherwise() -> None:
    data = gen.tf2_model()
    assert identify(_source(data, "m/saved_model.pb")) == ("tensorflow",)
    assert identify(_source(data, "m/KERAS_METADATA.pb")) == ("tensorflow",)
    small = gen.saved_model_bytes([gen.tf_meta_graph(gen.tf_graph([]))])
    assert identify(_source(small, "saved_model.pb")) == ("tensorflow",)  # not taken for ONNX
    pickled = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."
    assert identify(_source(pickled, "saved_model.pb")) == ("pickle",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (gen.tf2_model()[:300], "claims"),
        (pb_int(1, 1) + pb_bytes(2, b"\x12\xff\xff\xff\xff\x0f"), "claims"),
        (pb_int(1, 1), "no meta graph"),
        (b"\xff" * 12, ""),
    ],
)
def test_broken_files_are_parse_errors(data: bytes, message: str) -> None:
    result = tensorflow.analyze(_source(data))
    errors = [f for f in result.findings if f.rule == "tensorflow.parse-error"]
    assert errors and all(f.severity is Severity.MEDIUM for f in errors)
    assert message in errors[0].message


def test_bad_keras_json_in_metadata_is_a_parse_error() -> None:
    data = gen.keras_metadata_bytes([(1, "root.layer-0", "_tf_keras_layer", "{nope")])
    (finding,) = tensorflow.analyze(_source(data, "keras_metadata.pb")).findings
    assert (finding.rule, finding.severity) == ("tensorflow.parse-error", Severity.MEDIUM)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.booleans())
def test_arbitrary_bytes_never_raise(data: bytes, metadata: bool) -> None:
    name = "keras_metadata.pb" if metadata else "saved_model.pb"
    result = tensorflow.analyze(_source(data, name))
    errors = [f for f in result.findings if f.rule.endswith(".parse-error")]
    assert all(f.severity is Severity.MEDIUM for f in errors)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8))
def test_mutated_models_never_raise(mutations: list[tuple[int, int]]) -> None:
    data = bytearray(gen.tf2_model([gen.tf_node("r", "ReadFile", ["x"])]))
    for at, value in mutations:
        data[at % len(data)] = value
    tensorflow.analyze(_source(bytes(data)))


def test_corpus_samples_meet_their_labels(tmp_path: Path) -> None:
    samples = [s for s in gen.generate(tmp_path) if s[2].startswith("TF SavedModel:")]
    assert {label for _, label, _ in samples} == {"benign", "malicious", "broken"}
    failed = []
    for rel, label, _ in samples:
        data = (tmp_path / rel).read_bytes()
        result = tensorflow.analyze(_source(data, rel))
        if not label_holds(label, result.findings):
            failed.append((rel, label, _rules(result)))
    assert failed == []
