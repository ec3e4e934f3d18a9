"""sumun.xks.wire: request bodies in, typed requests out; the spec's examples as vectors."""

from __future__ import annotations

import base64
import json

import pytest

from sumun.xks import wire
from sumun.xks.errors import InvalidCiphertextError, UnsupportedOperationError, ValidationError
from sumun.xks.model import Encrypted, ExternalKey, Health, KeyUsage
from tests.xks.support import request_metadata


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


# The spec's Encrypt request example and Appendix C's CDIV computation.
SPEC_AAD = "cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n"
SPEC_RESPONSE = {
    "authenticationTag": "vBxN2ncH1oEkR8WVXpmyYQ==",
    "ciphertext": "ghxkK1txeDNn3q8Y",
    "ciphertextDataIntegrityValue": "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=",
    "ciphertextMetadata": "a2V5X3ZlcnNpb249MQ==",
    "initializationVector": "HMrlRw85cAJUd5Ax",
}


def test_cdiv_matches_the_spec_example() -> None:
    sealed = Encrypted(
        ciphertext=base64.b64decode(SPEC_RESPONSE["ciphertext"]),
        iv=base64.b64decode(SPEC_RESPONSE["initializationVector"]),
        tag=base64.b64decode(SPEC_RESPONSE["authenticationTag"]),
        metadata=base64.b64decode(SPEC_RESPONSE["ciphertextMetadata"]),
    )
    aad = base64.b64decode(SPEC_AAD)
    assert aad == b"project=nile,department=marketing" and len(aad) == 33
    value = wire.cdiv(aad, sealed)
    assert value.hex() == "a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7"
    assert wire.encrypt_response(sealed, value) == SPEC_RESPONSE


def test_cdiv_without_aad_or_metadata_hashes_the_rest() -> None:
    sealed = Encrypted(b"ct", b"i" * 12, b"t" * 16)
    import hashlib

    assert wire.cdiv(None, sealed) == hashlib.sha256(b"i" * 12 + b"ct" + b"t" * 16).digest()
    assert "ciphertextMetadata" not in wire.encrypt_response(sealed, None)


def test_parse_the_spec_encrypt_example() -> None:
    body = {
        "requestMetadata": request_metadata("Encrypt", kmsViaService="ebs"),
        "additionalAuthenticatedData": SPEC_AAD,
        "plaintext": "SGVsbG8gV29ybGQh",
        "encryptionAlgorithm": "AES_GCM",
        "ciphertextDataIntegrityValueAlgorithm": "SHA_256",
    }
    parsed = wire.parse_encrypt(raw(body))
    assert parsed.plaintext == b"Hello World!"
    assert parsed.aad == b"project=nile,department=marketing"
    assert parsed.want_cdiv
    assert parsed.metadata.kms_via_service == "ebs"
    assert parsed.metadata.kms_request_id == "4112f4d6-db54-4af4-ae30-c55a22a8dfae"


def test_parse_the_spec_decrypt_example() -> None:
    body = {
        "requestMetadata": request_metadata("Decrypt"),
        "additionalAuthenticatedData": SPEC_AAD,
        "encryptionAlgorithm": "AES_GCM",
        "ciphertext": "ghxkK1txeDNn3q8Y",
        "ciphertextMetadata": "a2V5X3ZlcnNpb249MQ==",
        "initializationVector": "HMrlRw85cAJUd5Ax",
        "authenticationTag": "vBxN2ncH1oEkR8WVXpmyYQ==",
    }
    parsed = wire.parse_decrypt(raw(body))
    assert parsed.sealed.metadata == b"key_version=1"
    assert len(parsed.sealed.iv) == 12 and len(parsed.sealed.tag) == 16


@pytest.mark.parametrize(
    "value",
    [
        "SGVsbG8gV29ybGQ",  # padding missing
        "SGVsbG8gV29ybGQh\n",  # whitespace
        "SGVs bG8gV29ybGQh",
        "SGVsbG8_V29ybGQh",  # URL-safe alphabet
        "SGVsbG8gV29ybGR=",  # non-zero padding bits
        "=",
        "SGVsbG8gV29ybGQh==",
        "ÿÿÿÿ",
    ],
)
def test_base64_must_be_strict_standard_with_padding(value: str) -> None:
    with pytest.raises(ValidationError, match="plaintext"):
        wire.b64decode_strict(value, "plaintext")


def test_base64_accepts_empty_and_canonical() -> None:
    assert wire.b64decode_strict("", "x") == b""
    assert wire.b64decode_strict("YQ==", "x") == b"a"
    with pytest.raises(ValidationError, match="must be a Base64 string"):
        wire.b64decode_strict(12, "x")


def _encrypt(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "requestMetadata": request_metadata("Encrypt"),
        "plaintext": b64(b"k" * 32),
        "encryptionAlgorithm": "AES_GCM",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def _decrypt(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "requestMetadata": request_metadata("Decrypt"),
        "ciphertext": b64(b"c" * 32),
        "initializationVector": b64(b"i" * 12),
        "authenticationTag": b64(b"t" * 16),
        "encryptionAlgorithm": "AES_GCM",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        (_encrypt(plaintext=None), ValidationError, "plaintext is required"),
        (_encrypt(encryptionAlgorithm=None), ValidationError, "encryptionAlgorithm is required"),
        (_encrypt(encryptionAlgorithm="AES_CBC"), ValidationError, "must be AES_GCM"),
        (_encrypt(encryptionAlgorithm=1), ValidationError, "must be a string"),
        (
            _encrypt(ciphertextDataIntegrityValueAlgorithm="SHA_1"),
            ValidationError,
            "must be SHA_256",
        ),
        (_encrypt(requestMetadata=None), ValidationError, "requestMetadata is required"),
        (_encrypt(requestMetadata=[]), ValidationError, "requestMetadata is required"),
        (
            _encrypt(requestMetadata={"kmsOperation": "Encrypt", "kmsRequestId": "r"}),
            ValidationError,
            "awsPrincipalArn is required",
        ),
        (
            _encrypt(
                requestMetadata={
                    "kmsOperation": "Encrypt",
                    "kmsRequestId": "r",
                    "awsPrincipalArn": "a",
                }
            ),
            ValidationError,
            "kmsKeyArn is required",
        ),
        (
            _encrypt(requestMetadata={**request_metadata(), "kmsRequestId": 7}),
            ValidationError,
            "kmsRequestId must be a string",
        ),
        (_encrypt(plaintext=b64(b"p" * 4301)), UnsupportedOperationError, "4301 bytes"),
        (
            _encrypt(additionalAuthenticatedData=b64(b"a" * 8193)),
            UnsupportedOperationError,
            "8193 bytes",
        ),
        (_encrypt(additionalAuthenticatedData="***"), ValidationError, "additionalAuth"),
    ],
)
def test_encrypt_refusals(body: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        wire.parse_encrypt(raw(body))


def test_encrypt_limits_are_inclusive() -> None:
    parsed = wire.parse_encrypt(
        raw(_encrypt(plaintext=b64(b"p" * 4300), additionalAuthenticatedData=b64(b"a" * 8192)))
    )
    assert len(parsed.plaintext) == 4300 and parsed.aad is not None and len(parsed.aad) == 8192
    assert not parsed.want_cdiv


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        (_decrypt(ciphertext=None), ValidationError, "ciphertext is required"),
        (_decrypt(initializationVector=None), ValidationError, "initializationVector is required"),
        (_decrypt(authenticationTag=None), ValidationError, "authenticationTag is required"),
        (_decrypt(encryptionAlgorithm="RSA"), ValidationError, "AES_GCM"),
        (_decrypt(ciphertext=b64(b"c" * 4301)), UnsupportedOperationError, "4301 bytes"),
        (_decrypt(ciphertextMetadata=b64(b"m" * 21)), ValidationError, "21 bytes exceeds 20"),
        (_decrypt(initializationVector=b64(b"i" * 8)), InvalidCiphertextError, "12 or 16"),
        (_decrypt(authenticationTag=b64(b"t" * 12)), InvalidCiphertextError, "16 bytes"),
        (_decrypt(ciphertext="not base64!"), ValidationError, "ciphertext"),
    ],
)
def test_decrypt_refusals(body: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        wire.parse_decrypt(raw(body))


def test_decrypt_accepts_a_16_byte_iv_and_20_bytes_of_metadata() -> None:
    parsed = wire.parse_decrypt(
        raw(_decrypt(initializationVector=b64(b"i" * 16), ciphertextMetadata=b64(b"m" * 20)))
    )
    assert len(parsed.sealed.iv) == 16 and parsed.sealed.metadata == b"m" * 20


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b"{", "not valid JSON"),
        (b"[]", "JSON object"),
        (b"", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_malformed_bodies(data: bytes, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        wire.parse_metadata(data)


def test_unknown_kms_operation_and_fields_are_accepted() -> None:
    meta = {**request_metadata("BulkDescribeKey"), "kmsRecipientAttestationImageSha384": "x"}
    meta.pop("kmsKeyArn")  # CreateKey: no key ARN yet
    parsed = wire.parse_metadata(raw({"requestMetadata": meta, "somethingNew": 1}))
    assert parsed.metadata.kms_operation == "BulkDescribeKey"
    assert parsed.metadata.kms_key_arn is None


def test_health_body_is_never_refused() -> None:
    assert wire.parse_health(b"{").metadata is None
    parsed = wire.parse_health(
        raw({"requestMetadata": {"kmsRequestId": "r", "kmsOperation": "KmsHealthCheck"}})
    )
    assert parsed.metadata is not None and parsed.metadata.kms_operation == "KmsHealthCheck"


def test_metadata_response() -> None:
    key = ExternalKey("k", "prod", KeyUsage.BOTH, True, "embedded")
    assert wire.metadata_response(key) == {
        "keySpec": "AES_256",
        "keyUsage": ["ENCRYPT", "DECRYPT"],
        "keyStatus": "ENABLED",
    }
    off = ExternalKey("k", "prod", KeyUsage.NONE, False, "embedded")
    assert wire.metadata_response(off)["keyStatus"] == "DISABLED"
    assert wire.metadata_response(off)["keyUsage"] == []


def test_encrypt_response_refuses_a_malformed_keyring_result() -> None:
    with pytest.raises(ValueError, match="IV or tag"):
        wire.encrypt_response(Encrypted(b"c", b"i" * 8, b"t" * 16), None)
    with pytest.raises(ValueError, match="20 bytes"):
        wire.encrypt_response(Encrypted(b"c", b"i" * 12, b"t" * 16, b"m" * 21), None)


def test_health_response_shape() -> None:
    many = tuple({"id": f"n{i}", "model": "m", "healthStatus": "ACTIVE"} for i in range(12))
    out = wire.health_response(Health("ACTIVE", "Acme", many), fleet_size=2, vendor="V", model="M")
    assert out["xksProxyFleetSize"] == 2 and out["ekmVendor"] == "Acme"
    assert isinstance(out["ekmFleetDetails"], list) and len(out["ekmFleetDetails"]) == 10
    empty = wire.health_response(
        Health("DEGRADED", "Acme", ()), fleet_size=1, vendor="V", model="M"
    )
    assert empty["ekmFleetDetails"] == [{"id": "sumun", "model": "M", "healthStatus": "DEGRADED"}]
