"""Keys: seal state, the custodian quorum during unseal, KEK versions and ages, and their
lifecycle."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sumun.admin.console.web import Console

__all__ = ["routes"]


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes, below /console."""
    del console
    return []
