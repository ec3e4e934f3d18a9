"""A tenant name that belonged to a crypto-shredded tenant is never given to a new one.

A tenant's KEK has the tenant's name as its key id (the gateway creates it on the first
request), and key ids are never reused. Creating a tenant under the name of one whose key was
destroyed would succeed and then every call would be refused (the key is gone), and an erasure
audit would find one name standing for two tenants. So tenant creation asks here first, and is
refused with the date of the shredding (or of the scheduled one).

The key registry is read without its MAC check (`registry.read_unverified`: the tenant
commands work while sealed). That is safe only because the answer can only *refuse*: a forged
registry could block a name, never admit or decrypt anything.
"""

from __future__ import annotations

import time
from pathlib import Path

from sumun.errors import ConflictError
from sumun.keys.model import KeyState
from sumun.keys.registry import read_unverified
from sumun.store.documents import Documents

__all__ = ["refuse_shredded_name"]


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def refuse_shredded_name(where: Path | Documents, name: str) -> None:
    """ConflictError if `name` is the key id of a destroyed (or destroying) tenant key."""
    record = read_unverified(where).get(name)
    if record is None:
        return
    if record.state is KeyState.DESTROYED:
        # A destroyed key never changes again: its updated_at is when it was destroyed.
        raise ConflictError(
            f"the name {name!r} belonged to a tenant crypto-shredded on "
            f"{_utc(record.updated_at)} (its key was destroyed)",
            advice="choose another tenant name: names of shredded tenants are never reused, "
            "so the erasure record stays unambiguous",
        )
    if record.state is KeyState.PENDING_DESTRUCTION:
        when = f" on {_utc(record.destroy_after)}" if record.destroy_after is not None else ""
        raise ConflictError(
            f"the name {name!r} belongs to a tenant key scheduled for crypto-shredding{when}",
            advice="choose another tenant name, or cancel the destruction with "
            f"`sumun keys enable {name}`",
        )
