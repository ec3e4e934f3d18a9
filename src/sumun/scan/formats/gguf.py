"""GGUF (llama.cpp): metadata for the AI-BOM, and the chat template checked for injection.

Layout (ggml `docs/gguf.md`): magic `GGUF`, u32 version (2 or 3; 1 used u32 counts and
lengths), u64 tensor count, u64 metadata key/value count, the key/values (key: u64-length
string; value: u32 type + value; arrays: u32 item type + u64 count + items, possibly nested),
tensor infos (name, u32 n_dims, u64 dims, u32 ggml type, u64 offset), padding to
`general.alignment` (default 32), tensor data. Big-endian files carry a byte-swapped version.

Every count and length is written by whoever made the file, so the reader streams: values we do
not need are skipped by seeking (the vocabulary and merges arrays are most of the header), kept
strings are capped, counts are capped (`MAX_KV`, `MAX_ARRAY`, `MAX_TENSORS`) and checked
against the bytes left before anything is allocated. A file claiming a 2**60-byte string is a
`gguf.parse-error`, not a `MemoryError`.

Findings: `gguf.chat-template-injection` (critical/high; `inspect_chat_template`, which the HF
analyzer shares), `gguf.chat-template-oversized` (high: a template too large to inspect — no real
one is), `gguf.invalid-layout` (medium: tensor data out of place), `gguf.parse-error` (medium).
A file truncated after its metadata still yields its component and template verdict.
"""

from __future__ import annotations

import math
import posixpath
import re
import struct
from dataclasses import dataclass, field

from sumun.scan.formats._bounded import BoundedReader, FormatError
from sumun.scan.formats._gguf_template import TemplateVerdict, inspect_chat_template
from sumun.scan.model import Component, FileResult, Finding, Severity, Source

__all__ = [
    "MAX_ARRAY",
    "MAX_KV",
    "MAX_TENSORS",
    "TEMPLATE_LIMIT",
    "TemplateVerdict",
    "analyze",
    "inspect_chat_template",
    "sniff",
]

MAGIC = b"GGUF"
MAX_KV = 1 << 16  # real files have tens
MAX_ARRAY = 1 << 24  # vocabularies and merges are a few hundred thousand
MAX_TENSORS = 1 << 20
MAX_KEY = 1 << 16  # the spec caps keys at 65535 bytes
MAX_DIMS = 8  # ggml uses 4
MAX_NESTING = 4
TEMPLATE_LIMIT = 2 << 20  # bytes of one chat template we inspect
_GENERAL_LIMIT = 4096  # bytes kept of other strings
_KEEP_BUDGET = 16 << 20  # bytes kept in total
_KEEP_ITEMS = 64  # items kept of a string array (tags, languages)

# GGUF value types: id -> (struct code, size); 8 = string, 9 = array
_SCALARS = {
    0: ("B", 1),
    1: ("b", 1),
    2: ("H", 2),
    3: ("h", 2),
    4: ("I", 4),
    5: ("i", 4),
    6: ("f", 4),
    7: ("?", 1),
    10: ("Q", 8),
    11: ("q", 8),
    12: ("d", 8),
}
_STRING, _ARRAY = 8, 9

# ggml tensor types: id -> (name, block elements, block bytes) — ggml.h / gguf-py constants
_GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}

# llama_ftype (llama.h): general.file_type -> quantization name
_FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

_HF_URL = re.compile(r"^https?://(?:www\.)?huggingface\.co/([\w.-]+/[\w.-]+)/?$")
_TEMPLATE_KEY = "tokenizer.chat_template"
_RULE_TEMPLATE = "gguf.chat-template-injection"
_MAX_CAP = 256


def sniff(head: bytes) -> bool:
    return head[:4] == MAGIC


Scalar = int | float | bool | str


@dataclass(slots=True)
class _Header:
    """What the streaming reader collected; filled progressively so a truncated file still
    reports what came before the truncation."""

    version: int = 0
    tensor_count: int = 0
    kv_count: int = 0
    kv: dict[str, Scalar | list[Scalar]] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    oversized: dict[str, int] = field(default_factory=dict)  # template key -> its length
    tensors: int = 0
    parameters: int = 0
    types: dict[str, int] = field(default_factory=dict)
    kept: int = 0


class _Parser:
    def __init__(self, reader: BoundedReader, header: _Header) -> None:
        self.r = reader
        self.h = header
        self.e = "<"
        self.wide = True  # u64 counts and lengths (version >= 2)

    def _int(self, code: str, what: str) -> int:
        (value,) = self.r.unpack(self.e + code, what)
        return int(value)

    def _count(self) -> int:
        return self._int("Q" if self.wide else "I", "count")

    def _string_len(self, what: str) -> int:
        n = self._int("Q" if self.wide else "I", f"length of {what}")
        if n > self.r.remaining:
            raise FormatError(
                f"{what} at offset {self.r.pos} claims {n} bytes but only "
                f"{self.r.remaining} remain in the file"
            )
        return n

    def parse(self) -> list[tuple[int, int | None]]:
        """Parse everything up to the tensor data; return (offset, bytes or None) per tensor."""
        if self.r.read(4, "magic") != MAGIC:
            raise FormatError("not a GGUF file (magic is not 'GGUF')")
        (version,) = struct.unpack("<I", self.r.read(4, "version"))
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if version & 0xFFFF == 0 and 1 <= swapped <= 3:
            self.e, version = ">", swapped  # a big-endian file
        if version not in (1, 2, 3):
            raise FormatError(f"unsupported GGUF version {version}")
        self.wide = version >= 2
        self.h.version = version
        self.h.tensor_count = self._count()
        self.h.kv_count = self._count()
        if self.h.kv_count > MAX_KV:
            raise FormatError(f"metadata count {self.h.kv_count} exceeds the limit {MAX_KV}")
        if self.h.tensor_count > MAX_TENSORS:
            raise FormatError(f"tensor count {self.h.tensor_count} exceeds the limit {MAX_TENSORS}")
        for _ in range(self.h.kv_count):
            self._kv()
        return self._tensor_infos()

    def _kv(self) -> None:
        n = self._string_len("key")
        if n > MAX_KEY:
            raise FormatError(f"key of {n} bytes at offset {self.r.pos} exceeds {MAX_KEY}")
        key = self.r.read(n, "key").decode("utf-8", "replace")
        vtype = self._int("I", f"type of {key[:64]}")
        # Kept: general.*, the tokenizer model and the context length; all else is skipped.
        wanted = len(key) <= _MAX_CAP and (
            key.startswith(("general.", "tokenizer.ggml.model", "tokenizer.ggml.pre"))
            or key.endswith(".context_length")
        )
        if vtype == _STRING:
            if key.startswith(_TEMPLATE_KEY):
                self._template(key)
            elif wanted:
                self._keep(key, self._string(key, _GENERAL_LIMIT))
            else:
                self.r.skip(self._string_len(key), key[:64])
        elif vtype == _ARRAY:
            items = self._array(key, depth=1, keep=wanted)
            if wanted and items:
                self._keep(key, items)
        elif vtype in _SCALARS:
            code, size = _SCALARS[vtype]
            (value,) = struct.unpack(self.e + code, self.r.read(size, key[:64]))
            if wanted:
                self._keep(key, value)
        else:
            raise FormatError(f"unknown value type {vtype} for key {key[:64]!r}")

    def _keep(self, key: str, value: Scalar | list[Scalar]) -> None:
        items = value if isinstance(value, list) else [value]
        cost = len(key) + sum(len(v) if isinstance(v, str) else 8 for v in items)
        if self.h.kept + cost <= _KEEP_BUDGET:
            self.h.kept += cost
            self.h.kv[key] = value

    def _string(self, key: str, limit: int) -> str:
        n = self._string_len(key[:64])
        take = min(n, limit)
        data = self.r.read(take, key[:64])
        self.r.skip(n - take, key[:64])
        return data.decode("utf-8", "replace")

    def _template(self, key: str) -> None:
        n = self._string_len(key[:64])
        if n > TEMPLATE_LIMIT or n > _KEEP_BUDGET - self.h.kept or len(self.h.templates) >= 64:
            if len(self.h.oversized) < 16:
                self.h.oversized[key[:128]] = n
            self.r.skip(n, key[:64])
            return
        self.h.kept += n
        self.h.templates[key[:128]] = self.r.read(n, key[:64]).decode("utf-8", "replace")

    def _array(self, key: str, depth: int, keep: bool) -> list[Scalar]:
        if depth > MAX_NESTING:
            raise FormatError(f"array nesting deeper than {MAX_NESTING} in {key[:64]!r}")
        itype = self._int("I", f"item type of {key[:64]}")
        count = self._count()
        if count > MAX_ARRAY:
            raise FormatError(f"array {key[:64]!r} claims {count} items (limit {MAX_ARRAY})")
        items: list[Scalar] = []
        if itype in _SCALARS:
            code, size = _SCALARS[itype]
            if keep and count <= _KEEP_ITEMS:
                data = self.r.read(count * size, key[:64])
                items.extend(struct.unpack(f"{self.e}{count}{code}", data))
            else:
                self.r.skip(count * size, key[:64])
        elif itype == _STRING:
            items.extend(self._string_array(key, count, keep))
        elif itype == _ARRAY:
            if count * 12 > self.r.remaining:
                raise FormatError(f"array {key[:64]!r} claims {count} arrays, more than fit")
            for _ in range(count):
                self._array(key, depth + 1, keep=False)
        else:
            raise FormatError(f"unknown item type {itype} in array {key[:64]!r}")
        return items

    def _string_array(self, key: str, count: int, keep: bool) -> list[Scalar]:
        if count * (8 if self.wide else 4) > self.r.remaining:
            raise FormatError(f"array {key[:64]!r} claims {count} strings, more than fit")
        items: list[Scalar] = []
        kept = min(count, _KEEP_ITEMS) if keep else 0
        for _ in range(kept):
            items.append(self._string(key, _MAX_CAP))
        length = struct.Struct(f"{self.e}{'Q' if self.wide else 'I'}")
        self.r.skip_prefixed(count - kept, length, f"string in {key[:64]}")
        return items

    def _tensor_infos(self) -> list[tuple[int, int | None]]:
        spans: list[tuple[int, int | None]] = []
        for index in range(self.h.tensor_count):
            self.r.skip(self._string_len("tensor name"), "tensor name")
            n_dims = self._int("I", "n_dims")
            if n_dims > MAX_DIMS:
                raise FormatError(f"tensor {index} has {n_dims} dimensions (limit {MAX_DIMS})")
            dims = [self._int("Q", "dimension") for _ in range(n_dims)]
            ggml_type = self._int("I", "tensor type")
            offset = self._int("Q", "tensor offset")
            elements = math.prod(dims)
            self.h.tensors += 1
            self.h.parameters += elements
            info = _GGML_TYPES.get(ggml_type)
            name = info[0] if info else f"type{ggml_type}"
            if name not in self.h.types and len(self.h.types) >= 64:
                name = "other"  # a hostile file may claim a million distinct types
            self.h.types[name] = self.h.types.get(name, 0) + 1
            if info is None:
                spans.append((offset, None))
            else:
                _, block, block_bytes = info
                spans.append((offset, -(-elements // block) * block_bytes))
        return spans


def analyze(source: Source) -> FileResult:
    """Findings and one `machine-learning-model` component. Never raises on bad input."""
    result = FileResult("gguf")
    header = _Header()
    try:
        with source.open() as stream:
            reader = BoundedReader(stream, source.size)
            spans = _Parser(reader, header).parse()
            alignment = header.kv.get("general.alignment", 32)
            result.findings.extend(_layout(source, reader, spans, alignment))
    except (FormatError, OSError, ValueError, struct.error, MemoryError) as exc:
        result.findings.append(source.finding(Severity.MEDIUM, "gguf.parse-error", str(exc)))
    for key, template in header.templates.items():
        verdict = inspect_chat_template(template)
        if verdict.severity is not None:
            result.findings.append(
                source.finding(
                    verdict.severity, "gguf.chat-template-injection", verdict.message(key)
                )
            )
    for key, length in header.oversized.items():
        result.findings.append(
            source.finding(
                Severity.HIGH,
                "gguf.chat-template-oversized",
                f"{key} is {length} bytes, more than the {TEMPLATE_LIMIT} this scanner inspects; "
                "no real chat template is this large — inspect it before rendering",
            )
        )
    if header.version:
        result.components.append(_component(source, header))
    return result


def _layout(
    source: Source, reader: BoundedReader, spans: list[tuple[int, int | None]], alignment: object
) -> list[Finding]:
    """gguf.cpp's rule: tensor i starts where tensor i-1 ended, padded to the alignment, and
    the data fits in the file. Skipped when a tensor type is unknown (its size is unknown)."""
    if (
        not isinstance(alignment, int)
        or isinstance(alignment, bool)
        or not 0 < alignment <= 1 << 24
    ):
        raise FormatError(f"general.alignment {alignment!r} is not a usable alignment")
    data_start = -(-reader.pos // alignment) * alignment
    expected = 0
    for offset, nbytes in spans:
        if nbytes is None:
            return []
        if offset != expected:
            return [
                source.finding(
                    Severity.MEDIUM,
                    "gguf.invalid-layout",
                    f"tensor data at offset {offset}, expected {expected}: llama.cpp refuses this",
                )
            ]
        expected += -(-nbytes // alignment) * alignment
    if spans:
        last_offset, last_bytes = spans[-1]
        end = data_start + last_offset + (last_bytes or 0)
        if end > source.size:
            raise FormatError(
                f"tensor data needs {end} bytes but the file has {source.size}: truncated"
            )
    return []


def _component(source: Source, header: _Header) -> Component:
    kv = header.kv

    def text(key: str) -> str | None:
        value = kv.get(key)
        return _cap(value) if isinstance(value, str) and value.strip() else None

    arch = text("general.architecture")
    props: list[tuple[str, str]] = [("format", "gguf"), ("gguf_version", str(header.version))]
    if arch:
        props.append(("architecture", arch))
    file_type = kv.get("general.file_type")
    if isinstance(file_type, int) and not isinstance(file_type, bool):
        props.append(("quantization", _FILE_TYPES.get(file_type, f"file_type {file_type}")))
    if header.tensors:
        props.append(("tensors", str(header.tensors)))
        props.append(("parameters", str(header.parameters)))
        types = sorted(header.types.items(), key=lambda item: (-item[1], item[0]))
        props.append(("tensor_types", ",".join(f"{name}:{count}" for name, count in types)))
    if arch:
        context = kv.get(f"{arch}.context_length")
        if isinstance(context, int) and not isinstance(context, bool):
            props.append(("context_length", str(context)))
    for key, prop in (
        ("general.size_label", "size_label"),
        ("general.finetune", "finetune"),
        ("general.basename", "basename"),
        ("general.quantized_by", "quantized_by"),
        ("general.repo_url", "repo_url"),
        ("general.url", "url"),
        ("tokenizer.ggml.model", "tokenizer"),
    ):
        value = text(key)
        if value:
            props.append((prop, value))
    for key, prop in (("general.tags", "tags"), ("general.languages", "languages")):
        items = kv.get(key)
        if isinstance(items, list) and items:
            props.append((prop, _cap(",".join(str(item) for item in items))))
    if header.templates or header.oversized:
        props.append(("chat_templates", ",".join(sorted({*header.templates, *header.oversized}))))

    license_ = text("general.license") or text("general.license.name")
    return Component(
        type="machine-learning-model",
        name=text("general.name") or posixpath.basename(source.member or source.path),
        path=source.path,
        member=source.member,
        version=text("general.version"),
        publisher=text("general.organization") or text("general.author"),
        license=license_,
        base_models=_lineage(kv, "general.base_model"),
        datasets=_lineage(kv, "general.dataset"),
        properties=tuple(props),
    )


def _lineage(kv: dict[str, Scalar | list[Scalar]], prefix: str) -> tuple[str, ...]:
    """`general.base_model.{i}.*` (and `general.dataset.{i}.*`) as HF ids where a repo URL
    gives one, else `organization/name`, else the name."""
    count = kv.get(f"{prefix}.count")
    if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
        return ()
    out: list[str] = []
    for index in range(min(count, _KEEP_ITEMS)):
        values = {
            part: kv.get(f"{prefix}.{index}.{part}")
            for part in ("repo_url", "organization", "name")
        }
        url, org, name = (v if isinstance(v, str) else "" for v in values.values())
        match = _HF_URL.match(url.strip())
        if match:
            out.append(match.group(1))
        elif name and org:
            out.append(f"{org}/{name}")
        elif name or url:
            out.append(name or url)
    return tuple(dict.fromkeys(_cap(item) for item in out))


def _cap(value: str) -> str:
    return value if len(value) <= _MAX_CAP else value[: _MAX_CAP - 1] + "…"
