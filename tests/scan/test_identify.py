"""`identify`: content decides, names only for code and as a fallback for broken files."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import struct
import tarfile
import zipfile

import pytest

from sumun.scan.identify import claimed_formats, identify, is_text, zip_subtype
from sumun.scan.model import Source
from sumun.scan.registry import Registry

# No format modules: identification must stand on its own fallbacks.
BARE = Registry(analyzers={}, sniffers={}, folder=None)
EVIL = b"\x80\x04cos\nsystem\n\x8c\necho pwned\x85R."  # bytes only; never unpickled


def src(data: bytes, name: str) -> Source:
    return Source(name, len(data), data[:4096], lambda: io.BytesIO(data))


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def safetensors_bytes() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 4


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}", "x.npy", ("npy",)),
        (b"GGUF\x03\x00\x00\x00" + b"\0" * 16, "m.gguf", ("gguf",)),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 16, "m.h5", ("hdf5",)),
        (safetensors_bytes(), "model.bin", ("safetensors",)),
        (pickle.dumps({"a": 1}, protocol=2), "weights.dat", ("pickle",)),
        (pickle.dumps([1], protocol=5), "x", ("pickle",)),
        (gzip.compress(b"hello", mtime=0), "x.gz", ("gzip",)),
        (bz2.compress(b"hello"), "x.bz2", ("bz2",)),
        (lzma.compress(b"hello"), "x.xz", ("xz",)),
        (b"\x28\xb5\x2f\xfd" + b"\0" * 8, "x.zst", ("zstd",)),
        (b"x\x9c" + b"\0" * 8, "model.joblib", ("zlib",)),
    ],
)
def test_magic_bytes_decide(data: bytes, name: str, expected: tuple[str, ...]) -> None:
    assert identify(src(data, name), BARE) == expected


def test_tar_is_found_by_ustar_magic() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    assert identify(src(buf.getvalue(), "backup"), BARE) == ("tar",)


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"archive/data.pkl": b"x", "archive/data/0": b"\0" * 4}, "pytorch"),
        ({"data.pkl": b"x"}, "pytorch"),
        ({"a.npy": b"x", "b.npy": b"y"}, "npz"),
        ({"config.json": b"{}", "metadata.json": b"{}", "model.weights.h5": b""}, "keras"),
        ({"config.json": b"{}", "model.weights.h5": b""}, "keras"),
        ({"readme.txt": b"x", "a.npy": b"y"}, "zip"),
        ({"docs/data.pkl.txt": b"x"}, "zip"),
    ],
)
def test_zip_subtype_by_member_names(members: dict[str, bytes], expected: str) -> None:
    assert identify(src(zip_bytes(members), "anything.bin"), BARE) == (expected,)
    assert zip_subtype(members) == expected


def test_a_pickle_under_an_image_name_is_a_pickle() -> None:
    assert identify(src(EVIL, "logo.png"), BARE) == ("pickle",)
    assert claimed_formats("logo.png") == frozenset({"image"})


def test_code_needs_the_extension_and_text() -> None:
    assert identify(src(b"import os\nprint('hi')\n", "app.py"), BARE) == ("python",)
    assert identify(src(b"KEY=1\n", ".env"), BARE) == ("env",)
    assert identify(src(b"KEY=1\n", ".env.production"), BARE) == ("env",)
    assert identify(src(b"a: 1\n", "conf.yml"), BARE) == ("yaml",)
    assert identify(src(b"const a = 1;\n", "x.tsx"), BARE) == ("typescript",)
    # Text without a code extension is not code; binary with one is identified by magic.
    assert identify(src(b"import os\n", "notes.txt"), BARE) == ("unknown",)
    assert identify(src(EVIL, "innocent.py"), BARE) == ("pickle",)
    # Undecodable bytes under a code name, no magic: the code analyzer reports the damage.
    assert identify(src(b"x = '\xe9t\xe9'\n", "latin1.py"), BARE) == ("python",)
    assert identify(src(b"requests==2\nopenai>=1\n", "requirements-dev.txt"), BARE) == (
        "requirements",
    )
    assert identify(src(b"module x\n", "go.mod"), BARE) == ("gomod",)
    assert identify(src(b"[a]\nb = 1\n", "setup.cfg"), BARE) == ("ini",)


def test_polyglot_pickle_with_a_zip_appended_is_both() -> None:
    data = EVIL + zip_bytes({"archive/data.pkl": pickle.dumps(1)})
    assert identify(src(data, "model.bin"), BARE) == ("pickle", "pytorch")


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_a_tar_holding_a_checkpoint_is_an_archive_not_a_polyglot() -> None:
    """One byte stream two loaders read differently is a polyglot; a checkpoint (a zip) that
    is one tar member's data is read the same by both — the member is scanned as such."""
    checkpoint = zip_bytes({"archive/data.pkl": pickle.dumps(1)})
    tarred = _tar({"model/checkpoint.pt": checkpoint, "README": b"weights"})
    assert identify(src(tarred, "model.tar"), BARE) == ("tar",)
    appended = _tar({"README": b"weights"}) + checkpoint  # after the tar's end: both read it
    assert identify(src(appended, "model.tar"), BARE) == ("tar", "pytorch")


def test_eocd_bytes_without_a_real_zip_are_not_a_polyglot() -> None:
    data = pickle.dumps(b"PK\x05\x06" + b"\0" * 40, protocol=4)
    assert identify(src(data, "x.pkl"), BARE) == ("pickle",)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("model.safetensors", "safetensors"),
        ("model.gguf", "gguf"),
        ("model.onnx", "onnx"),
        ("model.pkl", "pickle"),
        ("model.pt", "pytorch"),
        ("model.keras", "keras"),
        ("model.h5", "hdf5"),
        ("random.bin", "unknown"),
    ],
)
def test_unrecognised_bytes_fall_back_to_the_claimed_format(name: str, expected: str) -> None:
    junk = bytes(range(7, 200)) * 3
    assert identify(src(junk, name), BARE) == (expected,)


def test_zero_length_files() -> None:
    assert identify(src(b"", "model.safetensors"), BARE) == ("safetensors",)
    assert identify(src(b"", "notes.txt"), BARE) == ("empty",)


def test_truncated_zip_falls_back_to_what_the_name_claims() -> None:
    data = zip_bytes({"archive/data.pkl": b"x" * 100})[:60]
    assert identify(src(data, "model.pt"), BARE) == ("pytorch",)
    assert identify(src(data, "bundle.zip"), BARE) == ("zip",)


def sniff_anything_starting_with_q(head: bytes) -> bool:
    return head.startswith(b"Q")


def broken_sniffer(head: bytes) -> bool:
    raise RuntimeError("bug")


def test_the_format_modules_sniffers_are_used_and_their_bugs_contained() -> None:
    registry = Registry(analyzers={}, sniffers={"pickle": sniff_anything_starting_with_q})
    assert identify(src(b"Q" * 20, "x.dat"), registry) == ("pickle",)
    broken = Registry(analyzers={}, sniffers={"pickle": broken_sniffer})
    assert identify(src(pickle.dumps(1, protocol=4), "x.dat"), broken) == ("pickle",)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("한국어 텍스트".encode(), True),
        ("한국어".encode()[:-1], True),  # cut inside the last character
        (b"abc\x00def", False),
        (b"\xff\xfe\xfa text", False),
    ],
)
def test_is_text(head: bytes, expected: bool) -> None:
    assert is_text(head) is expected
