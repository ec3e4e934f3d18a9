"""Helpers shared by the `sumun comply` command modules.

Kept apart so that `comply.py` (which owns the Typer app) and the command modules
(`_comply_register`, `_comply_review`, `_comply_attest`) import them without a cycle.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from sumun.cli.common import actor, credentials, settings
from sumun.cli.target import open_target
from sumun.config import Settings
from sumun.errors import StateError
from sumun.keys import seal
from sumun.store.control import documents_for

__all__ = ["AppOpt", "ledger_append", "require_initialised", "when"]

AppOpt = Annotated[str | None, typer.Option("--app", help="the app, as TENANT/APP")]


def when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def require_initialised(conf: Settings) -> None:
    if not seal.is_initialised(documents_for(conf)):
        raise StateError(f"{conf.home} is not an initialised Sumun home", advice="run `sumun init`")


def ledger_append(body: dict[str, Any], shares: list[str] | None, passphrase: bool) -> int:
    """Append through the running Sumun, or on SUMUN_HOME directly; returns the seq."""
    target = open_target(settings(), credentials(shares, passphrase), actor())
    try:
        return int(target.ledger_append(body)["seq"])
    finally:
        target.close()
