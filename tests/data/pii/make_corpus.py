"""Generate the labelled PII evaluation corpus (deterministic: same seed, same file).

    python tests/data/pii/make_corpus.py [--seed 20260122] [--n 1500] [--n-14 400]
                                         [-o corpus.jsonl]

Each line: {"id", "genre", "text", "entities": [{"type", "start", "end"}], "negatives":
[{"kind", "start", "end"}]}. Entities are the gold spans; negatives mark the hard negatives
(dates, order/invoice/tracking numbers, ISBNs, versions, part codes, timestamps, phone-like
numbers with impossible prefixes…) that a detector must not report. Genres: prompts, memos,
support transcripts, logs, JSON. Identifiers are synthetic: valid by checksum, issued to no one.

The first `--n` records are those of issue 5 (the same texts; one label corrected, see `build`).
`--n-14` more follow, from their own seeded generator, with the forms issue 14 added
(docs/pii.md): RRNs/FRNs issued since 2020-10 (any checksum, no context word), EAN-13 barcodes
and future birth dates as hard negatives, the whole phone numbering plan (050X, parenthesised
area codes, 080/060/070, +82), driver licences with a region name, current-form passports
without context, health-insurance card numbers (KR_HEALTH_INSURANCE) with their look-alikes,
and bank accounts in more grouped layouts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sumun.policy.pii import validators as v

HERE = Path(__file__).resolve().parent
WIDE = str.maketrans("0123456789-", "０１２３４５６７８９－")

NAMES = ["김민준", "이서연", "박지호", "최유진", "정하늘", "강도윤", "윤서아", "한지민", "오세훈"]
BANKS = [
    "국민은행",
    "신한은행",
    "우리은행",
    "하나은행",
    "농협",
    "카카오뱅크",
    "토스뱅크",
    "IBK기업은행",
]
SIDO_SGG = [
    ("서울특별시", ["강남구", "서초구", "마포구", "종로구", "송파구"]),
    ("부산광역시", ["해운대구", "부산진구", "동래구"]),
    ("경기도", ["성남시 분당구", "수원시 영통구", "고양시 일산동구", "용인시 수지구"]),
    ("인천광역시", ["연수구", "남동구"]),
    ("대전광역시", ["유성구", "서구"]),
    ("경상남도", ["창원시 의창구", "김해시"]),
    ("제주특별자치도", ["제주시", "서귀포시"]),
]
ROADS = [
    "테헤란로",
    "판교역로",
    "세종대로",
    "올림픽로",
    "월드컵북로",
    "해운대로",
    "중앙대로",
    "대학로",
]
ROADS_GIL = ["분당로53번길", "봉은사로 86길", "도산대로 45길", "중앙로 12번길"]
PLATE_SYL = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주하허호"


class Gen:
    """Synthetic identifiers, each returned as (type, surface string)."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def _form(self, head: str, tail: str, *, wide: float = 0.1, nodash: float = 0.2) -> str:
        x = self.r.random()
        s = head + tail if x < nodash else f"{head}-{tail}"
        return s.translate(WIDE) if self.r.random() < wide else s

    def _birth(self, foreign: bool) -> tuple[str, str]:
        day = dt.date(1940, 1, 1) + dt.timedelta(days=self.r.randrange(365 * 84))
        base = 5 if foreign else 1
        g = base + (2 if day.year >= 2000 else 0) + self.r.randrange(2)
        return day.strftime("%y%m%d"), str(g)

    def rrn(self, checksum: bool = True) -> tuple[str, str]:
        ymd, g = self._birth(False)
        body = ymd + g + self.digits(5)
        check = v.rrn_check_digit(body)
        if not checksum:
            check = (check + self.r.randrange(1, 10)) % 10
        return "KR_RRN", self._form(body[:6], body[6:] + str(check))

    def frn(self) -> tuple[str, str]:
        ymd, g = self._birth(True)
        body = ymd + g + self.digits(5)
        return "KR_FRN", self._form(body[:6], body[6:] + str(v.frn_check_digit(body)))

    def crn(self) -> tuple[str, str]:
        body = self.r.choice(["1101", "1301", "1345", "1801", "2301"]) + self.r.choice(
            ["11", "21", "71", "81"]
        )
        body += self.r.choice("0") + self.digits(5)
        return "KR_CRN", self._form(body[:6], body[6:] + str(v.crn_check_digit(body)), nodash=0.1)

    def brn(self) -> tuple[str, str]:
        body = str(self.r.randrange(101, 999)) + self.r.choice(["81", "86", "87", "88", "01", "05"])
        body += self.digits(4)
        full = body + str(v.brn_check_digit(body))
        s = full if self.r.random() < 0.15 else f"{full[:3]}-{full[3:5]}-{full[5:]}"
        return "KR_BRN", s.translate(WIDE) if self.r.random() < 0.05 else s

    def phone(self) -> tuple[str, str]:
        r = self.r.random()
        mid, last = self.digits(4), self.digits(4)
        if r < 0.45:
            sep = self.r.choice(["-", "-", " ", "."])
            s = f"010{sep}{mid}{sep}{last}"
        elif r < 0.6:
            s = f"010{mid}{last}"
        elif r < 0.7:
            s = f"+82 10-{mid}-{last}"
        elif r < 0.85:
            area = self.r.choice(["02", "031", "051", "062", "070"])
            exch = self.r.randrange(200, 999) if area == "02" else self.r.randrange(2000, 9999)
            s = f"{area}-{exch}-{last}"
        else:
            s = f"{self.r.choice(['1588', '1577', '1644', '1899'])}-{last}"
        return "PHONE_KR", s.translate(WIDE) if self.r.random() < 0.05 else s

    def card(self) -> tuple[str, str]:
        kind = self.r.random()
        if kind < 0.15:
            body = self.r.choice(["34", "37"]) + self.digits(12)
            full = body + str(v.luhn_check_digit(body))
            return "CREDIT_CARD", f"{full[:4]}-{full[4:10]}-{full[10:]}"
        body = self.r.choice(["4", "4", "51", "52", "53", "55", "2221", "62"])
        body += self.digits(15 - len(body))
        full = body + str(v.luhn_check_digit(body))
        sep = self.r.choice(["-", " ", ""])
        s = sep.join(full[i : i + 4] for i in range(0, 16, 4))
        return "CREDIT_CARD", s.translate(WIDE) if self.r.random() < 0.05 else s

    def account(self) -> tuple[str, str]:
        layout = self.r.choice([(3, 3, 7), (6, 2, 6), (3, 3, 6), (3, 6, 5), (4, 3, 6), (11,)])
        parts = [self.digits(n) for n in layout]
        if parts[0][0] == "0":
            parts[0] = "1" + parts[0][1:]
        return "BANK_ACCOUNT_KR", "-".join(parts)

    def passport(self) -> tuple[str, str]:
        letter = self.r.choice("MSRGOD")
        if self.r.random() < 0.5:
            return "KR_PASSPORT", letter + self.digits(8)
        return "KR_PASSPORT", f"{letter}{self.digits(3)}{self.r.choice('ABCDEFGH')}{self.digits(4)}"

    def driver(self) -> tuple[str, str]:
        rr = self.r.choice([*range(11, 27), 28])
        return "KR_DRIVER_LICENSE", f"{rr}-{self.digits(2)}-{self.digits(6)}-{self.digits(2)}"

    def email(self) -> tuple[str, str]:
        user = self.r.choice(["hong", "minjun.kim", "seoyeon_lee", "jiho99", "support.team"])
        dom = self.r.choice(["example.co.kr", "naver.com", "sumun.example", "corp.example.kr"])
        return "EMAIL", f"{user}{self.r.randrange(100)}@{dom}"

    def ip(self) -> tuple[str, str]:
        if self.r.random() < 0.2:
            return (
                "IP_ADDRESS",
                f"2001:db8:{self.r.randrange(1, 0xFFFF):x}::{self.r.randrange(1, 99)}",
            )
        a = self.r.choice([10, 172, 192, 203, 211, 121])
        return (
            "IP_ADDRESS",
            f"{a}.{self.r.randrange(256)}.{self.r.randrange(256)}.{self.r.randrange(1, 255)}",
        )

    def address(self) -> tuple[str, str]:
        sido, sggs = self.r.choice(SIDO_SGG)
        sgg = self.r.choice(sggs)
        road = self.r.choice(ROADS + ROADS_GIL)
        num = str(self.r.randrange(1, 400))
        if self.r.random() < 0.3:
            num += f"-{self.r.randrange(1, 30)}"
        detail = self.r.choice(
            [
                "",
                "",
                f", {self.r.randrange(2, 20)}층",
                f" {self.r.randrange(101, 120)}동 {self.r.randrange(101, 1505)}호",
            ]
        )
        head = f"{sido} {sgg}" if self.r.random() < 0.8 else sgg
        return "KR_ADDRESS", f"{head} {road} {num}{detail}"

    def plate(self) -> tuple[str, str]:
        head = str(
            self.r.randrange(10, 100) if self.r.random() < 0.5 else self.r.randrange(100, 700)
        )
        sep = " " if self.r.random() < 0.2 else ""
        return "KR_VEHICLE_PLATE", f"{head}{self.r.choice(PLATE_SYL)}{sep}{self.digits(4)}"

    def postal(self) -> tuple[str, str]:
        return "KR_POSTAL_CODE", f"{self.r.randrange(1, 64):02d}{self.digits(3)}"


# (context phrase, generator) — what people write right before each identifier
POSITIVES: list[tuple[list[str], str]] = [
    (["주민번호는", "주민등록번호: ", "RRN ", "주민번호 ", "생년월일 및 주민번호 "], "rrn"),
    (["외국인등록번호 ", "외국인 등록번호: ", "ARC no. "], "frn"),
    (["법인등록번호 ", "법인번호: "], "crn"),
    (["사업자등록번호 ", "사업자번호: ", "사업자 ", "거래처 사업자 "], "brn"),
    (["연락처 ", "휴대폰 번호는 ", "전화: ", "tel ", "제 번호는 ", "대표번호 "], "phone"),
    (["카드번호 ", "결제 카드 ", "card: ", "신용카드 "], "card"),
    (["passport ", "여권번호 ", "여권 번호는 "], "passport"),
    (["운전면허번호 ", "면허번호: ", "driver license "], "driver"),
    (["이메일 ", "메일 주소는 ", "email: ", "회신: "], "email"),
    (["접속 IP ", "client ip ", "서버 주소 ", "src="], "ip"),
    (["주소: ", "배송지는 ", "거주지 ", "사무실 위치 "], "address"),
    (["차량번호 ", "차 번호 ", "주차 차량 "], "plate"),
    (["우편번호 ", "(우) ", "zip "], "postal"),
]


def account_with_context(g: Gen) -> tuple[str, str, str]:
    kind, value = g.account()
    bank = g.r.choice(BANKS)
    prefix = g.r.choice([f"{bank} ", f"{bank} 계좌 ", f"환불계좌 {bank} ", "입금 계좌: "])
    return prefix, kind, value


NEGATIVES: list[Callable[[Gen], tuple[str, str, str]]] = [
    lambda g: (
        "date",
        "작성일 ",
        f"20{g.r.randrange(10, 27)}-{g.r.randrange(1, 13):02d}-{g.r.randrange(1, 29):02d}",
    ),
    lambda g: (
        "date",
        "기준일 ",
        f"20{g.r.randrange(10, 27)}{g.r.randrange(1, 13):02d}{g.r.randrange(1, 29):02d}",
    ),
    lambda g: (
        "date",
        "",
        f"{g.r.randrange(2019, 2027)}.{g.r.randrange(1, 13):02d}.{g.r.randrange(1, 29):02d}",
    ),
    lambda g: ("order", "주문번호 ", g.digits(g.r.choice([10, 12, 13, 14, 16]))),
    lambda g: ("order", "order #", g.digits(10)),
    lambda g: ("invoice", "송장번호 ", g.digits(12)),
    lambda g: ("invoice", "invoice ", f"{g.digits(4)}-{g.digits(4)}-{g.digits(4)}-{g.digits(4)}"),
    lambda g: ("tracking", "운송장 ", f"{g.digits(6)}-{g.digits(7)}"),
    lambda g: ("tracking", "tracking no. ", g.digits(13)),
    lambda g: ("isbn", "ISBN ", f"978-89-{g.digits(4)}-{g.digits(3)}-{g.digits(1)}"),
    lambda g: ("isbn", "ISBN ", isbn13(g)),
    lambda g: (
        "version",
        "버전 ",
        f"{g.r.randrange(1, 20)}.{g.r.randrange(30)}.{g.r.randrange(300)}",
    ),
    lambda g: (
        "version",
        "",
        f"v{g.r.randrange(1, 9)}.{g.r.randrange(10)}.{g.r.randrange(10)}.{g.r.randrange(10)}",
    ),
    lambda g: (
        "version",
        "Windows ",
        f"10.0.{g.r.randrange(10000, 26000)}.{g.r.randrange(1000, 5000)}",
    ),
    lambda g: ("part", "부품 ", f"AB-{g.digits(4)}-{g.digits(4)}"),
    lambda g: ("part", "SKU ", f"SKU-{g.digits(6)}-{g.digits(7)}"),
    lambda g: ("part", "모델 ", f"SM-{g.digits(3)}{g.r.choice('NBF')}"),
    lambda g: (
        "timestamp",
        "",
        f"20{g.r.randrange(20, 27)}-0{g.r.randrange(1, 10)}-1{g.r.randrange(10)} "
        f"{g.r.randrange(24):02d}:{g.r.randrange(60):02d}:{g.r.randrange(60):02d}",
    ),
    lambda g: ("timestamp", "ts=", str(g.r.randrange(1_600_000_000_000, 1_800_000_000_000))),
    lambda g: ("timestamp", "epoch ", str(g.r.randrange(1_600_000_000, 1_800_000_000))),
    lambda g: (
        "timestamp",
        "",
        f"20{g.r.randrange(20, 27)}{g.r.randrange(1, 13):02d}{g.r.randrange(1, 29):02d}"
        f"{g.digits(6)}",
    ),
    lambda g: ("bad_phone", "", f"0{g.r.choice('2589')}0-{g.digits(4)}-{g.digits(4)}"),
    lambda g: ("bad_phone", "", f"{g.r.choice(['013', '014', '015'])}-{g.digits(4)}-{g.digits(4)}"),
    lambda g: (
        "bad_phone",
        "",
        f"{g.r.choice('23456789')}{g.digits(2)}-{g.digits(4)}-{g.digits(4)}",
    ),
    lambda g: ("bad_rrn", "", f"{g.digits(2)}{g.r.randrange(13, 99)}{g.digits(2)}-{g.digits(7)}"),
    lambda g: ("amount", "금액 ", f"{g.r.randrange(1, 999)},{g.digits(3)},{g.digits(3)}원"),
    lambda g: ("count", "", f"{g.r.randrange(2, 99)}개 {g.digits(4)}"),
    lambda g: ("prose_road", "", f"서울 본사로 {g.r.randrange(1, 12)}시까지"),
    lambda g: ("prose_road", "", f"연구 방법으로 {g.r.randrange(2, 9)}가지"),
    lambda g: (
        "uuid",
        "request_id=",
        f"{g.r.getrandbits(32):08x}-{g.r.getrandbits(16):04x}-4{g.r.getrandbits(12):03x}-a{g.r.getrandbits(12):03x}-{g.r.getrandbits(48):012x}",
    ),
    lambda g: ("approval", "승인번호 ", g.digits(8)),
    lambda g: ("room", "", f"회의실 {g.r.randrange(1, 20)}층 {g.r.randrange(100, 2000)}호"),
]


def isbn13(g: Gen) -> str:
    body = "97889" + g.digits(7)
    s = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - s % 10) % 10)


FRAMES = {
    "prompt": ("다음 고객 정보를 정리해줘. {x} 그리고 특이사항도 요약해줘.", "요약 부탁해요: {x}"),
    "memo": ("[메모] {x} — 내일 다시 확인.", "회의록: 담당자 {name}. {x}"),
    "transcript": (
        "상담원: 확인 도와드릴게요.\n고객: 네, {x}\n상담원: 감사합니다.",
        "고객: {x} 맞아요",
    ),
    "log": (
        "2025-11-0{d} 10:2{d}:4{d} INFO gateway req=1{d}3 {x}",
        "[WARN] 2025-11-1{d}T03:0{d}:00Z {x}",
    ),
    "json": ('{{"name": "{name}", "note": "{x}"}}', '{{"user": {{"memo": "{x}"}}, "v": 2}}'),
}


def build(rng: random.Random, idx: int) -> dict[str, object]:
    g = Gen(rng)
    genre = rng.choice(list(FRAMES))
    pieces: list[tuple[str, str | None, str]] = []  # (text, label kind, label name)
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.45:
            kind, prefix, value = rng.choice(NEGATIVES)(g)
            pieces.append((prefix, None, ""))
            if kind == "bad_phone" and value[:4] == "050-" and "2" <= value[4] <= "8":
                # issue 14: `050-8140-4796` is 0508-140-4796, a personal number (050X with
                # X 2-8, 11 or 12 digits: docs/pii.md) — the issue-5 generator thought it
                # impossible; same text, corrected label
                pieces.append((value, "ent", "PHONE_KR"))
            else:
                pieces.append((value, "neg", kind))
        elif rng.random() < 0.1:
            prefix, kind, value = account_with_context(g)
            pieces.append((prefix, None, ""))
            pieces.append((value, "ent", kind))
        else:
            phrases, gen_name = rng.choice(POSITIVES)
            if gen_name == "rrn" and rng.random() < 0.2:
                kind, value = g.rrn(checksum=False)  # post-2020-10 numbers: context is present
            else:
                kind, value = getattr(g, gen_name)()
            pieces.append((rng.choice(phrases), None, ""))
            pieces.append((value, "ent", kind))
        pieces.append(
            (rng.choice(["입니다. ", " 확인 바랍니다. ", ", ", " 이에요. ", " / "]), None, "")
        )
    return _assemble(rng, idx, genre, pieces)


def _assemble(
    rng: random.Random, idx: int, genre: str, pieces: list[tuple[str, str | None, str]]
) -> dict[str, object]:
    body = ""
    entities: list[dict[str, Any]] = []
    negatives: list[dict[str, Any]] = []
    for text, label, name in pieces:
        if label == "ent":
            entities.append({"type": name, "start": len(body), "end": len(body) + len(text)})
        elif label == "neg":
            negatives.append({"kind": name, "start": len(body), "end": len(body) + len(text)})
        body += text
    frame = rng.choice(FRAMES[genre])
    marker = "\x00"
    filled = frame.format(x=marker, name=rng.choice(NAMES), d=rng.randrange(10))
    shift = filled.index(marker)
    text = filled.replace(marker, body)
    for span in (*entities, *negatives):
        span["start"] += shift
        span["end"] += shift
    return {"id": f"c{idx:05d}", "genre": genre, "text": text, "entities": entities,
            "negatives": negatives}  # fmt: skip


# --- issue 14 -----------------------------------------------------------------------------------
LICENCE_REGIONS = (
    "서울 부산 경기 강원 충북 충남 전북 전남 경북 경남 제주 대구 인천 광주 대전 울산".split()  # noqa: SIM905
)


def ean13(body: str) -> str:
    s = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - s % 10) % 10)


class Gen14(Gen):
    """The forms issue 14 added."""

    def rrn_new(self) -> tuple[str, str]:
        """Issued since 2020-10: random digits after the gender digit, checksum or not."""
        foreign = self.r.random() < 0.3
        ymd, g = self._birth(foreign)
        body = ymd + g + self.digits(6)
        if not foreign and ymd.startswith("88") and ean13(body[:12]) == body:
            body = body[:12] + str((int(body[12]) + 1) % 10)  # not a barcode by accident
        form = body if self.r.random() < 0.4 else f"{body[:6]}-{body[6:]}"
        return ("KR_FRN" if foreign else "KR_RRN"), form

    def phone_plan(self) -> tuple[str, str]:
        r = self.r.random()
        last = self.digits(4)
        if r < 0.2:
            s = f"050{self.r.randrange(2, 9)}-{self.r.randrange(1000, 9999)}-{last}"
        elif r < 0.4:
            area = self.r.choice(["02", "031", "032", "051", "053", "062", "064"])
            exch = self.r.randrange(200, 999) if area == "02" else self.r.randrange(200, 9999)
            s = f"({area}){self.r.choice(['', ' '])}{exch}-{last}"
        elif r < 0.5:
            s = f"080-{self.r.randrange(200, 999)}-{last}"
        elif r < 0.6:
            s = f"070-{self.r.randrange(2000, 9999)}-{last}"
        elif r < 0.7:
            s = f"060-{self.r.randrange(200, 999)}-{last}"
        elif r < 0.85:
            area = self.r.choice(["2", "31", "51", "10"])
            mid = self.r.randrange(2000, 9999)
            s = f"+82{self.r.choice(['-', ' '])}{area}-{mid}-{last}"
        else:
            s = f"{self.r.choice(['1544', '1566', '1600', '1644', '1661', '1800', '1855'])}-{last}"
        return "PHONE_KR", s

    def driver_region(self) -> tuple[str, str]:
        region = self.r.choice(LICENCE_REGIONS)
        sep = " " if self.r.random() < 0.7 else ""
        return (
            "KR_DRIVER_LICENSE",
            f"{region}{sep}{self.digits(2)}-{self.digits(6)}-{self.digits(2)}",
        )

    def passport_new(self) -> tuple[str, str]:
        letter = self.r.choice("MSRGOD")
        return (
            "KR_PASSPORT",
            f"{letter}{self.digits(3)}{self.r.choice('ABCDEFGHJK')}{self.digits(4)}",
        )

    def health(self) -> tuple[str, str]:
        return "KR_HEALTH_INSURANCE", self.r.choice("1234567") + self.digits(10)

    def account_grouped(self) -> tuple[str, str]:
        layout = self.r.choice(
            [
                (2, 3, 6, 3),
                (3, 4, 4, 2),
                (3, 4, 6, 1),
                (3, 6, 2, 3),
                (4, 2, 7),
                (4, 4, 4),
                (3, 2, 6),
            ]
        )
        parts = [self.digits(n) for n in layout]
        parts[0] = str(self.r.randrange(1, 10)) + parts[0][1:]
        return "BANK_ACCOUNT_KR", "-".join(parts)


POSITIVES_14: list[tuple[list[str], str]] = [
    (["", "고객 ", "본인 ", "가입자 ", "신청인 "], "rrn_new"),
    (["", "연락처 ", "문의 ", "대표 ", "안심번호 ", "회신 "], "phone_plan"),
    (["운전면허 ", "면허번호: ", "면허 ", ""], "driver_region"),
    (["", "번호 ", "발급 번호 ", "passport "], "passport_new"),
    (
        [
            "건강보험증 번호 ",
            "건강보험증번호: ",
            "증번호 ",
            "보험증 번호는 ",
            "health insurance card no. ",
            "건강보험 번호 ",
        ],
        "health",
    ),
]


def _yy_future(g: Gen) -> str:
    return f"{g.r.randrange(40, 99)}{g.r.randrange(1, 13):02d}{g.r.randrange(1, 29):02d}"


NEGATIVES_14: list[Callable[[Gen], tuple[str, str, str]]] = [
    lambda g: ("barcode", "바코드 ", ean13("880" + g.digits(9))),
    lambda g: ("barcode", "상품 ", ean13("880" + g.digits(9))),
    lambda g: ("barcode", "", ean13("8801" + g.digits(8))),
    lambda g: ("barcode", "재고 EAN ", ean13(g.r.choice(["690", "490", "450"]) + g.digits(9))),
    lambda g: ("future_rrn", "값 ", f"{_yy_future(g)}-{g.r.choice('3478')}{g.digits(6)}"),
    lambda g: ("future_rrn", "", f"{_yy_future(g)}{g.r.choice('34')}{g.digits(6)}"),
    lambda g: ("receipt", "영수증번호 ", g.digits(11)),
    lambda g: ("workplace", "사업장관리번호 ", g.digits(11)),
    lambda g: ("provider", "요양기관번호 ", g.digits(8)),
    lambda g: ("bad_phone", "", f"0509-{g.digits(4)}-{g.digits(4)}"),
    lambda g: ("bad_phone", "", f"080-{g.digits(4)}-{g.digits(4)}"),
    lambda g: ("bad_phone", "", f"(09) {g.digits(3)}-{g.digits(4)}"),
    lambda g: ("footnote", "각주 ", f"(1) {g.digits(3)}-{g.digits(4)}"),
    lambda g: ("part", "모델 ", f"M{g.digits(3)}A{g.digits(4)}"),
    lambda g: ("bad_licence", "", f"세종 {g.digits(2)}-{g.digits(6)}-{g.digits(2)}"),
]


def build_14(rng: random.Random, idx: int) -> dict[str, object]:
    g = Gen14(rng)
    genre = rng.choice(list(FRAMES))
    pieces: list[tuple[str, str | None, str]] = []
    for _ in range(rng.randint(1, 3)):
        x = rng.random()
        if x < 0.35:
            kind, prefix, value = rng.choice(NEGATIVES_14)(g)
            pieces.append((prefix, None, ""))
            pieces.append((value, "neg", kind))
        elif x < 0.5:
            kind, value = g.account_grouped()
            bank = rng.choice(BANKS)
            pieces.append((rng.choice([f"{bank} ", f"{bank} 계좌 ", "입금 계좌: "]), None, ""))
            pieces.append((value, "ent", kind))
        else:
            phrases, gen_name = rng.choice(POSITIVES_14)
            kind, value = getattr(g, gen_name)()
            pieces.append((rng.choice(phrases), None, ""))
            pieces.append((value, "ent", kind))
        pieces.append(
            (rng.choice(["입니다. ", " 확인 바랍니다. ", ", ", " 이에요. ", " / "]), None, "")
        )
    return _assemble(rng, idx, genre, pieces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20260122)
    ap.add_argument("-n", "--n", type=int, default=1500)
    ap.add_argument("--n-14", type=int, default=400, help="records with the issue-14 forms")
    ap.add_argument("-o", "--out", type=Path, default=HERE / "corpus.jsonl")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rng14 = random.Random(args.seed + 14)
    with args.out.open("w", encoding="utf-8") as fh:
        for i in range(args.n):
            fh.write(json.dumps(build(rng, i), ensure_ascii=False) + "\n")
        for i in range(args.n, args.n + args.n_14):
            fh.write(json.dumps(build_14(rng14, i), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
