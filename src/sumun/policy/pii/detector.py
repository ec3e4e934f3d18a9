"""Find Korean identifiers in text: candidates → normalise → validate → score → resolve overlaps.

One `Detector` compiles its patterns once and is safe to share between threads (it holds no
mutable state). The passes, each cheap on text without the trigger:

1. numbers (`_numbers`) — one regex for runs of digits joined by single `-`, `.` or space; each
   run (and, if it does not classify whole, its space-separated sub-runs) is classified by
   digit-group shape, checksum and context words, one rule per type: RRN, FRN, CRN, BRN, phone,
   card, bank account, driver licence, IPv4, postal code, and vehicle plates (`12가3456`, found
   from the digits before the syllable). The same scan notices full-width forms;
2. addresses — anchored on a road suffix (`로`/`길`) followed by a building number, then the
   시도/시군구 part is matched backwards from there;
3. e-mail (only if the text holds `@`), IPv6 (only with `::` or seven colons), passport (the
   current `M123A4567` form anywhere, the older letter + 8 digits only if the text mentions a
   passport).

Full-width forms (`９００１０１－…`) and Unicode dashes are mapped one code point to one code
point before matching (`_normalise`), so every offset is an index into the caller's string.
Every number match is bounded by non-digits (`(?<!\\d)…(?!\\d)`, KOREA.md) — a greedy run cannot
start or end inside a longer run of digits. Context words (`_context`) are looked up in a window
of a few dozen code points around each candidate, so the cost per candidate does not grow with
the text.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable

from sumun.policy.pii import validators as v
from sumun.policy.pii._context import POSITIVE, Context
from sumun.policy.pii._numbers import RANK, Hit, number_hits
from sumun.policy.pii.model import Finding

__all__ = ["Detector", "detect"]

# --- pass 2: road-name addresses ---------------------------------------------------------------
_ADDR_UNIT = frozenset("시개명일월년분초차회권장건원만천주위등세살배점")
_SIDO = (
    "서울특별시 서울시 서울 부산광역시 부산시 부산 대구광역시 대구시 대구 인천광역시 인천시 인천 "
    "광주광역시 광주시 광주 대전광역시 대전시 대전 울산광역시 울산시 울산 세종특별자치시 세종시 "
    "세종 경기도 경기 강원특별자치도 강원도 강원 충청북도 충북 충청남도 충남 전북특별자치도 "
    "전라북도 전북 전라남도 전남 경상북도 경북 경상남도 경남 제주특별자치도 제주도 제주"
)
_SIDO_ALT = "|".join(sorted(_SIDO.split(), key=len, reverse=True))
_SGG = r"(?<![가-힣])[가-힣]{1,5}(?:시|군|구)"
_EMD = r"[가-힣]{1,5}(?:읍|면)"
_ROAD = r"(?:[가-힣0-9]{1,10}(?:대로|로)(?: ?[0-9]{1,4}번?[가-힣]?길)?|[가-힣0-9]{1,10}길)"
# One pattern per suffix: a literal first character lets `re` scan ahead fast (a `[로길]` class
# is several times slower on Hangul text).
_ROAD_HITS = (re.compile(r"로 ?(?:지하 ?)?[0-9]"), re.compile(r"길 ?(?:지하 ?)?[0-9]"))
# After a 시도 name the 시군구 may be glued on (OCR drops spaces: `경북포항시 남구희망대로`).
_ADDR_WITH_SIDO = re.compile(
    rf"(?<![가-힣])(?:{_SIDO_ALT}) ?(?P<sgg>(?:[가-힣]{{1,5}}(?:시|군|구) ?){{0,2}})"
    rf"(?:{_EMD} ?)?{_ROAD}\Z"
)
_ADDR_NO_SIDO = re.compile(rf"(?P<sgg>(?:{_SGG} ){{1,2}})(?:{_EMD} )?(?P<road>{_ROAD})\Z")
_ADDR_RIGHT = re.compile(
    r" ?(?:지하 ?)?[0-9]{1,4}(?:-[0-9]{1,4})?(?![0-9])"
    r"(?:,? ?[0-9]{1,4}동)?(?:,? ?(?:지하 ?)?[0-9]{1,3}층)?(?:,? ?[0-9]{1,5}호)?"
    # `(삼평동)`; never a postal code `(우편번호 54906)`, `(우) 24786`, `(40843)`
    r"(?: ?\((?!우\)|우편)[가-힣][가-힣0-9, ]{0,19}\))?"
)
# OCR without spaces: building number and unit glued (`무진대로222번길8931506호`)
_ADDR_RIGHT_GLUED = re.compile(
    r" ?(?:지하 ?)?[0-9]{3,12}(?:-[0-9]{1,4})?(?:동[0-9]{1,5}호|층[0-9]{1,5}호|층|호)"
)
# A bracketed five-digit code right after an address is its postal code: ` (40843)`, ` [63122]`
_POSTAL_AFTER = re.compile(r" ?[(\[](?:우편번호 ?|우\) ?)?([0-9]{5})[)\]]")
_SGG_STOP_WORDS = (
    "연구 친구 요구 도구 가구 입구 출구 창구 추구 탐구 전구 기구 공구 강구 야구 부구 당시 동시 "
    "역시 다시 표시 즉시 항시 잠시 수시 게시 무시 지시 개시 감시 제시 일시 실시 명시 암시 중시 "
    "군 구 시"
)
_SGG_STOP = frozenset(_SGG_STOP_WORDS.split())

# --- pass 3: e-mail, IPv6, passport -------------------------------------------------------------
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}\Z")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.([A-Za-z]{2,24})")
# `logo@3x.png` is an image name: a domain never ends in a file extension
_FILE_EXTENSIONS = frozenset(
    "png jpg jpeg gif svg webp bmp ico tif tiff heic avif pdf mp4 mov mp3 wav txt csv json "  # noqa: SIM905
    "xml html htm js css doc docx xls xlsx ppt pptx hwp".split()
)
_IPV6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6_LEFT = re.compile(r"[0-9A-Fa-f:]{1,40}\Z")
_IPV6_RIGHT = re.compile(r"[0-9A-Fa-f:]{0,40}")
# The letter comes first and the "not after an alphanumeric" look-behind second (two code points
# wide), so `re` can use its fast first-character scan; same matches as a leading look-behind.
_PASSPORT = re.compile(
    r"[MSRGOD](?<![A-Za-z0-9].)(?:[0-9]{8}|[0-9]{3}[A-Z][0-9]{4})(?![0-9A-Za-z])"
)
# The passport issued since 2021-12 (letter, 3 digits, letter, 4 digits: a letter fifth) is
# distinctive enough to need no context word; the older letter + 8 digits still does
# (docs/pii.md, "Passports").
_PASSPORT_LETTERS = "MSRGOD"
_FIND_FROM = 400  # code points: from here `str.find` per letter beats the regex scan


class Detector:
    """Korean PII detector. Build once, call `detect` from any thread.

    `min_score` drops weaker findings (a failed RRN checksum without context scores 0.4 when the
    number has no hyphen, 0.6 with one): it lowers confidence and never rejects outright
    (KOREA.md, RRNs issued since 2020-10).
    """

    def __init__(self, *, min_score: float = 0.5) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within [0, 1], got {min_score!r}")
        self.min_score = min_score
        self._passes: tuple[Callable[[str], list[Hit]], ...] = (
            self._addresses,
            self._emails,
            self._ipv6,
            self._passports,
        )

    def detect(self, text: str) -> list[Finding]:
        """Findings in `text`, sorted by start, without overlaps (higher score wins)."""
        if not text:
            return []
        t, numbers = number_hits(text)  # `t`: `text` normalised (full-width forms, dashes)
        hits = [h for h in numbers if h[3] >= self.min_score]
        hits += [h for p in self._passes for h in p(t) if h[3] >= self.min_score]
        return _resolve(hits)

    # --- passes -----------------------------------------------------------------------------
    def _addresses(self, t: str) -> list[Hit]:
        out: list[Hit] = []
        # hits of the two patterns never overlap, so sorting restores the single-pattern order
        road_hits = sorted(m.start() for rx in _ROAD_HITS for m in rx.finditer(t))
        for hit in road_hits:
            p = hit + 1  # just after 로/길
            window_start = max(0, p - 48)
            left = _ADDR_WITH_SIDO.search(t, window_start, p)
            if left is not None:
                score = 0.9 if left.group("sgg") else 0.85
            else:
                left = _ADDR_NO_SIDO.search(t, window_start, p)
                if left is None:
                    continue
                sgg_words = left.group("sgg").split()
                if any(w in _SGG_STOP for w in sgg_words) or left.group("road").endswith("으로"):
                    continue
                score = 0.7
            right = _ADDR_RIGHT_GLUED.match(t, p) or _ADDR_RIGHT.match(t, p)
            if right is None:
                continue
            end = right.end()
            if end < len(t) and t[end] in _ADDR_UNIT:
                continue  # `서울 본사로 3시까지`: a count, not a building number
            out.append(("KR_ADDRESS", left.start(), end, score))
            postal = _POSTAL_AFTER.match(t, end)
            if postal is not None and v.postal_code_valid(postal.group(1)):
                out.append(("KR_POSTAL_CODE", postal.start(1), postal.end(1), 0.8))
        return out

    def _emails(self, t: str) -> list[Hit]:
        out: list[Hit] = []
        at = t.find("@")
        while at != -1:
            local = _EMAIL_LOCAL.search(t, max(0, at - 64), at)
            domain = _EMAIL_DOMAIN.match(t, at + 1)
            if (
                local is not None
                and domain is not None
                and domain.group(1).lower() not in _FILE_EXTENSIONS
            ):
                start = local.start()
                while start < at and t[start] in ".-+":
                    start += 1
                if start < at:
                    out.append(("EMAIL", start, domain.end(), 0.95))
            at = t.find("@", at + 1)
        return out

    def _ipv6(self, t: str) -> list[Hit]:
        out: list[Hit] = []
        pos = 0
        while (m := _IPV6_SEED.search(t, pos)) is not None:
            left = _IPV6_LEFT.search(t, max(0, m.start() - 40), m.start())
            right = _IPV6_RIGHT.match(t, m.end())
            start = left.start() if left else m.start()
            end = right.end() if right else m.end()
            pos = end
            cand = t[start:end]
            if "::" not in cand and cand.count(":") < 7:
                continue  # 10:23:45 and other clocks
            before = t[start - 1] if start > 0 else " "
            after = t[end] if end < len(t) else " "
            if (before.isascii() and before.isalnum()) or before in "_:.":
                continue
            if (after.isascii() and after.isalnum()) or after == "_":
                continue
            if sum(1 for g in cand.split(":") if g) < 2 and cand != "::1":
                continue
            try:
                ipaddress.IPv6Address(cand)
            except ValueError:
                continue
            out.append(("IP_ADDRESS", start, end, 0.85))
        return out

    def _passports(self, t: str) -> list[Hit]:
        out: list[Hit] = []
        spans = _passport_spans(t)
        if not spans:
            return out  # nothing passport-shaped: whether the text says `passport` is moot
        if "여권" not in t and not _mentions_passport(t):
            for start, end in spans:
                # only the `M123A4567` form (a letter fifth) stands without a context word
                if not t[start + 4].isdigit() and not Context(t, start, end).negative():
                    out.append(("KR_PASSPORT", start, end, 0.8))
            return out
        for start, end in spans:
            ctx = Context(t, start, end)
            if ctx.has("KR_PASSPORT"):
                out.append(("KR_PASSPORT", start, end, 0.85))
            elif not t[start + 4].isdigit() and not ctx.negative():
                out.append(("KR_PASSPORT", start, end, 0.8))
        return out


def _passport_spans(t: str) -> list[tuple[int, int]]:
    """Spans of passport-shaped numbers (either form), in order of start.

    A short text is scanned with the regex; a long one with `str.find` per letter, which skips
    the far more common text without those capitals at C speed (a regex scan of a whole 8 KB
    document cost a third of the detector's time on prose). Two matches never overlap (a match
    starts at a letter not after an alphanumeric, and its only inner letter follows a digit),
    so the spans are those `finditer` gives. Looking for them first spares the search for the
    word `passport` in the many texts that hold none (issue 15: a tenth of the time on mixed
    documents).
    """
    if len(t) < _FIND_FROM:
        return [m.span() for m in _PASSPORT.finditer(t)]
    spans: list[tuple[int, int]] = []
    for letter in _PASSPORT_LETTERS:
        i = t.find(letter)
        while i != -1:
            if (m := _PASSPORT.match(t, i)) is not None:
                spans.append(m.span())
            i = t.find(letter, i + 1)
    spans.sort()
    return spans


def _mentions_passport(t: str) -> bool:
    """`passport` in any letter case (`PASSport`); substring tests first, they cost far less."""
    if "rt" not in t and "RT" not in t and "Rt" not in t and "rT" not in t:
        return False
    return POSITIVE["KR_PASSPORT"].search(t) is not None


def _resolve(hits: list[Hit]) -> list[Finding]:
    """Keep the best of overlapping hits: higher score, then the more specific type, then longer."""
    hits.sort(key=lambda h: (-h[3], RANK[h[0]], h[1] - h[2]))
    starts: list[int] = []
    kept: list[Hit] = []
    for h in hits:
        i = bisect.bisect_left(starts, h[1])
        if i > 0 and kept[i - 1][2] > h[1]:
            continue
        if i < len(kept) and kept[i][1] < h[2]:
            continue
        starts.insert(i, h[1])
        kept.insert(i, h)
    return [Finding(k, s, e, round(score, 3)) for k, s, e, score in kept]


def detect(text: str, *, min_score: float = 0.5) -> list[Finding]:
    """Convenience wrapper: `Detector(min_score=...).detect(text)`."""
    return Detector(min_score=min_score).detect(text)
