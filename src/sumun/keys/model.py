"""Typed key metadata: key records, versions, states and key events.

These cross every boundary of the key layer (registry file, admin API, CLI output, and the
ledger later). None of them ever holds key material.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from typing import Any

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import UsageError

__all__ = [
    "REVISION_DETAIL",
    "KeyAction",
    "KeyEvent",
    "KeyRecord",
    "KeyState",
    "KeyVersion",
    "VersionState",
    "validate_key_id",
]

_KEY_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")

# The key registry's revision a key-event produced (or, for init / unseal / seal, saw): the
# ledger's last key-event names the revision the registry MUST be at least (`sumun.keys.registry`).
REVISION_DETAIL = "registry_revision"


def validate_key_id(key_id: str) -> str:
    """Key ids are lowercase ASCII, 1–63 chars: they appear in labels, paths and headers."""
    if not _KEY_ID.match(key_id):
        raise UsageError(
            f"invalid key id {key_id!r}: use 1-63 characters from a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )
    return key_id


class KeyState(enum.Enum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    PENDING_DESTRUCTION = "pending-destruction"
    DESTROYED = "destroyed"


class VersionState(enum.Enum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    DESTROYED = "destroyed"


class KeyAction(enum.Enum):
    INIT = "init"
    UNSEAL = "unseal"
    SEAL = "seal"
    CREATE = "create"
    ROTATE = "rotate"
    DISABLE = "disable"
    ENABLE = "enable"
    SCHEDULE_DESTROY = "schedule-destroy"
    CANCEL_DESTROY = "cancel-destroy"
    DESTROY = "destroy"
    SHRED_SUBJECT = "shred-subject"
    REKEY = "rekey"  # a rekey epoch ended: DEKs rewrapped, older versions destroyed
    DEK_CREATE = "dek-create"


@dataclass(frozen=True, slots=True)
class KeyVersion:
    version: int
    created_at: float
    state: VersionState = VersionState.ENABLED
    wraps: int = 0  # DEKs wrapped under this version: rotation is forced before the AEAD limit

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "state": self.state.value,
            "wraps": self.wraps,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> KeyVersion:
        return cls(
            version=int(raw["version"]),
            created_at=float(raw["created_at"]),
            state=VersionState(raw["state"]),
            wraps=int(raw.get("wraps", 0)),
        )


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A tenant KEK: its versions and lifecycle state. `primary` wraps new DEKs."""

    key_id: str
    tenant: str
    backend: str
    suite: Suite
    state: KeyState
    primary: int
    versions: tuple[KeyVersion, ...]
    created_at: float
    updated_at: float
    destroy_after: float | None = None
    # Bumped whenever a data subject's DEKs are shredded: tells every process to drop its
    # cached DEKs of this key, so a shred takes effect everywhere within the revocation TTL.
    shred_epoch: int = 0

    def version(self, number: int) -> KeyVersion | None:
        for v in self.versions:
            if v.version == number:
                return v
        return None

    @property
    def latest(self) -> int:
        return max(v.version for v in self.versions)

    def usable_versions(self) -> frozenset[int]:
        """Versions that may unwrap DEKs right now (empty unless the key is enabled)."""
        if self.state is not KeyState.ENABLED:
            return frozenset()
        return frozenset(v.version for v in self.versions if v.state is VersionState.ENABLED)

    def with_version(self, updated: KeyVersion) -> KeyRecord:
        versions = tuple(updated if v.version == updated.version else v for v in self.versions)
        return replace(self, versions=versions)

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "tenant": self.tenant,
            "backend": self.backend,
            "suite": self.suite.value,
            "state": self.state.value,
            "primary": self.primary,
            "versions": [v.to_json() for v in self.versions],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "destroy_after": self.destroy_after,
            "shred_epoch": self.shred_epoch,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> KeyRecord:
        return cls(
            key_id=str(raw["key_id"]),
            tenant=str(raw["tenant"]),
            backend=str(raw["backend"]),
            suite=Suite(raw["suite"]),
            state=KeyState(raw["state"]),
            primary=int(raw["primary"]),
            versions=tuple(KeyVersion.from_json(v) for v in raw["versions"]),
            created_at=float(raw["created_at"]),
            updated_at=float(raw["updated_at"]),
            destroy_after=None if raw.get("destroy_after") is None else float(raw["destroy_after"]),
            shred_epoch=int(raw.get("shred_epoch", 0)),
        )


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """Who did what to which key, when. The ledger records these; never any key material."""

    time: float
    actor: str
    action: KeyAction
    key_id: str | None = None
    version: int | None = None
    backend: str | None = None
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def registry_revision(self) -> int | None:
        """The registry revision this event names, if any (events from before revisions: None)."""
        raw = self.detail.get(REVISION_DETAIL)
        return int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "actor": self.actor,
            "action": self.action.value,
            "key_id": self.key_id,
            "version": self.version,
            "backend": self.backend,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> KeyEvent:
        return cls(
            time=float(raw["time"]),
            actor=str(raw["actor"]),
            action=KeyAction(raw["action"]),
            key_id=raw.get("key_id"),
            version=raw.get("version"),
            backend=raw.get("backend"),
            detail={str(k): str(v) for k, v in (raw.get("detail") or {}).items()},
        )
