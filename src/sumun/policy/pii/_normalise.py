"""Full-width forms and Unicode dashes, mapped to ASCII one code point to one code point.

`９００１０１－１２３４５６８` is an RRN too. Mapping code point for code point keeps every offset
an index into the caller's string.
"""

from __future__ import annotations

import re

__all__ = ["WIDE_CLASS", "narrow"]

# The code points `narrow` maps, as the body of a regex character class.
WIDE_CLASS = r"\uff01-\uff5e\u3000\u2010-\u2015\u2212\ufe63"
_WIDE = re.compile(f"[{WIDE_CLASS}]")
_NARROW = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20, 0x2212: 0x2D, 0xFE63: 0x2D}
_NARROW |= {cp: 0x2D for cp in range(0x2010, 0x2016)}
_NARROW_CHAR = {chr(a): chr(b) for a, b in _NARROW.items()}


def narrow(text: str, start: int = 0) -> str:
    """`text` with full-width forms and Unicode dashes mapped to ASCII.

    `start`: the caller knows `text[:start]` holds none. Replaces only the matched code points:
    `str.translate` over a long span of Hangul costs far more than the one scan, and most texts
    hold none or a handful.
    """
    parts: list[str] = []
    last = 0
    for m in _WIDE.finditer(text, start):
        a = m.start()
        parts.append(text[last:a])
        parts.append(_NARROW_CHAR[text[a]])
        last = a + 1
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)
