"""Provider profiles: which class each qualifies for under the default rules (default deny)."""

from __future__ import annotations

import dataclasses

from sumun.policy.classes import DataClass
from sumun.policy.profiles import AdmissionRules, ProviderProfile, admit_profile, admitted_for

ONPREM = ProviderProfile(
    jurisdiction="KR",
    hosting="on-prem",
    key_custody="organization",
    retention_days=0,
    training_use=False,
)
KR_CLOUD = ProviderProfile(
    jurisdiction="KR",
    hosting="kr-region",
    key_custody="provider",
    retention_days=0,
    training_use=False,
    certifications=("CSAP-중",),
)
FOREIGN_KR_REGION = ProviderProfile(
    jurisdiction="US",
    hosting="kr-region",
    key_custody="byok",
    retention_days=0,
    training_use=False,
)
FOREIGN_ABROAD = ProviderProfile(
    jurisdiction="US",
    hosting="abroad",
    key_custody="provider",
    retention_days=30,
    training_use=False,
    cross_border_basis="contract",
)


def test_default_rules() -> None:
    assert admit_profile(ONPREM).max_class is DataClass.CLASSIFIED
    assert admit_profile(KR_CLOUD).max_class is DataClass.SENSITIVE
    abroad = admit_profile(FOREIGN_ABROAD)
    assert abroad.max_class is DataClass.OPEN
    assert any("not in Korea" in r for r in abroad.reasons)
    assert any("retention 30" in r for r in abroad.reasons)


def test_a_foreign_operator_in_a_korean_region_needs_a_cross_border_basis() -> None:
    without = admit_profile(FOREIGN_KR_REGION)
    assert without.max_class is DataClass.OPEN
    assert any("28-8" in r for r in without.reasons)
    with_basis = dataclasses.replace(FOREIGN_KR_REGION, cross_border_basis="consent")
    assert admit_profile(with_basis).max_class is DataClass.SENSITIVE


def test_unknown_profiles_are_admitted_for_open_data_only() -> None:
    unknown = admit_profile(ProviderProfile())
    assert unknown.max_class is DataClass.OPEN and unknown.rules == ("profile.admit.O",)


def test_rules_are_configurable() -> None:
    strict = AdmissionRules(sensitive_certifications=("CSAP-상",))
    assert admit_profile(KR_CLOUD, strict).max_class is DataClass.OPEN
    assert admit_profile(ONPREM, strict).max_class is DataClass.OPEN  # no CSAP-상 declared


def test_admitted_for_keeps_the_route_order() -> None:
    providers = [("gpt", FOREIGN_ABROAD), ("exaone", ONPREM), ("solar", KR_CLOUD)]
    assert admitted_for(providers, DataClass.OPEN) == ["gpt", "exaone", "solar"]
    assert admitted_for(providers, DataClass.SENSITIVE) == ["exaone", "solar"]
    assert admitted_for(providers, DataClass.CLASSIFIED) == ["exaone"]
