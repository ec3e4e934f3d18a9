"""Help text names value types in words, never as raw Python types.

Typer (0.2x) prints every parameter's Python annotation in `--help`: `<bool>` beside each flag,
`<list[str]>` beside a repeatable option, `<str>` beside an argument. A newcomer reads those as
something to type. Here, once for every command (sub-commands load lazily but share Typer's
parameter classes), the label becomes the familiar click wording: nothing for a flag, TEXT,
INTEGER, NUMBER, PATH, `[a|b]` for a choice, and `...` after a repeatable one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer.core import TyperArgument, TyperOption

__all__ = ["friendly_type", "install"]

_WORDS = {
    "bool": "",
    "int": "INTEGER",
    "float": "NUMBER",
    "str": "TEXT",
    "path": "PATH",
    "Path": "PATH",
    "file": "FILE",
    "directory": "DIR",
}


def friendly_type(label: str) -> str:
    """`<list[str]>` -> `TEXT...`, `<bool>` -> ``, `<a|b>` -> `[a|b]`, `<int>` -> `INTEGER`."""
    inner = label[1:-1] if label.startswith("<") and label.endswith(">") else label
    many = inner.startswith("list[") and inner.endswith("]")
    if many:
        inner = inner[len("list[") : -1]
    word = f"[{inner}]" if "|" in inner else _WORDS.get(inner, inner.upper())
    return f"{word}..." if many and word else word


def _wrap(original: Callable[..., str]) -> Callable[..., str]:
    def display_type(self: Any, ctx: Any) -> str:
        return friendly_type(original(self, ctx))

    display_type.__wrapped__ = original  # type: ignore[attr-defined]
    return display_type


def install() -> None:
    """Replace the type label of every option and argument (idempotent)."""
    for cls in (TyperOption, TyperArgument):
        current = cls.display_type
        if not hasattr(current, "__wrapped__"):
            cls.display_type = _wrap(current)  # type: ignore[method-assign]
