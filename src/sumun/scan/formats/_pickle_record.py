"""What a replay observed: the globals a stream imports and calls, and structural events.

`pickle.py` turns a `Walk` into findings; nothing here judges a name (`_pickle_policy` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Event", "GlobalUse", "Walk"]

_MAX_EVENTS = 64


# --- what the walk observed -----------------------------------------------------------------------
@dataclass(slots=True)
class GlobalUse:
    module: str
    name: str
    opcode: str  # the first opcode that imported it
    offset: int
    imports: int = 0
    calls: int = 0
    # how it was called: instantiated as a class (NEWOBJ/NEWOBJ_EX, or the class argument of
    # `copyreg._reconstructor`/`__newobj__`), or called with arguments (REDUCE/INST/OBJ, or the
    # base class whose `__init__` `copyreg._reconstructor` runs)
    news: int = 0
    reduces: int = 0
    # calls whose whole effect the replay modelled: `getattr(<imported global>, "<literal>")`
    # (its result is judged as the global `module.name.attr`) and `functools.partial(<imported
    # global>, …)` (its target, from the arguments and any BUILD state, is in `targets`)
    modelled: int = 0
    targets: list[tuple[str, str]] = field(default_factory=list)
    preview: str | None = None  # a short escaped preview of the first call's first argument


@dataclass(frozen=True, slots=True)
class Event:
    """A structural observation: `kind` is the rule suffix, `severe` picks critical over high."""

    kind: str
    offset: int
    detail: str
    severe: bool


@dataclass(slots=True)
class Walk:
    uses: dict[tuple[str, str], GlobalUse] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    limit: str | None = None
    trailing: tuple[int, int | None, str] | None = None  # (offset, size if known, why)
    protocols: set[int] = field(default_factory=set)
    pickles: int = 0
    ops: int = 0
    storages: int = 0
    tensors: int = 0
    joblib_arrays: int = 0
    legacy_torch: bool = False
    empty: bool = False
    spent: int = 0  # approximate bytes of symbolic values built (lean mode above a budget)

    def event(self, kind: str, offset: int, detail: str, *, severe: bool) -> None:
        if len(self.events) < _MAX_EVENTS:
            self.events.append(Event(kind, offset, detail, severe))

    def error(self, offset: int, message: str) -> None:
        if len(self.errors) < 16:
            self.errors.append((offset, message))
