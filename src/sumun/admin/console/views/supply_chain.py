"""Supply chain: recorded scans with their findings and the AI-BOM."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sumun.admin.console.web import Console

__all__ = ["routes"]


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes, below /console."""
    del console
    return []
