"""Typed data across the XKS package's seams, and the seams themselves.

    wire/app (the protocol side)  ──calls──▶  XksKeyring      (keys: state, usage, AES-GCM)
                                  ──calls──▶  XksCredentials  (SigV4 secrets per keystore)
                                  ──calls──▶  XksAudit        (one ledger entry per call)

The protocol side never sees key material; the keyring never sees HTTP. Plaintext crosses the
seam as bytes and is never logged or recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
    "MAX_AAD_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_PLAINTEXT_BYTES",
    "Encrypted",
    "ExternalKey",
    "Health",
    "KeyUsage",
    "Keystore",
    "Operation",
    "RequestMetadata",
    "XksAudit",
    "XksCall",
    "XksCredentials",
    "XksKeyring",
    "aes_gcm_aad",
]

# The spec's minimums this proxy supports (it may refuse more with UnsupportedOperationException).
MAX_PLAINTEXT_BYTES = 4300
MAX_AAD_BYTES = 8192
MAX_METADATA_BYTES = 20

Operation = Literal["GetKeyMetadata", "Encrypt", "Decrypt", "GetHealthStatus"]


class KeyUsage(enum.Enum):
    """What an external key may do (`sumun xks keys create --usage`)."""

    BOTH = "both"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    NONE = "none"

    def allows(self, operation: Literal["Encrypt", "Decrypt"]) -> bool:
        if self is KeyUsage.BOTH:
            return True
        return (self is KeyUsage.ENCRYPT and operation == "Encrypt") or (
            self is KeyUsage.DECRYPT and operation == "Decrypt"
        )

    def spec_values(self) -> list[str]:
        """GetKeyMetadata's `keyUsage`: the spec's upper-case names."""
        return {
            KeyUsage.BOTH: ["ENCRYPT", "DECRYPT"],
            KeyUsage.ENCRYPT: ["ENCRYPT"],
            KeyUsage.DECRYPT: ["DECRYPT"],
            KeyUsage.NONE: [],
        }[self]


@dataclass(frozen=True, slots=True)
class Keystore:
    """A logical key store: what AWS's `CreateCustomKeyStore` points at.

    `uri_prefix` is "" or "/seg[/seg…]" (a-z A-Z 0-9 / - _), so the API lives at
    `https://<host><uri_prefix>/kms/xks/v1/…`; unique across keystores.
    """

    name: str
    uri_prefix: str
    created_ms: int = 0


@dataclass(frozen=True, slots=True)
class ExternalKey:
    """An external key as GetKeyMetadata reports it. `key_id` is also the Sumun key id."""

    key_id: str
    keystore: str
    usage: KeyUsage
    enabled: bool  # False: the Sumun key is disabled, pending destruction or destroyed
    backend: str  # "embedded", "pkcs11" or "openbao"


@dataclass(frozen=True, slots=True)
class RequestMetadata:
    """The request's `requestMetadata` (spec Appendix B). Opaque strings, never validated
    beyond presence; `kms_operation` values outside the spec's lists are accepted."""

    kms_operation: str
    kms_request_id: str
    aws_principal_arn: str | None = None
    kms_key_arn: str | None = None
    kms_via_service: str | None = None
    aws_source_vpc: str | None = None
    aws_source_vpce: str | None = None


@dataclass(frozen=True, slots=True)
class Encrypted:
    """An AES-GCM result as the wire carries it: 12-byte IV, 16-byte tag, metadata ≤ 20 bytes."""

    ciphertext: bytes
    iv: bytes
    tag: bytes
    metadata: bytes = b""  # ciphertextMetadata: the keyring's own format/version bytes


def aes_gcm_aad(aad: bytes | None, metadata: bytes) -> bytes:
    """The AAD the AES-GCM operation authenticates (spec, Encrypt, `ciphertextMetadata`):

        2-byte big-endian len(aad) || aad || 1-byte len(metadata) || metadata

    so a ciphertext made without AAD never decrypts with its metadata passed as AAD.
    """
    data = aad or b""
    if len(data) > 0xFFFF or len(metadata) > MAX_METADATA_BYTES:
        raise ValueError("AAD or ciphertext metadata too long")
    return len(data).to_bytes(2, "big") + data + bytes([len(metadata)]) + metadata


@dataclass(frozen=True, slots=True)
class Health:
    """GetHealthStatus's answer about the key backends (deep: a test encryption was made)."""

    status: Literal["ACTIVE", "DEGRADED", "UNAVAILABLE"]
    ekm_vendor: str
    fleet: tuple[Mapping[str, str], ...]  # ekmFleetDetails: {"id", "model", "healthStatus"}


class XksKeyring(Protocol):
    """External keys on Sumun's key layer. Raises `sumun.xks.errors` exceptions only:

    KeyNotFoundError (no such key in that keystore), InvalidStateError (key disabled,
    destroyed, or Sumun sealed), InvalidKeyUsageError, InvalidCiphertextError (decrypt does
    not authenticate), DependencyTimeoutError / InternalError (backend down or failing).
    """

    async def metadata(self, keystore: str, key_id: str) -> ExternalKey: ...

    async def encrypt(
        self, keystore: str, key_id: str, plaintext: bytes, aad: bytes | None
    ) -> Encrypted: ...

    async def decrypt(
        self, keystore: str, key_id: str, sealed: Encrypted, aad: bytes | None
    ) -> bytes: ...

    async def health(self) -> Health: ...


class XksCredentials(Protocol):
    """SigV4 credentials (several active per keystore, so they rotate without downtime)."""

    def keystore_for_prefix(self, uri_prefix: str) -> Keystore | None: ...

    def secret(self, keystore: str, access_key_id: str) -> str | None:
        """The active secret access key, or None (unknown or revoked)."""
        ...


@dataclass(frozen=True, slots=True)
class XksCall:
    """One answered XKS call, as the ledger records it (metadata only)."""

    keystore: str
    operation: Operation
    key_id: str | None
    metadata: RequestMetadata | None
    outcome: str  # "ok" or the errorName
    access_key_id: str | None = None
    latency_us: int = 0
    rule: str | None = None  # the secondary-authorization rule that denied or allowed
    extra: Mapping[str, str] = field(default_factory=dict)


class XksAudit(Protocol):
    async def record(self, call: XksCall) -> int | None:
        """Append the call's ledger entry (durable per the ledger's durability) → its seq."""
        ...
