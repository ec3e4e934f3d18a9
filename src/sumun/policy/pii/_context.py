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

import csv
import re

__all__ = ["AUXILIARY", "NEGATIVE", "POSITIVE", "Context", "keyword_pattern"]

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
    "새마을 신협 우체국 수협 산업은행 KDB 부산 대구 경남 광주 전북 제주 토스 케이뱅크 K뱅크 뱅크 "
    "MG새마을 iM뱅크 아이엠뱅크"
)

POSITIVE: dict[str, re.Pattern[str]] = {
    "KR_RRN": keyword_pattern("주민 주민등록 생년월일 resident rrn ssn jumin"),
    "KR_FRN": keyword_pattern("외국인 외국인등록 alien foreigner frn arc 등록증"),
    "KR_CRN": keyword_pattern("법인 법인등록 corporate corporation corp crn 등기"),
    "KR_BRN": keyword_pattern("사업자 사업자등록 business brn 사업장 tax_id 등록번호 biz"),
    "PHONE_KR": keyword_pattern(
        "전화 연락처 연락 휴대폰 핸드폰 휴대전화 폰 phone tel mobile cell call fax 팩스 문의 "
        "콜센터 고객센터 대표번호 안심번호 수신거부"
    ),
    "CREDIT_CARD": keyword_pattern("카드 card visa master amex 결제 credit 신용 체크카드"),
    "BANK_ACCOUNT_KR": keyword_pattern(
        _BANKS + " 계좌 입금 이체 송금 환불계좌 예금주 account acct bank deposit"
    ),
    "KR_DRIVER_LICENSE": keyword_pattern("면허 운전 driver license licence"),
    "KR_PASSPORT": keyword_pattern("여권 passport"),
    "KR_POSTAL_CODE": keyword_pattern(
        "우편번호 우편 우) (우 [우 우: 우. zip zipcode postal postcode"
    ),
    # 건강보험증번호 (docs/pii.md): `증번호` is the card's own label; `health insurance` alone
    # also covers "health insurance card/number/no."
    "KR_HEALTH_INSURANCE": keyword_pattern(
        "건강보험증 보험증 의료보험증 증번호 건강보험_번호 건보_번호 health_insurance nhis"
    ),
}

# Words that decide between two readings of one number, not types of their own:
# - `_BARCODE`: a 13-digit `880…` number with a valid EAN-13 check digit near these is a product
#   barcode (GS1 Korea), not a resident number;
# - `_NOT_HEALTH_INSURANCE`: 11-digit numbers that health-insurance papers also carry (the
#   workplace number 사업장관리번호, provider codes) and words ending in `증번호` that are not the
#   card (영수증번호 receipt, 인증번호 verification code, 보증번호 guarantee).
AUXILIARY: dict[str, re.Pattern[str]] = {
    "_BARCODE": keyword_pattern(
        "바코드 상품 재고 제품 품목 입고 출고 유통 barcode ean gtin upc product sku item"
    ),
    "_NOT_HEALTH_INSURANCE": keyword_pattern(
        "사업장 요양기관 기관번호 영수증 인증번호 보증번호 검증번호 workplace employer provider"
    ),
}
_PATTERNS = {**POSITIVE, **AUXILIARY}

# Words that mark a number as something other than personal data: orders, shipments, builds.
NEGATIVE: re.Pattern[str] = keyword_pattern(
    "주문 송장 운송장 invoice order tracking 배송 택배 접수번호 예약번호 티켓 ticket isbn 버전 "
    "version ver. build 빌드 모델 model 부품 part sku serial 시리얼 일련번호 승인번호 거래번호 "
    "transaction txn 참조 ref timestamp epoch ts 품번 제품번호 상품번호 문서번호 사건번호 쿠폰 "
    "coupon 회원번호 고객번호 관리번호 request req trace span uuid 재고 lot 로트 batch 배치 "
    "hash 해시 checksum imei meid s/n 서류번호 문서 특허 출원번호 계약번호 학번 pt._id patient_id "
    "차트 환자번호"
)

_BEFORE = 30  # context window, code points before a candidate
_NEG_BEFORE = 20
_AFTER = 12  # a word right after the candidate, within this many code points
_OTHER_NUMBER = re.compile(r"[0-9]{3}")
# `계 좌 번 호`: a heading written with a space between syllables (forms, OCR)
_SPACED = re.compile(r"[가-힣] [가-힣] [가-힣]")
# A negative word belongs to the candidate only across a short gap: at most this many code points
# besides spaces and punctuation (`주문번호는 1234`), and none of them digits.
_NEG_GAP = 4
_GAP_FILLER = re.compile(r"[\s\W_]+")
_NUMBER_BEFORE = re.compile(r"[0-9][\s\W_]{0,2}\Z")
# JSON `"key": "value"` / `"key": value`: the key right before the candidate
_JSON_KEY = re.compile(r'"([^"\n]{1,40})"\s?:\s?"?\Z')
_CSV_LINE = 2000  # longer lines are prose, not table rows
_CSV_ROWS = 200  # how far up a table its header is looked for


class Context:
    """Lazy, cached context look-ups around one candidate `text[start:end]`.

    The nearest word wins: `주문번호 … 국민은행 계좌 1234…` is an account, `계좌 … ts=1700…` is
    not. Words after the candidate count only right next to it (`900101-1234568 (주민번호)`) and
    only when no negative word precedes it. Each look-up searches a window of a few dozen code
    points, so a candidate costs the same in a long document as in a short one.

    A value in a table or JSON object is labelled by its field: the CSV header cell of its column
    or the JSON key right before it. A field that holds any context word decides alone (the
    neighbouring cells are other fields' values, not context).
    """

    __slots__ = ("_field", "_hits", "_neg", "_spaced", "end", "start", "text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.start, self.end = text, start, end
        self._hits: dict[str, bool] = {}
        self._neg: int | None = None
        self._field: str | None = None
        self._spaced: bool | None = None  # the window before holds a spaced heading

    def _last(self, rx: re.Pattern[str], width: int) -> int:
        """End of the last `rx` match in the `width` code points before the candidate, or -1.

        A word with another number between it and the candidate belongs to that number.
        """
        t, s = self.text, self.start
        ws = max(0, s - width)
        m = rx.search(t, ws, s)
        if m is None:
            return self._last_spaced(rx, ws)
        last = m.end()
        while (m := rx.search(t, last, s)) is not None:  # cheaper than `finditer` here
            last = m.end()  # every keyword is at least one code point: no empty match
        if _OTHER_NUMBER.search(t, last, s):
            return -1
        return last

    def _last_spaced(self, rx: re.Pattern[str], ws: int) -> int:
        """`계 좌 번 호 1234…`: the window with its spaces removed, if it has such a heading."""
        t, s = self.text, self.start
        if self._spaced is None:
            self._spaced = _SPACED.search(t, ws, s) is not None
        if not self._spaced:
            return -1
        where = [i for i in range(ws, s) if t[i] != " "]
        compact = "".join(t[i] for i in where)
        found = [m.end() for m in rx.finditer(compact)]
        if not found:
            return -1
        last = where[found[-1] - 1] + 1
        return -1 if _OTHER_NUMBER.search(t, last, s) else last

    def _neg_end(self) -> int:
        if self._neg is None:
            self._neg = self._nearest_negative()
        return self._neg

    def _nearest_negative(self) -> int:
        """End of a negative word that labels this candidate, or -1.

        It labels the nearest number only: the gap to the candidate must be short
        (`주문번호: 1234`), and a word right after another number (`1234 참조 홍길동 5678`)
        belongs to that number unless the candidate follows it at once.
        """
        t, s = self.text, self.start
        ws = max(0, s - _NEG_BEFORE)
        m = NEGATIVE.search(t, ws, s)
        if m is None:
            return -1
        while (nxt := NEGATIVE.search(t, m.end(), s)) is not None:
            m = nxt
        gap = _GAP_FILLER.sub("", t[m.end() : s]).removeprefix("번호")  # `송장번호`: one label
        if len(gap) > _NEG_GAP or any(c.isdigit() for c in gap):
            return -1
        if gap and _NUMBER_BEFORE.search(t, max(0, m.start() - 3), m.start()):
            return -1
        return m.end()

    def field(self) -> str:
        """The label of the field holding the candidate (CSV header cell, JSON key), or ''."""
        if self._field is None:
            t, s = self.text, self.start
            self._field = ""
            # cheap test first: a field value follows `"`, `:`, `: `, `,` or a line break
            if s >= 2 and (t[s - 1] in ':",\n' or t[s - 2 : s] == ": "):
                label = _json_key(t, s) or _csv_header(t, s, self.end)
                if label and _labels_anything(label):
                    self._field = label
        return self._field

    def has(self, kind: str) -> bool:
        """True if a `kind` word (a `POSITIVE` or `AUXILIARY` key) marks this candidate."""
        hit = self._hits.get(kind)
        if hit is None:
            rx = _PATTERNS[kind]
            field = self.field()
            if field:
                hit = rx.search(field) is not None
                self._hits[kind] = hit
                return hit
            last = self._last(rx, _BEFORE)
            if last >= 0:
                hit = last > self._neg_end()
            else:
                # right after the number: `900101-1234568 (주민번호)`, `1002 915 523822 ( 우리 )`
                t, p = self.text, self.end
                while p < len(t) and p < self.end + 3 and t[p] in " ([":
                    p += 1
                hit = rx.match(t, p, p + _AFTER) is not None and self._neg_end() < 0
            self._hits[kind] = hit
        return hit

    def nearer(self, kind: str, other: str) -> bool:
        """True if the last `kind` word before the candidate is nearer than any `other` word.

        Used where one number can be two types (`NHIS` after an account number).
        """
        mine = self._last(_PATTERNS[kind], _BEFORE)
        return mine > self._last(_PATTERNS[other], _BEFORE) or (
            mine < 0 and self._last(_PATTERNS[other], _BEFORE) < 0
        )

    def negative(self) -> bool:
        """True if a negative word (order, invoice, version…) labels the candidate."""
        field = self.field()
        if field:
            return NEGATIVE.search(field) is not None
        return self._neg_end() >= 0


def _labels_anything(label: str) -> bool:
    return NEGATIVE.search(label) is not None or any(
        rx.search(label) is not None for rx in POSITIVE.values()
    )


def _json_key(t: str, s: int) -> str:
    if s < 2 or not (t[s - 1] in ':"' or (t[s - 1] == " " and t[s - 2] == ":")):
        return ""
    m = _JSON_KEY.search(t, max(0, s - 48), s)
    return m.group(1) if m else ""


def _csv_header(t: str, s: int, e: int) -> str:
    """The header cell above a value that fills a whole CSV cell, or ''.

    The header is the first line of the block of lines with as many cells as the value's line,
    found at most `_CSV_ROWS` lines up; a header line holds no digits in the value's column.
    """
    q = 1 if s > 0 and t[s - 1] == '"' else 0
    before = t[s - 1 - q] if s - 1 - q >= 0 else "\n"
    after = t[e + q] if e + q < len(t) else "\n"
    if before not in ",\n" or after not in ",\r\n" or (before == after == "\n"):
        return ""
    line_start = t.rfind("\n", 0, s) + 1
    line_end = t.find("\n", e)
    line_end = len(t) if line_end < 0 else line_end
    if line_end - line_start > _CSV_LINE or line_start == 0:
        return ""
    width = len(_cells(t[line_start:line_end]))
    column = len(_cells(t[line_start:s] + "x")) - 1
    header = ""
    end = line_start - 1
    for _ in range(_CSV_ROWS):
        start = t.rfind("\n", 0, end) + 1
        cells = _cells(t[start:end])
        if len(cells) != width:
            break
        header = cells[column]
        if start == 0:
            break
        end = start - 1
    return "" if any(c.isdigit() for c in header) else header


def _cells(line: str) -> list[str]:
    return next(csv.reader([line]), [])
