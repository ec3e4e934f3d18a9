"""`sumun scan` on damaged model files and archives: findings or a parse error, never a crash.

Real, small files of every format the scanner reads are built here (safetensors, GGUF through
the reference `gguf` writer, numpy `.npy`/`.npz`, pickles, PyTorch and Keras zips, ONNX
through the `onnx` package, zip, tar, tar.gz, a Hugging Face `config.json`), then damaged the
ways attackers and bad disks do: bit flips, truncation, length fields inflated to huge values
(binary, in both byte orders, and decimal in text headers), inserted and repeated bytes.

Property, for each damaged file scanned through the whole engine (identify, archive expansion,
analyzers): `scan` returns; no `scan.analyzer-error` (the engine's net for an analyzer that
raised — the contract says analyzers never do); within 10 s and 64 MB of Python allocations.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import re
import struct
import tarfile
import zipfile
from pathlib import Path

import gguf
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper

from sumun.scan.engine import scan
from tests.fuzz._bounds import peak_bytes, within
from tests.fuzz._profile import fuzz

pytestmark = pytest.mark.fuzz

TIME_LIMIT = 10.0
MEMORY_LIMIT = 64 << 20
# Bytes only; never unpickled. `os.system` in a protocol-4 pickle.
EVIL = b"\x80\x04cos\nsystem\n\x8c\necho pwned\x85R."


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _safetensors() -> bytes:
    header = {
        "__metadata__": {"format": "pt"},
        "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b": {"dtype": "F16", "shape": [2], "data_offsets": [16, 20]},
    }
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(20)


def _gguf(tmp: Path) -> bytes:
    path = tmp / "seed.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("fuzz seed")
    writer.add_license("apache-2.0")
    writer.add_context_length(2048)
    writer.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    writer.add_tensor("token_embd.weight", np.ones((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(6, dtype=np.int16), b=np.eye(2))
    return buf.getvalue()


def _onnx() -> bytes:
    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], b"\x00\x00\x80\x3f" * 4, raw=True)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["Y"]),
            helper.make_node("Op", ["Y"], ["Z"], domain="x.y"),
        ],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1, 2])],
        initializer=[weight],
    )
    model = helper.make_model(
        graph, producer_name="fuzz", opset_imports=[helper.make_opsetid("", 18)]
    )
    return bytes(model.SerializeToString())


def _seeds(tmp: Path) -> list[tuple[str, bytes]]:
    state = pickle.dumps({"w": [1.0, 2.0], "name": "모델", "n": 3}, protocol=2)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "auto_map": {"AutoModel": "modeling.Model"},
        "chat_template": "{{ messages[0].content }}",
        "_name_or_path": "org/model",
    }
    return [
        ("model.safetensors", _safetensors()),
        ("model.gguf", _gguf(tmp)),
        ("weights.npy", _npy(np.arange(12, dtype=np.float32).reshape(3, 4))),
        ("objects.npy", _npy(np.array([{"a": 1}, None], dtype=object))),
        ("arrays.npz", _npz()),
        ("state.pkl", state),
        ("evil.pkl", EVIL),
        ("model.onnx", _onnx()),
        ("model.pt", _zip({"m/data.pkl": state, "m/data/0": bytes(16), "m/version": b"3\n"})),
        (
            "model.keras",
            _zip({"config.json": b'{"class_name": "Sequential"}', "metadata.json": b"{}"}),
        ),
        (
            "bundle.zip",
            _zip({"a/evil.pkl": EVIL, "b/app.py": b"import openai\n"}, zipfile.ZIP_STORED),
        ),
        ("bundle.tar", _tar({"m/model.safetensors": _safetensors(), "m/evil.pkl": EVIL})),
        ("bundle.tar.gz", gzip.compress(_tar({"x/state.pkl": state}), mtime=0)),
        ("config.json", json.dumps(config).encode()),
    ]


_HUGE = (
    0xFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    1 << 40,
    0x7FFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_FFFF_FFFF,
)
_WIDTHS = {2: "H", 4: "I", 8: "Q"}
_DIGITS = re.compile(rb"[0-9]+")


@st.composite
def _damage(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        size = len(out)
        # Headers hold the length fields: favour the first bytes.
        pos = draw(st.one_of(st.integers(0, min(size, 64)), st.integers(0, size)))
        op = draw(st.sampled_from(["flip", "truncate", "inflate", "decimal", "insert", "repeat"]))
        if op == "flip" and pos < size:
            out[pos] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del out[pos:]
        elif op == "inflate":
            width = draw(st.sampled_from(sorted(_WIDTHS)))
            value = draw(st.sampled_from(_HUGE)) & ((1 << (8 * width)) - 1)
            order = draw(st.sampled_from("<>"))
            out[pos : pos + width] = struct.pack(order + _WIDTHS[width], value)
        elif op == "decimal":
            runs = list(_DIGITS.finditer(out))
            if runs:
                run = draw(st.sampled_from(runs))
                big = draw(st.sampled_from([b"9" * 20, b"4294967296", b"-1", b"1e308", b"0" * 400]))
                out[run.start() : run.end()] = big
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif op == "repeat" and pos < size:
            chunk = bytes(out[pos : pos + draw(st.integers(1, 64))])
            out[pos:pos] = chunk * draw(st.integers(1, 50))
    return bytes(out)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    return _seeds(tmp_path_factory.mktemp("fuzz-seeds"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-scan")


def _scan_one(root: Path, name: str, data: bytes) -> None:
    for old in root.iterdir():
        old.unlink()
    (root / name).write_bytes(data)
    with within(TIME_LIMIT), peak_bytes() as peak:
        result = scan(root, workers=1)
    crashed = [f for f in result.findings if f.rule == "scan.analyzer-error"]
    assert not crashed, f"{name}: {[f.message for f in crashed]}"
    assert peak[0] < MEMORY_LIMIT, f"{name}: {peak[0] / 1e6:.0f} MB allocated"


def test_seeds_scan_cleanly(seeds: list[tuple[str, bytes]], workdir: Path) -> None:
    """The undamaged seeds are read as what they are (so damage reaches the parsers)."""
    for name, data in seeds:
        _scan_one(workdir, name, data)


def test_damaged_model_files_never_crash_the_scanner(
    seeds: list[tuple[str, bytes]], workdir: Path
) -> None:
    @fuzz(300)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        name, seed = data.draw(st.sampled_from(seeds), label="seed")
        damaged = data.draw(_damage(seed), label="damaged")
        _scan_one(workdir, name, damaged)

    check()


@fuzz(100)
@given(
    blob=st.binary(max_size=2048),
    name=st.sampled_from(
        [
            "x.pkl",
            "x.safetensors",
            "x.gguf",
            "x.npy",
            "x.onnx",
            "x.zip",
            "x.tar",
            "x.gz",
            "x.keras",
            "x.pt",
        ]
    ),
)
def test_random_bytes_under_model_names_never_crash_the_scanner(
    blob: bytes, name: str, workdir: Path
) -> None:
    _scan_one(workdir, name, blob)


# --- found by fuzzing: kept as plain examples -------------------------------------------------


def _patched_directory(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with `old` replaced by `new` (same length) in the zip's central directory only."""
    directory = data.index(b"PK\x01\x02")
    return data[:directory] + data[directory:].replace(old, new, 1)


def test_a_zip_version_zipfile_does_not_know_is_a_parse_error(workdir: Path) -> None:
    """zipfile raises NotImplementedError ("zip file version 8.4") opening such an archive;
    it escaped the walker and the archive's members went unscanned."""
    data = _zip({"a/evil.pkl": EVIL}, zipfile.ZIP_STORED)
    directory = data.index(b"PK\x01\x02")
    damaged = data[: directory + 6] + b"\x54" + data[directory + 7 :]  # version needed: 8.4
    _scan_one(workdir, "bundle.zip", damaged)
    result = scan(workdir, workers=1)
    assert [(f.rule, f.message) for f in result.findings] == [
        ("archive.parse-error", "bad zip: zip file version 8.4")
    ]


@pytest.mark.parametrize("name", ["bundle.zip", "model.pt"])
def test_a_member_name_that_starts_with_nul_is_not_a_crash(workdir: Path, name: str) -> None:
    """zipfile cuts names at NUL, so `"\\x00x.bin"` becomes `""`, and `ZipInfo.is_dir()`
    (`filename[-1]`) raised IndexError in the walker and the PyTorch analyzer."""
    members = {"m/data.pkl": pickle.dumps({"a": 1}, protocol=2), "m/x.bin": b"x"}
    damaged = _patched_directory(_zip(members), b"m/x.bin", b"\x00/x.bin")
    _scan_one(workdir, name, damaged)
