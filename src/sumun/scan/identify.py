"""Format names from content, not from file names.

An attacker names a pickle `weights.safetensors` or `logo.png`; a scanner that trusts extensions
skips it. `identify` looks at magic bytes first and returns every format a file *is*: a file that
starts as a pickle and ends with a zip central directory is both, and both get analyzed (a
loader may take either view of it). Extensions are used for two things only:

- source code and configuration (`.py`, `.yaml`, `requirements.txt`, …), when the bytes are
  text (valid UTF-8, no NUL) — a `.py` that is binary is identified by its magic instead, and
  goes to the code analyzer only when no magic matches (it then reports the bad bytes);
- a fallback for files whose magic matches nothing, so a truncated `model.safetensors` still
  reaches the safetensors analyzer and gets its `safetensors.parse-error` finding.

Zip archives are sub-typed by their member names: `*/data.pkl` is a PyTorch checkpoint, only
`*.npy` members an `.npz`, `config.json` with `metadata.json` or `model.weights.h5` a Keras v3
file; any other zip is a generic archive the walker opens.

Two model formats have no magic number and are recognised otherwise: TensorFlow's
`saved_model.pb` / `keras_metadata.pb` by their fixed file names (`tensorflow`), and a Keras model
serialized as JSON by the shape of its first key (`keras-json`, instead of `json`).

Names returned (stable): pickle pytorch npy npz safetensors gguf onnx keras hdf5 keras-json
tensorflow zip tar gzip bz2 xz zlib zstd python javascript typescript java kotlin go env yaml
json toml properties ini gomod requirements empty unknown.
"""

from __future__ import annotations

import posixpath
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable
from typing import IO

from sumun.scan.model import Source
from sumun.scan.registry import Registry, default_registry

__all__ = [
    "ARCHIVE_FORMATS",
    "ARCHIVE_MODEL_FORMATS",
    "CODE_FORMATS",
    "COMPRESSED_FORMATS",
    "DATA_FORMATS",
    "MAX_ZIP_ENTRIES",
    "MODEL_FORMATS",
    "PICKLE_FAMILY",
    "ZIP_ERRORS",
    "claimed_formats",
    "code_format",
    "identify",
    "is_text",
    "zip_entry_count",
    "zip_members",
    "zip_subtype",
]

# Generic containers the walker opens and recurses into.
ARCHIVE_FORMATS = frozenset({"zip", "tar"})
COMPRESSED_FORMATS = frozenset({"gzip", "bz2", "xz", "zlib", "zstd"})
# Formats whose files become AI-BOM components with a SHA-256 (when an analyzer adds none).
MODEL_FORMATS = frozenset(
    {
        "pickle",
        "pytorch",
        "safetensors",
        "gguf",
        "onnx",
        "keras",
        "hdf5",
        "keras-json",
        "tensorflow",
    }
)
# Model formats that are zip archives read by their analyzer, not expanded by the walker: their
# member names still get the walker's path-traversal check (`walk.traversal_findings`).
ARCHIVE_MODEL_FORMATS = frozenset({"pytorch", "npz", "keras"})
DATA_FORMATS = frozenset({"npy", "npz"})
# Formats that execute code when loaded the usual way.
PICKLE_FAMILY = frozenset({"pickle", "pytorch", "npy", "npz"})

_CODE_EXTENSIONS = {
    ".py": "python",
    ".pyw": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescript",
    ".java": "java",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".go": "go",
    ".env": "env",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".ipynb": "json",
    ".toml": "toml",
    ".properties": "properties",
    ".ini": "ini",
    ".cfg": "ini",
}
# Dependency manifests: which AI SDKs a project pulls in.
_CODE_NAMES = {"go.mod": "gomod"}
CODE_FORMATS = frozenset(_CODE_EXTENSIONS.values()) | {"gomod", "requirements"}

# What a file name claims. Used as the fallback for unrecognised bytes and to notice disguise.
_CLAIMS: dict[str, frozenset[str]] = {
    ".pkl": frozenset({"pickle", "pytorch"}),
    ".pickle": frozenset({"pickle"}),
    ".joblib": frozenset({"pickle", "zlib", "gzip", "bz2", "xz"}),
    ".dill": frozenset({"pickle"}),
    ".pt": frozenset({"pytorch", "pickle"}),
    ".pth": frozenset({"pytorch", "pickle"}),
    ".ckpt": frozenset({"pytorch", "pickle"}),
    ".bin": frozenset({"pytorch", "pickle", "safetensors"}),
    ".npy": frozenset({"npy"}),
    ".npz": frozenset({"npz", "zip"}),
    ".safetensors": frozenset({"safetensors"}),
    ".gguf": frozenset({"gguf"}),
    ".onnx": frozenset({"onnx"}),
    ".keras": frozenset({"keras", "zip"}),
    ".h5": frozenset({"hdf5"}),
    ".hdf5": frozenset({"hdf5"}),
    ".zip": frozenset({"zip"}),
    ".tar": frozenset({"tar"}),
    ".gz": frozenset({"gzip"}),
    ".tgz": frozenset({"gzip"}),
    ".bz2": frozenset({"bz2"}),
    ".xz": frozenset({"xz"}),
    ".zst": frozenset({"zstd"}),
    # Extensions that claim a harmless type: a pickle wearing one is disguised.
    ".png": frozenset({"image"}),
    ".jpg": frozenset({"image"}),
    ".jpeg": frozenset({"image"}),
    ".gif": frozenset({"image"}),
    ".txt": frozenset({"text"}),
    ".md": frozenset({"text"}),
    ".csv": frozenset({"text"}),
    ".pdf": frozenset({"document"}),
}
# Fallback dispatch for bytes no magic matches (truncated, zero-length, corrupt): the analyzer
# the name claims, so the damage is reported in that format's terms. Ambiguous names (`.bin`)
# have no fallback: random `.bin` files are common and would only add noise.
_FALLBACK = {
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
    ".dill": "pickle",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".ckpt": "pytorch",
    ".npy": "npy",
    ".npz": "npz",
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".onnx": "onnx",
    ".keras": "keras",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
}

# TensorFlow's protobuf files have no magic number: known by name (tensorflow/python/saved_model/
# constants.py SAVED_MODEL_FILENAME_PB; keras/saving/saved_model/constants.py SAVED_METADATA_PATH).
_TENSORFLOW_NAMES = frozenset({"saved_model.pb", "keras_metadata.pb"})
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_EMPTY = b"PK\x05\x06"
_EOCD = b"PK\x05\x06"
_EOCD_MIN = 22
_EOCD_SEARCH = 65_535 + _EOCD_MIN
_HDF5 = b"\x89HDF\r\n\x1a\n"
MAX_ZIP_ENTRIES = 100_000
# What `zipfile` raises on a damaged archive, opening it or reading a member: a version or
# compression method it does not know (NotImplementedError: "zip file version 8.4"), a
# password needed (RuntimeError), bad fields (struct.error, OverflowError), bad deflate data.
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    struct.error,
    zlib.error,
)


def _extension(name: str) -> str:
    base = posixpath.basename(name).lower()
    if base == ".env" or base.startswith(".env."):
        return ".env"
    if base.endswith(".env"):
        return ".env"
    return posixpath.splitext(base)[1]


def claimed_formats(name: str) -> frozenset[str]:
    """What the file name claims the content is (empty when the extension says nothing)."""
    code = code_format(name)
    if code is not None:
        return frozenset({code})
    return _CLAIMS.get(_extension(name), frozenset())


def code_format(name: str) -> str | None:
    """The code/config format a file name claims (`python`, `yaml`, …), if any."""
    base = posixpath.basename(name).lower()
    if base in _CODE_NAMES:
        return _CODE_NAMES[base]
    if base.startswith("requirements") and base.endswith(".txt"):
        return "requirements"
    return _CODE_EXTENSIONS.get(_extension(name))


def is_text(head: bytes) -> bool:
    """UTF-8 without NULs. `head` may end inside a multi-byte character (it is a prefix)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A prefix cut mid-character fails only in its last 3 bytes.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _sniff(registry: Registry, name: str, head: bytes) -> bool | None:
    """The format module's own sniffer; None when that module is absent or its sniffer fails."""
    try:
        sniff = registry.sniffer(name)
        return None if sniff is None else bool(sniff(head))
    except Exception:  # a broken sniffer must not stop identification; the fallback decides
        return None


def _looks_like_pickle(head: bytes) -> bool:
    # Protocol 2+ pickles open with PROTO n; older protocols are left to the pickle module.
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _looks_like_safetensors(head: bytes) -> bool:
    if len(head) < 10:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 2 <= length < 1 << 40 and head[8:9] == b"{"


_PREFIXES = (
    (b"\x93NUMPY", "npy"),
    (b"GGUF", "gguf"),
    (_HDF5, "hdf5"),
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def _prefixed(head: bytes) -> str | None:
    for prefix, fmt in _PREFIXES:
        if head.startswith(prefix):
            return fmt
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return "bz2"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _zlib(head: bytes, name: str) -> bool:
    # A bare zlib stream has no real magic (0x78 + a checksum byte), so only where the name
    # says it may be one: joblib's compressed pickles.
    return (
        _extension(name) in {".joblib", ".z", ".zlib", ".pkl"}
        and len(head) >= 2
        and head[0] == 0x78
        and (head[0] << 8 | head[1]) % 31 == 0
    )


def zip_entry_count(stream: IO[bytes]) -> int | None:
    """The entry count the end-of-central-directory record declares (zip64 aware), read from
    the tail without parsing the directory; None when there is no such record."""
    try:
        size = stream.seek(0, 2)
        start = max(0, size - _EOCD_SEARCH)
        stream.seek(start)
        tail = stream.read(_EOCD_SEARCH)
    except (OSError, ValueError):
        return None
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_MIN:
        return None
    (count,) = struct.unpack_from("<H", tail, at + 10)
    locator = at - 20
    if count == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        (record,) = struct.unpack_from("<Q", tail, locator + 8)
        try:
            stream.seek(record)
            zip64 = stream.read(56)
        except (OSError, ValueError, OverflowError):
            return None
        if len(zip64) == 56 and zip64.startswith(b"PK\x06\x06"):
            (count,) = struct.unpack_from("<Q", zip64, 32)
    return int(count)


def zip_members(stream: IO[bytes]) -> list[str] | None:
    """Member names from the central directory; None when it cannot be read or lists more
    than 100,000 entries (`zipfile` would hold them all in memory: a bomb of its own)."""
    count = zip_entry_count(stream)
    if count is not None and count > MAX_ZIP_ENTRIES:
        return None
    try:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            return [info.filename for info in archive.infolist()]
    except ZIP_ERRORS:
        return None


def zip_subtype(members: Iterable[str]) -> str:
    """`pytorch`, `npz`, `keras` or `zip` from member names (see the module docstring)."""
    names = [m for m in members if not m.endswith("/")]
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "pytorch"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    top = set(names)
    if "config.json" in top and ("metadata.json" in top or "model.weights.h5" in top):
        return "keras"
    return "zip"


def _has_trailing_zip(source: Source) -> bool:
    """Whether an end-of-central-directory record sits in the file's tail (a zip polyglot)."""
    if source.size < _EOCD_MIN:
        return False
    try:
        with source.open() as stream:
            start = max(0, source.size - _EOCD_SEARCH)
            stream.seek(start)
            tail = stream.read(_EOCD_SEARCH)
    except OSError:
        return False
    return _EOCD in tail


def _zip_kind(source: Source, claims: frozenset[str]) -> str:
    try:
        with source.open() as stream:
            members = zip_members(stream)
    except OSError:
        members = None
    if members is None:
        # Unreadable directory: let the claimed analyzer report the damage in its own terms.
        for fmt in ("pytorch", "npz", "keras"):
            if fmt in claims:
                return fmt
        return "zip"
    return zip_subtype(members)


def _trailing_zip_kind(source: Source) -> str | None:
    """The zip kind of a zip appended to other content; None unless it has members (a stray
    end-of-directory record in tensor data is an "empty zip" to `zipfile`, not a polyglot)."""
    try:
        with source.open() as stream:
            members = zip_members(stream)
    except OSError:
        return None
    return zip_subtype(members) if members else None


_MAX_TAR_MEMBERS = 10_000
_TAR_ZIP_ERRORS: tuple[type[BaseException], ...] = (
    *ZIP_ERRORS,
    tarfile.TarError,
    OSError,
    ValueError,
    EOFError,
)


def _zip_is_a_tar_member(source: Source) -> bool:
    """Whether the zip that `zipfile` finds at the end of a tar lies inside one regular member's
    data (a `.tar`/`.tar.gz` of a PyTorch checkpoint): the tar loader and `zipfile` then read the
    same bytes, and the member is scanned as such. A zip outside every member (appended after
    the tar's end, or spanning headers) stays a polyglot."""
    try:
        with source.open() as stream:
            with zipfile.ZipFile(stream) as archive:
                infos = archive.infolist()
                if not infos:
                    return False
                start = min(info.header_offset for info in infos)
                directory = archive.start_dir
            stream.seek(0)
            with tarfile.open(fileobj=stream, mode="r:") as tar:
                for count, member in enumerate(tar):
                    if count >= _MAX_TAR_MEMBERS:
                        return False
                    end = member.offset_data + member.size
                    if member.isreg() and member.offset_data <= start and directory < end:
                        return True
    except _TAR_ZIP_ERRORS:
        return False
    return False


def _magic(source: Source, registry: Registry, claims: frozenset[str]) -> str | None:
    head = source.head
    if head.startswith((_ZIP_LOCAL, _ZIP_EMPTY)):
        return _zip_kind(source, claims)
    found = _prefixed(head)
    if found is None:
        pickle = _sniff(registry, "pickle", head)
        if pickle if pickle is not None else _looks_like_pickle(head):
            found = "pickle"
    if found is None:
        safetensors = _sniff(registry, "safetensors", head)
        if safetensors if safetensors is not None else _looks_like_safetensors(head):
            found = "safetensors"
    if found is None and _zlib(head, source.member or source.path):
        found = "zlib"
    return found


def identify(source: Source, registry: Registry | None = None) -> tuple[str, ...]:
    """Every format `source` is, most telling first; `("unknown",)` when none; never raises.

    Reads `source.head`, and for zips and possible polyglots the central directory / the last
    64 KiB of the stream.
    """
    reg = registry if registry is not None else default_registry()
    name = source.member or source.path
    claims = claimed_formats(name)
    if source.size == 0:
        fallback = _FALLBACK.get(_extension(name))
        return (fallback,) if fallback else ("empty",)
    code = code_format(name)
    if code is not None and is_text(source.head):
        if code == "json" and _sniff(reg, "keras-json", source.head):
            return ("keras-json",)
        return (code,)
    found = _magic(source, reg, claims)
    if found is None and posixpath.basename(name).lower() in _TENSORFLOW_NAMES:
        found = "tensorflow"
    if found is None and not is_text(source.head) and _sniff(reg, "onnx", source.head):
        found = "onnx"
    names: list[str] = [found] if found is not None else []
    if found not in (None, "zip", "pytorch", "npz", "keras") and _has_trailing_zip(source):
        extra = _trailing_zip_kind(source)
        # A zip inside one tar member's data is that member, read alike by both loaders.
        inside_tar = found == "tar" and _zip_is_a_tar_member(source)
        if extra is not None and extra != found and not inside_tar:
            names.append(extra)
    if names:
        return tuple(names)
    # Nothing binary matched: a code name with undecodable bytes goes to its analyzer, which
    # reports the damage (`python.parse-error`); likewise a model name with broken content.
    fallback = code or _FALLBACK.get(_extension(name))
    return (fallback,) if fallback else ("unknown",)
