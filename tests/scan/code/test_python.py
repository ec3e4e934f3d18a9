"""Python analyzer: known answers for SDK use, model loading risks and aliases."""

from __future__ import annotations

import textwrap

from sumun.scan.code import python
from sumun.scan.model import FileResult, Severity
from tests.scan.code.helpers import by_rule, components, rules, services, source

PIN = "0123456789abcdef0123456789abcdef01234567"


def run(code: str, path: str = "app.py") -> FileResult:
    return python.analyze(source(textwrap.dedent(code), path))


def test_handles_python_by_name() -> None:
    assert python.handles("a/b/train.py") and python.handles("X.PYW")
    assert not python.handles("model.pyc") and not python.handles("py.txt")


def test_aliases_resolve_to_the_sdk_and_its_provider() -> None:
    result = run(
        """\
        import os
        import openai as oa
        from anthropic import Anthropic as A

        c = oa.OpenAI(api_key=os.environ["OPENAI_API_KEY"])
        c.chat.completions.create(model="gpt-4o-mini", messages=[])
        A().messages.create(model="claude-3-5-haiku-latest", max_tokens=8, messages=[])
        """
    )
    assert result.format == "python"
    assert result.findings == []
    svc = services(result)
    assert set(svc) == {"openai", "anthropic"}
    assert svc["openai"].jurisdiction == "US" and svc["openai"].paths == ("app.py",)
    assert dict(svc["openai"].properties)["detected_by"] == "client"
    libs = components(result, "library")
    assert libs["openai"].publisher == "OpenAI" and libs["anthropic"].provider == "anthropic"
    models = components(result, "machine-learning-model")
    assert models["gpt-4o-mini"].jurisdiction == "US"
    assert models["claude-3-5-haiku-latest"].publisher == "Anthropic"


def test_base_url_from_a_module_constant_names_the_real_provider() -> None:
    result = run(
        """\
        from openai import OpenAI
        DEEPSEEK = "https://api.deepseek.com"
        client = OpenAI(base_url=DEEPSEEK)
        """
    )
    svc = services(result)
    assert set(svc) == {"deepseek"}, "the OpenAI SDK pointed elsewhere is not OpenAI"
    assert svc["deepseek"].jurisdiction == "CN"
    assert svc["deepseek"].endpoint == "https://api.deepseek.com"


def test_getenv_default_is_followed_and_query_strings_are_dropped() -> None:
    result = run(
        """\
        import os
        from openai import AzureOpenAI
        c = AzureOpenAI(azure_endpoint=os.getenv("AZ", "https://x.openai.azure.com/?key=abc"))
        """
    )
    svc = services(result)["azure-openai"]
    assert svc.endpoint == "https://x.openai.azure.com/"
    assert svc.jurisdiction == "US"


def test_bedrock_client_region_and_session_region() -> None:
    result = run(
        """\
        import boto3
        rt = boto3.client("bedrock-runtime", region_name="ap-northeast-2")
        """
    )
    props = dict(services(result)["aws-bedrock"].properties)
    assert props["region"] == "ap-northeast-2" and props["region_country"] == "KR"
    result = run(
        """\
        import boto3
        s = boto3.Session(region_name="ap-northeast-2")
        rt = s.client("bedrock-runtime")
        s3 = s.client("s3")
        """
    )
    assert dict(services(result)["aws-bedrock"].properties)["region"] == "ap-northeast-2"
    assert set(services(result)) == {"aws-bedrock"}


def test_vertex_and_genai_clients() -> None:
    result = run(
        """\
        import vertexai
        from vertexai.generative_models import GenerativeModel
        from google import genai
        vertexai.init(project="p", location="asia-northeast3")
        GenerativeModel("gemini-1.5-pro")
        g = genai.Client(api_key="x")
        """
    )
    svc = services(result)
    assert dict(svc["google-vertex"].properties)["region_country"] == "KR"
    assert "google-gemini" in svc
    assert components(result, "machine-learning-model")["gemini-1.5-pro"].jurisdiction == "US"
    assert "google-cloud-aiplatform" in components(result, "library")


def test_langchain_classes_and_litellm_routing() -> None:
    result = run(
        """\
        from langchain_aws import ChatBedrock
        from langchain_community.chat_models import ChatClovaX
        import litellm
        ChatBedrock(model_id="meta.llama3-70b-instruct-v1:0", region_name="ap-northeast-2")
        ChatClovaX(model="HCX-005")
        litellm.completion(model="vertex_ai/gemini-1.5-pro", messages=[])
        """
    )
    svc = services(result)
    assert {"aws-bedrock", "naver-clova", "google-vertex"} <= set(svc)
    assert svc["naver-clova"].jurisdiction == "KR"
    models = components(result, "machine-learning-model")
    assert models["meta.llama3-70b-instruct-v1:0"].provider == "meta-llama"
    assert models["gemini-1.5-pro"].provider == "google-gemini"
    assert models["HCX-005"].jurisdiction == "KR"
    libs = components(result, "library")
    assert libs["langchain-aws"].publisher == "LangChain"


def test_trust_remote_code_is_high_with_its_line() -> None:
    result = run(
        """\
        import transformers as tf

        m = tf.AutoModel.from_pretrained(
            "acme/x", revision="PIN", trust_remote_code=True
        )
        """.replace("PIN", PIN)
    )
    assert rules(result) == [("code.trust-remote-code", "high", 3)]
    model = components(result, "machine-learning-model")["acme/x"]
    assert model.version == PIN and model.publisher == "acme" and model.jurisdiction is None


def test_trust_remote_code_in_kwargs_unpacking_and_computed() -> None:
    result = run(
        """\
        from transformers import AutoModel, pipeline
        a = AutoModel.from_pretrained("acme/x", revision="PIN", **{"trust_remote_code": True})
        b = pipeline("text-generation", model="acme/y", revision="PIN", trust_remote_code=flag)
        c = AutoModel.from_pretrained("acme/z", revision="PIN", trust_remote_code=False)
        """.replace("PIN", PIN)
    )
    assert rules(result) == [
        ("code.trust-remote-code", "high", 2),
        ("code.trust-remote-code", "medium", 3),
    ]


def test_torch_load_variants() -> None:
    result = run(
        """\
        import torch
        from torch import load as restore
        a = torch.load("a.pt")
        b = torch.load(path, weights_only=True)
        c = restore(path, weights_only=False)
        d = torch.load(path, weights_only=safe)
        """
    )
    assert rules(result) == [
        ("code.torch-load-unsafe", "high", 3),
        ("code.torch-load-unsafe", "high", 5),
        ("code.torch-load-unsafe", "medium", 6),
    ]


def test_pickle_loads_on_runtime_data_only() -> None:
    result = run(
        """\
        import pickle, joblib, dill
        import numpy as np
        import pandas as pd
        a = pickle.load(open("shipped.pkl", "rb"))
        b = pickle.loads(blob)
        c = joblib.load(model_path)
        d = dill.loads(payload)
        e = np.load(upload, allow_pickle=True)
        f = np.load(upload)
        g = pd.read_pickle(url)
        """
    )
    assert [(r, s, line) for r, s, line in rules(result)] == [
        ("code.pickle-load", "medium", n) for n in (5, 6, 7, 8, 10)
    ]


def test_unpinned_models_are_low() -> None:
    result = run(
        """\
        from transformers import AutoTokenizer
        from sentence_transformers import SentenceTransformer
        from huggingface_hub import hf_hub_download
        a = AutoTokenizer.from_pretrained("Qwen/Qwen2.5-7B")
        b = AutoTokenizer.from_pretrained("Qwen/Qwen2.5-7B", revision="main")
        c = AutoTokenizer.from_pretrained("Qwen/Qwen2.5-7B", revision="PIN")
        d = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
        e = hf_hub_download(repo_id="skt/A.X-4.0-Light", filename="config.json")
        f = AutoTokenizer.from_pretrained("./local/checkpoint")
        g = AutoTokenizer.from_pretrained("Qwen/Qwen2.5-7B", revision=REV)
        """.replace("PIN", PIN)
    )
    unpinned = by_rule(result, "code.unpinned-model")
    assert [(f.line, f.severity) for f in unpinned] == [
        (4, Severity.LOW),
        (5, Severity.LOW),
        (7, Severity.LOW),
        (8, Severity.LOW),
    ]
    assert "'main'" in unpinned[1].message
    models = components(result, "machine-learning-model")
    assert models["Qwen/Qwen2.5-7B"].jurisdiction == "CN"
    assert models["skt/A.X-4.0-Light"].jurisdiction == "KR"
    assert "./local/checkpoint" not in models


def test_hardcoded_secret_is_masked_with_its_line() -> None:
    key = "sk-" + "proj-" + "Zq8Lm3Tx9" * 5
    result = run(f'from openai import OpenAI\n\nclient = OpenAI(api_key="{key}")\n')
    [finding] = by_rule(result, "code.hardcoded-secret")
    assert (finding.severity, finding.line) == (Severity.HIGH, 3)
    assert key not in finding.message and "sk-p…3Tx9" in finding.message


def test_unknown_ai_endpoint_is_reported_with_unknown_jurisdiction() -> None:
    result = run(
        """\
        from openai import OpenAI
        c = OpenAI(base_url="https://llm.corp.example/v1")
        """
    )
    [note] = by_rule(result, "code.unknown-endpoint")
    assert note.severity is Severity.INFO and note.line == 2
    svc = services(result)["llm.corp.example"]
    assert svc.jurisdiction is None and svc.provider is None


def test_local_servers_are_self_hosted() -> None:
    result = run(
        """\
        import ollama
        from openai import OpenAI
        local = OpenAI(base_url="http://localhost:11434/v1", api_key="ollama")
        ollama.chat(model="exaone3.5:7.8b", messages=[])
        """
    )
    svc = services(result)
    assert set(svc) == {"ollama"}
    props = dict(svc["ollama"].properties)
    assert props["hosting"] == "self-hosted" and svc["ollama"].jurisdiction is None
    assert components(result, "machine-learning-model")["exaone3.5:7.8b"].jurisdiction == "KR"


def test_imports_without_clients_imply_the_sdk_default() -> None:
    result = run("import anthropic\n\ndef f(c: anthropic.Anthropic) -> None: ...\n")
    assert dict(services(result)["anthropic"].properties)["detected_by"] == "import"


def test_docstrings_and_non_ai_code_yield_nothing() -> None:
    result = run(
        '''\
        """See https://api.openai.com/v1 for the API."""
        import json
        x = dict(model="User")
        '''
    )
    assert result.findings == [] and result.components == []


def test_syntax_error_falls_back_to_patterns() -> None:
    result = run(
        """\
        from transformers import AutoModel
        m = AutoModel.from_pretrained("acme/x", trust_remote_code=True)
        def broken(:
        """
    )
    assert rules(result)[:2] == [
        ("python.parse-error", "info", None),
        ("code.trust-remote-code", "high", 2),
    ]
    assert "line 3" in result.findings[0].message
    assert "transformers" in components(result, "library")


def test_non_utf8_and_nul_bytes_are_parse_errors() -> None:
    for data in (b"# caf\xe9\nx = 1\n", b"x = 1\x00\n"):
        result = python.analyze(source(data))
        assert [f.rule for f in result.findings] == ["python.parse-error"]
        assert result.findings[0].severity is Severity.INFO


def test_a_coding_cookie_is_honoured() -> None:
    result = python.analyze(source(b"# -*- coding: latin-1 -*-\nimport openai\nx = '\xe9'\n"))
    assert result.findings == [] and "openai" in services(result)


def test_oversized_files_are_skipped() -> None:
    big = b"#" * (5 * 1024 * 1024 + 1)
    result = python.analyze(source(big))
    assert rules(result) == [("python.too-large", "info", None)]


def test_large_files_use_the_text_patterns() -> None:
    code = "from transformers import AutoModel\n" + "x = 1\n" * 200_000
    code += 'AutoModel.from_pretrained("acme/x", trust_remote_code=True)\n'
    result = python.analyze(source(code))
    assert rules(result) == [
        ("python.large-file", "info", None),
        ("code.trust-remote-code", "high", 200_002),
    ]


def test_long_attribute_chains_do_not_exhaust_the_stack() -> None:
    for n in (1500, 20_000):
        code = "import os\nx = os" + ".b" * n + '(model="gpt-4o")\n'
        result = python.analyze(source(code))
        assert all(f.severity <= Severity.INFO for f in result.findings)
