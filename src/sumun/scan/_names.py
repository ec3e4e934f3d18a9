"""Names and text from scanned trees, made fit for documents: always valid Unicode.

On Linux a file name is bytes. Python decodes it with `surrogateescape`, so a byte that is not
UTF-8 (`b"bad\\xff.pkl"`) becomes a lone surrogate (`"bad\\udcff.pkl"`) that no UTF-8 document
can hold: `json.dumps` passes it on and writing the document then fails half-way. Content
can carry lone surrogates too (JSON allows `"\\ud800"`, and analyzers quote model-card fields).

`display_name` renders such code points the way Python's `backslashreplace` renders the bytes:
`b"bad\\xff.pkl"` is shown as `bad\\xff.pkl`, other lone surrogates as `\\ud800`. The scan
engine applies it (`displayable`) to every string of every finding and component, and to the
root, before the result leaves it: every writer (JSON, CycloneDX, SARIF, HTML, the summary)
then shows a name the same way, and none of them needs to know about this. The display form
is for people; it is not a path to open (the walker opens files by their real names).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from sumun.scan.model import Component, Finding

__all__ = ["display_name", "displayable"]

_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # what surrogateescape makes of bytes 0x80-0xFF
_SURROGATES = range(0xD800, 0xE000)

T = TypeVar("T", Finding, Component)


def _escape(char: str) -> str:
    code = ord(char)
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    if code in _SURROGATES:
        return f"\\u{code:04x}"
    return char


def display_name(text: str) -> str:
    """`text` with every lone surrogate backslash-escaped; unchanged when it is valid Unicode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_escape(char) for char in text)
    return text


def _clean(value: object) -> object:
    if isinstance(value, str):
        return display_name(value)
    if isinstance(value, tuple):
        return tuple(_clean(item) for item in value)
    return value


def displayable(item: T) -> T:
    """`item` with `display_name` applied to each of its strings (also inside tuples)."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        cleaned = _clean(value)
        if cleaned != value:
            changes[f.name] = cleaned
    return dataclasses.replace(item, **changes) if changes else item
