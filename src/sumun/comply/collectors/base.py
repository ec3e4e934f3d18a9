"""What every evidence collector is: a named, pure function of the facts.

    (facts, params, subject) -> Evidence

`params` come from the catalog's check; `subject` is the registered app when the requirement
is assessed per app (art. 34), else None. A collector MUST NOT do I/O (everything it may look
at is in `Facts`), MUST say where its evidence came from, and MUST answer `ok=None` — never a
pass — when the state it needs could not be read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sumun.comply.facts import Facts
from sumun.comply.model import Evidence
from sumun.comply.register import Registration

__all__ = [
    "Collector",
    "CollectorFn",
    "Params",
    "ago",
    "param_bool",
    "param_float",
    "param_list",
    "param_str",
    "when",
]

Params = Mapping[str, str | int | float | bool]
CollectorFn = Callable[[Facts, Params, Registration | None], Evidence]


@dataclass(frozen=True, slots=True)
class Collector:
    name: str
    fn: CollectorFn
    reads: str  # what state it reads, for `sumun comply catalog` and the docs
    per_app: bool = False  # needs a subject (an app of the register)

    def __call__(self, facts: Facts, params: Params, subject: Registration | None) -> Evidence:
        return self.fn(facts, params, subject)


def param_str(params: Params, name: str, default: str) -> str:
    value = params.get(name, default)
    return str(value)


def param_float(params: Params, name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"check parameter {name!r} must be a number, not {value!r}")
    return float(value)


def param_bool(params: Params, name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"check parameter {name!r} must be true or false, not {value!r}")
    return value


def param_list(params: Params, name: str, default: str) -> tuple[str, ...]:
    """A comma-separated parameter as a tuple ("a, b" → ("a", "b"))."""
    return tuple(p.strip() for p in param_str(params, name, default).split(",") if p.strip())


def when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(now: float, ts: float) -> str:
    seconds = max(0.0, now - ts)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
