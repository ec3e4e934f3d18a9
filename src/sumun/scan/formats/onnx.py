"""ONNX: producer and opsets for the AI-BOM; external-data paths that leave the model folder.

An ONNX model is a protobuf `ModelProto` (onnx/onnx.proto). It holds no code, but two things in
it reach outside the file when a runtime loads it:

- **external data**: a tensor with `data_location = EXTERNAL` names its bytes with
  `external_data` entries, key `location` a path relative to the model's folder. An absolute path
  or one that climbs out with `..` makes the loader read (or, when saving, write) any file the
  process can reach — the onnx path-traversal advisories (CVE-2022-25882, CVE-2024-27318; the
  write direction CVE-2025-51480).
  ⇒ `onnx.external-data-escape` (high). For a model on disk the named files are also checked the
  way onnx's own checker does (onnx/checker.cc `resolve_external_data_location`): a file that is
  a symbolic link, or is reached through a symlinked folder, and resolves outside the model's
  folder ⇒ `onnx.external-data-symlink` (high — the loader reads whatever the link points at);
  a symlink that stays inside, a file with several hard links ⇒ the same rule, medium; a file
  that does not exist or is not a regular file ⇒ `onnx.external-data-missing` (medium: the model
  does not load, or loads what someone puts there later). Only metadata is read (`lstat`,
  `realpath`); the data files are never opened.
- **custom-op domains**: nodes in a domain outside the standard opsets run only if the loader
  registers a custom-op library (native code) for that domain. ⇒ `onnx.custom-op-domain`
  (info for well-known runtime vendors, medium otherwise). Domains of functions defined inside
  the model are not custom ops.

The file is read with our own protobuf wire reader (`_protobuf`): every message is walked field by
field, sub-graphs (If/Loop/Scan attributes, functions, training info) included, and tensor bytes
(`raw_data`, typed data fields) are skipped by seeking, never loaded. ONNX has no magic number;
`looks_like_onnx` is a heuristic on the first fields (see its docstring for how reliable it is).
"""

from __future__ import annotations

import io
import os
import posixpath
import re
from dataclasses import dataclass, field

from sumun.scan.formats._bounded import BoundedReader, FormatError
from sumun.scan.formats._protobuf import LEN, VARINT, Field, fields, read_string, varint
from sumun.scan.model import Component, FileResult, Finding, Severity, Source

__all__ = ["analyze", "external_data_escapes", "looks_like_onnx"]

_STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
)
_VENDOR_DOMAINS = (  # well known runtimes' own operator sets
    "com.microsoft",  # onnxruntime contrib ops (also .nchwc, .experimental, .dml)
    "com.ms.internal",
    "org.pytorch.aten",
    "ai.onnx.contrib",  # onnxruntime-extensions
    "org.openvinotoolkit",
    "trt.plugins",
)
_MAX_DEPTH = 32  # graph nesting (If inside Loop inside …)
_STRING_CAP = 256
_DOC_CAP = 4096
_MAX_META = 64
_MAX_ESCAPE_FINDINGS = 10
_MAX_DOMAINS = 1024  # distinct domains remembered (a hostile file may name one per node)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|\\\\)")
_DRIVE = re.compile(r"^[A-Za-z]:")

# ModelProto fields (number -> wire type) for `looks_like_onnx`
_MODEL_FIELDS = {1: VARINT, 2: LEN, 3: LEN, 4: LEN, 5: VARINT, 6: LEN, 7: LEN, 8: LEN, 14: LEN}
_MODEL_FIELDS |= {20: LEN, 25: LEN, 26: LEN}
_GRAPH_TAGS = frozenset(n << 3 | LEN for n in (1, 2, 5, 10, 11, 12, 13, 14, 15, 16))


@dataclass(slots=True)
class _Model:
    ir_version: int = 0
    producer: str = ""
    producer_version: str = ""
    domain: str = ""
    model_version: int = 0
    doc: str = ""
    has_graph: bool = False
    graph_name: str = ""
    opsets: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    nodes: int = 0
    op_types: dict[str, int] = field(default_factory=dict)
    node_domains: set[str] = field(default_factory=set)
    function_domains: set[str] = field(default_factory=set)
    initializers: int = 0
    parameters: int = 0
    external: list[tuple[str, str]] = field(default_factory=list)  # (tensor, location)


def looks_like_onnx(head: bytes) -> bool:
    """Heuristic for a serialized `ModelProto`, which has no magic number.

    Serializers write fields in field-number order, so a valid model starts with field 1
    (`ir_version`, a varint, tag byte 0x08) holding a small version (1–20), followed only by
    ModelProto fields with their right wire types; strings among them (producer, domain, doc)
    must be short and decode as UTF-8, and at least two fields must be whole (or the second,
    the graph, cut by the end of `head` after a valid GraphProto tag). Reliability: random
    bytes pass with probability well under 1e-5 (none of 20 000 random heads in the tests; under
    0.1 % even when the first two bytes are forced right); text never does (0x08 is a control
    character). Another protobuf whose field 1 is
    a small varint followed by a long field 2 (TensorFlow's SavedModel) is rejected by the
    string-length rule. A model written without `ir_version` — invalid for every runtime — is
    missed. Use it together with the `.onnx` extension, not instead of it.
    """
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 20:
        return False
    reader = BoundedReader(io.BytesIO(head), len(head))
    seen = 0
    try:
        while reader.remaining and _model_field_ok(reader):
            seen += 1
    except UnicodeDecodeError:
        return False
    except FormatError:  # a varint cut by the end of `head`
        return seen >= 2
    except _CutOffError as cut:  # a field cut by the end of `head`
        return seen + cut.plausible >= 2
    return seen >= 2 and not reader.remaining


class _CutOffError(Exception):
    def __init__(self, plausible: bool) -> None:
        super().__init__()
        self.plausible = plausible


def _model_field_ok(reader: BoundedReader) -> bool:
    """Read one top-level field; False when it cannot be a ModelProto field."""
    key = varint(reader)
    number, wire = key >> 3, key & 7
    if _MODEL_FIELDS.get(number) != wire:
        return False
    if wire == VARINT:
        value = varint(reader)
        return number != 1 or 1 <= value <= 20
    length = varint(reader)
    if number in (2, 3, 4) and length > _STRING_CAP:
        return False
    if length > reader.remaining:
        # A graph cut short still shows its first tag: a GraphProto length-delimited field.
        first = reader.read(1)[0] if reader.remaining else -1
        raise _CutOffError(number == 7 and first in _GRAPH_TAGS)
    payload = reader.read(length)
    if number in (2, 3, 4, 6):
        payload.decode("utf-8")
    return True


def external_data_escapes(location: str) -> str | None:
    """Why `location` leaves the model's folder, or None when it stays inside."""
    if "\x00" in location:
        return "contains a NUL byte"
    if _SCHEME.match(location):
        return "is a URL, not a relative path"
    if location.startswith(("/", "\\")) or _DRIVE.match(location):
        return "is an absolute path"
    depth = 0
    for part in re.split(r"[/\\]+", location):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "climbs out of the model folder with '..'"
        elif part not in ("", "."):
            depth += 1
    return None


class _Walker:
    def __init__(self, reader: BoundedReader, model: _Model) -> None:
        self.r = reader
        self.m = model

    def model(self, end: int) -> None:
        r, m = self.r, self.m
        for f in fields(r, end):
            if f.number == 1 and f.wire == VARINT:
                m.ir_version = f.signed
            elif f.number == 2 and f.wire == LEN:
                m.producer = read_string(r, f, _STRING_CAP)
            elif f.number == 3 and f.wire == LEN:
                m.producer_version = read_string(r, f, _STRING_CAP)
            elif f.number == 4 and f.wire == LEN:
                m.domain = read_string(r, f, _STRING_CAP)
            elif f.number == 5 and f.wire == VARINT:
                m.model_version = f.signed
            elif f.number == 6 and f.wire == LEN:
                m.doc = read_string(r, f, _DOC_CAP)
            elif f.number == 7 and f.wire == LEN:
                m.has_graph = True
                m.graph_name = self.graph(f.end, depth=0)
            elif f.number == 8 and f.wire == LEN:
                domain, version = self.opset(f.end)
                if len(m.opsets) < _MAX_DOMAINS:
                    m.opsets[domain or "ai.onnx"] = version
            elif f.wire == LEN:
                self.model_message(f)

    def model_message(self, f: Field) -> None:
        if f.number == 14:
            self.metadata(f.end, self.m.metadata)
        elif f.number == 20:  # TrainingInfoProto: 1 and 2 are graphs
            for g in fields(self.r, f.end):
                if g.number in (1, 2) and g.wire == LEN:
                    self.graph(g.end, depth=1)
        elif f.number == 25:
            self.function(f.end)

    def opset(self, end: int) -> tuple[str, int]:
        domain, version = "", 0
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == LEN:
                domain = read_string(self.r, f, _STRING_CAP)
            elif f.number == 2 and f.wire == VARINT:
                version = f.signed
        return domain, version

    def entry(self, end: int) -> tuple[str, str]:
        """StringStringEntryProto."""
        key, value = "", ""
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == LEN:
                key = read_string(self.r, f, _STRING_CAP)
            elif f.number == 2 and f.wire == LEN:
                value = read_string(self.r, f, _DOC_CAP)
        return key, value

    def metadata(self, end: int, into: dict[str, str]) -> None:
        key, value = self.entry(end)
        if len(into) < _MAX_META:
            into[key] = value

    def graph(self, end: int, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise FormatError(f"sub-graphs nested deeper than {_MAX_DEPTH}")
        name = ""
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number == 1:
                self.node(f.end, depth)
            elif f.number == 2:
                name = read_string(self.r, f, _STRING_CAP)
            elif f.number == 5:
                self.m.initializers += 1
                self.tensor(f.end, count=True)
            elif f.number == 15:
                self.m.initializers += 1
                self.sparse_tensor(f.end, count=True)
        return name

    def node(self, end: int, depth: int) -> None:
        self.m.nodes += 1
        op_type, domain = "", ""
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number == 4:
                op_type = read_string(self.r, f, _STRING_CAP)
            elif f.number == 7:
                domain = read_string(self.r, f, _STRING_CAP)
            elif f.number == 5:
                self.attribute(f.end, depth)
        domain = "" if domain == "ai.onnx" else domain
        if len(self.m.node_domains) < _MAX_DOMAINS:
            self.m.node_domains.add(domain)
        label = f"{domain}.{op_type}" if domain else op_type
        if label in self.m.op_types or len(self.m.op_types) < 256:
            self.m.op_types[label] = self.m.op_types.get(label, 0) + 1

    def attribute(self, end: int, depth: int) -> None:
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number in (5, 10):  # t, tensors
                self.tensor(f.end, count=False)
            elif f.number in (6, 11):  # g, graphs
                self.graph(f.end, depth + 1)
            elif f.number in (22, 23):  # sparse_tensor(s)
                self.sparse_tensor(f.end, count=False)

    def function(self, end: int) -> None:
        domain = ""
        for f in fields(self.r, end):
            if f.wire != LEN:
                continue
            if f.number == 10:
                domain = read_string(self.r, f, _STRING_CAP)
            elif f.number == 7:
                self.node(f.end, depth=1)
        if len(self.m.function_domains) < _MAX_DOMAINS:
            self.m.function_domains.add(domain)

    def tensor(self, end: int, count: bool) -> None:
        name, location, elements = "", None, 1
        for f in fields(self.r, end):
            if f.number == 1 and f.wire == VARINT:
                elements = _times(elements, f.value)
            elif f.number == 1 and f.wire == LEN:  # packed dims
                while self.r.pos < f.end:
                    elements = _times(elements, varint(self.r))
            elif f.number == 8 and f.wire == LEN:
                name = read_string(self.r, f, _STRING_CAP)
            elif f.number == 13 and f.wire == LEN:
                key, value = self.entry(f.end)
                if key == "location":
                    location = value
        if count:
            self.m.parameters += elements
        if location is not None and len(self.m.external) < 10_000:
            self.m.external.append((name, location))

    def sparse_tensor(self, end: int, count: bool) -> None:
        elements = 1
        for f in fields(self.r, end):
            if f.number in (1, 2) and f.wire == LEN:
                self.tensor(f.end, count=False)
            elif f.number == 3 and f.wire == VARINT:
                elements = _times(elements, f.value)
            elif f.number == 3 and f.wire == LEN:
                while self.r.pos < f.end:
                    elements = _times(elements, varint(self.r))
        if count:
            self.m.parameters += elements


def _times(elements: int, dim: int) -> int:
    """Element count times a dimension (a raw varint; negative int64 counts as 0), capped at
    2**64 so hostile dims cannot grow a huge integer."""
    return min(elements * (dim if dim < 1 << 63 else 0), 1 << 64)


def analyze(source: Source) -> FileResult:
    """Findings and one `machine-learning-model` component. Never raises on bad input."""
    result = FileResult("onnx")
    model = _Model()
    try:
        with source.open() as stream:
            reader = BoundedReader(stream, source.size)
            _Walker(reader, model).model(source.size)
        if not model.has_graph or model.ir_version <= 0:
            raise FormatError("not an ONNX model: no ir_version or no graph")
    except (FormatError, OSError, ValueError, MemoryError) as exc:
        result.findings.append(source.finding(Severity.MEDIUM, "onnx.parse-error", str(exc)))
    result.findings.extend(_external_findings(source, model))
    result.findings.extend(_external_file_findings(source, model))
    result.findings.extend(_domain_findings(source, model))
    if model.has_graph or model.ir_version > 0:
        result.components.append(_component(source, model))
    return result


def _external_findings(source: Source, model: _Model) -> list[Finding]:
    escapes = [
        (tensor, location, why)
        for tensor, location in model.external
        if (why := external_data_escapes(location)) is not None
    ]
    out = [
        source.finding(
            Severity.HIGH,
            "onnx.external-data-escape",
            f"tensor {tensor[:80]!r} reads its data from {location[:200]!r}, which {why}: "
            "loading the model reads that file (path traversal, CVE-2022-25882/CVE-2024-27318)",
        )
        for tensor, location, why in escapes[:_MAX_ESCAPE_FINDINGS]
    ]
    if len(escapes) > _MAX_ESCAPE_FINDINGS:
        out.append(
            source.finding(
                Severity.HIGH,
                "onnx.external-data-escape",
                f"{len(escapes) - _MAX_ESCAPE_FINDINGS} more tensors read data from outside "
                "the model folder",
            )
        )
    return out


def _external_file_findings(source: Source, model: _Model) -> list[Finding]:
    """Missing, symlinked and hard-linked external-data files of a model on disk (locations that
    escape lexically are `onnx.external-data-escape` already and are not looked at)."""
    if source.real_path is None or source.member is not None or not model.external:
        return []
    folder = os.path.dirname(source.real_path)
    out: list[Finding] = []
    seen: set[str] = set()
    for tensor, location in model.external:
        if location in seen or external_data_escapes(location) is not None:
            continue
        seen.add(location)
        problem = _external_file_problem(folder, location)
        if problem is not None:
            severity, rule, why = problem
            out.append(
                source.finding(
                    severity,
                    rule,
                    f"tensor {tensor[:80]!r} reads its data from {location[:200]!r}, which {why}",
                )
            )
        if len(out) >= _MAX_ESCAPE_FINDINGS:
            break
    return out


def _external_file_problem(folder: str, location: str) -> tuple[Severity, str, str] | None:
    relative = posixpath.normpath(location.replace("\\", "/"))
    path = os.path.join(folder, *relative.split("/"))
    try:
        real_folder = os.path.realpath(folder)
        real = os.path.realpath(path)
        info = os.lstat(path)
    except (OSError, ValueError):
        info = None
        real = ""
    linked = real != "" and real != os.path.join(real_folder, *relative.split("/"))
    if linked and _hf_cache_blob(folder, real):
        linked = False  # the Hugging Face cache links every snapshot file to its blob store
    if linked:  # the file, or a folder on the way to it, is a symbolic link
        inside = real.startswith(real_folder + os.sep)
        if not inside:
            return (
                Severity.HIGH,
                "onnx.external-data-symlink",
                f"is a symbolic link (or sits in a symlinked folder) resolving to {real[:200]!r}, "
                "outside the model folder: loading the model reads that file (onnx's checker "
                "refuses it; CVE-2024-27318)",
            )
        return (
            Severity.MEDIUM,
            "onnx.external-data-symlink",
            "is a symbolic link (inside the model folder): onnx's checker refuses it, and what "
            "it points at can change after the scan",
        )
    if info is None or not os.path.exists(path):
        return (
            Severity.MEDIUM,
            "onnx.external-data-missing",
            "does not exist next to the model: the model does not load as shipped, or loads "
            "whatever is put there later",
        )
    if not os.path.isfile(path):
        return (
            Severity.MEDIUM,
            "onnx.external-data-missing",
            "is not a regular file (onnx's checker refuses it)",
        )
    if info.st_nlink > 1:
        return (
            Severity.MEDIUM,
            "onnx.external-data-symlink",
            f"has {info.st_nlink} hard links: a hard link can expose a file from elsewhere "
            "(onnx's checker refuses it)",
        )
    return None


def _hf_cache_blob(folder: str, real: str) -> bool:
    """`…/models--org--name/snapshots/<rev>/` linking into `…/models--org--name/blobs/`."""
    snapshots = os.path.dirname(os.path.abspath(folder))
    if os.path.basename(snapshots) != "snapshots":
        return False
    blobs = os.path.realpath(os.path.join(os.path.dirname(snapshots), "blobs"))
    return real.startswith(blobs + os.sep)


def _domain_findings(source: Source, model: _Model) -> list[Finding]:
    domains = (set(model.opsets) | model.node_domains) - model.function_domains
    out: list[Finding] = []
    for domain in sorted(d for d in domains if d not in _STANDARD_DOMAINS)[:20]:
        if domain.startswith(_VENDOR_DOMAINS):
            out.append(
                source.finding(
                    Severity.INFO,
                    "onnx.custom-op-domain",
                    f"operators from {domain!r}, a runtime vendor's operator set (not standard "
                    "ONNX): the model runs only on runtimes that ship it",
                )
            )
        else:
            out.append(
                source.finding(
                    Severity.MEDIUM,
                    "onnx.custom-op-domain",
                    f"operators from the custom domain {domain[:80]!r}: loading them needs a "
                    "custom-op library (native code) registered with the runtime",
                )
            )
    return out


def _component(source: Source, model: _Model) -> Component:
    props: list[tuple[str, str]] = [("format", "onnx"), ("ir_version", str(model.ir_version))]
    producer = " ".join(p for p in (model.producer, model.producer_version) if p)
    if producer:
        props.append(("producer", producer))
    if model.domain:
        props.append(("domain", model.domain))
    if model.opsets:
        props.append(("opset", ",".join(f"{d}:{v}" for d, v in sorted(model.opsets.items()))))
    props.append(("nodes", str(model.nodes)))
    props.append(("initializers", str(model.initializers)))
    props.append(("parameters", str(model.parameters)))
    if model.op_types:
        ops = sorted(model.op_types.items(), key=lambda item: (-item[1], item[0]))[:32]
        props.append(("op_types", ",".join(name for name, _ in ops)))
    if model.external:
        locations = sorted({location for _, location in model.external})
        props.append(("external_data", _cap(",".join(locations))))
    if model.doc:
        props.append(("doc_string", _cap(model.doc)))
    for key, value in sorted(model.metadata.items()):
        props.append((f"metadata.{key[:64]}", _cap(value)))
    meta = {k.lower(): v for k, v in model.metadata.items()}
    return Component(
        type="machine-learning-model",
        name=_cap(model.graph_name or posixpath.basename(source.member or source.path)),
        path=source.path,
        member=source.member,
        version=str(model.model_version) if model.model_version else None,
        publisher=meta.get("author") or meta.get("publisher") or meta.get("organization"),
        license=meta.get("license"),
        properties=tuple(props),
    )


def _cap(value: str) -> str:
    return value if len(value) <= _STRING_CAP else value[: _STRING_CAP - 1] + "…"
