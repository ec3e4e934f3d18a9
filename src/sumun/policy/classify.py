"""Classification: the effective class of a request, never lower than what its content shows.

    effective = max(declared (X-Sumun-Data-Class), tenant/app default,
                    content markings (Ⅰ~Ⅲ급 비밀, 비밀, SECRET ⇒ C;
                                      대외비, 내부용, CONFIDENTIAL ⇒ S),
                    what the PII found implies (a unique identifier ⇒ at least S))

A built-in marking counts only where it stands as one — a marking line, a header or footer, a
bracketed tag, a marking table, a sentence stating the document's grade (`markings.py`) — never
as a word in running text: "비밀번호를 잊었어요" is O. N2SF rests C on formal designation.

Pure: text and typed facts in, a `Classification` out, with the reason for every step so
`sumun policy explain` and the ledger can say *why*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# CPython's regex parser, to derive literal anchors from a marker's pattern.
from re import _constants as _sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any, Literal

from sumun.policy.classes import DataClass
from sumun.policy.markings import is_marking

__all__ = ["DEFAULT_MARKERS", "Classification", "Marker", "MarkerSet", "classify"]


@dataclass(frozen=True, slots=True)
class Marker:
    """A classification marking seen in documents, and the class it implies."""

    pattern: str  # a regular expression, matched case-insensitively
    data_class: DataClass
    rule_id: str
    # "marking": a match counts only where it stands as a document marking (`is_marking`);
    # "anywhere": every match counts (an organization's own patterns, e.g. `\[사내한정\]`).
    placement: Literal["marking", "anywhere"] = "anywhere"


# KOREA.md: markings seen in documents. Ⅰ/Ⅱ/Ⅲ급 비밀 (Security Work Regulation art. 4) and 비밀 /
# SECRET are classified; 대외비 ("not for outside release"), 내부용 ("internal use") and
# CONFIDENTIAL are sensitive (docs/policy.md says why CONFIDENTIAL is S). Roman numerals appear
# as the code points Ⅰ Ⅱ Ⅲ, spelled with I letters, or as digits (full-width too), with or
# without spaces, and joined (Ⅱ·Ⅲ급 비밀); a form's field may give the grade alone
# (비밀등급: Ⅱ급). Each counts only as a marking, not in running text.
# Full-width Latin forms are spelled out: they are their own anchors for the prefilter. The
# leading look-aheads and the look-behind placed after the literal are for speed only: they let
# the regex engine skip ahead instead of trying every position (~4× faster on 2 KB).
_GRADE = "(?:Ⅰ|Ⅱ|Ⅲ|III|II|I|[1-3１-３])"
_SP = "[ \t\u3000]*"  # spaces within one line: a marking never spans lines
DEFAULT_MARKERS: tuple[Marker, ...] = (
    Marker(
        rf"(?=[군ⅠⅡⅢ1-3１-３i비])(?:(?:군사{_SP})?{_GRADE}(?:{_SP}[·ㆍ,/]{_SP}{_GRADE})*"
        rf"{_SP}급{_SP}비밀|비밀{_SP}등급{_SP}[:：]?{_SP}{_GRADE}{_SP}급(?![가-힣]|{_SP}비밀))",
        DataClass.CLASSIFIED,
        "class.marker.graded-secret",
        "marking",
    ),
    Marker(r"비밀(?<![가-힣]비밀)", DataClass.CLASSIFIED, "class.marker.secret-ko", "marking"),
    Marker(
        r"(?=[tsＴＳ])(?:\bTOP\s+SECRET\b|\bSECRET\b|ＴＯＰ\s*ＳＥＣＲＥＴ|ＳＥＣＲＥＴ)",
        DataClass.CLASSIFIED,
        "class.marker.secret-en",
        "marking",
    ),
    Marker(r"대외비", DataClass.SENSITIVE, "class.marker.not-for-release", "marking"),
    Marker(
        r"내부용|내부\s*한정",
        DataClass.SENSITIVE,
        "class.marker.internal",
        "marking",
    ),
    Marker(
        r"(?=[cＣ])(?:\bCONFIDENTIAL\b|ＣＯＮＦＩＤＥＮＴＩＡＬ)",
        DataClass.SENSITIVE,
        "class.marker.confidential",
        "marking",
    ),
)


def _seq_anchors(items: Any) -> tuple[str, ...] | None:
    """Literals of which every match of this parsed sequence contains one; None if unknown."""
    runs: list[str] = []
    current: list[str] = []
    inner: list[tuple[str, ...]] = []
    for op, av in items:
        if op is _sre.LITERAL:
            current.append(chr(av))
            continue
        if current:
            runs.append("".join(current))
            current = []
        if op is _sre.BRANCH:
            per_branch = [_seq_anchors(branch) for branch in av[1]]
            if all(per_branch):
                inner.append(tuple(a for anchors in per_branch if anchors for a in anchors))
        elif op is _sre.SUBPATTERN:
            found = _seq_anchors(av[-1])
            if found:
                inner.append(found)
    if current:
        runs.append("".join(current))
    if runs:
        return (max(runs, key=len),)
    return min(inner, key=len) if inner else None


def _anchors(pattern: str) -> tuple[str, ...] | None:
    """Lower-cased literals of which every match contains at least one; None if unknown.

    A cheap `in` test on these lets `find` skip a marker's regex for almost every text: a
    pattern that starts with a look-behind, `\\b` or an alternation loses the regex engine's
    fast literal scan and costs tens of microseconds per 2 KB otherwise.
    """
    try:
        found = _seq_anchors(list(_parser.parse(pattern)))
    except Exception:
        return None
    if not found:
        return None
    lowered = tuple(dict.fromkeys(a.lower() for a in found))
    # an anchor holding another is redundant: 내부 is in every text 내부용 is in
    return tuple(a for a in lowered if not any(b != a and b in a for b in lowered))


class MarkerSet:
    """Markers compiled once; a marker's regex runs only on text holding one of its anchors.

    Anchors without case (Hangul, digits) are plain substring tests; anchors with case are
    tested against the lower-cased text (see `find`). A hit of a "marking" marker is kept only
    where `is_marking` says it stands as one, so the placement test runs on hits alone.
    """

    def __init__(self, markers: Sequence[Marker]) -> None:
        if not markers:
            raise ValueError("a marker set needs at least one marker")
        self._markers = tuple(markers)
        # (marker, regex, anchors without case, anchors with case); None: no anchors, always run
        self._compiled: tuple[
            tuple[Marker, re.Pattern[str], tuple[str, ...] | None, tuple[str, ...]], ...
        ] = tuple(_compile(m) for m in self._markers)

    def find(self, text: str) -> list[tuple[Marker, int, int]]:
        found: list[tuple[Marker, int, int]] = []
        lowered: str | None = None
        unsure = False
        for marker, regex, plain, cased in self._compiled:
            if plain is not None and not any(a in text for a in plain):
                if not cased:
                    continue
                if lowered is None:
                    # str.lower() costs ~4 us on 2 KB where one IGNORECASE search over Korean
                    # text costs ~28 us; ſ, K, ı and İ fold to ASCII under IGNORECASE but not
                    # under lower(), so their presence means only the regex can tell.
                    unsure = any(ch in text for ch in _FOLDS_TO_ASCII)
                    lowered = text.lower()
                if not unsure and not any(a in lowered for a in cased):
                    continue
            if marker.placement == "marking":
                found.extend(
                    (marker, m.start(), m.end())
                    for m in regex.finditer(text)
                    if is_marking(text, m.start(), m.end())
                )
            else:
                found.extend((marker, m.start(), m.end()) for m in regex.finditer(text))
        found.sort(key=lambda hit: hit[1])
        return found


_FOLDS_TO_ASCII = ("ſ", "K", "ı", "İ")


def _compile(
    marker: Marker,
) -> tuple[Marker, re.Pattern[str], tuple[str, ...] | None, tuple[str, ...]]:
    regex = re.compile(marker.pattern, re.IGNORECASE)
    anchors = _anchors(marker.pattern)
    if anchors is None:
        return marker, regex, None, ()
    uncased = tuple(a for a in anchors if a.lower() == a.upper())
    return marker, regex, uncased, tuple(a for a in anchors if a not in uncased)


@dataclass(frozen=True, slots=True)
class Classification:
    data_class: DataClass
    rules: tuple[str, ...]
    reasons: tuple[str, ...] = field(default_factory=tuple)


def classify(
    texts: Iterable[str],
    *,
    markers: MarkerSet,
    declared: DataClass | None = None,
    default: DataClass | None = None,
    pii_floor: DataClass | None = None,
    pii_types: Sequence[str] = (),
) -> Classification:
    """The effective class: the highest of what was declared, defaulted, marked and found."""
    candidates: list[tuple[DataClass, str, str]] = []
    if declared is not None:
        candidates.append((declared, "class.declared", f"declared {declared.value}"))
    if default is not None:
        candidates.append((default, "class.default", f"tenant/app default {default.value}"))
    for text in texts:
        for marker, _start, _end in markers.find(text):
            candidates.append(
                (marker.data_class, marker.rule_id, f"marking found ⇒ {marker.data_class.value}")
            )
    if pii_floor is not None:
        kinds = ", ".join(sorted(set(pii_types))) or "personal information"
        candidates.append((pii_floor, "class.pii", f"{kinds} found ⇒ at least {pii_floor.value}"))
    if not candidates:
        return Classification(DataClass.OPEN, ("class.none",), ("nothing marked: O",))
    effective = DataClass.highest(*(c for c, _r, _why in candidates))
    rules = tuple(dict.fromkeys(r for _c, r, _why in candidates))
    reasons = tuple(why for _c, _r, why in candidates)
    return Classification(effective, rules, reasons)
