"""The hosting region of cloud AI endpoints in code, beside the operator's jurisdiction.

Region sources: Bedrock's regional hosts (docs.aws.amazon.com/bedrock/latest/userguide/
endpoints-region-availability), boto3's `region_name`, Vertex AI's `{region}-aiplatform`
hosts and `vertexai.init(location=…)`, Azure's regional `{region}.api.cognitive.microsoft.com`
hosts. Seoul is ap-northeast-2 (AWS), asia-northeast3 (Google Cloud), koreacentral (Azure).
"""

from __future__ import annotations

import re
import textwrap

import pytest

from sumun.scan.bom import to_cyclonedx
from sumun.scan.code import config, patterns, python
from sumun.scan.html import render_html
from sumun.scan.model import FileResult, ScanResult
from sumun.scan.sarif import to_sarif
from tests.scan.code.helpers import services, source


def py(code: str) -> FileResult:
    return python.analyze(source(textwrap.dedent(code), "app.py"))


def region(result: FileResult, provider: str) -> tuple[str, str, str]:
    props = dict(services(result)[provider].properties)
    return props["region"], props["region_country"], props["region_in_korea"]


@pytest.mark.parametrize(
    ("host", "provider", "expected"),
    [
        ("bedrock-runtime.us-east-1.amazonaws.com", "aws-bedrock", ("us-east-1", "US", "false")),
        (
            "bedrock-runtime.ap-northeast-2.amazonaws.com",
            "aws-bedrock",
            ("ap-northeast-2", "KR", "true"),
        ),
        ("us-central1-aiplatform.googleapis.com", "google-vertex", ("us-central1", "US", "false")),
        (
            "asia-northeast3-aiplatform.googleapis.com",
            "google-vertex",
            ("asia-northeast3", "KR", "true"),
        ),
        (
            "koreacentral.api.cognitive.microsoft.com",
            "azure-openai",
            ("koreacentral", "KR", "true"),
        ),
        ("eastus.api.cognitive.microsoft.com", "azure-openai", ("eastus", "US", "false")),
    ],
)
def test_the_host_names_the_region(
    host: str, provider: str, expected: tuple[str, str, str]
) -> None:
    result = py(f'URL = "https://{host}/v1"\nprint(URL)\n')
    assert region(result, provider) == expected
    assert services(result)[provider].jurisdiction == "US"  # the operator's HQ stays apart


def test_an_azure_resource_host_does_not_invent_a_region() -> None:
    result = py(
        'import openai\nc = openai.AzureOpenAI(azure_endpoint="https://acme.openai.azure.com")\n'
    )
    props = dict(services(result)["azure-openai"].properties)
    assert "region" not in props and "region_in_korea" not in props


def test_boto3_region_name_and_vertex_location() -> None:
    result = py(
        """\
        import boto3, vertexai
        us = boto3.client("bedrock-runtime", region_name="us-east-1")
        vertexai.init(project="p", location="asia-northeast3")
        """
    )
    assert region(result, "aws-bedrock") == ("us-east-1", "US", "false")
    assert region(result, "google-vertex") == ("asia-northeast3", "KR", "true")


def test_two_regions_one_in_korea() -> None:
    result = py(
        """\
        import boto3
        seoul = boto3.client("bedrock-runtime", region_name="ap-northeast-2")
        virginia = boto3.client("bedrock-runtime", region_name="us-east-1")
        """
    )
    assert region(result, "aws-bedrock") == ("ap-northeast-2,us-east-1", "KR,US", "true")


def test_typescript_and_env_regions() -> None:
    ts = patterns.analyze(
        source(
            'import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";\n'
            'const c = new BedrockRuntimeClient({ region: "us-west-2" });\n',
            "app.ts",
        )
    )
    assert region(ts, "aws-bedrock") == ("us-west-2", "US", "false")
    env = config.analyze(
        source(
            "AZURE_OPENAI_ENDPOINT=https://x.openai.azure.com\nAZURE_REGION=koreacentral\n", ".env"
        )
    )
    assert region(env, "azure-openai") == ("koreacentral", "KR", "true")


def test_region_reaches_bom_sarif_and_html() -> None:
    seoul = py('import boto3\nc = boto3.client("bedrock-runtime", region_name="ap-northeast-2")\n')
    virginia = py('import boto3\nc = boto3.client("bedrock-runtime", region_name="us-east-1")\n')
    us_component = services(virginia)["aws-bedrock"]
    result = ScanResult(
        root="/repo",
        components=[
            services(seoul)["aws-bedrock"],
            type(us_component)(
                type="service",
                name="Amazon Bedrock (us)",
                provider="aws-bedrock",
                jurisdiction="US",
                paths=("us.py",),
                properties=us_component.properties,
            ),
        ],
    )
    bom = to_cyclonedx(result)
    props = [{p["name"]: p["value"] for p in s["properties"]} for s in bom["services"]]
    assert [(p["sumun:region"], p["sumun:region_in_korea"]) for p in props] == [
        ("ap-northeast-2", "true"),
        ("us-east-1", "false"),
    ]
    assert all(s["trustZone"] == "US" for s in bom["services"])  # jurisdiction: the HQ

    sarif_services = to_sarif(result)["runs"][0]["properties"]["sumun:services"]
    assert [(s["region"], s["in_korea"], s["jurisdiction"]) for s in sarif_services] == [
        ("ap-northeast-2", True, "US"),
        ("us-east-1", False, "US"),
    ]

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", render_html(result)))
    assert "aws-bedrock Amazon Web Services US ap-northeast-2 (KR) 국내 · in Korea" in text
    assert "us-east-1 (US) 국외 · abroad" in text
