"""safetensors: the reference crate's own vectors, its layout rules, hostile header lengths read
without allocating, and fuzzing: no input makes the analyzer raise."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sumun.scan.formats import safetensors
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_formats as gen
from tests.scan.formats.corpus_check import corpus_failures


def _source(data: bytes, path: str = "model.safetensors", size: int | None = None) -> Source:
    return Source(path, len(data) if size is None else size, data[:4096], lambda: io.BytesIO(data))


def _props(result: FileResult) -> dict[str, str]:
    (component,) = result.components
    return dict(component.properties)


def _raw(header: object, data: bytes = b"", pad: bool = True) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


# --- known answers (huggingface/safetensors tensor.rs tests) -------------------------------------
def test_reference_serialization_vector() -> None:
    header = b'{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'
    data = b"".join(struct.pack("<f", float(v)) for v in range(6))
    vector = struct.pack("<Q", 64) + header + data
    assert len(header) == 64 and vector[:8] == bytes([64, 0, 0, 0, 0, 0, 0, 0])
    assert safetensors.sniff(vector)
    result = safetensors.analyze(_source(vector))
    assert result.format == "safetensors"
    assert result.findings == []
    props = _props(result)
    assert (props["tensors"], props["parameters"], props["dtypes"]) == ("1", "6", "F32")


def test_reference_empty_vectors() -> None:
    empty = bytes([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
    result = safetensors.analyze(_source(empty))
    assert result.findings == []
    assert _props(result)["tensors"] == "0"
    with_metadata = _raw({"__metadata__": {"framework": "pt"}})
    assert _props(safetensors.analyze(_source(with_metadata)))["metadata.framework"] == "pt"


def test_metadata_becomes_properties_name_and_license() -> None:
    data = gen.safetensors_bytes(
        [("a", "BF16", (3, 5)), ("b", "I64", (7,))],
        {"modelspec.title": "ko-style LoRA", "modelspec.license": "openrail++", "x": "y" * 300},
    )
    result = safetensors.analyze(_source(data, "loras/style.safetensors"))
    assert result.findings == []
    (component,) = result.components
    assert component.type == "machine-learning-model"
    assert component.name == "ko-style LoRA"
    assert component.license == "openrail++"
    assert component.path == "loras/style.safetensors"
    props = dict(component.properties)
    assert props["format"] == "safetensors"
    assert props["parameters"] == "22"
    assert props["dtypes"] == "BF16,I64"
    assert len(props["metadata.x"]) == 256 and props["metadata.x"].endswith("…")


def test_sub_byte_dtypes_are_sized_in_bits() -> None:
    ok = _raw({"w": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}}, bytes(2))
    assert safetensors.analyze(_source(ok)).findings == []
    odd = _raw({"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}, bytes(2))
    (finding,) = safetensors.analyze(_source(odd)).findings
    assert finding.rule == "safetensors.invalid-layout"
    assert "needs 1+" in finding.message


# --- layout rules --------------------------------------------------------------------------------
def _t(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        ({"a": _t("F32", [2], 0, 8), "b": _t("F32", [2], 12, 20)}, 20, "leaves a gap"),
        ({"a": _t("F32", [2], 0, 8), "b": _t("F32", [2], 4, 12)}, 12, "overlaps the previous"),
        ({"a": _t("F32", [2], 0, 12)}, 12, "12 bytes declared, F32[2] needs 8"),
        ({"a": _t("F32", [2], 8, 0)}, 8, "ends before it begins"),
        (
            {"a": _t("F32", [2], 0, 8)},
            4,
            "tensors end at byte 8 of the buffer but the buffer has 4",
        ),
        ({"a": _t("F32", [2], 0, 8)}, 100, "92 bytes after the last tensor belong to no tensor"),
    ],
)
def test_layout_violations_are_medium(header: dict[str, object], data: int, message: str) -> None:
    result = safetensors.analyze(_source(_raw(header, bytes(data))))
    assert {f.rule for f in result.findings} == {"safetensors.invalid-layout"}
    assert all(f.severity is Severity.MEDIUM for f in result.findings)
    assert any(message in f.message for f in result.findings), result.findings
    assert result.components  # still described


def test_duplicate_keys_are_reported() -> None:
    entry = b'{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'
    text = b'{"a":' + entry + b',"a":' + entry + b"}"
    data = struct.pack("<Q", len(text)) + text + b"\x00"
    (finding,) = safetensors.analyze(_source(data)).findings
    assert finding.rule == "safetensors.invalid-layout"
    assert "duplicate keys in the header (a)" in finding.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "0 bytes: too short"),
        (b"\x10\x00\x00", "too short for the 8-byte header length"),
        (struct.pack("<Q", 500) + b"{}", "header length 500 is larger than the rest of the file"),
        (struct.pack("<Q", 100_000_001) + b"{}", "exceeds the 100 MB limit"),
        (struct.pack("<Q", 1 << 63) + b"{}", "exceeds the 100 MB limit"),
        (struct.pack("<Q", 4) + b"\xff\xfe{}", "header is not UTF-8"),
        (struct.pack("<Q", 2) + b"[]", "does not start with '{'"),
        (struct.pack("<Q", 5) + b"{abc}", "header is not JSON"),
        (_raw({"a": _t("Q9", [1], 0, 1)}, b"\x00"), "unknown dtype 'Q9'"),
        (_raw({"a": _t("F32", [-1], 0, 4)}, bytes(4)), "shape must be a list of non-negative"),
        (_raw({"a": {"dtype": "F32", "shape": [1]}}, bytes(4)), "data_offsets must be two"),
        (_raw({"a": 3}), "not an object"),
        (_raw({"__metadata__": {"k": 1}}), "__metadata__ must map strings to strings"),
        (_raw({"a": _t("F32", [1 << 40, 1 << 40], 0, 4)}), "overflows 64 bits"),
        (struct.pack("<Q", 20_000) + b"{" + b"[" * 19_999, "header is not JSON"),
    ],
)
def test_unreadable_headers_are_parse_errors(data: bytes, message: str) -> None:
    result = safetensors.analyze(_source(data))
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("safetensors.parse-error", Severity.MEDIUM)
    ]
    assert message in result.findings[0].message
    assert result.components == []


class _Spy(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest = max(self.largest, size if size is not None and size >= 0 else 1 << 62)
        return super().read(size)


def test_a_multi_gigabyte_header_claim_is_refused_without_reading_or_allocating() -> None:
    """The file says 3 GB of header; the Source even claims a 10 GB file (a lying stat)."""
    spies: list[_Spy] = []

    def opener() -> IO[bytes]:
        spies.append(_Spy(struct.pack("<Q", 3_000_000_000) + b'{"a":1}'))
        return spies[-1]

    for claimed in (3_000_000_000, 60_000_000):
        data = struct.pack("<Q", claimed)
        source = Source("big.safetensors", 10 << 30, data + b'{"', opener)
        tracemalloc.start()
        try:
            result = safetensors.analyze(source)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.findings[0].rule == "safetensors.parse-error"
        assert peak < 1 << 20
        assert spies[-1].largest == 8


def test_a_short_stream_behind_a_large_claimed_size_is_truncation() -> None:
    data = _raw({"a": _t("U8", [1], 0, 1)}, b"\x00")
    result = safetensors.analyze(_source(data[:20], size=len(data)))
    assert "truncated inside the header" in result.findings[0].message


# --- sniff and fuzz ------------------------------------------------------------------------------
def test_sniff() -> None:
    assert safetensors.sniff(gen.safetensors_bytes([("w", "F32", (2,))]))
    assert safetensors.sniff(struct.pack("<Q", 3_000_000_000) + b'{"a"')  # reaches analyze
    assert not safetensors.sniff(b"\x80\x04\x95" + bytes(20))  # a pickle
    assert not safetensors.sniff(struct.pack("<Q", 16) + b"[1]")
    assert not safetensors.sniff(struct.pack("<Q", 1 << 50) + b'{"')
    assert not safetensors.sniff(b"GGUF")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = safetensors.analyze(_source(data))
    assert isinstance(result, FileResult)
    assert all(f.severity <= Severity.MEDIUM for f in result.findings)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "__metadata__"]),
        st.fixed_dictionaries(
            {},
            optional={
                "dtype": st.sampled_from(["F32", "U8", "BF16", "F4", "X"]) | _JSON,
                "shape": st.lists(st.integers(-2, 1 << 33), max_size=4) | _JSON,
                "data_offsets": st.lists(st.integers(-5, 64), max_size=3) | _JSON,
            },
        )
        | _JSON,
    ),
    st.integers(0, 64),
)
def test_structured_headers_never_raise(header: dict[str, object], data: int) -> None:
    result = safetensors.analyze(_source(_raw(header, bytes(data))))
    assert isinstance(result, FileResult)
    assert all(f.severity is Severity.MEDIUM for f in result.findings)


_VALID = gen.safetensors_bytes([("w", "F32", (4, 4)), ("b", "F16", (4,))], {"format": "pt"})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=6))
def test_mutated_files_never_raise(mutations: list[tuple[int, int]]) -> None:
    data = bytearray(_VALID)
    for offset, value in mutations:
        data[offset] = value
    assert isinstance(safetensors.analyze(_source(bytes(data))), FileResult)


# --- the corpus ----------------------------------------------------------------------------------
def test_corpus_samples_meet_their_labels(format_corpus: tuple[Path, list[gen.Sample]]) -> None:
    # The format runs no code: there is nothing malicious to find, only broken files.
    labels = frozenset({"benign", "broken"})
    assert corpus_failures(format_corpus, (".safetensors",), safetensors.analyze, labels) == []
