"""Compliance: the live report, attestations, the AI register, oversight reviews."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sumun.admin.console.web import Console

__all__ = ["routes"]


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes, below /console."""
    del console
    return []
