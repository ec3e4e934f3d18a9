"""NumPy .npy/.npz: safe header parsing, object arrays replayed as pickles, lying headers."""

from __future__ import annotations

import io
import re
import struct

import pytest

from sumun.scan.formats import numpy as npy
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_pickle as gen
from tests.data.scan.gen_pickle import call, dumps

np = pytest.importorskip("numpy")


def _source(data: bytes, name: str = "a.npy") -> Source:
    return Source(name, len(data), data[:4096], lambda: io.BytesIO(data))


def _save(array: object, **kw: object) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=True, **kw)
    return buf.getvalue()


def _npz(members: list[tuple[str, bytes]], *, deflate: bool = False) -> bytes:
    buf = io.BytesIO()
    import zipfile

    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _rules(result: FileResult) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in result.findings:
        out[f.rule] = max(out.get(f.rule, Severity.INFO), f.severity)
    return out


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype="float32").reshape(3, 4),
        np.asfortranarray(np.ones((2, 3))),
        np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8", (2,))]),
        np.array(["héllo", "w"]),
        np.array([b"ab", b"c"]),
        np.zeros((0, 5), dtype=bool),
        np.array(["2024-01-01"], dtype="M8[ns]"),
        np.array([1 + 2j]),
        np.float64(3.0),
    ],
    ids=["f32", "fortran", "structured", "unicode", "bytes", "empty", "datetime", "complex", "0d"],
)
def test_plain_arrays_have_no_findings(array: object) -> None:
    for version in ((1, 0), (2, 0), (3, 0)):
        assert npy.analyze(_source(_save(array, version=version))).findings == []


def test_a_benign_object_array_is_noted_and_replayed() -> None:
    result = npy.analyze(_source(_save(np.array([1, "two", None], dtype=object))))
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("numpy.object-array", Severity.INFO)
    ]


def test_an_object_array_carrying_a_payload_is_critical() -> None:
    data = gen._npy_raw(
        {"descr": "|O", "fortran_order": False, "shape": (1,)},
        dumps(call("os", "system", "echo pwned"), 4),
    )
    result = npy.analyze(_source(data))
    assert _rules(result)["pickle.dangerous-global"] is Severity.CRITICAL
    assert any(re.search(r"calls os\.system", f.message) for f in result.findings)


def test_a_structured_dtype_with_an_object_field_is_a_pickle() -> None:
    data = gen._npy_raw(
        {"descr": [("a", "<i4"), ("b", "|O")], "fortran_order": False, "shape": (1,)},
        dumps(call("posix", "system", "x"), 2),
    )
    assert "pickle.dangerous-global" in _rules(npy.analyze(_source(data)))


def test_a_pickle_after_the_array_data_is_found() -> None:
    data = _save(np.zeros(4)) + dumps(call("os", "system", "x"), 4)
    rules = _rules(npy.analyze(_source(data)))
    assert rules["pickle.dangerous-global"] is Severity.CRITICAL
    assert rules["numpy.trailing-data"] is Severity.INFO


def test_python2_long_literals_in_the_header_are_accepted() -> None:
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }".ljust(117) + b"\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + bytes(16)
    assert npy.analyze(_source(data)).findings == []


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (
            gen._npy_raw({"descr": "<f8", "fortran_order": False, "shape": (1000,)}, bytes(8)),
            r"promises 8000 data bytes but 8 follow",
        ),
        (b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0), r"exceeds the 65536-byte cap"),
        (b"\x93NUMPY\x09\x00", r"unsupported \.npy version 9\.0"),
        (b"\x93NUMPY\x01\x00\x40\x00{'descr'", r"truncated header"),
        (
            gen._npy_raw({"descr": "<f8", "fortran_order": False, "shape": (1,)}, bytes(8)).replace(
                b"'descr'", b"descr()"
            ),
            r"not a Python literal",
        ),
        (
            gen._npy_raw({"descr": "<f8", "shape": (1,)}, bytes(8)),
            r"lacks descr, fortran_order or shape",
        ),
        (
            gen._npy_raw({"descr": "<x9", "fortran_order": False, "shape": (1,)}, bytes(8)),
            r"unknown dtype",
        ),
        (
            gen._npy_raw({"descr": "<f8", "fortran_order": False, "shape": (-1,)}, bytes(8)),
            r"shape is not a tuple of non-negative integers",
        ),
        (b"\x93NUMP", r"no \\x93NUMPY magic"),
    ],
)
def test_broken_headers_are_parse_errors(data: bytes, pattern: str) -> None:
    (finding,) = npy.analyze(_source(data)).findings
    assert (finding.rule, finding.severity) == ("numpy.parse-error", Severity.MEDIUM)
    assert re.search(pattern, finding.message), finding.message


def test_an_empty_file_is_an_info_parse_error() -> None:
    (finding,) = npy.analyze(_source(b"")).findings
    assert (finding.rule, finding.severity) == ("numpy.parse-error", Severity.INFO)


@pytest.mark.parametrize("deflate", [False, True])
def test_npz_members_are_checked_one_by_one(deflate: bool) -> None:
    payload = gen._npy_raw(
        {"descr": "|O", "fortran_order": False, "shape": (1,)},
        dumps(call("os", "system", "x"), 4),
    )
    data = _npz([("w.npy", _save(np.ones(3))), ("evil.npy", payload)], deflate=deflate)
    result = npy.analyze(_source(data, "weights.npz"))
    (finding,) = [f for f in result.findings if f.rule == "pickle.dangerous-global"]
    assert finding.member == "evil.npy"
    clean = _npz([("a.npy", _save(np.ones(3))), ("b.npy", _save(np.arange(3)))], deflate=deflate)
    assert npy.analyze(_source(clean, "ok.npz")).findings == []


def test_a_lying_header_inside_a_deflated_npz_is_caught() -> None:
    lying = gen._npy_raw({"descr": "<f8", "fortran_order": False, "shape": (100,)}, bytes(8))
    data = _npz([("x.npy", lying)], deflate=True)
    (finding,) = npy.analyze(_source(data, "x.npz")).findings
    assert (finding.rule, finding.member) == ("numpy.parse-error", "x.npy")


def test_a_broken_npz_is_a_parse_error() -> None:
    data = _npz([("a.npy", _save(np.ones(3)))])
    (finding,) = npy.analyze(_source(data[: len(data) // 2], "a.npz")).findings
    assert finding.rule == "numpy.parse-error"
    assert finding.message.startswith("not a readable .npz")


def test_sniff() -> None:
    assert npy.sniff(_save(np.ones(2)))
    assert not npy.sniff(b"\x80\x04.")
