"""Configuration analyzer: known answers per format."""

from __future__ import annotations

import pytest

from sumun.scan.code import config
from tests.scan.code.helpers import by_rule, components, rules, services, source


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (".env", "env"),
        ("deploy/.env.production", "env"),
        ("prod.env", "env"),
        ("train.ipynb", "ipynb"),
        ("a.yaml", "yaml"),
        ("a.YML", "yaml"),
        ("a.json", "json"),
        ("a.toml", "toml"),
        ("application.properties", "properties"),
        ("setup.cfg", "ini"),
        ("a.ini", "ini"),
        ("package.json", "json"),
        ("requirements-dev.txt", "requirements"),
        ("go.mod", "gomod"),
        ("notes.txt", None),
        ("env", None),
    ],
)
def test_formats_by_name(path: str, fmt: str | None) -> None:
    assert config.format_of(path) == fmt
    assert config.handles(path) is (fmt is not None)


def test_dotenv_keys_endpoints_models_and_regions() -> None:
    text = """\
# LLM settings
OPENAI_API_KEY=
OPENAI_BASE_URL=https://api.upstage.ai/v1   # Solar through the OpenAI SDK
OPENAI_MODEL=solar-pro
AZURE_OPENAI_ENDPOINT="https://contoso.openai.azure.com/"
AZURE_OPENAI_REGION=koreacentral
AWS_REGION=ap-northeast-2
BEDROCK_MODEL_ID=anthropic.claude-3-haiku-20240307-v1:0
"""
    result = config.analyze(source(text, ".env"))
    assert result.format == "env" and result.findings == []
    svc = services(result)
    assert set(svc) == {"upstage", "azure-openai", "aws-bedrock"}, "OPENAI_ repointed to Upstage"
    azure = dict(svc["azure-openai"].properties)
    assert (azure["region"], azure["region_country"]) == ("koreacentral", "KR")
    assert svc["azure-openai"].jurisdiction == "US"
    assert dict(svc["aws-bedrock"].properties)["region"] == "ap-northeast-2"
    models = components(result, "machine-learning-model")
    assert models["solar-pro"].jurisdiction == "KR"
    assert models["anthropic.claude-3-haiku-20240307-v1:0"].provider == "anthropic"


def test_yaml_nested_keys_and_trust_remote_code() -> None:
    text = """\
llm:
  base_url: "https://clovastudio.stream.ntruss.com/v3/chat-completions"
  model: HCX-005   # HyperCLOVA X
serving:
  model_name_or_path: LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct
  trust_remote_code: true
  command: ["--model", "acme/x", "--trust-remote-code"]
"""
    result = config.analyze(source(text, "settings.yaml"))
    assert rules(result) == [
        ("config.trust-remote-code", "high", 6),
        ("config.trust-remote-code", "high", 7),
    ]
    assert services(result)["naver-clova"].jurisdiction == "KR"
    models = components(result, "machine-learning-model")
    assert set(models) >= {"HCX-005", "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct"}
    assert models["LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct"].publisher == "LGAI-EXAONE"


def test_trust_remote_code_false_is_fine() -> None:
    text = "trust_remote_code: false\nargs: --trust-remote-code=false\n"
    assert config.analyze(source(text, "a.yaml")).findings == []


def test_minified_json_and_hf_config() -> None:
    text = '{"_name_or_path":"Qwen/Qwen2.5-7B","endpoint":"https://bedrock-runtime.ap-northeast-2.amazonaws.com"}'
    result = config.analyze(source(text, "config.json"))
    assert components(result, "machine-learning-model")["Qwen/Qwen2.5-7B"].jurisdiction == "CN"
    props = dict(services(result)["aws-bedrock"].properties)
    assert props["region_country"] == "KR"


def test_spring_properties() -> None:
    text = (
        "spring.ai.openai.api-key=${OPENAI_API_KEY}\n"
        "spring.ai.openai.chat.options.model=gpt-4o\n"
        "spring.ai.bedrock.aws.region=ap-northeast-2\n"
    )
    result = config.analyze(source(text, "application.properties"))
    assert result.findings == []
    svc = services(result)
    assert set(svc) == {"openai", "aws-bedrock"}
    assert dict(svc["aws-bedrock"].properties)["region"] == "ap-northeast-2"
    assert "gpt-4o" in components(result, "machine-learning-model")


def test_secrets_in_config_are_high_and_masked() -> None:
    token = "hf" + "_" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3"
    result = config.analyze(source(f"HF_TOKEN={token}\n", "hf.env"))
    [finding] = by_rule(result, "config.hardcoded-secret")
    assert finding.severity.label == "high" and finding.line == 1
    assert token not in finding.message


def test_manifests_declare_libraries() -> None:
    pkg = (
        '{"dependencies": {"openai": "^4", "react": "^18"},'
        ' "devDependencies": {"@langchain/openai": "1"}}'
    )
    libs = components(config.analyze(source(pkg, "package.json")), "library")
    assert set(libs) == {"openai", "@langchain/openai"}
    assert libs["@langchain/openai"].publisher == "LangChain"
    reqs = "openai==1.54.0\n# comment\nanthropic>=0.40\nrequests\ntransformers[torch]==4.46\n"
    libs = components(config.analyze(source(reqs, "requirements.txt")), "library")
    assert set(libs) == {"openai", "anthropic", "transformers"}
    gomod = "module x\n\nrequire (\n\tgithub.com/openai/openai-go v1.2.0\n)\n"
    libs = components(config.analyze(source(gomod, "go.mod")), "library")
    assert set(libs) == {"github.com/openai/openai-go"}


@pytest.mark.parametrize(
    ("path", "data", "line"),
    [
        ("a.json", b'{"model": "gpt-4o", "x": ', 1),
        ("a.yaml", b"models: [gpt-4o, claude\n", 2),
        ("a.toml", b"[llm\nmodel = 1\n", 1),
        ("a.ini", b"model = gpt-4o\n", 1),
        (".env", b"OPENAI_MODEL=gpt-4o\n\xff\xfe\n", None),
    ],
)
def test_broken_files_are_info_parse_errors(path: str, data: bytes, line: int | None) -> None:
    result = config.analyze(source(data, path))
    [error] = by_rule(result, "config.parse-error")
    assert error.severity.label == "info" and error.line == line
    assert all(f.severity.label == "info" for f in result.findings)


def test_oversized_files_are_skipped() -> None:
    result = config.analyze(source(b"a: b\n" * (1024 * 1024 + 1), "big.yaml"))
    assert rules(result) == [("config.too-large", "info", None)]


def test_notebook_code_cells_go_through_the_python_analyzer() -> None:
    import json

    key = "hf" + "_" + "Zq8Lm3Tx9" * 4
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Fine-tune\n"]},
            {"cell_type": "code", "source": ["!pip install transformers\n", "import torch\n"]},
            {
                "cell_type": "code",
                "source": [
                    "from transformers import AutoModel\n",
                    'm = AutoModel.from_pretrained("acme/x", trust_remote_code=True)\n',
                    'state = torch.load("ckpt.pt")\n',
                ],
                "outputs": [{"text": [f"token={key}\n"]}],
            },
        ]
    }
    result = config.analyze(source(json.dumps(nb, indent=1), "notebooks/train.ipynb"))
    assert result.format == "ipynb"
    found = {(f.rule, f.severity.label) for f in result.findings}
    assert ("code.trust-remote-code", "high") in found
    assert ("code.torch-load-unsafe", "high") in found
    assert ("config.hardcoded-secret", "high") in found
    assert key not in json.dumps([f.to_json() for f in result.findings])
    assert {"transformers", "torch"} <= set(components(result, "library"))


def test_a_broken_notebook_is_a_json_parse_error() -> None:
    result = config.analyze(source('{"cells": [', "x.ipynb"))
    assert [f.rule for f in result.findings] == ["config.parse-error"]
