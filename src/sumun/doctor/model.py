"""The doctor's data: one `Check` per finding, and the `Context` every check reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sumun.config import Settings
    from sumun.errors import SumunError

__all__ = [
    "Check",
    "Context",
    "ReadyProbe",
    "Status",
    "age_text",
    "fail",
    "message",
    "ok",
    "utc",
    "warn",
]

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: what was checked, how it stands, and (unless ok) what to do about it."""

    name: str
    status: Status
    summary: str
    advice: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "advice": self.advice,
        }


def ok(name: str, summary: str) -> Check:
    return Check(name, "ok", summary)


def warn(name: str, summary: str, advice: str) -> Check:
    return Check(name, "warn", summary, advice)


def fail(name: str, summary: str, advice: str) -> Check:
    return Check(name, "fail", summary, advice)


@dataclass(frozen=True, slots=True)
class ReadyProbe:
    """What the configured address answered on /readyz: None when nothing listens there."""

    url: str
    status_code: int | None
    body: dict[str, Any]

    @property
    def running(self) -> bool:
        return self.status_code is not None


@dataclass(frozen=True, slots=True)
class Context:
    """What the checks share: the settings (None when sumun.yaml did not load), the home, and
    the running server's answer (probed once, first)."""

    home: Path
    settings: Settings | None
    ready: ReadyProbe | None = None
    # Each network check's own bound; the runner adds a little on top of it.
    timeout: float = 3.0


def age_text(seconds: float) -> str:
    """A duration as a person reads it: "42 s", "7 min", "3.5 h", "12 days"."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def message(exc: SumunError) -> str:
    """An error's message without its advice (the advice has a column of its own)."""
    return str(exc.args[0]) if exc.args else type(exc).__name__
