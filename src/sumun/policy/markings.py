"""Where a classification word stands: a document marking, or a word in running text.

Under N2SF a grade rests on formal designation (Information Disclosure Act art. 9(1); the
Security Work Regulation's Ⅰ·Ⅱ·Ⅲ급 비밀), so "비밀번호를 잊었어요" or "the secret to a good kimchi"
must not make a request C. `is_marking(text, start, end)` says whether the word found at
`text[start:end]` stands where agencies put markings (docs/policy.md, "What counts as a
marking"):

1. a line of its own, possibly decorated (`// SECRET //`, `- 대외비 -`, `== Ⅱ급 비밀 ==`),
   with handling tails (`//NOFORN`, `(2026. 12. 31.까지)`, `취급주의`, page numbers), but not
   a bulleted list item inside a text; or the right-hand column of a header or footer line
   (`기획-123      대외비`, `- 3 -  대외비`);
2. a bracketed tag opening or closing a line, also after a mail prefix (`[대외비] 3분기 실적`,
   `회의록 【Ⅲ급 비밀】`, `RE: [Confidential] …`);
3. a labelled field or marking table (`보안등급: 비밀`, `| 보안등급 | Ⅲ급 비밀 |`,
   `Classification: SECRET`), the label in the same cell, the cell before, or the table header;
4. the lead of the first or last non-blank line, followed by a separator
   (`대외비: 3분기 실적 전망`, `TOP SECRET//NOFORN …`);
5. a sentence stating the document's grade (`본 문서는 대외비로 분류됨`,
   `This document is classified SECRET`); the bare word 비밀 only with a designating verb
   (분류·지정), so "이 내용은 비밀로 해 주세요" stays running text.

English words count in form 1 only in capitals or title case, in form 4 only in capitals
(Confidential excepted): "secret / 비밀" is a glossary line, "Secret: …" a chat message.
Pure: only strings in, a bool out; it runs only on the few hits the anchored regexes of
`MarkerSet` find.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_marking"]

# Decoration around a marking: rules, boxes, stars, colons, table bars, whitespace (NFKC-folded,
# so full-width forms arrive here as ASCII).
# 《 》 and 〈 〉 are left out: Korean typography sets titles of works in them (《비밀》 후기).
_DECOR = r"\s\-–—=_*#~|/\\:·•ㆍ※■□▣◆◇○●▶◀►◄\[\]<>【】〔〕()"
# Box-drawing bars of tables converted from word processors read as "|".
_BARS = str.maketrans({"│": "|", "┃": "|", "║": "|"})  # NFKC already folds ｜
_OPEN = "[<【〔"
_CLOSE = {"[": "]", "<": ">", "【": "】", "〔": "〕"}

# The marking words, as they may be joined on one line ("대외비 / CONFIDENTIAL"). Latin words
# only in capitals or title case: "secret / 비밀" is a glossary line, not a marking.
_GRADE = r"(?:Ⅰ|Ⅱ|Ⅲ|III|II|I|[1-3])"
_TERM = (
    rf"(?:군사\s*)?{_GRADE}(?:\s*[·ㆍ,/]\s*{_GRADE})*\s*급\s*비밀|비밀|대외비|내부용|내부\s*한정"
    r"|TOP\s+SECRET|Top\s+Secret|SECRET|Secret|CONFIDENTIAL|Confidential"
)
# Qualifiers seen before CONFIDENTIAL in company markings.
_QUALIFIER = r"(?:STRICTLY|Strictly|HIGHLY|Highly|PRIVATE\s*(?:AND|&)|Private\s*(?:and|&))\s+"
_LABEL = (
    r"(?:문서\s*)?(?:보안|비밀|문서)\s*(?:등급|분류|구분|표시|수준)|보안|등급|분류"
    r"|(?:security\s+)?classification|security\s+(?:level|marking|label)|marking|sensitivity"
)
# Handling tails after a marking: caveats, release dates, copy and page numbers.
_TAIL = (
    r"//\s*[A-Z][A-Z0-9 ,/-]*"
    r"|\([^()]*\)"
    r"|취급\s*(?:주의|유의)"
    r"|(?:해제\s*예고문?|예고문)\s*[:.]?.*"
    r"|(?:사본|copy|no\.?)\s*(?:번호\s*)?[:.]?\s*\d+(?:\s*(?:/|of)\s*\d+)?\s*(?:부|매)?"
    r"|(?:page\s*)?\d+\s*(?:/|of)\s*\d+|-\s*\d+\s*-|\d+\s*(?:쪽|면|page)"
)

# _TERM's case forms matter, so only the decoration, labels and tails ignore case.
# Possessive stars: these run on arbitrary lines and must never backtrack exponentially; tails
# come first so "(" opens a parenthesised release date before it is taken as decoration.
# a page number beside the marking in a footer ("- 3 -  대외비"); its dashes are decoration
_PAGE = r"(?:page\s*|p\.\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?"
_PREFIX_OK = re.compile(
    rf"(?i:[{_DECOR}])*+(?:(?:(?i:{_LABEL})|{_TERM}|{_QUALIFIER}|(?i:{_PAGE}))(?i:[{_DECOR}])*+)*+"
)
_SUFFIX_OK = re.compile(rf"(?:(?i:{_TAIL})|{_TERM}|(?i:[{_DECOR}]))*+")
_DECOR_ONLY = re.compile(rf"[{_DECOR}]*+")
_QUALIFIED = re.compile(rf"{_QUALIFIER}$")
_LABELLED = re.compile(rf"(?:^|[\s|,;/(\[])(?:{_LABEL})\s*[:=|]\s*$", re.IGNORECASE)
_FIELD_START = re.compile(r"(?:^|[\s|,;/(\[])$")
_FIELD_END = re.compile(r"\s*(?:$|[|,;/)\]]|\s\s|\t)")
_LEAD_SEPARATOR = re.compile(r"\s*(?:$|[:\-–—|/]|\s\s|\t)")
_LABEL_CELL = re.compile(rf"\s*(?:{_LABEL})\s*[:=]?\s*", re.IGNORECASE)
_TABLE_RULE = re.compile(r"[\s|:+\-=]*")
_BULLET = re.compile(r"\s*[-*+•·ㆍ○●◦▪▶►]\s*")
_WIDE_GAP_END = re.compile(r"(?: {3,}|\t)[^\S\n]*$")
_MAIL_SUBJECT = re.compile(
    r"^\s*(?:(?:제목|subject|title|re|fw|fwd|회신|전달)\s*:\s*)+", re.IGNORECASE
)

# Form 5: a sentence about the document stating its grade.
_SUBJECT_KO = re.compile(
    r"(?:본|이|해당|당해|동|상기|위|첨부한?)\s*"
    r"(?:문서|자료|보고서|문건|파일|첨부\s*(?:파일|문서)?|계획서?|회의록|메일|전문|서류|내용|정보)"
    r"(?:\s*(?:은|는|이|가)|의\s*(?:보안\s*)?(?:등급|분류)\s*(?:은|는|이|가)?)\s*['\"“‘「『]?\s*$"
)
_DESIGNATED_KO = re.compile(r"\s*['\"”’」』]?\s*(?:으로|로)\s*(?:분류|지정)")
_STATED_KO = re.compile(
    r"\s*['\"”’」』]?\s*(?:(?:으로|로)\s*(?:분류|지정|구분|관리|취급|표시|생산)"
    r"|입니다|임|이다|이며|이므로|이니|에\s*해당|등급|문서(?:입니다|임|이다))"
)
_SUBJECT_EN = re.compile(
    r"\b(?:this|the|these|attached)\s+(?:document|report|memo(?:randum)?|file|material|"
    r"message|e-?mail|attachment|page|paper|briefing|annex|appendix|information)s?\s+"
    r"(?:is|are|has\s+been|have\s+been|was|were)\s+(?:(?:classified|marked|designated|graded)"
    r"\s+(?:as\s+)?)?['\"“]?$",
    re.IGNORECASE,
)
_DESIGNATING_EN = re.compile(r"classified|marked|designated|graded", re.IGNORECASE)


def is_marking(text: str, start: int, end: int) -> bool:
    """True when `text[start:end]`, a marking word, stands as a document marking."""
    # Only a window of the line around the hit is read: a marking line is short, and a hit in a
    # long paragraph must cost the same as one in a short line. A cut-off side gets a sentinel
    # (NUL) that no decoration, label or tail accepts.
    term = _fold(text[start:end])
    latin = term.isascii() and term[:1].isalpha()
    glued = text[end : end + 1]
    if not latin and glued and "가" <= glued <= "힣" and glued != "취":
        # a syllable glued to the word (비밀번호, 대외비용, 비밀리에): only a statement of the
        # document's grade (대외비로 분류됨, 대외비입니다) can still make it a marking
        stated = _DESIGNATED_KO if "".join(term.split()) == "비밀" else _STATED_KO
        return bool(stated.match(text, end)) and _stated(
            text[max(0, start - 40) : start], text[end : end + 40], term, latin
        )
    line_start, before_whole = _line_start(text, start)
    line_end, after_whole = _line_end(text, end)
    after = _fold(text[end:line_end]) + ("" if after_whole else "\0")
    before = ("" if before_whole else "\0") + _fold(text[line_start:start])
    if latin:  # STRICTLY CONFIDENTIAL, PRIVATE AND CONFIDENTIAL: the qualifier is the marking's
        before = _QUALIFIED.sub("", before)
    cased = not latin or term.isupper() or term == term.title()
    first_or_last = bool(_BLANK.fullmatch(text, 0, line_start) or _BLANK.fullmatch(text, line_end))
    return (
        (cased and _own_line(before, after, first_or_last))
        # 2. a bracketed tag opening or closing the line (or a mail subject: "RE: [대외비] …")
        or _bracketed(_MAIL_SUBJECT.sub("", before, count=1), after)
        # 3. a labelled field or a marking table
        or _labelled(text, line_start if before_whole else -1, before, after)
        # 3b. the field holds its own label: 비밀등급: Ⅱ급
        or ("등급" in term and bool(_FIELD_END.match(after)) and bool(_FIELD_START.search(before)))
        # 4. the lead of the first or last line. "Secret: I never liked coffee" opens messages
        # too, so an English C word leads only in capitals; Confidential (S: a false S costs
        # little) may be in title case, as company mail writes it. Not in a table row.
        or (
            first_or_last
            and (not latin or term.isupper() or (cased and term.lower() == "confidential"))
            and "|" not in before
            and bool(_DECOR_ONLY.fullmatch(before))
            and bool(_LEAD_SEPARATOR.match(after))
        )
        # 5. a sentence stating the document's grade
        or _stated(before, after, term, latin)
    )


def _own_line(before: str, after: str, first_or_last: bool) -> bool:
    """1. A line of its own (decorations, labels, other markings, handling tails), but not an
    item of a bulleted list ("단어:\n- 비밀\n- 약속") unless it opens or closes the text; or
    the right-hand column of a header line, set apart by a wide gap ("기획-123      대외비")."""
    if not _SUFFIX_OK.fullmatch(after):
        return False
    if _PREFIX_OK.fullmatch(before):
        return first_or_last or not (_BULLET.fullmatch(before) and _BLANK.fullmatch(after))
    return bool(_WIDE_GAP_END.search(before))


_WINDOW = 160
_BLANK = re.compile(r"\s*+")


def _fold(part: str) -> str:
    if part.isascii():
        return part
    if not unicodedata.is_normalized("NFKC", part):
        part = unicodedata.normalize("NFKC", part)
    return part.translate(_BARS) if "│" in part or "┃" in part or "║" in part else part


def _line_start(text: str, start: int) -> tuple[int, bool]:
    low = max(0, start - _WINDOW)
    cut = max(text.rfind("\n", low, start), text.rfind("\r", low, start))
    if cut >= 0:
        return cut + 1, True
    return low, low == 0


def _line_end(text: str, end: int) -> tuple[int, bool]:
    high = min(len(text), end + _WINDOW)
    stops = [i for i in (text.find("\n", end, high), text.find("\r", end, high)) if i >= 0]
    if stops:
        return min(stops), True
    return high, high == len(text)


def _bracketed(before: str, after: str) -> bool:
    """A tag in brackets (or between `//`) that opens or closes the line."""
    head = before.rstrip()
    tail = after.lstrip()
    if head.endswith("//") and tail.startswith("//"):
        return bool(_DECOR_ONLY.fullmatch(head[:-2])) or bool(_DECOR_ONLY.fullmatch(tail[2:]))
    i = max(head.rfind(ch) for ch in _OPEN)
    # other markings may share the brackets: [대외비/CONFIDENTIAL]
    if i < 0 or not _PREFIX_OK.fullmatch(head[i + 1 :]):
        return False
    j = tail.find(_CLOSE[head[i]])
    if j < 0 or not _SUFFIX_OK.fullmatch(tail[:j]):
        return False
    return bool(_DECOR_ONLY.fullmatch(head[:i])) or bool(_DECOR_ONLY.fullmatch(tail[j + 1 :]))


def _labelled(text: str, line_start: int, before: str, after: str) -> bool:
    """`line_start` is -1 when the line's start lies outside the window read."""
    if _FIELD_END.match(after) and _LABELLED.search(before[-40:]):
        return True
    if "|" not in before or "|" not in after:
        return False
    # a table cell holding only the marking: its label in the cell before or the header row
    cells = before.split("|")
    if cells[-1].strip() or not _FIELD_END.match(after):
        return False
    if len(cells) >= 2 and _LABEL_CELL.fullmatch(cells[-2]):
        return True
    column = len(cells) - 1
    header = _table_header(text, line_start) if line_start >= 0 else None
    if header is None:
        return False
    head_cells = header.split("|")
    return column < len(head_cells) and bool(_LABEL_CELL.fullmatch(head_cells[column]))


def _table_header(text: str, line_start: int) -> str | None:
    """The first row of the table holding the line at `line_start`, if the line is not it.

    A marking table is short: only `_TABLE_ROWS` rows up are read, so a long table full of
    hits costs linear time, not quadratic; a header farther up is not looked for.
    """
    header: str | None = None
    pos = line_start
    for _row in range(_TABLE_ROWS):
        if pos <= 0:
            return header
        prev_start = text.rfind("\n", 0, pos - 1) + 1
        row = _fold(text[max(prev_start, pos - 1 - _WINDOW) : pos - 1])
        if "|" not in row:
            return header
        if not _TABLE_RULE.fullmatch(row):
            header = row
        pos = prev_start
    return None


_TABLE_ROWS = 40


def _stated(before: str, after: str, term: str, latin: bool) -> bool:
    if latin:
        found = _SUBJECT_EN.search(before[-80:])
        if found is None:
            return False
        # "this e-mail is confidential": a boilerplate disclaimer, not a designation; a
        # designating verb, or the word in capitals, makes it one
        return bool(_DESIGNATING_EN.search(found.group(0))) or term.isupper()
    stated = _DESIGNATED_KO if "".join(term.split()) == "비밀" else _STATED_KO
    return bool(stated.match(after)) and bool(_SUBJECT_KO.search(_fold(before[-40:])))
