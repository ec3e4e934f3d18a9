"""The pickle family never raises and stays small: fuzzed bytes, mutated files, 200 MB streams."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sumun.scan.formats import numpy as npy
from sumun.scan.formats import pickle as pk
from sumun.scan.formats import pytorch
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_pickle as gen
from tests.data.scan.gen_pickle import call, dumps

_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _source(data: bytes, name: str = "x.bin") -> Source:
    return Source(name, len(data), data[:4096], lambda: io.BytesIO(data))


def _valid_pickles() -> list[bytes]:
    s = gen.Storages()
    streams = [data for data, _ in gen.malicious_streams().values()]
    streams += [dumps(gen.state_dict(s, gen.MLP), proto) for proto in (0, 1, 2, 4)]
    streams.append(dumps(gen.adam_state(s), 2))
    streams.append(zlib.compress(dumps({"a": [1, 2, 3], "b": "x" * 300}, 4)))
    return streams


def _torch_zip() -> bytes:
    s = gen.Storages()
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("m/data.pkl", dumps(gen.state_dict(s, gen.MLP), 2))
        zf.writestr("m/data/0", bytes(64))
        zf.writestr("m/version", b"3\n")
    return buf.getvalue()


VALID = _valid_pickles()
ZIP = _torch_zip()
NPY = gen._npy_raw({"descr": "|O", "fortran_order": False, "shape": (2,)}, VALID[0])


def _never_raises(result: FileResult) -> None:
    assert isinstance(result, FileResult)
    for finding in result.findings:
        assert finding.message
        assert "\x1b" not in finding.message


@_FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _never_raises(pk.analyze(_source(data)))
    _never_raises(npy.analyze(_source(b"\x93NUMPY" + data)))
    _never_raises(pytorch.analyze(_source(b"PK\x03\x04" + data)))
    pk.sniff(data)


@st.composite
def _mutated(draw: st.DrawFn, corpus: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


@_FUZZ
@given(_mutated(VALID))
def test_mutated_pickles_never_raise(data: bytes) -> None:
    _never_raises(pk.analyze(_source(data, "m.pkl")))


@_FUZZ
@given(_mutated([ZIP]))
def test_mutated_torch_zips_never_raise(data: bytes) -> None:
    _never_raises(pytorch.analyze(_source(data, "m.pt")))


@_FUZZ
@given(_mutated([NPY]))
def test_mutated_npy_never_raise(data: bytes) -> None:
    _never_raises(npy.analyze(_source(data, "m.npy")))


@_FUZZ
@given(st.sampled_from(VALID), st.data())
def test_truncated_pickles_are_never_worse_than_the_whole(data: bytes, draw: st.DataObject) -> None:
    cut = draw.draw(st.integers(0, len(data)))
    whole = pk.analyze(_source(data))
    part = pk.analyze(_source(data[:cut]))
    worst = max((f.severity for f in whole.findings), default=Severity.INFO)
    assert all(f.severity <= max(worst, Severity.MEDIUM) for f in part.findings)


def _peak(run: object) -> tuple[int, float]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        run()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1], time.perf_counter() - started
    finally:
        tracemalloc.stop()


def test_a_210_mb_stream_is_walked_by_seeking_with_bounded_memory(tmp_path: Path) -> None:
    size = 210 << 20
    path = tmp_path / "huge.pkl"
    with path.open("wb") as fh:  # sparse: the payload costs no disk and no time to write
        fh.write(b"\x80\x04\x8e" + struct.pack("<Q", size))
        fh.seek(size, io.SEEK_CUR)
        fh.write(b"\x85" + dumps(call("os", "system", "x"), 4)[2:])
    source = Source(
        "huge.pkl", path.stat().st_size, path.read_bytes()[:4096], lambda: path.open("rb")
    )
    results: list[FileResult] = []
    peak, seconds = _peak(lambda: results.append(pk.analyze(source)))
    (result,) = results
    assert peak < 2 << 20, peak
    assert seconds < 2
    # the payload after the 210 MB blob was still reached
    assert [f.rule for f in result.findings if f.severity is Severity.CRITICAL] == [
        "pickle.dangerous-global"
    ]


def test_a_compressed_stream_is_skipped_by_reading_with_bounded_memory() -> None:
    size = 64 << 20
    packer = zlib.compressobj(1)
    parts = [packer.compress(b"\x80\x04\x8e" + struct.pack("<Q", size))]
    chunk = bytes(1 << 20)
    parts += [packer.compress(chunk) for _ in range(size >> 20)]
    parts.append(packer.compress(b"\x85."))
    parts.append(packer.flush())
    data = b"".join(parts)
    del parts, chunk
    results: list[FileResult] = []
    peak, _ = _peak(lambda: results.append(pk.analyze(_source(data, "big.joblib.z"))))
    assert results[0].findings == []
    assert peak < 8 << 20, peak


def test_a_long_opcode_dense_pickle_stays_small() -> None:
    value = {f"layer{i}.weight": {"shape": (i % 7, 3), "name": f"p{i}"} for i in range(5_000)}
    data = dumps(value, 4)
    results: list[FileResult] = []
    peak, _ = _peak(lambda: results.append(pk.analyze(_source(data))))
    assert results[0].findings == []
    assert peak < 16 << 20, peak
