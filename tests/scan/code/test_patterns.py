"""JS/TS, Java/Kotlin and Go pattern analyzer: known answers."""

from __future__ import annotations

import pytest

from sumun.scan.code import patterns
from tests.scan.code.helpers import by_rule, components, rules, services, source


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a.js", "javascript"),
        ("a.MJS", "javascript"),
        ("a.cjs", "javascript"),
        ("a.jsx", "javascript"),
        ("a.ts", "typescript"),
        ("a.tsx", "typescript"),
        ("A.java", "java"),
        ("a.kt", "kotlin"),
        ("a.go", "go"),
        ("a.py", None),
        ("Makefile", None),
    ],
)
def test_language_by_extension(path: str, language: str | None) -> None:
    assert patterns.language_of(path) == language
    assert patterns.handles(path) is (language is not None)


def test_typescript_imports_regions_and_models() -> None:
    code = """\
import OpenAI from "openai";
import type { Message } from '@anthropic-ai/sdk/resources';
import {
  BedrockRuntimeClient,
} from "@aws-sdk/client-bedrock-runtime";
const { VertexAI } = require("@google-cloud/vertexai");
import "./local";

const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
await client.chat.completions.create({ model: "gpt-4o-mini", messages });
const br = new BedrockRuntimeClient({ region: "ap-northeast-2" });
const v = new VertexAI({ project: "p", location: "asia-northeast3" });
"""
    result = patterns.analyze(source(code, "src/app.ts"))
    assert result.format == "typescript" and result.findings == []
    svc = services(result)
    assert set(svc) == {"openai", "anthropic", "aws-bedrock", "google-vertex"}
    bedrock = dict(svc["aws-bedrock"].properties)
    assert (bedrock["region"], bedrock["region_country"]) == ("ap-northeast-2", "KR")
    assert dict(svc["google-vertex"].properties)["region"] == "asia-northeast3"
    assert "region" not in dict(svc["openai"].properties)
    libs = components(result, "library")
    assert set(libs) == {
        "openai",
        "@anthropic-ai/sdk",
        "@aws-sdk/client-bedrock-runtime",
        "@google-cloud/vertexai",
    }
    assert components(result, "machine-learning-model")["gpt-4o-mini"].provider == "openai"


def test_an_openai_sdk_pointed_elsewhere_is_that_other_provider() -> None:
    code = (
        'import OpenAI from "openai";\n'
        'const c = new OpenAI({ baseURL: "https://api.upstage.ai/v1" });\n'
        'c.chat.completions.create({ model: "solar-pro" });\n'
    )
    result = patterns.analyze(source(code, "a.js"))
    svc = services(result)
    assert set(svc) == {"upstage"} and svc["upstage"].jurisdiction == "KR"
    assert components(result, "machine-learning-model")["solar-pro"].jurisdiction == "KR"


def test_java_imports_enum_region_and_base_url() -> None:
    code = """\
package demo;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import org.springframework.ai.anthropic.AnthropicChatModel;
public class B {
  BedrockRuntimeClient c = BedrockRuntimeClient.builder().region(Region.AP_NORTHEAST_2).build();
  String modelId = "anthropic.claude-3-5-sonnet-20240620-v1:0";
}
"""
    result = patterns.analyze(source(code, "B.java"))
    svc = services(result)
    assert set(svc) == {"aws-bedrock", "anthropic"}
    assert dict(svc["aws-bedrock"].properties)["region_country"] == "KR"
    libs = components(result, "library")
    assert libs["org.springframework.ai.anthropic"].publisher == "Spring AI"
    assert libs["software.amazon.awssdk.services.bedrockruntime"].provider == "aws-bedrock"
    model = components(result, "machine-learning-model")[
        "anthropic.claude-3-5-sonnet-20240620-v1:0"
    ]
    assert model.jurisdiction == "US"


def test_go_import_blocks_and_with_region() -> None:
    code = """\
package main

import (
\t"context"
\tbr "github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
\t"github.com/aws/aws-sdk-go-v2/config"
)
import "github.com/openai/openai-go"

func main() {
\tcfg, _ := config.LoadDefaultConfig(context.TODO(), config.WithRegion("ap-northeast-2"))
\t_ = br.NewFromConfig(cfg)
\t_ = openai.NewClient()
}
"""
    result = patterns.analyze(source(code, "main.go"))
    svc = services(result)
    assert set(svc) == {"aws-bedrock", "openai"}
    assert dict(svc["aws-bedrock"].properties)["region"] == "ap-northeast-2"


def test_endpoint_urls_in_string_literals() -> None:
    code = 'fetch("https://clovastudio.stream.ntruss.com/v3/chat-completions/HCX-005", opts);\n'
    result = patterns.analyze(source(code, "a.js"))
    svc = services(result)["naver-clova"]
    assert svc.jurisdiction == "KR"
    assert svc.endpoint == "https://clovastudio.stream.ntruss.com/v3/chat-completions/HCX-005"


def test_unknown_endpoint_in_an_ai_file_is_info_with_line() -> None:
    code = (
        'import OpenAI from "openai";\n\n'
        'const c = new OpenAI({ baseURL: "https://llm.corp.example/v1" });\n'
    )
    result = patterns.analyze(source(code, "a.ts"))
    assert rules(result) == [("code.unknown-endpoint", "info", 3)]
    assert services(result)["llm.corp.example"].jurisdiction is None


def test_secrets_are_high_and_masked() -> None:
    key = "AI" + "za" + "Sy" + "Q7" * 15 + "abc"
    code = f'package demo;\nclass K {{ String k = "{key}"; }}\n'
    result = patterns.analyze(source(code, "K.java"))
    [finding] = by_rule(result, "code.hardcoded-secret")
    assert finding.severity.label == "high" and finding.line == 2
    assert key not in finding.message and key[:4] + "…" + key[-4:] in finding.message


def test_non_ai_code_yields_nothing() -> None:
    code = (
        'import React from "react";\nconst model = { name: "x" };\nfetch("https://example.com");\n'
    )
    result = patterns.analyze(source(code, "a.jsx"))
    assert result.findings == [] and result.components == []


def test_not_utf8_is_a_parse_error_but_still_scanned() -> None:
    data = b'import OpenAI from "openai";\n// \xff\xfe\n'
    result = patterns.analyze(source(data, "a.ts"))
    assert rules(result) == [("typescript.parse-error", "info", None)]
    assert "openai" in services(result)


def test_oversized_files_are_skipped() -> None:
    result = patterns.analyze(source(b"/" * (5 * 1024 * 1024 + 10), "big.js"))
    assert rules(result) == [("javascript.too-large", "info", None)]
