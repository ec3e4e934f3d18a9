"""The jurisdiction table: schema, sources, and known-answer lookups."""

from __future__ import annotations

import functools
from importlib import resources

import pytest
import yaml

from sumun.scan import jurisdiction as j

REQUIRED = {
    "openai",
    "azure-openai",
    "anthropic",
    "aws-bedrock",
    "google-vertex",
    "google-gemini",
    "naver-clova",
    "lg-exaone",
    "skt-ax",
    "upstage",
    "kakao-kanana",
    "meta-llama",
    "alibaba-qwen",
    "mistral",
    "deepseek",
    "cohere",
    "xai",
    "huggingface",
    "together",
    "groq",
    "ollama",
    "vllm",
}


@functools.cache
def _raw_text() -> str:
    return resources.files("sumun.scan").joinpath("data/jurisdictions.yaml").read_text("utf-8")


def _raw() -> dict[str, object]:
    loaded = yaml.load(_raw_text(), Loader=yaml.CSafeLoader)
    assert isinstance(loaded, dict)
    return loaded


def test_every_required_provider_is_covered_and_sourced() -> None:
    table = j.load_table()
    ids = {p.id for p in table.providers}
    assert ids >= REQUIRED
    for p in table.providers:
        assert p.sources, p.id
        assert all(s.url.startswith("https://") for s in p.sources)
        if p.status == "unconfirmed":
            assert p.notes, f"{p.id} is unconfirmed but says nothing about what"
    assert table.as_of.year >= 2026


def test_every_claimed_hq_has_a_source_or_is_marked_unconfirmed() -> None:
    for p in j.load_table().providers:
        if p.hq is not None and p.status == "confirmed":
            assert any("hq" in s.supports for s in p.sources), p.id


def test_the_table_is_loaded_once_per_process() -> None:
    assert j.load_table() is j.load_table()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["providers"][0].update(sources=[]), r"providers\.0\.sources"),
        (lambda d: d["providers"][0].update(hq="USA"), "not ISO 3166-1 alpha-2"),
        (lambda d: d["providers"][0].update(status="maybe"), r"providers\.0\.status"),
        (lambda d: d["providers"][1].update(id="openai"), "duplicate provider ids: openai"),
        (lambda d: d["providers"][0].update(model_patterns=["(unclosed"]), "bad regular"),
        (
            lambda d: d["providers"][0]["sources"][0].update(url="http://example.com"),
            "must be https",
        ),
        (lambda d: d["providers"][0].update(self_hosted=True), "hq must be null exactly"),
        (lambda d: d["providers"][0].update(colour="blue"), r"providers\.0\.colour"),
    ],
)
def test_a_malformed_table_is_refused_with_the_field_named(mutate: object, message: str) -> None:
    doc = _raw()
    assert callable(mutate)
    mutate(doc)
    with pytest.raises(ValueError, match=message):
        j.parse_table(yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True))


def test_not_yaml_is_refused() -> None:
    with pytest.raises(ValueError, match="not valid YAML"):
        j.parse_table("providers: [unclosed")


# -- hosts --------------------------------------------------------------------------------


def test_azure_korea_central_is_a_us_operator_hosting_in_kr() -> None:
    m = j.by_host("koreacentral.api.cognitive.microsoft.com")
    assert m is not None
    assert m.provider.id == "azure-openai"
    assert m.provider.operator == "Microsoft"
    assert m.jurisdiction == "US"
    assert m.region is not None and (m.region.id, m.region.country) == ("koreacentral", "KR")


def test_an_azure_resource_endpoint_does_not_name_its_region() -> None:
    m = j.by_url("https://contoso.openai.azure.com/openai/deployments/x?api-version=1")
    assert m is not None and m.provider.id == "azure-openai" and m.region is None


def test_bedrock_runtime_host_yields_its_region() -> None:
    m = j.by_host("bedrock-runtime.ap-northeast-2.amazonaws.com")
    assert m is not None and m.provider.id == "aws-bedrock" and m.jurisdiction == "US"
    assert m.region is not None and m.region.id == "ap-northeast-2" and m.region.country == "KR"
    unlisted = j.by_host("bedrock-runtime.me-central-1.amazonaws.com")
    assert unlisted is not None and unlisted.region is not None
    assert (unlisted.region.id, unlisted.region.country) == ("me-central-1", None)


def test_clovastudio_is_naver_in_korea() -> None:
    for host in ("clovastudio.stream.ntruss.com", "CLOVASTUDIO.APIGW.NTRUSS.COM."):
        m = j.by_host(host)
        assert m is not None and m.provider.id == "naver-clova" and m.jurisdiction == "KR"
        assert m.region is not None and m.region.country == "KR"


@pytest.mark.parametrize(
    ("host", "provider", "region", "country"),
    [
        ("api.openai.com", "openai", None, None),
        ("eu.api.openai.com", "openai", "eu", "EU"),
        ("asia-northeast3-aiplatform.googleapis.com", "google-vertex", "asia-northeast3", "KR"),
        ("aiplatform.googleapis.com", "google-vertex", "global", None),
        ("generativelanguage.googleapis.com", "google-gemini", None, None),
        ("kr.api.upstage.ai", "upstage", "kr", "KR"),
        ("api.upstage.ai", "upstage", None, None),
        ("dashscope.aliyuncs.com", "alibaba-qwen", "cn-beijing", "CN"),
        ("ws-1.ap-southeast-1.maas.aliyuncs.com", "alibaba-qwen", "ap-southeast-1", "SG"),
        ("api.deepseek.com:443", "deepseek", None, None),
        ("localhost:11434", "ollama", None, None),
        ("10.1.2.3:8000", "self-hosted", None, None),
        ("[::1]", "self-hosted", None, None),
        ("llm.svc.cluster.local", "self-hosted", None, None),
    ],
)
def test_host_lookups(host: str, provider: str, region: str | None, country: str | None) -> None:
    m = j.by_host(host)
    assert m is not None and m.provider.id == provider
    assert (m.region.id if m.region else None) == region
    assert (m.region.country if m.region else None) == country


@pytest.mark.parametrize(
    "host",
    ["", "example.com", "notapi.openai.com.evil.example", "openai.azure.com", "[", "8.8.8.8"],
)
def test_unknown_hosts_are_none(host: str) -> None:
    assert j.by_host(host) is None


def test_self_hosted_has_no_operator_jurisdiction() -> None:
    m = j.by_url("http://127.0.0.1:11434/v1")
    assert m is not None and m.provider.self_hosted and m.jurisdiction is None


# -- packages and models ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ecosystem", "name", "provider"),
    [
        ("pypi", "openai", "openai"),
        ("pypi", "LangChain_Anthropic", "anthropic"),
        ("npm", "@anthropic-ai/sdk", "anthropic"),
        ("npm", "@aws-sdk/client-bedrock-runtime", "aws-bedrock"),
        ("java", "com.openai.client.OpenAIClient", "openai"),
        ("java", "org.springframework.ai.bedrock.converse.BedrockProxyChatModel", "aws-bedrock"),
        ("go", "github.com/anthropics/anthropic-sdk-go/option", "anthropic"),
        ("go", "google.golang.org/genai", "google-gemini"),
    ],
)
def test_package_lookups(ecosystem: str, name: str, provider: str) -> None:
    m = j.by_package(ecosystem, name)
    assert m is not None and m.provider.id == provider


def test_package_prefixes_match_whole_segments() -> None:
    assert j.by_package("java", "com.openaiclone.Client") is None
    assert j.by_package("npm", "openai-clone") is None
    assert j.by_package("pypi", "transformers") is None  # a library, not a service
    assert j.load_table().library("pypi", "transformers") is not None


@pytest.mark.parametrize(
    ("model_id", "provider", "hq"),
    [
        ("LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct", "lg-exaone", "KR"),
        ("Qwen/Qwen2.5-7B-Instruct", "alibaba-qwen", "CN"),
        ("skt/A.X-4.0-Light", "skt-ax", "KR"),
        ("kakaocorp/kanana-1.5-8b-instruct-2505", "kakao-kanana", "KR"),
        ("upstage/SOLAR-10.7B-Instruct-v1.0", "upstage", "KR"),
        ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama", "US"),
        ("deepseek-ai/DeepSeek-R1", "deepseek", "CN"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral", "FR"),
        ("gpt-4o", "openai", "US"),
        ("o3-mini", "openai", "US"),
        ("claude-3-5-sonnet-20241022", "anthropic", "US"),
        ("us.anthropic.claude-3-haiku-20240307-v1:0", "anthropic", "US"),
        ("gemini-1.5-pro", "google-gemini", "US"),
        ("models/gemini-2.0-flash", "google-gemini", "US"),
        ("HCX-005", "naver-clova", "KR"),
        ("solar-pro", "upstage", "KR"),
        ("exaone3.5:7.8b", "lg-exaone", "KR"),
        ("command-r-plus", "cohere", "CA"),
        ("grok-4", "xai", "US"),
    ],
)
def test_model_lookups(model_id: str, provider: str, hq: str) -> None:
    m = j.by_model_id(model_id)
    assert m is not None and m.provider.id == provider and m.jurisdiction == hq


@pytest.mark.parametrize("model_id", ["mycorp/llama-3-finetune", "bert-base-uncased", "", "   "])
def test_models_the_table_cannot_attribute_are_none(model_id: str) -> None:
    assert j.by_model_id(model_id) is None


def test_config_keys() -> None:
    for key, provider in [
        ("OPENAI_API_KEY", "openai"),
        ("spring.ai.openai.api-key", "openai"),
        ("AZURE_OPENAI_ENDPOINT", "azure-openai"),
        ("CLOVASTUDIO_API_KEY", "naver-clova"),
        ("hf_token", "huggingface"),
    ]:
        m = j.by_config_key(key)
        assert m is not None and m.provider.id == provider, key
    assert j.by_config_key("DATABASE_URL") is None
