"""The pure decision: per-candidate PII plans, class floors, admission, kill switch, reroute."""

from __future__ import annotations

from sumun.policy.classes import DataClass
from sumun.policy.decide import Candidate, PolicyEngine
from sumun.policy.pii import Finding
from sumun.policy.profiles import ProviderProfile
from sumun.policy.rules import parse_policy

ONPREM = ProviderProfile("KR", "on-prem", "organization", 0, False)
KOREA = ProviderProfile("KR", "kr-region", "byok", 0, False)
ABROAD = ProviderProfile("US", "abroad", "provider", 30, False, (), "contract")

POLICY = parse_policy(
    """
pii:
  rules:
    - {id: pii.rrn, types: [KR_RRN], action: pseudonymize, when: {hosting: [abroad, kr-region]}}
    - {id: pii.card, types: [CREDIT_CARD], action: block, when: {hosting: [abroad]}}
    - {id: pii.acct, types: [BANK_ACCOUNT_KR], action: reroute, to: {hosting: [on-prem]}}
    - {id: pii.low, types: [PHONE_KR], action: mask, min_score: 0.8}
"""
)


def _f(kind: str, start: int = 0, end: int = 5, score: float = 0.95) -> Finding:
    return Finding(kind, start, end, score)


def _decide(findings: list[Finding], cands: list[Candidate], **kw: DataClass) -> object:
    return PolicyEngine(POLICY).decide(["x" * 40], [findings], cands, **kw)


def test_nothing_found_is_allowed_to_the_first_provider() -> None:
    v = PolicyEngine(POLICY).decide(["안녕하세요"], [[]], [Candidate("a", ABROAD)])
    assert (v.action, v.provider, v.data_class) == ("allow", "a", DataClass.OPEN)


def test_pseudonymized_identifier_does_not_raise_the_class() -> None:
    v = PolicyEngine(POLICY).decide(["x" * 20], [[_f("KR_RRN")]], [Candidate("a", ABROAD)])
    assert v.action == "transform" and v.data_class is DataClass.OPEN
    assert [(s.type, s.action, s.rule) for s in v.steps] == [("KR_RRN", "pseudonymize", "pii.rrn")]


def test_identifier_sent_as_is_makes_the_request_s() -> None:
    """On-prem gets the RRN in clear (no rule for on-prem) ⇒ class S, which on-prem admits."""
    v = PolicyEngine(POLICY).decide(["x" * 20], [[_f("KR_RRN")]], [Candidate("l", ONPREM)])
    assert v.action == "allow" and v.data_class is DataClass.SENSITIVE
    assert "class.pii" in v.rules


def test_floor_after_transform_can_be_switched_off() -> None:
    strict = parse_policy(
        "classification: {floor_after_transform: false}\n"
        "pii: {rules: [{id: p.r, types: [KR_RRN], action: pseudonymize}]}\n"
    )
    v = PolicyEngine(strict).decide(["x" * 20], [[_f("KR_RRN")]], [Candidate("a", ABROAD)])
    assert v.action == "block" and "profile.none-admitted" in v.rules


def test_block_rule_for_one_provider_reroutes_to_the_next() -> None:
    cands = [Candidate("a", ABROAD), Candidate("k", KOREA)]
    v = PolicyEngine(POLICY).decide(["x" * 20], [[_f("CREDIT_CARD")]], cands)
    assert (v.action, v.provider) == ("reroute", "k")
    assert v.considered == (("a", "rule pii.card: CREDIT_CARD may not be sent to a"),)


def test_block_everywhere_names_the_rule_and_never_the_value() -> None:
    v = PolicyEngine(POLICY).decide(
        ["카드 4111111111111111"], [[_f("CREDIT_CARD", 3, 19)]], [Candidate("a", ABROAD)]
    )
    assert v.action == "block" and "pii.card" in v.rules
    assert "4111" not in v.reason and "CREDIT_CARD" in v.reason


def test_reroute_rule_admits_only_its_targets() -> None:
    cands = [Candidate("a", ABROAD), Candidate("k", KOREA), Candidate("l", ONPREM)]
    v = PolicyEngine(POLICY).decide(["x" * 20], [[_f("BANK_ACCOUNT_KR")]], cands)
    assert (v.action, v.provider, v.providers) == ("reroute", "l", ("l",))


def test_a_cut_provider_is_never_chosen() -> None:
    cands = [Candidate("a", ABROAD, cut=True), Candidate("k", KOREA)]
    v = PolicyEngine(POLICY).decide(["hello"], [[]], cands)
    assert v.provider == "k" and "cut off" in v.considered[0][1]


def test_fallbacks_share_the_chosen_plan_only() -> None:
    """korea pseudonymizes the RRN like abroad does; on-prem would get it in clear."""
    cands = [Candidate("a", ABROAD), Candidate("k", KOREA), Candidate("l", ONPREM)]
    v = PolicyEngine(POLICY).decide(["x" * 20], [[_f("KR_RRN")]], cands)
    assert v.provider == "a" and v.providers == ("a", "k")


def test_min_score_per_rule() -> None:
    low = PolicyEngine(POLICY).decide(
        ["x" * 20], [[_f("PHONE_KR", score=0.7)]], [Candidate("a", ABROAD)]
    )
    high = PolicyEngine(POLICY).decide(
        ["x" * 20], [[_f("PHONE_KR", score=0.9)]], [Candidate("a", ABROAD)]
    )
    assert low.action == "allow" and high.action == "transform"


def test_markings_and_declared_class_route_to_admitted_providers() -> None:
    cands = [Candidate("a", ABROAD), Candidate("k", KOREA), Candidate("l", ONPREM)]
    engine = PolicyEngine(POLICY)
    assert engine.decide(["[대외비] 문서"], [[]], cands).provider == "k"
    assert engine.decide(["Ⅲ급 비밀"], [[]], cands).provider == "l"
    assert engine.decide(["hello"], [[]], cands, declared=DataClass.CLASSIFIED).provider == "l"
    assert engine.decide(["hello"], [[]], cands[:2], default=DataClass.CLASSIFIED).action == "block"


def test_policy_admission_rules_change_what_a_profile_qualifies_for() -> None:
    strict = PolicyEngine(parse_policy("admission: {S: {certifications: [CSAP-상]}}"))
    assert strict.max_class(KOREA) is DataClass.OPEN
    assert PolicyEngine(POLICY).max_class(KOREA) is DataClass.SENSITIVE
