"""Masking, consistent pseudonyms, restoration over any split of a stream, output scanning."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from sumun.policy.decide import Step
from sumun.policy.pii import Detector
from sumun.policy.transform import OutputScanner, Pseudonyms, Restorer, apply_steps, placeholder

RRN = "900101-1234568"


def _steps(text: str, action: str) -> list[Step]:
    return [Step(0, f.start, f.end, f.type, action, "r") for f in Detector().detect(text)]  # type: ignore[arg-type]


def test_mask_uses_typed_korean_placeholders() -> None:
    text = f"주민번호는{RRN}이고 전화는 010-1234-5678"
    out = apply_steps(text, _steps(text, "mask"), Pseudonyms())
    assert out == "주민번호는[주민등록번호]이고 전화는 [전화번호]"
    assert placeholder("UNKNOWN_TYPE") == "[UNKNOWN_TYPE]"


def test_one_value_one_token_whatever_its_spelling() -> None:
    wide = "９００１０１－１２３４５６８"
    text = f"{RRN} 그리고 {RRN.replace('-', '')} 그리고 {wide} 그리고 010-1111-2222"
    names = Pseudonyms()
    out = apply_steps(text, _steps(text, "pseudonymize"), names)
    assert out.count("[주민등록번호_1]") == 3 and "[전화번호_1]" in out
    assert names.mapping()["[주민등록번호_1]"] == RRN  # the first spelling is restored


def test_tokens_never_collide_with_text_already_there() -> None:
    text = f"[주민등록번호_1] 은 예시이고 실제는 {RRN}"
    out = apply_steps(text, _steps(text, "pseudonymize"), Pseudonyms(avoid=[text]))
    assert "[주민등록번호_2]" in out
    assert Restorer(Pseudonyms(avoid=[text]).mapping()).restore(out) == out  # nothing to restore


def test_restorer_leaves_unknown_tokens_alone() -> None:
    r = Restorer({"[주민등록번호_1]": RRN})
    assert r.restore("a [주민등록번호_1] b [주민등록번호_9] [x") == f"a {RRN} b [주민등록번호_9] [x"
    assert r.restored == 1


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.text(max_size=30),
    suffix=st.text(max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
)
def test_streamed_restoration_equals_whole_restoration(
    prefix: str, suffix: str, cuts: list[int]
) -> None:
    mapping = {"[주민등록번호_1]": RRN, "[전화번호_2]": "010-1234-5678"}
    text = f"{prefix}[주민등록번호_1]{suffix}[전화번호_2][주민등록번호_1]"
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    pieces = [text[a:b] for a, b in itertools.pairwise(points)]
    r = Restorer(mapping)
    streamed = "".join(r.feed(p) for p in pieces) + r.flush()
    assert streamed == Restorer(mapping).restore(text)
    assert RRN in streamed and not r.holding


def test_a_bracket_that_never_closes_is_released_at_the_end() -> None:
    r = Restorer({"[주민등록번호_1]": RRN})
    assert r.feed("값은 [주민") == "값은 "
    assert r.flush() == "[주민"


_RULES = {"EMAIL": ("mask", "out.email", 0.5), "KR_RRN": ("block", "out.rrn", 0.5)}


def test_output_scanner_masks_a_whole_answer() -> None:
    s = OutputScanner(Detector().detect, _RULES)
    assert s.scan("메일은 kim@example.com 입니다") == "메일은 [이메일] 입니다"
    assert [(h.type, h.action) for h in s.hits] == [("EMAIL", "mask")] and s.blocked is None


@settings(max_examples=150, deadline=None)
@given(size=st.integers(min_value=1, max_value=40))
def test_output_scanner_sees_values_split_across_deltas(size: int) -> None:
    text = "담당자 메일은 hong.gildong@example.co.kr 이고 " * 3 + f"주민번호 {RRN} 끝"
    s = OutputScanner(Detector().detect, _RULES, window=64)
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    out = "".join(s.feed(p) for p in pieces) + s.flush()
    assert "@" not in out and RRN not in out
    assert out.count("[이메일]") == 3 and "[주민등록번호]" in out
    assert s.blocked == "out.rrn"


def test_output_scanner_without_rules_is_a_pass_through() -> None:
    s = OutputScanner(Detector().detect, {})
    assert s.feed("kim@example.com") == "kim@example.com" and s.flush() == ""
