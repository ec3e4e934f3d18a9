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


def _valid_date(yymmdd: str, g: int) -> bool:
    century = {1: 1900, 2: 1900, 5: 1900, 6: 1900, 3: 2000, 4: 2000, 7: 2000, 8: 2000}[g]
    y, m, d = century + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= m <= 12:
        return False
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return 1 <= d <= days


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


PHONE = re.compile(
    r"(?:\+82[- ]?|0)(?:1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)[-. ]?\d{3,4}[-. ]?\d{4}"
    r"|1[568]\d\d-\d{4}"
)
PLATE = re.compile(r"(?:[가-힣]{2})?\d{2,3}[가-힣] ?\d{4}")
PASSPORT = re.compile(r"[MSRGOD](?:\d{8}|\d{3}[A-Z]\d{4})")
DRIVER = re.compile(r"(1[1-9]|2[0-68])[- ]?\d{2}[- ]?\d{6}[- ]?\d{2}")
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
        return None
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
    assert 10 <= sum(not _rrn_ok(d) for d in rrns) < len(rrns) // 2


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


def test_checker_catches_a_broken_corpus(records: list[dict[str, Any]]) -> None:
    broken = json.loads(json.dumps(records[:40]))
    victim = next(r for r in broken if r["entities"])
    victim["entities"][0]["end"] = len(victim["text"]) + 5
    rrn_rec = next(r for r in broken if any(e["type"] == "KR_BRN" for e in r["entities"]))
    e = next(e for e in rrn_rec["entities"] if e["type"] == "KR_BRN")
    rrn_rec["entities"].remove(e)
    rrn_rec["entities"].append({"type": "KR_RRN", "start": e["start"], "end": e["end"]})
    broken.append(dict(broken[0]))
    problems = "\n".join(corpus_problems(broken))
    assert re.search(r"entity span .* outside text", problems)
    assert re.search(r"KR_RRN .*: not YYMMDD-G", problems)
    assert re.search(rf"duplicate id {broken[0]['id']}", problems)
