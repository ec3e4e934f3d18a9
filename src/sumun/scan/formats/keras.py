"""Keras models: `.keras` (Keras 3 zip) and legacy HDF5 `.h5` — Lambda layers and foreign imports.

A Keras model file stores its architecture as JSON: `config.json` inside the `.keras` zip (with
`metadata.json` and `model.weights.h5`), or the `model_config` attribute on the root group of a
legacy `.h5` file (Keras 2, TensorFlow 1/2). The same JSON also travels on its own: Keras 2
`model.to_json()` output saved as `model.json` / `model_config.json` / `config.json` beside
the weights (`model_from_json` rebuilds it), recognised by its shape — `class_name` first, a
`config` with `layers` — not by its name, so Hugging Face `config.json` files are not taken
for it (`analyze_json`); and in TensorFlow SavedModels as per-layer metadata
(`config_findings`, used by `tensorflow.py`). Loading rebuilds every object the JSON names:

- a **Lambda** layer stores its Python function as base64 `marshal` bytecode — Keras 3
  `{"class_name": "__lambda__", "config": {"code": …}}`, Keras 2 `"function": [code, defaults,
  closure]` (tf.keras: `{"class_name": "__tuple__", "items": [...]}`) with `"function_type":
  "lambda"` — and loading runs it unless a safe mode refuses
  it (CVE-2024-3660) ⇒ `keras.lambda-layer` (high; critical when the bytecode names process,
  import or file primitives such as `system` or `__import__`). The bytecode is never unmarshalled:
  its identifiers are read as text.
- a `module` field names the Python module to import for a class or function (Keras 3); one
  outside Keras makes loading import it, and a function from `builtins`, `os`, `subprocess`…
  is called during loading (CVE-2025-1550), and so are Keras' own `enable_unsafe_deserialization`
  (CVE-2025-9906) and `get_file` (CVE-2025-8747) ⇒ `keras.dangerous-module` (critical); any other
  foreign module, a Keras 2 Lambda naming a function in a foreign module, or a custom
  `registered_name` (`package>Name`) ⇒ `keras.custom-object` (medium: code from outside the
  file runs, if installed).
- `TorchModuleWrapper` embeds a pickled PyTorch module (`torch.load`) ⇒ `keras.torch-module`
  (high).

The configuration is walked recursively whatever its shape (Sequential, Functional, nested models,
`TimeDistributed`/`Bidirectional` wrappers, custom containers), with caps on depth and size.
HDF5 needs `h5py` (imported lazily); without it a `.h5` file gets an `info` finding. `.keras`
members are read with size caps; the weights file is not opened. Caveat: h5py stores attribute
strings as variable-length data whose size is known only after HDF5 has read it, so a hostile
`.h5` can make the `model_config` read as large as the file (it is refused after reading).
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sumun.scan.model import Component, FileResult, Finding, Severity, Source

__all__ = [
    "HDF5_MAGIC",
    "analyze",
    "analyze_json",
    "config_findings",
    "looks_like_keras_json",
    "sniff",
]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CONFIG_LIMIT = 32 << 20
_METADATA_LIMIT = 1 << 20
_CODE_LIMIT = 1 << 20
_MAX_MEMBERS = 10_000  # a .keras holds three files and its assets
# What reading a damaged or hostile zip can raise: encrypted or unknown compression methods
# (RuntimeError, NotImplementedError), corrupt deflate streams (zlib.error), bad headers.
_ZIP_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    RecursionError,
    RuntimeError,
    NotImplementedError,
    MemoryError,
    struct.error,
    zipfile.BadZipFile,
    zlib.error,
)
_EOCD_SEARCH = 65_535 + 22
_MAX_DEPTH = 200
_MAX_NODES = 500_000
_MAX_FINDINGS = 20
_CAP = 256

_KERAS_ROOTS = frozenset({"keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv"})
_KERAS_PREFIXES = ("tensorflow.keras", "tensorflow.python.keras")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DANGEROUS_MODULES = _words(
    "os posix nt subprocess sys shutil importlib runpy pty socket ctypes pickle marshal code "
    "codeop webbrowser multiprocessing operator functools io pathlib tempfile urllib http "
    "requests dill cloudpickle joblib torch signal pdb timeit platform asyncio threading"
)
# Keras' own functions that undo its safety when a configuration calls them during loading.
_KERAS_GADGETS = {
    "enable_unsafe_deserialization": "it turns safe mode off for the rest of the load "
    "(CVE-2025-9906), so Lambda bytecode then runs",
    "get_file": "it downloads and writes files during loading (CVE-2025-8747)",
}
_SAFE_BUILTINS = _words("abs min max sum len round pow float int bool str tuple list")
# Identifiers that, inside a Lambda's bytecode, mean it does more than tensor maths.
_DANGEROUS_NAMES = _words(
    "system popen Popen exec eval compile __import__ import_module subprocess os builtins "
    "__builtins__ getattr setattr open socket spawn spawnv execv execve check_output "
    "remove unlink rmtree urlopen urlretrieve requests pickle loads marshal ctypes"
)
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{1,63}")


def sniff(head: bytes) -> bool:
    """HDF5 signature at offset 0 (files with a user block put it at 512, 1024, … — not seen in
    Keras files). `.keras` files are zips; the engine tells them apart by their members."""
    return head.startswith(HDF5_MAGIC)


@dataclass(slots=True)
class _Walk:
    findings: list[tuple[Severity, str, str]] = field(default_factory=list)
    layers: int = 0
    lambdas: int = 0
    classes: dict[str, int] = field(default_factory=dict)


def analyze(source: Source) -> FileResult:
    """Findings and one `machine-learning-model` component. Never raises on bad input."""
    if source.head.startswith(HDF5_MAGIC) or (
        not source.head.startswith(b"PK")
        and posixpath.splitext(source.member or source.path)[1].lower() in (".h5", ".hdf5")
    ):
        return _analyze_h5(source)
    return _analyze_zip(source)


# --- .keras (zip) -------------------------------------------------------------------------------
def _analyze_zip(source: Source) -> FileResult:
    result = FileResult("keras")
    try:
        with source.open() as stream:
            _check_directory(stream, source.size)
            with zipfile.ZipFile(stream) as archive:
                names = set(archive.namelist())
                if "config.json" not in names:
                    raise ValueError("no config.json: not a Keras 3 model archive")
                config_text = _member(archive, "config.json", _CONFIG_LIMIT)
                metadata_text = (
                    _member(archive, "metadata.json", _METADATA_LIMIT)
                    if "metadata.json" in names
                    else "{}"
                )
        config = json.loads(config_text)
        metadata = json.loads(metadata_text)
    except _ZIP_ERRORS as exc:
        result.findings.append(
            source.finding(Severity.MEDIUM, "keras.parse-error", f"cannot read the archive: {exc}")
        )
        return result
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    _finish(source, result, config, "keras", version if isinstance(version, str) else None)
    return result


def _check_directory(stream: IO[bytes], size: int) -> None:
    """Refuse an archive whose central directory lists more than `_MAX_MEMBERS` entries before
    `zipfile` loads it all (a `ZipInfo` per entry). Reads the end-of-central-directory record
    (and its zip64 variant) from the last 64 KiB only."""
    tail_size = min(size, _EOCD_SEARCH)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return  # zipfile reports the damage in its own words
    (entries,) = struct.unpack_from("<H", tail, at + 10)
    locator = at - 20
    if entries == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        (record,) = struct.unpack_from("<Q", tail, locator + 8)
        if 0 <= record <= size - 56:
            stream.seek(record)
            zip64 = stream.read(56)
            if zip64[:4] == b"PK\x06\x06":
                (entries,) = struct.unpack_from("<Q", zip64, 32)
    if entries > _MAX_MEMBERS:
        raise ValueError(f"the archive lists {entries} members (limit {_MAX_MEMBERS})")


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> str:
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise ValueError(f"{name} is {info.file_size} bytes (limit {limit})")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{name} is larger than {limit} bytes")
    return data.decode("utf-8")


# --- legacy HDF5 ---------------------------------------------------------------------------------
def _analyze_h5(source: Source) -> FileResult:
    result = FileResult("keras-h5")
    try:
        import h5py
    except ImportError:
        result.findings.append(
            source.finding(
                Severity.INFO,
                "keras.uninspected",
                "HDF5 file not inspected: h5py is not installed (pip install h5py)",
            )
        )
        return result
    try:
        with source.open() as stream, h5py.File(stream, "r") as h5:
            attrs = h5.attrs
            config_raw = _h5_attr(attrs, "model_config", _CONFIG_LIMIT)
            version = _h5_attr(attrs, "keras_version", 256)
            is_keras = (
                config_raw is not None
                or version is not None
                or "layer_names" in attrs
                or "model_weights" in h5
            )
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, RuntimeError, …
        result.findings.append(
            source.finding(
                Severity.MEDIUM, "keras.parse-error", f"cannot read the HDF5 file: {exc}"[:500]
            )
        )
        return result
    if config_raw is None:
        if is_keras:  # weights only: no architecture, nothing that runs
            result.components.append(_component(source, {}, "keras-h5", version, _Walk()))
        return result
    try:
        config = json.loads(config_raw)
    except (ValueError, RecursionError) as exc:
        result.findings.append(
            source.finding(Severity.MEDIUM, "keras.parse-error", f"model_config is not JSON: {exc}")
        )
        return result
    _finish(source, result, config, "keras-h5", version)
    return result


def _h5_attr(attrs: Any, name: str, limit: int) -> str | None:
    """A string attribute, refused when larger than `limit`.

    Fixed-size attributes are checked before reading. h5py writes `str` and `bytes` as
    variable-length strings, whose size HDF5 reports only once read: those are checked after
    reading (bounded by the file size, not by `limit` — see the module caveats).
    """
    if name not in attrs:
        return None
    if attrs.get_id(name).get_storage_size() > limit:
        raise ValueError(f"attribute {name} is larger than {limit} bytes")
    value = attrs[name]
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = value if isinstance(value, str) else str(value)[: limit + 1]
    if len(text) > limit:
        raise ValueError(f"attribute {name} is larger than {limit} bytes")
    return text


# --- Keras model JSON (`model.to_json()`, `model_config.json`, an unzipped `config.json`) ------
_JSON_HEAD = re.compile(r'^\ufeff?\s*\{\s*"(class_name|module)"\s*:')


def looks_like_keras_json(head: bytes) -> bool:
    """A JSON object whose first key is `class_name` (Keras 2 `model.to_json()`) or `module`
    followed by `class_name` (Keras 3 `config.json`). Hugging Face `config.json` files start
    with `_name_or_path`, `architectures` or `model_type`, never with these."""
    text = head[:4096].decode("utf-8", "replace")
    match = _JSON_HEAD.match(text)
    if match is None:
        return False
    return match.group(1) == "class_name" or '"class_name"' in text


def _is_keras_model(config: object) -> bool:
    """The shape of a serialized Keras model: `class_name` + a `config` object holding
    `layers`, or a top level that names its Keras version / module."""
    if not isinstance(config, dict):
        return False
    inner = config.get("config")
    if not isinstance(config.get("class_name"), str) or not isinstance(inner, dict):
        return False
    module = config.get("module")
    return (
        isinstance(inner.get("layers"), list)
        or isinstance(config.get("keras_version"), str)
        or (isinstance(module, str) and _is_keras(module))
    )


def analyze_json(source: Source) -> FileResult:
    """A Keras model serialized as JSON: Lambda bytecode, foreign modules, custom objects, as in
    `.keras` and `.h5` files (`keras.lambda-layer` …). JSON that turns out not to be a Keras
    model goes to the configuration analyzer, as any other JSON file. Never raises."""
    result = FileResult("keras-json")
    try:
        with source.open() as stream:
            data = stream.read(_CONFIG_LIMIT + 1)
        if len(data) > _CONFIG_LIMIT:
            raise ValueError(f"larger than {_CONFIG_LIMIT} bytes")
        config = json.loads(data.decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError) as exc:
        result.findings.append(
            source.finding(Severity.MEDIUM, "keras.parse-error", f"model JSON unreadable: {exc}")
        )
        return result
    if not _is_keras_model(config):
        from sumun.scan.code import config as config_analyzer

        return config_analyzer.analyze(source)
    version = config.get("keras_version")
    _finish(source, result, config, "keras-json", version if isinstance(version, str) else None)
    return result


def config_findings(source: Source, config: object, prefix: str = "") -> list[Finding]:
    """The findings for one Keras configuration tree (a layer's metadata in a TensorFlow
    SavedModel, …), located under `prefix`."""
    walk = _Walk()
    out: list[Finding] = []
    try:
        _walk_config(config, walk)
    except ValueError as exc:
        out.append(source.finding(Severity.MEDIUM, "keras.parse-error", str(exc)))
    if prefix:
        walk.findings = [
            (sev, rule, f"{prefix}: {message}") for sev, rule, message in walk.findings
        ]
    return out + _findings(source, walk)


# --- the configuration ---------------------------------------------------------------------------
def _finish(
    source: Source, result: FileResult, config: object, fmt: str, version: str | None
) -> None:
    walk = _Walk()
    try:
        _walk_config(config, walk)
    except ValueError as exc:
        result.findings.append(source.finding(Severity.MEDIUM, "keras.parse-error", str(exc)))
    result.findings.extend(_findings(source, walk))
    result.components.append(_component(source, config, fmt, version, walk))


def _nodes(root: object) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON object in the tree with a readable path, depth-first, bounded."""
    stack: list[tuple[object, str, int]] = [(root, "", 0)]
    seen = 0
    while stack:
        node, path, depth = stack.pop()
        seen += 1
        if seen > _MAX_NODES or depth > _MAX_DEPTH:
            raise ValueError(f"model configuration is too large or too deep (at {path[:120]})")
        if isinstance(node, dict):
            yield path, node
            children = list(node.items())
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in children)
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node))


def _walk_config(root: object, walk: _Walk) -> None:
    for path, node in _nodes(root):
        class_name = node.get("class_name")
        inner = node.get("config")
        if (
            isinstance(class_name, str)
            and isinstance(inner, dict)
            and ("trainable" in inner or class_name == "InputLayer")
        ):
            walk.layers += 1
            walk.classes[class_name] = walk.classes.get(class_name, 0) + 1
        if class_name == "__lambda__":
            walk.lambdas += 1
            code = inner.get("code") if isinstance(inner, dict) else None
            _lambda_finding(walk, path, code)
        _keras2_functions(walk, path, node)
        if class_name == "TorchModuleWrapper":
            walk.findings.append(
                (
                    Severity.HIGH,
                    "keras.torch-module",
                    f"TorchModuleWrapper at {path or 'the root'} holds a pickled PyTorch module, "
                    "unpickled with torch.load when the model is loaded",
                )
            )
        module = node.get("module")
        if isinstance(module, str) and isinstance(class_name, str) and "function_type" not in node:
            _module_finding(walk, path, module, inner if class_name == "function" else class_name)
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            walk.findings.append(
                (
                    Severity.MEDIUM,
                    "keras.custom-object",
                    f"custom object {registered[:_CAP]!r} at {path or 'the root'}: loading runs "
                    "its code from the package that registered it",
                )
            )


def _keras2_functions(walk: _Walk, path: str, node: dict[str, Any]) -> None:
    """Keras 2 Lambda: `function`/`output_shape` with `*_type` "lambda" (bytecode) or
    "function" (a name looked up in `module`/`output_shape_module`)."""
    for value_key, type_key, module_key in (
        ("function", "function_type", "module"),
        ("output_shape", "output_shape_type", "output_shape_module"),
    ):
        kind = node.get(type_key)
        value = node.get(value_key)
        if isinstance(value, dict) and value.get("class_name") == "__tuple__":
            value = value.get("items")  # tf.keras' JSON encoding of a tuple (json_utils)
        if kind == "lambda":
            walk.lambdas += 1
            code = value[0] if isinstance(value, list) and value else value
            _lambda_finding(walk, f"{path}.{value_key}" if path else value_key, code)
        elif kind == "function" and isinstance(node.get(module_key), str):
            _module_finding(walk, path, node[module_key], value)


def _lambda_finding(walk: _Walk, path: str, code: object) -> None:
    names = _bytecode_names(code) & _DANGEROUS_NAMES if isinstance(code, str) else set()
    where = path or "the root"
    if names:
        walk.findings.append(
            (
                Severity.CRITICAL,
                "keras.lambda-layer",
                f"Lambda layer at {where} holds marshalled Python bytecode that references "
                f"{', '.join(sorted(names))}: it runs when the model is loaded unless safe mode "
                "refuses it (CVE-2024-3660)",
            )
        )
    else:
        walk.findings.append(
            (
                Severity.HIGH,
                "keras.lambda-layer",
                f"Lambda layer at {where} holds marshalled Python bytecode (arbitrary code) that "
                "runs when the model is loaded unless safe mode refuses it (CVE-2024-3660)",
            )
        )


def _bytecode_names(code: str) -> set[str]:
    """Identifiers in base64 marshal data, read as bytes — never unmarshalled."""
    try:
        raw = base64.b64decode(code[: _CODE_LIMIT * 2], validate=False)
    except (binascii.Error, ValueError):
        return set()
    return {m.group(0).decode("ascii") for m in _IDENTIFIER.finditer(raw[:_CODE_LIMIT])}


def _is_keras(module: str) -> bool:
    return module.split(".", 1)[0] in _KERAS_ROOTS or module.startswith(_KERAS_PREFIXES)


def _module_finding(walk: _Walk, path: str, module: str, what: object) -> None:
    root = module.split(".", 1)[0]
    where = path or "the root"
    name = what if isinstance(what, str) else ""
    if (module == "builtins" and name not in _SAFE_BUILTINS) or root in _DANGEROUS_MODULES:
        walk.findings.append(
            (
                Severity.CRITICAL,
                "keras.dangerous-module",
                f"{where} makes Keras import {module[:_CAP]}.{name[:_CAP]} while loading: a "
                "Python function outside Keras, called during deserialization (CVE-2025-1550)",
            )
        )
    elif _is_keras(module) and name in _KERAS_GADGETS:
        walk.findings.append(
            (
                Severity.CRITICAL,
                "keras.dangerous-module",
                f"{where} calls {module[:_CAP]}.{name} while loading: {_KERAS_GADGETS[name]}",
            )
        )
    elif module != "builtins" and not _is_keras(module):
        walk.findings.append(
            (
                Severity.MEDIUM,
                "keras.custom-object",
                f"{where} names {module[:_CAP]}.{name[:_CAP]}: loading imports that module "
                "(code from outside the model file)",
            )
        )


def _findings(source: Source, walk: _Walk) -> list[Finding]:
    unique = list(dict.fromkeys(walk.findings))
    unique.sort(key=lambda f: -f[0])
    out = [source.finding(sev, rule, msg) for sev, rule, msg in unique[:_MAX_FINDINGS]]
    if len(unique) > _MAX_FINDINGS:
        worst = max(sev for sev, _, _ in unique[_MAX_FINDINGS:])
        out.append(
            source.finding(
                worst, unique[_MAX_FINDINGS][1], f"{len(unique) - _MAX_FINDINGS} more findings"
            )
        )
    return out


def _component(
    source: Source, config: object, fmt: str, version: str | None, walk: _Walk
) -> Component:
    name = ""
    top_class = ""
    if isinstance(config, dict):
        top_class = str(config.get("class_name", ""))[:_CAP]
        inner = config.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            name = inner["name"][:_CAP]
    props: list[tuple[str, str]] = [("format", fmt)]
    if top_class:
        props.append(("model_class", top_class))
    if version:
        props.append(("keras_version", version[:_CAP]))
    if walk.layers:
        props.append(("layers", str(walk.layers)))
        common = sorted(walk.classes.items(), key=lambda item: (-item[1], item[0]))[:32]
        props.append(("layer_classes", ",".join(cls[:64] for cls, _ in common)))
    if walk.lambdas:
        props.append(("lambda_layers", str(walk.lambdas)))
    return Component(
        type="machine-learning-model",
        name=name or posixpath.basename(source.member or source.path),
        path=source.path,
        member=source.member,
        properties=tuple(props),
    )
