"""The independent PII corpus is well-formed, labelled by the rules, and reproducible.

These tests check the *data*, not the detector: the detector's accuracy on this corpus is
measured by `bench/eval_pii.py`. Each label is re-checked here with validators written
separately from the generator (checksums, dates, formats), so a generator bug shows up as a
failing label rather than as a phantom detector error.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sumun.policy.pii import ENTITY_TYPES
from tests.data.pii_independent import make_corpus

CORPUS = Path(make_corpus.__file__).with_name("corpus.jsonl")
KEYS = ["id", "text", "entities", "hard_negatives", "source_kind"]


@pytest.fixture(scope="module")
def raw() -> str:
    return CORPUS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def records(raw: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.splitlines()]


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", _ascii(s))


# The corpus's fixed "today" (issue 14): a birth date after it is in the future, not an RRN.
TODAY = date(2026, 12, 1)


def _birth(yymmdd: str, g: int) -> date | None:
    century = {1: 1900, 2: 1900, 5: 1900, 6: 1900, 3: 2000, 4: 2000, 7: 2000, 8: 2000}[g]
    try:
        return date(century + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def _valid_date(yymmdd: str, g: int) -> bool:
    return _birth(yymmdd, g) is not None


def _ean13_ok(num: str) -> bool:
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(num[:12]))
    return len(num) == 13 and (10 - s % 10) % 10 == int(num[12])


def _frn_ok(num: str) -> bool:
    d = [int(c) for c in num]
    s = sum(x * w for x, w in zip(d[:12], (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True))
    return (13 - s % 11) % 10 == d[12]


def _luhn(num: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(num)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _brn_ok(num: str) -> bool:
    d = [int(c) for c in num]
    s = sum(x * w for x, w in zip(d[:8], (1, 3, 7, 1, 3, 7, 1, 3), strict=True))
    p = d[8] * 5
    return (10 - (s + p + p // 10) % 10) % 10 == d[9]


def _crn_ok(num: str) -> bool:
    d = [int(c) for c in num]
    s = sum(x * (2 if i % 2 else 1) for i, x in enumerate(d[:12]))
    return (10 - s % 10) % 10 == d[12]


def _rrn_ok(num: str) -> bool:
    d = [int(c) for c in num]
    s = sum(x * w for x, w in zip(d[:12], (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True))
    return (11 - s % 11) % 10 == d[12]


# KOREA.md phone row: mobile, area codes 02 031–033 041–044 051–055 061–064 (also in brackets),
# 070 internet, 080 freephone, 0502–0508 personal numbers, 15xx/16xx/18xx representative
AREA = r"(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4])"
PHONE = re.compile(
    r"(?:\+82[- ]?|0)(?:1[016789]|" + AREA + r"|70)[-. ]?\d{3,4}[-. ]?\d{4}"
    r"|\(0" + AREA + r"\) ?[2-9]\d{2,3}-\d{4}"
    r"|050[2-8][- ]?\d{3,4}[- ]?\d{4}"
    r"|080-\d{3,4}-\d{4}"
    r"|1[568]\d\d[- ]?\d{4}"
)
PLATE = re.compile(r"(?:[가-힣]{2})?\d{2,3}[가-힣] ?\d{4}")
PASSPORT = re.compile(r"[MSRGOD](?:\d{8}|\d{3}[A-Z]\d{4})")
PASSPORT_NEW = re.compile(r"[MSRGOD]\d{3}[A-Z]\d{4}")
DL_REGION_NAMES = tuple(
    re.findall(
        r"\S+", "서울 부산 경기 강원 충북 충남 전북 전남 경북 경남 제주 대구 인천 광주 대전 울산"
    )
)
DRIVER = re.compile(
    r"(1[1-9]|2[0-68])[- ]?\d{2}[- ]?\d{6}[- ]?\d{2}"
    r"|(?:" + "|".join(DL_REGION_NAMES) + r") ?\d{2}-\d{6}-\d{2}"
)
ADDRESS_END = re.compile(r"(\d|층|호)$")


def label_problem(etype: str, value: str) -> str | None:  # noqa: PLR0911, PLR0912
    """Why `value` is not a valid `etype` under KOREA.md's rules, or None if it is."""
    if value != value.strip() or not value:
        return "span has surrounding whitespace"
    v, d = _ascii(value), _digits(value)
    if etype in ("KR_RRN", "KR_FRN"):
        g = int(d[6]) if len(d) == 13 else -1
        allowed = (1, 2, 3, 4) if etype == "KR_RRN" else (5, 6, 7, 8)
        if len(d) != 13 or g not in allowed or not _valid_date(d[:6], g):
            return "not YYMMDD-G… with a valid date and gender digit"
        if (_birth(d[:6], g) or TODAY) > TODAY:
            return "birth date in the future"
        if v.isdigit() and d.startswith("880") and _ean13_ok(d):
            return "also a valid Korean EAN-13 barcode"
        return None
    if etype == "KR_HEALTH_INSURANCE":
        return None if re.fullmatch(r"\d{11}", v) else "not 11 digits"
    if etype == "KR_BRN":
        return None if len(d) == 10 and _brn_ok(d) else "BRN checksum"
    if etype == "KR_CRN":
        return None if len(d) == 13 and _crn_ok(d) else "CRN checksum"
    if etype == "CREDIT_CARD":
        return None if 13 <= len(d) <= 19 and _luhn(d) else "Luhn"
    if etype == "PHONE_KR":
        return None if PHONE.fullmatch(v) else "phone format"
    if etype == "EMAIL":
        return (
            None
            if re.fullmatch(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", v)
            else "email"
        )
    if etype == "IP_ADDRESS":
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return "not an IP address"
        return None
    if etype == "KR_POSTAL_CODE":
        return None if re.fullmatch(r"\d{5}", v) and 1 <= int(v[:2]) <= 63 else "postal code"
    if etype == "KR_VEHICLE_PLATE":
        return None if PLATE.fullmatch(v) else "plate format"
    if etype == "KR_PASSPORT":
        return None if PASSPORT.fullmatch(v) else "passport format"
    if etype == "KR_DRIVER_LICENSE":
        return None if DRIVER.fullmatch(v) else "driver licence format"
    if etype == "BANK_ACCOUNT_KR":
        return None if 10 <= len(d) <= 14 and re.fullmatch(r"[\d -]+", v) else "account format"
    if etype == "KR_ADDRESS":
        return None if re.search(r"(로|길)", v) and ADDRESS_END.search(v) else "address shape"
    return f"unknown type {etype}"


def corpus_problems(records: list[dict[str, Any]]) -> list[str]:
    """Every structural or labelling problem in `records`, as readable lines."""
    problems: list[str] = []
    ids: Counter[str] = Counter(r.get("id", "") for r in records)
    problems += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    for r in records:
        if list(r) != KEYS:
            problems.append(f"{r.get('id')}: keys {list(r)} != {KEYS}")
            continue
        text = r["text"]
        spans = []
        for e in r["entities"]:
            if not 0 <= e["start"] < e["end"] <= len(text):
                problems.append(f"{r['id']}: entity span {e} outside text")
                continue
            if e["type"] not in make_corpus.ENTITY_TYPES:
                problems.append(f"{r['id']}: unknown entity type {e['type']}")
                continue
            why = label_problem(e["type"], text[e["start"] : e["end"]])
            if why:
                problems.append(f"{r['id']}: {e['type']} {text[e['start'] : e['end']]!r}: {why}")
            spans.append((e["start"], e["end"]))
        for n in r["hard_negatives"]:
            if not 0 <= n["start"] < n["end"] <= len(text):
                problems.append(f"{r['id']}: negative span {n} outside text")
                continue
            if n["kind"] not in make_corpus.NEGATIVE_KINDS:
                problems.append(f"{r['id']}: unknown negative kind {n['kind']}")
            spans.append((n["start"], n["end"]))
        spans.sort()
        for (_, e1), (s2, _) in itertools.pairwise(spans):
            if s2 < e1:
                problems.append(f"{r['id']}: overlapping labelled spans")
    return problems


def test_generator_reproduces_the_file_byte_for_byte(raw: str) -> None:
    assert make_corpus.render(make_corpus.build_corpus()) == raw


def test_another_seed_gives_another_corpus(raw: str) -> None:
    other = make_corpus.render(make_corpus.build_corpus(seed=make_corpus.SEED + 1, n=50))
    assert not raw.startswith(other[:2000])


def test_corpus_is_well_formed_and_every_label_follows_the_rules(
    records: list[dict[str, Any]],
) -> None:
    assert corpus_problems(records) == []


def test_types_are_the_contract_types() -> None:
    assert set(make_corpus.ENTITY_TYPES) == set(ENTITY_TYPES)


def test_size_and_coverage_targets(raw: str, records: list[dict[str, Any]]) -> None:
    types = Counter(e["type"] for r in records for e in r["entities"])
    kinds = Counter(n["kind"] for r in records for n in r["hard_negatives"])
    assert len(records) >= 1200
    assert sum(types.values()) >= 1500
    assert min(types[t] for t in make_corpus.ENTITY_TYPES) >= 60
    assert sum(kinds.values()) >= max(1500, sum(types.values()))
    assert len(raw.encode()) < 2_000_000
    assert len({r["source_kind"] for r in records}) >= 10


def test_positives_come_in_every_written_form(records: list[dict[str, Any]]) -> None:
    values = [
        (e["type"], r["text"], r["text"][e["start"] : e["end"]], e["end"])
        for r in records
        for e in r["entities"]
    ]
    numeric = {"KR_RRN", "KR_FRN", "KR_BRN", "PHONE_KR", "CREDIT_CARD", "BANK_ACCOUNT_KR"}
    for t in sorted(numeric):
        vals = [v for typ, _, v, _ in values if typ == t]
        assert any("-" in v for v in vals), t
        assert any(v.isdigit() and v.isascii() for v in vals), t
        assert any(" " in v for v in vals), t
        assert any(re.search("[０-９]", v) for v in vals), t
    # a Hangul particle glued to the value, and random post-2020 RRNs that fail the checksum
    assert sum(1 for _, text, _, end in values if re.match("[가-힣]", text[end : end + 1])) > 100
    rrns = [_digits(v) for t, _, v, _ in values if t == "KR_RRN"]
    assert sum(not _rrn_ok(d) for d in rrns) >= 10
    assert sum(_rrn_ok(d) for d in rrns) >= 100


def test_canonical_lookalikes_fail_their_checks(records: list[dict[str, Any]]) -> None:
    for r in records:
        for n in r["hard_negatives"]:
            v = r["text"][n["start"] : n["end"]]
            if n["kind"] == "brn_like":
                assert not _brn_ok(_digits(v)), v
            elif n["kind"] == "card_like":
                assert not _luhn(_digits(v)), v
            elif n["kind"] == "rrn_like":
                d = _digits(v)
                assert int(d[6]) not in (1, 2, 3, 4, 5, 6, 7, 8) or not _valid_date(
                    d[:6], int(d[6])
                ), v
            elif n["kind"] == "rrn_impossible_date":
                d = _digits(v)
                assert len(d) == 13 and int(d[6]) in (1, 2, 3, 4), v
                assert not _valid_date(d[:6], int(d[6])), v
            elif n["kind"] == "rrn_future_birth":
                d = _digits(v)
                assert len(d) == 13 and int(d[6]) in (1, 2, 3, 4, 5, 6, 7, 8), v
                born = _birth(d[:6], int(d[6]))
                assert born is not None and born > TODAY, v
            elif n["kind"] == "ean13_kr":
                d = _digits(v)
                assert d.startswith("880") and _ean13_ok(d), v
            elif n["kind"] == "workplace_mgmt_no":
                d = _digits(v)
                assert len(d) == 11 and _brn_ok(d[:10]) and d[10] in "0246", v
            elif n["kind"] == "care_provider_no":
                assert re.fullmatch(r"\d{8}", v), v
            elif n["kind"] == "ltc_provider_no":
                assert re.fullmatch(r"\d{11}", v), v


def test_checker_catches_a_broken_corpus(records: list[dict[str, Any]]) -> None:
    broken = json.loads(json.dumps(records[:40]))
    victim = next(r for r in broken if r["entities"])
    victim["entities"][0]["end"] = len(victim["text"]) + 5
    rrn_rec = next(r for r in broken if any(e["type"] == "KR_BRN" for e in r["entities"]))
    e = next(e for e in rrn_rec["entities"] if e["type"] == "KR_BRN")
    rrn_rec["entities"].remove(e)
    rrn_rec["entities"].append({"type": "KR_RRN", "start": e["start"], "end": e["end"]})
    broken.append(dict(broken[0]))
    # a future birth date and an 8-digit provider code labelled as if they were identifiers
    later = json.loads(json.dumps(records[make_corpus.N_RECORDS :]))
    for kind, etype in (
        ("rrn_future_birth", "KR_RRN"),
        ("care_provider_no", "KR_HEALTH_INSURANCE"),
    ):
        rec = next(r for r in later if any(n["kind"] == kind for n in r["hard_negatives"]))
        n = next(n for n in rec["hard_negatives"] if n["kind"] == kind)
        rec["hard_negatives"].remove(n)
        rec["entities"].append({"type": etype, "start": n["start"], "end": n["end"]})
        rec["id"] += f"-{kind}"
        broken.append(rec)
    problems = "\n".join(corpus_problems(broken))
    assert re.search(r"KR_RRN .*: (birth date in the future|not YYMMDD)", problems)
    assert re.search(r"KR_HEALTH_INSURANCE .*: not 11 digits", problems)
    assert re.search(r"entity span .* outside text", problems)
    assert re.search(r"KR_RRN .*: not YYMMDD-G", problems)
    assert re.search(rf"duplicate id {broken[0]['id']}", problems)


# Words that make a number an identifier of that type (labelling rules of the corpus, written
# here separately from the generator's templates).
RRN_WORDS = re.compile(r"주민|등록번호|RRN|rrn|[Rr]esident|[Rr]egistration|jumin")
PASSPORT_WORDS = re.compile(r"여권|[Pp]assport|PASSPORT")
HEALTH_WORDS = re.compile(r"건강보험증|보험증|증번호|건강보험 ?번호|[Hh]ealth[ _][Ii]nsurance|NHIS")
BANK_WORDS = re.compile(
    r"은행|뱅크|카뱅|농협|NH|IBK|KB|신한|우리|하나|국민|토스|새마을금고|우체국|계좌|입금|환불|송금"
    r"|[Bb]ank|[Aa]ccount|remit|wire"
)
PRODUCT_WORDS = re.compile(r"바코드|상품|재고|EAN|GTIN|SKU|[Bb]arcode|[Pp]roduct|inventory")


def _before(text: str, start: int, n: int) -> str:
    return text[max(0, start - n) : start]


def _around(text: str, start: int, end: int, n: int) -> str:
    return text[max(0, start - n) : end + n]


def _values(records: list[dict[str, Any]], etype: str) -> list[tuple[str, str, int, int]]:
    return [
        (r["text"], r["text"][e["start"] : e["end"]], e["start"], e["end"])
        for r in records
        for e in r["entities"]
        if e["type"] == etype
    ]


def test_generator_states_the_same_today() -> None:
    assert make_corpus.TODAY == TODAY


def test_new_style_resident_numbers_come_without_context_and_without_the_checksum(
    records: list[dict[str, Any]],
) -> None:
    """Issue 14: RRNs issued since 2020-10 (random digits after G), with/without hyphen or words."""
    for etype, ok in (("KR_RRN", _rrn_ok), ("KR_FRN", _frn_ok)):
        vals = _values(records, etype)
        failing = [(t, v, s) for t, v, s, _ in vals if not ok(_digits(v))]
        assert len(failing) >= (200 if etype == "KR_RRN" else 80), etype
        bare = [v for _, v, _ in failing if _ascii(v).isdigit()]
        hyphen = [v for _, v, _ in failing if "-" in v]
        assert len(bare) >= (60 if etype == "KR_RRN" else 25), etype
        assert len(hyphen) >= (80 if etype == "KR_RRN" else 30), etype
        no_words = [(t, v, s) for t, v, s in failing if not RRN_WORDS.search(_before(t, s, 30))]
        assert len(no_words) >= (100 if etype == "KR_RRN" else 30), etype
        assert sum(_ascii(v).isdigit() for _, v, _ in no_words) >= (30 if etype == "KR_RRN" else 8)
        born = [_birth(_digits(v)[:6], int(_digits(v)[6])) for _, v, _ in failing]
        assert sum(1 for b in born if b and b >= date(2020, 10, 1)) >= 40, etype


def test_not_resident_numbers_are_there_in_numbers(records: list[dict[str, Any]]) -> None:
    negs = [
        (n["kind"], r["text"], r["text"][n["start"] : n["end"]], n["start"], n["end"])
        for r in records
        for n in r["hard_negatives"]
    ]
    kinds = Counter(k for k, *_ in negs)
    assert kinds["rrn_future_birth"] >= 50
    assert kinds["rrn_impossible_date"] >= 50
    impossible = [_digits(v) for k, _, v, _, _ in negs if k == "rrn_impossible_date"]
    assert any(d[2:4] == "13" for d in impossible)
    assert any(d[2:6] in ("0230", "0231") for d in impossible)
    future = [_digits(v) for k, _, v, _, _ in negs if k == "rrn_future_birth"]
    assert any(d.isdigit() and len(d) == 13 for d in future)
    eans = [(t, v, s, e) for k, t, v, s, e in negs if k == "ean13_kr"]
    assert len(eans) >= 100
    # most of them read as a 1988 birth date with a gender digit: that is what makes them hard
    shaped = [v for _, v, _, _ in eans if _valid_date(_digits(v)[:6], 1)]
    assert len(shaped) >= len(eans) // 2
    assert all(PRODUCT_WORDS.search(_around(t, s, e, 80)) for t, _, s, e in eans)


def test_new_phone_forms_are_covered(records: list[dict[str, Any]]) -> None:
    phones = [_ascii(v) for _, v, _, _ in _values(records, "PHONE_KR")]
    assert sum(bool(re.match(r"050[2-8]", v)) for v in phones) >= 40
    assert len({v[:4] for v in phones if re.match(r"050[2-8]", v)}) == 7
    assert sum(v.startswith("(0") for v in phones) >= 40
    assert sum(v.startswith("(02)") for v in phones) >= 15
    assert sum(bool(re.match(r"\(0[3-6]\d\)", v)) for v in phones) >= 15
    assert sum(v.startswith("070") for v in phones) >= 20
    assert sum(v.startswith("080") for v in phones) >= 20
    for lead in ("15", "16", "18"):
        assert sum(bool(re.fullmatch(lead + r"\d\d[- ]?\d{4}", v)) for v in phones) >= 15, lead
    assert sum(v.startswith("+82") for v in phones) >= 60


def test_driver_licences_in_region_name_form(records: list[dict[str, Any]]) -> None:
    vals = [v for _, v, _, _ in _values(records, "KR_DRIVER_LICENSE")]
    named = [v for v in vals if v[:2] in DL_REGION_NAMES]
    assert len(named) >= 60
    assert len({v[:2] for v in named}) >= 12
    assert sum(v[:2].isdigit() for v in vals) >= 150


def test_passports_new_format_without_context_old_format_with_it(
    records: list[dict[str, Any]],
) -> None:
    vals = _values(records, "KR_PASSPORT")
    new_bare = [
        v
        for t, v, s, _ in vals
        if PASSPORT_NEW.fullmatch(v) and not PASSPORT_WORDS.search(_before(t, s, 40))
    ]
    assert len(new_bare) >= 40
    for r in records:
        if int(r["id"][4:]) < make_corpus.N_RECORDS:
            continue  # the first records predate the rule
        for t, v, s, _ in _values([r], "KR_PASSPORT"):
            if not PASSPORT_NEW.fullmatch(v):
                assert PASSPORT_WORDS.search(_before(t, s, 40)), (r["id"], v)
    looks = [
        (r["text"], n["start"], n["end"])
        for r in records
        for n in r["hard_negatives"]
        if n["kind"] == "passport_like_no_context"
    ]
    assert looks and all(not PASSPORT_WORDS.search(_around(t, s, e, 40)) for t, s, e in looks)


def test_health_insurance_numbers_with_context_and_their_look_alikes(
    records: list[dict[str, Any]],
) -> None:
    vals = _values(records, "KR_HEALTH_INSURANCE")
    assert len(vals) >= 100
    for t, v, s, _ in vals:
        line_start = t.rfind("\n", 0, s) + 1
        header = t.split("\n", 1)[0]
        assert HEALTH_WORDS.search(t[line_start:s]) or HEALTH_WORDS.search(header), v
    kinds = Counter(n["kind"] for r in records for n in r["hard_negatives"])
    assert kinds["care_provider_no"] >= 50
    assert kinds["workplace_mgmt_no"] >= 30
    assert kinds["ltc_provider_no"] >= 15


def test_accounts_have_bank_context_and_look_alikes_do_not(records: list[dict[str, Any]]) -> None:
    new = [r for r in records if int(r["id"][4:]) >= make_corpus.N_RECORDS]
    accts = _values(new, "BANK_ACCOUNT_KR")
    assert len(accts) >= 150
    for t, v, s, e in accts:
        line = t[t.rfind("\n", 0, s) + 1 : (t.find("\n", e) + 1 or len(t) + 1) - 1]
        assert BANK_WORDS.search(line) or BANK_WORDS.search(t.split("\n", 1)[0]), v
    groups = Counter(tuple(len(g) for g in re.split(r"[- ]", _ascii(v))) for _, v, _, _ in accts)
    assert len([g for g in groups if len(g) > 1]) >= 10  # many bank layouts, grouped
    looks = [
        (r["text"], n["start"], n["end"])
        for r in new
        for n in r["hard_negatives"]
        if n["kind"] == "account_layout_no_context"
    ]
    assert len(looks) >= 100
    assert all(not BANK_WORDS.search(_around(t, s, e, 60)) for t, s, e in looks)
