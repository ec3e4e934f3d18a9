"""Where keys, the control plane and the ledger live: `keys`, `control`, `ledger`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sumun.config._base import _Strict
from sumun.crypto.hazmat.aead import Suite

DEFAULT_SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


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
