"""Who is calling the admin API, and over which tenants they act.

Authentication is the directory's (`Directory.authenticate`, the same as the gateway's);
what a role may do is the role table's (`sumun.store.model.GRANTS`) — nothing here grants a
permission. This module adds only the admin API's one extra rule, scope:

- a key of the *operator tenant* (`admin_api.operator_tenant`) acts on the whole deployment:
  every tenant, the kill switch, the deployment-wide metrics;
- an admin or auditor key of any other tenant sees and changes that tenant only. Another
  tenant's name answers exactly as a tenant that does not exist (404): no oracle.

Only `Authorization: Bearer <key>` is accepted here (no `x-api-key`: no SDK calls this API).

The console also has callers that are people, signed in with OpenID Connect (`Person`): such
a caller's principal is built from the person's mapped role and tenant (never role `user`),
and the ledger names them `oidc:<subject>@<issuer host>` — the provider's stable subject
identifier, never the display name (a ledger entry cannot be erased; a name is personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from sumun.errors import AuthError, ForbiddenError, NotFoundError
from sumun.store.directory import Directory
from sumun.store.model import Permission, Principal, Role

__all__ = ["Caller", "Person", "authenticate", "bearer_token"]

_MISSING = "missing API key: send `Authorization: Bearer <admin or auditor key>`"


def bearer_token(request: Request) -> str:
    """The key from `Authorization: Bearer …`, or AuthError (reason "missing")."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(_MISSING, reason="missing")
    return token


@dataclass(frozen=True, slots=True)
class Person:
    """Someone signed in to the console with OpenID Connect, as their provider vouched."""

    issuer: str
    subject: str  # `sub`: stable and unique within the issuer (OIDC Core §2)
    name: str  # for display only; may change at the provider
    role: Role  # admin or auditor (the configured mapping never grants user)
    tenant: str

    @property
    def actor(self) -> str:
        """How the ledger names this person: `oidc:<sub>@<issuer host[:port]>`."""
        return f"oidc:{self.subject}@{urlsplit(self.issuer).netloc}"

    def principal(self) -> Principal:
        """The principal the role table judges: the actor stands where a key id would."""
        return Principal(self.actor, self.tenant, None, self.subject, self.role)


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    operator: bool  # a key (or person) of the operator tenant: acts on the whole deployment
    person: Person | None = None  # a person signed in with OpenID Connect, not a key

    @property
    def actor(self) -> str:
        """How the ledger names this caller: the key id (public), never the key; or the
        person's `oidc:<sub>@<issuer host>`."""
        if self.person is not None:
            return self.person.actor
        return f"{self.principal.key_id}@admin-api"

    @property
    def display(self) -> str:
        """Who to show in the console's header: the person's name, or the key id."""
        return self.person.name if self.person is not None else self.principal.key_id

    @property
    def scope(self) -> str | None:
        """The one tenant this caller may see, or None for the whole deployment."""
        return None if self.operator else self.principal.tenant

    def require(self, permission: Permission) -> None:
        self.principal.require_permission(permission)  # the role table decides

    def require_operator(self, what: str, operator_tenant: str) -> None:
        if not self.operator:
            raise ForbiddenError(
                f"{what} acts on the whole deployment: only keys of the operator tenant "
                f"{operator_tenant!r} may do it; this {'person' if self.person else 'key'} "
                f"belongs to tenant {self.principal.tenant!r}"
            )

    def require_tenant(self, tenant: str) -> None:
        """NotFoundError for a tenant outside this caller's scope (as for a missing one)."""
        if not self.operator and tenant != self.principal.tenant:
            raise NotFoundError(f"no tenant named {tenant!r}")

    def sees(self, tenant: str) -> bool:
        return self.operator or tenant == self.principal.tenant


def authenticate(directory: Directory, request: Request, operator_tenant: str) -> Caller:
    """The caller behind the request's bearer key (AuthError → 401)."""
    principal = directory.authenticate(bearer_token(request))
    return Caller(principal, operator=principal.tenant == operator_tenant)
