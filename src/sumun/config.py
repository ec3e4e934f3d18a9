"""Configuration: `sumun.yaml` + environment, typed with pydantic.

Where the file is looked for, first match wins: `--config` / `SUMUN_CONFIG`, then
`$SUMUN_HOME/sumun.yaml`, then `./sumun.yaml`. No file means all defaults (embedded keystore).
Secrets (PKCS#11 PIN, OpenBao token) MUST come from the environment, never from the file:
the file names the variable to read.

Environment overrides: `SUMUN_HOME` (default `./.sumun`), `SUMUN_KEYS_BACKEND`,
`SUMUN_KEYS_SUITE`, `SUMUN_CONTROL_STORE`, `SUMUN_OPENBAO_ADDR`, `SUMUN_PKCS11_MODULE`,
`SUMUN_PKCS11_TOKEN`, `SUMUN_LEDGER_STORE`, `SUMUN_LEDGER_DURABILITY`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import ConfigError

if TYPE_CHECKING:
    from sumun.policy.rules import Policy

__all__ = [
    "AdminApiConfig",
    "ComplyConfig",
    "ControlConfig",
    "KeysConfig",
    "LedgerConfig",
    "LoggingConfig",
    "OidcConfig",
    "OpenBaoConfig",
    "Pkcs11Config",
    "PriceConfig",
    "PricesConfig",
    "ServerConfig",
    "Settings",
    "TelemetryConfig",
    "TracesConfig",
    "XksConfig",
    "admin_tls_files",
    "load",
    "load_policy",
    "policy_path",
    "read_policy",
]

DEFAULT_SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pkcs11Config(_Strict):
    module: str = DEFAULT_SOFTHSM_MODULE
    token_label: str = "sumun"  # noqa: S105 - a label, not a secret
    pin_env: str = "SUMUN_PKCS11_PIN"
    timeout: float = Field(default=5.0, gt=0)


class OpenBaoConfig(_Strict):
    address: str = "http://127.0.0.1:8200"
    token_env: str = "SUMUN_OPENBAO_TOKEN"  # noqa: S105 - names the variable
    mount: str = "transit"
    key_prefix: str = "sumun-"
    timeout: float = Field(default=2.0, gt=0)
    # A CA bundle to trust for the https address (pinning); default: the system's CAs. Plain
    # http is accepted for loopback addresses only.
    ca_cert_file: str | None = None


class KeysConfig(_Strict):
    backend: Literal["embedded", "pkcs11", "openbao"] = "embedded"
    suite: Suite = Suite.AES_256_GCM
    dek_window_seconds: int = Field(default=3600, ge=60)
    dek_cache_ttl_seconds: float = Field(default=300.0, gt=0)
    # Upper bound on how long a disabled/destroyed key keeps working in any process.
    revocation_ttl_seconds: float = Field(default=5.0, gt=0, le=60)
    destroy_grace_days: float = Field(default=7.0, ge=0)
    # Rekey epochs (sumun.keys.epoch, docs/keys.md): every KEK version is destroyed at most this
    # many days after it was created, its DEKs rewrapped under a new primary first, so a copy
    # of the DEK store older than this is unreadable. 0 turns the schedule off.
    rekey_days: float = Field(default=30.0, ge=0)
    # Rotate a KEK version after this many wraps; DEKs are replaced after this many records.
    # At most 2^32: the limit for random 96-bit GCM nonces under one key (SP 800-38D §8.3).
    kek_max_wraps: int = Field(default=2**31, ge=1, le=2**32)
    dek_max_records: int = Field(default=2**31, ge=1)
    pkcs11: Pkcs11Config = Pkcs11Config()
    openbao: OpenBaoConfig = OpenBaoConfig()


class LedgerConfig(_Strict):
    store: Literal["sqlite", "postgres"] = "sqlite"
    # PostgreSQL connection string, read from this environment variable (it may hold a password).
    postgres_dsn_env: str = "SUMUN_LEDGER_DSN"
    postgres_schema: str = Field(default="sumun_ledger", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # strict: append returns once durable. batched: returns at once; durable within
    # `batch_delay_ms` (the documented loss window on a crash).
    durability: Literal["strict", "batched"] = "strict"
    batch_max: int = Field(default=1024, ge=1, le=65536)
    batch_delay_ms: int = Field(default=20, ge=0, le=10_000)
    # The checkpoint origin line (C2SP tlog-checkpoint); default derived from the deployment.
    origin: str | None = None
    timeout_seconds: float = Field(default=5.0, gt=0)
    # Queued entries (request-completed) a failing store cannot take are kept in a local spool
    # (SUMUN_HOME/spool, sumun.ledger.spool) and appended when it can; past `spool_max_bytes`
    # they are lost (counted; /readyz 503). /readyz is 503 while more than
    # `spool_ready_entries` wait. An outage's recovery is tried every `retry_seconds`.
    spool_max_bytes: int = Field(default=256 * 1024 * 1024, ge=64 * 1024)
    spool_ready_entries: int = Field(default=10_000, ge=0)
    retry_seconds: float = Field(default=1.0, gt=0, le=60)


class ControlConfig(_Strict):
    """Where the control plane lives: tenants, apps, virtual keys, cuts, the seal record, the
    key registry, wrapped DEKs, the pseudonym vault and the ledger signing-key envelope.

    `sqlite` (default): files in this host's SUMUN_HOME. `postgres`: one schema shared by every
    node (DSN from `dsn_env`), so N gateway nodes behind a load balancer act as one.
    """

    store: Literal["sqlite", "postgres"] = "sqlite"
    dsn_env: str = "SUMUN_CONTROL_DSN"
    postgres_schema: str = Field(default="sumun_control", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    timeout_seconds: float = Field(default=5.0, gt=0)
    # How often a node re-reads the control generation (the safety net under LISTEN/NOTIFY
    # and Redis); and how long it may go without an answer before it refuses traffic (503)
    # rather than serve on revocation state it can no longer vouch for.
    poll_seconds: float = Field(default=0.2, gt=0, le=5)
    max_stale_seconds: float = Field(default=1.0, gt=0, le=60)

    @model_validator(mode="after")
    def _stale_bound_covers_polls(self) -> ControlConfig:
        if self.max_stale_seconds < self.poll_seconds:
            raise ValueError("max_stale_seconds must be at least poll_seconds")
        return self


class ProfileConfig(_Strict):
    """A provider's declared terms (see sumun.policy.profiles). Unknown fields stay None."""

    jurisdiction: str = "unknown"
    hosting: Literal["on-prem", "kr-region", "abroad"] | None = None
    key_custody: Literal["organization", "byok", "provider"] | None = None
    retention_days: int | None = Field(default=None, ge=0)
    training_use: bool | None = None
    certifications: tuple[str, ...] = ()
    cross_border_basis: str | None = None
    # AI Basic Act art. 36: the representative's name and contact, or "below-threshold".
    domestic_representative: str | None = Field(default=None, min_length=1, max_length=500)


# The built-in demo provider runs inside Sumun: on-prem, organization-held keys, nothing kept.
_DEMO_PROFILE = ProfileConfig(
    jurisdiction="KR",
    hosting="on-prem",
    key_custody="organization",
    retention_days=0,
    training_use=False,
)


class ProviderConfig(_Strict):
    """An upstream model provider. Secrets (API keys) come from `api_key_env` or a file of their
    own (`api_key_file`, re-read when it changes), never from this file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    kind: Literal["openai", "azure", "anthropic", "demo", "gemini", "vertex", "clova", "bedrock"]
    base_url: str | None = None  # e.g. http://127.0.0.1:8000/v1 (vLLM), https://…/openai (Azure)
    api_key_env: str | None = None
    # A file holding the key or token (chmod 600; relative to the config file's folder),
    # re-read when it changes: for short-lived tokens renewed while Sumun runs.
    api_key_file: Path | None = None
    api_version: str | None = None  # Azure OpenAI `api-version`
    project: str | None = None  # Vertex AI: the Google Cloud project id
    location: str | None = None  # Vertex AI: the region, e.g. asia-northeast3 (Seoul)
    region: str | None = None  # Amazon Bedrock: the AWS region, e.g. ap-northeast-2 (Seoul)
    # Amazon Bedrock: the variables holding the AWS credentials (default: the AWS_* standard ones)
    aws_access_key_id_env: str | None = None
    aws_secret_access_key_env: str | None = None
    aws_session_token_env: str | None = None
    # Amazon Bedrock: or an AWS shared credentials file (INI; the `aws_profile` section, default
    # `default`), re-read when it changes: for STS temporary credentials a sidecar renews.
    aws_credentials_file: Path | None = None
    aws_profile: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    timeout_seconds: float = Field(default=60.0, gt=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # Declared terms; None = unknown = admitted for open (O) data only.
    profile: ProfileConfig | None = None

    def effective_profile(self) -> ProfileConfig | None:
        return _DEMO_PROFILE if self.kind == "demo" and self.profile is None else self.profile

    @model_validator(mode="after")
    def _vertex_names_its_project(self) -> ProviderConfig:
        if self.kind == "vertex" and not (self.project and self.location):
            raise ValueError("a vertex provider needs project and location")
        return self

    @model_validator(mode="after")
    def _bedrock_names_its_region(self) -> ProviderConfig:
        if self.kind == "bedrock" and not self.region:
            raise ValueError("a bedrock provider needs region (e.g. region: ap-northeast-2)")
        if self.kind == "bedrock" and (self.api_key_env or self.api_key_file):
            raise ValueError(
                "a bedrock provider signs with AWS credentials (aws_*_env or "
                "aws_credentials_file), not an API key"
            )
        return self

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> ProviderConfig:
        if self.api_key_env and self.api_key_file:
            raise ValueError("api_key_env and api_key_file are exclusive: name one")
        aws_env = (
            self.aws_access_key_id_env,
            self.aws_secret_access_key_env,
            self.aws_session_token_env,
        )
        if self.aws_credentials_file and any(aws_env):
            raise ValueError("aws_credentials_file and the aws_*_env settings are exclusive")
        if self.kind != "bedrock" and (self.aws_credentials_file or self.aws_profile):
            raise ValueError("aws_credentials_file and aws_profile are for bedrock providers")
        if self.aws_profile and not self.aws_credentials_file:
            raise ValueError("aws_profile names a section of aws_credentials_file: set that too")
        return self


_PROVIDER_FILES = ("api_key_file", "aws_credentials_file")


def _provider_beside(provider: Any, folder: Path) -> Any:
    """A provider (as given to Settings) with its relative secret files taken from `folder`."""
    if isinstance(provider, ProviderConfig):
        update = {
            key: folder / value
            for key in _PROVIDER_FILES
            if isinstance(value := getattr(provider, key), Path) and not value.is_absolute()
        }
        return provider.model_copy(update=update) if update else provider
    if isinstance(provider, dict):
        provider = dict(provider)
        for key in _PROVIDER_FILES:
            value = provider.get(key)
            if isinstance(value, str | Path) and str(value) and not Path(value).is_absolute():
                provider[key] = str(folder / value)
    return provider


class RouteTarget(_Strict):
    provider: str
    model: str  # the model name the provider knows (Azure: the deployment name)
    weight: int = Field(default=1, ge=1)


class RouteConfig(_Strict):
    """A model alias clients ask for, served by one or more providers."""

    model: str
    targets: tuple[RouteTarget, ...] = Field(min_length=1)
    strategy: Literal["fallback", "weighted"] = "fallback"


class GatewayConfig(_Strict):
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Breaker: open after this many consecutive failures, try again after the cool-down.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=10.0, gt=0)
    # Where limits and the kill switch are shared across processes (e.g. redis://127.0.0.1/0).
    redis_url: str | None = None
    # How long sealed pseudonym tables (token -> original) are kept apart from the data, for
    # re-identification by those entitled to it; 0 = not kept once the answer is restored.
    pseudonym_retention_days: float = Field(default=30.0, ge=0)
    # PII detection of one request may take this long (in a worker thread); past it the request
    # is refused (413 scan_budget_exceeded), never forwarded unscanned.
    detection_budget_seconds: float = Field(default=5.0, gt=0, le=120)
    # Output tokens reserved against a token budget when a request names no max_tokens
    # (sumun.gateway.budget); settled to what the provider reports.
    default_output_reservation: int = Field(default=1024, ge=0, le=1_000_000)
    # The most of one answer (streamed or not) the ledger keeps as its encrypted payload; a
    # longer answer is cut there and the cut recorded (`payload_truncated_from`).
    ledger_payload_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)


class PriceConfig(_Strict):
    """One model's price per million tokens (sumun.gateway.spend). Decimal: never a float."""

    currency: Literal["KRW", "USD"]
    input_per_mtok: Decimal = Field(ge=0, allow_inf_nan=False)
    output_per_mtok: Decimal = Field(ge=0, allow_inf_nan=False)


class PricesConfig(_Strict):
    """`prices:` — per model (`provider/model` or the upstream model name). A model not here
    has an unknown cost (counted as such), and a request for it under a spend budget is refused."""

    models: dict[str, PriceConfig] = {}
    # The operator's exchange rate (KRW per USD) for reporting the other currency, and the day
    # it was taken: Sumun never fetches one.
    usd_krw: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    rate_date: date | None = None


_DEMO_PROVIDERS = (ProviderConfig(name="demo", kind="demo"),)
_DEMO_ROUTES = (
    RouteConfig(model="demo", targets=(RouteTarget(provider="demo", model="sumun-demo-1"),)),
)


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


class ComplyConfig(_Strict):
    """`sumun comply report` (docs/compliance.md): how the report names this deployment, and
    where its models live.

    `system_name` heads the report (None: "Sumun at <hostname>"). `model_paths` are the
    directories or files holding the deployment's models (relative to the config file's
    folder); a recorded scan of a path under none of them is shown as an "other scan" and
    does not count against the deployment. Empty: every recorded scan counts.
    """

    system_name: str | None = Field(default=None, min_length=1, max_length=200)
    model_paths: tuple[Path, ...] = ()


class TracesConfig(_Strict):
    """OpenTelemetry traces of the request path over OTLP (docs/observability.md); off by
    default. Spans carry the GenAI semantic conventions and Sumun's decision, never content.

    `endpoint`: the collector's base URL (OTLP/HTTP: `/v1/traces` is added unless given; gRPC:
    `http://host:4317`, plain only for an http:// URL). None: the exporter's default (or the
    OTEL_EXPORTER_OTLP_* environment). Headers (e.g. an auth token) come from the environment
    variable `headers_env` ("name=value,name2=value2", as OTEL_EXPORTER_OTLP_HEADERS), never the
    file. Needs the `otel` extra (`pip install 'sumun[otel]'`).
    """

    exporter: Literal["none", "otlp-http", "otlp-grpc"] = "none"
    endpoint: str | None = None
    headers_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    ca_file: Path | None = None  # a CA bundle (PEM) for an https endpoint; None: the system's
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
    service_name: str = Field(default="sumun", min_length=1, max_length=200)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _endpoint_is_a_url(self) -> TracesConfig:
        if self.endpoint is not None:
            parsed = urlsplit(self.endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError("telemetry.traces.endpoint must be an http:// or https:// URL")
            if parsed.username or parsed.password or parsed.query or parsed.fragment:
                raise ValueError(
                    "telemetry.traces.endpoint must have no credentials, query or fragment "
                    "(headers come from headers_env)"
                )
        return self


class TelemetryConfig(_Strict):
    traces: TracesConfig = TracesConfig()


class LoggingConfig(_Strict):
    """Log lines on stderr (sumun.logs): `text`, or `json` — one object per line, with a
    per-request event at info. None level: info for json, warning for text."""

    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] | None = None


class Settings(_Strict):
    home: Path
    keys: KeysConfig = KeysConfig()
    control: ControlConfig = ControlConfig()
    ledger: LedgerConfig = LedgerConfig()
    server: ServerConfig = ServerConfig()
    admin_api: AdminApiConfig = AdminApiConfig()
    gateway: GatewayConfig = GatewayConfig()
    prices: PricesConfig = PricesConfig()
    providers: tuple[ProviderConfig, ...] = _DEMO_PROVIDERS
    routes: tuple[RouteConfig, ...] = _DEMO_ROUTES
    xks: XksConfig = XksConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    logging: LoggingConfig = LoggingConfig()
    comply: ComplyConfig = ComplyConfig()
    # The policy file (sumun.policy.rules); relative to the config file's folder. None: the
    # home's `policy.yaml` when there is one, else the built-in policy.
    policy_file: Path | None = None
    config_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _provider_files_beside_config(cls, data: Any) -> Any:
        """A provider's relative api_key_file / aws_credentials_file is in the config's folder."""
        if not isinstance(data, dict) or data.get("config_file") is None:
            return data
        providers = data.get("providers")
        if not isinstance(providers, list | tuple):
            return data
        folder = Path(data["config_file"]).parent
        return {**data, "providers": [_provider_beside(p, folder) for p in providers]}

    @model_validator(mode="after")
    def _routes_name_known_providers(self) -> Settings:
        names = [p.name for p in self.providers]
        if len(set(names)) != len(names):
            raise ValueError("provider names must be unique")
        aliases = [r.model for r in self.routes]
        if len(set(aliases)) != len(aliases):
            raise ValueError("each model alias may have only one route")
        for route in self.routes:
            for target in route.targets:
                if target.provider not in names:
                    raise ValueError(
                        f"route {route.model!r} names unknown provider {target.provider!r}"
                    )
        return self

    def secret_from_env(self, var: str) -> str | None:
        """Read a secret named by the config from the environment (never from the file)."""
        value = os.environ.get(var)
        return value if value else None


def policy_path(settings: Settings) -> Path | None:
    """The policy file these settings name (or the home's `policy.yaml`), if any."""
    if settings.policy_file is not None:
        path = settings.policy_file
        if not path.is_absolute() and settings.config_file is not None:
            path = settings.config_file.parent / path
        if not path.is_file():
            raise ConfigError(f"policy file not found: {path}")
        return path
    default = settings.home / "policy.yaml"
    return default if default.is_file() else None


def admin_tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """The admin listener's certificate and key files (relative to the config file's folder),
    or None for plain HTTP. ConfigError names a file that is missing."""
    conf = settings.admin_api
    if conf.tls_cert_file is None or conf.tls_key_file is None:
        return None
    found = []
    for given in (conf.tls_cert_file, conf.tls_key_file):
        path = given
        if not path.is_absolute() and settings.config_file is not None:
            path = settings.config_file.parent / path
        if not path.is_file():
            raise ConfigError(f"admin_api TLS file not found: {path}")
        found.append(path)
    return found[0], found[1]


def load_policy(settings: Settings) -> Policy:
    """The policy in force: the policy file, validated (errors name file:line:column)."""
    from sumun.policy.rules import DEFAULT_POLICY

    path = policy_path(settings)
    return DEFAULT_POLICY if path is None else read_policy(path)


def read_policy(path: Path) -> Policy:
    """A policy file, validated; ConfigError names file:line:column and the field."""
    from sumun.policy.rules import PolicyError, parse_policy

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the policy file {path}: {exc}") from exc
    try:
        return parse_policy(text, source=str(path))
    except PolicyError as exc:
        raise ConfigError(str(exc), advice="fix the policy file and try again") from exc


def _find_file(home: Path, explicit: Path | None, env: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        return explicit
    if env.get("SUMUN_CONFIG"):
        path = Path(env["SUMUN_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"SUMUN_CONFIG names a missing file: {path}")
        return path
    for candidate in (home / "sumun.yaml", Path("sumun.yaml")):
        if candidate.is_file():
            return candidate
    return None


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    control = raw.setdefault("control", {})
    if isinstance(control, dict) and env.get("SUMUN_CONTROL_STORE"):
        control["store"] = env["SUMUN_CONTROL_STORE"]
    ledger = raw.setdefault("ledger", {})
    if isinstance(ledger, dict):
        if env.get("SUMUN_LEDGER_STORE"):
            ledger["store"] = env["SUMUN_LEDGER_STORE"]
        if env.get("SUMUN_LEDGER_DURABILITY"):
            ledger["durability"] = env["SUMUN_LEDGER_DURABILITY"]
    keys = raw.setdefault("keys", {})
    if not isinstance(keys, dict):
        return  # let validation report the wrong type
    if env.get("SUMUN_KEYS_BACKEND"):
        keys["backend"] = env["SUMUN_KEYS_BACKEND"]
    if env.get("SUMUN_KEYS_SUITE"):
        keys["suite"] = env["SUMUN_KEYS_SUITE"]
    if env.get("SUMUN_OPENBAO_ADDR"):
        keys.setdefault("openbao", {})["address"] = env["SUMUN_OPENBAO_ADDR"]
    if env.get("SUMUN_PKCS11_MODULE"):
        keys.setdefault("pkcs11", {})["module"] = env["SUMUN_PKCS11_MODULE"]
    if env.get("SUMUN_PKCS11_TOKEN"):
        keys.setdefault("pkcs11", {})["token_label"] = env["SUMUN_PKCS11_TOKEN"]


def _format_validation(path: Path | None, exc: ValidationError) -> str:
    from sumun.config_errors import line_of, node_tree  # each problem at its line

    root = node_tree(path)
    where = str(path) if path else "configuration"
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        line, _column = line_of(root, err["loc"], str(err["msg"]))
        problems.append(("" if line is None else f"line {line}: ") + f"{loc}: {err['msg']}")
    return f"{where}: " + "; ".join(problems)


def load(
    *,
    config_file: Path | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings. Raises ConfigError with the offending key path on invalid input."""
    env = os.environ if env is None else env
    home = home or Path(env.get("SUMUN_HOME") or ".sumun")
    path = _find_file(home, config_file, env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        raw = loaded
    raw.pop("home", None)  # the home is chosen by SUMUN_HOME, never by a file inside it
    _apply_env(raw, env)
    try:
        return Settings(home=home.resolve(), config_file=path, **raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation(path, exc)) from exc
    except TypeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
