"""The listeners: the gateway's (`server`), the admin API and console's (`admin_api`, with
OpenID Connect sign-in) and the XKS proxy's (`xks`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from sumun.config._base import _Strict


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8480, ge=0, le=65535)
    # On SIGTERM/SIGINT the node stops accepting, and requests in flight (streams too) get this
    # long to finish before they are cancelled; then a final checkpoint is signed (sumun.server).
    drain_seconds: int = Field(default=10, ge=0, le=3600)
    # Before anyone is authenticated (sumun.gateway.guard): open connections at once (more get
    # 503 and are closed), time to a complete request head (408), head size and field count
    # (431), idle keep-alive.
    max_connections: int = Field(default=2048, ge=1, le=1_000_000)
    head_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_header_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_headers: int = Field(default=100, ge=8, le=10_000)
    keepalive_timeout_seconds: float = Field(default=5.0, gt=0, le=300)


_TENANT_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _is_loopback(host: str) -> bool:
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def _base_url(value: str, what: str, *, path_ok: bool) -> str:
    """`value` if it is an https URL (http only on loopback) without query or fragment."""
    parsed = urlsplit(value)
    host = parsed.hostname or ""
    if parsed.scheme not in ("https", "http") or not host:
        raise ValueError(f"{what} must be an https:// URL")
    if parsed.scheme == "http" and not _is_loopback(host):
        raise ValueError(f"{what} may use http:// only on loopback (127.0.0.1, ::1, localhost)")
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise ValueError(f"{what} must have no query, fragment or credentials")
    if not path_ok and parsed.path not in ("", "/"):
        raise ValueError(f"{what} must have no path")
    return value.rstrip("/")


class OidcConfig(_Strict):
    """Sign-in to the web console with OpenID Connect (authorization code + PKCE S256;
    `sumun.admin.console.oidc`, docs/console.md).

    A person's role comes from the ID token's (or userinfo's) `role_claim`: each value is
    looked up in `roles`; a value not listed grants nothing, and a person with no listed
    value is refused. Only `admin` and `auditor` can be granted — never `user`. The tenant is
    the `tenant_claim`'s value, or the fixed `tenant`, or else the operator tenant.
    The client secret, if any, comes from the environment variable `client_secret_env` or
    the file `client_secret_file` — never from this file. Neither: a public client (PKCE).
    """

    issuer: str
    client_id: str = Field(min_length=1, max_length=255)
    client_secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    client_secret_file: Path | None = None
    # The console's address as browsers reach it (behind a proxy); the redirect URI is
    # `<public_base_url>/console/oidc/callback`. None: the admin listener's own address.
    public_base_url: str | None = None
    scopes: tuple[str, ...] = ("openid", "profile")
    role_claim: str = Field(min_length=1, max_length=255)
    roles: dict[str, Literal["admin", "auditor"]]
    tenant_claim: str | None = Field(default=None, min_length=1, max_length=255)
    tenant: str | None = Field(default=None, pattern=_TENANT_PATTERN)
    name_claim: str = Field(default="name", min_length=1, max_length=255)
    # Where the role, tenant and name claims are read: the ID token, or the userinfo endpoint.
    claims_source: Literal["id_token", "userinfo"] = "id_token"
    display_name: str = Field(default="OpenID Connect", min_length=1, max_length=60)
    # A person's session ends after admin_api.console_idle_minutes idle, or after this long.
    max_session_minutes: int = Field(default=8 * 60, ge=5, le=7 * 24 * 60)
    # A CA bundle (PEM) for the provider's TLS certificate; None: the system's.
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @model_validator(mode="after")
    def _coherent(self) -> OidcConfig:
        _base_url(self.issuer, "admin_api.oidc.issuer", path_ok=True)
        if self.public_base_url is not None:
            _base_url(self.public_base_url, "admin_api.oidc.public_base_url", path_ok=False)
        if self.client_secret_env is not None and self.client_secret_file is not None:
            raise ValueError("give client_secret_env or client_secret_file, not both")
        if "openid" not in self.scopes:
            raise ValueError("admin_api.oidc.scopes must include openid")
        if any(not s or any(c.isspace() for c in s) for s in self.scopes):
            raise ValueError("admin_api.oidc.scopes: each scope is one non-empty word")
        if not self.roles or any(not value for value in self.roles):
            raise ValueError("admin_api.oidc.roles must map at least one claim value to a role")
        if self.tenant_claim is not None and self.tenant is not None:
            raise ValueError("give tenant_claim or tenant, not both")
        return self


class AdminApiConfig(_Strict):
    """The admin HTTP API (`sumun.admin.http`, docs/admin-api.md) on its own listener.

    TLS when both files are given (PEM); plain HTTP otherwise — keep it on loopback or an
    operators' network then. Keys of `operator_tenant` act on the whole deployment (every
    tenant, the kill switch, the metrics); admin and auditor keys of any other tenant see and
    change only their own tenant.
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8481, ge=0, le=65535)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    operator_tenant: str = Field(default="sumun", pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    # The web console (`/console/`, docs/console.md): a session ends after this many minutes
    # without a request from it.
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # People signing in to the console with OpenID Connect; None: API keys only.
    oidc: OidcConfig | None = None

    @model_validator(mode="after")
    def _tls_needs_both_files(self) -> AdminApiConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: give both or neither")
        return self


class XksConfig(_Strict):
    """The AWS KMS External Key Store proxy (`sumun.xks`, docs/xks.md) on its own listener.

    Off unless `listen` ("host:port") is set; then TLS is required (AWS only speaks HTTPS):
    `tls_cert_file` and `tls_key_file` (PEM, relative to the config file's folder). With
    `client_ca_file` every client must present a certificate from that CA (mTLS); with
    `client_subject` too, its subject CN must be exactly that (AWS KMS presents
    `cks.kms.<region>.amazonaws.com`). `region` pins the AWS region the SigV4 signatures must
    name (None accepts any); `max_skew_seconds` bounds how far x-amz-date may be from this
    node's clock (AWS: 5 minutes) — a signature replayed later fails.
    """

    listen: str | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    client_ca_file: Path | None = None
    client_subject: str | None = Field(default=None, min_length=1, max_length=255)
    region: str | None = Field(default=None, pattern=r"^[a-z0-9-]{1,64}$")
    max_skew_seconds: float = Field(default=300.0, gt=0, le=3600)
    # Bodies above this are refused unread (UnsupportedOperationException); the spec's largest
    # (4300-byte ciphertext, 8192-byte AAD, 2048-character ARNs) fit well within the default.
    max_body_bytes: int = Field(default=64 * 1024, ge=32 * 1024, le=1024 * 1024)
    # GetHealthStatus's xksProxyFleetSize: the Sumun nodes behind the XKS endpoint.
    fleet_size: int = Field(default=1, ge=1, le=1000)
    # A key backend slower than this is answered DependencyTimeoutException (AWS gives up at
    # 250 ms anyway).
    dependency_timeout_seconds: float = Field(default=1.0, gt=0, le=60)
    # A quota per keystore (URI prefix): above it, ThrottlingException. None: no quota.
    requests_per_second: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _coherent(self) -> XksConfig:
        if self.listen is not None:
            self.address()
            if self.tls_cert_file is None or self.tls_key_file is None:
                raise ValueError("xks.listen needs tls_cert_file and tls_key_file (AWS uses HTTPS)")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: give both or neither")
        if self.client_subject is not None and self.client_ca_file is None:
            raise ValueError("client_subject needs client_ca_file (the CA the client chains to)")
        return self

    def address(self) -> tuple[str, int]:
        """`listen` as (host, port); "[::1]:8482" for IPv6."""
        host, sep, port = (self.listen or "").rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"xks.listen must be host:port, not {self.listen!r}")
        return host, int(port)
