"""The detector on realistic text: every positive form; hard negatives that must not fire."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from sumun.policy.pii import ENTITY_TYPES, Detector, Finding, detect

DETECTOR = Detector()
POLICY = Path(__file__).resolve().parents[2] / "src" / "sumun" / "policy"


def spans(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in DETECTOR.detect(text)]


POSITIVES = [
    # (text, type, the matched substring)
    ("주민번호는900101-1234568입니다", "KR_RRN", "900101-1234568"),
    ("주민등록번호 9001011234568", "KR_RRN", "9001011234568"),
    ("주민번호 ９００１０１－１２３４５６８ 입니다", "KR_RRN", "９００１０１－１２３４５６８"),
    ("RRN 900101 1234568 확인", "KR_RRN", "900101 1234568"),
    ('{"rrn": "900101-1234568"}', "KR_RRN", "900101-1234568"),
    ("외국인등록번호 900101-5234564", "KR_FRN", "900101-5234564"),
    ("사업자등록번호 116-82-00276", "KR_BRN", "116-82-00276"),
    ("사업자번호: 1168200276", "KR_BRN", "1168200276"),
    ("법인등록번호 110111-0062432", "KR_CRN", "110111-0062432"),
    ("연락처 010-1234-5678", "PHONE_KR", "010-1234-5678"),
    ("폰 01012345678로 연락", "PHONE_KR", "01012345678"),
    ("제 번호는 010 1234 5678이에요", "PHONE_KR", "010 1234 5678"),
    ("mobile 010.1234.5678", "PHONE_KR", "010.1234.5678"),
    ("call +82 10-1234-5678", "PHONE_KR", "+82 10-1234-5678"),
    ("사무실 02-555-1234", "PHONE_KR", "02-555-1234"),
    ("대표번호 1588-1234", "PHONE_KR", "1588-1234"),
    ("전화 ０１０－１２３４－５６７８", "PHONE_KR", "０１０－１２３４－５６７８"),
    ("카드번호 4111-1111-1111-1111", "CREDIT_CARD", "4111-1111-1111-1111"),
    ("card 4111 1111 1111 1111 결제", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("결제 5555555555554444", "CREDIT_CARD", "5555555555554444"),
    ("amex 3782-822463-10005", "CREDIT_CARD", "3782-822463-10005"),
    ("국민은행 123456-78-901234 로 입금", "BANK_ACCOUNT_KR", "123456-78-901234"),
    ("환불계좌 신한 110-123-456789", "BANK_ACCOUNT_KR", "110-123-456789"),
    ("account 1002-123-456789 (woori)", "BANK_ACCOUNT_KR", "1002-123-456789"),
    ("여권번호 M12345678", "KR_PASSPORT", "M12345678"),
    ("passport: M123A4567", "KR_PASSPORT", "M123A4567"),
    ("운전면허 11-22-123456-78", "KR_DRIVER_LICENSE", "11-22-123456-78"),
    ("메일 hong.gildong@example.co.kr으로", "EMAIL", "hong.gildong@example.co.kr"),
    ("src=192.168.0.1 port 443", "IP_ADDRESS", "192.168.0.1"),
    ("client 2001:db8::8a2e:370:7334 접속", "IP_ADDRESS", "2001:db8::8a2e:370:7334"),
    (
        "서울특별시 강남구 테헤란로 123, 4층 으로",
        "KR_ADDRESS",
        "서울특별시 강남구 테헤란로 123, 4층",
    ),
    (
        "경기도 성남시 분당구 판교역로 235 (삼평동)",
        "KR_ADDRESS",
        "경기도 성남시 분당구 판교역로 235 (삼평동)",
    ),
    ("배송지는 강남구 봉은사로 86길 12 입니다", "KR_ADDRESS", "강남구 봉은사로 86길 12"),
    ("세종특별자치시 한누리대로 2130", "KR_ADDRESS", "세종특별자치시 한누리대로 2130"),
    ("차량 12가3456 주차", "KR_VEHICLE_PLATE", "12가3456"),
    ("차량번호 123나 4567", "KR_VEHICLE_PLATE", "123나 4567"),
    ("우편번호 06236", "KR_POSTAL_CODE", "06236"),
]


@pytest.mark.parametrize(("text", "kind", "value"), POSITIVES)
def test_positive(text: str, kind: str, value: str) -> None:
    assert (kind, value) in spans(text)


def test_failed_rrn_checksum_lowers_confidence_not_rejects() -> None:
    # numbers issued since 2020-10 need not satisfy the checksum (KOREA.md)
    bad = "900101-1234567"
    plain = DETECTOR.detect(f"값 {bad}")
    with_context = DETECTOR.detect(f"주민번호 {bad}")
    good = DETECTOR.detect("주민번호 900101-1234568")
    assert [f.type for f in plain] == ["KR_RRN"]
    assert plain[0].score < with_context[0].score < good[0].score
    assert Detector(min_score=0.0).detect("9001011234567")[0].type == "KR_RRN"


def test_log_line_and_json_document() -> None:
    log = (
        "2025-11-03 10:23:45 INFO req=7f3a user=hong@example.com ip=10.1.2.3 "
        "phone=010-9876-5432 msg='주민번호 900101-1234568 조회'"
    )
    assert [k for k, _ in spans(log)] == ["EMAIL", "IP_ADDRESS", "PHONE_KR", "KR_RRN"]
    doc = json.dumps(
        {
            "name": "홍길동",
            "tel": "01098765432",
            "card": "4111111111111111",
            "rrn": "9001011234568",
        },
        ensure_ascii=False,
    )
    assert [k for k, _ in spans(doc)] == ["PHONE_KR", "CREDIT_CARD", "KR_RRN"]


HARD_NEGATIVES = [
    "작성일 2024-01-15, 기준일 20240115",
    "2024.01.15 오후 회의",
    "주문번호 2024011512345 확인",
    "주문번호 9001011234568 배송 준비",
    "order #1168200276 shipped",
    "송장번호 123456789012",
    "운송장 140511-7405951",
    "invoice 4111-1111-1111-1111",
    "tracking no. 1234567890123",
    "ISBN 978-89-374-6047-0",
    "ISBN 9788937460470",
    "버전 1.2.3 배포",
    "v1.2.3.4 released",
    "Windows 10.0.19045.3803",
    "부품 AB-1234-5678",
    "SKU-116820-0276",
    "2025-11-03 10:23:45.123",
    "ts=1700000000000",
    "epoch 1700000000",
    "20240115103045 처리",
    "020-1234-5678",
    "013-1234-5678",
    "123-4567-8901",
    "901301-1234567",
    "금액 1,234,567원",
    "12개 3456",
    "서울 본사로 3시까지",
    "연구 방법으로 2가지",
    "request_id=4f1c2b3a-9d8e-4a7b-b6c5-1234567890ab",
    "승인번호 12345678",
    "회의실 12층 1203호",
    "the meeting is at 10:30:00, room 5",
    "std::vector<int> a;",
    "M12345678 (no context: a part number)",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negative(text: str) -> None:
    assert DETECTOR.detect(text) == []


def test_bank_context_is_required() -> None:
    assert DETECTOR.detect("번호 123456-78-901234") == []
    assert [f.type for f in DETECTOR.detect("계좌 1234567890")] == ["BANK_ACCOUNT_KR"]


def test_passport_needs_context() -> None:
    assert DETECTOR.detect("코드 M12345678") == []
    assert [f.type for f in DETECTOR.detect("여권 M12345678")] == ["KR_PASSPORT"]


def test_postal_code_needs_context() -> None:
    assert DETECTOR.detect("수량 06236") == []


def test_negative_context_nearest_wins() -> None:
    # a bank name far before, a tracking word right before: not an account
    assert DETECTOR.detect("국민은행 안내, 송장 1234567890123") == []
    # the other way round
    assert [f.type for f in DETECTOR.detect("주문 후 국민은행 계좌 1234567890123")] == [
        "BANK_ACCOUNT_KR"
    ]


def test_offsets_are_code_points_and_sorted() -> None:
    text = "😀 주민번호 ９００１０１－１２３４５６８, 연락처 010-1234-5678"
    found = DETECTOR.detect(text)
    assert [f.type for f in found] == ["KR_RRN", "PHONE_KR"]
    assert text[found[0].start : found[0].end] == "９００１０１－１２３４５６８"
    assert found == sorted(found, key=lambda f: f.start)


def test_overlap_higher_score_wins() -> None:
    # a valid RRN inside a bank context: both shapes fit; the checksum-valid RRN wins
    found = DETECTOR.detect("계좌 9001011234568")
    assert [f.type for f in found] == ["KR_RRN"]


def test_digits_inside_longer_runs_are_not_matched() -> None:
    assert DETECTOR.detect("id 19001011234568") == []
    assert DETECTOR.detect("x900101-12345681") == []


def test_finding_keeps_no_text_and_is_frozen() -> None:
    f = detect("주민번호 900101-1234568")[0]
    assert "900101" not in repr(f)
    with pytest.raises(AttributeError):
        f.start = 0  # type: ignore[misc]
    assert isinstance(f, Finding)
    assert f.type in ENTITY_TYPES


def test_min_score_validated() -> None:
    with pytest.raises(ValueError, match="min_score must be within"):
        Detector(min_score=1.5)


def test_empty_and_plain_text() -> None:
    assert DETECTOR.detect("") == []
    assert DETECTOR.detect("안녕하세요, 오늘 회의는 취소되었습니다.") == []


# Issue-5 accuracy fixes: (text, the findings as (type, matched text)). Each pairs a positive
# with the hard negative the same rule must leave alone.
ACCURACY = [
    # 1. cards: the issuer prefix fixes the length; IMEI/serial words are negative context
    ("IMEI 491586170075901", []),
    ("imei=354837405882686 carrier=SKT", []),
    ("S/N 4111111111111111", []),
    ("amex 378282246310005", [("CREDIT_CARD", "378282246310005")]),
    # 2. e-mail: a domain never ends in a file extension
    ("첨부 logo@3x.png 확인", []),
    ("GET /img/btn_close@2x.webp 304", []),
    ("메일 kim@corp.co.kr", [("EMAIL", "kim@corp.co.kr")]),
    # 3. four-part versions after a version word
    ("펌웨어 6.2.2.44 업데이트", []),
    ("빌드 3.0.4.6 / 커밋", []),
    ("firmware 10.1.2.3", []),
    ("서버 10.1.2.3 접속", [("IP_ADDRESS", "10.1.2.3")]),
    # 4. a CSV header cell / JSON key labels the value in its column / field
    (
        "이름,여권번호,우편번호\n권영희,M413D9517,22645",
        [
            ("KR_PASSPORT", "M413D9517"),
            ("KR_POSTAL_CODE", "22645"),
        ],
    ),
    (
        "이름,법인등록번호,송장번호\n정지우,200121-1143463,123456789012",
        [
            ("KR_CRN", "200121-1143463"),
        ],
    ),
    (
        "이름,주민등록번호,송장번호\n임지호,770404-2299409,60820412917",
        [
            ("KR_RRN", "770404-2299409"),
        ],
    ),
    ('{"name": "x", "corp_no": "131111-4083463"}', [("KR_CRN", "131111-4083463")]),
    ('{"brn": "3358232025"}', [("KR_BRN", "3358232025")]),
    ('{"sku": "3358232025"}', []),
    ("이름,수량\n권영희,22645", []),
    # 5. a bracketed postal code after an address is its own finding
    (
        "주소: 경기도 수원시 영통구 광교중앙로 382, 106동 403호 (우편번호 15649)",
        [
            ("KR_ADDRESS", "경기도 수원시 영통구 광교중앙로 382, 106동 403호"),
            ("KR_POSTAL_CODE", "15649"),
        ],
    ),
    (
        "광주광역시 북구 용봉로 624 [62858]",
        [
            ("KR_ADDRESS", "광주광역시 북구 용봉로 624"),
            ("KR_POSTAL_CODE", "62858"),
        ],
    ),
    ("우: 52224", [("KR_POSTAL_CODE", "52224")]),
    (
        "성남시 분당구 판교역로 235 (삼평동)",
        [("KR_ADDRESS", "성남시 분당구 판교역로 235 (삼평동)")],
    ),
    # 6. addresses written without spaces (OCR)
    ("주소:광주서구무진대로222번길8931506호", [("KR_ADDRESS", "광주서구무진대로222번길8931506호")]),
    (
        "주소:경북포항시 남구희망대로240102동804호",
        [
            ("KR_ADDRESS", "경북포항시 남구희망대로240102동804호"),
        ],
    ),
    # 7. an old plate's region is part of the plate
    ("차량 서울79아3447 주차", [("KR_VEHICLE_PLATE", "서울79아3447")]),
    ("경기도 12가3456", [("KR_VEHICLE_PLATE", "12가3456")]),
    # 8. bank context: new banks, a glued abbreviation, the bank after, spaced headings
    ("토스 1000-5468-8785 여기로", [("BANK_ACCOUNT_KR", "1000-5468-8785")]),
    ("지급 계좌 KB885141-94-279916", [("BANK_ACCOUNT_KR", "885141-94-279916")]),
    ("1002 915 523822 ( 우리 )", [("BANK_ACCOUNT_KR", "1002 915 523822")]),
    ("계 좌 번 호 367-136934-86236", [("BANK_ACCOUNT_KR", "367-136934-86236")]),
    ("예금주 홍길동, 서류번호 543-78-24278 참조", []),
    ("예금주 홍길동\n특허 10-2026-2872561", []),
    ("(카뱅, 예금주 조시우) 본인 주민등록번호(2310253998541)", [("KR_RRN", "2310253998541")]),
    ("AB1234567890 계좌", []),
    # 9. a negative word labels the nearest number only
    ("서류번호 993-67-20447 참조 정도윤 120621-3922548 확인", [("KR_RRN", "120621-3922548")]),
    ("예약번호 XCSMMJ 박지우 861016-1872865", [("KR_RRN", "861016-1872865")]),
    ("예약번호: 861016-1872865", []),
    (
        "코드 22 송장번호 8210202243655",
        [],
    ),  # `송장번호` is one label, next to its number  # right after it: 0.45, below min_score
    # 10. unbroken legacy phones; no 15xx/16xx/18xx slice of a longer group sequence
    ("차량 이동 부탁드립니다 0184729314 감사", [("PHONE_KR", "0184729314")]),
    ("회사 번호는 022413090이고", [("PHONE_KR", "022413090")]),
    ("쿠폰 9217 3211 1579 9917", []),
    ("대표 1588 1234", [("PHONE_KR", "1588 1234")]),
    ("Pt. ID 023751001, DOB 671108", []),
    # 11. FRN in a CSV cell and after a spaced heading
    ("외 국 인 등 록 증 810621-6396494", [("KR_FRN", "810621-6396494")]),
    ("이름,외국인등록번호\n최서연,7510266234049", [("KR_FRN", "7510266234049")]),
    # 12. the passport word in any letter case
    ("PASSport no. M12345678", [("KR_PASSPORT", "M12345678")]),
]


@pytest.mark.parametrize(("text", "expected"), ACCURACY)
def test_accuracy_rule(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == expected


# Issue 14: Korean identifiers the detector missed (docs/pii.md). Each positive is paired with the
# hard negative the same rule must leave alone.
ISSUE_14 = [
    # 1. RRNs issued since 2020-10: random digits after the gender digit, no context word needed
    ("고객 0503154123457 확인", [("KR_RRN", "0503154123457")]),
    ("고객 050315-4123457 확인", [("KR_RRN", "050315-4123457")]),
    ("9112315678901", [("KR_FRN", "9112315678901")]),
    ("ts=1710198248626", []),  # a millisecond timestamp needs its word (docs/pii.md)
    ("1710198248626 (외국인등록번호)", [("KR_FRN", "1710198248626")]),
    ("171019-8248626", [("KR_FRN", "171019-8248626")]),
    ("외국인 111231-5678901", [("KR_FRN", "111231-5678901")]),
    ("주민번호 9901019123456", [("KR_RRN", "9901019123456")]),  # born 1899: needs the word
    ("9901019123456", []),
    ("값 2713013123456", []),  # born 2027-13-01: no such month
    ("값 3001013123456", []),  # born 2030-01-01: in the future
    ("값 900230-1234567", []),  # 30 February
    # 2. EAN-13 barcodes (GS1 Korea 880) are no RRN; the hyphenated form or an RRN word is
    ("상품 바코드 8801231234569", []),
    ("8801231234569", []),
    ("8805122123451", []),  # valid EAN and valid RRN checksum: unbroken, no word → barcode
    ("주민번호 8801231234569", [("KR_RRN", "8801231234569")]),
    ("고객 880123-1234569", [("KR_RRN", "880123-1234569")]),
    ("바코드 880123-1234569", []),
    ("재고 EAN 6901231123459", []),  # any valid EAN-13 next to a product word
    ("고객 6901231123459", [("KR_RRN", "6901231123459")]),
    # 3. phones: the whole national numbering plan
    ("안심번호 0504-1234-5678로 연락", [("PHONE_KR", "0504-1234-5678")]),
    ("050812345678", [("PHONE_KR", "050812345678")]),
    ("0509-1234-5678", []),
    ("050-1140-4796", []),  # 0501: not a personal-number block
    ("안심번호: 0503-0884-2483", [("PHONE_KR", "0503-0884-2483")]),
    ("판매자 번호 0507-491-5153", [("PHONE_KR", "0507-491-5153")]),
    ("[광고] 무료 수신거부 080-564-5102", [("PHONE_KR", "080-564-5102")]),
    ("080-5643-5102", []),  # free-call numbers have 10 digits
    ("콜센터 18552216", [("PHONE_KR", "18552216")]),
    ("18552216", []),
    ("(02) 123-4567로 전화", [("PHONE_KR", "(02) 123-4567")]),
    ("본사 (031)123-4567", [("PHONE_KR", "(031)123-4567")]),
    ("TEL 02)555-1234", [("PHONE_KR", "02)555-1234")]),
    ("(010) 1234-5678", [("PHONE_KR", "(010) 1234-5678")]),
    ("(09) 123-4567", []),
    ("각주 (1) 123-4567", []),
    ("수신자부담 080-123-4567", [("PHONE_KR", "080-123-4567")]),
    ("인터넷전화 070-1234-5678", [("PHONE_KR", "070-1234-5678")]),
    ("정보이용 060-700-1234", [("PHONE_KR", "060-700-1234")]),
    ("+82-2-123-4567", [("PHONE_KR", "+82-2-123-4567")]),
    ("+82 31 123 4567", [("PHONE_KR", "+82 31 123 4567")]),
    ("대표 1644-1234", [("PHONE_KR", "1644-1234")]),
    ("017-123-4567", [("PHONE_KR", "017-123-4567")]),
    # 4. driver licences with the region written as a name
    ("운전면허 서울 91-123456-78", [("KR_DRIVER_LICENSE", "서울 91-123456-78")]),
    ("면허번호: 부산03-654321-12", [("KR_DRIVER_LICENSE", "부산03-654321-12")]),
    ("경기 88-000123-45 발급", [("KR_DRIVER_LICENSE", "경기 88-000123-45")]),
    ("세종 91-123456-78", []),  # 세종 has no licence region
    ("서울시 91-123456-78", []),
    # 5. passports: the current form needs no context word, the older one still does
    ("M123A4567 발급", [("KR_PASSPORT", "M123A4567")]),
    ("번호 S987B6543 확인", [("KR_PASSPORT", "S987B6543")]),
    ("M12345678 확인", []),
    ("모델 M123A4567", []),
    ("XM123A4567", []),
    # 6. health-insurance card numbers (건강보험증번호): 11 digits, context only
    ("건강보험증 번호 12345678901", [("KR_HEALTH_INSURANCE", "12345678901")]),
    ("증번호: 51234567890", [("KR_HEALTH_INSURANCE", "51234567890")]),
    ("health insurance card no. 12345678901", [("KR_HEALTH_INSURANCE", "12345678901")]),
    ("건강보험 번호 01012345678", [("KR_HEALTH_INSURANCE", "01012345678")]),
    ("영수증번호 12345678901", []),
    ("건강보험 사업장관리번호 12345678901", []),
    ("번호 12345678901", []),
    ("요양기관번호 12345678", []),
    # 7. bank accounts in grouped layouts near a bank name or account word
    ("우리은행 1002-123-456789", [("BANK_ACCOUNT_KR", "1002-123-456789")]),
    ("국민 123456-12-123456", [("BANK_ACCOUNT_KR", "123456-12-123456")]),
    ("신한 110-123-456789", [("BANK_ACCOUNT_KR", "110-123-456789")]),
    ("하나은행 123-456789-12345", [("BANK_ACCOUNT_KR", "123-456789-12345")]),
    ("농협 302-1234-5678-91", [("BANK_ACCOUNT_KR", "302-1234-5678-91")]),
    ("IBK기업은행 123-456789-01-012", [("BANK_ACCOUNT_KR", "123-456789-01-012")]),
    ("카카오뱅크 3333-01-1234567", [("BANK_ACCOUNT_KR", "3333-01-1234567")]),
    ("토스뱅크 1000-1234-5678", [("BANK_ACCOUNT_KR", "1000-1234-5678")]),
    ("농협 302-1234-567890-1", [("BANK_ACCOUNT_KR", "302-1234-567890-1")]),
    ("새마을금고 계좌 9002-1234-5678-9", [("BANK_ACCOUNT_KR", "9002-1234-5678-9")]),
    ("계좌 1234567890-1", []),  # one group and a check digit: no layout
    ("번호 3333-01-1234567", []),
    ("9205-5088-4247-4 MG새마을금고 으로 입금", [("BANK_ACCOUNT_KR", "9205-5088-4247-4")]),
    ("iM뱅크 815-02-7611548", [("BANK_ACCOUNT_KR", "815-02-7611548")]),
    # the account holder's RRN next to a bank word is an RRN; so is a number under an RRN word
    ("예금주 강하윤 (630301-1568782) 명의", [("KR_RRN", "630301-1568782")]),
    ("주민등록번호 오류: 3010123990543 신한 계좌", []),
    ("케이뱅크 이체, 상품 바코드 8802111925188", []),
    ("제일은행 069-20-706351 NHIS health insurance", [("BANK_ACCOUNT_KR", "069-20-706351")]),
]


@pytest.mark.parametrize(("text", "expected"), ISSUE_14)
def test_issue_14_identifier(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == expected


def test_post_2020_rrn_passes_the_built_in_policy_floor() -> None:
    """The built-in policy pseudonymizes RRNs; a number with a failed checksum must reach it."""
    from sumun.policy.rules import DEFAULT_POLICY

    floor = DEFAULT_POLICY.pii.min_score
    rule = next(r for r in DEFAULT_POLICY.pii.rules if "KR_RRN" in r.types)
    assert rule.action == "pseudonymize"
    for text in ("0503154123457", "050315-4123457", "9507221234561"):
        found = Detector(min_score=floor).detect(text)
        assert [f.type for f in found] == ["KR_RRN"], text
        assert found[0].score >= max(floor, rule.min_score)


def test_future_birth_date_follows_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from sumun.policy.pii import _numbers

    monkeypatch.setattr(_numbers, "today", lambda: dt.date(2026, 1, 1))
    assert DETECTOR.detect("값 2601013123457") != []
    assert DETECTOR.detect("값 2601023123457") == []


IO_MODULES = ("os", "io", "socket", "subprocess", "pathlib", "shutil", "sqlite3", "http", "urllib")


def test_policy_does_no_io() -> None:
    """STYLE.md §12: `sumun.policy` is pure — no I/O modules, no file or network access."""
    offenders = []
    for path in sorted(POLICY.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names = [node.func.id] if node.func.id in ("open", "print", "input") else []
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in IO_MODULES
                or n in ("open", "print", "input")
                or (
                    "pii" in path.parts
                    and n.startswith("sumun.")
                    and not n.startswith("sumun.policy")
                )
            ]
    assert not offenders, offenders
