"""Context words that raise or lower confidence; passport, account and postal code need them.

Korean words match anywhere (particles attach directly: `주민번호는900101-…`); English words must
not continue a longer word on the left (`part` does not match inside `department`).
"""

from __future__ import annotations

import re

__all__ = ["NEGATIVE", "POSITIVE", "keyword_pattern"]


def _trie(words: list[str]) -> str:
    """A regex alternation factored by common prefixes: one branch per first character.

    Python's `re` tries alternatives one by one; a trie keeps the work per position constant.
    """
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:  # type: ignore[type-arg]
        end = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            return f"(?:{body})?"
        return body

    return emit(tree)


def keyword_pattern(words: str) -> re.Pattern[str]:
    """Compile whitespace-separated keywords into one case-insensitive pattern.

    `_` in a keyword matches `_`, a space or nothing (`tax_id`, `tax id`, `taxid`).
    """
    english = [w.lower() for w in words.split() if w.isascii()]
    korean = [w for w in words.split() if not w.isascii()]
    parts = []
    if english:
        parts.append(f"(?<![a-z])(?:{_trie(english).replace('_', '[_ ]?')})")
    if korean:
        parts.append(_trie(korean))
    return re.compile("|".join(parts), re.IGNORECASE)


_BANKS = (
    "은행 국민 KB 신한 우리 하나 농협 NH 기업 IBK SC제일 씨티 카카오뱅크 카뱅 토스뱅크 케이뱅크 "
    "새마을 신협 우체국 수협 산업은행 KDB 부산 대구 경남 광주 전북 제주"
)

POSITIVE: dict[str, re.Pattern[str]] = {
    "KR_RRN": keyword_pattern("주민 주민등록 생년월일 resident rrn ssn jumin"),
    "KR_FRN": keyword_pattern("외국인 외국인등록 alien foreigner frn arc 등록증"),
    "KR_CRN": keyword_pattern("법인 법인등록 corporate corporation crn 등기"),
    "KR_BRN": keyword_pattern("사업자 사업자등록 business brn 사업장 tax_id 등록번호 biz"),
    "PHONE_KR": keyword_pattern(
        "전화 연락처 연락 휴대폰 핸드폰 휴대전화 폰 phone tel mobile cell call fax 팩스 문의"
    ),
    "CREDIT_CARD": keyword_pattern("카드 card visa master amex 결제 credit 신용 체크카드"),
    "BANK_ACCOUNT_KR": keyword_pattern(
        _BANKS + " 계좌 입금 이체 송금 환불계좌 예금주 account acct bank deposit"
    ),
    "KR_DRIVER_LICENSE": keyword_pattern("면허 운전 driver license licence"),
    "KR_PASSPORT": keyword_pattern("여권 passport"),
    "KR_POSTAL_CODE": keyword_pattern("우편번호 우편 우) (우 [우 zip zipcode postal postcode"),
}

# Words that mark a number as something other than personal data: orders, shipments, builds.
NEGATIVE: re.Pattern[str] = keyword_pattern(
    "주문 송장 운송장 invoice order tracking 배송 택배 접수번호 예약번호 티켓 ticket isbn 버전 "
    "version ver. build 빌드 모델 model 부품 part sku serial 시리얼 일련번호 승인번호 거래번호 "
    "transaction txn 참조 ref timestamp epoch ts 품번 제품번호 상품번호 문서번호 사건번호 쿠폰 "
    "coupon 회원번호 고객번호 관리번호 request req trace span uuid 재고 lot 로트 batch 배치 "
    "hash 해시 checksum"
)
