"""The symbolic values a pickle replay puts on its stack and in its memo, and how to name them.

Nothing here is ever a real object from the file: a string is kept as `str` (or a `Blob` if
long), an imported global as `Global`, the result of any call as `Call`; anything else the
scanner does not need to tell apart is `OTHER`. Contract: `OTHER` is never a `str` when really
unpickled, while `LOST`, `PERSISTED`, `UNRESOLVED` and every `Global`/`Call`/`Ext` could be one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "LOST",
    "OTHER",
    "PERSISTED",
    "UNRESOLVED",
    "Blob",
    "Call",
    "DictVal",
    "Ext",
    "Global",
    "safe_name",
]

_NAMELIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,127}")
_PRINTABLE = re.compile(r"[\w.<>…-]{1,160}")


# --- symbolic values ---------------------------------------------------------------------------
class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


OTHER = _Sentinel("other")  # a concrete value of no interest (list, set, float, …): never a str
LOST = _Sentinel("lost")  # dropped at the memory budget: could have been anything
PERSISTED = _Sentinel("persistent-load result")
UNRESOLVED = _Sentinel("unresolved global")  # what a STACK_GLOBAL of computed names yields
_MISSING = _Sentinel("missing")


@dataclass(frozen=True, slots=True)
class Global:
    module: str
    name: str

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class Ext:
    code: int


@dataclass(frozen=True, slots=True)
class Blob:
    """A string or byte payload too long to keep: its size and first bytes."""

    kind: str  # "str" | "bytes" | "bytearray"
    size: int
    head: bytes


class Call:
    """The result of calling something. Arguments are not kept (memory), only what we need."""

    __slots__ = ("callee", "desc", "dtype")

    def __init__(self, callee: Global | None, desc: str) -> None:
        self.callee = callee
        self.desc = desc  # what was called, for messages ("os.system", "the result of …")
        self.dtype: tuple[int, bool] | None = None  # numpy.dtype results: (itemsize, hasobject)


class DictVal:
    """A dict under construction: a few flat items (joblib wrapper state) and any dunder keys."""

    __slots__ = ("dunders", "items")

    def __init__(self) -> None:
        self.items: dict[str, object] = {}
        self.dunders: list[str] = []


def _preview(value: object) -> str | None:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = value.decode("latin-1")
    elif isinstance(value, Blob):
        text = value.head.decode("utf-8" if value.kind == "str" else "latin-1", "replace")
    else:
        return None
    cut = text[:40]
    return ascii(cut) + ("…" if len(text) > 40 or isinstance(value, Blob) else "")


def safe_name(name: str) -> str:
    """A name from the file, fit for a message: as is if plain, else escaped and cut."""
    return name if _PRINTABLE.fullmatch(name) else ascii(name[:160])


def _describe(value: object) -> str:  # noqa: PLR0911 - one line per kind of value
    if isinstance(value, Global):
        return safe_name(value.full)
    if isinstance(value, Call):
        return f"the result of {value.desc}(…)"
    if isinstance(value, Ext):
        return f"extension-registry entry {value.code}"
    if value is LOST:
        return "a value dropped at the analysis memory limit"
    if value is PERSISTED:
        return "a persistent-load object"
    if value is UNRESOLVED:
        return "a global whose name the analysis could not resolve"
    if isinstance(value, str):
        return f"the string {_preview(value)}"
    if isinstance(value, Blob):
        return f"a {value.size}-byte {value.kind}"
    if value is OTHER:
        return "a non-string value"
    return f"a value of type {type(value).__name__}"


def _maybe_str(value: object) -> bool:
    """Could this be a `str` when really unpickled? (True for anything computed at load time.)"""
    return isinstance(value, (Global, Call, Ext)) or value in (LOST, PERSISTED, UNRESOLVED)


def _dtype_from_typestr(typestr: object) -> tuple[int, bool] | None:
    if not isinstance(typestr, str):
        return None
    match = re.fullmatch(r"[|<>=]?([a-zA-Z?]+)(\d*)", typestr)
    if match is None:
        return None
    kind, digits = match.groups()
    if kind.startswith("O"):
        return (8, True)
    if kind in ("?", "b") and not digits:
        return (1, False)
    if not digits:
        return None
    return (int(digits), False)


def _memo_cost(value: object) -> tuple[int, bool] | None:  # noqa: PLR0911 - one per kind
    """(bytes, name-like) of a value worth keeping in the memo, or None to drop it.

    Kept: what resolving globals and joblib arrays needs. A dropped value reads back as OTHER
    (a concrete non-string), which is what it is.
    """
    if type(value) is str:
        return 64 + len(value), _NAMELIKE.fullmatch(value) is not None
    if type(value) is Global or type(value) is Ext:
        return 48, True
    if type(value) is tuple:
        return 64 + 40 * len(value), False
    if type(value) is bytes:
        return 48 + len(value), False
    if type(value) in (int, bool, Blob) or value is None or value is PERSISTED:
        return 48, False
    if type(value) is Call and value.dtype is not None:
        return 160, False
    return None
