"""Find Korean identifiers in text: candidates → normalise → validate → score → resolve overlaps.

One `Detector` compiles its patterns once and is safe to share between threads (it holds no
mutable state). The passes, each cheap on text without the trigger:

1. numbers — one regex for runs of digits joined by single `-`, `.` or space; each run (and, if
   it does not classify whole, its space-separated sub-runs) is classified by digit-group shape
   and checksum: RRN, FRN, CRN, BRN, phone, card, bank account, driver licence, IPv4, postal
   code, and vehicle plates (`12가3456`, found from the digits before the syllable);
2. addresses — anchored on a road suffix (`로`/`길`) followed by a building number, then the
   시도/시군구 part is matched backwards from there;
3. e-mail (only if the text holds `@`), IPv6 (only with `::` or seven colons), passport (only if
   the text mentions a passport).

Full-width forms (`９００１０１－…`) and Unicode dashes are mapped one code point to one code
point before matching, so every offset is an index into the caller's string. Every number match
is bounded by non-digits (`(?<!\\d)…(?!\\d)`, KOREA.md) — a greedy run cannot start or end inside
a longer run of digits.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable

from sumun.policy.pii import validators as v
from sumun.policy.pii._context import NEGATIVE, POSITIVE
from sumun.policy.pii.model import Finding

__all__ = ["Detector", "detect"]

# --- normalisation: one code point to one code point, so offsets survive ---------------------
_WIDE = re.compile(r"[\uff01-\uff5e\u3000\u2010-\u2015\u2212\ufe63]")
_NARROW = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20, 0x2212: 0x2D, 0xFE63: 0x2D}
_NARROW |= {cp: 0x2D for cp in range(0x2010, 0x2016)}
_NARROW_CHAR = {chr(a): chr(b) for a, b in _NARROW.items()}

# --- pass 1: numbers --------------------------------------------------------------------------
# `[0-9][0-9]*` rather than `[0-9]+`: `re` only skips ahead with its fast first-character scan
# when the pattern starts with a plain character class, which halves the cost on Korean prose.
_NUM = re.compile(r"[0-9][0-9]*(?:[-. ][0-9]+)*")
_SPLIT = re.compile(r"[-. ]")
_VERSION = re.compile(r"버전|(?<![A-Za-z])(?:version|ver|build|v)\b", re.IGNORECASE)
_PLATE_TAIL = re.compile(r" ?[0-9]{4}(?![0-9])")
_CARD_SHAPES = frozenset({(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1)})
_ADDR_UNIT = frozenset("시개명일월년분초차회권장건원만천주위등세살배점")

# --- pass 2: road-name addresses ---------------------------------------------------------------
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
_ADDR_WITH_SIDO = re.compile(
    rf"(?<![가-힣])(?:{_SIDO_ALT}) ?(?P<sgg>(?:{_SGG} ){{0,2}})(?:{_EMD} )?{_ROAD}\Z"
)
_ADDR_NO_SIDO = re.compile(rf"(?P<sgg>(?:{_SGG} ){{1,2}})(?:{_EMD} )?(?P<road>{_ROAD})\Z")
_ADDR_RIGHT = re.compile(
    r" ?(?:지하 ?)?[0-9]{1,4}(?:-[0-9]{1,4})?(?![0-9])"
    r"(?:,? ?[0-9]{1,4}동)?(?:,? ?(?:지하 ?)?[0-9]{1,3}층)?(?:,? ?[0-9]{1,5}호)?"
    r"(?: ?\([가-힣0-9, ]{1,20}\))?"
)
_SGG_STOP_WORDS = (
    "연구 친구 요구 도구 가구 입구 출구 창구 추구 탐구 전구 기구 공구 강구 야구 부구 당시 동시 "
    "역시 다시 표시 즉시 항시 잠시 수시 게시 무시 지시 개시 감시 제시 일시 실시 명시 암시 중시 "
    "군 구 시"
)
_SGG_STOP = frozenset(_SGG_STOP_WORDS.split())

# --- pass 3: e-mail, IPv6, passport -------------------------------------------------------------
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}\Z")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}")
_IPV6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6_LEFT = re.compile(r"[0-9A-Fa-f:]{1,40}\Z")
_IPV6_RIGHT = re.compile(r"[0-9A-Fa-f:]{0,40}")
# The letter comes first and the "not after an alphanumeric" look-behind second (two code points
# wide), so `re` can use its fast first-character scan; same matches as a leading look-behind.
_PASSPORT = re.compile(
    r"[MSRGOD](?<![A-Za-z0-9].)(?:[0-9]{8}|[0-9]{3}[A-Z][0-9]{4})(?![0-9A-Za-z])"
)

# Ties in score go to the more specific type (lower rank).
_SPECIFICITY = (
    "KR_RRN KR_FRN KR_CRN KR_BRN CREDIT_CARD KR_DRIVER_LICENSE KR_PASSPORT EMAIL "
    "IP_ADDRESS PHONE_KR KR_VEHICLE_PLATE KR_ADDRESS BANK_ACCOUNT_KR KR_POSTAL_CODE"
)
_RANK = {name: i for i, name in enumerate(_SPECIFICITY.split())}

_BEFORE = 30  # context window, code points before a candidate
_NEG_BEFORE = 20

_OTHER_NUMBER = re.compile(r"[0-9]{3}")
# Digit counts some undotted type can have: postal code 5, phone 8-11, BRN 10, account 10-14,
# driver licence 12, RRN/FRN/CRN 13, card 13-19. Other runs (dates' parts, years) end early.
_NUMBER_LENGTHS = frozenset({5, *range(8, 20)})

_Hit = tuple[str, int, int, float]


class _Ctx:
    """Lazy context look-ups around one candidate span.

    The nearest word wins: `주문번호 … 국민은행 계좌 1234…` is an account, `계좌 … ts=1700…` is
    not. Words after the candidate count only right next to it (`900101-1234568 (주민번호)`) and
    only when no negative word precedes it.
    """

    __slots__ = ("_cache", "_neg", "end", "start", "text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.start, self.end = text, start, end
        self._cache: dict[str, bool] = {}
        self._neg: int | None = None

    def _last(self, rx: re.Pattern[str], width: int) -> int:
        """End of the last `rx` match in the `width` code points before the candidate, or -1.

        A word with another number between it and the candidate belongs to that number.
        """
        t, s = self.text, self.start
        m = rx.search(t, max(0, s - width), s)
        if m is None:
            return -1  # the common case: one search, no iterator
        last = m.end()
        for m in rx.finditer(t, last, s):
            last = m.end()
        if _OTHER_NUMBER.search(t, last, s):
            return -1
        return last

    def _neg_end(self) -> int:
        if self._neg is None:
            self._neg = self._last(NEGATIVE, _NEG_BEFORE)
        return self._neg

    def has(self, kind: str) -> bool:
        hit = self._cache.get(kind)
        if hit is None:
            rx = POSITIVE[kind]
            last = self._last(rx, _BEFORE)
            neg = self._neg_end()
            if last >= 0:
                hit = last > neg
            else:
                # right after the number: `900101-1234568 (주민번호)`
                t, p = self.text, self.end
                while p < len(t) and p < self.end + 2 and t[p] in " ([":
                    p += 1
                hit = neg < 0 and rx.match(t, p, p + 12) is not None
            self._cache[kind] = hit
        return hit

    def negative(self) -> bool:
        return self._neg_end() >= 0


def _glued(t: str, s: int, e: int) -> bool:
    """True if the digits are part of an alphanumeric code (`AB-1234`, `v1.2.3`, `x_123`)."""
    if s > 0:
        c = t[s - 1]
        if (c.isascii() and c.isalpha()) or c == "_":
            return True
        if c in "-/_#" and s > 1 and t[s - 2].isascii() and t[s - 2].isalnum():
            return True
    if e < len(t):
        c = t[e]
        if (c.isascii() and c.isalpha()) or c == "_":
            return True
        if c in "-_" and e + 1 < len(t) and t[e + 1].isascii() and t[e + 1].isalnum():
            return True
    return False


def _classify_number(t: str, s: int, e: int) -> _Hit | None:  # noqa: PLR0911, PLR0912, PLR0915
    """The best (type, start, end, score) for the digit run `t[s:e]`, or None."""
    seg = t[s:e]
    groups = _SPLIT.split(seg)
    digits = "".join(groups)
    n = len(digits)
    plus = s > 0 and t[s - 1] == "+"
    if n not in _NUMBER_LENGTHS and not plus and "." not in seg:
        return None  # no undotted type has this many digits; `+82` and IPv4 are checked below
    shape = tuple(map(len, groups))
    grouped = len(groups) > 1
    dotted = "." in seg
    ctx = _Ctx(t, s, e)
    found: list[tuple[str, float]] = []

    if dotted and not ("-" in seg or " " in seg):
        if len(groups) == 4 and v.ipv4_valid(seg):
            if _VERSION.search(t, max(0, s - 12), s):
                return None
            return ("IP_ADDRESS", s, e, 0.85)
        # dotted phones: 010.1234.5678
        if not (len(groups) == 3 and v.phone_valid(digits)):
            return None

    # +82 10-1234-5678 / +821012345678
    if plus and digits.startswith("82"):
        local = "0" + digits[2:]
        if v.phone_valid(local):
            return ("PHONE_KR", s - 1, e, 0.9)
        return None
    if " " in seg and ("-" in seg or dotted):
        return None  # `2024-01-15 20240115`: two numbers side by side, not one

    if n == 13 and shape in ((6, 7), (13,)):
        if v.isbn13_valid(digits) and not ctx.has("KR_RRN"):
            return None
        born = v.rrn_birth_date(digits)
        g = digits[6]
        if born is not None and g in "12345678":
            kind = "KR_RRN" if g in "1234" else "KR_FRN"
            ok = v.rrn_checksum_valid(digits) or (kind == "KR_FRN" and v.frn_checksum_valid(digits))
            if ctx.has(kind):
                found.append((kind, 0.95 if ok else 0.75))
            elif not ctx.negative():
                found.append((kind, 0.95 if ok else (0.6 if grouped else 0.4)))
            elif ok and grouped:
                found.append((kind, 0.45))  # `운송장 140511-7405951`: the shape alone is weak
            if v.crn_valid(digits) and ctx.has("KR_CRN") and not ctx.has(kind):
                found.append(("KR_CRN", 0.96))
        elif v.crn_valid(digits):
            if ctx.has("KR_CRN"):
                found.append(("KR_CRN", 0.95))
            elif not ctx.negative() and v.crn_format_plausible(digits):
                found.append(("KR_CRN", 0.85 if grouped else 0.45))

    if n == 10 and shape in ((3, 2, 5), (10,)) and v.brn_valid(digits):
        if ctx.has("KR_BRN"):
            found.append(("KR_BRN", 0.95))
        elif not ctx.negative():
            found.append(("KR_BRN", 0.9 if grouped else 0.4))

    if 8 <= n <= 11 and v.phone_valid(digits):
        mobile = digits[:2] == "01"
        rep = digits[0] == "1"
        good_groups = shape[-1] == 4 and len(groups) in (2, 3) and (rep or len(groups) == 3)
        if grouped and good_groups:
            found.append(("PHONE_KR", 0.9 if mobile else 0.85))
        elif not grouped and mobile and n == 11:
            found.append(("PHONE_KR", 0.85))
        elif not grouped and not rep and (ctx.has("PHONE_KR") or not ctx.negative()):
            found.append(("PHONE_KR", 0.8 if ctx.has("PHONE_KR") else 0.45))

    card_shape = shape in _CARD_SHAPES or (not grouped and n >= 14)
    if 13 <= n <= 19 and card_shape and v.card_prefix_valid(digits) and v.luhn_valid(digits):
        if ctx.has("CREDIT_CARD"):
            found.append(("CREDIT_CARD", 0.95))
        elif not ctx.negative():
            found.append(("CREDIT_CARD", 0.9 if grouped else 0.8))

    account_shape = not grouped or (2 <= len(groups) <= 4 and min(shape) >= 2)
    if 10 <= n <= 14 and account_shape and ctx.has("BANK_ACCOUNT_KR"):
        found.append(("BANK_ACCOUNT_KR", 0.85))

    if n == 12 and shape in ((2, 2, 6, 2), (12,)) and v.driver_license_format_valid(digits):
        if ctx.has("KR_DRIVER_LICENSE"):
            found.append(("KR_DRIVER_LICENSE", 0.95))
        elif grouped and not ctx.negative():
            found.append(("KR_DRIVER_LICENSE", 0.85))

    if n == 5 and not grouped and v.postal_code_valid(digits) and ctx.has("KR_POSTAL_CODE"):
        found.append(("KR_POSTAL_CODE", 0.8))

    if not found:
        return None
    kind, score = max(found, key=lambda f: (f[1], -_RANK[f[0]]))
    return (kind, s, e, score)


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
        self._passes: tuple[Callable[[str], list[_Hit]], ...] = (
            self._numbers,
            self._addresses,
            self._emails,
            self._ipv6,
            self._passports,
        )

    def detect(self, text: str) -> list[Finding]:
        """Findings in `text`, sorted by start, without overlaps (higher score wins)."""
        if not text:
            return []
        t = _narrow(text)
        hits = [h for p in self._passes for h in p(t) if h[3] >= self.min_score]
        return _resolve(hits)

    # --- passes -----------------------------------------------------------------------------
    def _numbers(self, t: str) -> list[_Hit]:
        out: list[_Hit] = []
        n = len(t)
        skip = 0
        for m in _NUM.finditer(t):
            s, e = m.span()
            if e <= skip:
                continue
            if e < n and t[e] in v.PLATE_SYLLABLES:
                plate = _plate(t, s, e)
                if plate is not None:
                    out.append(plate)
                    skip = plate[2]
                    e = max(s, plate[1] - 1)
            if e - s < 5:
                continue  # the shortest identifier here is a five-digit postal code
            if _glued(t, s, e):
                continue
            if " " not in t[s:e]:
                hit = _classify_number(t, s, e)
                if hit is not None:
                    out.append(hit)
                continue
            pieces = _pieces(t[s:e], s)
            i, k = 0, len(pieces)
            while i < k:
                for j in range(k, i, -1):
                    hit = _classify_number(t, pieces[i][0], pieces[j - 1][1])
                    if hit is not None:
                        out.append(hit)
                        i = j
                        break
                else:
                    i += 1
        return out

    def _addresses(self, t: str) -> list[_Hit]:
        out: list[_Hit] = []
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
            right = _ADDR_RIGHT.match(t, p)
            if right is None:
                continue
            end = right.end()
            if end < len(t) and t[end] in _ADDR_UNIT:
                continue  # `서울 본사로 3시까지`: a count, not a building number
            out.append(("KR_ADDRESS", left.start(), end, score))
        return out

    def _emails(self, t: str) -> list[_Hit]:
        out: list[_Hit] = []
        at = t.find("@")
        while at != -1:
            local = _EMAIL_LOCAL.search(t, max(0, at - 64), at)
            domain = _EMAIL_DOMAIN.match(t, at + 1)
            if local is not None and domain is not None:
                start = local.start()
                while start < at and t[start] in ".-+":
                    start += 1
                if start < at:
                    out.append(("EMAIL", start, domain.end(), 0.95))
            at = t.find("@", at + 1)
        return out

    def _ipv6(self, t: str) -> list[_Hit]:
        out: list[_Hit] = []
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

    def _passports(self, t: str) -> list[_Hit]:
        if "여권" not in t and "assport" not in t and "ASSPORT" not in t:
            return []
        out: list[_Hit] = []
        for m in _PASSPORT.finditer(t):
            if _Ctx(t, m.start(), m.end()).has("KR_PASSPORT"):
                out.append(("KR_PASSPORT", m.start(), m.end(), 0.85))
        return out


def _narrow(text: str) -> str:
    """`text` with full-width forms and Unicode dashes mapped to ASCII, code point for code point.

    Replaces only the matched code points: `str.translate` over a long span of Hangul costs far
    more than the one scan, and most texts hold none or a handful.
    """
    parts: list[str] = []
    last = 0
    for m in _WIDE.finditer(text):
        a = m.start()
        parts.append(text[last:a])
        parts.append(_NARROW_CHAR[text[a]])
        last = a + 1
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def _plate(t: str, s: int, e: int) -> _Hit | None:
    """`12가3456` / `123가 4567`: the digits at `t[?:e]` (last space piece) + syllable + four."""
    ps = max(s, t.rfind(" ", s, e) + 1)
    if not 2 <= e - ps <= 3 or not t[ps:e].isdigit():
        return None
    if ps > 0 and t[ps - 1].isascii() and t[ps - 1].isalnum():
        return None
    tail = _PLATE_TAIL.match(t, e + 1)
    if tail is None:
        return None
    return ("KR_VEHICLE_PLATE", ps, tail.end(), 0.85)


def _pieces(token: str, offset: int) -> list[tuple[int, int]]:
    spans = []
    pos = offset
    for part in token.split(" "):
        spans.append((pos, pos + len(part)))
        pos += len(part) + 1
    return spans


def _resolve(hits: list[_Hit]) -> list[Finding]:
    """Keep the best of overlapping hits: higher score, then the more specific type, then longer."""
    hits.sort(key=lambda h: (-h[3], _RANK[h[0]], h[1] - h[2]))
    starts: list[int] = []
    kept: list[_Hit] = []
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
