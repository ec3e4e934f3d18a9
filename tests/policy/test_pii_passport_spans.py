"""The passport pass looks for passport-shaped numbers before the word `passport` (issue 15).

A long text is searched with `str.find` per letter instead of the regex scan; the spans must be
exactly those of `finditer`, in order, wherever the numbers fall (start of text, after a letter,
glued to each other, either form). Both passport branches (with and without the word) read
these spans, so the findings rest on this equality; the golden file checks the findings.
"""

from __future__ import annotations

import random

import pytest

from sumun.policy.pii import Detector
from sumun.policy.pii.detector import _FIND_FROM, _PASSPORT, _passport_spans

_PIECES = (
    "M123A4567",
    "S12345678",
    "R987B6543",
    "aM123A4567",
    "G00000001",
    "O123Z4567x",
    "D1234567890",
    "M12345678M123A4567",
    "여권",
    "passport",
    " ",
    "\n",
    "가나다 ",
    "주문 ",
    "1",
)
_FILLER = "안녕하세요. 다음 회의에서는 예산을 논의합니다. The summary lists open items. "


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [rng.choice([*_PIECES, _FILLER]) for _ in range(rng.randrange(1, 80))]
        out.append("".join(parts))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_spans_are_those_of_the_regex_scan(seed: int) -> None:
    texts = _texts(300, seed)
    assert sum(len(t) >= _FIND_FROM for t in texts) > 100  # the `str.find` path is exercised
    found = 0
    for text in texts:
        expected = [m.span() for m in _PASSPORT.finditer(text)]
        assert _passport_spans(text) == expected, text
        found += len(expected)
    assert found > 300


def test_both_forms_with_and_without_the_word_in_a_long_text() -> None:
    det = Detector()
    pad = _FILLER * 8
    assert len(pad) >= _FIND_FROM
    new_form = pad + "M123A4567 " + pad
    old_form = pad + "S12345678 " + pad
    spans = [(f.type, f.start, f.end) for f in det.detect(new_form)]
    assert spans == [("KR_PASSPORT", len(pad), len(pad) + 9)]
    assert det.detect(old_form) == []  # the older form needs the word
    with_word = pad + "여권번호 S12345678 " + pad
    assert [(f.type, f.score) for f in det.detect(with_word)] == [("KR_PASSPORT", 0.85)]
    assert det.detect(pad + "주문 M123A4567 " + pad) == []  # a negative word labels it
