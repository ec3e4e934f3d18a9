"""Keras: `.keras` archives written as Keras 3 writes them and legacy `.h5` files written with
h5py as Keras 2 writes them — Lambda layers wherever they hide, foreign modules, custom objects,
bounded reading, the missing-h5py path, and fuzzing."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sumun.scan.formats import keras
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_formats as gen
from tests.scan.formats.corpus_check import corpus_failures


def _source(data: bytes, path: str = "model.keras") -> Source:
    return Source(path, len(data), data[:4096], lambda: io.BytesIO(data))


def _h5(tmp_path: Path, config: dict[str, Any] | None, name: str = "m.h5") -> Source:
    path = tmp_path / name
    gen.write_h5(path, config)
    data = path.read_bytes()
    return _source(data, name)


def _rules(result: FileResult) -> list[tuple[str, Severity]]:
    return [(f.rule, f.severity) for f in result.findings]


def _props(result: FileResult) -> dict[str, str]:
    (component,) = result.components
    return dict(component.properties)


# --- .keras --------------------------------------------------------------------------------------
def test_a_plain_sequential_model() -> None:
    config = gen.k3_sequential("mlp", [gen.k3_dense("dense", 8), gen.k3_dense("out", 1)])
    result = keras.analyze(_source(gen.keras_zip_bytes(config)))
    assert result.format == "keras"
    assert result.findings == []
    (component,) = result.components
    assert component.name == "mlp"
    props = dict(component.properties)
    assert props["format"] == "keras"
    assert props["model_class"] == "Sequential"
    assert props["keras_version"] == "3.6.0"
    assert props["layers"] == "4"  # the model, its input and two Dense layers
    assert props["layer_classes"] == "Dense,InputLayer,Sequential"


def test_a_lambda_with_process_calls_is_critical_and_located() -> None:
    config = gen.k3_sequential("m", [gen.k3_lambda("lam", gen.EVIL_LAMBDA)])
    (finding,) = keras.analyze(_source(gen.keras_zip_bytes(config))).findings
    assert (finding.rule, finding.severity) == ("keras.lambda-layer", Severity.CRITICAL)
    assert "at config.layers[1].config.function" in finding.message
    assert "marshalled Python bytecode that references __import__, system" in finding.message


@pytest.mark.parametrize(
    "config",
    [
        gen.k3_sequential("m", [gen.k3_lambda("lam", gen.BENIGN_LAMBDA)]),
        gen.k3_functional(
            "f",
            [gen.k3_wrapper("TimeDistributed", "td", gen.k3_lambda("l", gen.BENIGN_LAMBDA))],
        ),
        gen.k3_functional(
            "outer", [gen.k3_sequential("inner", [gen.k3_lambda("l", gen.BENIGN_LAMBDA)])]
        ),
        gen.k3_sequential(
            "m",
            [
                gen.k3_wrapper(
                    "Bidirectional",
                    "bi",
                    gen.k3_wrapper("TimeDistributed", "td", gen.k3_lambda("l", gen.BENIGN_LAMBDA)),
                )
            ],
        ),
    ],
    ids=["top-level", "in-wrapper", "in-nested-model", "wrapper-in-wrapper"],
)
def test_a_lambda_is_high_wherever_it_hides(config: dict[str, Any]) -> None:
    result = keras.analyze(_source(gen.keras_zip_bytes(config)))
    assert _rules(result) == [("keras.lambda-layer", Severity.HIGH)]
    assert "holds marshalled Python bytecode (arbitrary code)" in result.findings[0].message
    assert _props(result)["lambda_layers"] == "1"


def test_lambda_output_shape_and_mask_functions_are_lambdas_too() -> None:
    code = gen.lambda_code("lambda s: s")
    layer = gen.k3_layer(
        "Lambda",
        "l",
        function={"module": "keras.ops", "class_name": "function", "config": "relu"},
        output_shape={
            "class_name": "__lambda__",
            "config": {"code": code},
        },
    )
    result = keras.analyze(_source(gen.keras_zip_bytes(gen.k3_sequential("m", [layer]))))
    assert _rules(result) == [("keras.lambda-layer", Severity.HIGH)]
    assert "config.output_shape" in result.findings[0].message


@pytest.mark.parametrize(
    ("node", "rule", "severity", "text"),
    [
        (
            {"module": "builtins", "class_name": "function", "config": "exec"},
            "keras.dangerous-module",
            Severity.CRITICAL,
            "import builtins.exec",
        ),
        (
            {"module": "os", "class_name": "function", "config": "system"},
            "keras.dangerous-module",
            Severity.CRITICAL,
            "import os.system",
        ),
        (
            {"module": "subprocess.run", "class_name": "Popen", "config": {}},
            "keras.dangerous-module",
            Severity.CRITICAL,
            "import subprocess.run.Popen",
        ),
        (
            {
                "module": "keras.config",
                "class_name": "function",
                "config": "enable_unsafe_deserialization",
            },
            "keras.dangerous-module",
            Severity.CRITICAL,
            "turns safe mode off",
        ),
        (
            {"module": "keras.utils", "class_name": "function", "config": "get_file"},
            "keras.dangerous-module",
            Severity.CRITICAL,
            "downloads and writes files",
        ),
        (
            {"module": "my_lab.layers", "class_name": "Fancy", "config": {}},
            "keras.custom-object",
            Severity.MEDIUM,
            "names my_lab.layers.Fancy",
        ),
        (
            {"class_name": "function", "config": "x", "registered_name": "kgcnn>shifted_softplus"},
            "keras.custom-object",
            Severity.MEDIUM,
            "custom object 'kgcnn>shifted_softplus'",
        ),
    ],
)
def test_modules_outside_keras(
    node: dict[str, Any], rule: str, severity: Severity, text: str
) -> None:
    config = gen.k3_sequential("m", [gen.k3_dense("d", 2, activation=node)])
    result = keras.analyze(_source(gen.keras_zip_bytes(config)))
    assert _rules(result) == [(rule, severity)]
    assert text in result.findings[0].message


@pytest.mark.parametrize(
    "module",
    ["keras.activations", "keras.src.models.functional", "keras_hub.src.models", "tf_keras"],
)
def test_keras_modules_are_fine(module: str) -> None:
    node = {"module": module, "class_name": "function", "config": "relu", "registered_name": "relu"}
    config = gen.k3_sequential("m", [gen.k3_dense("d", 2, activation=node)])
    assert keras.analyze(_source(gen.keras_zip_bytes(config))).findings == []


def test_safe_builtins_are_fine() -> None:
    node = {"module": "builtins", "class_name": "function", "config": "max"}
    config = gen.k3_sequential("m", [gen.k3_dense("d", 2, activation=node)])
    assert keras.analyze(_source(gen.keras_zip_bytes(config))).findings == []


def test_torch_module_wrapper_is_high() -> None:
    layer = gen.k3_layer("TorchModuleWrapper", "w", module="gASV")
    result = keras.analyze(_source(gen.keras_zip_bytes(gen.k3_sequential("m", [layer]))))
    assert _rules(result) == [("keras.torch-module", Severity.HIGH)]


def test_many_findings_are_capped_with_a_summary() -> None:
    layers = [gen.k3_lambda(f"l{i}", gen.BENIGN_LAMBDA) for i in range(25)]
    result = keras.analyze(_source(gen.keras_zip_bytes(gen.k3_sequential("m", layers))))
    assert len(result.findings) == 21
    assert result.findings[-1].message == "5 more findings"
    assert result.findings[-1].severity is Severity.HIGH


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "File is not a zip file"),
        (_zip({"metadata.json": b"{}"}), "no config.json: not a Keras 3 model archive"),
        (_zip({"config.json": b"{oops"}), "Expecting property name"),
        (_zip({"config.json": b"\xff\xfe"}), "codec can't decode"),
        (_zip({"config.json": b"[" * 100_000 + b"]" * 100_000}), "cannot read the archive"),
    ],
)
def test_broken_archives_are_parse_errors(data: bytes, message: str) -> None:
    result = keras.analyze(_source(data))
    assert _rules(result) == [("keras.parse-error", Severity.MEDIUM)]
    assert message in result.findings[0].message


def test_a_config_bomb_is_refused_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras, "_CONFIG_LIMIT", 1 << 20)
    bomb = _zip({"config.json": b" " * (2 << 20) + b"{}"})
    assert len(bomb) < 10_000
    result = keras.analyze(_source(bomb))
    assert "config.json is 2097154 bytes (limit 1048576)" in result.findings[0].message


def test_an_archive_listing_too_many_members_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras, "_MAX_MEMBERS", 50)
    members = {f"assets/{i}.txt": b"" for i in range(60)}
    members["config.json"] = b"{}"
    result = keras.analyze(_source(_zip(members)))
    assert "the archive lists 61 members (limit 50)" in result.findings[0].message


def test_too_deep_configurations_are_parse_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras, "_MAX_DEPTH", 50)
    deep: dict[str, Any] = {"class_name": "Dense", "config": {"name": "d"}}
    for _ in range(60):
        deep = {"class_name": "Wrapper", "config": {"name": "w", "layer": deep}}
    result = keras.analyze(_source(gen.keras_zip_bytes(deep)))
    assert ("keras.parse-error", Severity.MEDIUM) in _rules(result)
    assert "too large or too deep" in result.findings[0].message


# --- legacy HDF5 ---------------------------------------------------------------------------------
def test_a_keras2_h5_model(tmp_path: Path) -> None:
    config = gen.k2_sequential("legacy", [gen.k2_layer("Dense", "dense", units=8)])
    source = _h5(tmp_path, config)
    assert keras.sniff(source.head)
    result = keras.analyze(source)
    assert result.format == "keras-h5"
    assert result.findings == []
    (component,) = result.components
    assert component.name == "legacy"
    assert dict(component.properties)["keras_version"] == "2.12.0"


def test_keras2_lambdas_and_named_functions(tmp_path: Path) -> None:
    lam = gen.k2_lambda("lam", gen.EVIL_LAMBDA)
    result = keras.analyze(_h5(tmp_path, gen.k2_sequential("m", [lam])))
    assert _rules(result) == [("keras.lambda-layer", Severity.CRITICAL)]

    named = gen.k2_layer("Lambda", "l", function="system", function_type="function", module="os")
    result = keras.analyze(_h5(tmp_path, gen.k2_sequential("m", [named]), "named.h5"))
    assert _rules(result) == [("keras.dangerous-module", Severity.CRITICAL)]
    assert "import os.system" in result.findings[0].message

    main = gen.k2_layer(
        "Lambda", "l", function="my_fn", function_type="function", module="__main__"
    )
    result = keras.analyze(_h5(tmp_path, gen.k2_sequential("m", [main]), "main.h5"))
    assert _rules(result) == [("keras.custom-object", Severity.MEDIUM)]

    wrapped = gen.k2_layer("Bidirectional", "b", layer=gen.k2_lambda("in", gen.BENIGN_LAMBDA))
    result = keras.analyze(_h5(tmp_path, gen.k2_sequential("m", [wrapped]), "wrapped.h5"))
    assert _rules(result) == [("keras.lambda-layer", Severity.HIGH)]


def test_weights_only_and_foreign_hdf5(tmp_path: Path) -> None:
    weights = keras.analyze(_h5(tmp_path, None))
    assert weights.findings == []
    assert _props(weights)["format"] == "keras-h5"

    import h5py  # type: ignore[import-untyped]

    path = tmp_path / "science.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("temperature", data=[1.0, 2.0])
    data = path.read_bytes()
    result = keras.analyze(_source(data, "science.h5"))
    assert result == FileResult("keras-h5")


def test_an_oversized_model_config_attribute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keras, "_CONFIG_LIMIT", 1000)
    config = gen.k2_sequential("m", [gen.k2_layer("Dense", f"d{i}", units=1) for i in range(30)])
    result = keras.analyze(_h5(tmp_path, config))
    assert _rules(result) == [("keras.parse-error", Severity.MEDIUM)]
    assert "larger than 1000 bytes" in result.findings[0].message


def test_without_h5py_an_hdf5_file_is_an_info_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _h5(tmp_path, gen.k2_sequential("m", [gen.k2_lambda("l", gen.EVIL_LAMBDA)]))
    monkeypatch.setitem(sys.modules, "h5py", None)
    result = keras.analyze(source)
    assert _rules(result) == [("keras.uninspected", Severity.INFO)]
    assert "h5py is not installed" in result.findings[0].message


@pytest.mark.parametrize(
    "data", [b"", b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4, b"\x89HDF\r\n\x1a\n"]
)
def test_broken_hdf5_is_a_parse_error(data: bytes) -> None:
    result = keras.analyze(_source(data, "broken.h5"))
    assert _rules(result) == [("keras.parse-error", Severity.MEDIUM)]


# --- fuzzing -------------------------------------------------------------------------------------
_VALID_ZIP = gen.keras_zip_bytes(
    gen.k3_functional("f", [gen.k3_wrapper("TimeDistributed", "td", gen.k3_dense("d", 2))])
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(_VALID_ZIP) - 1), st.integers(0, 255)), max_size=6),
    st.integers(0, len(_VALID_ZIP)),
)
def test_mutated_archives_never_raise(mutations: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_VALID_ZIP)
    for offset, value in mutations:
        data[offset] = value
    assert isinstance(keras.analyze(_source(bytes(data[:cut]))), FileResult)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["class_name", "config", "module", "registered_name", "name"])
            | st.sampled_from(["function", "function_type", "layer", "layers", "code"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_arbitrary_configurations_never_raise(config: Any) -> None:
    data = _zip({"config.json": json.dumps(config).encode()})
    result = keras.analyze(_source(data))
    assert isinstance(result, FileResult)


@pytest.fixture(scope="module")
def valid_h5(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("h5") / "v.h5"
    gen.write_h5(path, gen.k2_sequential("m", [gen.k2_layer("Dense", "d", units=2)]))
    return path.read_bytes()


def test_mutated_hdf5_never_raises(valid_h5: bytes) -> None:
    """HDF5 is parsed by the C library: a fixed sample of mutations (seeded), not hypothesis."""
    import random

    rng = random.Random(11)
    for _ in range(60):
        data = bytearray(valid_h5)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.choice([len(data), rng.randrange(8, len(data))])
        result = keras.analyze(_source(bytes(data[:cut]), "m.h5"))
        assert isinstance(result, FileResult)


# --- the corpus ----------------------------------------------------------------------------------
def test_corpus_samples_meet_their_labels(format_corpus: tuple[Path, list[gen.Sample]]) -> None:
    assert corpus_failures(format_corpus, (".keras", ".h5"), keras.analyze) == []


@pytest.mark.parametrize(
    ("method", "message"), [(99, "compression method"), (97, "compression method")]
)
def test_unsupported_compression_is_a_parse_error(method: int, message: str) -> None:
    data = bytearray(_zip({"config.json": b"{}"}, zipfile.ZIP_STORED))
    data[8:10] = method.to_bytes(2, "little")  # local header
    central = data.rfind(b"PK\x01\x02")
    data[central + 10 : central + 12] = method.to_bytes(2, "little")
    result = keras.analyze(_source(bytes(data)))
    assert _rules(result) == [("keras.parse-error", Severity.MEDIUM)]
    assert message in result.findings[0].message


def test_an_encrypted_member_is_a_parse_error() -> None:
    data = bytearray(_zip({"config.json": b"{}"}, zipfile.ZIP_STORED))
    data[6] |= 1  # general purpose flag: encrypted
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    result = keras.analyze(_source(bytes(data)))
    assert _rules(result) == [("keras.parse-error", Severity.MEDIUM)]
    assert "encrypted" in result.findings[0].message
