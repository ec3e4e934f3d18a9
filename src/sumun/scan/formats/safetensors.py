"""safetensors: a JSON header and raw tensor bytes — no code, but the header is attacker-written.

Layout (huggingface/safetensors README): 8 bytes little-endian `N`, `N` bytes of UTF-8 JSON
`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`, then
the byte buffer. The reference loader (Rust crate `safetensors`, `tensor.rs`) refuses a file when:

1. `N` > 100 000 000 (`MAX_HEADER_SIZE`, `HeaderTooLarge`) or `8 + N` > file size
   (`InvalidHeaderLength`);
2. the header is not UTF-8 or not JSON of that shape (`InvalidHeader*`);
3. sorted by offsets, a tensor does not begin where the previous one ended — a gap or an
   overlap (`InvalidOffset`) — or its byte length differs from `prod(shape) * dtype size`
   (`TensorInvalidInfo`);
4. the last offset is not the end of the file (`MetadataIncompleteBuffer`).

We check the same things and report them instead of refusing: 1–2 as `safetensors.parse-error`
(medium), 3–4 as `safetensors.invalid-layout` (medium — bytes no tensor accounts for can carry a
second format, e.g. a zip appended for `torch.load`). Only the header is read; the header is
parsed only up to 16 MiB (real headers are well under 1 MiB), so memory stays bounded whatever
`N` claims.
"""

from __future__ import annotations

import json
import math
import posixpath
import struct
from collections.abc import Callable
from typing import Any

from sumun.scan.formats._bounded import FormatError
from sumun.scan.model import Component, FileResult, Severity, Source

__all__ = ["MAX_HEADER_SIZE", "PARSE_LIMIT", "analyze", "sniff"]

MAX_HEADER_SIZE = 100_000_000  # the reference implementation's limit (tensor.rs)
PARSE_LIMIT = 16 << 20  # what this scanner parses; larger (legal) headers get a finding

# dtype -> bits per element (safetensors Dtype, including the sub-byte float formats)
_DTYPE_BITS = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}
_MAX_ELEMENTS = 1 << 64  # the reference computes sizes in usize and refuses an overflow
_MAX_METADATA_PROPS = 64
_MAX_VALUE_CHARS = 256
_MAX_LAYOUT_ERRORS = 5
_RULE_PARSE = "safetensors.parse-error"
_RULE_LAYOUT = "safetensors.invalid-layout"


def sniff(head: bytes) -> bool:
    """A plausible header length (under 2**48) followed by `{"` or `{}` (JSON object start).

    Deliberately accepts lengths beyond the 100 MB limit so that an oversized header still
    reaches `analyze` and gets its finding.
    """
    if len(head) < 10:
        return False
    (n,) = struct.unpack_from("<Q", head)
    return 2 <= n < (1 << 48) and head[8:9] == b"{" and head[9:10] in (b'"', b"}", b" ", b"\n")


def analyze(source: Source) -> FileResult:
    """Findings and one `machine-learning-model` component. Never raises on bad input."""
    result = FileResult("safetensors")
    try:
        _analyze(source, result)
    except FormatError as exc:
        result.findings.append(source.finding(Severity.MEDIUM, _RULE_PARSE, str(exc)))
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        result.findings.append(
            source.finding(Severity.MEDIUM, _RULE_PARSE, f"cannot read the header: {exc}")
        )
    return result


def _analyze(source: Source, result: FileResult) -> None:
    size = source.size
    if size < 8:
        raise FormatError(f"{size} bytes: too short for the 8-byte header length")
    with source.open() as stream:
        prefix = stream.read(8)
        if len(prefix) < 8:
            raise FormatError("truncated before the 8-byte header length")
        (n,) = struct.unpack("<Q", prefix)
        if n > MAX_HEADER_SIZE:
            raise FormatError(
                f"header length {n} exceeds the 100 MB limit of the reference loader, which "
                "refuses this file (a lying or hostile length field)"
            )
        if n > size - 8:
            raise FormatError(f"header length {n} is larger than the rest of the file ({size - 8})")
        if n > PARSE_LIMIT:
            raise FormatError(
                f"header of {n} bytes is larger than this scanner parses ({PARSE_LIMIT}); "
                "real headers are far smaller — inspect this file by hand"
            )
        raw = stream.read(n)
    if len(raw) != n:
        raise FormatError("the file is truncated inside the header")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"header is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text.startswith("{"):
        raise FormatError("header does not start with '{'")
    duplicates: list[str] = []
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates(duplicates))
    except json.JSONDecodeError as exc:
        raise FormatError(f"header is not JSON: {exc.msg} at char {exc.pos}") from None
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    if duplicates:
        result.findings.append(
            source.finding(
                Severity.MEDIUM,
                _RULE_LAYOUT,
                "duplicate keys in the header ("
                + ", ".join(sorted(set(duplicates))[:5])
                + "): loaders may disagree on which tensor is meant",
            )
        )
    _check_header(source, result, header, n)


def _no_duplicates(seen: list[str]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                seen.append(key)
            out[key] = value
        return out

    return hook


def _check_header(source: Source, result: FileResult, header: dict[str, Any], n: int) -> None:
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
        isinstance(metadata, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise FormatError("__metadata__ must map strings to strings")
    meta: dict[str, str] = metadata or {}

    entries: list[tuple[int, int, str, str, list[int]]] = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise FormatError(f"tensor {name[:80]!r}: not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        label = repr(name[:80])
        if not isinstance(dtype, str) or dtype not in _DTYPE_BITS:
            raise FormatError(f"tensor {label}: unknown dtype {str(dtype)[:20]!r}")
        if not (
            isinstance(shape, list)
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise FormatError(f"tensor {label}: shape must be a list of non-negative integers")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        ):
            raise FormatError(f"tensor {label}: data_offsets must be two non-negative integers")
        if math.prod(shape) >= _MAX_ELEMENTS:
            raise FormatError(f"tensor {label}: shape {shape[:8]} overflows 64 bits")
        entries.append((offsets[0], offsets[1], name, dtype, shape))

    problems = _layout_problems(entries, source.size - 8 - n)
    for problem in problems[:_MAX_LAYOUT_ERRORS]:
        result.findings.append(source.finding(Severity.MEDIUM, _RULE_LAYOUT, problem))

    parameters = sum(math.prod(shape) for *_, shape in entries)
    dtypes = sorted({dtype for _, _, _, dtype, _ in entries})
    props: list[tuple[str, str]] = [
        ("format", "safetensors"),
        ("tensors", str(len(entries))),
        ("parameters", str(parameters)),
        ("dtypes", ",".join(dtypes)),
        ("header_bytes", str(n)),
    ]
    for key in sorted(meta)[:_MAX_METADATA_PROPS]:
        props.append((f"metadata.{key[:64]}", _cap(meta[key])))
    license_ = meta.get("modelspec.license") or meta.get("license")
    name = meta.get("modelspec.title") or posixpath.basename(source.member or source.path)
    result.components.append(
        Component(
            type="machine-learning-model",
            name=_cap(name),
            path=source.path,
            member=source.member,
            license=_cap(license_) if license_ else None,
            properties=tuple(props),
        )
    )


def _layout_problems(entries: list[tuple[int, int, str, str, list[int]]], buffer: int) -> list[str]:
    """The reference loader's layout rules (see the module docstring, steps 3–4)."""
    problems: list[str] = []
    start = 0
    for begin, end, name, dtype, shape in sorted(entries, key=lambda e: (e[0], e[1])):
        label = name[:80]
        if begin != start or end < begin:
            kind = "overlaps the previous tensor" if begin < start else "leaves a gap"
            if end < begin:
                kind = "ends before it begins"
            problems.append(f"tensor {label!r} at [{begin}, {end}) {kind} (expected {start})")
        bits = math.prod(shape) * _DTYPE_BITS[dtype]
        if bits % 8 or end - begin != bits // 8:
            problems.append(
                f"tensor {label!r}: {end - begin} bytes declared, {dtype}{shape[:8]} needs "
                f"{bits // 8}{'+' if bits % 8 else ''}"
            )
        start = max(start, end)
    if start > buffer:
        problems.append(f"tensors end at byte {start} of the buffer but the buffer has {buffer}")
    elif start < buffer:
        problems.append(
            f"{buffer - start} bytes after the last tensor belong to no tensor (the reference "
            "loader refuses this; they may carry a second format)"
        )
    return problems


def _cap(value: str) -> str:
    return value if len(value) <= _MAX_VALUE_CHARS else value[: _MAX_VALUE_CHARS - 1] + "…"
