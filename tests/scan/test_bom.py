"""CycloneDX 1.6: validated against the official schema (cyclonedx-python-lib ships it, offline)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from sumun.scan.bom import spdx_id, to_cyclonedx
from sumun.scan.engine import scan
from sumun.scan.model import Component, Finding, ScanResult, Severity

SHA = "a" * 64


def sample_result() -> ScanResult:
    """A scan with one of everything; also used by the SARIF and HTML tests."""
    return ScanResult(
        root="/srv/repo",
        findings=[
            Finding(
                "app/main.py",
                Severity.HIGH,
                "code.trust-remote-code",
                "trust_remote_code=True",
                line=12,
            ),
            Finding(
                "bundle.zip",
                Severity.CRITICAL,
                "pickle.dangerous-global",
                "os.system",
                member="a/evil.pkl",
            ),
            Finding(
                "models/evil.pkl",
                Severity.CRITICAL,
                "pickle.dangerous-global",
                "calls <script>alert(1)</script>",
            ),
            Finding(
                "models/evil.pkl", Severity.MEDIUM, "scan.extension-mismatch", "named as image"
            ),
            Finding("notes/한국어 파일.txt", Severity.INFO, "walk.unreadable", "not readable"),
        ],
        components=[
            Component(
                "machine-learning-model",
                "acme/bert-ko",
                path="models/bert/config.json",
                license="apache-2.0",
                base_models=("google-bert/bert-base-multilingual-cased", "local base"),
                datasets=("klue",),
                properties=(("architecture", "bert"), ("hf_id", "acme/bert-ko")),
            ),
            Component(
                "machine-learning-model",
                "evil.pkl",
                path="models/evil.pkl",
                hashes=(("SHA-256", SHA),),
                license="llama2",
                properties=(("format", "pickle"),),
            ),
            Component("machine-learning-model", "evil.pkl", path="bundle.zip", member="a/evil.pkl"),
            Component("machine-learning-model", "meta-llama/Llama-3.1-8B", paths=("app/main.py",)),
            Component("data", "klue", paths=("models/bert/config.json",)),
            Component("library", "openai", version="1.50.0", paths=("app/main.py",)),
            Component(
                "service",
                "Azure OpenAI",
                provider="azure-openai",
                publisher="Microsoft",
                jurisdiction="US",
                endpoint="https://{resource}.openai.azure.com/openai deployments",
                paths=("app/main.py", "config/.env"),
            ),
            Component(
                "service",
                "Naver HyperCLOVA X",
                provider="naver",
                jurisdiction="KR",
                endpoint="http://[::1]:8080/v1",
                paths=("app/kr.py",),
            ),
        ],
        files=10,
        bytes=12345,
        seconds=0.5,
        formats={"pickle": 2, "python": 3},
    )


def validate(bom: dict[str, Any]) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom))
    assert error is None, str(error)[:2000]


def test_validates_against_the_official_schema() -> None:
    bom = to_cyclonedx(sample_result())
    validate(bom)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", bom["serialNumber"])
    assert bom["metadata"]["tools"]["components"][0]["name"] == "sumun"


def test_the_schema_check_can_fail() -> None:
    bom = to_cyclonedx(sample_result())
    bom["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "not-hex"}]
    with pytest.raises(AssertionError, match="does not match"):
        validate(bom)


def test_models_carry_card_pedigree_licence_hashes_and_hub_links() -> None:
    bom = to_cyclonedx(sample_result())
    by_name = {c["name"]: c for c in bom["components"] if c["type"] == "machine-learning-model"}
    card = by_name["acme/bert-ko"]
    assert card["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert card["externalReferences"] == [
        {"type": "website", "url": "https://huggingface.co/acme/bert-ko"}
    ]
    ancestors = card["pedigree"]["ancestors"]
    assert [a["name"] for a in ancestors] == [
        "google-bert/bert-base-multilingual-cased",
        "local base",
    ]
    assert "externalReferences" not in ancestors[1]
    data_ref = next(c["bom-ref"] for c in bom["components"] if c["type"] == "data")
    assert card["modelCard"]["modelParameters"] == {
        "architectureFamily": "bert",
        "datasets": [{"ref": data_ref}],
    }
    evil = next(
        c
        for c in bom["components"]
        if c.get("evidence", {}).get("occurrences") == [{"location": "models/evil.pkl"}]
    )
    assert evil["hashes"] == [{"alg": "SHA-256", "content": SHA}]
    assert evil["licenses"] == [{"license": {"name": "llama2"}}]  # not an SPDX id
    referenced = by_name["meta-llama/Llama-3.1-8B"]
    assert (
        referenced["externalReferences"][0]["url"]
        == "https://huggingface.co/meta-llama/Llama-3.1-8B"
    )


def test_services_are_services_with_jurisdiction() -> None:
    bom = to_cyclonedx(sample_result())
    assert all(c["type"] != "service" for c in bom["components"])
    azure, naver = bom["services"]
    assert azure["provider"] == {"name": "Microsoft"} and azure["trustZone"] == "US"
    assert azure["endpoints"] == ["https://%7Bresource%7D.openai.azure.com/openai%20deployments"]
    props = [(p["name"], p["value"]) for p in azure["properties"]]
    assert ("sumun:jurisdiction", "US") in props
    assert [v for n, v in props if n == "sumun:path"] == ["app/main.py", "config/.env"]
    assert azure["x-trust-boundary"] is True
    assert "endpoints" not in naver  # not expressible as an IRI the schema accepts
    assert ("sumun:endpoint", "http://[::1]:8080/v1") in [
        (p["name"], p["value"]) for p in naver["properties"]
    ]


def test_only_component_bound_critical_and_high_findings_become_vulnerabilities() -> None:
    bom = to_cyclonedx(sample_result())
    refs = {c["bom-ref"]: c for c in bom["components"]}
    vulns = bom["vulnerabilities"]
    assert [(v["id"], v["ratings"][0]["severity"]) for v in vulns] == [
        ("pickle.dangerous-global", "critical"),
        ("pickle.dangerous-global", "critical"),
    ]
    affected = [
        refs[v["affects"][0]["ref"]]["evidence"]["occurrences"][0]["location"] for v in vulns
    ]
    assert affected == ["bundle.zip!/a/evil.pkl", "models/evil.pkl"]


def test_serial_and_timestamp_are_injectable() -> None:
    serial = uuid.UUID(int=7)
    when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    one = to_cyclonedx(sample_result(), serial=serial, timestamp=when)
    two = to_cyclonedx(sample_result(), serial=serial, timestamp=when)
    assert one == two
    assert one["serialNumber"] == "urn:uuid:00000000-0000-0000-0000-000000000007"
    assert one["metadata"]["timestamp"] == "2025-01-02T03:04:05Z"


def test_bom_refs_are_unique() -> None:
    result = sample_result()
    result.components.append(Component("data", "klue", path="x"))
    result.components.append(Component("data", "klue", path="x"))
    bom = to_cyclonedx(result)
    validate(bom)
    refs = [c["bom-ref"] for c in bom["components"]] + [s["bom-ref"] for s in bom["services"]]
    assert len(refs) == len(set(refs))


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("apache-2.0", "Apache-2.0"), ("MIT", "MIT"), ("gpl-3.0", "GPL-3.0-only"), ("openrail", None)],
)
def test_spdx_ids(tag: str, expected: str | None) -> None:
    assert spdx_id(tag) == expected


def test_a_real_scan_validates(tmp_path: Path) -> None:
    (tmp_path / "m.safetensors").write_bytes(b"\x10" + b"\0" * 7 + b'{"a": 1}' + b" " * 8)
    (tmp_path / "evil.pkl").write_bytes(b"\x80\x04cos\nsystem\n\x8c\x04echo\x85R.")
    validate(to_cyclonedx(scan(tmp_path, workers=1)))
