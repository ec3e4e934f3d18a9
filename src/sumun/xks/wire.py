"""The XKS Proxy API v1 on the wire: request bodies in, typed requests out; responses back.

Dicts stay in this module. Every parse failure is one of the spec's errors:

    the body is not a JSON object, a field is missing or of the wrong type,
    a value is not strict standard Base64 (RFC 4648 §4, padded, no whitespace),
    encryptionAlgorithm is not AES_GCM, the CDIV algorithm is not SHA_256,
    ciphertextMetadata is longer than 20 bytes                   → ValidationException
    plaintext or ciphertext over 4300 bytes, AAD over 8192 bytes → UnsupportedOperationException
    (Decrypt) an IV that is not 12 or 16 bytes, a tag that is not
    16 bytes                                                      → InvalidCiphertextException

`requestMetadata` (spec Appendix B) is read as opaque strings: `kmsRequestId` and
`kmsOperation` are required for every call (any `kmsOperation` value is accepted),
`awsPrincipalArn` for the key calls, `kmsKeyArn` for Encrypt and Decrypt; fields the spec may
add later are ignored. GetHealthStatus never answers ValidationException (the spec's table
excludes it): a body it cannot read leaves its metadata empty.

The ciphertext data integrity value (spec Appendix C) is computed here, from the encrypt
output as the keyring returned it, before anything else touches it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sumun.xks.errors import InvalidCiphertextError, UnsupportedOperationError, ValidationError
from sumun.xks.model import (
    MAX_AAD_BYTES,
    MAX_METADATA_BYTES,
    MAX_PLAINTEXT_BYTES,
    Encrypted,
    ExternalKey,
    Health,
    RequestMetadata,
)

__all__ = [
    "DecryptRequest",
    "EncryptRequest",
    "HealthRequest",
    "MetadataRequest",
    "b64decode_strict",
    "cdiv",
    "decrypt_response",
    "encrypt_response",
    "health_response",
    "metadata_response",
    "parse_decrypt",
    "parse_encrypt",
    "parse_health",
    "parse_metadata",
]

IV_SIZES = (12, 16)
TAG_SIZE = 16
MAX_FLEET_DETAILS = 10
MAX_KEY_USAGES = 10

_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


@dataclass(frozen=True, slots=True)
class MetadataRequest:
    metadata: RequestMetadata


@dataclass(frozen=True, slots=True)
class EncryptRequest:
    metadata: RequestMetadata
    plaintext: bytes
    aad: bytes | None
    want_cdiv: bool  # ciphertextDataIntegrityValueAlgorithm was SHA_256


@dataclass(frozen=True, slots=True)
class DecryptRequest:
    metadata: RequestMetadata
    sealed: Encrypted
    aad: bytes | None


@dataclass(frozen=True, slots=True)
class HealthRequest:
    metadata: RequestMetadata | None  # None: the body could not be read (never refused)


# -- decoding ---------------------------------------------------------------------------------


def b64decode_strict(value: object, field: str) -> bytes:
    """Standard Base64 with padding and nothing else (no whitespace, no URL-safe alphabet, no
    stray bits in the last character): ValidationError naming `field` otherwise."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a Base64 string")
    if _B64.fullmatch(value) is None:
        raise ValidationError(f"{field} is not valid standard Base64 (with padding)")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern rules it out
        raise ValidationError(f"{field} is not valid standard Base64") from exc
    if base64.b64encode(data).decode("ascii") != value:
        raise ValidationError(f"{field} is not canonical Base64 (non-zero padding bits)")
    return data


def _body(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("the request body is not valid UTF-8") from exc
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValidationError("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ValidationError("the request body must be a JSON object")
    return data


def _text(obj: Mapping[str, Any], name: str, where: str, *, required: bool) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise ValidationError(f"{where}{name} is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}{name} must be a string")
    return value


def _request_metadata(
    body: Mapping[str, Any], *, principal: bool, key_arn: bool
) -> RequestMetadata:
    meta = body.get("requestMetadata")
    if not isinstance(meta, dict):
        raise ValidationError("requestMetadata is required and must be a JSON object")
    where = "requestMetadata."
    return RequestMetadata(
        kms_operation=_text(meta, "kmsOperation", where, required=True) or "",
        kms_request_id=_text(meta, "kmsRequestId", where, required=True) or "",
        aws_principal_arn=_text(meta, "awsPrincipalArn", where, required=principal),
        kms_key_arn=_text(meta, "kmsKeyArn", where, required=key_arn),
        kms_via_service=_text(meta, "kmsViaService", where, required=False),
        aws_source_vpc=_text(meta, "awsSourceVpc", where, required=False),
        aws_source_vpce=_text(meta, "awsSourceVpce", where, required=False),
    )


def _algorithm(body: Mapping[str, Any]) -> None:
    algorithm = _text(body, "encryptionAlgorithm", "", required=True)
    if algorithm != "AES_GCM":
        raise ValidationError("encryptionAlgorithm must be AES_GCM")


def _aad(body: Mapping[str, Any]) -> bytes | None:
    if body.get("additionalAuthenticatedData") is None:
        return None
    aad = b64decode_strict(body["additionalAuthenticatedData"], "additionalAuthenticatedData")
    if len(aad) > MAX_AAD_BYTES:
        raise UnsupportedOperationError(
            f"additionalAuthenticatedData of {len(aad)} bytes exceeds {MAX_AAD_BYTES} bytes"
        )
    return aad


def _required_b64(body: Mapping[str, Any], name: str) -> bytes:
    if body.get(name) is None:
        raise ValidationError(f"{name} is required")
    return b64decode_strict(body[name], name)


def parse_metadata(raw: bytes) -> MetadataRequest:
    """GetKeyMetadata's body (`kmsKeyArn` is absent when KMS calls it for CreateKey)."""
    body = _body(raw)
    return MetadataRequest(_request_metadata(body, principal=True, key_arn=False))


def parse_encrypt(raw: bytes) -> EncryptRequest:
    body = _body(raw)
    metadata = _request_metadata(body, principal=True, key_arn=True)
    _algorithm(body)
    plaintext = _required_b64(body, "plaintext")
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise UnsupportedOperationError(
            f"plaintext of {len(plaintext)} bytes exceeds {MAX_PLAINTEXT_BYTES} bytes"
        )
    aad = _aad(body)
    cdiv_algorithm = _text(body, "ciphertextDataIntegrityValueAlgorithm", "", required=False)
    if cdiv_algorithm is not None and cdiv_algorithm != "SHA_256":
        raise ValidationError("ciphertextDataIntegrityValueAlgorithm must be SHA_256")
    return EncryptRequest(metadata, plaintext, aad, want_cdiv=cdiv_algorithm is not None)


def parse_decrypt(raw: bytes) -> DecryptRequest:
    body = _body(raw)
    metadata = _request_metadata(body, principal=True, key_arn=True)
    _algorithm(body)
    ciphertext = _required_b64(body, "ciphertext")
    if len(ciphertext) > MAX_PLAINTEXT_BYTES:
        raise UnsupportedOperationError(
            f"ciphertext of {len(ciphertext)} bytes exceeds {MAX_PLAINTEXT_BYTES} bytes"
        )
    iv = _required_b64(body, "initializationVector")
    tag = _required_b64(body, "authenticationTag")
    meta = b""
    if body.get("ciphertextMetadata") is not None:
        meta = b64decode_strict(body["ciphertextMetadata"], "ciphertextMetadata")
        if len(meta) > MAX_METADATA_BYTES:
            raise ValidationError(
                f"ciphertextMetadata of {len(meta)} bytes exceeds {MAX_METADATA_BYTES} bytes"
            )
    aad = _aad(body)
    # Well-formed but impossible for AES-GCM: the ciphertext is invalid (the spec's
    # InvalidCiphertextException row names the IV and the tag).
    if len(iv) not in IV_SIZES:
        raise InvalidCiphertextError("initializationVector must be 12 or 16 bytes")
    if len(tag) != TAG_SIZE:
        raise InvalidCiphertextError("authenticationTag must be 16 bytes")
    return DecryptRequest(metadata, Encrypted(ciphertext, iv, tag, meta), aad)


def parse_health(raw: bytes) -> HealthRequest:
    """GetHealthStatus's body: read as far as it goes, never refused."""
    try:
        body = _body(raw)
        return HealthRequest(_request_metadata(body, principal=False, key_arn=False))
    except ValidationError:
        return HealthRequest(None)


# -- responses --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def cdiv(aad: bytes | None, sealed: Encrypted) -> bytes:
    """The ciphertext data integrity value (spec Appendix C): SHA-256 over

        additionalAuthenticatedData || ciphertextMetadata || initializationVector
        || ciphertext || authenticationTag

    (absent fields are empty; no lengths — it guards against bit flips, not attackers)."""
    digest = hashlib.sha256()
    for part in (aad or b"", sealed.metadata, sealed.iv, sealed.ciphertext, sealed.tag):
        digest.update(part)
    return digest.digest()


def metadata_response(key: ExternalKey) -> dict[str, object]:
    usage = key.usage.spec_values()[:MAX_KEY_USAGES]
    return {
        "keySpec": "AES_256",
        "keyUsage": usage,
        "keyStatus": "ENABLED" if key.enabled else "DISABLED",
    }


def encrypt_response(sealed: Encrypted, integrity: bytes | None) -> dict[str, object]:
    """Encrypt's answer. The keyring's output is checked against the spec's shape: a result
    that breaks it is the proxy's fault, never sent (ValueError)."""
    if len(sealed.iv) not in IV_SIZES or len(sealed.tag) != TAG_SIZE:
        raise ValueError("the keyring returned an IV or tag of the wrong size")
    if len(sealed.metadata) > MAX_METADATA_BYTES:
        raise ValueError("the keyring returned ciphertext metadata over 20 bytes")
    out: dict[str, object] = {
        "ciphertext": _b64(sealed.ciphertext),
        "initializationVector": _b64(sealed.iv),
        "authenticationTag": _b64(sealed.tag),
    }
    if sealed.metadata:
        out["ciphertextMetadata"] = _b64(sealed.metadata)
    if integrity is not None:
        out["ciphertextDataIntegrityValue"] = _b64(integrity)
    return out


def decrypt_response(plaintext: bytes) -> dict[str, object]:
    return {"plaintext": _b64(plaintext)}


def health_response(
    health: Health, *, fleet_size: int, vendor: str, model: str
) -> dict[str, object]:
    """GetHealthStatus's answer: at least one and at most ten `ekmFleetDetails`."""
    details = [
        {"id": str(d.get("id", "")), "model": str(d.get("model", "")),
         "healthStatus": str(d.get("healthStatus", health.status))}
        for d in health.fleet[:MAX_FLEET_DETAILS]
    ]  # fmt: skip
    if not details:
        details = [{"id": "sumun", "model": model, "healthStatus": health.status}]
    return {
        "xksProxyFleetSize": max(1, fleet_size),
        "xksProxyVendor": vendor,
        "xksProxyModel": model,
        "ekmVendor": health.ekm_vendor,
        "ekmFleetDetails": details,
    }
