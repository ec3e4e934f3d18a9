"""The detector's number pass: digit runs → shape → per-type rules (checksum, context words).

One regex finds runs of digits joined by single `-`, `.` or space (every run is bounded by
non-digits, KOREA.md: a greedy run cannot start or end inside a longer run of digits). Each run,
and, if it does not classify whole, its space-separated sub-runs, is split into digit groups;
the shape (group lengths) and checksum decide the type. Vehicle plates (`12가3456`) are found
from the digits before the syllable.

Per-type rules: one function per identifier family, `rule(digits, shape, ctx, found)`, which
appends `(type, score)` for each type the number can be. `_RULES[n]` lists the rules that can
fire for a number of `n` digits, so most runs (dates, times, amounts) are dismissed after one or
two cheap tests. The best candidate wins (score, then the more specific type). To add a type:
write its rule and list it in `_RULE_DIGITS` with the digit counts it accepts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sumun.policy.pii import validators as v
from sumun.policy.pii._context import Context
from sumun.policy.pii._normalise import WIDE_CLASS, narrow

__all__ = ["RANK", "Hit", "number_hits"]

Hit = tuple[str, int, int, float]  # (type, start, end, score)
Shape = tuple[int, ...]  # digit-group lengths: `010-1234-5678` is (3, 4, 4)
Rule = Callable[[str, Shape, Context, list[tuple[str, float]]], None]

# Ties in score go to the more specific type (lower rank).
_SPECIFICITY = (
    "KR_RRN KR_FRN KR_CRN KR_BRN CREDIT_CARD KR_DRIVER_LICENSE KR_PASSPORT KR_HEALTH_INSURANCE "
    "EMAIL IP_ADDRESS PHONE_KR KR_VEHICLE_PLATE KR_ADDRESS BANK_ACCOUNT_KR KR_POSTAL_CODE"
)
RANK = {name: i for i, name in enumerate(_SPECIFICITY.split())}

# A run of digits joined by single separators. `[0-9][0-9]*` rather than `[0-9]+`: `re` only
# skips ahead with its fast first-character scan when the pattern starts with a plain character
# class. The final assertion drops most runs too short to be anything (times, counts) inside
# `re`: it keeps every run of five or more code points and every run before a plate syllable
# (the few short runs it keeps, after a separator, the pass drops itself). A run that fails it
# cannot match from a later start or end either: its last five code points already reach a
# non-member before the run.
_RUN = (
    r"[0-9]*(?:[-. ][0-9]+)*(?:(?<=[-. 0-9]{5})|(?=[" + "".join(sorted(v.PLATE_SYLLABLES)) + "]))"
)
_NUM = re.compile("[0-9]" + _RUN)
# The same, or one code point that `narrow` maps: the first scan of a text also tells whether it
# needs normalising (a third of the cost of a separate pass). One leading class, then the digit
# test, for the fast first-character scan.
_NUM_OR_WIDE = re.compile(f"[0-9{WIDE_CLASS}](?:(?<![0-9])|{_RUN})")
_SPLIT = re.compile(r"[-. ]")
# A four-part number after a version word is a version (`펌웨어 6.2.2.44`), not an IPv4 address.
_VERSION = re.compile(
    r"버전|펌웨어|빌드|(?<![A-Za-z])(?:version|ver|build|firmware|fw|v)\b", re.IGNORECASE
)
_VERSION_BEFORE = 16
_PLATE_TAIL = re.compile(r" ?[0-9]{4}(?![0-9])")
_RESIDENT_SHAPES = ((6, 7), (13,))
_BRN_SHAPES = ((3, 2, 5), (10,))
_LICENCE_SHAPES = ((2, 2, 6, 2), (12,))
_CARD_SHAPES = frozenset({(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1)})
_ACCOUNT_SCORE = 0.85
_PLATE_REGIONS = frozenset(
    "서울 부산 대구 인천 광주 대전 울산 세종 경기 강원 충북 충남 전북 전남 경북 경남 제주".split()  # noqa: SIM905
)
_LETTERS_BEFORE = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,3}\Z")
# `서울 91-123456-78`: an older driver licence, its region written as a name
_REGION_BEFORE = re.compile("(?<![가-힣])(?:" + "|".join(sorted(v.LICENCE_REGIONS)) + ") ?\\Z")
# `(02) 123-4567`, `(031)123-4567`, `02)123-4567`: an area code in parentheses before the number
_AREA_BEFORE = re.compile(r"(?:\(|(?<![0-9A-Za-z]))(0[0-9]{1,3})\) ?\Z")
_AREA_SHAPES = frozenset({(3, 4), (4, 4)})
_BANK_CODES = frozenset({"KB", "NH", "IBK", "SC", "KDB", "KEB"})


# --- per-type rules -----------------------------------------------------------------------------
# The date a birth may not follow. A function, so that a test can pin it (the golden file).
today: Callable[[], dt.date] = dt.date.today


def _born(digits: str) -> bool:
    """A real birth date, not in the future, with a gender digit of an RRN or FRN."""
    born = v.rrn_birth_date(digits)
    return born is not None and (born.year < 2000 or born <= today())


def _barcode(digits: str, grouped: bool, ctx: Context) -> bool:
    """A product barcode rather than a resident number (docs/pii.md, "EAN-13 barcodes").

    Unbroken: GS1 Korea's `880` with a valid EAN-13 check digit, or any valid EAN-13 near a
    product word. Written `880101-1234567` (barcodes are never hyphenated): only near a product
    word. The caller has already seen no RRN/FRN word: such a word always wins.
    """
    return v.ean13_valid(digits) and ((not grouped and digits[:3] == "880") or ctx.has("_BARCODE"))


def _resident(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """KR_RRN / KR_FRN (`YYMMDD-GABCDEX`) and KR_CRN (13 digits, 6-7 when grouped).

    A failed RRN checksum lowers confidence and never rejects: the digits after the gender digit
    of numbers issued (or changed) since 2020-10 are random. A valid, non-future birth date and a
    gender digit 1-4 (FRN 5-8) suffice, without a context word. 9/0 (born in the 1800s) needs an
    RRN word: no such person is alive, and a 0 there is common in corporate numbers.
    """
    if shape not in _RESIDENT_SHAPES:
        return
    grouped = len(shape) > 1
    g = digits[6]
    if (g in "12345678" or (g in "90" and ctx.has("KR_RRN"))) and _born(digits):
        kind = "KR_FRN" if g in "5678" else "KR_RRN"
        ok = v.rrn_checksum_valid(digits) or (kind == "KR_FRN" and v.frn_checksum_valid(digits))
        if ctx.has(kind):
            found.append((kind, 0.95 if ok else 0.75))
        elif _barcode(digits, grouped, ctx):
            pass
        elif not ctx.negative():
            found.append((kind, 0.95 if ok else (0.6 if grouped else 0.55)))
        elif ok and grouped:
            found.append((kind, 0.45))  # `운송장 140511-7405951`: the shape alone is weak
        if not ctx.has(kind) and v.crn_valid(digits) and ctx.has("KR_CRN"):
            found.append(("KR_CRN", 0.96))  # `법인등록번호 …`: also a valid CRN
    elif v.crn_valid(digits):
        if ctx.has("KR_CRN"):
            found.append(("KR_CRN", 0.95))
        elif not ctx.negative() and v.crn_format_plausible(digits):
            found.append(("KR_CRN", 0.85 if grouped else 0.45))


def _business(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """KR_BRN `AAA-BB-CCCCX`."""
    if shape in _BRN_SHAPES and v.brn_valid(digits):
        if ctx.has("KR_BRN"):
            found.append(("KR_BRN", 0.95))
        elif not ctx.negative():
            found.append(("KR_BRN", 0.9 if len(shape) > 1 else 0.4))


def _phone(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """PHONE_KR in domestic form; grouped as phones are written, or an unbroken mobile."""
    if not v.phone_valid(digits):
        return
    mobile = digits[:2] == "01"
    rep = digits[0] == "1"
    groups = len(shape)
    if groups > 1:
        if shape[-1] == 4 and groups in (2, 3) and (rep or groups == 3):
            found.append(("PHONE_KR", 0.9 if mobile else 0.85))
    elif mobile and len(digits) == 11:
        found.append(("PHONE_KR", 0.85))
    elif not rep and not ctx.negative() and len(digits) >= 9:
        # `0184729314`, `022413090`: an unbroken legacy mobile or landline (area code valid)
        found.append(("PHONE_KR", 0.8 if ctx.has("PHONE_KR") else 0.6))
    elif not rep and (ctx.has("PHONE_KR") or not ctx.negative()):
        found.append(("PHONE_KR", 0.8 if ctx.has("PHONE_KR") else 0.45))
    elif rep and ctx.has("PHONE_KR"):
        found.append(("PHONE_KR", 0.8))  # `콜센터 18552216`


def _card(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """CREDIT_CARD: issuer prefix and Luhn, grouped as cards are printed or 14+ digits unbroken."""
    grouped = len(shape) > 1
    card_shape = shape in _CARD_SHAPES or (not grouped and len(digits) >= 14)
    if card_shape and v.card_length_valid(digits) and v.luhn_valid(digits):
        if ctx.has("CREDIT_CARD"):
            found.append(("CREDIT_CARD", 0.95))
        elif not ctx.negative():
            found.append(("CREDIT_CARD", 0.9 if grouped else 0.8))


def _account(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """BANK_ACCOUNT_KR: layouts are bank-specific and checksums proprietary — context only.

    10-14 digits, unbroken or in up to four groups of two or more digits; a last group of one
    digit (a check digit: NH `XXX-XXXX-XXXXXX-X`) only after two others (docs/pii.md).

    Runs after the other rules: a number they already gave 0.85 or more keeps its type (the
    account's 0.85 would lose the tie on specificity), so the context search is skipped.
    """
    if found and max(score for _, score in found) >= _ACCOUNT_SCORE:
        return
    if (
        (
            len(shape) == 1
            or (len(shape) <= 4 and min(shape[:-1]) >= 2 and (shape[-1] >= 2 or len(shape) > 2))
        )
        and ctx.has("BANK_ACCOUNT_KR")
        # `주민등록번호(2310253998541)`: a word for the number's own type outranks the bank's
        and not any(ctx.has(kind) for kind, _ in found)
        and not (len(digits) == 13 and _not_account(digits, shape, ctx, found))
    ):
        found.append(("BANK_ACCOUNT_KR", _ACCOUNT_SCORE))


def _not_account(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> bool:
    """A 13-digit number near a bank word that is something else."""
    return (
        # `예금주 홍길동 (900101-1234567)`: a birth date in the RRN layout is the holder's RRN
        (shape == (6, 7) and any(kind in ("KR_RRN", "KR_FRN") for kind, _ in found))
        # `주민등록번호 입력 오류: 3010123990543 신한 계좌 …`: the RRN word is the nearer
        or (ctx.has("KR_RRN") and ctx.nearer("KR_RRN", "BANK_ACCOUNT_KR"))
        or (v.ean13_valid(digits) and ctx.has("_BARCODE"))
    )


def _licence(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """KR_DRIVER_LICENSE `RR-YY-NNNNNN-CD` (the check digits are not public)."""
    if shape in _LICENCE_SHAPES and v.driver_license_format_valid(digits):
        if ctx.has("KR_DRIVER_LICENSE"):
            found.append(("KR_DRIVER_LICENSE", 0.95))
        elif len(shape) > 1 and not ctx.negative():
            found.append(("KR_DRIVER_LICENSE", 0.85))


def _health(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """KR_HEALTH_INSURANCE (건강보험증번호): 11 digits, no public structure — context only."""
    if (
        len(shape) <= 3
        and ctx.has("KR_HEALTH_INSURANCE")
        and not ctx.has("_NOT_HEALTH_INSURANCE")
        and ctx.nearer("KR_HEALTH_INSURANCE", "BANK_ACCOUNT_KR")
    ):
        found.append(("KR_HEALTH_INSURANCE", 0.95))


def _postal(digits: str, shape: Shape, ctx: Context, found: list[tuple[str, float]]) -> None:
    """KR_POSTAL_CODE: five digits, only with a postal context word."""
    if len(shape) == 1 and v.postal_code_valid(digits) and ctx.has("KR_POSTAL_CODE"):
        found.append(("KR_POSTAL_CODE", 0.8))


# Rules run in this order; `_account` must stay after every rule sharing its digit counts.
_RULE_DIGITS: tuple[tuple[Rule, range], ...] = (
    (_resident, range(13, 14)),
    (_business, range(10, 11)),
    (_phone, range(8, 13)),
    (_card, range(13, 20)),
    (_licence, range(12, 13)),
    (_health, range(11, 12)),
    (_postal, range(5, 6)),
    (_account, range(10, 15)),
)
_RULES: dict[int, tuple[Rule, ...]] = {
    n: rules
    for n in range(1, 20)
    if (rules := tuple(rule for rule, digits in _RULE_DIGITS if n in digits))
}
# The most digits any identifier has (a `+82` number is a phone: fewer). A stretch of digit
# groups holding more can never classify, which keeps `_classify_spaced` linear.
_MAX_DIGITS = max(_RULES)


# --- candidates ---------------------------------------------------------------------------------
def _classify(t: str, s: int, e: int) -> Hit | None:  # noqa: PLR0911, PLR0912
    """The best (type, start, end, score) for the digit run `t[s:e]`, or None."""
    seg = t[s:e]
    plus = s > 0 and t[s - 1] == "+"
    if seg.isdigit():  # one group of ASCII digits (`_NUM` matches nothing else): the usual case
        digits = seg
        shape: Shape = (e - s,)
        if plus and digits.startswith("82"):
            return _plus82(digits, s, e)
    else:
        groups = _SPLIT.split(seg)
        digits = "".join(groups)
        dotted = "." in seg
        if len(digits) not in _RULES and not plus and not dotted:
            return None  # no undotted type has this many digits
        shape = tuple(map(len, groups))
        if dotted and not ("-" in seg or " " in seg):
            if len(groups) == 4 and v.ipv4_valid(seg):
                if _VERSION.search(t, max(0, s - _VERSION_BEFORE), s):
                    return None
                return ("IP_ADDRESS", s, e, 0.85)
            if not (len(groups) == 3 and v.phone_valid(digits)):
                return None  # dotted phones (`010.1234.5678`) and nothing else
        if plus and digits.startswith("82"):
            return _plus82(digits, s, e)
        if " " in seg and ("-" in seg or dotted):
            return None  # `2024-01-15 20240115`: two numbers side by side, not one
    rules = _RULES.get(len(digits))
    if rules is None:
        return None
    ctx = Context(t, s, e)
    if shape == (2, 6, 2) and (region := _REGION_BEFORE.search(t, max(0, s - 3), s)):
        score = 0.95 if ctx.has("KR_DRIVER_LICENSE") else 0.9
        return ("KR_DRIVER_LICENSE", region.start(), e, score)
    if shape in _RESIDENT_SHAPES and v.isbn13_valid(digits) and not ctx.has("KR_RRN"):
        return None  # a book number, unless the text says it is a resident number
    found: list[tuple[str, float]] = []
    for rule in rules:
        rule(digits, shape, ctx, found)
    if not found:
        return None
    if len(found) == 1:
        kind, score = found[0]
    else:
        kind, score = max(found, key=lambda f: (f[1], -RANK[f[0]]))
    return (kind, s, e, score)


def _plus82(digits: str, s: int, e: int) -> Hit | None:
    """`+82 10-1234-5678` / `+821012345678`: a Korean number in international form."""
    if v.phone_valid("0" + digits[2:]):
        return ("PHONE_KR", s - 1, e, 0.9)
    return None


def _area_phone(t: str, s: int, e: int) -> Hit | None:
    """`(02) 123-4567`: the run `t[s:e]` after an area code in parentheses; the span has both."""
    area = _AREA_BEFORE.search(t, max(0, s - 7), s)
    if area is None:
        return None
    groups = _SPLIT.split(t[s:e])
    digits = area.group(1) + "".join(groups)
    if tuple(map(len, groups)) not in _AREA_SHAPES or not v.phone_valid(digits):
        return None
    return ("PHONE_KR", area.start(), e, 0.9 if digits[:2] == "01" else 0.85)


def _glued(t: str, s: int, e: int) -> bool:
    """True if the digits are part of an alphanumeric code (`AB-1234`, `v1.2.3`, `x_123`).

    A bank's abbreviation glued to the digits (`KB885141-94-279916`) is a label, not a code.
    """
    if s > 0:
        c = t[s - 1]
        if (c.isascii() and c.isalpha()) or c == "_":
            m = _LETTERS_BEFORE.search(t, max(0, s - 4), s)
            return m is None or m.group().upper() not in _BANK_CODES
        if c in "-/_#" and s > 1 and t[s - 2].isascii() and t[s - 2].isalnum():
            return True
    if e < len(t):
        c = t[e]
        if (c.isascii() and c.isalpha()) or c == "_":
            return True
        if c in "-_" and e + 1 < len(t) and t[e + 1].isascii() and t[e + 1].isalnum():
            return True
    return False


def _plate(t: str, s: int, e: int) -> Hit | None:
    """`12가3456` / `123가 4567`: the digits at `t[?:e]` (last space piece) + syllable + four."""
    ps = max(s, t.rfind(" ", s, e) + 1)
    if not 2 <= e - ps <= 3 or not t[ps:e].isdigit():
        return None
    if ps > 0 and t[ps - 1].isascii() and t[ps - 1].isalnum():
        return None
    tail = _PLATE_TAIL.match(t, e + 1)
    if tail is None:
        return None
    region = t[ps - 2 : ps]  # old plates: `서울79아3447`, the region is part of the plate
    if ps >= 2 and region in _PLATE_REGIONS and (ps == 2 or not "가" <= t[ps - 3] <= "힣"):
        ps -= 2
    return ("KR_VEHICLE_PLATE", ps, tail.end(), 0.85)


def _pieces(token: str, offset: int) -> list[tuple[int, int]]:
    spans = []
    pos = offset
    for part in token.split(" "):
        spans.append((pos, pos + len(part)))
        pos += len(part) + 1
    return spans


# --- the scan -----------------------------------------------------------------------------------
# After a run that produced hits: (how far its look-ups read, where the scan goes on, how many
# hits there are, the plate `skip` then).
_Mark = tuple[int, int, int, int]
# A candidate's look-ups read less than 14 code points past its end (a context word right after
# it: up to two skipped, then a 12-code-point window; a plate's last four digits); 16 to spare.
_REACH = 16


def number_hits(text: str) -> tuple[str, list[Hit]]:
    """Normalise `text` if it needs it, and find every number-shaped identifier in it.

    Returns the text the other passes must search — `text` itself unless it holds full-width
    forms or Unicode dashes (`_normalise`) — and the hits, overlaps not yet resolved.

    The scan stops at the first code point that needs narrowing; the text before it is already
    narrow, so the hits whose every look-up ends before it stand, and the narrowed text is
    scanned again from the end of the last such run — not from the start.
    """
    out: list[Hit] = []
    marks: list[_Mark] = []
    wide = _scan(_NUM_OR_WIDE, text, 0, 0, out=out, marks=marks)
    if wide < 0:
        return text, out
    while marks and marks[-1][0] > wide:
        marks.pop()
    _, pos, kept, skip = marks[-1] if marks else (0, 0, 0, 0)
    del out[kept:]
    t = narrow(text, wide)
    _scan(_NUM, t, pos, skip, out=out, marks=marks)
    return t, out


def _scan(
    rx: re.Pattern[str], t: str, pos: int, skip: int, *, out: list[Hit], marks: list[_Mark]
) -> int:
    """Append the number hits in `t[pos:]` to `out`, marking each run that produced one.

    Returns -1 at the end of `t`, or, early, the index of a code point that needs narrowing.
    """
    for m in rx.finditer(t, pos):
        s, e = m.span()
        if t[s] > "9":
            return s  # a full-width form or Unicode dash
        count = len(out)
        skip = _run(t, s, e, skip, out)
        if len(out) > count:
            marks.append((max(e, skip) + _REACH, e, len(out), skip))
    return -1


def _run(t: str, s: int, e: int, skip: int, out: list[Hit]) -> int:
    """Classify the run `t[s:e]`, appending its hits to `out`; returns the new plate `skip`.

    `skip` is the end of the last vehicle plate: its last four digits are no number of their own.
    """
    if e <= skip:
        return skip
    if e < len(t) and t[e] in v.PLATE_SYLLABLES:
        plate = _plate(t, s, e)
        if plate is not None:
            out.append(plate)
            skip = plate[2]
            e = max(s, plate[1] - 1)
    if e - s < 5 or _glued(t, s, e):
        return skip  # the shortest identifier here is a five-digit postal code
    if s > 1 and (t[s - 1] == ")" or (t[s - 1] == " " and t[s - 2] == ")")):
        hit = _area_phone(t, s, e)
        if hit is not None:
            out.append(hit)
            return skip
    if " " in t[s:e]:
        _classify_spaced(t, s, e, out)
    elif (hit := _classify(t, s, e)) is not None:
        out.append(hit)
    return skip


def _classify_spaced(t: str, s: int, e: int, out: list[Hit]) -> None:
    """A run with spaces: the longest space-separated stretches that classify, left to right.

    Linear in the run: a stretch is only tried while it holds at most `_MAX_DIGITS` digits (no
    type has more, so a longer stretch never classifies). Trying every stretch of a run of k
    groups was O(k^2) classifications of O(k) each — `010-1234-567 ` × 800 took 23 s.
    """
    pieces = _pieces(t[s:e], s)
    i, k = 0, len(pieces)
    counts = [sum(c.isdigit() for c in t[a:b]) for a, b in pieces]
    end, held = 0, 0  # pieces[i:end] is the longest stretch from i within the digit bound
    while i < k:
        if end < i:
            end, held = i, 0
        while end < k and held + counts[end] <= _MAX_DIGITS:
            held += counts[end]
            end += 1
        start = i
        for j in range(end, i, -1):
            hit = _classify(t, pieces[i][0], pieces[j - 1][1])
            if (
                hit is not None
                and k > 2
                and hit[0] == "PHONE_KR"
                and j - i > 1
                and t[hit[1]] == "1"
            ):
                # `쿠폰 9217 3211 1579 9917`: a 15xx/16xx/18xx number is never a slice of a
                # longer sequence of digit groups
                hit = None
            if hit is not None:
                out.append(hit)
                i = j
                break
        else:
            i += 1
        held -= sum(counts[start : min(i, end)])
