"""The directory's records: frozen, secret-free, safe to log and to pass between stages."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sumun.errors import ForbiddenError

__all__ = ["App", "Limits", "Principal", "Role", "Tenant", "VirtualKey"]


class Role(enum.StrEnum):
    USER = "user"  # calls models
    ADMIN = "admin"  # manages the deployment through the gateway's admin surface
    AUDITOR = "auditor"  # reads the ledger and reports; calls no models unless also granted


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-minute rates and a total token budget; None means "no limit at this level"."""

    rpm: int | None = None
    tpm: int | None = None
    token_budget: int | None = None


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    ai_notice: bool  # tell end users they are talking to an AI (Korean AI Basic Act, art. 31)
    notice_text: str | None  # the tenant's own wording; None means Sumun's default notice
    default_data_class: str | None  # classification for requests that carry none
    rpm: int | None
    tpm: int | None
    token_budget: int | None
    created_at: float  # Unix seconds

    @property
    def limits(self) -> Limits:
        return Limits(self.rpm, self.tpm, self.token_budget)


@dataclass(frozen=True, slots=True)
class App:
    tenant: str
    name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class VirtualKey:
    """What the directory knows about an issued key. MUST NOT carry the secret or its digest."""

    key_id: str
    tenant: str
    app: str | None
    user: str | None
    role: Role
    created_at: float
    revoked_at: float | None
    rpm: int | None
    tpm: int | None
    token_budget: int | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def limits(self) -> Limits:
        return Limits(self.rpm, self.tpm, self.token_budget)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the result of `Directory.authenticate`. `limits` are the key's own."""

    key_id: str
    tenant: str
    app: str | None
    user: str | None
    role: Role
    limits: Limits = Limits()

    def require(self, *roles: Role) -> None:
        """Raise ForbiddenError unless this principal holds one of `roles` (default deny)."""
        if not roles:
            raise ValueError("require() needs at least one role")  # an empty grant is misuse
        if self.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise ForbiddenError(f"this API key has role {self.role.value}; {allowed} is needed")
