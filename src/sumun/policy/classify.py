"""Classification: the effective class of a request, never lower than what its content shows.

    effective = max(declared (X-Sumun-Data-Class), tenant/app default,
                    content markers (비밀, 대외비, Ⅰ~Ⅲ급 비밀, 내부용, CONFIDENTIAL, SECRET …),
                    what the PII found implies (a unique identifier ⇒ at least S))

Pure: text and typed facts in, a `Classification` out, with the reason for every step so
`sumun policy explain` and the ledger can say *why*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sumun.policy.classes import DataClass

__all__ = ["DEFAULT_MARKERS", "Classification", "Marker", "MarkerSet", "classify"]


@dataclass(frozen=True, slots=True)
class Marker:
    """A classification marking seen in documents, and the class it implies."""

    pattern: str  # a regular expression, matched case-insensitively
    data_class: DataClass
    rule_id: str


# KOREA.md: markings seen in documents. Ⅰ/Ⅱ/Ⅲ급 비밀 and 비밀 are classified; 대외비 ("not for
# outside release") and 내부용 ("internal use") are sensitive. Roman numerals appear both as the
# single code points Ⅰ Ⅱ Ⅲ and spelled with I/V letters, with or without a space before 급.
DEFAULT_MARKERS: tuple[Marker, ...] = (
    Marker(
        r"(?:Ⅰ|Ⅱ|Ⅲ|III|II|I|[1-3])\s?급\s?비밀", DataClass.CLASSIFIED, "class.marker.graded-secret"
    ),
    Marker(r"(?<![가-힣])비밀(?![번])", DataClass.CLASSIFIED, "class.marker.secret-ko"),
    Marker(r"\bTOP\s+SECRET\b|\bSECRET\b", DataClass.CLASSIFIED, "class.marker.secret-en"),
    Marker(r"대외비", DataClass.SENSITIVE, "class.marker.not-for-release"),
    Marker(r"내부용|내부\s?한정", DataClass.SENSITIVE, "class.marker.internal"),
    Marker(r"\bCONFIDENTIAL\b", DataClass.SENSITIVE, "class.marker.confidential"),
)


class MarkerSet:
    """Markers compiled once into one alternation (one pass over the text)."""

    def __init__(self, markers: Sequence[Marker]) -> None:
        if not markers:
            raise ValueError("a marker set needs at least one marker")
        self._markers = tuple(markers)
        self._regex = re.compile(
            "|".join(f"(?P<m{i}>{m.pattern})" for i, m in enumerate(self._markers)),
            re.IGNORECASE,
        )

    def find(self, text: str) -> list[tuple[Marker, int, int]]:
        found = []
        for match in self._regex.finditer(text):
            index = int((match.lastgroup or "m0")[1:])
            found.append((self._markers[index], match.start(), match.end()))
        return found


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
