"""Admission (gateway/admission.py) in process: where the text is, what the built-in policy
does with it for a provider abroad and one at home, and the refusals before any decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sumun.config import RouteConfig, Settings
from sumun.errors import ProviderCutError
from sumun.gateway.admission import Admission, request_texts
from sumun.gateway.wire import BadRequestError
from sumun.store.model import Principal, Role, Tenant

RRN = "900101-1234567"
PROFILES = {
    "abroad": {
        "jurisdiction": "US",
        "hosting": "abroad",
        "key_custody": "provider",
        "retention_days": 30,
        "training_use": False,
        "cross_border_basis": "contract",
    },
    "home": {
        "jurisdiction": "KR",
        "hosting": "on-prem",
        "key_custody": "organization",
        "retention_days": 0,
        "training_use": False,
    },
}
TENANT = Tenant("acme", False, None, None, None, None, None, 0.0)
USER = Principal("k1", "acme", "chat", "kim", Role.USER)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    providers = [
        {"name": name, "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "profile": profile}
        for name, profile in PROFILES.items()
    ]
    return Settings(home=tmp_path, providers=providers, routes=[_route_raw("abroad")])


def _route_raw(*names: str) -> dict[str, Any]:
    return {"model": "m", "targets": [{"provider": n, "model": "up"} for n in names]}


def _route(*names: str) -> RouteConfig:
    return RouteConfig.model_validate(_route_raw(*names))


def _body(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def test_request_texts_finds_every_human_text() -> None:
    body = {
        "system": [{"type": "text", "text": "sys"}],
        "instructions": "inst",
        "input": ["in", {"type": "input_text", "text": "in2"}],
        "messages": [
            {"role": "user", "content": "plain"},
            {"role": "user", "content": [{"type": "tool_result", "content": [{"text": "deep"}]}]},
            {"role": "assistant", "content": None},
        ],
    }
    assert list(request_texts(body)) == ["sys", "in", "in2", "inst", "plain", "deep"]


def test_a_request_without_pii_is_allowed_unchanged(settings: Settings) -> None:
    decision = Admission(settings).decide(USER, TENANT, _route("abroad"), None, _body("안녕"))
    assert decision.action == "allow" and decision.body is None and not decision.pseudonyms
    assert decision.providers == ("abroad",)


def test_an_rrn_going_abroad_is_pseudonymized_and_the_original_body_kept(
    settings: Settings,
) -> None:
    body = _body(f"주민번호 {RRN} 확인")
    decision = Admission(settings).decide(USER, TENANT, _route("abroad"), None, body)
    assert decision.action == "transform"
    assert decision.body is not None and RRN not in str(decision.body)
    assert body["messages"][0]["content"] == f"주민번호 {RRN} 확인"  # the caller's body untouched
    assert list(decision.pseudonyms.values()) == [RRN]
    token = next(iter(decision.pseudonyms))
    assert token in decision.body["messages"][0]["content"]
    assert "KR_RRN" in decision.pii_types and "pii.unique-id" in decision.rules
    assert RRN not in decision.reason and RRN not in decision.pii_actions


def test_an_rrn_for_a_provider_at_home_goes_as_it_is(settings: Settings) -> None:
    decision = Admission(settings).decide(USER, TENANT, _route("home"), None, _body(RRN))
    assert decision.body is None and decision.action != "block"
    assert decision.pii_types == ("KR_RRN",)


def test_an_auditor_key_is_blocked_by_the_role_table(settings: Settings) -> None:
    auditor = Principal("k2", "acme", None, None, Role.AUDITOR)
    decision = Admission(settings).decide(auditor, TENANT, _route("abroad"), None, _body("hi"))
    assert decision.action == "block"
    assert decision.rules[0] == "role.auditor-calls-no-models"


def test_a_bad_data_class_header_is_a_400(settings: Settings) -> None:
    with pytest.raises(BadRequestError) as caught:
        Admission(settings).decide(USER, TENANT, _route("abroad"), "secret", _body("hi"))
    assert (caught.value.status, caught.value.code) == (400, "invalid_data_class")


def test_a_route_whose_every_provider_is_cut_is_refused(settings: Settings) -> None:
    admission = Admission(settings, is_cut=lambda _name: True)
    with pytest.raises(ProviderCutError) as caught:
        admission.decide(USER, TENANT, _route("abroad", "home"), None, _body(RRN))
    assert caught.value.providers == ("abroad", "home")


def test_a_cut_provider_is_left_out_of_the_admitted_ones(settings: Settings) -> None:
    admission = Admission(settings, is_cut=lambda name: name == "abroad")
    decision = admission.decide(USER, TENANT, _route("abroad", "home"), None, _body("hi"))
    assert decision.providers == ("home",)


def test_output_rules_follow_the_input_rules_per_provider(settings: Settings) -> None:
    admission = Admission(settings)
    assert admission.output_rules("abroad")["KR_RRN"] == ("mask", "output.pii.unique-id", 0.5)
    assert "KR_RRN" not in admission.output_rules("home")  # on-prem sees the data as it is
