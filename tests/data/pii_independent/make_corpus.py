"""An independent labelled Korean PII corpus, generated from the identifier rules alone.

    python tests/data/pii_independent/make_corpus.py [--check]

Why a second corpus: `tests/data/pii/` was written by the detector's author, so its perfect
scores say little. This one was built without reading the detector or its corpus, from
`shared/design/KOREA.md` (Identifiers table), the type list in CONTRACTS.md and how Korean text
is actually written: chats, call-centre transcripts, HR memos, hospital intake notes, bank
complaint letters, server logs, JSON payloads, CSV exports, e-mail signatures, OCR'd forms with
spacing errors, LLM prompts and SMS, mixing Korean and English.

Contract of `corpus.jsonl` (one JSON object per line, UTF-8, keys in this order):
`id`, `text`, `entities` (list of `{type, start, end}`), `hard_negatives` (list of
`{start, end, kind}`), `source_kind`. Offsets are Python `str` indices (code points), end
exclusive. Entity types are the 15 of CONTRACTS.md (KR_HEALTH_INSURANCE added by issue 14).
The file MUST be exactly what `render(build_corpus())` returns: generation is seeded and
deterministic, and `tests/eval/test_pii_independent_corpus.py` checks that byte for byte.

Labelling conventions (what "exact span" means here):
- a number's span is the number with its own separators (hyphens, spaces, dots, a leading
  `+82`); never the context word, the particle after it (`…5678로`) or surrounding brackets;
- an address runs from its 시도 (or 시군구 when the 시도 is left out) to its last detail
  (`…152, 12층`, `…101동 1203호`); a postal code is its five digits only;
- a vehicle plate includes an old-style region prefix (`서울80바1234`) when there is one.

Hard negatives are spans a PII detector must leave alone: dates, timestamps, order, invoice,
tracking and case numbers, ISBNs, versions, part codes, amounts, coordinates, serials, IMEIs,
masked identifiers, numbers shaped like accounts or phones but with other context… A
look-alike written in the canonical format of a checksummed type (a `123-45-67890` file number,
a `1234-5678-9012-3456` gift-card PIN, a `YYMMDD-NNNNNNN` number) is generated so that it
fails that checksum or date rule; look-alikes in other formats are left as chance makes them,
as real order numbers are.

Issue 14 appended `N_EXTRA` records (ids after the first `N_RECORDS`, their own random stream):
RRNs/FRNs issued since 2020-10 (random digits after G, with and without hyphen or context
word), 050x/bracketed/070/080/15xx-18xx/+82 phones, region-name driver licences, new-format
passports without a context word, 건강보험증번호, bank accounts in the KFTC layouts, and their
look-alikes: future (after `TODAY`, 2026-12-01) and impossible birth dates, GS1 Korea (880)
EAN-13 barcodes, 요양기관번호, 장기요양기관기호, 사업장관리번호, account-shaped numbers without
a bank near. Sources are named at that section.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "ENTITY_TYPES",
    "NEGATIVE_KINDS",
    "SEED",
    "build_corpus",
    "render",
]

SEED = 20261126
N_RECORDS = 1600
HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.jsonl"

ENTITY_TYPES = (
    "KR_RRN",
    "KR_FRN",
    "KR_PASSPORT",
    "KR_DRIVER_LICENSE",
    "KR_BRN",
    "KR_CRN",
    "PHONE_KR",
    "CREDIT_CARD",
    "BANK_ACCOUNT_KR",
    "EMAIL",
    "IP_ADDRESS",
    "KR_ADDRESS",
    "KR_VEHICLE_PLATE",
    "KR_POSTAL_CODE",
    "KR_HEALTH_INSURANCE",
)

# --------------------------------------------------------------------------- number helpers

_FW = str.maketrans("0123456789", "０１２３４５６７８９")
_FW_ALL = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _rrn_check(d12: str) -> int:
    w = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    return (11 - sum(int(c) * k for c, k in zip(d12, w, strict=True)) % 11) % 10


def _frn_check(d12: str) -> int:
    # Presidio's reading (no official source, KOREA.md): (13 - sum mod 11) mod 10.
    w = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    return (13 - sum(int(c) * k for c, k in zip(d12, w, strict=True)) % 11) % 10


def _brn_check(d9: str) -> int:
    w = (1, 3, 7, 1, 3, 7, 1, 3)
    s = sum(int(c) * k for c, k in zip(d9[:8], w, strict=True))
    p = 5 * int(d9[8])
    return (10 - (s + p + p // 10) % 10) % 10


def _crn_check(d12: str) -> int:
    s = sum(int(c) * (1 if i % 2 == 0 else 2) for i, c in enumerate(d12))
    return (10 - s % 10) % 10


def _luhn_ok(num: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(num)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _luhn_complete(body: str) -> str:
    for c in "0123456789":
        if _luhn_ok(body + c):
            return body + c
    raise AssertionError("unreachable")


def _isbn13(body12: str) -> str:
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body12))
    return body12 + str((10 - s % 10) % 10)


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _days(y: int, m: int) -> int:
    if m == 2:
        return 29 if _leap(y) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _date_shaped(d: str) -> bool:
    """Whether 13 digits start with a real YYMMDD (in some century): RRN-shaped if G fits."""
    if len(d) != 13 or not d.isdigit():
        return False
    m, dd = int(d[2:4]), int(d[4:6])
    return 1 <= m <= 12 and 1 <= dd <= (29 if m == 2 else _days(2001, m))


def _not_rrn_shaped(v: str) -> str:
    """A 13-digit non-identifier that happens to start with a real date gets month 9x instead.

    Consumes no randomness, so the rest of the corpus is unchanged.
    """
    return v[:2] + "9" + v[3:] if _date_shaped(v) else v


def _group(num: str, sizes: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(num[i : i + n])
        i += n
    return sep.join(out)


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    names = [n for n, _ in weighted]
    weights = [w for _, w in weighted]
    return rng.choices(names, weights=weights, k=1)[0]


# --------------------------------------------------------------------------- reference data


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# bank key -> (aliases as people write them, digit groups, known leading digits or "")
BANKS: dict[str, tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]] = {
    "kb": (("국민은행", "KB국민은행", "국민", "KB"), (6, 2, 6), ("",)),
    "shinhan": (("신한은행", "신한"), (3, 3, 6), ("110", "100", "140")),
    "woori": (("우리은행", "우리"), (4, 3, 6), ("1002",)),
    "hana": (("하나은행", "하나", "KEB하나은행"), (3, 6, 5), ("",)),
    "nh": (("농협", "NH농협은행", "농협은행", "NH"), (3, 4, 4, 2), ("301", "302", "312", "352")),
    "ibk": (("기업은행", "IBK기업은행", "IBK"), (3, 6, 2, 3), ("010", "012", "062", "")),
    "kakao": (("카카오뱅크", "카뱅"), (4, 2, 7), ("3333", "3355")),
    "toss": (("토스뱅크", "토스"), (4, 4, 4), ("1000", "1001")),
    "kbank": (("케이뱅크", "K뱅크"), (3, 3, 6), ("100", "101")),
    "sc": (("SC제일은행", "제일은행"), (3, 2, 6), ("",)),
    "post": (("우체국", "우체국예금"), (6, 2, 6), ("",)),
    "busan": (("부산은행", "BNK부산은행"), (3, 4, 4, 2), ("101", "112")),
}
BANK_EN = {
    "kb": "KB Kookmin Bank",
    "shinhan": "Shinhan Bank",
    "woori": "Woori Bank",
    "hana": "Hana Bank",
    "nh": "NongHyup Bank",
    "ibk": "IBK",
    "kakao": "KakaoBank",
    "toss": "Toss Bank",
    "kbank": "K bank",
    "sc": "SC First Bank",
    "post": "Korea Post",
    "busan": "Busan Bank",
}

# 시도 full name, short name, postal-code prefixes, {시군구: [roads]}
REGIONS: list[tuple[str, str, tuple[int, ...], dict[str, list[str]]]] = [
    (
        "서울특별시",
        "서울",
        (1, 2, 3, 4, 5, 6, 7, 8, 9),
        {
            "강남구": ["테헤란로", "강남대로", "선릉로", "역삼로", "논현로", "도산대로"],
            "서초구": ["서초대로", "반포대로", "강남대로", "효령로"],
            "종로구": ["세종대로", "종로", "율곡로", "삼일대로", "자하문로"],
            "중구": ["을지로", "퇴계로", "세종대로", "남대문로"],
            "마포구": ["월드컵북로", "양화로", "독막로", "마포대로"],
            "영등포구": ["여의대로", "국제금융로", "당산로", "영등포로"],
            "송파구": ["올림픽로", "송파대로", "백제고분로", "위례성대로"],
            "용산구": ["한강대로", "이태원로", "청파로"],
            "관악구": ["관악로", "남부순환로", "신림로"],
            "노원구": ["동일로", "노해로", "상계로"],
            "강서구": ["공항대로", "화곡로", "강서로"],
            "성동구": ["왕십리로", "성수이로", "아차산로"],
        },
    ),
    (
        "부산광역시",
        "부산",
        (46, 47, 48, 49),
        {
            "해운대구": ["해운대로", "센텀중앙로", "좌동순환로"],
            "부산진구": ["중앙대로", "서면로", "가야대로"],
            "수영구": ["광안해변로", "수영로"],
            "동래구": ["충렬대로", "명륜로"],
        },
    ),
    (
        "대구광역시",
        "대구",
        (41, 42, 43),
        {
            "중구": ["동덕로", "달구벌대로", "국채보상로"],
            "수성구": ["달구벌대로", "동대구로", "무학로"],
            "달서구": ["월배로", "달서대로"],
        },
    ),
    (
        "인천광역시",
        "인천",
        (21, 22, 23),
        {
            "연수구": ["컨벤시아대로", "송도과학로", "아트센터대로"],
            "남동구": ["예술로", "인주대로", "남동대로"],
            "부평구": ["부평대로", "경원대로"],
        },
    ),
    (
        "광주광역시",
        "광주",
        (61, 62),
        {"서구": ["상무중앙로", "내방로", "무진대로"], "북구": ["용봉로", "서하로"]},
    ),
    (
        "대전광역시",
        "대전",
        (34, 35),
        {"유성구": ["대학로", "엑스포로", "유성대로"], "서구": ["둔산로", "대덕대로", "계룡로"]},
    ),
    (
        "울산광역시",
        "울산",
        (44, 45),
        {"남구": ["삼산로", "번영로"], "중구": ["종가로", "태화로"]},
    ),
    ("세종특별자치시", "세종", (30,), {"": ["한누리대로", "도움6로", "갈매로", "조치원로"]}),
    (
        "경기도",
        "경기",
        (10, 11, 12, 13, 14, 15, 16, 17, 18),
        {
            "성남시 분당구": ["판교역로", "불정로", "황새울로", "성남대로"],
            "수원시 영통구": ["삼성로", "광교중앙로", "영통로"],
            "수원시 팔달구": ["효원로", "중부대로"],
            "고양시 일산동구": ["중앙로", "일산로"],
            "용인시 수지구": ["포은대로", "수지로"],
            "화성시": ["동탄대로", "효행로"],
            "안양시 동안구": ["시민대로", "평촌대로"],
            "부천시": ["길주로", "소사로"],
            "양평군 양평읍": ["양평시장길", "중앙로"],
            "가평군 가평읍": ["가화로", "석봉로"],
        },
    ),
    (
        "강원특별자치도",
        "강원",
        (24, 25, 26),
        {"춘천시": ["중앙로", "춘천로"], "원주시": ["원일로", "서원대로"], "강릉시": ["경강로"]},
    ),
    (
        "충청북도",
        "충북",
        (27, 28, 29),
        {"청주시 상당구": ["상당로", "대성로"], "충주시": ["충원대로"]},
    ),
    (
        "충청남도",
        "충남",
        (31, 32, 33),
        {"천안시 서북구": ["불당대로", "번영로"], "홍성군 홍북읍": ["충남대로", "홍예공원로"]},
    ),
    (
        "전북특별자치도",
        "전북",
        (54, 55, 56),
        {"전주시 완산구": ["효자로", "기린대로"], "군산시": ["해망로"]},
    ),
    (
        "전라남도",
        "전남",
        (57, 58, 59, 60),
        {"순천시": ["중앙로", "연향로"], "여수시": ["시청로", "좌수영로"]},
    ),
    (
        "경상북도",
        "경북",
        (36, 37, 38, 39, 40),
        {"경주시": ["태종로", "화랑로"], "포항시 남구": ["포스코대로", "희망대로"]},
    ),
    (
        "경상남도",
        "경남",
        (50, 51, 52, 53),
        {"창원시 성산구": ["중앙대로", "원이대로"], "김해시": ["김해대로", "가야로"]},
    ),
    (
        "제주특별자치도",
        "제주",
        (63,),
        {"제주시": ["문연로", "중앙로", "연북로"], "서귀포시": ["중앙로", "일주동로"]},
    ),
]

PLATE_SYLLABLES = (
    "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주"  # private cars
    + "바사아자"  # commercial
    + "하허호"  # rental
    + "배"  # delivery
)
PLATE_REGIONS = ("서울", "부산", "경기", "인천", "대구", "광주", "대전", "울산", "강원", "충북")
DL_REGIONS = (*(f"{n}" for n in range(11, 27)), "28")
PASSPORT_LETTERS = "MMMMMMSSRGOD"

# Visa / Mastercard / Amex / JCB / UnionPay prefixes issued in Korea, plus domestic-only 9xxx
CARD_BINS = tuple(
    (b, 15 if b.startswith("37") else 16)
    for b in _words(
        "4579 4518 4336 4906 4265 5409 5365 5522 5137 5585 2221 3764 3791 3562 3569 6243 "
        "9410 9430 9490"
    )
)

MOBILE_PREFIX = [("010", 92), ("011", 3), ("016", 2), ("017", 1), ("018", 1), ("019", 1)]
AREA_CODES = _words("02 031 032 033 041 042 043 044 051 052 053 054 055 061 062 063 064")
REP_PREFIX = _words("1588 1577 1544 1566 1600 1644 1661 1670 1688 1800 1899")

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = _words("민준 서연 지호 하은 도윤 수아 예준 지우 시우 서윤 주원 하윤 지민 현우 유진 영희")
ROMAN = _words(
    "minjun seoyeon jiho haeun doyun sua yejun jiwoo siwoo seoyun jiwon hayun jimin hyunwoo yujin "
    "younghee sungmin jisoo eunji"
)
ROMAN_SUR = ("kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim", "han")
MAIL_DOMAINS = [
    ("naver.com", 30),
    ("gmail.com", 20),
    ("daum.net", 8),
    ("hanmail.net", 6),
    ("kakao.com", 5),
    ("nate.com", 4),
    ("hotmail.com", 2),
    ("sumun-tech.co.kr", 4),
    ("hanbit-logis.com", 3),
    ("seoulmed.or.kr", 3),
    ("snu.ac.kr", 3),
    ("korea.ac.kr", 2),
    ("mois.go.kr", 2),
    ("gangnam-clinic.co.kr", 2),
    ("daehan-fin.kr", 2),
]
COMPANIES = ("(주)수문테크", "한빛물류(주)", "대한핀테크 주식회사", "(주)새봄커머스", "누리메디컬")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


# --------------------------------------------------------------------------- generation state


@dataclass
class _State:
    rng: random.Random
    bank: str | None = None  # set by ⟨BANK⟩, used by the next ⟨ACCT⟩
    account_bank: str | None = None  # set by ⟨ACCT⟩, named by a ⟨BANK⟩ written after it
    zip_region: int | None = None  # set by a ⟨ZIP⟩ written before its address
    region: int | None = None
    text: list[str] = field(default_factory=list)
    pos: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)
    negatives: list[dict[str, Any]] = field(default_factory=list)

    def put(self, s: str) -> None:
        self.text.append(s)
        self.pos += len(s)

    def entity(self, etype: str, s: str) -> None:
        self.entities.append({"type": etype, "start": self.pos, "end": self.pos + len(s)})
        self.put(s)

    def negative(self, kind: str, s: str) -> None:
        self.negatives.append({"start": self.pos, "end": self.pos + len(s), "kind": kind})
        self.put(s)


Pos = Callable[[_State, str], str]
Neg = Callable[[random.Random, str], str]


def _form(s: _State, num: str, groups: tuple[int, ...], forms: list[tuple[str, int]]) -> str:
    """Write a digit string in one of the allowed forms (hyphen, space, none, dot, fw, fwall)."""
    f = _pick(s.rng, forms)
    if f == "none":
        return num
    sep = {"hyphen": "-", "space": " ", "dot": ".", "fw": "-", "fwall": "-"}[f]
    out = _group(num, groups, sep)
    return out.translate({"fw": _FW, "fwall": _FW_ALL}.get(f, {}))


ID_FORMS = [("hyphen", 60), ("none", 14), ("space", 8), ("fw", 12), ("fwall", 6)]
ID_FORMS_NOCTX = [("hyphen", 70), ("none", 10), ("space", 5), ("fw", 15)]


def _birth(rng: random.Random, *, old_only: bool) -> tuple[int, int, int]:
    while True:
        y = rng.choice(
            [rng.randint(1940, 1999)] * 6 + [rng.randint(2000, 2024)] * (1 if old_only else 3)
        )
        m = rng.randint(1, 12)
        d = rng.randint(1, _days(y, m))
        post2020 = (y, m) >= (2020, 10)
        if not (old_only and post2020):
            return y, m, d


def _rrn_digits(rng: random.Random, *, foreign: bool, allow_random: bool) -> str:
    y, m, d = _birth(rng, old_only=not allow_random)
    g = (1 if y < 2000 else 3) + rng.randint(0, 1) + (4 if foreign else 0)
    front = f"{y % 100:02d}{m:02d}{d:02d}{g}"
    # since 2020-10 the digits after G are random (new and changed numbers)
    randomised = allow_random and ((y, m) >= (2020, 10) or s_chance(rng, 0.05))
    if randomised:
        return front + _digits(rng, 6)
    mid = f"{rng.randint(0, 95):02d}" + _digits(rng, 3) if not foreign else _digits(rng, 5)
    body = front + mid
    check = _frn_check(body) if foreign else _rrn_check(body)
    return body + str(check)


def s_chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def p_rrn(s: _State, arg: str) -> str:
    num = _rrn_digits(s.rng, foreign=False, allow_random=arg != "0")
    return _form(s, num, (6, 7), ID_FORMS_NOCTX if arg == "0" else ID_FORMS)


def p_frn(s: _State, arg: str) -> str:
    num = _rrn_digits(s.rng, foreign=True, allow_random=arg != "0")
    return _form(s, num, (6, 7), ID_FORMS_NOCTX if arg == "0" else ID_FORMS)


def p_passport(s: _State, arg: str) -> str:
    letter = s.rng.choice(PASSPORT_LETTERS)
    if s_chance(s.rng, 0.55):
        return letter + _digits(s.rng, 8)
    return letter + _digits(s.rng, 3) + s.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + _digits(s.rng, 4)


def p_driver(s: _State, arg: str) -> str:
    rr = s.rng.choice(DL_REGIONS)
    yy = f"{s.rng.choice([s.rng.randint(85, 99), s.rng.randint(0, 24)]):02d}"
    num = rr + yy + _digits(s.rng, 6) + _digits(s.rng, 2)
    forms = [("hyphen", 70), ("none", 12), ("space", 8), ("fw", 10)]
    return _form(s, num, (2, 2, 6, 2), forms)


def p_brn(s: _State, arg: str) -> str:
    office = str(s.rng.randint(101, 899))
    kind = f"{s.rng.choice([s.rng.randint(1, 79), 81, 82, 85, 86, 87, 88]):02d}"
    body = office + kind + _digits(s.rng, 4)
    num = body + str(_brn_check(body))
    forms = [("hyphen", 72), ("none", 14), ("fw", 10), ("space", 4)]
    if arg == "0":
        forms = [("hyphen", 85), ("fw", 15)]
    return _form(s, num, (3, 2, 5), forms)


# registry office (4 digits) + corporation kind (2 digits: 11 주식회사, 12-14 partnerships and
# 유한회사, 21-22 associations and foundations, 71 foreign companies)
CRN_OFFICES = _words("1101 1144 1201 1301 1311 1345 1346 1358 1501 1601 1701 1801 2001 2301 2801")
CRN_KINDS = _words("11 11 11 12 13 14 21 22 71")


def p_crn(s: _State, arg: str) -> str:
    body = s.rng.choice(CRN_OFFICES) + s.rng.choice(CRN_KINDS) + _digits(s.rng, 6)
    num = body + str(_crn_check(body))
    return _form(s, num, (6, 7), [("hyphen", 70), ("none", 20), ("fw", 10)])


def _mobile(s: _State) -> str:
    pre = _pick(s.rng, MOBILE_PREFIX)
    if pre == "010":
        mid = str(s.rng.randint(2, 9)) + _digits(s.rng, 3)
    else:
        mid = str(s.rng.randint(2, 9)) + _digits(s.rng, s.rng.choice([2, 3]))
    last = _digits(s.rng, 4)
    f = _pick(
        s.rng,
        [
            ("hyphen", 50),
            ("none", 15),
            ("space", 9),
            ("dot", 4),
            ("intl", 8),
            ("intl_space", 5),
            ("intl_none", 3),
            ("fw", 6),
        ],
    )
    if f.startswith("intl"):
        sep = {"intl": "-", "intl_space": " ", "intl_none": ""}[f]
        lead = "+82" + ("" if sep == "" else s.rng.choice([sep, " "]))
        return lead + sep.join((pre[1:], mid, last))
    seps = {"hyphen": "-", "none": "", "space": " ", "dot": ".", "fw": "-"}
    out = seps[f].join((pre, mid, last))
    return out.translate(_FW) if f == "fw" else out


def _landline(s: _State) -> str:
    area = s.rng.choice((*AREA_CODES, "02", "02", "070", "070"))
    mid = str(s.rng.randint(2, 9)) + _digits(s.rng, 3 if area == "070" else s.rng.choice([2, 3]))
    last = _digits(s.rng, 4)
    f = _pick(s.rng, [("hyphen", 70), ("space", 8), ("none", 7), ("intl", 8), ("fw", 7)])
    if f == "intl":
        return "+82-" + "-".join((area[1:], mid, last))
    out = {"hyphen": "-", "space": " ", "none": "", "fw": "-"}[f].join((area, mid, last))
    return out.translate(_FW) if f == "fw" else out


def _representative(s: _State) -> str:
    return s.rng.choice(REP_PREFIX) + "-" + _digits(s.rng, 4)


def p_phone(s: _State, arg: str) -> str:
    if arg == "mob":
        return _mobile(s)
    if arg == "tel":
        return _landline(s)
    if arg == "rep":
        return _representative(s)
    k = _pick(s.rng, [("mob", 70), ("tel", 22), ("rep", 8)])
    return p_phone(s, k)


def p_card(s: _State, arg: str) -> str:
    bin_, length = s.rng.choice(CARD_BINS)
    num = _luhn_complete(bin_ + _digits(s.rng, length - len(bin_) - 1))
    groups = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
    return _form(s, num, groups, [("hyphen", 52), ("space", 22), ("none", 14), ("fw", 12)])


def p_bank(s: _State, arg: str) -> str:
    """The bank's name as people write it; sets the bank whose layout the next account uses."""
    if s.account_bank is not None and arg in ("", "en"):
        key, s.account_bank = s.account_bank, None
    else:
        key = arg if arg in BANKS else s.rng.choice(list(BANKS))
        s.bank = key
    return BANK_EN[key] if arg == "en" else s.rng.choice(BANKS[key][0])


def p_account(s: _State, arg: str) -> str:
    if arg in BANKS:
        key = arg
    elif s.bank is not None:
        key = s.bank
    else:
        key = s.account_bank = s.rng.choice(list(BANKS))
    s.bank = None
    _, groups, prefixes = BANKS[key]
    pre = s.rng.choice(prefixes)
    num = pre + _digits(s.rng, sum(groups) - len(pre))
    out = _form(s, num, groups, [("hyphen", 72), ("none", 18), ("fw", 6), ("space", 4)])
    # written without separators, a 13-digit account that starts with a real date would read
    # as an RRN; people and this corpus write those grouped
    return _group(num, groups, "-") if out == num and _date_shaped(num) else out


def _local_part(rng: random.Random) -> str:
    sur, given = rng.choice(ROMAN_SUR), rng.choice(ROMAN)
    n = rng.randint(1, 9999)
    return [
        f"{given}.{sur}",
        f"{sur}{given}{n % 30 + 70}",
        f"{sur}_{given[:2]}{n % 999}",
        f"{given}{n}",
        f"{sur}.{given}+{rng.choice(['shop', 'news', 'bank'])}",
        rng.choice(["support", "cs", "hr", "privacy", "admin", "billing"]),
        f"{given[0]}{sur}-{n % 90 + 10}",
    ][rng.randint(0, 6)]


def p_email(s: _State, arg: str) -> str:
    addr = _local_part(s.rng) + "@" + _pick(s.rng, MAIL_DOMAINS)
    return addr.upper() if s_chance(s.rng, 0.03) else addr


def p_ip(s: _State, arg: str) -> str:
    kind = arg or _pick(s.rng, [("v4", 75), ("v6", 25)])
    r = s.rng
    if kind == "v4":
        first = r.choice([10, 172, 192, 203, 211, 121, 59, 175, 222, 1, 14, 110, 118])
        if first == 172:
            return f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if first == 192:
            return f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}"
        return f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
    q = [f"{r.randint(0, 0xFFFF):x}" for _ in range(8)]
    return [
        ":".join(f"{int(h, 16):04x}" for h in ["2001", "db8", *q[2:]]),
        f"2001:db8:{q[2]}::{q[6]}:{q[7]}",
        f"fe80::{q[4]}:{q[5]}:{q[6]}:{q[7]}",
        f"2406:5900:{q[2]}:{q[3]}::{r.randint(1, 255):x}",
        ":".join(["240e", *q[1:]]),
    ][r.randint(0, 4)]


def p_address(s: _State, arg: str) -> str:
    r = s.rng
    idx = r.randrange(len(REGIONS)) if s.zip_region is None else s.zip_region
    s.zip_region = None
    full, short, _, districts = REGIONS[idx]
    s.region = idx
    district = r.choice(list(districts))
    road = r.choice(districts[district])
    # N번길 / N길 side roads
    v = r.random()
    if v < 0.18:
        road = f"{road}{r.randint(1, 300)}번길"
    elif v < 0.28 and road.endswith("로"):
        road = f"{road}{r.randint(1, 60)}길"
    number = str(r.randint(1, 999))
    if s_chance(r, 0.25):
        number += f"-{r.randint(1, 40)}"
    if s_chance(r, 0.05):
        number = "지하 " + number
    detail = _pick(
        r,
        [
            ("", 30),
            ("floor", 20),
            ("dongho", 25),
            ("ho", 15),
            ("floorho", 10),
        ],
    )
    det = {
        "": "",
        "floor": f"{r.randint(2, 25)}층",
        "dongho": f"{r.randint(101, 120)}동 {r.randint(1, 25)}{r.randint(1, 4):02d}호",
        "ho": f"{r.randint(1, 15)}{r.randint(1, 9):02d}호",
        "floorho": f"{r.randint(2, 12)}층 {r.randint(201, 1210)}호",
    }[detail]
    top = short if s_chance(r, 0.35) else full
    if arg == "short" and district:
        top = ""
    parts = [p for p in (top, district, road, number) if p]
    if arg == "nospace":
        return "".join(parts) + det.replace(" ", "")
    addr = " ".join(parts)
    if det:
        addr += (", " if s_chance(r, 0.55) else " ") + det
    return addr


def p_postal(s: _State, arg: str) -> str:
    if s.region is not None:
        idx, s.region = s.region, None
    else:
        idx = s.zip_region = s.rng.randrange(len(REGIONS))
    prefix = s.rng.choice(REGIONS[idx][2])
    code = f"{prefix:02d}{s.rng.randint(0, 999):03d}"
    return code.translate(_FW) if s_chance(s.rng, 0.05) else code


def p_plate(s: _State, arg: str) -> str:
    r = s.rng
    syl = r.choice(PLATE_SYLLABLES)
    if s_chance(r, 0.1):
        # old regional commercial plates: 서울80바1234
        return (
            f"{r.choice(PLATE_REGIONS)}{r.randint(70, 99)}{r.choice('바사아자배')}{_digits(r, 4)}"
        )
    head = str(r.randint(100, 699)) if s_chance(r, 0.55) else f"{r.randint(10, 99)}"
    tail = _digits(r, 4)
    f = _pick(r, [("tight", 75), ("space", 20), ("fw", 5)])
    if f == "space":
        return f"{head}{syl} {tail}"
    out = f"{head}{syl}{tail}"
    return out.translate(_FW) if f == "fw" else out


POSITIVES: dict[str, tuple[str | None, Pos]] = {
    "RRN": ("KR_RRN", p_rrn),
    "FRN": ("KR_FRN", p_frn),
    "PASS": ("KR_PASSPORT", p_passport),
    "DL": ("KR_DRIVER_LICENSE", p_driver),
    "BRN": ("KR_BRN", p_brn),
    "CRN": ("KR_CRN", p_crn),
    "PHONE": ("PHONE_KR", p_phone),
    "CARD": ("CREDIT_CARD", p_card),
    "BANK": (None, p_bank),
    "ACCT": ("BANK_ACCOUNT_KR", p_account),
    "EMAIL": ("EMAIL", p_email),
    "IP": ("IP_ADDRESS", p_ip),
    "ADDR": ("KR_ADDRESS", p_address),
    "ZIP": ("KR_POSTAL_CODE", p_postal),
    "PLATE": ("KR_VEHICLE_PLATE", p_plate),
}

# --------------------------------------------------------------------------- hard negatives


def n_date(r: random.Random, arg: str) -> str:
    y, m = r.randint(2015, 2026), r.randint(1, 12)
    d = r.randint(1, _days(y, m))
    f = r.randint(0, 6)
    return [
        f"{y}-{m:02d}-{d:02d}",
        f"{y}.{m:02d}.{d:02d}",
        f"{y}/{m:02d}/{d:02d}",
        f"{y}{m:02d}{d:02d}",
        f"{y}년 {m}월 {d}일",
        f"{y % 100:02d}.{m:02d}.{d:02d}",
        f"{m:02d}/{d:02d}/{y}",
    ][f]


def n_timestamp(r: random.Random, arg: str) -> str:
    y, m = r.randint(2023, 2026), r.randint(1, 12)
    d = r.randint(1, _days(y, m))
    hh, mm, ss = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
    f = int(arg) if arg else r.randint(0, 4)
    epoch = r.randint(1_690_000_000, 1_790_000_000)
    out = [
        f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{r.randint(0, 999):03d}Z",
        f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}",
        str(epoch),
        str(epoch * 1000 + r.randint(0, 999)),
        f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}+09:00",
    ][f]
    return _not_rrn_shaped(out)


def n_order(r: random.Random, arg: str) -> str:
    y, m, d = r.randint(2023, 2026), r.randint(1, 12), r.randint(1, 28)
    f = r.randint(0, 5)
    return [
        f"{y}{m:02d}{d:02d}{_digits(r, 8)}",
        f"{y}{m:02d}{d:02d}-{_digits(r, 7)}",
        f"ORD-{y}{m:02d}{d:02d}-{_digits(r, 6)}",
        f"1000{_digits(r, 8)}",
        f"B{y}{m:02d}{d:02d}{_digits(r, 5)}",
        f"{_digits(r, 2)}{y % 100}{m:02d}{_digits(r, 8)}",
    ][f]


def n_invoice(r: random.Random, arg: str) -> str:
    y, m, d = r.randint(2023, 2026), r.randint(1, 12), r.randint(1, 28)
    f = r.randint(0, 2)
    return [
        f"INV-{y}-{_digits(r, 6)}",
        f"{y}{m:02d}{d:02d}-{r.choice(['41', '42', '10'])}{_digits(r, 6)}-{_digits(r, 8)}",
        f"T{y}-{m:02d}-{_digits(r, 5)}",
    ][f]


def n_tracking(r: random.Random, arg: str) -> str:
    f = r.randint(0, 4)
    return [
        _digits(r, 12),
        f"{r.randint(5, 6)}{_digits(r, 3)}-{_digits(r, 4)}-{_digits(r, 4)}",
        "60" + _digits(r, 11),
        f"{_digits(r, 4)} {_digits(r, 4)} {_digits(r, 4)}",
        f"4{_digits(r, 11)}",
    ][f]


def n_isbn(r: random.Random, arg: str) -> str:
    pub = r.choice(["89", "11"])
    head = "978" if pub == "89" else "979"
    reg = _digits(r, r.choice([2, 3, 4]))
    title = _digits(r, 7 - len(reg))
    full = _isbn13(head + pub + reg + title)
    if s_chance(r, 0.3):
        return full
    return f"{head}-{pub}-{reg}-{title}-{full[-1]}"


def n_version(r: random.Random, arg: str) -> str:
    f = r.randint(0, 5)
    return [
        f"v{r.randint(1, 12)}.{r.randint(0, 30)}.{r.randint(0, 99)}",
        f"10.0.{r.randint(19041, 26100)}.{r.randint(100, 5000)}",
        f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 250)}",
        f"{r.randint(100, 131)}.0.{r.randint(5000, 6999)}.{r.randint(10, 250)}",
        f"{r.randint(1, 5)}.{r.randint(0, 20)}.{r.randint(0, 9)}-build.{r.randint(1, 999)}",
        f"{r.randint(2023, 2026)}.{r.randint(1, 12)}.{r.randint(1, 30)}",
    ][f]


def n_part(r: random.Random, arg: str) -> str:
    up = "ABCDEFGHJKLMNPRSTUVWXYZ"
    f = r.randint(0, 5)
    return [
        f"SM-{r.choice('SAGFN')}{_digits(r, 3)}N",
        f"{r.choice(up)}{_digits(r, 4)}-{_digits(r, 2)}-{_digits(r, 4)}",
        f"{_digits(r, 2)}-{_digits(r, 4)}-{_digits(r, 3)}",
        f"{r.randint(43, 86)}{r.choice(['UQ', 'QN', 'NU'])}{_digits(r, 4)}{r.choice(up)}NA",
        f"{r.choice(up)}{r.choice(up)}{_digits(r, 6)}-{r.choice(up)}",
        f"{_digits(r, 4)}.{_digits(r, 2)}-{_digits(r, 4)}",
    ][f]


def n_amount(r: random.Random, arg: str) -> str:
    v = r.choice(
        [r.randint(1, 999) * 1000, r.randint(1000, 99_999_999), r.randint(10, 999) * 10000]
    )
    f = r.randint(0, 5)
    return [
        f"{v:,}원",
        f"₩{v:,}",
        f"{v}원",
        f"KRW {v:,}",
        f"{v / 1000:,.0f}천원",
        f"USD {v / 1300:,.2f}",
    ][f]


def n_coords(r: random.Random, arg: str) -> str:
    lat, lon = r.uniform(33.1, 38.6), r.uniform(124.6, 131.9)
    f = r.randint(0, 2)
    if f == 0:
        return f"{lat:.4f}, {lon:.4f}"
    if f == 1:
        return f"{lat:.6f},{lon:.6f}"
    return f"N{lat:.3f} E{lon:.3f}"


def n_serial(r: random.Random, arg: str) -> str:
    up = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    f = r.randint(0, 3)
    out = [
        "R58N" + "".join(r.choice(up) for _ in range(7)),
        _digits(r, 13),
        "".join(r.choice(up) for _ in range(12)),
        f"SN{_digits(r, 10)}",
    ][f]
    return _not_rrn_shaped(out)


def n_imei(r: random.Random, arg: str) -> str:
    num = _luhn_complete(r.choice(["35", "86", "49"]) + _digits(r, 12))
    return num if s_chance(r, 0.7) else f"{num[:2]}-{num[2:8]}-{num[8:14]}-{num[14]}"


def n_uuid(r: random.Random, arg: str) -> str:
    h = "".join(r.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{r.choice('89ab')}{h[17:20]}-{h[20:]}"


def n_hash(r: random.Random, arg: str) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(r.choice([32, 40, 64])))


def n_account_noctx(r: random.Random, arg: str) -> str:
    key = r.choice(list(BANKS))
    _, groups, prefixes = BANKS[key]
    pre = r.choice(prefixes)
    return _group(pre + _digits(r, sum(groups) - len(pre)), groups, "-")


def n_phone_like(r: random.Random, arg: str) -> str:
    f = r.randint(0, 5)
    return [
        f"012-{r.randint(2, 9)}{_digits(r, 3)}-{_digits(r, 4)}",
        f"{r.randint(2023, 2026)}-{_digits(r, 4)}-{_digits(r, 4)}",
        f"{r.randint(2, 9)}{_digits(r, 3)}-{_digits(r, 4)}",
        f"099-{r.randint(2, 9)}{_digits(r, 2)}-{_digits(r, 4)}",
        f"013-{_digits(r, 4)}-{_digits(r, 4)}",
        f"{r.randint(20, 99)}-{_digits(r, 4)}-{_digits(r, 4)}",
    ][f]


def n_court(r: random.Random, arg: str) -> str:
    court = r.choice(["노", "가합", "고단", "다", "두", "나", "구합", "도"])
    return f"{r.randint(2015, 2026)}{court}{r.randint(100, 99999)}"


def n_patent(r: random.Random, arg: str) -> str:
    f = r.randint(0, 2)
    return [
        f"10-{r.randint(2015, 2026)}-{_digits(r, 7)}",
        f"제10-{_digits(r, 7)}호",
        f"40-{r.randint(2015, 2026)}-{_digits(r, 7)}",
    ][f]


def n_masked(r: random.Random, arg: str) -> str:
    y, m = r.randint(50, 99), r.randint(1, 12)
    f = r.randint(0, 5)
    return [
        f"{y:02d}{m:02d}{r.randint(1, 28):02d}-{r.randint(1, 2)}******",
        f"010-****-{_digits(r, 4)}",
        f"{r.choice(['4579', '5409', '9410'])}-{_digits(r, 2)}**-****-{_digits(r, 4)}",
        f"{y:02d}{m:02d}{r.randint(1, 28):02d}-*******",
        f"110-***-{_digits(r, 6)}",
        f"010-{_digits(r, 2)}**-**{_digits(r, 2)}",
    ][f]


def n_ip_like(r: random.Random, arg: str) -> str:
    f = r.randint(0, 4)
    return [
        f"1.2.840.113549.1.1.{r.randint(1, 14)}",
        f"1.3.6.1.4.1.{r.randint(100, 50000)}.{r.randint(1, 20)}",
        f"{r.randint(256, 999)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}",
        ".".join(str(r.randint(0, 9)) for _ in range(5)),
        ":".join(f"{r.randint(0, 255):02X}" for _ in range(6)),
    ][f]


def n_email_like(r: random.Random, arg: str) -> str:
    f = r.randint(0, 3)
    return [
        f"{r.choice(['icon', 'logo', 'banner', 'btn_close'])}@{r.randint(2, 3)}x.png",
        f"@{r.choice(ROMAN)}_{r.randint(1, 99)}",
        f"{r.choice(['lodash', 'react', 'axios', 'next'])}@{r.randint(1, 19)}.{r.randint(0, 30)}.0",
        f"{r.choice(['node', 'python'])}@{r.randint(16, 22)}",
    ][f]


def n_postal_like(r: random.Random, arg: str) -> str:
    return f"{r.randint(0, 99999):05d}"


def n_brn_like(r: random.Random, arg: str) -> str:
    while True:
        num = _digits(r, 10)
        if _brn_check(num[:9]) != int(num[9]):
            return _group(num, (3, 2, 5), "-")


def n_rrn_like(r: random.Random, arg: str) -> str:
    # YYMMDD-NNNNNNN with an impossible month or day
    yy = r.randint(0, 99)
    if s_chance(r, 0.5):
        mm, dd = r.randint(13, 99), r.randint(1, 28)
    else:
        mm = r.randint(1, 12)
        dd = r.randint(32, 99) if s_chance(r, 0.7) else 0
    return f"{yy:02d}{mm:02d}{dd:02d}-{_digits(r, 7)}"


def n_card_like(r: random.Random, arg: str) -> str:
    while True:
        num = _digits(r, 16)
        if not _luhn_ok(num):
            return _group(num, (4, 4, 4, 4), r.choice("- "))


def n_otp(r: random.Random, arg: str) -> str:
    return _digits(r, 6)


def n_extension(r: random.Random, arg: str) -> str:
    return str(r.randint(2000, 8999))


def n_employee(r: random.Random, arg: str) -> str:
    f = r.randint(0, 2)
    return [f"{r.randint(2005, 2026)}{_digits(r, 4)}", f"EMP-{_digits(r, 6)}", f"S{_digits(r, 7)}"][
        f
    ]


def n_chart(r: random.Random, arg: str) -> str:
    return _digits(r, r.choice([8, 9]))


def n_ticket(r: random.Random, arg: str) -> str:
    y = r.randint(2024, 2026)
    f = r.randint(0, 2)
    return [
        f"{y}{r.randint(1, 12):02d}{r.randint(1, 28):02d}-{_digits(r, 6)}",
        f"CS-{y}-{_digits(r, 6)}",
        f"#{_digits(r, 7)}",
    ][f]


def n_reservation(r: random.Random, arg: str) -> str:
    f = r.randint(0, 2)
    return [
        f"{r.choice('RMS')}{_digits(r, 8)}",
        f"{r.choice(['KE', 'OZ', '7C', 'LJ'])}{r.randint(100, 999)}",
        "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6)),
    ][f]


def n_approval(r: random.Random, arg: str) -> str:
    return _digits(r, 8)


def n_birthdate(r: random.Random, arg: str) -> str:
    y, m = r.randint(1950, 2005), r.randint(1, 12)
    d = r.randint(1, _days(y, m))
    return f"{y % 100:02d}{m:02d}{d:02d}" if s_chance(r, 0.5) else f"{y}{m:02d}{d:02d}"


def n_student(r: random.Random, arg: str) -> str:
    return f"{r.randint(2015, 2025)}{_digits(r, 6)}"


def n_port(r: random.Random, arg: str) -> str:
    return str(r.randint(1024, 65535))


def n_quantity(r: random.Random, arg: str) -> str:
    return f"{r.randint(10000, 99999)}"


def n_vitals(r: random.Random, arg: str) -> str:
    f = r.randint(0, 2)
    return [
        f"{r.randint(95, 160)}/{r.randint(55, 100)}",
        f"{r.uniform(35.8, 38.9):.1f}",
        f"{r.randint(60, 120)}",
    ][f]


def n_medcode(r: random.Random, arg: str) -> str:
    f = r.randint(0, 1)
    return [f"{r.choice('JKIME')}{r.randint(10, 99)}.{r.randint(0, 9)}", _digits(r, 9)][f]


def n_permit(r: random.Random, arg: str) -> str:
    office = r.choice(["서울강남", "경기성남", "부산해운대"])
    return f"제{r.randint(2018, 2026)}-{office}-{_digits(r, 5)}호"


def n_place(r: random.Random, arg: str) -> str:
    full, short, _, districts = r.choice(REGIONS)
    district = r.choice(list(districts))
    road = r.choice(districts[district])
    district = district or road
    f = r.randint(0, 3)
    return [
        f"{short} {district}",
        f"{road} 일대",
        f"{district}청",
        f"{full} 전역",
    ][f]


NEGATIVES: dict[str, Neg] = {
    "date": n_date,
    "timestamp": n_timestamp,
    "order_no": n_order,
    "invoice_no": n_invoice,
    "tracking_no": n_tracking,
    "isbn": n_isbn,
    "version": n_version,
    "part_code": n_part,
    "amount": n_amount,
    "coordinates": n_coords,
    "serial": n_serial,
    "imei": n_imei,
    "uuid": n_uuid,
    "hash": n_hash,
    "account_like_no_context": n_account_noctx,
    "phone_like": n_phone_like,
    "court_case_no": n_court,
    "patent_no": n_patent,
    "masked_id": n_masked,
    "ip_like": n_ip_like,
    "email_like": n_email_like,
    "number_5digit": n_postal_like,
    "brn_like": n_brn_like,
    "rrn_like": n_rrn_like,
    "card_like": n_card_like,
    "otp": n_otp,
    "extension": n_extension,
    "employee_id": n_employee,
    "chart_no": n_chart,
    "ticket_no": n_ticket,
    "reservation_no": n_reservation,
    "approval_no": n_approval,
    "birthdate": n_birthdate,
    "student_id": n_student,
    "port": n_port,
    "pid": n_port,
    "quantity": n_quantity,
    "vitals": n_vitals,
    "medical_code": n_medcode,
    "permit_no": n_permit,
    "place_name": n_place,
}

# --------------------------------------------------------------------------- templates
# ⟨NAME⟩ / ⟨NAME:arg⟩ is a positive (see POSITIVES), ⟨~kind⟩ a hard negative; {N} a Korean
# name, {C} a company. Context words sit in the templates, never in the generated spans.

CHAT = [
    "네 제 주민번호는⟨RRN⟩이에요",
    "주민번호 뒷자리까지 보낼게요 ⟨RRN⟩",
    "ㅇㅇ 폰번호 ⟨PHONE:mob⟩ 여기로 연락줘",
    "제 번호 ⟨PHONE:mob⟩입니다~ 문자 주세요",
    "⟨PHONE:mob⟩로 전화 부탁드려요",
    "메일은 ⟨EMAIL⟩로 보내주시면 돼요",
    "메일주소⟨EMAIL⟩이요 오타 없어요",
    "입금은 ⟨BANK⟩ ⟨ACCT⟩ 으로 부탁해 (예금주 {N})",
    "계좌번호 ⟨ACCT⟩ 예금주 {N} 이에요",
    "카뱅 ⟨ACCT:kakao⟩로 보내줘 ㅎㅎ",
    "토스 ⟨ACCT:toss⟩ 여기로 만원만",
    "택배는 ⟨ADDR⟩ 으로 보내주세요",
    "우리집 주소는 ⟨ADDR⟩이야",
    "나 이사했어 ⟨ADDR:short⟩ 놀러와",
    "{N} ⟨RRN0⟩ ⟨PHONE:mob⟩ 이분 가입 처리해 주세요",
    "⟨CARD⟩로 결제했는데 두 번 빠져나갔어요",
    "⟨PLATE⟩가 제 차예요",
    "차번호 ⟨PLATE⟩ 맞으시죠? 주차등록 해드릴게요",
    "⟨PLATE⟩ 차량 출차 부탁드립니다",
    "주문번호 ⟨~order_no⟩인데 아직 안 왔어요",
    "운송장번호 ⟨~tracking_no⟩ 조회가 안 돼요",
    "⟨~date⟩에 만나요",
    "방금 ⟨~amount⟩ 보냈어 확인해봐",
    "인증번호 ⟨~otp⟩ 이거 맞아?",
    "예약번호 ⟨~reservation_no⟩로 체크인했어",
    "회원번호 ⟨~account_like_no_context⟩ 로 적립해주세요",
    "예매번호 ⟨~phone_like⟩ 로 표 찾으면 돼",
    "여권번호 ⟨PASS⟩ 로 항공권 예약해줘",
    "번호 바뀌었어 ⟨PHONE⟩ 저장해둬",
    "우편번호 ⟨ZIP⟩ 맞나요?",
    "상품권 PIN ⟨~card_like⟩ 이거 써",
    "문의는 ⟨PHONE:rep⟩로 하래",
]

CALL = [
    "상담원: 본인 확인을 위해 주민등록번호 말씀해 주시겠어요?\n고객: ⟨RRN⟩이요.",
    "고객: 외국인등록번호는 ⟨FRN⟩ 입니다.",
    "고객: I'm a foreigner. My alien registration number is ⟨FRN⟩.",
    "고객: 카드번호 불러드릴게요. ⟨CARD⟩요.",
    "상담원: 등록된 연락처가 ⟨PHONE:mob⟩ 맞으십니까?\n고객: 네 맞아요.",
    "고객: 환불은 ⟨BANK⟩ ⟨ACCT⟩로 해주세요.",
    "상담원: 환불 계좌 확인하겠습니다. ⟨BANK⟩ ⟨ACCT⟩, 예금주 {N}님 맞으세요?",
    "상담원: 접수번호는 ⟨~ticket_no⟩ 입니다.",
    "고객: 주문번호가 ⟨~order_no⟩예요.",
    "상담원: 승인번호 ⟨~approval_no⟩ 건 ⟨~amount⟩ 취소 처리되었습니다.",
    "상담원: 내선 ⟨~extension⟩번으로 연결해 드리겠습니다.",
    "고객: 주소는 ⟨ADDR⟩입니다.",
    "상담원: 배송지 ⟨ADDR⟩, 우편번호 ⟨ZIP⟩ 맞으신가요?",
    "고객: 회사 번호는 ⟨PHONE:tel⟩이고 휴대폰은 ⟨PHONE:mob⟩입니다.",
    "상담원: 사고 차량 번호가 ⟨PLATE⟩ 맞습니까?",
    "고객: 면허번호요? ⟨DL⟩입니다.",
    "상담원: 고객님 생년월일 ⟨~birthdate⟩ 맞으시죠?",
    "고객: 카드 뒷자리만 ⟨~masked_id⟩ 이렇게 나와요.",
    "고객: 계좌 말고 ⟨~amount⟩ 금액만 확인해 주세요.",
    "상담원: 문자로 보내드린 인증번호 ⟨~otp⟩ 불러주세요.",
]

HR = [
    "[인사팀] 신규 입사자 정보\n성명: {N} / 주민등록번호: ⟨RRN⟩ / 연락처: ⟨PHONE:mob⟩",
    "급여계좌: ⟨BANK⟩ ⟨ACCT⟩",
    "급여 이체 계좌 변경 요청: ⟨ACCT⟩ (⟨BANK⟩)",
    "비상연락처 ⟨PHONE⟩ (배우자)",
    "주소: ⟨ADDR⟩ (우편번호 ⟨ZIP⟩)",
    "운전면허번호 ⟨DL⟩ (1종 보통), 법인차량 ⟨PLATE⟩ 배정",
    "외국인 근로자 {N} 외국인등록번호 ⟨FRN⟩, 여권번호 ⟨PASS⟩",
    "사번 ⟨~employee_id⟩, 입사일 ⟨~date⟩, 연봉 ⟨~amount⟩",
    "문서번호 ⟨~ticket_no⟩ / 결재일 ⟨~date⟩",
    "주민번호⟨RRN⟩ 원본 파기 요망",
    "E-mail: ⟨EMAIL⟩, 내선 ⟨~extension⟩",
    "퇴직금 지급 계좌 ⟨BANK⟩⟨ACCT⟩ 확인 완료",
    "학번 ⟨~student_id⟩ (졸업증명서 첨부)",
]

HOSPITAL = [
    "환자명: {N}\n주민번호: ⟨RRN⟩\n보호자 연락처: ⟨PHONE:mob⟩",
    "차트번호 ⟨~chart_no⟩, 내원일 ⟨~date⟩",
    "BP ⟨~vitals⟩ mmHg, BT ⟨~vitals⟩℃",
    "진료비 ⟨~amount⟩ 카드 결제 (카드번호 ⟨CARD⟩)",
    "주소: ⟨ADDR⟩",
    "진단코드 ⟨~medical_code⟩, 처방 코드 ⟨~medical_code⟩",
    "보험 청구 시 주민등록번호 ⟨RRN⟩ 확인 필요",
    "외국인 환자 여권 ⟨PASS⟩ / 등록번호 ⟨FRN⟩",
    "소아 환자 {N} (주민번호 ⟨RRN⟩), 보호자 {N} ⟨PHONE:mob⟩",
    "회신 메일 ⟨EMAIL⟩ / 병동 내선 ⟨~extension⟩",
    "Pt. ID ⟨~chart_no⟩, DOB ⟨~birthdate⟩",
]

COMPLAINT = [
    "안녕하십니까. 저는 ⟨BANK⟩ 고객 {N}입니다. "
    "제 계좌(⟨ACCT⟩)에서 ⟨~date⟩ ⟨~amount⟩이 무단 출금되었습니다.",
    "거래 승인번호 ⟨~approval_no⟩ 건에 대해 이의를 제기합니다.",
    "민원 접수번호 ⟨~ticket_no⟩에 대한 회신을 아직 받지 못했습니다.",
    "연락처 ⟨PHONE:mob⟩ / 이메일 ⟨EMAIL⟩ 로 답변 부탁드립니다.",
    "사업자등록번호 ⟨BRN⟩인 가맹점에서 결제되었습니다.",
    "해당 업체 법인등록번호는 ⟨CRN⟩으로 확인됩니다.",
    "카드번호 ⟨CARD⟩ 분실 신고 후에도 결제가 승인되었습니다.",
    "환불받을 계좌는 ⟨BANK⟩ ⟨ACCT⟩입니다.",
    "입금 받을 계좌: ⟨ACCT⟩ (⟨BANK⟩, 예금주 {N})",
    "송금 대상 계좌 ⟨~masked_id⟩ 는 제가 등록한 적이 없습니다.",
    "주소: ⟨ADDR⟩ (우) ⟨ZIP⟩",
    "문의번호 ⟨~account_like_no_context⟩ 로 통화했으나 해결되지 않았습니다.",
    "본인 주민등록번호(⟨RRN⟩)가 도용된 것으로 보입니다.",
    "상품권 번호 ⟨~card_like⟩ 도 함께 도난당했습니다.",
    "금감원 민원 ⟨~ticket_no⟩ 참조",
]

LOG = [
    "⟨~timestamp:0⟩ INFO auth login ok user=⟨EMAIL⟩ ip=⟨IP:v4⟩",
    "[WARN] ⟨~timestamp:1⟩ rate limit exceeded client=⟨IP⟩ req_id=⟨~uuid⟩",
    '⟨IP:v4⟩ - - [12/Nov/2025:03:02:00 +0900] "GET /api/v1/orders/⟨~order_no⟩ HTTP/1.1" 200 512',
    "⟨~timestamp:0⟩ ERROR payment failed card=⟨CARD⟩ amount=⟨~quantity⟩",
    "⟨~timestamp:1⟩ DEBUG sms sent to=⟨PHONE:mob⟩ template=AUTH_CODE code=⟨~otp⟩",
    "sshd[⟨~pid⟩]: Accepted publickey for deploy from ⟨IP⟩ port ⟨~port⟩ ssh2",
    "kernel: eth0 link up, hwaddr ⟨~ip_like⟩",
    "⟨~timestamp:2⟩ app=mobile version=⟨~version⟩ device=⟨~serial⟩",
    "⟨~timestamp:3⟩ upload ok sha256=⟨~hash⟩",
    "⟨~timestamp:4⟩ WARN pii-check rrn=⟨RRN0⟩ masked=false",
    "⟨~timestamp:0⟩ user_update phone=⟨PHONE⟩ email=⟨EMAIL⟩",
    "GET /static/img/⟨~email_like⟩ 304",
    "[audit] ⟨~timestamp:1⟩ admin ⟨EMAIL⟩ exported 1,204 rows from ⟨IP:v6⟩",
    "cert OID ⟨~ip_like⟩ verified, serial ⟨~hash⟩",
    "⟨~timestamp:0⟩ INFO imei=⟨~imei⟩ carrier=SKT",
    "deps: ⟨~email_like⟩ ⟨~email_like⟩",
    "order_id=⟨~order_no⟩ status=SHIPPED tracking=⟨~tracking_no⟩",
    "⟨~timestamp:2⟩ kyc.verify biz_no=⟨BRN0⟩ result=OK",
    "lat/lng ⟨~coordinates⟩ accuracy=12m",
    "x-forwarded-for: ⟨IP:v4⟩, ⟨IP:v4⟩",
]

EMAIL_BODY = [
    "{N}님 안녕하세요. 요청하신 견적서(⟨~invoice_no⟩)를 첨부드립니다.",
    "Invoice No. ⟨~invoice_no⟩ / PO# ⟨~order_no⟩ 확인 부탁드립니다.",
    "계약금 ⟨~amount⟩은 ⟨BANK⟩ ⟨ACCT⟩ (예금주 {C})로 입금해 주십시오.",
    "세금계산서는 사업자등록번호 ⟨BRN⟩ 으로 발행해 주세요.",
    "Please wire the deposit to ⟨BANK:en⟩ account ⟨ACCT⟩ by ⟨~date⟩.",
    "참고 도서: ISBN ⟨~isbn⟩",
    "제품 모델 ⟨~part_code⟩ (S/N ⟨~serial⟩) A/S 접수 건입니다.",
    "특허 출원번호 ⟨~patent_no⟩ 관련 검토 의견 회신드립니다.",
    "사건번호 ⟨~court_case_no⟩ 변론기일은 ⟨~date⟩입니다.",
    "통신판매업신고 ⟨~permit_no⟩",
    "행사 장소는 ⟨~place_name⟩ 입니다.",
]

SIGNATURE = [
    "\n\n감사합니다.\n{N} 드림\n{C} | 영업팀 과장\n"
    "T. ⟨PHONE:tel⟩ | M. ⟨PHONE:mob⟩\nE. ⟨EMAIL⟩\n⟨ADDR⟩",
    "\n--\n{N} / {C}\nMobile: ⟨PHONE:mob⟩\nTel: ⟨PHONE:tel⟩\nEmail: ⟨EMAIL⟩",
    "\n\nBest regards,\n{N} (Manager)\n{C}\n⟨ADDR⟩ (⟨ZIP⟩)\nTel ⟨PHONE:tel⟩  Fax ⟨PHONE:tel⟩",
    "\n\n{C} 대표 {N} | 사업자등록번호 ⟨BRN⟩ | 고객센터 ⟨PHONE:rep⟩",
    "\n\n{C} | 법인등록번호 ⟨CRN⟩ | 사업자번호 ⟨BRN⟩ | ⟨ADDR⟩",
    "\n\n{N} 드림 | ⟨EMAIL⟩ | ⟨PHONE⟩",
]

OCR = [
    "주 민 등 록 증\n{N}\n⟨RRN⟩\n⟨ADDR⟩\n⟨~date⟩",
    "주 민 등 록 번 호 ⟨RRN⟩",
    "자동차운전면허증 면 허 번 호 ⟨DL⟩ 적성검사 ⟨~date⟩",
    "사업자 등록번호 : ⟨BRN⟩ 상 호 : {C}",
    "등록번호⟨BRN⟩ 법인등록번호⟨CRN⟩",
    "주소:⟨ADDR:nospace⟩",
    "여 권 번 호 / Passport No. ⟨PASS⟩",
    "외 국 인 등 록 증 ⟨FRN⟩",
    "전 화 번 호 ⟨PHONE⟩ 휴 대 폰 ⟨PHONE:mob⟩",
    "발 급 일 자 ⟨~date⟩ 발급번호 ⟨~serial⟩",
    "계 좌 번 호 ⟨ACCT⟩ ( ⟨BANK⟩ )",
    "카 드 번 호 ⟨CARD⟩ 유효기간 12/29",
    "차 량 번 호 ⟨PLATE⟩ 차대번호 ⟨~serial⟩",
]

FORM = [
    "[회원가입 신청서]\n이름: {N}\n생년월일: ⟨~birthdate⟩\n휴대전화: ⟨PHONE:mob⟩\n이메일: ⟨EMAIL⟩",
    "주소: ⟨ADDR⟩\n우편번호: ⟨ZIP⟩",
    "배송지: ⟨ADDR⟩ [⟨ZIP⟩]",
    "(우)⟨ZIP⟩ ⟨ADDR⟩",
    "차량번호: ⟨PLATE⟩ / 방문일시: ⟨~timestamp:1⟩",
    "환불계좌: ⟨BANK⟩ / ⟨ACCT⟩ / 예금주 {N}",
    "여권번호(Passport No.): ⟨PASS⟩\n영문성명: {N}",
    "운전면허번호: ⟨DL⟩",
    "사업자등록번호: ⟨BRN⟩\n법인등록번호: ⟨CRN⟩\n대표번호: ⟨PHONE:rep⟩",
    "Postal code: ⟨ZIP⟩",
    "주문수량 ⟨~quantity⟩개 / 결제금액 ⟨~amount⟩",
    "쿠폰번호 ⟨~card_like⟩",
    "외국인등록번호 ⟨FRN⟩ (체류자격 E-9)",
    "외국인등록번호는⟨FRN⟩이고 면허번호는⟨DL⟩입니다",
    "우편번호는⟨ZIP⟩이에요",
    "우: ⟨ZIP⟩",
    "zip ⟨ZIP⟩",
]

PROMPT = [
    "다음 고객 정보를 표로 정리해줘: 이름 {N}, 연락처 ⟨PHONE:mob⟩, 주민번호 ⟨RRN⟩, 주소 ⟨ADDR⟩",
    "Summarize this complaint. Customer phone: ⟨PHONE⟩, email ⟨EMAIL⟩, card ⟨CARD⟩",
    "사업자번호 ⟨BRN⟩ 조회해서 상호 알려줘",
    "Translate to English: 제 여권번호는 ⟨PASS⟩이고 출국일은 ⟨~date⟩입니다.",
    "Please draft a reply to {N} (⟨EMAIL⟩) about order ⟨~order_no⟩ "
    "shipped with tracking ⟨~tracking_no⟩.",
    "이 사람 RRN ⟨RRN⟩ 으로 나이 계산해줘",
    "My Korean passport number is ⟨PASS⟩ and my phone is ⟨PHONE:mob⟩, fill the visa form.",
    "corporate registration number ⟨CRN⟩, business registration no. ⟨BRN⟩ — are these valid?",
    "driver's license ⟨DL⟩ expires soon, what should I do?",
    "이 주소 ⟨ADDR⟩ 근처 맛집 추천해줘",
    "⟨ADDR:short⟩에서 ⟨~place_name⟩까지 가는 길 알려줘",
    "{N} ⟨RRN0⟩ 이 사람 보험 가입 가능한지 봐줘",
    "⟨IP⟩에서 들어온 요청만 차단하는 nginx 설정 써줘",
    "사업자 ⟨BRN0⟩ 거래처 등록해줘",
    "Driver license no. ⟨DL⟩, plate ⟨PLATE⟩ — summarize the accident report.",
    "버전 ⟨~version⟩에서 ⟨~version⟩로 업그레이드 시 주의점 알려줘",
    "좌표 ⟨~coordinates⟩ 주변 주차장 찾아줘",
    "ISBN ⟨~isbn⟩ 책 요약해줘",
    "사건번호 ⟨~court_case_no⟩ 판례 요약 부탁해",
    "아래 계좌로 송금하는 문자 써줘: ⟨BANK⟩ ⟨ACCT⟩ ⟨~amount⟩",
    "서버 ⟨IP⟩ 에 ssh 접속이 안 돼. 포트 ⟨~port⟩ 열려 있어",
    "RRN: ⟨RRN⟩ / Mobile: ⟨PHONE:mob⟩ / Email: ⟨EMAIL⟩",
    "Resident registration no. ⟨RRN⟩, account no. ⟨ACCT⟩ (⟨BANK:en⟩)",
    "{N} 대리 차량 ⟨PLATE⟩ 주차 위반 건 사유서 작성해줘",
    "이 UUID ⟨~uuid⟩ 형식 맞아?",
    "IMEI ⟨~imei⟩ 기기 분실 신고 방법?",
]

SMS = [
    "[Web발신] 고객님 ⟨~date⟩ 주문하신 상품이 발송되었습니다. 운송장 ⟨~tracking_no⟩",
    "[국민카드] {N}님 ⟨~amount⟩ 승인 ⟨~timestamp:1⟩ 누적 ⟨~amount⟩",
    "[인증번호: ⟨~otp⟩] 타인에게 절대 알려주지 마세요.",
    "[Web발신] 입금계좌 ⟨BANK⟩ ⟨ACCT⟩ 로 ⟨~amount⟩ 입금 바랍니다.",
    "[알림] {N}님 진료 예약 ⟨~timestamp:1⟩, 문의 ⟨PHONE:tel⟩",
    "[택배] ⟨ADDR⟩ 문 앞 배송 완료",
    "주차 위반 차량 ⟨PLATE⟩ 이동 부탁드립니다 ⟨PHONE:mob⟩",
    "[광고] 고객센터 ⟨PHONE:rep⟩ 수신거부 ⟨~phone_like⟩",
]

GENERIC_NEG = [
    "주문번호 ⟨~order_no⟩, 결제일 ⟨~date⟩, 금액 ⟨~amount⟩",
    "운송장 ⟨~tracking_no⟩ (CJ대한통운)",
    "세금계산서 승인번호 ⟨~invoice_no⟩",
    "모델명 ⟨~part_code⟩, 펌웨어 ⟨~version⟩",
    "서류번호 ⟨~brn_like⟩ 참조",
    "관리번호 ⟨~rrn_like⟩",
    "접수번호 ⟨~ticket_no⟩ / 처리기한 ⟨~date⟩",
    "IMEI ⟨~imei⟩",
    "좌표: ⟨~coordinates⟩",
    "에러코드 ⟨~number_5digit⟩ 발생",
    "총 ⟨~quantity⟩건 처리",
    "재고 코드 ⟨~number_5digit⟩번 품목",
    "고객번호 ⟨~account_like_no_context⟩",
    "일련번호 ⟨~serial⟩",
    "특허 ⟨~patent_no⟩",
    "사건 ⟨~court_case_no⟩",
    "참고: ⟨~masked_id⟩ (마스킹됨)",
    "티켓 번호 ⟨~phone_like⟩",
    "OID ⟨~ip_like⟩",
    "첨부 ⟨~email_like⟩",
    "예약번호 ⟨~reservation_no⟩",
    "쿠폰 ⟨~card_like⟩",
    "계약번호 ⟨~rrn_like⟩",
    "문서 ⟨~brn_like⟩",
    "빌드 ⟨~version⟩ / 커밋 ⟨~hash⟩",
    "장소: ⟨~place_name⟩",
]

FILLER = [
    "확인 부탁드립니다.",
    "감사합니다.",
    "빠른 처리 부탁드려요.",
    "오늘 중으로 회신 주세요.",
    "혹시 잘못된 정보가 있으면 말씀해 주세요.",
    "Thanks in advance.",
    "ㅎㅎ 고마워",
    "이상입니다.",
    "급한 건 아니에요.",
    "",
]

KINDS: dict[str, tuple[list[str], int]] = {
    "chat": (CHAT, 12),
    "call_transcript": (CALL, 11),
    "hr_memo": (HR, 8),
    "hospital_intake": (HOSPITAL, 8),
    "bank_complaint": (COMPLAINT, 9),
    "server_log": (LOG, 11),
    "email": (EMAIL_BODY, 8),
    "ocr_scan": (OCR, 7),
    "web_form": (FORM, 9),
    "llm_prompt": (PROMPT, 10),
    "sms": (SMS, 6),
    "json_payload": ([], 9),
    "csv_export": ([], 6),
}

_MARK = re.compile(r"⟨(~?)([A-Za-z0-9_]+)(?::([A-Za-z0-9_]+))?⟩|\{N\}|\{C\}")


def _fill(s: _State, template: str) -> None:
    s.bank = s.account_bank = s.zip_region = s.region = None
    i = 0
    for m in _MARK.finditer(template):
        s.put(template[i : m.start()])
        i = m.end()
        tok = m.group(0)
        if tok == "{N}":
            s.put(_name(s.rng))
        elif tok == "{C}":
            s.put(s.rng.choice(COMPANIES))
        elif m.group(1):
            s.negative(m.group(2), NEGATIVES[m.group(2)](s.rng, m.group(3) or ""))
        else:
            name, arg = m.group(2), m.group(3) or ""
            if name.endswith("0"):
                name, arg = name[:-1], "0"
            etype, gen = POSITIVES[name]
            value = gen(s, arg)
            if etype is None:
                s.put(value)
            else:
                s.entity(etype, value)
    s.put(template[i:])


# JSON payload fields: key -> template of the value (a marker, or plain text)
JSON_POS = [
    (("rrn", "resident_no", "주민등록번호", "jumin"), "⟨RRN⟩"),
    (("frn", "alien_reg_no", "외국인등록번호"), "⟨FRN⟩"),
    (("phone", "mobile", "tel", "휴대폰", "contact"), "⟨PHONE⟩"),
    (("email", "mail", "이메일"), "⟨EMAIL⟩"),
    (("address", "addr", "주소", "shipping_address"), "⟨ADDR⟩"),
    (("zipcode", "postcode", "zip", "우편번호"), "⟨ZIP⟩"),
    (("card_no", "card_number", "카드번호"), "⟨CARD⟩"),
    (("client_ip", "ip", "remote_addr"), "⟨IP⟩"),
    (("passport_no", "passport", "여권번호"), "⟨PASS⟩"),
    (("license_no", "driver_license", "운전면허번호"), "⟨DL⟩"),
    (("car_no", "vehicle_plate", "차량번호"), "⟨PLATE⟩"),
    (("biz_no", "brn", "사업자등록번호"), "⟨BRN⟩"),
    (("corp_no", "crn", "법인등록번호"), "⟨CRN⟩"),
]
JSON_NEG = [
    (("order_id", "orderNo", "주문번호"), "⟨~order_no⟩"),
    (("created_at", "updated_at", "ts"), "⟨~timestamp⟩"),
    (("amount", "price", "결제금액"), "⟨~amount⟩"),
    (("sku", "model", "part_no"), "⟨~part_code⟩"),
    (("tracking_no", "invoice"), "⟨~tracking_no⟩"),
    (("app_version", "sdk_version"), "⟨~version⟩"),
    (("location",), "⟨~coordinates⟩"),
    (("device_serial", "serial"), "⟨~serial⟩"),
    (("request_id", "trace_id"), "⟨~uuid⟩"),
    (("member_id", "customer_no"), "⟨~account_like_no_context⟩"),
    (("birth", "dob"), "⟨~birthdate⟩"),
    (("coupon_code",), "⟨~card_like⟩"),
    (("approval_no",), "⟨~approval_no⟩"),
    (("ref_no",), "⟨~rrn_like⟩"),
    (("doc_no",), "⟨~brn_like⟩"),
]


def _json_payload(s: _State) -> None:
    r = s.rng
    obj: dict[str, Any] = {"name": _name(r)}
    for keys, value in r.sample(JSON_POS, r.randint(1, 4)):
        obj[r.choice(keys)] = value
    if s_chance(r, 0.4):
        bank_key = r.choice(("account", "refund_account", "환불계좌"))
        obj[bank_key] = {"bank": "⟨BANK⟩", "number": "⟨ACCT⟩"}
    for keys, value in r.sample(JSON_NEG, r.randint(1, 3)):
        obj[r.choice(keys)] = value
    items = list(obj.items())
    r.shuffle(items)
    wrapper = r.choice(["user", "customer", "data", "payload", ""])
    body = dict(items)
    doc: dict[str, Any] = {wrapper: body, "v": r.randint(1, 3)} if wrapper else body
    indent = r.choice([None, None, 2])
    _fill(s, json.dumps(doc, ensure_ascii=False, indent=indent))


CSV_COLS = [
    ("주민등록번호", "⟨RRN⟩"),
    ("휴대폰", "⟨PHONE:mob⟩"),
    ("연락처", "⟨PHONE⟩"),
    ("이메일", "⟨EMAIL⟩"),
    ("주소", '"⟨ADDR⟩"'),
    ("우편번호", "⟨ZIP⟩"),
    ("카드번호", "⟨CARD⟩"),
    ("은행,계좌번호", "⟨BANK⟩,⟨ACCT⟩"),
    ("차량번호", "⟨PLATE⟩"),
    ("사업자등록번호", "⟨BRN⟩"),
    ("외국인등록번호", "⟨FRN⟩"),
    ("여권번호", "⟨PASS⟩"),
    ("면허번호", "⟨DL⟩"),
    ("법인등록번호", "⟨CRN⟩"),
    ("접속IP", "⟨IP:v4⟩"),
]
CSV_NEG = [
    ("주문번호", "⟨~order_no⟩"),
    ("주문일시", "⟨~timestamp:1⟩"),
    ("결제금액", '"⟨~amount⟩"'),
    ("상품코드", "⟨~part_code⟩"),
    ("송장번호", "⟨~tracking_no⟩"),
    ("회원번호", "⟨~account_like_no_context⟩"),
    ("생년월일", "⟨~birthdate⟩"),
    ("사번", "⟨~employee_id⟩"),
]


def _csv_export(s: _State) -> None:
    r = s.rng
    cols = r.sample(CSV_COLS, r.randint(1, 3)) + r.sample(CSV_NEG, r.randint(1, 2))
    r.shuffle(cols)
    header = "이름," + ",".join(c for c, _ in cols)
    s.put(header + "\n")
    rows = r.randint(2, 4)
    for i in range(rows):
        s.put(_name(r) + ",")
        _fill(s, ",".join(v for _, v in cols))
        if i < rows - 1:
            s.put("\n")


def _record(rng: random.Random, kind: str) -> _State:
    s = _State(rng)
    if kind == "json_payload":
        _json_payload(s)
        return s
    if kind == "csv_export":
        _csv_export(s)
        return s
    pool = KINDS[kind][0]
    n = rng.choice([1, 2, 2, 3])
    frags = rng.sample(pool, n)
    for _ in range(rng.choice([0, 1, 1, 2])):
        frags.insert(rng.randrange(len(frags) + 1), rng.choice(GENERIC_NEG))
    if kind == "email":
        frags.append(rng.choice(SIGNATURE))
    sep = {"server_log": "\n", "hr_memo": "\n", "ocr_scan": "\n", "web_form": "\n"}.get(
        kind, rng.choice([" ", "\n"])
    )
    for i, frag in enumerate(frags):
        if i:
            s.put(sep)
        _fill(s, frag)
    tail = rng.choice(FILLER)
    if tail and kind not in ("server_log", "web_form", "ocr_scan"):
        s.put(" " + tail)
    return s


# --------------------------------------------------------------------------- issue 14 additions
# Appended after the records above, from their own random stream, so those stay as they were.
# Sources (each rule below names the one it rests on):
# - RRN since 2020-10: 행정안전부, 주민등록법 시행규칙 제2조 개정 (2020-10): new and changed numbers
#   keep YYMMDD-G and make the six digits after G random, so the old check digit mostly fails;
#   a birth date after TODAY or an impossible date is not an RRN (shared/design/KOREA.md).
# - EAN-13: GS1 Korea's prefix is 880; check digit = (10 - Σ d·(1,3,1,3…) mod 10) mod 10.
# - phones: shared/design/KOREA.md phone row, after 과학기술정보통신부 고시
#   「전기통신번호관리세칙」:
#   050x (0502–0508) personal/safe numbers, 070 internet phone, 080 freephone, 15xx/16xx/18xx
#   nationwide representative numbers (8 digits), area codes written in brackets.
#   The 050x subscriber part is written 4-4 and, for older numbers, 3-4 (unconfirmed: the
#   세칙's table was not read here).
# - driver licence: older cards write the region as a name (`서울 91-123456-78`); the names are
#   those of the numeric codes 11–26/28 (KOREA.md).
# - passport: new format (2021) letter + 3 digits + letter + 4 digits (KOREA.md).
# - 건강보험증번호: 11 digits ("증번호"), one per household, printed on the paper card; no public
#   check digit or field layout was found (unconfirmed), so the digits are random with a
#   non-zero lead. Source: NHIS card explanations as republished on public pages (e.g. the
#   "건강보험증 번호 조회" guides: "증번호 … 11자리 숫자", "세대에 1개").
# - 사업장관리번호 (hard negative): the workplace's 10-digit business registration number plus
#   one unit code (0 all four insurances, 2 health only, 4 pension only, 6 employment/accident
#   only), written `123-45-67890-0` (국민연금공단/근로복지공단 explanations, e.g. iany.co.kr and
#   bokji25.net guides).
# - 장기요양기관기호 (hard negative): 11 digits; NHIS open-API samples 34423000093, 14139000308
#   (data.go.kr 15059029, 15058856) read as 1 kind digit + 시도 (2) + 시군구 (3) + serial (5).
# - 요양기관번호/요양기관기호 (hard negative): 8 digits (HIRA); the field layout is unconfirmed,
#   so random digits behind a 시도-like lead.
# - bank account layouts: 금융결제원 「CMS 참가기관별 계좌번호체계」 (cmsedi.or.kr, workdata;
#   2026-05-08 edition), as transcribed by the MIT-licensed github.com/mkroo/korean-bank-detector
#   and github.com/dydals3440/korean-account. Subject/identifier codes sit where that table
#   puts them.

TODAY = date(2026, 12, 1)  # the fixed "today": a birth date after it is in the future
N_EXTRA = 900
EXTRA_SEED_OFFSET = 14


def _ymd_between(r: random.Random, lo: date, hi: date) -> date:
    return date.fromordinal(r.randint(lo.toordinal(), hi.toordinal()))


def _ean_ok(d13: str) -> bool:
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(d13[:12]))
    return (10 - s % 10) % 10 == int(d13[12])


def _new_style_id(r: random.Random, *, foreign: bool) -> str:
    """YYMMDD-G + six random digits, birth date real and not after TODAY."""
    while True:
        if s_chance(r, 0.55 if not foreign else 0.3):
            born = _ymd_between(r, date(2020, 10, 1), TODAY)  # newborns since the change
        else:
            born = _ymd_between(r, date(1940 if not foreign else 1955, 1, 1), date(2020, 9, 30))
        g = (1 if born.year < 2000 else 3) + r.randint(0, 1) + (4 if foreign else 0)
        num = f"{born:%y%m%d}{g}" + _digits(r, 6)
        # written bare, an 880… number with a valid EAN digit would also be a barcode
        if not (num.startswith("880") and _ean_ok(num)):
            return num


def _id_form(s: _State, num: str, arg: str) -> str:
    forms = [("hyphen", 55), ("none", 35), ("fw", 10)]
    if arg == "hyphen":
        forms = [("hyphen", 100)]
    elif arg == "none":
        forms = [("none", 100)]
    return _form(s, num, (6, 7), forms)


def p_rrn_new(s: _State, arg: str) -> str:
    return _id_form(s, _new_style_id(s.rng, foreign=False), arg)


def p_frn_new(s: _State, arg: str) -> str:
    return _id_form(s, _new_style_id(s.rng, foreign=True), arg)


AREA_NOT_SEOUL = tuple(a for a in AREA_CODES if a != "02")
REP_PREFIX_WIDE = _words(
    "1522 1544 1566 1577 1588 1599 1600 1644 1661 1666 1670 1688 1800 1833 1855 1877 1899"
)


def p_phone_new(s: _State, arg: str) -> str:  # noqa: PLR0911
    r = s.rng
    kind = arg or _pick(
        r,
        [
            ("safe", 20),
            ("paren", 20),
            ("i070", 12),
            ("i080", 10),
            ("rep", 14),
            ("intl", 16),
            ("mob", 8),
        ],
    )
    if kind == "safe":
        pre = f"050{r.randint(2, 8)}"
        mid = _digits(r, 4) if s_chance(r, 0.8) else str(r.randint(2, 9)) + _digits(r, 2)
        sep = _pick(r, [("-", 75), ("", 15), (" ", 10)])
        return sep.join((pre, mid, _digits(r, 4)))
    if kind == "paren":
        area = "02" if s_chance(r, 0.45) else r.choice(AREA_NOT_SEOUL)
        mid = str(r.randint(2, 9)) + _digits(r, r.choice([2, 3]))
        gap = _pick(r, [(" ", 55), ("", 45)])
        return f"({area}){gap}{mid}-{_digits(r, 4)}"
    if kind == "i070":
        sep = _pick(r, [("-", 75), (" ", 10), ("", 15)])
        return sep.join(("070", str(r.randint(2, 9)) + _digits(r, 3), _digits(r, 4)))
    if kind == "i080":
        mid = str(r.randint(2, 9)) + _digits(r, 2 if s_chance(r, 0.7) else 3)
        return "-".join(("080", mid, _digits(r, 4)))
    if kind == "rep":
        sep = _pick(r, [("-", 85), (" ", 10), ("", 5)])
        return r.choice(REP_PREFIX_WIDE) + sep + _digits(r, 4)
    if kind == "intl":
        target = _pick(r, [("10", 55), ("2", 20), ("area", 15), ("70", 10)])
        if target == "area":
            target = r.choice(AREA_NOT_SEOUL)[1:]
        mid = str(r.randint(2, 9)) + _digits(r, 3 if target in ("10", "70") else r.choice([2, 3]))
        last = _digits(r, 4)
        f = _pick(r, [("sp-hy", 40), ("hy", 30), ("sp", 20), ("none", 10)])
        if f == "sp-hy":
            return f"+82 {target}-{mid}-{last}"
        if f == "hy":
            return f"+82-{target}-{mid}-{last}"
        if f == "sp":
            return f"+82 {target} {mid} {last}"
        return f"+82{target}{mid}{last}"
    return _mobile(s)


# the region names of the numeric licence codes 11–26 and 28 (KOREA.md)
DL_REGION_NAMES = _words(
    "서울 부산 경기 강원 충북 충남 전북 전남 경북 경남 제주 대구 인천 광주 대전 울산"
)


def p_driver_region(s: _State, arg: str) -> str:
    r = s.rng
    yy = f"{r.choice([r.randint(70, 99), r.randint(0, 10)]):02d}"
    gap = " " if s_chance(r, 0.85) else ""
    return f"{r.choice(DL_REGION_NAMES)}{gap}{yy}-{_digits(r, 6)}-{_digits(r, 2)}"


def p_passport_new(s: _State, arg: str) -> str:
    r = s.rng
    letter = r.choice(PASSPORT_LETTERS)
    return letter + _digits(r, 3) + r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + _digits(r, 4)


def p_passport_old(s: _State, arg: str) -> str:
    return s.rng.choice(PASSPORT_LETTERS) + _digits(s.rng, 8)


def p_health_insurance(s: _State, arg: str) -> str:
    num = str(s.rng.randint(1, 9)) + _digits(s.rng, 10)
    return num.translate(_FW) if s_chance(s.rng, 0.08) else num


# bank key -> (aliases, English name, layouts); a layout is (groups, code offset, codes): the
# codes are the branch/subject/identifier digits the KFTC table fixes at that offset
Layout = tuple[tuple[int, ...], int, tuple[str, ...]]
BANKS_KFTC: dict[str, tuple[tuple[str, ...], str, tuple[Layout, ...]]] = {
    "kb": (
        ("KB국민은행", "국민은행", "국민", "KB"),
        "KB Kookmin Bank",
        (
            ((6, 2, 6), 4, _words("01 02 24 05 04 25 26")),
            ((3, 2, 4, 3), 3, _words("01 24 05 04 25")),
        ),
    ),
    "shinhan": (
        ("신한은행", "신한"),
        "Shinhan Bank",
        (((3, 3, 6), 0, tuple(str(n) for n in range(100, 162))),),
    ),
    "woori": (("우리은행", "우리"), "Woori Bank", (((4, 3, 6), 0, _words("1002 1005 1006")),)),
    "hana": (
        ("하나은행", "하나", "KEB하나은행"),
        "Hana Bank",
        (
            ((3, 6, 5), 12, _words("05 07 08 02 01 04 94")),
            ((3, 6, 3), 0, _words("611 620 630 621")),
        ),
    ),
    "nh": (
        ("NH농협은행", "농협은행", "농협", "NH"),
        "NongHyup Bank",
        (
            ((3, 4, 4, 2), 0, _words("301 302 312 306 305 317")),
            ((6, 2, 6), 6, _words("51 52 56 55")),
        ),
    ),
    "ibk": (
        ("IBK기업은행", "기업은행", "IBK"),
        "Industrial Bank of Korea",
        (
            ((3, 6, 2, 3), 9, _words("01 02 03 13 07 06 04")),
            ((3, 2, 7), 3, _words("01 02 03 13 07 06 04")),
        ),
    ),
    "kakao": (
        ("카카오뱅크", "카뱅"),
        "KakaoBank",
        (((4, 2, 7), 0, _words("3333 3355 3388 7979")),),
    ),
    "toss": (
        ("토스뱅크", "토스"),
        "Toss Bank",
        (((4, 4, 4), 0, _words("1000 1008 1060 1500 3000")),),
    ),
    "kbank": (("케이뱅크", "K뱅크"), "K bank", (((3, 3, 6), 0, _words("1002 1005")),)),
    "sc": (("SC제일은행", "제일은행"), "SC First Bank", (((3, 2, 6), 3, _words("10 20 30")),)),
    "kfcc": (
        ("새마을금고", "MG새마을금고"),
        "MG Saemaul Geumgo",
        (((4, 4, 4, 1), 0, _words("9002 9003 9004 9072 9090 9091 9200 9205 9210")),),
    ),
    "im": (("iM뱅크", "대구은행"), "iM Bank", (((3, 2, 7), 3, _words("05 08 02 01 04")),)),
}


def _kftc_account(r: random.Random, key: str) -> tuple[str, tuple[int, ...]]:
    groups, at, codes = r.choice(BANKS_KFTC[key][2])
    while True:
        code = r.choice(codes)
        num = _digits(r, sum(groups))
        num = num[:at] + code + num[at + len(code) :]
        if not _date_shaped(num):  # never also readable as a bare RRN
            return num, groups


def p_bank_kftc(s: _State, arg: str) -> str:
    if s.account_bank is not None and arg in ("", "en"):
        key, s.account_bank = s.account_bank, None
    else:
        key = arg if arg in BANKS_KFTC else s.rng.choice(list(BANKS_KFTC))
        s.bank = key
    aliases, english, _ = BANKS_KFTC[key]
    return english if arg == "en" else s.rng.choice(aliases)


def p_account_kftc(s: _State, arg: str) -> str:
    if arg in BANKS_KFTC:
        key = arg
    elif s.bank is not None and s.bank in BANKS_KFTC:
        key = s.bank
    else:
        key = s.account_bank = s.rng.choice(list(BANKS_KFTC))
    s.bank = None
    num, groups = _kftc_account(s.rng, key)
    return _form(s, num, groups, [("hyphen", 76), ("none", 14), ("space", 5), ("fw", 5)])


POSITIVES.update(
    {
        "RRNX": ("KR_RRN", p_rrn_new),
        "FRNX": ("KR_FRN", p_frn_new),
        "PHX": ("PHONE_KR", p_phone_new),
        "DLR": ("KR_DRIVER_LICENSE", p_driver_region),
        "PASSN": ("KR_PASSPORT", p_passport_new),
        "PASSO": ("KR_PASSPORT", p_passport_old),
        "HIC": ("KR_HEALTH_INSURANCE", p_health_insurance),
        "BANKX": (None, p_bank_kftc),
        "ACCTX": ("BANK_ACCOUNT_KR", p_account_kftc),
    }
)


def _id_like_form(r: random.Random, num: str) -> str:
    return _group(num, (6, 7), "-") if s_chance(r, 0.6) else num


def n_rrn_future(r: random.Random, arg: str) -> str:
    # a real calendar date after TODAY; G says 2000s (3/4, or 7/8 for a foreigner)
    if s_chance(r, 0.5):
        born = _ymd_between(r, TODAY + timedelta(days=1), date(2031, 12, 31))
    else:
        born = _ymd_between(r, date(2032, 1, 1), date(2099, 12, 31))
    g = r.choice((3, 4, 3, 4, 7, 8))
    return _id_like_form(r, f"{born:%y%m%d}{g}" + _digits(r, 6))


def n_rrn_impossible(r: random.Random, arg: str) -> str:
    g = r.choice((1, 2, 3, 4))
    y = (1900 if g < 3 else 2000) + (r.randint(40, 99) if g < 3 else r.randint(0, 25))
    kind = r.randint(0, 5)
    if kind == 0:
        m, d = 13, r.randint(1, 28)
    elif kind == 1:
        m, d = 0, r.randint(1, 28)
    elif kind == 2:
        m, d = 2, r.choice((30, 31))
    elif kind == 3:
        while _leap(y):
            y += 1
        m, d = 2, 29
    elif kind == 4:
        m, d = r.choice((4, 6, 9, 11)), 31
    else:
        m, d = r.randint(1, 12), 0
    return _id_like_form(r, f"{y % 100:02d}{m:02d}{d:02d}{g}" + _digits(r, 6))


def n_ean13(r: random.Random, arg: str) -> str:
    if s_chance(r, 0.75):
        # 880 + MDD + G…: reads as a 1988 birth date with a plausible gender digit
        m = r.randint(1, 9)
        body = f"880{m}{r.randint(1, _days(1988, m)):02d}{r.choice('1256')}" + _digits(r, 5)
    else:
        body = "880" + _digits(r, 9)
    num = _isbn13(body)  # same weights (1,3,1,3…) as every EAN-13
    return num if s_chance(r, 0.85) else f"{num[0]} {num[1:7]} {num[7:]}"


def n_care_provider(r: random.Random, arg: str) -> str:
    return (
        f"{r.choice((11, 21, 22, 23, 24, 25, 26, 31, 32, 33, 34, 35, 36, 37, 38, 39))}"
        + _digits(r, 6)
    )


def n_workplace(r: random.Random, arg: str) -> str:
    body = (
        str(r.randint(101, 899))
        + f"{r.choice([r.randint(1, 79), 81, 86, 87, 88]):02d}"
        + _digits(r, 4)
    )
    num = body + str(_brn_check(body)) + r.choice("00002246")
    return num if s_chance(r, 0.55) else _group(num, (3, 2, 5, 1), "-")


LTC_SIDO = (11, 26, 27, 28, 29, 30, 31, 36, 41, 42, 43, 44, 45, 46, 47, 48, 50)


def n_ltc_provider(r: random.Random, arg: str) -> str:
    return f"{r.randint(1, 3)}{r.choice(LTC_SIDO)}{r.randint(110, 890):03d}{_digits(r, 5)}"


def n_passport_like(r: random.Random, arg: str) -> str:
    # old-format shape (letter + 8 digits) where nothing says passport
    return r.choice("MSR") + _digits(r, 8)


def n_account_like_kftc(r: random.Random, arg: str) -> str:
    num, groups = _kftc_account(r, r.choice(list(BANKS_KFTC)))
    return _group(num, groups, "-")


NEGATIVES.update(
    {
        "rrn_future_birth": n_rrn_future,
        "rrn_impossible_date": n_rrn_impossible,
        "ean13_kr": n_ean13,
        "care_provider_no": n_care_provider,
        "workplace_mgmt_no": n_workplace,
        "ltc_provider_no": n_ltc_provider,
        "passport_like_no_context": n_passport_like,
        "account_layout_no_context": n_account_like_kftc,
    }
)
NEGATIVE_KINDS = tuple(NEGATIVES)

# Templates of the additions: theme -> [(source_kind, template)]. "No context" templates carry
# no word naming the identifier (주민, 등록번호, RRN, 여권, passport …), on purpose.
EXTRA: dict[str, list[tuple[str, str]]] = {
    "rrn_new": [
        ("hospital_intake", "신생아 {N} 출생신고 완료, 주민등록번호 ⟨RRNX⟩ 로 예방접종 등록"),
        ("hospital_intake", "소아과 접수: 환아 {N} / ⟨RRNX⟩ / 보호자 ⟨PHONE:mob⟩"),
        ("public_service", "[민원24] 출생신고 처리 결과: 성명 {N}, 주민등록번호 ⟨RRNX⟩"),
        ("public_service", "주민등록번호 변경 결정 통지: 변경 후 번호 ⟨RRNX⟩"),
        ("public_service", "아동수당 신청 — 아동 {N} ⟨RRNX:none⟩, 신청인 {N}"),
        ("web_form", "성명: {N}\n주민등록번호: ⟨RRNX⟩\n연락처: ⟨PHONE:mob⟩"),
        ("chat", "아기 번호 ⟨RRNX⟩ 이거 맞지? 어린이집 서류에 적어야 돼"),
        ("chat", "{N} ⟨RRNX⟩"),
        ("chat", "울 애기 ⟨RRNX:none⟩ 으로 보험 들어줘"),
        ("llm_prompt", "아래 명단을 가나다순으로 정렬해줘\n{N} ⟨RRNX⟩\n{N} ⟨RRNX⟩\n{N} ⟨RRN⟩"),
        ("llm_prompt", "Compute the age of this child: ⟨RRNX⟩"),
        ("llm_prompt", "{N}(⟨RRNX⟩) 보험금 청구서 초안 써줘"),
        (
            "markdown_table",
            "| 성명 | 번호 | 연락처 |\n|---|---|---|\n| {N} | ⟨RRNX⟩ | ⟨PHONE:mob⟩ |\n"
            "| {N} | ⟨RRNX:none⟩ | ⟨PHONE:mob⟩ |",
        ),
        ("markdown_table", "| 이름 | 식별값 |\n|---|---|\n| {N} | ⟨RRNX:hyphen⟩ |"),
        ("csv_export", "name,id,joined\n{N},⟨RRNX:none⟩,⟨~date⟩\n{N},⟨RRNX⟩,⟨~date⟩"),
        ("email", "Patient {N}, ID ⟨RRNX⟩, admitted ⟨~date⟩. Please confirm the ward."),
        ("bank_complaint", "예금주 {N} (⟨RRNX⟩) 명의 통장 개설 건 확인 부탁드립니다."),
        ("server_log", "⟨~timestamp:1⟩ INFO signup name={N} rid=⟨RRNX:none⟩"),
        ("insurance_claim", "피보험자 {N} ⟨RRNX⟩ / 사고일 ⟨~date⟩ / 청구금액 ⟨~amount⟩"),
    ],
    "frn_new": [
        ("public_service", "외국인등록번호 ⟨FRNX⟩ (체류자격 E-9, 국적 베트남)"),
        ("public_service", "[출입국] 외국인등록 완료 안내: {N} 님 ⟨FRNX⟩"),
        ("hr_memo", "외국인 근로자 명부\n{N} ⟨FRNX⟩ / 여권 ⟨PASSN⟩"),
        ("chat", "Hi, my number is ⟨FRNX⟩, can you check my visa?"),
        ("chat", "{N} ⟨FRNX:none⟩ 계약서에 넣어 주세요"),
        ("hospital_intake", "외국인 환자 {N}, 등록번호 ⟨FRNX⟩, 통역 필요"),
        ("markdown_table", "| Name | ID | Phone |\n|---|---|---|\n| {N} | ⟨FRNX⟩ | ⟨PHX:mob⟩ |"),
        ("csv_export", "이름,번호,입국일\n{N},⟨FRNX⟩,⟨~date⟩\n{N},⟨FRNX:none⟩,⟨~date⟩"),
        ("llm_prompt", "Translate this into Vietnamese: 외국인등록번호 ⟨FRNX⟩, 연락처 ⟨PHX⟩"),
    ],
    "phone_new": [
        ("web_form", "[배송 정보]\n받는 분: {N}\n안심번호: ⟨PHX:safe⟩"),
        ("sms", "[Web발신] 배달 기사님 연락처 ⟨PHX:safe⟩ (안심번호)"),
        ("chat", "중고거래 판매자 번호 ⟨PHX:safe⟩ 로 연락해봐"),
        ("chat", "여기로 전화 주세요 ⟨PHX:safe⟩"),
        ("email", "\n\n{C} 고객지원팀\nTel. ⟨PHX:paren⟩ | Fax. ⟨PHX:paren⟩"),
        ("email", "\n\n{N} 과장 / 대표전화 ⟨PHX:paren⟩ / 직통 ⟨PHX:i070⟩"),
        ("public_service", "문의: ○○구청 민원여권과 ⟨PHX:paren⟩, 야간 ⟨PHX:paren⟩"),
        ("public_service", "수신자부담 상담전화 ⟨PHX:i080⟩ (평일 09:00~18:00)"),
        ("bank_complaint", "고객센터 ⟨PHX:rep⟩ 로 여러 번 전화했지만 연결되지 않았습니다."),
        ("sms", "[광고] 무료 수신거부 ⟨PHX:i080⟩"),
        ("sms", "[{C}] 상담 예약 확인. 문의 ⟨PHX:rep⟩"),
        ("hospital_intake", "병원 대표번호 ⟨PHX:rep⟩ / 응급실 ⟨PHX:paren⟩"),
        ("chat", "사무실 인터넷전화 ⟨PHX:i070⟩ 로 바뀌었어요"),
        ("llm_prompt", "Call me at ⟨PHX:intl⟩ or e-mail ⟨EMAIL⟩ — draft a reply."),
        ("email", "Please reach our Seoul office at ⟨PHX:intl⟩ (KST)."),
        (
            "markdown_table",
            "| 지점 | 전화 |\n|---|---|\n| 본사 | ⟨PHX:paren⟩ |\n"
            "| 콜센터 | ⟨PHX:rep⟩ |\n| 해외 | ⟨PHX:intl⟩ |",
        ),
        ("csv_export", "이름,연락처,비고\n{N},⟨PHX:safe⟩,안심번호\n{N},⟨PHX⟩,\n{N},⟨PHX⟩,"),
        ("call_transcript", "상담원: 회신 번호 ⟨PHX⟩ 맞으실까요?\n고객: 네."),
        ("call_transcript", "고객: 집 전화는 ⟨PHX:paren⟩이고 휴대폰은 ⟨PHX:intl⟩이에요."),
        ("web_form", "전화번호: ⟨PHX⟩\n팩스: ⟨PHX:paren⟩"),
    ],
    "driver": [
        ("ocr_scan", "자동차운전면허증\n{N}\n⟨DLR⟩\n1종 보통"),
        ("ocr_scan", "면 허 번 호 ⟨DLR⟩ 갱신기간 ⟨~date⟩"),
        ("call_transcript", "고객: 면허번호는 ⟨DLR⟩ 입니다. 예전 면허증이라 지역명이 적혀 있어요."),
        ("insurance_claim", "사고 운전자 {N}, 운전면허 ⟨DLR⟩, 차량 ⟨PLATE⟩"),
        ("web_form", "운전면허번호: ⟨DLR⟩\n발급일: ⟨~date⟩"),
        ("web_form", "운전면허번호: ⟨DL⟩\n적성검사: ⟨~date⟩"),
        ("hr_memo", "법인차량 운전자 등록: {N} (면허 ⟨DLR⟩), {N} (면허 ⟨DL⟩)"),
        ("llm_prompt", "driver's licence ⟨DLR⟩ — is this the old format?"),
        ("markdown_table", "| 운전자 | 면허번호 |\n|---|---|\n| {N} | ⟨DLR⟩ |\n| {N} | ⟨DL⟩ |"),
        ("public_service", "렌터카 대여 계약서 — 임차인 {N}, 면허번호 ⟨DLR⟩, 연락처 ⟨PHX⟩"),
    ],
    "passport": [
        ("chat", "{N} ⟨PASSN⟩ 으로 발권해 주세요"),
        ("chat", "⟨PASSN⟩ 이 번호로 체크인했어"),
        ("llm_prompt", "Fill the visa form: {N}, ⟨PASSN⟩, born ⟨~birthdate⟩"),
        (
            "markdown_table",
            "| 성명 | 번호 | 만료일 |\n|---|---|---|\n"
            "| {N} | ⟨PASSN⟩ | ⟨~date⟩ |\n| {N} | ⟨PASSN⟩ | ⟨~date⟩ |",
        ),
        ("csv_export", "traveler,doc,expiry\n{N},⟨PASSN⟩,⟨~date⟩\n{N},⟨PASSN⟩,⟨~date⟩"),
        ("email", "Guest list: {N} (⟨PASSN⟩), {N} (⟨PASSN⟩). Arrival ⟨~date⟩."),
        ("public_service", "여권번호 ⟨PASSO⟩ (구 여권), 신 여권번호 ⟨PASSN⟩"),
        ("web_form", "Passport No.: ⟨PASSO⟩\n영문 성명: {N}"),
        ("call_transcript", "고객: 여권번호 불러드릴게요. ⟨PASSO⟩ 입니다."),
        ("hr_memo", "해외출장자 {N} 여권 ⟨PASSO⟩, 출국 ⟨~date⟩"),
        ("server_log", "⟨~timestamp:0⟩ INFO booking pnr=⟨~reservation_no⟩ doc=⟨PASSN⟩"),
    ],
    "health_insurance": [
        ("hospital_intake", "건강보험증 번호: ⟨HIC⟩\n요양기관번호: ⟨~care_provider_no⟩"),
        ("hospital_intake", "수진자 {N} / 증번호 ⟨HIC⟩ / 요양기관기호 ⟨~care_provider_no⟩"),
        ("hospital_intake", "보험증 번호 ⟨HIC⟩ (세대주 {N}) 자격 확인 완료"),
        ("public_service", "어린이집 입소 서류: 아동 {N}, 건강보험증번호 ⟨HIC⟩"),
        ("public_service", "건강보험 번호는 ⟨HIC⟩입니다. 피부양자 등록 요청합니다."),
        (
            "public_service",
            "장기요양기관기호 ⟨~ltc_provider_no⟩ / 수급자 {N} / 건강보험증번호 ⟨HIC⟩",
        ),
        (
            "hr_memo",
            "4대보험 취득신고\n건강보험 사업장관리번호: ⟨~workplace_mgmt_no⟩\n"
            "근로자 {N} 건강보험증 번호 ⟨HIC⟩",
        ),
        (
            "hr_memo",
            "사업장관리번호 ⟨~workplace_mgmt_no⟩ (본사) /"
            " 사업장관리번호 ⟨~workplace_mgmt_no⟩ (지점)",
        ),
        ("chat", "건강보험증 번호 ⟨HIC⟩ 이거 유치원에 내면 돼?"),
        ("chat", "보험증 번호요? ⟨HIC⟩ 이에요"),
        ("email", "Health insurance card no. ⟨HIC⟩ — please attach it to the claim."),
        ("llm_prompt", "NHIS health insurance number ⟨HIC⟩ 로 피부양자 자격 조회하는 방법 알려줘"),
        (
            "markdown_table",
            "| 항목 | 값 |\n|---|---|\n| 건강보험증번호 | ⟨HIC⟩ |\n"
            "| 요양기관번호 | ⟨~care_provider_no⟩ |",
        ),
        (
            "insurance_claim",
            "실손보험 청구 — 건강보험증 번호 ⟨HIC⟩, 진료기관 요양기관기호 ⟨~care_provider_no⟩",
        ),
        (
            "json_payload",
            '{"patient": "{N}", "health_insurance_no": "⟨HIC⟩",'
            ' "provider_code": "⟨~care_provider_no⟩"}',
        ),
        (
            "csv_export",
            "성명,건강보험증번호,요양기관번호\n{N},⟨HIC⟩,⟨~care_provider_no⟩\n"
            "{N},⟨HIC⟩,⟨~care_provider_no⟩",
        ),
        ("web_form", "사업장 정보\n사업장관리번호: ⟨~workplace_mgmt_no⟩\n대표전화: ⟨PHX:paren⟩"),
        ("public_service", "장기요양기관 ⟨~ltc_provider_no⟩ 평가 결과 안내"),
    ],
    "account": [
        ("bank_complaint", "⟨BANKX⟩ 계좌 ⟨ACCTX⟩ 에서 ⟨~amount⟩이 이중 출금되었습니다."),
        ("bank_complaint", "환불 받을 계좌: ⟨BANKX⟩ ⟨ACCTX⟩ (예금주 {N})"),
        ("chat", "⟨BANKX⟩ ⟨ACCTX⟩ 로 보내줘"),
        ("chat", "계좌번호 ⟨ACCTX⟩ ⟨BANKX⟩ 이야"),
        ("chat", "⟨ACCTX⟩ ⟨BANKX⟩ {N} 으로 입금 부탁"),
        ("email", "Please remit to ⟨BANKX:en⟩, account no. ⟨ACCTX⟩, holder {C}."),
        ("hr_memo", "급여계좌 변경: ⟨BANKX⟩ ⟨ACCTX⟩"),
        ("web_form", "환불계좌\n은행: ⟨BANKX⟩\n계좌번호: ⟨ACCTX⟩\n예금주: {N}"),
        (
            "markdown_table",
            "| 거래처 | 은행 | 계좌번호 |\n|---|---|---|\n"
            "| {C} | ⟨BANKX⟩ | ⟨ACCTX⟩ |\n| {C} | ⟨BANKX⟩ | ⟨ACCTX⟩ |",
        ),
        ("csv_export", "예금주,은행,계좌\n{N},⟨BANKX⟩,⟨ACCTX⟩\n{N},⟨BANKX⟩,⟨ACCTX⟩"),
        ("sms", "[Web발신] 입금계좌 ⟨BANKX⟩ ⟨ACCTX⟩ {C}"),
        ("llm_prompt", "이 계좌 ⟨ACCTX⟩ (⟨BANKX⟩) 로 이체 요청 메일 써줘"),
        ("public_service", "보조금 지급 계좌: ⟨BANKX⟩ ⟨ACCTX⟩ / 신청인 {N}"),
    ],
    # the same digit groups with nothing about a bank or an account near them
    "account_neg": [
        ("chat", "회원번호 ⟨~account_layout_no_context⟩ 로 적립해 주세요"),
        ("web_form", "주문번호: ⟨~order_no⟩\n관리번호: ⟨~account_layout_no_context⟩"),
        ("call_transcript", "상담원: 접수번호 ⟨~account_layout_no_context⟩ 로 조회됩니다."),
        ("server_log", "⟨~timestamp:1⟩ INFO ticket=⟨~account_layout_no_context⟩ status=closed"),
        ("product_catalog", "부품번호 ⟨~account_layout_no_context⟩ 재입고 예정 ⟨~date⟩"),
        ("public_service", "민원 처리번호 ⟨~account_layout_no_context⟩ (처리기한 ⟨~date⟩)"),
        (
            "csv_export",
            "문서,번호\n계약서,⟨~account_layout_no_context⟩\n견적서,⟨~account_layout_no_context⟩",
        ),
    ],
    "ean": [
        ("product_catalog", "상품명: 유기농 현미 5kg\n바코드: ⟨~ean13_kr⟩\n재고: ⟨~quantity⟩개"),
        ("product_catalog", "상품코드 ⟨~ean13_kr⟩ 재고 부족 알림"),
        ("product_catalog", "EAN ⟨~ean13_kr⟩ / SKU ⟨~part_code⟩ / 단가 ⟨~amount⟩"),
        ("csv_export", "상품명,바코드,재고\n생수 2L,⟨~ean13_kr⟩,120\n라면 5입,⟨~ean13_kr⟩,48"),
        (
            "markdown_table",
            "| 상품 | EAN | 재고 |\n|---|---|---|\n"
            "| 김 | ⟨~ean13_kr⟩ | 30 |\n| 두유 | ⟨~ean13_kr⟩ | 12 |",
        ),
        ("chat", "이 상품 바코드 ⟨~ean13_kr⟩ 로 검색하면 안 나와요"),
        ("llm_prompt", "GTIN ⟨~ean13_kr⟩ 상품 정보 찾아줘"),
        ("server_log", "⟨~timestamp:0⟩ WARN inventory sku=⟨~ean13_kr⟩ stock=0"),
        ("json_payload", '{"product": "두부", "barcode": "⟨~ean13_kr⟩", "stock": 40}'),
    ],
    "id_negatives": [
        ("web_form", "관리번호: ⟨~rrn_future_birth⟩\n접수일: ⟨~date⟩"),
        ("chat", "계약번호 ⟨~rrn_future_birth⟩ 로 조회해 주세요"),
        ("public_service", "주민등록번호 입력 오류(생년월일이 미래): ⟨~rrn_future_birth⟩"),
        (
            "server_log",
            "⟨~timestamp:1⟩ WARN validation failed rrn=⟨~rrn_future_birth⟩"
            " reason=future_birth_date",
        ),
        (
            "server_log",
            "⟨~timestamp:1⟩ WARN validation failed rrn=⟨~rrn_impossible_date⟩ reason=invalid_date",
        ),
        ("web_form", "문서번호: ⟨~rrn_impossible_date⟩"),
        ("hr_memo", "일련번호 ⟨~rrn_impossible_date⟩ 서류 반려 (생년월일 오류)"),
        ("csv_export", "no,code\n1,⟨~rrn_impossible_date⟩\n2,⟨~rrn_future_birth⟩"),
        (
            "markdown_table",
            "| 구분 | 번호 |\n|---|---|\n| 접수 | ⟨~rrn_future_birth⟩ |\n"
            "| 반려 | ⟨~rrn_impossible_date⟩ |",
        ),
        ("llm_prompt", "이 값 ⟨~rrn_impossible_date⟩ 가 유효한 날짜인지 확인해줘"),
        ("chat", "예약번호 ⟨~passport_like_no_context⟩ 로 조회돼요"),
    ],
}
EXTRA_WEIGHTS = {
    "rrn_new": 17,
    "frn_new": 9,
    "phone_new": 15,
    "driver": 8,
    "passport": 8,
    "health_insurance": 14,
    "account": 14,
    "account_neg": 6,
    "ean": 7,
    "id_negatives": 8,
}

# themes never put in one record: a look-alike must not sit next to the words that would make
# it the real thing
EXTRA_APART = {
    "account": {"account_neg"},
    "account_neg": {"account"},
    "passport": {"id_negatives"},
    "id_negatives": {"passport"},
}


def _extra_record(rng: random.Random) -> tuple[_State, str]:
    s = _State(rng)
    themes = list(EXTRA_WEIGHTS)
    theme = rng.choices(themes, weights=[EXTRA_WEIGHTS[t] for t in themes], k=1)[0]
    picks = rng.sample(EXTRA[theme], rng.choice([1, 1, 2]))
    used = {theme}
    if s_chance(rng, 0.45):
        other = rng.choice(
            [t for t in themes if t != theme and not EXTRA_APART.get(t, set()) & used]
        )
        used.add(other)
        picks.insert(rng.randrange(len(picks) + 1), rng.choice(EXTRA[other]))
    if s_chance(rng, 0.3):
        generic = [g for g in GENERIC_NEG if "account_like" not in g or "account" not in used]
        picks.insert(rng.randrange(len(picks) + 1), ("", rng.choice(generic)))
    # a table or CSV block goes first and alone, so that its header is the record's first line
    tables = [x for x in picks if x[0] in ("csv_export", "markdown_table")]
    if tables:
        picks = [tables[0], *(x for x in picks if x[0] not in ("csv_export", "markdown_table"))]
    kind = next(k for k, _ in picks if k)
    sep = "\n" if any("\n" in t for _, t in picks) else rng.choice([" ", "\n"])
    for i, (_, template) in enumerate(picks):
        if i:
            s.put(sep)
        _fill(s, template)
    tail = rng.choice(FILLER)
    if tail and kind not in ("server_log", "web_form", "ocr_scan", "csv_export", "markdown_table"):
        s.put(" " + tail)
    return s, kind


def build_corpus(
    seed: int = SEED, n: int = N_RECORDS, n_extra: int = N_EXTRA
) -> list[dict[str, Any]]:
    """The records, deterministically from `seed`: `n` first, then `n_extra` of the additions."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    weights = [KINDS[k][1] for k in kinds]
    records: list[dict[str, Any]] = []
    for i in range(n):
        kind = rng.choices(kinds, weights=weights, k=1)[0]
        st = _record(rng, kind)
        records.append(
            {
                "id": f"ind-{i:05d}",
                "text": "".join(st.text),
                "entities": st.entities,
                "hard_negatives": st.negatives,
                "source_kind": kind,
            }
        )
    extra = random.Random(seed + EXTRA_SEED_OFFSET)
    for i in range(n, n + n_extra):
        st, kind = _extra_record(extra)
        records.append(
            {
                "id": f"ind-{i:05d}",
                "text": "".join(st.text),
                "entities": st.entities,
                "hard_negatives": st.negatives,
                "source_kind": kind,
            }
        )
    return records


def render(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    types: Counter[str] = Counter(e["type"] for r in records for e in r["entities"])
    kinds: Counter[str] = Counter(n["kind"] for r in records for n in r["hard_negatives"])
    return {
        "records": len(records),
        "entities": sum(types.values()),
        "hard_negatives": sum(kinds.values()),
        "types": dict(sorted(types.items())),
        "negative_kinds": dict(sorted(kinds.items())),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if corpus.jsonl is stale")
    args = ap.parse_args(argv)
    records = build_corpus()
    text = render(records)
    if args.check:
        same = CORPUS.exists() and CORPUS.read_text(encoding="utf-8") == text
        print("corpus.jsonl is up to date" if same else "corpus.jsonl is stale")
        return 0 if same else 1
    CORPUS.write_text(text, encoding="utf-8")
    print(json.dumps(stats(records), ensure_ascii=False, indent=1))
    print(f"{len(text.encode()):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
