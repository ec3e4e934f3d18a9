"""TensorFlow SavedModel (`saved_model.pb`) and Keras' `keras_metadata.pb`: graph ops that reach
outside the model, and Lambda layers in the Keras metadata.

A SavedModel is a program: loading it (`tf.saved_model.load`, `tf.keras.models.load_model`, TF
Serving) runs its graph, and TensorFlow's op registry holds ops that read and write files, open
network connections and call Python (TensorFlow SECURITY.md, "TensorFlow models are programs";
TensorAbuse, IEEE S&P 2025). The file is a protobuf `SavedModel`, read here with our own wire
reader (`_protobuf`) and the field numbers of TensorFlow's `.proto` files — no TensorFlow import:

    SavedModel (tensorflow/core/protobuf/saved_model.proto)
      1 saved_model_schema_version  2 meta_graphs: MetaGraphDef
    MetaGraphDef (tensorflow/core/protobuf/meta_graph.proto)
      1 meta_info_def: MetaInfoDef (4 tags, 5 tensorflow_version)
      2 graph_def: GraphDef   3 saver_def: SaverDef (1 filename_tensor_name, saver.proto)
      6 asset_file_def: AssetFileDef (2 filename)   7 object_graph_def: SavedObjectGraph
    GraphDef (tensorflow/core/framework/graph.proto)
      1 node: NodeDef   2 library: FunctionDefLibrary
    NodeDef (node_def.proto): 1 name, 2 op, 5 attr map<string, AttrValue>
    AttrValue (attr_value.proto): 2 s, 1 list (ListValue: 2 s)
    FunctionDefLibrary (function.proto): 1 function: FunctionDef
    FunctionDef: 1 signature: OpDef (1 name), 3 node_def: NodeDef
    SavedObjectGraph (saved_object_graph.proto): 1 nodes: SavedObject
    SavedObject: 4 user_object: SavedUserObject (1 identifier, 3 metadata — Keras JSON), 5 asset
    SavedMetadata (keras/protobuf/saved_metadata.proto, the `keras_metadata.pb` file):
      1 nodes: SavedObject (2 node_id, 3 node_path, 4 identifier, 5 metadata — Keras JSON)

Every node of the top-level graph and of every library function is checked, allowlist-first
(`_tf_ops`):

- an op that writes files, reads files, opens network connections or calls Python
  ⇒ `tensorflow.dangerous-op` (critical for writes, high otherwise), naming the op, the node and
  the function. Checkpoint ops (SaveV2, RestoreV2, MergeV2Checkpoints, …) belong to every
  SavedModel's saver and are expected there — in the TF1 saver's scope (`save/…`, from
  `SaverDef.filename_tensor_name`) or in TF2's `__inference__traced_save_N` /
  `__inference__traced_restore_N` functions (and per-object `__inference_save_fn_N` /
  `__inference_restore_fn_N`); anywhere else they are dangerous ops too.
  `InitializeTableFromTextFile` in a SavedModel that ships assets is how vocabularies load
  (medium, to confirm); without assets it reads a file from outside the model (high).
  `PrintV2` is `tf.print`; only an `output_stream` that is a file is a write (critical).
- an op in neither list and not a function of the library ⇒ `tensorflow.unknown-op` (medium):
  custom-op libraries (native code) or ops nobody has vetted.
- an asset file name that leaves the `assets/` folder ⇒ `tensorflow.asset-escape` (high).
- Keras layer metadata (in `keras_metadata.pb`, or in `saved_model.pb` user objects written by
  TF 2.0–2.4) is Keras JSON, checked like a `.keras` configuration: a Lambda layer's marshalled
  bytecode runs on `load_model` ⇒ `keras.lambda-layer` (high/critical, CVE-2024-3660).

Identification is by file name (`identify`: the files have no magic number). Limits: what the
graph computes is not followed (a checkpoint op inside a function named like the saver's is
trusted, whatever path it is fed); the text form `saved_model.pbtxt`, chunked SavedModels over
2 GB (`saved_model.cpb`) and frozen `GraphDef` files under other names are not read; strings are
read with caps, and tensor contents are skipped, never loaded.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field

from sumun.scan.formats import keras
from sumun.scan.formats._bounded import BoundedReader, FormatError
from sumun.scan.formats._protobuf import LEN, VARINT, Field, fields, read_string
from sumun.scan.formats._tf_ops import CHECKPOINT_OPS, DANGEROUS_OPS, ORDINARY_OPS
from sumun.scan.formats.onnx import external_data_escapes
from sumun.scan.model import Component, FileResult, Finding, Severity, Source

__all__ = ["KERAS_METADATA", "SAVED_MODEL", "analyze"]

SAVED_MODEL = "saved_model.pb"
KERAS_METADATA = "keras_metadata.pb"
_NAME_CAP = 256
_ATTR_CAP = 512
_JSON_CAP = 32 << 20  # Keras metadata JSON, all nodes together
_MAX_RECORDS = 10_000  # dangerous/checkpoint nodes remembered
_MAX_KINDS = 4096  # distinct op names remembered
_MAX_FINDINGS = 20
# TF2 saver functions (`MultiDeviceSaver._traced_save/_traced_restore`) and the per-object
# save/restore functions of `saveable_object_util.trace_save_restore_function`.
_SAVER_FUNCTION = re.compile(r"^__inference_(_traced_save|_traced_restore|save_fn|restore_fn)_\d+$")
_STD_STREAMS = frozenset({"stderr", "stdout", "log(info)", "log(warning)", "log(error)"})
# String attributes worth showing next to a dangerous op (the path or URL it uses).
_SHOWN_ATTRS = frozenset(
    {"memory_region_name", "output_stream", "debug_urls", "file_pattern", "filename", "address"}
)


@dataclass(slots=True)
class _Node:
    op: str
    name: str
    function: str  # "" for the top-level graph
    attrs: dict[str, str]


@dataclass(slots=True)
class _Graph:
    schema: int = 0
    meta_graphs: int = 0
    tags: list[str] = field(default_factory=list)
    tf_version: str = ""
    saver_scopes: set[str] = field(default_factory=set)
    nodes: int = 0
    functions: set[str] = field(default_factory=set)
    op_counts: dict[str, int] = field(default_factory=dict)
    first_node: dict[str, tuple[str, str]] = field(default_factory=dict)  # op -> (node, fn)
    flagged: list[_Node] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)
    keras_json: list[tuple[str, str]] = field(default_factory=list)  # (where, JSON text)
    json_bytes: int = 0


class _Reader:
    def __init__(self, reader: BoundedReader, graph: _Graph) -> None:
        self.r = reader
        self.g = graph

    def text(self, f: Field, cap: int = _NAME_CAP) -> str:
        return read_string(self.r, f, cap)

    # SavedModel ---------------------------------------------------------------------------
    def saved_model(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == VARINT:
                self.g.schema = f.value
            elif f.number == 2 and f.wire == LEN:
                self.g.meta_graphs += 1
                self.meta_graph(f.end)

    def meta_graph(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number == 1:
                self.meta_info(f.end)
            elif f.number == 2:
                self.graph_def(f.end)
            elif f.number == 3:
                self.saver_def(f.end)
            elif f.number == 6:
                self.asset(f.end)
            elif f.number == 7:
                self.object_graph(f.end)

    def meta_info(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.number == 4 and f.wire == LEN and len(self.g.tags) < 16:
                self.g.tags.append(self.text(f, 64))
            elif f.number == 5 and f.wire == LEN:
                self.g.tf_version = self.text(f, 64)

    def saver_def(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == LEN:
                tensor = self.text(f)
                scope = tensor.rpartition("/")[0]
                if scope:
                    self.g.saver_scopes.add(scope + "/")

    def asset(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.number == 2 and f.wire == LEN and len(self.g.assets) < 1000:
                self.g.assets.append(self.text(f, 1024))

    def object_graph(self, end: int) -> None:
        index = 0
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == LEN:
                self.saved_object(f.end, index)
                index += 1

    def saved_object(self, end: int, index: int) -> None:
        for f in fields(self.r, end):
            if f.number == 4 and f.wire == LEN:  # SavedUserObject
                identifier, metadata = "", ""
                for g in fields(self.r, f.end):
                    if g.number == 1 and g.wire == LEN:
                        identifier = self.text(g, 128)
                    elif g.number == 3 and g.wire == LEN:
                        metadata = self.json_text(g)
                if metadata:
                    self.g.keras_json.append((f"object {index} ({identifier})", metadata))

    def json_text(self, f: Field) -> str:
        if self.g.json_bytes + f.value > _JSON_CAP:
            raise FormatError(f"Keras metadata larger than {_JSON_CAP} bytes")
        self.g.json_bytes += f.value
        return read_string(self.r, f, _JSON_CAP)

    # GraphDef -----------------------------------------------------------------------------
    def graph_def(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number == 1:
                self.node(f.end, "")
            elif f.number == 2:
                self.library(f.end)

    def library(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == LEN:
                self.function(f.end)

    def function(self, end: int) -> None:
        name = ""
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number == 1:  # OpDef signature
                for g in fields(self.r, f.end):
                    if g.number == 1 and g.wire == LEN:
                        name = self.text(g)
                if len(self.g.functions) < 1_000_000:
                    self.g.functions.add(name)
            elif f.number == 3:
                self.node(f.end, name)

    def node(self, end: int, function: str) -> None:
        g = self.g
        g.nodes += 1
        name, op = "", ""
        attrs: dict[str, str] = {}
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number == 1:
                name = self.text(f)
            elif f.number == 2:
                op = self.text(f)
            elif f.number == 5 and (op in DANGEROUS_OPS or op in CHECKPOINT_OPS or op == "PrintV2"):
                key, value = self.attr_entry(f.end)
                if key in _SHOWN_ATTRS and value:
                    attrs[key] = value
        if op in g.op_counts:
            g.op_counts[op] += 1
        elif len(g.op_counts) < _MAX_KINDS:
            g.op_counts[op] = 1
            g.first_node[op] = (name, function)
        if (op in DANGEROUS_OPS or op in CHECKPOINT_OPS or op == "PrintV2") and len(
            g.flagged
        ) < _MAX_RECORDS:
            g.flagged.append(_Node(op, name, function, attrs))

    def attr_entry(self, end: int) -> tuple[str, str]:
        """One `map<string, AttrValue>` entry; the value's string(s), if any."""
        key, value = "", ""
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == LEN:
                key = self.text(f, 64)
            elif f.number == 2 and f.wire == LEN:
                for g in fields(self.r, f.end):
                    if g.number == 2 and g.wire == LEN:  # s
                        value = self.text(g, _ATTR_CAP)
                    elif g.number == 1 and g.wire == LEN:  # list: repeated s = 2
                        items = [
                            self.text(h, _ATTR_CAP)
                            for h in fields(self.r, g.end)
                            if h.number == 2 and h.wire == LEN
                        ]
                        value = ",".join(items)[:_ATTR_CAP]
        return key, value

    # keras_metadata.pb --------------------------------------------------------------------
    def keras_metadata(self, end: int) -> None:
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == LEN:
                path, identifier, metadata = "", "", ""
                for g in fields(self.r, f.end):
                    if g.number == 3 and g.wire == LEN:
                        path = self.text(g)
                    elif g.number == 4 and g.wire == LEN:
                        identifier = self.text(g, 128)
                    elif g.number == 5 and g.wire == LEN:
                        metadata = self.json_text(g)
                if metadata:
                    where = path or identifier or "a node"
                    self.g.keras_json.append((where, metadata))


def analyze(source: Source) -> FileResult:
    """Findings and one `machine-learning-model` component. Never raises on bad input."""
    name = posixpath.basename(source.member or source.path).lower()
    is_metadata = name == KERAS_METADATA
    result = FileResult("tensorflow")
    graph = _Graph()
    try:
        with source.open() as stream:
            reader = BoundedReader(stream, source.size)
            walker = _Reader(reader, graph)
            if is_metadata:
                walker.keras_metadata(source.size)
            else:
                walker.saved_model(source.size)
        if not is_metadata and graph.meta_graphs == 0:
            raise FormatError("not a SavedModel: no meta graph")
    except (FormatError, OSError, ValueError, MemoryError) as exc:
        result.findings.append(source.finding(Severity.MEDIUM, "tensorflow.parse-error", str(exc)))
    result.findings.extend(_op_findings(source, graph))
    result.findings.extend(_asset_findings(source, graph))
    result.findings.extend(_keras_findings(source, graph))
    if graph.meta_graphs or graph.keras_json:
        result.components.append(_component(source, graph, is_metadata))
    return result


def _in_saver(node: _Node, graph: _Graph) -> bool:
    if node.function:
        return bool(_SAVER_FUNCTION.match(node.function))
    return any(node.name.startswith(scope) for scope in graph.saver_scopes)


def _where(node: _Node) -> str:
    where = f"node {node.name[:120]!r}"
    if node.function:
        where += f" in function {node.function[:120]!r}"
    return where


def _op_findings(source: Source, graph: _Graph) -> list[Finding]:
    severe: list[tuple[Severity, str]] = []
    medium: list[str] = []
    for node in graph.flagged:
        shown = "".join(f"; {k}={v[:200]!r}" for k, v in sorted(node.attrs.items()))
        if node.op == "PrintV2":
            stream = node.attrs.get("output_stream", "stderr")
            if stream not in _STD_STREAMS:
                severe.append(
                    (
                        Severity.CRITICAL,
                        f"op PrintV2 at {_where(node)} writes tensor values to {stream[:200]!r}, "
                        "a file, when the graph runs (TensorAbuse)",
                    )
                )
            continue
        if node.op in CHECKPOINT_OPS:
            if _in_saver(node, graph):
                continue
            label, why = CHECKPOINT_OPS[node.op]
            why += ", outside the model's saver"
        else:
            label, why = DANGEROUS_OPS[node.op]
        if node.op.startswith("InitializeTableFromTextFile") and graph.assets:
            medium.append(
                f"op {node.op} at {_where(node)} loads a vocabulary file; the model ships assets, "
                "check that it reads them"
            )
            continue
        severe.append(
            (
                Severity.parse(label),
                f"op {node.op} at {_where(node)} {why} when the graph runs{shown} "
                "(TensorFlow models are programs; TensorAbuse)",
            )
        )
    unknown = sorted(
        op
        for op in graph.op_counts
        if op
        and op not in ORDINARY_OPS
        and op not in DANGEROUS_OPS
        and op not in CHECKPOINT_OPS
        and op != "PrintV2"
        and op not in graph.functions
    )
    out = [
        source.finding(severity, "tensorflow.dangerous-op", message)
        for severity, message in sorted(severe, key=lambda s: -s[0])[:_MAX_FINDINGS]
    ]
    if len(severe) > _MAX_FINDINGS:
        worst = max(s for s, _ in severe[_MAX_FINDINGS:])
        more = len(severe) - _MAX_FINDINGS
        out.append(source.finding(worst, "tensorflow.dangerous-op", f"{more} more dangerous ops"))
    out.extend(
        source.finding(Severity.MEDIUM, "tensorflow.vocabulary-file", m)
        for m in medium[:_MAX_FINDINGS]
    )
    for op in unknown[:_MAX_FINDINGS]:
        first, function = graph.first_node[op]
        where = _where(_Node(op, first, function, {}))
        out.append(
            source.finding(
                Severity.MEDIUM,
                "tensorflow.unknown-op",
                f"unknown op {op[:120]!r} ({graph.op_counts[op]}x, first at {where}): not in the "
                "allowlist of ordinary TensorFlow ops — a custom-op library (native code) or an "
                "op to review",
            )
        )
    if len(unknown) > _MAX_FINDINGS:
        out.append(
            source.finding(
                Severity.MEDIUM,
                "tensorflow.unknown-op",
                f"{len(unknown) - _MAX_FINDINGS} more unknown ops",
            )
        )
    return out


def _asset_findings(source: Source, graph: _Graph) -> list[Finding]:
    out: list[Finding] = []
    for filename in graph.assets:
        why = external_data_escapes(filename)
        if why is not None and len(out) < _MAX_FINDINGS:
            out.append(
                source.finding(
                    Severity.HIGH,
                    "tensorflow.asset-escape",
                    f"asset file {filename[:200]!r} {why}: loading the SavedModel reads it "
                    "from outside the model's assets folder (path traversal)",
                )
            )
    return out


def _keras_findings(source: Source, graph: _Graph) -> list[Finding]:
    out: list[Finding] = []
    for where, text in graph.keras_json:
        try:
            config = json.loads(text)
        except (ValueError, RecursionError) as exc:
            out.append(
                source.finding(
                    Severity.MEDIUM,
                    "tensorflow.parse-error",
                    f"Keras metadata of {where[:120]} is not JSON: {exc}",
                )
            )
            continue
        out.extend(keras.config_findings(source, config, prefix=where[:120]))
    unique = list(dict.fromkeys(out))
    unique.sort(key=lambda f: -f.severity)
    return unique[: _MAX_FINDINGS * 2]


def _component(source: Source, graph: _Graph, is_metadata: bool) -> Component:
    props: list[tuple[str, str]] = [
        ("format", "keras-metadata" if is_metadata else "tensorflow-savedmodel")
    ]
    if graph.tf_version:
        props.append(("tensorflow_version", graph.tf_version))
    if graph.tags:
        props.append(("tags", ",".join(sorted(set(graph.tags)))))
    if not is_metadata:
        props.append(("meta_graphs", str(graph.meta_graphs)))
        props.append(("nodes", str(graph.nodes)))
        props.append(("functions", str(len(graph.functions))))
        ops = sorted(
            ((op, n) for op, n in graph.op_counts.items() if op not in graph.functions),
            key=lambda item: (-item[1], item[0]),
        )[:32]
        if ops:
            props.append(("op_types", ",".join(op[:64] for op, _ in ops)))
    if graph.keras_json:
        props.append(("keras_objects", str(len(graph.keras_json))))
    folder = posixpath.dirname(source.member or source.path)
    return Component(
        type="machine-learning-model",
        name=posixpath.basename(folder) or posixpath.basename(source.member or source.path),
        path=source.path,
        member=source.member,
        properties=tuple(props),
    )
