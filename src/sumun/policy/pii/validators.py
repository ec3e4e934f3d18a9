"""Checksum and format rules for Korean identifiers (KOREA.md, "Identifiers").

Pure functions over ASCII digit strings. `*_check_digit` compute the check digit from the body;
`*_valid` test a whole number. Callers normalise (full-width digits, separators) first.

The detector calls these for every candidate number, so weighted sums run in C (`map` over the
digits' bytes) when the input is ASCII digits; any other input takes the plain per-digit path and
behaves as `int()` does on it (other Unicode digits count, anything else raises `ValueError`).
"""

from __future__ import annotations

import datetime as _dt
from operator import mul

__all__ = [
    "LICENCE_REGIONS",
    "PLATE_SYLLABLES",
    "brn_check_digit",
    "brn_valid",
    "card_length_valid",
    "card_prefix_valid",
    "crn_check_digit",
    "crn_format_plausible",
    "crn_valid",
    "driver_license_format_valid",
    "ean13_valid",
    "frn_check_digit",
    "frn_checksum_valid",
    "health_insurance_format_valid",
    "ipv4_valid",
    "isbn13_valid",
    "luhn_check_digit",
    "luhn_valid",
    "phone_valid",
    "plate_valid",
    "postal_code_valid",
    "rrn_birth_date",
    "rrn_check_digit",
    "rrn_checksum_valid",
]

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3)
_CRN_WEIGHTS = (1, 2) * 6
_ISBN_WEIGHTS = (1, 3) * 6
# ASCII digit bytes to their values; for Luhn, to their doubled values with the digits summed
_DIGIT_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", bytes([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]))
# gender/century digit G -> century (9/0 = 1800s; 5-8 are the FRN equivalents of 1-4)
_CENTURY = {"1": 1900, "2": 1900, "3": 2000, "4": 2000, "5": 1900, "6": 1900, "7": 2000,
            "8": 2000, "9": 1800, "0": 1800}  # fmt: skip
# docs/pii.md, "Phone numbers": the national numbering plan as Google's libphonenumber records it
# for KR (its metadata follows MSIT's 전기통신번호관리세칙).
_LANDLINE = frozenset(
    "031 032 033 041 042 043 044 051 052 053 054 055 061 062 063 064".split()  # noqa: SIM905
)
_MOBILE = frozenset(["010", "011", "016", "017", "018", "019"])
# Driver licences issued before mid-2014 print the first-issue region's name where newer ones
# print a two-digit code (`서울 91-123456-78`); docs/pii.md, "Driver licences".
LICENCE_REGIONS = frozenset(
    "서울 부산 경기 강원 충북 충남 전북 전남 경북 경남 제주 대구 인천 광주 대전 울산".split()  # noqa: SIM905
)
# Hangul syllables used on civilian plates (private, commercial, rental)
PLATE_SYLLABLES = frozenset(
    "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
)


def _is_digits(s: str, n: int | None = None) -> bool:
    return s.isascii() and s.isdigit() and (n is None or len(s) == n)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    """Sum of digit × weight over the shorter of the two."""
    if digits.isascii() and digits.isdigit():
        return sum(map(mul, digits.encode().translate(_DIGIT_VALUES), weights))
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def rrn_birth_date(number: str, *, not_after: _dt.date | None = None) -> _dt.date | None:
    """The birth date encoded in a 13-digit RRN/FRN (YYMMDD + G), or None if impossible.

    `not_after`: a date after it (a birth in the future) is impossible too.
    """
    if not _is_digits(number, 13):
        return None
    year = _CENTURY[number[6]] + int(number[0:2])
    try:
        born = _dt.date(year, int(number[2:4]), int(number[4:6]))
    except ValueError:
        return None
    if not_after is not None and born > not_after:
        return None
    return born


def rrn_check_digit(body: str) -> int:
    """X = (11 - sum(w*d) mod 11) mod 10 over the first 12 digits."""
    return (11 - _weighted(body[:12], _RRN_WEIGHTS) % 11) % 10


def rrn_checksum_valid(number: str) -> bool:
    """The pre-2020-10 RRN checksum. Numbers issued since then may fail it and still be real."""
    return _is_digits(number, 13) and rrn_check_digit(number) == int(number[12])


def frn_check_digit(body: str) -> int:
    """Presidio's FRN rule (13 - sum mod 11) mod 10 — no official source (KOREA.md)."""
    return (13 - _weighted(body[:12], _RRN_WEIGHTS) % 11) % 10


def frn_checksum_valid(number: str) -> bool:
    return _is_digits(number, 13) and frn_check_digit(number) == int(number[12])


def brn_check_digit(body: str) -> int:
    """Business registration number: weights 1,3,7,1,3,7,1,3 then p = 5*d9 adds p + floor(p/10)."""
    p = 5 * int(body[8])
    s = _weighted(body[:8], _BRN_WEIGHTS) + p + p // 10
    return (10 - s % 10) % 10


def brn_valid(number: str) -> bool:
    """True for a 10-digit BRN with a correct check digit (116-82-00276 passes)."""
    return _is_digits(number, 10) and brn_check_digit(number) == int(number[9])


def crn_check_digit(body: str) -> int:
    """Corporate registration number: weights alternate 1,2 over 12 digits, no digit folding."""
    return (10 - _weighted(body[:12], _CRN_WEIGHTS) % 10) % 10


def crn_valid(number: str) -> bool:
    """True for a 13-digit CRN with a correct check digit (110111-0062432 passes)."""
    return _is_digits(number, 13) and crn_check_digit(number) == int(number[12])


_CRN_KINDS = frozenset("11 12 13 14 21 22 31 32 33 34 41 42 71 81 82 83 84 85 86".split())  # noqa: SIM905


def crn_format_plausible(number: str) -> bool:
    """Registry office (first two digits 11-28) and a known corporation-kind code (digits 5-6).

    A heuristic used only without context words: the office and kind tables are not published
    in full.
    """
    return _is_digits(number, 13) and 11 <= int(number[:2]) <= 28 and number[4:6] in _CRN_KINDS


def card_prefix_valid(number: str) -> bool:
    """Issuer prefixes: Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, JCB 35,
    Diners 30/36/38, Discover/UnionPay 6011/62/64/65, and Korean domestic 9."""
    if not _is_digits(number) or len(number) < 4:
        return False
    if number[0] in "49":
        return True
    two, four = int(number[:2]), int(number[:4])
    return (
        51 <= two <= 55
        or 2221 <= four <= 2720
        or two in (34, 35, 36, 37, 30, 38, 62, 64, 65)
        or four == 6011
    )


def card_length_valid(number: str) -> bool:
    """An issuer prefix that issues cards of this length (the IIN decides the length).

    Amex 34/37 is the only 15-digit card; Diners 30/36/38 has 14 digits (or 16); Visa 13, 16 or
    19; every other issuer, Korean domestic 9 included, 16 to 19. A Luhn-valid 15-digit IMEI
    without an Amex prefix is no card.
    """
    if not card_prefix_valid(number):
        return False
    n = len(number)
    two = number[:2]
    if two in ("34", "37"):
        return n == 15
    if two in ("30", "36", "38"):
        return n in (14, 16)
    if number[0] == "4":
        return n in (13, 16, 19)
    return 16 <= n <= 19


def luhn_check_digit(body: str) -> int:
    """The Luhn digit to append to `body`."""
    if body.isascii() and body.isdigit():
        rev = body.encode()[::-1]  # doubled: the rightmost digit of the body and every second one
        total = sum(rev[0::2].translate(_LUHN_DOUBLED)) + sum(rev[1::2].translate(_DIGIT_VALUES))
        return (10 - total % 10) % 10
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    return (
        _is_digits(number) and len(number) >= 2 and luhn_check_digit(number[:-1]) == int(number[-1])
    )


def isbn13_valid(number: str) -> bool:
    if not _is_digits(number, 13) or number[:3] not in ("978", "979"):
        return False
    return (10 - _weighted(number[:12], _ISBN_WEIGHTS) % 10) % 10 == int(number[12])


def ean13_valid(number: str) -> bool:
    """A 13-digit GS1 EAN-13 with a correct check digit (weights 1,3 alternating, mod 10)."""
    return _is_digits(number, 13) and (10 - _weighted(number[:12], _ISBN_WEIGHTS) % 10) % 10 == int(
        number[12]
    )


def phone_valid(number: str) -> bool:  # noqa: PLR0911
    """A Korean number in domestic form (docs/pii.md, "Phone numbers").

    Mobile 010 (11 digits) and 011/016-019 (10-11); area codes 02 and 0[3-6]X; 070 internet
    phones; 050X personal ("safe") numbers 0502-0508 (11 or 12 digits); 080 free-call and 060
    information services (10 digits); 15XX/16XX/18XX representative numbers (8 digits). A
    landline's exchange never starts with 0.
    """
    if not _is_digits(number):
        return False
    n = len(number)
    head = number[:3]
    if head == "010":
        return n == 11
    if head in _MOBILE:
        return n in (10, 11)
    if number.startswith("02"):
        return n in (9, 10) and number[2] != "0"
    if head in _LANDLINE or head == "070":
        return n in (10, 11) and number[3] != "0"
    if head == "050":
        return n in (11, 12) and "2" <= number[3] <= "8"
    if head == "080":
        return n == 10
    if head == "060":
        return n == 10 and number[3] not in "01"
    if number[:2] in ("15", "16", "18"):
        return n == 8
    return False


def driver_license_format_valid(number: str) -> bool:
    """`RR-YY-NNNNNN-CD`: 12 digits, region 11-26 or 28. The check digits are not public."""
    if not _is_digits(number, 12):
        return False
    region = int(number[:2])
    return 11 <= region <= 26 or region == 28


def health_insurance_format_valid(number: str) -> bool:
    """건강보험증번호: 11 digits. NHIS publishes no inner structure or check digit."""
    return _is_digits(number, 11)


def postal_code_valid(number: str) -> bool:
    """Five-digit postal code (since 2015-08), first two digits 01-63."""
    return _is_digits(number, 5) and 1 <= int(number[:2]) <= 63


def plate_valid(plate: str) -> bool:
    """`12가3456` or `123가4567` (an optional space before the last four digits)."""
    s = plate.replace(" ", "")
    head, syl, tail = s[:-5], s[-5:-4], s[-4:]
    return (
        len(head) in (2, 3) and _is_digits(head) and syl in PLATE_SYLLABLES and _is_digits(tail, 4)
    )


def ipv4_valid(address: str) -> bool:
    parts = address.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not _is_digits(part) or not 1 <= len(part) <= 3 or int(part) > 255:
            return False
        if len(part) > 1 and part[0] == "0":
            return False
    return True
