"""Classification: declared ⊔ default ⊔ content markers ⊔ PII floor, with the reasons."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sumun.policy.classes import DataClass
from sumun.policy.classify import DEFAULT_MARKERS, Marker, MarkerSet, _anchors, classify

MARKERS = MarkerSet(DEFAULT_MARKERS)


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        ("이 문서는 Ⅱ급 비밀입니다", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        ("2급비밀 취급 주의", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        ("III급 비밀 문서 요약", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        ("[비밀] 작전 계획", DataClass.CLASSIFIED, "class.marker.secret-ko"),
        ("TOP SECRET//NOFORN", DataClass.CLASSIFIED, "class.marker.secret-en"),
        ("대외비: 3분기 실적 전망", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("내부용 자료입니다", DataClass.SENSITIVE, "class.marker.internal"),
        ("Confidential — do not forward", DataClass.SENSITIVE, "class.marker.confidential"),
    ],
)
def test_markings_raise_the_class(text: str, expected: DataClass, rule: str) -> None:
    result = classify([text], markers=MARKERS)
    assert result.data_class is expected
    assert rule in result.rules


@pytest.mark.parametrize(
    "text",
    ["비밀번호를 잊어버렸어요", "오늘 날씨 어때?", "The secretary called", "open data portal"],
)
def test_ordinary_text_stays_open(text: str) -> None:
    result = classify([text], markers=MARKERS)
    assert result.data_class is DataClass.OPEN
    assert result.rules == ("class.none",)


def test_the_effective_class_is_never_lower_than_what_the_content_shows() -> None:
    declared_open = classify(["대외비 보고서"], markers=MARKERS, declared=DataClass.OPEN)
    assert declared_open.data_class is DataClass.SENSITIVE
    assert declared_open.rules == ("class.declared", "class.marker.not-for-release")
    assert any("declared O" in r for r in declared_open.reasons)
    higher = classify(["hello"], markers=MARKERS, declared=DataClass.CLASSIFIED)
    assert higher.data_class is DataClass.CLASSIFIED
    default = classify(["hello"], markers=MARKERS, default=DataClass.SENSITIVE)
    assert default.data_class is DataClass.SENSITIVE and default.rules == ("class.default",)


def test_pii_sets_a_floor() -> None:
    result = classify(
        ["주민번호 900101-1234567"],
        markers=MARKERS,
        pii_floor=DataClass.SENSITIVE,
        pii_types=["KR_RRN"],
    )
    assert result.data_class is DataClass.SENSITIVE
    assert "class.pii" in result.rules and "KR_RRN" in result.reasons[-1]


def test_configurable_markers_and_misuse() -> None:
    own = MarkerSet([Marker(r"\[사내한정\]", DataClass.SENSITIVE, "class.marker.acme")])
    assert classify(["[사내한정] 회의록"], markers=own).data_class is DataClass.SENSITIVE
    with pytest.raises(ValueError, match="at least one marker"):
        MarkerSet([])
    with pytest.raises(ValueError, match="C, S or O"):
        DataClass.parse("TOP")
    assert DataClass.parse(" s ") is DataClass.SENSITIVE


# -- the anchor prefilter never changes what is found -------------------------------------------

_PIECES = st.sampled_from(
    [
        "비밀",
        "Ⅱ급 비밀",
        "3급비밀",
        "대외비",
        "내부 한정",
        "내부용",
        "secret",
        "Top  Secret",
        "CONFIDENTIAL",
        "confidentiality",
        "비밀번호",
        "ſecret",
        " ",
        "가",
        "a",
        "\n",
        "급",
    ]
)


@given(st.lists(_PIECES, max_size=12))
def test_anchored_find_equals_the_plain_regexes(pieces: list[str]) -> None:
    text = "".join(pieces)
    markers = MarkerSet(DEFAULT_MARKERS)
    plain = sorted(
        (m.rule_id, hit.start(), hit.end())
        for m in DEFAULT_MARKERS
        for hit in re.finditer(m.pattern, text, re.IGNORECASE)
    )
    assert sorted((m.rule_id, s, e) for m, s, e in markers.find(text)) == plain


def test_anchors_are_derived_or_refused() -> None:
    assert _anchors(r"\bTOP\s+SECRET\b|\bSECRET\b") == ("secret",)
    assert _anchors(r"(?<![가-힣])비밀(?![번])") == ("비밀",)
    assert _anchors(r"a|b?") is None  # a branch that may match nothing literal: always run
    assert _anchors(r"(?:ab|cd)+") is None


@pytest.mark.parametrize("text", ["ſecret plan", "TOP ſECRET", "보고서 — Confidential", "x SECRET"])
def test_case_folding_corners_still_match(text: str) -> None:
    """ſ and K fold to ASCII under IGNORECASE but not under str.lower(): the regex decides."""
    plain = [m.rule_id for m in DEFAULT_MARKERS if re.search(m.pattern, text, re.IGNORECASE)]
    assert plain  # every text here is marked
    assert [m.rule_id for m, _s, _e in MarkerSet(DEFAULT_MARKERS).find(text)] == plain
