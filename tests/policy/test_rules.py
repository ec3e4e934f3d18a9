"""The policy file: validation with file:line:column errors, and the built-in defaults."""

from __future__ import annotations

import pytest

from sumun.policy.classes import DataClass
from sumun.policy.rules import DEFAULT_POLICY, PolicyError, parse_policy

GOOD = """\
version: 1
classification:
  markers: [{pattern: "극비", class: C, id: class.marker.top-secret-ko}]
admission:
  S: {hosting: [on-prem, kr-region], certifications: [CSAP-중]}
pii:
  min_score: 0.6
  rules:
    - {id: pii.rrn, types: [KR_RRN, KR_FRN], action: pseudonymize, when: {hosting: [abroad]}}
    - {id: pii.account, types: [BANK_ACCOUNT_KR], action: reroute, to: {jurisdictions: [KR]}}
  default: mask
output: {scan: false}
"""


def test_a_valid_file_becomes_typed_policy() -> None:
    policy = parse_policy(GOOD, source="p.yaml")
    assert policy.source == "p.yaml"
    assert [r.id for r in policy.pii.rules] == ["pii.rrn", "pii.account"]
    assert policy.pii.default == "mask" and policy.pii.min_score == 0.6
    assert policy.output.scan is False
    markers = policy.classification.marker_list()
    assert markers[-1].data_class is DataClass.CLASSIFIED and len(markers) > 1  # defaults kept
    assert policy.admission.rules().sensitive_certifications == ("CSAP-중",)
    # What the file does not say keeps the default.
    assert policy.admission.rules().classified_hosting == ("on-prem",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pii:\n  rules:\n    - {id: pii.x, types: [KR_RRN], action: blok}\n",
            r"p\.yaml:3:\d+: pii\.rules\[0\]\.action: Input should be",
        ),
        (
            "pii:\n  rules:\n    - id: pii.x\n      types: [KR_FOO]\n      action: mask\n",
            r"p\.yaml:4:14: pii\.rules\[0\]\.types: unknown PII type 'KR_FOO'",
        ),
        (
            "pii:\n  rules:\n    - {id: pii.x, types: [EMAIL], action: reroute}\n",
            r"p\.yaml:3:7: pii\.rules\[0\]: action 'reroute' needs `to:`",
        ),
        (
            "pii:\n  rules:\n    - {id: a.b, types: [EMAIL], action: mask}\n"
            "    - {id: a.b, types: [EMAIL], action: mask}\n",
            r"p\.yaml:3:5: pii\.rules: duplicate rule id 'a\.b'",
        ),
        (
            "classification:\n  markers: [{pattern: '(', class: C, id: m.x}]\n",
            r"p\.yaml:2:\d+: classification\.markers\[0\]\.pattern: not a valid regular expression",
        ),
        (
            "admission:\n  S: {hostng: [on-prem]}\n",
            r"p\.yaml:2:\d+: admission\.S\.hostng: Extra inputs are not permitted",
        ),
        ("version: 2\n", r"p\.yaml:1:10: version: Input should be 1"),
        ("pii: [\n", r"p\.yaml:2:1: not valid YAML"),
        ("- a\n- b\n", r"p\.yaml:1:1: the top level must be a mapping"),
    ],
)
def test_errors_name_file_line_column_and_field(text: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        parse_policy(text, source="p.yaml")


def test_several_errors_are_all_reported_in_line_order() -> None:
    text = (
        "version: 1\npii:\n  default: nope\n  rules:\n    - {id: X, types: [EMAIL], action: mask}\n"
    )
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("p.yaml:3:") and lines[1].startswith("p.yaml:5:")


def test_an_empty_file_is_the_empty_policy() -> None:
    policy = parse_policy("", source="p.yaml")
    assert policy.pii.rules == () and policy.pii.default == "allow"


def test_the_built_in_policy_keeps_identifiers_in_house() -> None:
    ids = {r.id: r for r in DEFAULT_POLICY.pii.rules}
    assert ids["pii.unique-id"].action == "pseudonymize"
    assert ids["pii.unique-id"].when is not None
    assert "on-prem" not in ids["pii.unique-id"].when.hosting
    health = ids["pii.health-insurance"]
    assert health.types == ("KR_HEALTH_INSURANCE",) and health.action == "pseudonymize"
