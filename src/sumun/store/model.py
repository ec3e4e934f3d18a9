"""The directory's records: frozen, secret-free, safe to log and to pass between stages."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sumun.errors import ForbiddenError

__all__ = [
    "GRANTS",
    "App",
    "Limits",
    "Permission",
    "Principal",
    "Role",
    "Tenant",
    "VirtualKey",
]


class Role(enum.StrEnum):
    USER = "user"  # calls models
    ADMIN = "admin"  # manages the deployment; calls no models (separation of duties)
    AUDITOR = "auditor"  # reads the ledger, metrics and reports; calls no models


class Permission(enum.StrEnum):
    """What an API key may do over HTTP. `GRANTS` is the one place that says who may do what."""

    CALL_MODELS = "call-models"  # POST /v1/chat/completions, /v1/responses, /v1/embeddings,
    #                              /v1/messages
    LIST_MODELS = "list-models"  # GET /v1/models
    READ_METRICS = "read-metrics"  # GET /metrics (names tenants, counts their tokens)
    REVIEW = "review"  # human oversight of high-impact calls (`sumun comply review`)
    READ_CONTROL = "read-control"  # the admin API's GETs: providers, tenants, keys, ledger
    #                                metadata, status (never a secret, never a payload)
    MANAGE = "manage"  # the admin API's changes: cut/restore providers, tenants, keys
    READ_PAYLOAD = "read-payload"  # decrypt one ledger payload, after a stated reason that is
    #                                recorded first (`POST /admin/v1/ledger/entries/{seq}/payload`)


GRANTS: dict[Role, frozenset[Permission]] = {
    # A user key calls models and nothing else: it never sees another tenant's figures.
    Role.USER: frozenset({Permission.CALL_MODELS, Permission.LIST_MODELS}),
    # An admin changes the deployment but does not use it: a stolen admin key cannot be spent
    # on model calls, and the ledger's model calls are all made by user keys.
    Role.ADMIN: frozenset(
        {
            Permission.LIST_MODELS,
            Permission.READ_METRICS,
            Permission.READ_CONTROL,
            Permission.MANAGE,
        }
    ),
    # An auditor reads and reviews; it changes nothing and calls no models. It alone may read
    # a ledger payload (each read recorded with its reason): the admin who runs the deployment
    # does not read what its users sent.
    Role.AUDITOR: frozenset(
        {
            Permission.LIST_MODELS,
            Permission.READ_METRICS,
            Permission.READ_CONTROL,
            Permission.REVIEW,
            Permission.READ_PAYLOAD,
        }
    ),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-minute rates and a total token budget; None means "no limit at this level"."""

    rpm: int | None = None
    tpm: int | None = None
    token_budget: int | None = None
    # A total spend budget in micro-units (1/1,000,000 won or dollar) of `spend_currency`
    # ("KRW" or "USD"); both None: none (sumun.gateway.spend_budget).
    spend_budget: int | None = None
    spend_currency: str | None = None


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
    spend_budget: int | None = None  # micro-units of `spend_currency` (see Limits)
    spend_currency: str | None = None

    @property
    def limits(self) -> Limits:
        return Limits(self.rpm, self.tpm, self.token_budget, self.spend_budget, self.spend_currency)


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
    spend_budget: int | None = None  # micro-units of `spend_currency` (see Limits)
    spend_currency: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def limits(self) -> Limits:
        return Limits(self.rpm, self.tpm, self.token_budget, self.spend_budget, self.spend_currency)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the result of `Directory.authenticate`. `limits` are the key's own."""

    key_id: str
    tenant: str
    app: str | None
    user: str | None
    role: Role
    limits: Limits = Limits()

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require_permission(self, permission: Permission) -> None:
        """Raise ForbiddenError unless this principal's role grants `permission` (`GRANTS`)."""
        if not self.may(permission):
            allowed = " or ".join(r.value for r, grants in GRANTS.items() if permission in grants)
            raise ForbiddenError(
                f"this API key has role {self.role.value}, which may not {permission.value}; "
                f"that needs role {allowed}"
            )

    def require(self, *roles: Role) -> None:
        """Raise ForbiddenError unless this principal holds one of `roles` (default deny)."""
        if not roles:
            raise ValueError("require() needs at least one role")  # an empty grant is misuse
        if self.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise ForbiddenError(f"this API key has role {self.role.value}; {allowed} is needed")
