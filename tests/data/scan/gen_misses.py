"""Corpus for the misses of issue 17: TensorFlow SavedModels, Keras model JSON, path traversal in
model archives, ONNX external data that is missing or a symlink.

    python -m tests.data.scan.gen_misses OUT_DIR   (make_corpus.py puts it under misses/)

`generate(root)` writes every sample under `root` and returns `(path, label, technique)`
triples (the contract is in make_corpus.py). Each technique starts with its family ("TF
SavedModel: …", "Keras JSON: …", "Archive traversal: …", "ONNX external data: …") and ends with
its public source in brackets; bench/eval_scan.py reports detection per family.

Everything is written byte by byte from the formats' specifications — no TensorFlow (SavedModel
protobufs use the field numbers of tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
saver.proto, saved_object_graph.proto, tensorflow/core/framework/graph.proto, node_def.proto,
attr_value.proto, function.proto, op_def.proto and keras/protobuf/saved_metadata.proto, cited
at each writer). The tests check the SavedModel writer against the `protobuf` package's own
encoder built from the same field numbers. Payloads are harmless and never loaded.

Sources cited below:
- [TensorAbuse] Zhu et al., "My Model is Malware to You: Transforming AI Models into Malware by
  Abusing TensorFlow APIs", IEEE S&P 2025 (github.com/ZJU-SEC/TensorAbuse, attack_primitives/).
- [TF-SECURITY] TensorFlow SECURITY.md "TensorFlow models are programs"; `saved_model_cli scan`
  deny list (ReadFile, WriteFile, PrintV2).
- [CVE-2024-3660] Keras Lambda bytecode runs on load; modelscan's Keras Lambda check of
  `keras_metadata.pb` (SavedModel) and of model JSON.
- [ZIP-SLIP] Snyk "Zip Slip" (2018); CVE-2007-4559 (Python tarfile); CVE-2001-1267 (GNU tar
  symlink following); Info-ZIP unzip symlink entries.
- [ONNX-EXT] onnx external-data path traversal CVE-2022-25882 and CVE-2024-27318, and onnx's own
  checker (onnx/checker.cc `resolve_external_data_location`), which refuses external data that
  is a symbolic link, leaves the model folder through a symlinked parent, is not a regular file,
  or has several hard links.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tests.data.scan.gen_formats import (
    BENIGN_LAMBDA,
    EVIL_LAMBDA,
    k2_lambda,
    k2_layer,
    k2_sequential,
    k3_dense,
    k3_lambda,
    k3_sequential,
    keras_zip_bytes,
    lambda_code,
    llama_config,
    onnx_with_initializer,
    pb_bytes,
    pb_int,
)

Sample = tuple[str, str, str]
# Technique families (the text before ':' in each technique), reported one row each by
# bench/eval_scan.py.
FAMILIES = ("TF SavedModel", "Keras JSON", "Archive traversal", "ONNX external data")
BENIGN, MALICIOUS, BROKEN = "benign", "malicious", "broken"
SEED = 20261208
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# --- TensorFlow SavedModel (protobuf) --------------------------------------------------------
def tf_attr(key: str, *, s: str | None = None, strings: Sequence[str] = ()) -> bytes:
    """NodeDef.attr map entry (key 1, value 2). AttrValue: s = 2, list = 1 (ListValue.s = 2)."""
    if s is not None:
        value = pb_bytes(2, s)
    else:
        value = pb_bytes(1, b"".join(pb_bytes(2, item) for item in strings))
    return pb_bytes(1, key) + pb_bytes(2, value)


def tf_node(name: str, op: str, inputs: Sequence[str] = (), attrs: Sequence[bytes] = ()) -> bytes:
    """NodeDef (node_def.proto): name 1, op 2, input 3, device 4, attr 5."""
    out = pb_bytes(1, name) + pb_bytes(2, op)
    out += b"".join(pb_bytes(3, i) for i in inputs)
    out += b"".join(pb_bytes(5, a) for a in attrs)
    return out


def tf_function(name: str, nodes: Sequence[bytes]) -> bytes:
    """FunctionDef (function.proto): signature 1 (OpDef, name 1), node_def 3."""
    return pb_bytes(1, pb_bytes(1, name)) + b"".join(pb_bytes(3, n) for n in nodes)


def tf_graph(nodes: Sequence[bytes], functions: Sequence[bytes] = ()) -> bytes:
    """GraphDef (graph.proto): node 1, library 2 (FunctionDefLibrary.function 1), versions 4."""
    out = b"".join(pb_bytes(1, n) for n in nodes)
    if functions:
        out += pb_bytes(2, b"".join(pb_bytes(1, f) for f in functions))
    return out + pb_bytes(4, pb_int(1, 1645))  # VersionDef.producer


def tf_meta_graph(
    graph: bytes,
    *,
    tags: Sequence[str] = ("serve",),
    tf_version: str = "2.15.0",
    saver_filename: str | None = None,
    assets: Sequence[str] = (),
    user_objects: Sequence[tuple[str, str]] = (),
) -> bytes:
    """MetaGraphDef (meta_graph.proto): meta_info_def 1 (tags 4, tensorflow_version 5),
    graph_def 2, saver_def 3 (SaverDef filename_tensor_name 1, save_tensor_name 2,
    restore_op_name 3), asset_file_def 6 (AssetFileDef filename 2), object_graph_def 7
    (SavedObjectGraph nodes 1: SavedObject user_object 4: SavedUserObject identifier 1,
    metadata 3)."""
    info = b"".join(pb_bytes(4, t) for t in tags) + pb_bytes(5, tf_version)
    out = pb_bytes(1, info) + pb_bytes(2, graph)
    if saver_filename is not None:
        scope = saver_filename.rpartition("/")[0]
        prefix = f"{scope}/" if scope else ""
        saver = pb_bytes(1, saver_filename) + pb_bytes(2, f"{prefix}control_dependency:0")
        saver += pb_bytes(3, f"{prefix}restore_all") + pb_int(7, 2)  # version V2
        out += pb_bytes(3, saver)
    out += b"".join(pb_bytes(6, pb_bytes(2, a)) for a in assets)
    if user_objects:
        nodes = b"".join(
            pb_bytes(1, pb_bytes(4, pb_bytes(1, identifier) + pb_bytes(3, metadata)))
            for identifier, metadata in user_objects
        )
        out += pb_bytes(7, nodes)
    return out


def saved_model_bytes(meta_graphs: Sequence[bytes]) -> bytes:
    """SavedModel (saved_model.proto): saved_model_schema_version 1, meta_graphs 2."""
    return pb_int(1, 1) + b"".join(pb_bytes(2, m) for m in meta_graphs)


def keras_metadata_bytes(objects: Sequence[tuple[int, str, str, str]]) -> bytes:
    """SavedMetadata (keras/protobuf/saved_metadata.proto): nodes 1 — SavedObject node_id 2,
    node_path 3, identifier 4, metadata 5 (the layer's JSON)."""
    return b"".join(
        pb_bytes(
            1,
            (pb_int(2, node_id) if node_id else b"")  # proto3 leaves zero out
            + pb_bytes(3, path)
            + pb_bytes(4, ident)
            + pb_bytes(5, meta),
        )
        for node_id, path, ident, meta in objects
    )


def _serving(nodes: Sequence[bytes]) -> bytes:
    return tf_function("__inference_serving_default_1234", nodes)


_DENSE = (
    tf_node("x", "_Arg"),
    tf_node("MatMul/ReadVariableOp", "ReadVariableOp", ["matmul_readvariableop_resource"]),
    tf_node("MatMul", "MatMul", ["x", "MatMul/ReadVariableOp:value:0"]),
    tf_node("BiasAdd/ReadVariableOp", "ReadVariableOp", ["biasadd_readvariableop_resource"]),
    tf_node("BiasAdd", "BiasAdd", ["MatMul:product:0", "BiasAdd/ReadVariableOp:value:0"]),
    tf_node("Relu", "Relu", ["BiasAdd:output:0"]),
    tf_node("Identity", "Identity", ["Relu:activations:0"]),
)

# TF2 saver functions, as `tf.saved_model.save` writes them.
_TRACED_SAVE = tf_function(
    "__inference__traced_save_5678",
    [
        tf_node("file_prefix", "_Arg"),
        tf_node("StaticRegexFullMatch", "StaticRegexFullMatch", ["file_prefix"]),
        tf_node("Const", "Const"),
        tf_node("Const_1", "Const"),
        tf_node("Select", "Select", ["StaticRegexFullMatch:output:0", "Const:output:0"]),
        tf_node("StringJoin", "StringJoin", ["file_prefix", "Select:output:0"]),
        tf_node("num_shards", "Const"),
        tf_node("ShardedFilename", "ShardedFilename", ["StringJoin:output:0"]),
        tf_node("SaveV2", "SaveV2", ["ShardedFilename:filename:0"]),
        tf_node("MergeV2Checkpoints", "MergeV2Checkpoints", ["ShardedFilename:filename:0"]),
        tf_node("Identity", "Identity", ["file_prefix"]),
        tf_node("NoOp", "NoOp"),
    ],
)
_TRACED_RESTORE = tf_function(
    "__inference__traced_restore_6789",
    [
        tf_node("file_prefix", "_Arg"),
        tf_node("RestoreV2", "RestoreV2", ["file_prefix"]),
        tf_node("Identity", "Identity", ["RestoreV2:tensors:0"]),
        tf_node("AssignVariableOp", "AssignVariableOp", ["resource", "Identity:output:0"]),
        tf_node("NoOp", "NoOp"),
    ],
)
_TOP_TF2 = (
    tf_node("serving_default_x", "Placeholder"),
    tf_node("dense/kernel", "VarHandleOp"),
    tf_node("dense/bias", "VarHandleOp"),
    tf_node("StatefulPartitionedCall", "StatefulPartitionedCall", ["serving_default_x"]),
    tf_node("saver_filename", "Placeholder"),
    tf_node("StatefulPartitionedCall_1", "StatefulPartitionedCall", ["saver_filename"]),
    tf_node("StatefulPartitionedCall_2", "StatefulPartitionedCall", ["saver_filename"]),
    tf_node("NoOp", "NoOp"),
)


def tf2_model(
    serving: Sequence[bytes] = _DENSE,
    *,
    extra_functions: Sequence[bytes] = (),
    top: Sequence[bytes] = _TOP_TF2,
    assets: Sequence[str] = (),
    user_objects: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A TF2 SavedModel like `tf.saved_model.save` of a small Keras Dense model."""
    graph = tf_graph(top, [_serving(serving), _TRACED_SAVE, _TRACED_RESTORE, *extra_functions])
    meta = tf_meta_graph(
        graph, saver_filename="saver_filename:0", assets=assets, user_objects=user_objects
    )
    return saved_model_bytes([meta])


def tf1_model(nodes: Sequence[bytes] = ()) -> bytes:
    """A TF1 estimator export: a graph with the saver in the `save/` scope."""
    graph = tf_graph(
        [
            tf_node("input", "Placeholder"),
            tf_node("w", "VariableV2"),
            tf_node("w/read", "Identity", ["w"]),
            tf_node("logits", "MatMul", ["input", "w/read"]),
            tf_node("probs", "Softmax", ["logits"]),
            tf_node("save/Const", "Const"),
            tf_node("save/SaveV2", "SaveV2", ["save/Const"]),
            tf_node("save/control_dependency", "Identity", ["save/Const"]),
            tf_node("save/RestoreV2", "RestoreV2", ["save/Const"]),
            tf_node("save/Assign", "Assign", ["w", "save/RestoreV2"]),
            tf_node("save/restore_all", "NoOp"),
            *nodes,
        ]
    )
    meta = tf_meta_graph(graph, tf_version="1.15.5", saver_filename="save/Const:0")
    return saved_model_bytes([meta])


def _keras_layer_metadata(class_name: str, config: dict[str, Any]) -> str:
    """A layer's metadata JSON in keras_metadata.pb (Keras layer_serialization)."""
    return json.dumps(
        {
            "name": config.get("name", "layer"),
            "trainable": True,
            "expects_training_arg": False,
            "dtype": "float32",
            "batch_input_shape": None,
            "stateful": False,
            "must_restore_from_config": False,
            "class_name": class_name,
            "config": config,
        }
    )


def tf_keras_lambda_config(source: str) -> dict[str, Any]:
    """tf.keras' Lambda config in SavedModel metadata: the tuple is `__tuple__`-encoded."""
    return {
        "name": "lambda",
        "trainable": True,
        "dtype": "float32",
        "function": {"class_name": "__tuple__", "items": [lambda_code(source), None, None]},
        "function_type": "lambda",
        "module": "__main__",
        "output_shape": None,
        "output_shape_type": "raw",
        "output_shape_module": None,
        "arguments": {},
    }


def keras_metadata(with_lambda: str | None) -> bytes:
    dense = _keras_layer_metadata("Dense", {"name": "dense", "units": 4, "activation": "relu"})
    objects = [
        (
            0,
            "root",
            "_tf_keras_sequential",
            json.dumps({"name": "sequential", "class_name": "Sequential"}),
        ),
        (1, "root.layer_with_weights-0", "_tf_keras_layer", dense),
    ]
    if with_lambda is not None:
        meta = _keras_layer_metadata("Lambda", tf_keras_lambda_config(with_lambda))
        objects.append((2, "root.layer-1", "_tf_keras_layer", meta))
    return keras_metadata_bytes(objects)


# --- corpus --------------------------------------------------------------------------------------
class _Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.samples: list[Sample] = []

    def file(self, rel: str, data: bytes, label: str, technique: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.samples.append((rel, label, technique))

    def savedmodel(self, rel: str, data: bytes, label: str, technique: str) -> None:
        """A SavedModel folder: saved_model.pb and an (empty) variables/ beside it."""
        (self.root / rel / "variables").mkdir(parents=True, exist_ok=True)
        (self.root / rel / "variables" / "variables.index").write_bytes(b"\x00" * 16)
        self.file(f"{rel}/saved_model.pb", data, label, technique)


TA = "[TensorAbuse]"


def _tensorflow(c: _Corpus) -> None:
    d = "tf"
    c.savedmodel(
        f"{d}/dense-tf2", tf2_model(), BENIGN, "TF SavedModel: TF2 Keras Dense with saver functions"
    )
    c.savedmodel(
        f"{d}/estimator-tf1", tf1_model(), BENIGN, "TF SavedModel: TF1 estimator with save/ scope"
    )
    cnn = [
        tf_node("x", "_Arg"),
        tf_node("conv", "Conv2D", ["x"]),
        tf_node("bn", "FusedBatchNormV3", ["conv"]),
        tf_node("pool", "MaxPool", ["bn"]),
        tf_node("flat", "Reshape", ["pool"]),
        tf_node("probs", "Softmax", ["flat"]),
        tf_node("print", "PrintV2", ["probs"], [tf_attr("output_stream", s="stderr")]),
        tf_node("Identity", "Identity", ["probs"]),
    ]
    c.savedmodel(
        f"{d}/cnn-tfprint", tf2_model(cnn), BENIGN, "TF SavedModel: CNN with tf.print to stderr"
    )
    vocab = [
        tf_node("vocab_path", "_Arg"),
        tf_node("table", "HashTableV2"),
        tf_node("init", "InitializeTableFromTextFileV2", ["table", "vocab_path"]),
        tf_node("lookup", "LookupTableFindV2", ["table"]),
    ]
    c.savedmodel(
        f"{d}/vocab-asset",
        tf2_model(vocab, assets=["vocab.txt"]),
        BENIGN,
        "TF SavedModel: vocabulary table read from the model's assets (medium)",
    )
    custom = [tf_node("x", "_Arg"), tf_node("gelu", "Addons>Gelu", ["x"])]
    c.savedmodel(
        f"{d}/custom-op",
        tf2_model(custom),
        BENIGN,
        "TF SavedModel: custom op from a TF Addons library (unknown op, medium)",
    )
    keras_dir = f"{d}/keras-savedmodel"
    c.savedmodel(keras_dir, tf2_model(), BENIGN, "TF SavedModel: tf.keras SavedModel")
    c.file(
        f"{keras_dir}/keras_metadata.pb",
        keras_metadata(None),
        BENIGN,
        "TF SavedModel: keras_metadata.pb without Lambda",
    )

    d = "tf/evil"
    dangerous: list[tuple[str, list[bytes], str]] = [
        (
            "readfile",
            [tf_node("c", "Const"), tf_node("leak", "ReadFile", ["c"])],
            f"ReadFile {TA} [TF-SECURITY]",
        ),
        (
            "writefile",
            [tf_node("p", "Const"), tf_node("drop", "WriteFile", ["p", "x"])],
            f"WriteFile {TA} [TF-SECURITY]",
        ),
        ("matchingfiles", [tf_node("ls", "MatchingFiles", ["x"])], f"MatchingFiles {TA}"),
        (
            "pyfunc",
            [tf_node("py", "PyFunc", ["x"], [tf_attr("token", s="pyfunc_0")])],
            "PyFunc (tf.numpy_function) [TF-SECURITY]",
        ),
        (
            "eagerpyfunc",
            [tf_node("py", "EagerPyFunc", ["x"], [tf_attr("token", s="pyfunc_1")])],
            "EagerPyFunc (tf.py_function) [TF-SECURITY]",
        ),
        (
            "pyfuncstateless",
            [tf_node("py", "PyFuncStateless", ["x"])],
            "PyFuncStateless [TF-SECURITY]",
        ),
        (
            "immutableconst",
            [tf_node("mm", "ImmutableConst", [], [tf_attr("memory_region_name", s="/etc/passwd")])],
            f"ImmutableConst memory-mapping /etc/passwd {TA}",
        ),
        (
            "savev2-outside-saver",
            [tf_node("p", "Const"), tf_node("s", "SaveV2", ["p"])],
            f"SaveV2 outside the saver {TA}",
        ),
        ("saveslices", [tf_node("s", "SaveSlices", ["p"])], f"SaveSlices {TA}"),
        (
            "printv2-file",
            [
                tf_node(
                    "pr", "PrintV2", ["x"], [tf_attr("output_stream", s="file:///tmp/owned.txt")]
                )
            ],
            f"PrintV2 to a file {TA}",
        ),
        (
            "debugidentity",
            [
                tf_node(
                    "dbg",
                    "DebugIdentityV3",
                    ["x"],
                    [tf_attr("debug_urls", strings=["file:///tmp/dump"])],
                )
            ],
            f"DebugIdentityV3 dumping to a file URL {TA}",
        ),
        (
            "csvdataset",
            [tf_node("csv", "CSVDatasetV2", ["x"])],
            f"CSVDataset reading a local file {TA}",
        ),
        (
            "fixedlength",
            [tf_node("f", "FixedLengthRecordDatasetV2", ["x"])],
            f"FixedLengthRecordDatasetV2 {TA}",
        ),
        ("distributedsave", [tf_node("ds", "DistributedSave", ["x"])], f"DistributedSave {TA}"),
        (
            "dataservice",
            [tf_node("svc", "DataServiceDatasetV4", ["x"])],
            f"DataServiceDatasetV4 network {TA}",
        ),
        (
            "registerdataset",
            [tf_node("reg", "RegisterDatasetV2", ["x"])],
            f"RegisterDatasetV2 network {TA}",
        ),
        (
            "rpcclient",
            [tf_node("rpc", "RpcClient", ["x"]), tf_node("call", "RpcCall", ["rpc"])],
            f"RpcClient/RpcCall {TA}",
        ),
        (
            "vocab-no-assets",
            [
                tf_node("t", "HashTableV2"),
                tf_node("i", "InitializeTableFromTextFileV2", ["t", "p"]),
            ],
            f"InitializeTableFromTextFileV2 without assets {TA}",
        ),
    ]
    for name, nodes, technique in dangerous:
        c.savedmodel(
            f"{d}/{name}",
            tf2_model([tf_node("x", "_Arg"), *nodes, tf_node("Identity", "Identity", ["x"])]),
            MALICIOUS,
            f"TF SavedModel: {technique}",
        )
    nested = tf_function("__inference_helper_42", [tf_node("leak", "ReadFile", ["p"])])
    c.savedmodel(
        f"{d}/nested-function",
        tf2_model(
            [tf_node("x", "_Arg"), tf_node("call", "PartitionedCall", ["x"], [])],
            extra_functions=[nested],
        ),
        MALICIOUS,
        f"TF SavedModel: ReadFile in a helper function reached by PartitionedCall {TA}",
    )
    c.savedmodel(
        f"{d}/tf1-restore-outside-saver",
        tf1_model([tf_node("steal/RestoreV2", "RestoreV2", ["steal/Const"])]),
        MALICIOUS,
        f"TF SavedModel: TF1 RestoreV2 outside the save/ scope {TA}",
    )
    c.savedmodel(
        f"{d}/asset-escape",
        tf2_model(assets=["../../../../etc/passwd"]),
        MALICIOUS,
        "TF SavedModel: asset file name climbing out of assets/ [ZIP-SLIP]",
    )
    c.savedmodel(
        f"{d}/user-object-lambda",
        tf2_model(
            user_objects=[
                (
                    "_tf_keras_layer",
                    _keras_layer_metadata("Lambda", tf_keras_lambda_config(EVIL_LAMBDA)),
                )
            ]
        ),
        MALICIOUS,
        "TF SavedModel: Keras Lambda in a user object's metadata (TF 2.0-2.4) [CVE-2024-3660]",
    )
    lam = f"{d}/keras-lambda"
    c.savedmodel(lam, tf2_model(), BENIGN, "TF SavedModel: graph of a Keras model with a Lambda")
    c.file(
        f"{lam}/keras_metadata.pb",
        keras_metadata(EVIL_LAMBDA),
        MALICIOUS,
        "TF SavedModel: keras_metadata.pb Lambda with os.system bytecode [CVE-2024-3660]",
    )
    c.file(
        f"{d}/keras-lambda-benign-code/keras_metadata.pb",
        keras_metadata(BENIGN_LAMBDA),
        MALICIOUS,
        "TF SavedModel: keras_metadata.pb Lambda (any bytecode runs on load) [CVE-2024-3660]",
    )

    d = "tf/broken"
    good = tf2_model()
    c.file(
        f"{d}/truncated/saved_model.pb",
        good[: len(good) // 2],
        BROKEN,
        "TF SavedModel: cut in the middle",
    )
    rng = random.Random(SEED)
    noise = bytes([0x08, 0x01, 0x12, 0xFF, 0xFF, 0x03]) + bytes(
        rng.getrandbits(8) for _ in range(1024)
    )
    c.file(
        f"{d}/lying-length/saved_model.pb",
        noise,
        BROKEN,
        "TF SavedModel: meta graph claiming more bytes than the file",
    )
    bad_meta = keras_metadata_bytes([(1, "root.layer-0", "_tf_keras_layer", "{not json")])
    c.file(
        f"{d}/bad-json/keras_metadata.pb",
        bad_meta,
        BROKEN,
        "TF SavedModel: keras_metadata.pb layer JSON that is not JSON",
    )


# --- Keras model JSON ----------------------------------------------------------------------------
def keras2_json(layers: list[dict[str, Any]], version: str = "2.12.0") -> bytes:
    """`model.to_json()` of a Keras 2 Sequential: class_name, config, keras_version, backend."""
    model = k2_sequential("sequential", layers)
    return json.dumps({**model, "keras_version": version, "backend": "tensorflow"}).encode()


def _keras_json(c: _Corpus) -> None:
    d = "keras-json"
    dense = k2_layer("Dense", "dense", units=8, activation="relu")
    c.file(
        f"{d}/mlp/model.json",
        keras2_json([dense]),
        BENIGN,
        "Keras JSON: Keras 2 model.to_json() MLP",
    )
    c.file(
        f"{d}/hf-llama/config.json",
        json.dumps(llama_config("acme/llama"), indent=2).encode(),
        BENIGN,
        "Keras JSON: Hugging Face config.json (must not be taken for Keras)",
    )
    c.file(
        f"{d}/not-a-model/settings.json",
        json.dumps({"class_name": "Experiment", "config": {"lr": 0.1}}).encode(),
        BENIGN,
        "Keras JSON: JSON starting with class_name that is not a model",
    )
    c.file(
        f"{d}/k3-unzipped/config.json",
        json.dumps(k3_sequential("m", [k3_dense("dense", 2)])).encode(),
        BENIGN,
        "Keras JSON: Keras 3 config.json unzipped from a .keras",
    )

    d = "keras-json/evil"
    c.file(
        f"{d}/model.json",
        keras2_json([k2_lambda("lambda", EVIL_LAMBDA)]),
        MALICIOUS,
        "Keras JSON: model.to_json() with a Lambda calling os.system [CVE-2024-3660]",
    )
    tuple_lambda = k2_layer(
        "Lambda",
        "lambda",
        **{k: v for k, v in tf_keras_lambda_config(BENIGN_LAMBDA).items() if k != "name"},
    )
    c.file(
        f"{d}/model_config.json",
        keras2_json([tuple_lambda], "2.15.0"),
        MALICIOUS,
        "Keras JSON: tf.keras model_config.json with a __tuple__-encoded Lambda [CVE-2024-3660]",
    )
    beside = f"{d}/beside-weights"
    c.file(
        f"{beside}/config.json",
        json.dumps(k2_sequential("m", [k2_lambda("lambda", BENIGN_LAMBDA)]), indent=2).encode(),
        MALICIOUS,
        "Keras JSON: config.json next to weights, Lambda bytecode [CVE-2024-3660]",
    )
    (c.root / beside / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    c.file(
        f"{d}/k3-lambda/config.json",
        json.dumps(k3_sequential("m", [k3_lambda("lambda", EVIL_LAMBDA)])).encode(),
        MALICIOUS,
        "Keras JSON: Keras 3 config.json with a __lambda__ layer [CVE-2024-3660]",
    )
    os_fn = k2_layer("Lambda", "lambda", function="system", function_type="function", module="os")
    c.file(
        f"{d}/function-os.json",
        keras2_json([os_fn]),
        MALICIOUS,
        "Keras JSON: Lambda naming os.system by module [CVE-2024-3660]",
    )
    c.file(
        "keras-json/broken/model.json",
        keras2_json([dense])[:60],
        BROKEN,
        "Keras JSON: model JSON cut in the middle",
    )


# --- path traversal in model archives -----------------------------------------------------------
def _zip(members: Iterable[tuple[str, bytes]], symlinks: Sequence[tuple[str, str]] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data)
        for name, target in symlinks:  # Info-ZIP: Unix mode S_IFLNK, content = target
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def _tar(
    members: Iterable[tuple[str, bytes]],
    links: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """A tar: regular members, then links (name, target, kind SYMTYPE/LNKTYPE)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _keras_members(extra: Sequence[tuple[str, bytes]]) -> bytes:
    base = zipfile.ZipFile(io.BytesIO(keras_zip_bytes(k3_sequential("m", [k3_dense("d", 1)]))))
    members = [(n, base.read(n)) for n in base.namelist()]
    return _zip([*members, *extra])


def _torch_zip(extra: Sequence[tuple[str, bytes]]) -> bytes:
    """The zip layout of `torch.save` (archive/data.pkl, archive/version) — a plain dict."""
    data = pickle.dumps({"epoch": 3, "lr": 0.01}, protocol=2)
    return _zip([("archive/data.pkl", data), ("archive/version", b"3\n"), *extra])


_NEMO_CONFIG = b"name: asr\nsample_rate: 16000\n"
_HANDLER = b"def handle(data, context):\n    return data\n"


def _traversal(c: _Corpus) -> None:
    d = "archive"
    payload = b"echo pwned\n"
    z = "[ZIP-SLIP]"
    cases: list[tuple[str, bytes, str]] = [
        (
            "dotdot.keras",
            _keras_members([("../../.bashrc", payload)]),
            f".keras member ../../.bashrc {z}",
        ),
        (
            "absolute.keras",
            _keras_members([("/etc/cron.d/job", payload)]),
            f".keras absolute member {z}",
        ),
        (
            "drive.keras",
            _keras_members([("C:\\Windows\\evil.dll", payload)]),
            f".keras Windows drive member {z}",
        ),
        (
            "dotdot.pt",
            _torch_zip([("archive/../../../.ssh/authorized_keys", payload)]),
            f"PyTorch zip checkpoint member climbing out {z}",
        ),
        (
            "absolute.npz",
            _zip([("x.npy", b"\x93NUMPY"), ("/tmp/evil.npy", b"\x93NUMPY")]),
            f".npz absolute member {z}",
        ),
        (
            "dotdot.nemo",
            _tar([("model_config.yaml", _NEMO_CONFIG), ("../../evil.py", payload)]),
            f".nemo (tar) member ../../evil.py {z}",
        ),
        (
            "symlink-out.nemo",
            _tar(
                [("model_config.yaml", _NEMO_CONFIG)],
                [("model_weights.ckpt", "/etc/passwd", tarfile.SYMTYPE)],
            ),
            f".nemo symlink to /etc/passwd {z} (CVE-2001-1267)",
        ),
        (
            "symlink-chain.nemo",
            _tar(
                [("model_config.yaml", _NEMO_CONFIG)],
                [("here", ".", tarfile.SYMTYPE), ("up", "here/..", tarfile.SYMTYPE)],
            ),
            f".nemo symlink chain: up -> here/.. with here -> . {z}",
        ),
        (
            "through-symlink.nemo",
            _tar(
                [("model_config.yaml", _NEMO_CONFIG), ("cfg/evil.sh", payload)],
                [("cfg", "../../../etc", tarfile.SYMTYPE)],
            ),
            f".nemo member written through a symlinked folder {z}",
        ),
        (
            "hardlink.nemo",
            _tar(
                [("model_config.yaml", _NEMO_CONFIG)], [("weights", "/etc/shadow", tarfile.LNKTYPE)]
            ),
            f".nemo hard link to /etc/shadow {z} (CVE-2007-4559)",
        ),
        (
            "dotdot.mar",
            _zip([("MAR-INF/MANIFEST.json", b"{}"), ("../../handler.py", _HANDLER)]),
            f"TorchServe .mar member climbing out {z}",
        ),
        (
            "symlink.mar",
            _zip([("MAR-INF/MANIFEST.json", b"{}")], symlinks=[("handler.py", "/etc/passwd")]),
            f"TorchServe .mar Info-ZIP symlink entry to /etc/passwd {z}",
        ),
        (
            "symlink-chain.keras",
            _zip(
                [
                    ("config.json", json.dumps(k3_sequential("m", [k3_dense("d", 1)])).encode()),
                    ("metadata.json", b'{"keras_version": "3.6.0"}'),
                ],
                symlinks=[("assets", "."), ("assets2", "assets/..")],
            ),
            f".keras Info-ZIP symlink chain {z}",
        ),
    ]
    for name, data, technique in cases:
        c.file(f"{d}/evil/{name}", data, MALICIOUS, f"Archive traversal: {technique}")
    benign: list[tuple[str, bytes, str]] = [
        (
            "plain.keras",
            _keras_members([("assets/vocab.txt", b"a\nb\n")]),
            ".keras with an assets/ member",
        ),
        (
            "dot-inside.nemo",
            _tar([("./model_config.yaml", _NEMO_CONFIG), ("a/../tokenizer.model", b"tok")]),
            ".nemo with ./ and a/.. that stay inside",
        ),
        (
            "inner-symlink.nemo",
            _tar(
                [("model_config.yaml", _NEMO_CONFIG), ("ckpt/v1.ckpt", b"w")],
                [("latest.ckpt", "ckpt/v1.ckpt", tarfile.SYMTYPE)],
            ),
            ".nemo with a relative symlink inside the archive",
        ),
        (
            "plain.mar",
            _zip([("MAR-INF/MANIFEST.json", b"{}"), ("handler.py", _HANDLER)]),
            "TorchServe .mar",
        ),
        ("plain.pt", _torch_zip([]), "PyTorch zip checkpoint"),
    ]
    for name, data, technique in benign:
        c.file(f"{d}/ok/{name}", data, BENIGN, f"Archive traversal: {technique}")


# --- ONNX external data ----------------------------------------------------------------------
def _onnx_external(c: _Corpus) -> None:
    d = "onnx-ext"
    o = "[ONNX-EXT]"
    c.file(
        f"{d}/ok/model.onnx",
        onnx_with_initializer("model.data"),
        BENIGN,
        f"ONNX external data: file beside the model {o}",
    )
    (c.root / d / "ok" / "model.data").write_bytes(bytes(64))
    c.file(
        f"{d}/missing/model.onnx",
        onnx_with_initializer("model.data"),
        BENIGN,
        f"ONNX external data: file missing (medium) {o}",
    )
    inner = c.root / d / "inner-link"
    inner.mkdir(parents=True, exist_ok=True)
    (inner / "weights-v1.bin").write_bytes(bytes(64))
    os.symlink("weights-v1.bin", inner / "model.data")
    c.file(
        f"{d}/inner-link/model.onnx",
        onnx_with_initializer("model.data"),
        BENIGN,
        f"ONNX external data: symlink to a file in the model folder (medium) {o}",
    )
    out = c.root / d / "evil" / "link-out"
    out.mkdir(parents=True, exist_ok=True)
    os.symlink("/etc/hostname", out / "model.data")
    c.file(
        f"{d}/evil/link-out/model.onnx",
        onnx_with_initializer("model.data"),
        MALICIOUS,
        f"ONNX external data: symlink to /etc/hostname {o}",
    )
    up = c.root / d / "evil" / "link-up"
    up.mkdir(parents=True, exist_ok=True)
    (c.root / d / "evil" / "secret.bin").write_bytes(bytes(8))
    os.symlink("../secret.bin", up / "model.data")
    c.file(
        f"{d}/evil/link-up/model.onnx",
        onnx_with_initializer("model.data"),
        MALICIOUS,
        f"ONNX external data: relative symlink to the parent folder {o}",
    )
    folder = c.root / d / "evil" / "dir-link"
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink("/etc", folder / "weights")
    c.file(
        f"{d}/evil/dir-link/model.onnx",
        onnx_with_initializer("weights/hostname"),
        MALICIOUS,
        f"ONNX external data: location through a symlinked folder {o}",
    )


def generate(root: Path) -> list[Sample]:
    """Write the corpus under `root`; deterministic for a given Python version (Lambda bytecode
    is `marshal` output)."""
    corpus = _Corpus(root)
    _tensorflow(corpus)
    _keras_json(corpus)
    _traversal(corpus)
    _onnx_external(corpus)
    return corpus.samples


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-misses")
    for path, label, technique in generate(out):
        print(f"{label:9} {path}  — {technique}")
