"""Known answers from KOREA.md, and property tests: every valid number is found, nothing crashes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sumun.policy.pii import Detector
from sumun.policy.pii import validators as v

WIDE = str.maketrans("0123456789-", "０１２３４５６７８９－")
DETECTOR = Detector()


# --- known answers -----------------------------------------------------------------------------
def test_brn_known_answer() -> None:
    assert v.brn_valid("1168200276")
    assert v.brn_check_digit("116820027") == 6
    assert not v.brn_valid("1168200275")


def test_crn_known_answer() -> None:
    assert v.crn_valid("1101110062432")
    assert not v.crn_valid("1101110062433")


def test_rrn_checksum_and_date() -> None:
    body = "900101123456"
    number = body + str(v.rrn_check_digit(body))
    assert v.rrn_checksum_valid(number)
    assert v.rrn_birth_date(number) == dt.date(1990, 1, 1)
    assert v.rrn_birth_date("0102293123456") is None  # 2001-02-29 does not exist
    assert v.rrn_birth_date("0002293123456") == dt.date(2000, 2, 29)
    assert v.rrn_birth_date("9901019123456") == dt.date(1899, 1, 1)  # G = 9: 1800s


def test_rrn_birth_date_not_after() -> None:
    assert v.rrn_birth_date("2512313123456", not_after=dt.date(2025, 12, 31)) is not None
    assert v.rrn_birth_date("2601013123456", not_after=dt.date(2025, 12, 31)) is None
    assert v.rrn_birth_date("2601011123456", not_after=dt.date(2025, 12, 31)) is not None  # 1926


def test_ean13() -> None:
    assert v.ean13_valid("8801234567893")  # GS1 Korea prefix, valid check digit
    assert not v.ean13_valid("8801234567890")
    assert v.ean13_valid("9788937460470")  # an ISBN is an EAN-13 too
    assert not v.ean13_valid("880123456789")


def test_health_insurance_and_licence_regions() -> None:
    assert v.health_insurance_format_valid("12345678901")
    assert not v.health_insurance_format_valid("1234567890")
    assert {"서울", "부산", "제주", "울산"} <= v.LICENCE_REGIONS
    assert "세종" not in v.LICENCE_REGIONS  # no licence region of its own


def test_frn_checksum_is_presidios_rule() -> None:
    body = "900101512345"
    assert v.frn_check_digit(body) == (13 - sum(
        int(d) * w for d, w in zip(body, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True)
    ) % 11) % 10  # fmt: skip
    assert v.frn_checksum_valid(body + str(v.frn_check_digit(body)))


@pytest.mark.parametrize("number", ["4111111111111111", "5555555555554444", "378282246310005"])
def test_luhn_known_cards(number: str) -> None:
    assert v.luhn_valid(number)
    assert v.card_prefix_valid(number)


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("4111111111111111", True),  # Visa 16
        ("4222222222222", True),  # Visa 13
        ("378282246310005", True),  # Amex 15
        ("30569309025904", True),  # Diners 14
        ("9410123456789012", True),  # Korean domestic 16
        ("491586170075901", False),  # Luhn-valid IMEI: 15 digits, not Amex
        ("354837405882686", False),  # 35 (JCB) issues 16 digits, not 15
        ("3782822463100055", False),  # Amex never 16
        ("1234567812345670", False),  # no issuer prefix
    ],
)
def test_card_length_follows_the_issuer(number: str, ok: bool) -> None:
    assert v.card_length_valid(number) is ok


def test_luhn_rejects_one_digit_change() -> None:
    assert not v.luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("01012345678", True),
        ("0101234567", False),  # 010 is always 11 digits
        ("0111234567", True),
        ("0212345678", True),
        ("021234567", True),
        ("0201234567", False),  # exchanges never start with 0
        ("0311234567", True),
        ("07012345678", True),
        ("15881234", True),
        ("0131234567", False),
        ("0801234567", True),  # 080 free-call: 10 digits
        ("08012345678", False),
        ("0607001234", True),  # 060 information service
        ("0601001234", False),
        ("050412345678", True),  # 0504 personal (safe) number: 12 digits
        ("050212345678", True),
        ("050812345678", True),
        ("050912345678", False),  # 0509 is not a personal-number block
        ("050112345678", False),
        ("050402345678", True),
        ("05074915153", True),  # 0507-491-5153: 11 digits
        ("05012345678", False),  # 0501: not a personal-number block
        ("050412345", False),
        ("12345678", False),
    ],
)
def test_phone_prefixes(number: str, ok: bool) -> None:
    assert v.phone_valid(number) is ok


def test_plate_postal_licence_ipv4() -> None:
    assert v.plate_valid("12가3456")
    assert v.plate_valid("123가 4567")
    assert not v.plate_valid("12개3456")
    assert v.postal_code_valid("06236")
    assert v.postal_code_valid("63000")
    assert not v.postal_code_valid("64000")
    assert not v.postal_code_valid("00123")
    assert v.driver_license_format_valid("112212345678")
    assert v.driver_license_format_valid("282212345678")
    assert not v.driver_license_format_valid("272212345678")
    assert v.ipv4_valid("192.168.0.1")
    assert not v.ipv4_valid("256.1.1.1")
    assert not v.ipv4_valid("10.0.19045")
    assert not v.ipv4_valid("01.2.3.4")


def test_isbn13() -> None:
    assert v.isbn13_valid("9788937460470")
    assert not v.isbn13_valid("9788937460471")


# --- properties --------------------------------------------------------------------------------
KOREAN = st.text(alphabet="가나다라마바사아자차카타파하은는이가을를의에서 ", max_size=30)
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31))


@st.composite
def rrns(draw: st.DrawFn) -> str:
    day = draw(dates)
    g = draw(st.sampled_from("12")) if day.year < 2000 else draw(st.sampled_from("34"))
    body = day.strftime("%y%m%d") + g + draw(st.text("0123456789", min_size=5, max_size=5))
    return body + str(v.rrn_check_digit(body))


@st.composite
def brns(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=9, max_size=9))
    return body + str(v.brn_check_digit(body))


@st.composite
def crns(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from(["1101", "1301", "1801"])) + draw(st.sampled_from(["11", "81"]))
    body += "0" + draw(st.text("0123456789", min_size=5, max_size=5))
    return body + str(v.crn_check_digit(body))


@st.composite
def cards(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from(["4", "51", "55", "2221"]))
    body += draw(st.text("0123456789", min_size=15 - len(body), max_size=15 - len(body)))
    return body + str(v.luhn_check_digit(body))


def _found(text: str, start: int, end: int, kind: str) -> bool:
    return any((f.type, f.start, f.end) == (kind, start, end) for f in DETECTOR.detect(text))


def _embed(left: str, value: str, right: str) -> tuple[str, int, int]:
    text = left + value + right
    return text, len(left), len(left) + len(value)


@settings(max_examples=150, deadline=None)
@given(rrns(), KOREAN, KOREAN, st.booleans(), st.booleans())
def test_every_valid_rrn_is_found(
    number: str, left: str, right: str, hyphen: bool, wide: bool
) -> None:
    # an unbroken `880…` number with a valid EAN-13 check digit is a product barcode (docs/pii.md)
    assume(hyphen or not (number.startswith("880") and v.ean13_valid(number)))
    value = f"{number[:6]}-{number[6:]}" if hyphen else number
    if wide:
        value = value.translate(WIDE)
    assert _found(*_embed(left + " ", value, " " + right), "KR_RRN")


@st.composite
def new_rrns(draw: st.DrawFn) -> str:
    """Numbers issued since 2020-10: random digits after the gender digit, any checksum."""
    day = draw(dates)
    foreign = draw(st.booleans())
    g = int(draw(st.sampled_from("12"))) + (2 if day.year >= 2000 else 0) + (4 if foreign else 0)
    return day.strftime("%y%m%d") + str(g) + draw(st.text("0123456789", min_size=6, max_size=6))


# KOREAN without 하 (`하나` is a bank: a 13-digit number next to it may be its account)
PLAIN = st.text(alphabet="가나다라마바사아자차카타파은는이가을를의에서 ", max_size=30)


@settings(max_examples=300, deadline=None)
@given(new_rrns(), PLAIN, PLAIN, st.booleans())
def test_every_post_2020_rrn_is_found_at_the_default_threshold(
    number: str, left: str, right: str, hyphen: bool
) -> None:
    """No context word, checksum right or wrong: found at the built-in policy's 0.5.

    Unbroken, an `880` EAN-13 barcode is excluded (docs/pii.md).
    """
    assume(hyphen or not (number.startswith("880") and v.ean13_valid(number)))
    kind = "KR_FRN" if number[6] in "5678" else "KR_RRN"
    value = f"{number[:6]}-{number[6:]}" if hyphen else number
    assert _found(*_embed(left + " ", value, " " + right), kind)


@settings(max_examples=150, deadline=None)
@given(brns(), KOREAN, KOREAN, st.booleans())
def test_every_valid_brn_is_found(number: str, left: str, right: str, wide: bool) -> None:
    value = f"{number[:3]}-{number[3:5]}-{number[5:]}"
    if wide:
        value = value.translate(WIDE)
    assert _found(*_embed(left + " 사업자번호 ", value, " " + right), "KR_BRN")


@settings(max_examples=150, deadline=None)
@given(crns(), KOREAN, KOREAN, st.booleans())
def test_every_valid_crn_is_found(number: str, left: str, right: str, wide: bool) -> None:
    value = f"{number[:6]}-{number[6:]}"
    if wide:
        value = value.translate(WIDE)
    assert _found(*_embed(left + " ", value, " " + right), "KR_CRN")


@settings(max_examples=150, deadline=None)
@given(cards(), KOREAN, KOREAN, st.sampled_from(["-", " ", ""]), st.booleans())
def test_every_valid_card_is_found(
    number: str, left: str, right: str, sep: str, wide: bool
) -> None:
    value = sep.join(number[i : i + 4] for i in range(0, 16, 4))
    if wide:
        value = value.translate(WIDE)
    assert _found(*_embed(left + " ", value, " " + right), "CREDIT_CARD")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_crash_and_sane_spans_on_arbitrary_text(text: str) -> None:
    findings = DETECTOR.detect(text)
    last_end = 0
    for f in findings:
        assert 0 <= f.start < f.end <= len(text)
        assert f.start >= last_end  # sorted, no overlaps
        last_end = f.end


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789０１２３４５６７８９-－ .:@가나로길시구abcMS", max_size=60))
def test_no_crash_on_digit_heavy_text(text: str) -> None:
    for f in DETECTOR.detect(text):
        assert 0 <= f.start < f.end <= len(text)
