"""Hugging Face model folders: the model card's pedigree, auto_map remote code, chat templates
in every place transformers reads them, folders that are not model folders, and fuzzing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sumun.scan.formats import hf
from sumun.scan.model import FileResult, Severity
from tests.data.scan import gen_formats as gen


def _analyze(folder: Path, rel: str = "models/x") -> FileResult:
    files = {p.name: p for p in folder.iterdir() if p.is_file()}
    return hf.analyze_folder(rel, files)


def _rules(result: FileResult) -> list[tuple[str, str, Severity]]:
    return [(f.path, f.rule, f.severity) for f in result.findings]


CARD = {
    "license": "llama3.1",
    "base_model": "meta-llama/Llama-3.1-8B-Instruct",
    "datasets": ["acme-ai/ko-instructions", "HAERAE-HUB/KMMLU"],
    "language": ["ko", "en"],
    "pipeline_tag": "text-generation",
    "library_name": "transformers",
    "tags": ["korean", "chat"],
}


def test_a_complete_model_folder(tmp_path: Path) -> None:
    gen.write_hf_folder(
        tmp_path,
        config=gen.llama_config(
            "acme-ai/llama-ko-chat", quantization_config={"quant_method": "awq"}
        ),
        card=CARD,
        tokenizer={"chat_template": gen.LLAMA3_TEMPLATE},
        extra={"model.safetensors": b"x", "generation_config.json": "{not json"},
    )
    result = _analyze(tmp_path)
    assert result.format == "huggingface"
    assert result.findings == []
    (component,) = result.components
    assert component.type == "machine-learning-model"
    assert (component.name, component.publisher, component.path) == (
        "acme-ai/llama-ko-chat",
        "acme-ai",
        "models/x",
    )
    assert component.license == "llama3.1"
    assert component.base_models == ("meta-llama/Llama-3.1-8B-Instruct",)
    assert component.datasets == ("acme-ai/ko-instructions", "HAERAE-HUB/KMMLU")
    props = dict(component.properties)
    assert props["architectures"] == "LlamaForCausalLM"
    assert props["model_type"] == "llama"
    assert props["language"] == "ko,en"
    assert props["pipeline_tag"] == "text-generation"
    assert props["tags"] == "korean,chat"
    assert props["quantization"] == "awq"
    assert props["weights"] == "model.safetensors"
    assert "remote_code" not in props


def test_names_licenses_and_lists(tmp_path: Path) -> None:
    config = gen.llama_config("/home/me/checkpoints/run-7")  # a local path is not an id
    card = {"license": "other", "license_name": "exaone", "base_model": ["a/b", "c/d", "a/b"]}
    gen.write_hf_folder(tmp_path / "my-model", config=config, card=card)
    (component,) = _analyze(tmp_path / "my-model", "zoo/my-model").components
    assert (component.name, component.publisher) == ("my-model", None)
    assert component.license == "exaone"
    assert component.base_models == ("a/b", "c/d")

    gen.write_hf_folder(tmp_path / "root", card={"library_name": "peft", "datasets": "klue"})
    (component,) = _analyze(tmp_path / "root", "").components
    assert (component.name, component.path, component.datasets) == ("model", ".", ("klue",))


def test_remote_code_names_classes_and_shipped_files(tmp_path: Path) -> None:
    auto_map = {
        "AutoConfig": "configuration_acme.AcmeConfig",
        "AutoModelForCausalLM": "modeling_acme.AcmeForCausalLM",
    }
    gen.write_hf_folder(
        tmp_path,
        config=gen.llama_config("acme-ai/remote", auto_map=auto_map),
        extra={"modeling_acme.py": "import os\n", "configuration_acme.py": "\n"},
    )
    result = _analyze(tmp_path)
    assert _rules(result) == [("models/x/config.json", "hf.remote-code", Severity.HIGH)]
    message = result.findings[0].message
    assert "AutoConfig, AutoModelForCausalLM" in message
    assert "configuration_acme.AcmeConfig, modeling_acme.AcmeForCausalLM" in message
    assert "trust_remote_code=True" in message
    assert "shipped here: configuration_acme.py, modeling_acme.py" in message
    props = dict(result.components[0].properties)
    assert props["remote_code"] == "configuration_acme.AcmeConfig,modeling_acme.AcmeForCausalLM"


def test_remote_code_from_another_repository_and_in_the_tokenizer(tmp_path: Path) -> None:
    gen.write_hf_folder(
        tmp_path,
        config=gen.llama_config("a/b", auto_map={"AutoModel": "evil/repo--modeling_x.XModel"}),
        tokenizer={"auto_map": {"AutoTokenizer": ["tokenization_x.XTokenizer", None]}},
    )
    result = _analyze(tmp_path)
    assert [(p, r) for p, r, _ in _rules(result)] == [
        ("models/x/config.json", "hf.remote-code"),
        ("models/x/tokenizer_config.json", "hf.remote-code"),
    ]
    assert "fetched from other repositories: evil/repo--modeling_x.XModel" in (
        result.findings[0].message
    )
    assert "tokenization_x.XTokenizer" in result.findings[1].message


@pytest.mark.parametrize(
    ("parts", "where", "path"),
    [
        (
            {"tokenizer": {"chat_template": gen.SSTI_TEMPLATES["subclasses-walk"]}},
            "chat_template:",
            "tokenizer_config.json",
        ),
        (
            {
                "tokenizer": {
                    "chat_template": [
                        {"name": "default", "template": gen.QWEN_TEMPLATE},
                        {"name": "tool_use", "template": gen.SSTI_TEMPLATES["lipsum-globals"]},
                    ]
                }
            },
            "chat_template[tool_use]:",
            "tokenizer_config.json",
        ),
        (
            {"extra": {"chat_template.jinja": gen.SSTI_TEMPLATES["template-reference"]}},
            "chat_template.jinja:",
            "chat_template.jinja",
        ),
        (
            {
                "extra": {
                    "chat_template.json": json.dumps(
                        {"chat_template": gen.SSTI_TEMPLATES["hex-escaped-attr"]}
                    )
                }
            },
            "chat_template:",
            "chat_template.json",
        ),
    ],
)
def test_injected_chat_templates(
    tmp_path: Path, parts: dict[str, Any], where: str, path: str
) -> None:
    gen.write_hf_folder(tmp_path, config=gen.llama_config("a/b"), **parts)
    result = _analyze(tmp_path)
    assert _rules(result) == [(f"models/x/{path}", "hf.chat-template-injection", Severity.CRITICAL)]
    assert result.findings[0].message.startswith(where)


def test_benign_templates_everywhere(tmp_path: Path) -> None:
    gen.write_hf_folder(
        tmp_path,
        config=gen.llama_config("a/b"),
        tokenizer={
            "chat_template": [{"name": n, "template": t} for n, t in gen.BENIGN_TEMPLATES.items()]
        },
        extra={"chat_template.jinja": gen.EXAONE_TEMPLATE},
    )
    assert _analyze(tmp_path).findings == []


def test_an_oversized_template_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hf, "TEMPLATE_LIMIT", 100)
    gen.write_hf_folder(
        tmp_path,
        config=gen.llama_config("a/b"),
        tokenizer={"chat_template": " " * 200},
        extra={"chat_template.jinja": " " * 200},
    )
    rules = _rules(_analyze(tmp_path))
    assert ("models/x/chat_template.jinja", "hf.parse-error", Severity.MEDIUM) in rules
    assert ("models/x/tokenizer_config.json", "hf.chat-template-oversized", Severity.HIGH) in rules


# --- not model folders, bad files ----------------------------------------------------------------
def test_folders_that_are_not_model_folders(tmp_path: Path) -> None:
    app = tmp_path / "app"
    gen.write_hf_folder(app, config={"port": 8080, "debug": True})
    assert _analyze(app) == FileResult("huggingface")

    blog = tmp_path / "blog"
    blog.mkdir()
    (blog / "README.md").write_text("---\ntitle: Hello\nlicense: mit\n---\n# Post\n")
    (blog / "build.py").write_text("print('hi')\n")
    assert _analyze(blog) == FileResult("huggingface")


def test_python_files_no_auto_map_names_are_noted(tmp_path: Path) -> None:
    auto_map = {"AutoModel": "modeling_x.X"}
    gen.write_hf_folder(
        tmp_path,
        config=gen.llama_config("a/b", auto_map=auto_map),
        extra={"modeling_x.py": "", "handler.py": "", "utils.py": ""},
    )
    result = _analyze(tmp_path)
    assert _rules(result) == [
        ("models/x/config.json", "hf.remote-code", Severity.HIGH),
        ("models/x/handler.py", "hf.python-files", Severity.INFO),
    ]
    assert "(handler.py, utils.py)" in result.findings[1].message


def test_unreadable_files_are_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hf, "_JSON_LIMIT", 1000)
    gen.write_hf_folder(tmp_path, card={"base_model": "a/b"}, extra={"config.json": "{oops"})
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"x": "y" * 2000}))
    result = _analyze(tmp_path)
    assert _rules(result) == [
        ("models/x/config.json", "hf.parse-error", Severity.INFO),
        ("models/x/tokenizer_config.json", "hf.parse-error", Severity.MEDIUM),
    ]
    assert "larger than 1000 bytes" in result.findings[1].message
    assert result.components[0].base_models == ("a/b",)
    missing = hf.analyze_folder("gone", {"config.json": tmp_path / "nope.json"})
    assert [f.rule for f in missing.findings] == ["hf.parse-error"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\nlicense: mit\n---\n", {"license": "mit"}),
        ("\ufeff---\nlicense: mit\n...\nbody", {"license": "mit"}),
        ("# no front matter\n", {}),
        ("---\nlicense: mit\n", {}),  # never closed
        ("---\n- a\n- b\n---\n", {}),  # not a mapping
        ("---\nlicense: [unclosed\n---\n", {}),
        ("---\nx: !!python/object/apply:os.system ['echo pwned']\n---\n", {}),
        ("---\na: &a [1, 2]\nb: *a\n---\n", {"a": [1, 2], "b": [1, 2]}),
    ],
)
def test_read_front_matter(text: str, expected: dict[str, Any]) -> None:
    assert hf.read_front_matter(text) == expected


def test_a_huge_card_is_read_only_up_to_the_cap(tmp_path: Path) -> None:
    body = "---\nlicense: mit\nbase_model: a/b\n" + "tags:\n" + "- t\n" * 100_000 + "---\n"
    (tmp_path / "README.md").write_text(body)
    (tmp_path / "config.json").write_text(json.dumps(gen.llama_config("a/b")))
    (component,) = _analyze(tmp_path).components
    assert component.license is None  # the front-matter is cut by the cap: not parsed at all


# --- fuzzing -------------------------------------------------------------------------------------
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["auto_map", "chat_template", "_name_or_path", "architectures"])
            | st.sampled_from(["model_type", "name", "template", "quantization_config"])
            | st.text(max_size=5),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(config=_JSON, tokenizer=_JSON, card=st.text(max_size=300) | _JSON.map(json.dumps))
def test_arbitrary_files_never_raise(
    tmp_path: Path, config: Any, tokenizer: Any, card: str
) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    (tmp_path / "README.md").write_text("---\n" + card + "\n---\n")
    result = _analyze(tmp_path)
    assert isinstance(result, FileResult)
    assert len(result.components) <= 1


# --- the corpus ----------------------------------------------------------------------------------
def test_corpus_folders_meet_their_labels(tmp_path: Path) -> None:
    samples = gen.generate(tmp_path)
    mine = [(rel, label) for rel, label, _ in samples if (tmp_path / rel).is_dir()]
    assert {label for _, label in mine} == {"benign", "malicious"}
    failed = [
        (rel, label, [(f.rule, f.severity.label) for f in result.findings])
        for rel, label in mine
        if not gen.label_holds(label, (result := _analyze(tmp_path / rel, rel)).findings)
    ]
    assert failed == []
    for rel, _ in mine:
        assert all(f.path.startswith(rel + "/") for f in _analyze(tmp_path / rel, rel).findings)
