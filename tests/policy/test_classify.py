"""Classification: declared ⊔ default ⊔ content markings ⊔ PII floor, with the reasons.

A built-in marking counts where it stands as one (a marking line, header or footer, bracketed
tag, marking table, a sentence stating the grade), never as a word in running text: N2SF rests
C on formal designation. The corpus tests measure both ways on generated corpora
(tests/data/classify/make_corpus.py; bench/eval_classify.py prints the same figures).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sumun.policy.classes import DataClass
from sumun.policy.classify import DEFAULT_MARKERS, Marker, MarkerSet, _anchors, classify
from sumun.policy.markings import is_marking
from tests.data.classify.make_corpus import marked_documents, running_text

MARKERS = MarkerSet(DEFAULT_MARKERS)


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        ("이 문서는 Ⅱ급 비밀입니다", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        ("2급비밀 취급 주의", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        ("III급 비밀\n작전 문서 요약", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        ("보고서 요약\n\n　　Ⅱ·Ⅲ급 비밀　　", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        ("【Ⅲ급 비밀】 작전 계획", DataClass.CLASSIFIED, "class.marker.graded-secret"),
        (
            "| 보안등급 | Ⅲ급 비밀 |\n| 작성 | 기획팀 |",
            DataClass.CLASSIFIED,
            "class.marker.graded-secret",
        ),
        (
            "작성: 기획팀 / 비밀등급: Ⅱ급 / 2026. 3.",
            DataClass.CLASSIFIED,
            "class.marker.graded-secret",
        ),
        ("[비밀] 작전 계획", DataClass.CLASSIFIED, "class.marker.secret-ko"),
        ("<비밀>\n훈련 일정", DataClass.CLASSIFIED, "class.marker.secret-ko"),
        ("제목: 훈련 일정\n보안등급: 비밀", DataClass.CLASSIFIED, "class.marker.secret-ko"),
        ("본 문서는 비밀로 분류됨.", DataClass.CLASSIFIED, "class.marker.secret-ko"),
        ("TOP SECRET//NOFORN", DataClass.CLASSIFIED, "class.marker.secret-en"),
        ("plan\n// SECRET //\nstep 1", DataClass.CLASSIFIED, "class.marker.secret-en"),
        ("Classification: SECRET\nsummary", DataClass.CLASSIFIED, "class.marker.secret-en"),
        ("ＳＥＣＲＥＴ\n작전 계획", DataClass.CLASSIFIED, "class.marker.secret-en"),
        ("This document is classified TOP SECRET.", DataClass.CLASSIFIED, "class.marker.secret-en"),
        ("대외비: 3분기 실적 전망", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("실적 전망\n분류：대외비", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("본 문서는 대외비로 분류됨", DataClass.SENSITIVE, "class.marker.not-for-release"),
        (
            "이 문서는 대외비입니다. 무단 배포 금지",
            DataClass.SENSITIVE,
            "class.marker.not-for-release",
        ),
        ("［대외비］ 조직 개편안", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("[내부용] 자료 공유드립니다", DataClass.SENSITIVE, "class.marker.internal"),
        ("본문\n- 3 -  대외비\n본문", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("│보안등급│대외비│\n본문", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("기획-123        대외비\n본문", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("RE: [대외비] 조직 개편안", DataClass.SENSITIVE, "class.marker.not-for-release"),
        ("Confidential — do not forward", DataClass.SENSITIVE, "class.marker.confidential"),
        ("Q3 numbers\nSTRICTLY CONFIDENTIAL", DataClass.SENSITIVE, "class.marker.confidential"),
    ],
)
def test_markings_raise_the_class(text: str, expected: DataClass, rule: str) -> None:
    result = classify([text], markers=MARKERS)
    assert result.data_class is expected
    assert rule in result.rules


@pytest.mark.parametrize(
    "text",
    [
        "비밀번호를 잊어버렸어요",
        "비밀 번호를 잊었어요. 재설정 링크를 보내 주세요.",
        "비밀유지계약(NDA) 초안을 검토해 주세요.",
        "영업비밀 보호법 위반 사례를 정리해 줘",
        "생일 파티는 비밀리에 준비 중이에요",
        "이 내용은 비밀로 해 주세요",
        "3급 비밀 취급인가는 어떻게 받나요?",
        "대외비 문서는 어디에 보관하나요?",
        "올해 대외비용 절감 목표는 5%입니다",
        "내부용 노트북 구매 요청",
        "오늘 날씨 어때?",
        "The secretary called",
        "the secret to a good kimchi is time",
        "My grandmother's top secret recipe",
        "A gift from Victoria's Secret",
        "Secret: I have never liked coffee.",
        "Rotate the client secret.\nkind: Secret",
        "This email and any attachments are confidential.",
        "2. Confidential Information\nmeans any information disclosed.",
        "드라마 <비밀>을 봤다",
        "《비밀》 시청 후기",
        "단어로 문장을 만들어 줘:\n- 비밀\n- 약속\n고마워요",
        "| 구분 | 내용 |\n|---|---|\n| 비밀 | 작성자만 봅니다 |",
        "SECRET_KEY = os.environ['SECRET']",
        "그 문서의 비밀등급: 2급이었다",
        "공개 범위\n비밀        작성자만 봅니다\n공개        누구나",
        "open data portal",
    ],
)
def test_words_in_running_text_stay_open(text: str) -> None:
    result = classify([text], markers=MARKERS)
    assert result.data_class is DataClass.OPEN, result.rules
    assert result.rules == ("class.none",)


def test_the_effective_class_is_never_lower_than_what_the_content_shows() -> None:
    declared_open = classify(["[대외비] 보고서"], markers=MARKERS, declared=DataClass.OPEN)
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
        "ＳＥＣＲＥＴ",
        "Ⅱ·Ⅲ급",
        "[",
        "]",
        "|",
        ":",
        "//",
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
        if is_marking(text, hit.start(), hit.end())
    )
    assert sorted((m.rule_id, s, e) for m, s, e in markers.find(text)) == plain


def test_anchors_are_derived_or_refused() -> None:
    assert _anchors(r"\bTOP\s+SECRET\b|\bSECRET\b") == ("secret",)
    assert _anchors(r"(?<![가-힣])비밀(?![번])") == ("비밀",)
    assert _anchors(r"내부용|내부\s*한정") == ("내부",)  # 내부용 holds 내부: redundant
    assert _anchors(r"a|b?") is None  # a branch that may match nothing literal: always run
    assert _anchors(r"(?:ab|cd)+") is None


@pytest.mark.parametrize(
    "text", ["ſecret\nplan", "TOP ſECRET", "보고서\n— Confidential", "x\nSECRET"]
)
def test_case_folding_corners_still_match(text: str) -> None:
    """ſ and K fold to ASCII under IGNORECASE but not under str.lower(): the regex decides."""
    plain = [m.rule_id for m in DEFAULT_MARKERS if re.search(m.pattern, text, re.IGNORECASE)]
    assert plain  # every text here holds a marking word
    found = [m.rule_id for m, _s, _e in MarkerSet(DEFAULT_MARKERS).find(text)]
    assert found == [
        m.rule_id
        for m in DEFAULT_MARKERS
        for hit in re.finditer(m.pattern, text, re.IGNORECASE)
        if is_marking(text, hit.start(), hit.end())
    ]


# -- placement ---------------------------------------------------------------------------------


def test_own_markers_match_anywhere_unless_placed() -> None:
    anywhere = MarkerSet([Marker("극비", DataClass.CLASSIFIED, "class.marker.top-secret-ko")])
    assert classify(["극비리에 진행"], markers=anywhere).data_class is DataClass.CLASSIFIED
    placed = MarkerSet(
        [Marker("극비", DataClass.CLASSIFIED, "class.marker.top-secret-ko", "marking")]
    )
    assert classify(["극비리에 진행"], markers=placed).data_class is DataClass.OPEN
    assert classify(["[극비] 작전"], markers=placed).data_class is DataClass.CLASSIFIED


def test_a_marking_table_with_the_label_in_its_header_row() -> None:
    table = "| 문서명 | 보안등급 | 부서 |\n|---|---|---|\n| 작전 계획 | Ⅱ급 비밀 | 기획 |"
    assert classify([table], markers=MARKERS).data_class is DataClass.CLASSIFIED
    unlabelled = "| 문서명 | 비고 | 부서 |\n|---|---|---|\n| 작전 계획 | 비밀 | 기획 |"
    assert classify([unlabelled], markers=MARKERS).data_class is DataClass.OPEN


def test_the_first_and_last_lines_only_lead_a_marking() -> None:
    assert classify(["SECRET - plan\nbody"], markers=MARKERS).data_class is DataClass.CLASSIFIED
    assert classify(["body\nSECRET - plan"], markers=MARKERS).data_class is DataClass.CLASSIFIED
    middle = "body\nSECRET - plan\nmore"
    assert classify([middle], markers=MARKERS).data_class is DataClass.OPEN


@given(st.text(alphabet="비밀 ([<:|/-)]>\n급Ⅱ대외비SECRET", max_size=300))
def test_placement_never_fails_or_backtracks(text: str) -> None:
    for marker, start, end in MARKERS.find(text):
        assert text[start:end] and marker.placement == "marking"


def test_a_long_hostile_line_is_cheap() -> None:
    """The placement regexes are possessive and read a bounded window of the line."""
    import time

    text = ("( [ < | : " * 400) + "비밀" + (" ( [ - " * 400) + "x"
    table = "| 문서 | 비고 |\n" + "\n".join(["| 비밀 |"] * 5000)  # header lookups stay bounded
    for hostile in (text, table):
        t0 = time.perf_counter()
        MARKERS.find(hostile)
        assert time.perf_counter() - t0 < 0.5


# -- both ways, on generated corpora -------------------------------------------------------------


def test_no_word_in_running_text_makes_a_request_c() -> None:
    corpus = running_text()
    assert len({r["text"] for r in corpus}) >= 2000
    false_c = [
        r["text"]
        for r in corpus
        if classify([r["text"]], markers=MARKERS).data_class is DataClass.CLASSIFIED
    ]
    assert false_c == []
    # the corpus holds every word the old rule tripped on
    joined = "\n".join(r["text"] for r in corpus)
    for word in (
        "비밀번호",
        "비밀 번호",
        "비밀유지계약",
        "영업비밀",
        "비밀리에",
        "secretary",
        "Victoria's Secret",
        "top secret recipe",
        "대외비용",
        "3급 비밀",
    ):
        assert word in joined


def test_marked_documents_are_recognised() -> None:
    corpus = marked_documents()
    assert len({r["text"] for r in corpus}) >= 1000
    wrong = [
        (r["form"], r["term"])
        for r in corpus
        if classify([r["text"]], markers=MARKERS).data_class.value != r["class"]
    ]
    assert 1 - len(wrong) / len(corpus) >= 0.99, wrong[:10]
    assert {r["form"] for r in corpus} >= {"top", "bottom", "table", "label", "statement"}
