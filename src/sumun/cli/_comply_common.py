"""Helpers shared by the `sumun comply` command modules.

Kept apart so that `comply.py` (which owns the Typer app) and the command modules
(`_comply_register`, `_comply_review`, `_comply_attest`) import them without a cycle.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from sumun.cli.common import actor, credentials, require_initialised, settings
from sumun.cli.target import open_target

__all__ = ["AppOpt", "ledger_append", "require_initialised", "when"]

AppOpt = Annotated[str | None, typer.Option("--app", help="the app, as TENANT/APP")]


def when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def ledger_append(body: dict[str, Any], shares: list[str] | None, passphrase: bool) -> int:
    """Append through the running Sumun, or on SUMUN_HOME directly; returns the seq."""
    target = open_target(settings(), credentials(shares, passphrase), actor())
    try:
        return int(target.ledger_append(body)["seq"])
    finally:
        target.close()
