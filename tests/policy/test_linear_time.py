"""PII detection is linear in its input (issue 12): growing the input 4x grows the time about
4x, not 16x or 64x. Each shape is adversarial for some part of the detector: digit groups
that chain into one long run, dotted and hyphenated runs, `+82` prefixes, plate syllables,
context words, address tokens, e-mail-like text.

Timing on a shared machine is noisy, so each size is the best of five and the sizes are far
apart: for 16x the input, linear is 16x the time and quadratic 256x; the bound is 48x.
`010-1234-567 ` x 800 took 23 s before `_classify_spaced` was bounded; it fails this test by
orders of magnitude.
"""

from __future__ import annotations

import time

import pytest

from sumun.policy.pii.detector import Detector

SHAPES = {
    "phone-like groups": "010-1234-567 ",
    "spaced digit groups": "1234 5678 ",
    "hyphen chains": "12-34-56-",
    "dotted chains": "1.2.3.4.",
    "plus 82": "+82 10 1234 ",
    "plates": "12가 3456 ",
    "context words": "주민번호 계좌 카드 전화 ",
    "address tokens": "서울시 강남구 테헤란로 123-4 ",
    "email-like": "a.b@c.d ",
    "digits glued": "9" * 13 + " ",
}


def _best(detector: Detector, text: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        detector.detect(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("unit", list(SHAPES.values()), ids=list(SHAPES))
def test_detection_time_grows_linearly(unit: str) -> None:
    detector = Detector()
    small = unit * max(1, 4000 // len(unit))  # ~4 KB and ~64 KB
    large = small * 16
    t_small, t_large = _best(detector, small), _best(detector, large)
    # 3 ms of slack: a linear pass over 4 KB takes about a millisecond, where noise matters.
    assert t_large <= 48 * t_small + 0.003, f"{t_small:.4f}s -> {t_large:.4f}s for 16x the input"
    assert t_large < 2.0  # and absolutely: 64 KB of anything in well under two seconds
