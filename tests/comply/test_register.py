"""The AI system register: the art. 2(4) questionnaire's logic and the register file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sumun.comply.catalog import Catalog
from sumun.comply.register import (
    QUESTION_AUTOMATED,
    Determination,
    Register,
    Registration,
    determine,
    parse_subject,
)
from sumun.errors import StateError, UsageError


def _reg(app: str, *, high: bool, at: float) -> Registration:
    return Registration(
        tenant="acme",
        app=app,
        purpose="triage of loan applications",
        sector="finance",
        determination=Determination(high_impact=high, method="declared", reason="test"),
        registered_at=at,
        updated_at=at,
        registered_by="test",
    )


def test_high_impact_needs_an_area_and_a_significant_effect(catalog: Catalog) -> None:
    areas = catalog.areas
    assert determine(areas, [], "yes").high_impact is False
    yes = determine(areas, ["rights-decisions"], "yes")
    assert yes.high_impact is True and yes.method == "questionnaire"
    assert "(사) Judgements with significant effect" in yes.reason
    no = determine(areas, ["rights-decisions", "rights-decisions"], "no")
    assert no.high_impact is False and no.areas == ("rights-decisions",)
    assert "MSIT can be asked to confirm" in no.reason
    unsure = determine(areas, ["healthcare"], "unsure")
    assert unsure.high_impact is True and "unsure whether" in unsure.reason
    with pytest.raises(UsageError, match="unknown high-impact area 'casino'"):
        determine(areas, ["casino"], "yes")


def test_a_person_in_the_final_decision_keeps_a_listed_area_out_of_high_impact(
    catalog: Catalog,
) -> None:
    """MSIT's January-2026 criterion: only automated use makes a listed area high-impact."""
    areas = catalog.areas
    assert "without a person making the final decision" in QUESTION_AUTOMATED
    human = determine(areas, ["rights-decisions"], "yes", "no")
    assert human.high_impact is False and human.automated == "no"
    assert "a person makes the final decision" in human.reason
    assert "MSIT can be asked to confirm" in human.reason
    auto = determine(areas, ["rights-decisions"], "yes", "yes")
    assert auto.high_impact is True and auto.automated == "yes"
    assert "without a person in the final decision" in auto.reason
    unsure = determine(areas, ["rights-decisions"], "yes", "unsure")
    assert unsure.high_impact is True and "unsure whether a person makes" in unsure.reason
    # Not asked (an older caller): recorded as None and read as unsure — the safe default.
    old = determine(areas, ["rights-decisions"], "yes")
    assert old.high_impact is True and old.automated is None
    assert "final-decision question was not answered" in old.reason
    # No significant effect: not high-impact whatever the automation answer.
    assert determine(areas, ["healthcare"], "no", "yes").high_impact is False
    # The answer is recorded in the register entry, and older entries still load.
    assert Determination.model_validate_json(auto.model_dump_json()).automated == "yes"
    legacy = {"high_impact": True, "method": "questionnaire", "reason": "before the question"}
    assert Determination.model_validate(legacy).automated is None


def test_the_register_keeps_the_first_registration_time(tmp_path: Path) -> None:
    register = Register(tmp_path)
    assert register.load() == ()
    register.put(_reg("loans", high=False, at=100.0))
    register.put(_reg("chat", high=False, at=150.0))
    updated = register.put(_reg("loans", high=True, at=200.0))
    assert updated.registered_at == 100.0 and updated.updated_at == 200.0
    loaded = Register(tmp_path).load()
    assert [(r.subject, r.high_impact) for r in loaded] == [
        ("acme/chat", False),
        ("acme/loans", True),
    ]
    assert Path(register.path).stat().st_mode & 0o077 == 0  # owner-only, like the keystore
    register.remove("acme/chat")
    assert [r.subject for r in register.load()] == ["acme/loans"]
    with pytest.raises(UsageError, match="acme/chat is not in the register"):
        register.remove("acme/chat")


def test_a_damaged_register_is_refused(tmp_path: Path) -> None:
    register = Register(tmp_path)
    register.put(_reg("loans", high=True, at=time.time()))
    Path(register.path).write_text('{"format": 1, "apps": [{"tenant": "acme"}]}', encoding="utf-8")
    with pytest.raises(StateError, match=r"register .* is damaged"):
        register.load()


@pytest.mark.parametrize("text", ["acme", "acme/", "/loans", "a/b/c"])
def test_apps_are_named_tenant_slash_app(text: str) -> None:
    with pytest.raises(UsageError, match="name the app as TENANT/APP"):
        parse_subject(text)
