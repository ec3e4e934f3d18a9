"""Keras model JSON (`model.to_json()`, `model_config.json`, `config.json` beside weights): Lambda
bytecode found like in `.keras`/`.h5`; recognised by shape, so Hugging Face `config.json` files
and other JSON keep going to the configuration analyzer."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from sumun.scan.engine import scan
from sumun.scan.formats import keras
from sumun.scan.identify import identify
from sumun.scan.model import Severity, Source
from tests.data.scan import gen_formats, gen_misses


def _source(data: bytes, path: str = "model.json") -> Source:
    return Source(path, len(data), data[:4096], lambda: io.BytesIO(data))


def _json(obj: Any, indent: int | None = None) -> bytes:
    return json.dumps(obj, indent=indent).encode()


_DENSE = gen_formats.k2_layer("Dense", "dense", units=4)


def test_model_to_json_is_identified_and_clean() -> None:
    data = gen_misses.keras2_json([_DENSE])
    source = _source(data)
    assert identify(source) == ("keras-json",)
    result = keras.analyze_json(source)
    assert result.format == "keras-json"
    assert result.findings == []
    props = dict(result.components[0].properties)
    assert (props["format"], props["model_class"], props["keras_version"]) == (
        "keras-json",
        "Sequential",
        "2.12.0",
    )


@pytest.mark.parametrize("indent", [None, 2])
def test_a_lambda_in_model_json_is_code_execution(indent: int | None) -> None:
    model = gen_formats.k2_sequential("m", [gen_formats.k2_lambda("lam", gen_formats.EVIL_LAMBDA)])
    source = _source(_json(model, indent), "weights/config.json")
    assert identify(source) == ("keras-json",)
    (finding,) = keras.analyze_json(source).findings
    assert (finding.rule, finding.severity) == ("keras.lambda-layer", Severity.CRITICAL)
    assert "config.layers[1].config.function" in finding.message


def test_the_tf_keras_tuple_encoding_is_unwrapped() -> None:
    config = gen_misses.tf_keras_lambda_config(gen_formats.EVIL_LAMBDA)
    config.pop("name")
    layer = gen_formats.k2_layer("Lambda", "lam", **config)
    (finding,) = keras.analyze_json(_source(gen_misses.keras2_json([layer]))).findings
    assert (finding.rule, finding.severity) == ("keras.lambda-layer", Severity.CRITICAL)


def test_a_benign_lambda_is_still_high() -> None:
    layer = gen_formats.k2_lambda("lam", gen_formats.BENIGN_LAMBDA)
    (finding,) = keras.analyze_json(_source(gen_misses.keras2_json([layer]))).findings
    assert (finding.rule, finding.severity) == ("keras.lambda-layer", Severity.HIGH)


def test_keras_3_config_json_unzipped() -> None:
    lam = gen_formats.k3_lambda("lam", gen_formats.EVIL_LAMBDA)
    source = _source(_json(gen_formats.k3_sequential("m", [lam])), "config.json")
    assert identify(source) == ("keras-json",)
    (finding,) = keras.analyze_json(source).findings
    assert finding.severity is Severity.CRITICAL


@pytest.mark.parametrize(
    "doc",
    [
        gen_formats.llama_config("acme/llama"),
        {"architectures": ["BertModel"], "class_name": "x", "config": {"layers": []}},
        {"_name_or_path": "x", "model_type": "bert"},
        [{"class_name": "Sequential"}],
    ],
)
def test_hugging_face_and_other_json_stay_json(doc: Any) -> None:
    source = _source(_json(doc, 2), "config.json")
    assert identify(source) == ("json",)


def test_json_shaped_like_keras_but_not_a_model_goes_to_the_config_analyzer() -> None:
    data = _json({"class_name": "Experiment", "config": {"OPENAI_API_KEY": "x"}})
    source = _source(data, "settings.json")
    assert identify(source) == ("keras-json",)
    result = keras.analyze_json(source)
    assert result.format == "json"  # what the configuration analyzer returns
    assert not any(f.rule.startswith("keras.") for f in result.findings)


def test_looks_like_keras_json_needs_the_first_key() -> None:
    assert keras.looks_like_keras_json(b'{"class_name": "Sequential"')
    assert keras.looks_like_keras_json(b'\xef\xbb\xbf  {\n "module": "keras", "class_name": "M"')
    assert not keras.looks_like_keras_json(b'{"module": "x", "name": "y"}')
    assert not keras.looks_like_keras_json(b'{"name": "m", "class_name": "Sequential"}')
    assert not keras.looks_like_keras_json(b'["class_name"]')


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (gen_misses.keras2_json([_DENSE])[:50], "model JSON unreadable"),
        (b'{"class_name": "Sequential", "config": {"layers": [' + b"[" * 5000, "unreadable"),
    ],
)
def test_broken_model_json_is_a_parse_error(data: bytes, why: str) -> None:
    (finding,) = keras.analyze_json(_source(data)).findings
    assert (finding.rule, finding.severity) == ("keras.parse-error", Severity.MEDIUM)
    assert why in finding.message


def test_through_the_engine_next_to_weights(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    model = gen_formats.k2_sequential("m", [gen_formats.k2_lambda("l", gen_formats.EVIL_LAMBDA)])
    (folder / "config.json").write_bytes(_json(model, 2))
    gen_formats.write_h5(folder / "weights.h5", None)
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_bytes(_json(gen_formats.llama_config("acme/x"), 2))
    result = scan(tmp_path, workers=1)
    severe = [(f.path, f.rule) for f in result.findings if f.severity >= Severity.HIGH]
    assert severe == [("model/config.json", "keras.lambda-layer")]
    assert result.formats.get("keras-json") == 1


def test_corpus_samples_meet_their_labels(tmp_path: Path) -> None:
    samples = [s for s in gen_misses.generate(tmp_path) if s[2].startswith("Keras JSON:")]
    assert {label for _, label, _ in samples} == {"benign", "malicious", "broken"}
    failed = []
    for rel, label, _ in samples:
        data = (tmp_path / rel).read_bytes()
        source = _source(data, rel)
        names = identify(source)
        result = keras.analyze_json(source) if names == ("keras-json",) else None
        findings = result.findings if result is not None else []
        if not gen_formats.label_holds(label, findings):
            failed.append((rel, label, names, [(f.rule, f.severity.label) for f in findings]))
    assert failed == []
