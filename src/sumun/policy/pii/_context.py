"""Context words that raise or lower confidence; passport, account and postal code need them.

Korean words match anywhere (particles attach directly: `주민번호는900101-…`); English words must
not continue a longer word on the left (`part` does not match inside `department`). Matching is
case-insensitive, exactly as `re.IGNORECASE` would do it.

Speed: the detector searches these patterns in a short window before every candidate number, so
they are built for `re`'s fast paths (a window search costs close to a literal search): no
`IGNORECASE` flag — it disables both `re`'s scan-ahead for possible first characters and its
quick skip of alternatives that start with another literal — but explicit case classes instead;
every top-level alternative starts with one literal character (case variants spelled out as
separate alternatives), and the English words' "no letter on the left" test comes after that
first character as a two-wide look-behind. The language matched is the same as that of
`(?<![a-z])(?:english…)|korean…` under `re.IGNORECASE` (English alternatives first).
"""

from __future__ import annotations

import re

__all__ = ["NEGATIVE", "POSITIVE", "Context", "keyword_pattern"]

# What `re.IGNORECASE` lets an ASCII letter match besides its two cases (found by testing every
# code point): dotted and dotless i, the long s, the Kelvin sign.
_FOLD_EXTRA = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}
_LETTER = "[A-Za-z" + "".join(_FOLD_EXTRA.values()) + "]"

_Tree = dict[str, "_Tree"]


def _variants(ch: str) -> str:
    """Every character `ch` matches case-insensitively."""
    if ch.isascii() and ch.isalpha():
        low = ch.lower()
        return low.upper() + low + _FOLD_EXTRA.get(low, "")
    return ch


def _char(ch: str) -> str:
    if ch == "_":
        return "[_ ]?"  # `tax_id`, `tax id`, `taxid`
    v = _variants(ch)
    return re.escape(v) if len(v) == 1 else f"[{v}]"


def _tree(words: list[str]) -> _Tree:
    """A trie over the words; ASCII letters fold to lower case."""
    tree: _Tree = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch.lower() if ch.isascii() else ch, {})
        node[""] = {}
    return tree


def _emit(node: _Tree) -> str:
    """A regex alternation factored by common prefixes: one branch per next character.

    Python's `re` tries alternatives one by one; a trie keeps the work per position constant.
    """
    end = "" in node
    branches = [_char(ch) + _emit(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if end else body


def _first(tree: _Tree, guard: str) -> list[str]:
    """Top-level alternatives, each starting with one literal character, then `guard`."""
    return [
        re.escape(lit) + guard + _emit(child)
        for ch, child in sorted(tree.items())
        for lit in _variants(ch)
    ]


def keyword_pattern(words: str) -> re.Pattern[str]:
    """Compile whitespace-separated keywords into one case-insensitive pattern.

    `_` in a keyword matches `_`, a space or nothing (`tax_id`, `tax id`, `taxid`). Keywords
    that are all ASCII are English: they must not follow a letter.
    """
    english = [w for w in words.split() if w.isascii()]
    korean = [w for w in words.split() if not w.isascii()]
    alternatives = _first(_tree(english), f"(?<!{_LETTER}.)") + _first(_tree(korean), "")
    return re.compile("(?:" + "|".join(alternatives) + ")")


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

_BEFORE = 30  # context window, code points before a candidate
_NEG_BEFORE = 20
_AFTER = 12  # a word right after the candidate, within this many code points
_OTHER_NUMBER = re.compile(r"[0-9]{3}")


class Context:
    """Lazy, cached context look-ups around one candidate `text[start:end]`.

    The nearest word wins: `주문번호 … 국민은행 계좌 1234…` is an account, `계좌 … ts=1700…` is
    not. Words after the candidate count only right next to it (`900101-1234568 (주민번호)`) and
    only when no negative word precedes it. Each look-up searches a window of a few dozen code
    points, so a candidate costs the same in a long document as in a short one.
    """

    __slots__ = ("_hits", "_neg", "end", "start", "text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.start, self.end = text, start, end
        self._hits: dict[str, bool] = {}
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
        while (m := rx.search(t, last, s)) is not None:  # cheaper than `finditer` here
            last = m.end()  # every keyword is at least one code point: no empty match
        if _OTHER_NUMBER.search(t, last, s):
            return -1
        return last

    def _neg_end(self) -> int:
        if self._neg is None:
            self._neg = self._last(NEGATIVE, _NEG_BEFORE)
        return self._neg

    def has(self, kind: str) -> bool:
        """True if a `kind` word (a `POSITIVE` key) marks this candidate."""
        hit = self._hits.get(kind)
        if hit is None:
            rx = POSITIVE[kind]
            last = self._last(rx, _BEFORE)
            if last >= 0:
                hit = last > self._neg_end()
            else:
                # right after the number: `900101-1234568 (주민번호)`
                t, p = self.text, self.end
                while p < len(t) and p < self.end + 2 and t[p] in " ([":
                    p += 1
                hit = rx.match(t, p, p + _AFTER) is not None and self._neg_end() < 0
            self._hits[kind] = hit
        return hit

    def negative(self) -> bool:
        """True if a negative word (order, invoice, version…) precedes the candidate."""
        return self._neg_end() >= 0
