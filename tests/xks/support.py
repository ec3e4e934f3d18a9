"""Test support for the XKS protocol side: a test PKI, in-memory seams, a real TLS server.

The fakes implement the three seams of sumun.xks.model the way the real keyring must behave
on the wire: FakeKeyring is real AES-256-GCM with `aes_gcm_aad` and a 2-byte
ciphertextMetadata (format, key version), so AAD and metadata tampering fail as they would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import ipaddress
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.types import ASGIApp

from sumun.xks.errors import (
    InvalidCiphertextError,
    InvalidKeyUsageError,
    InvalidStateError,
    KeyNotFoundError,
    XksError,
)
from sumun.xks.model import (
    Encrypted,
    ExternalKey,
    Health,
    Keystore,
    KeyUsage,
    XksCall,
    aes_gcm_aad,
)

AKID_1 = "AKIAI2SFODNN7EXAMPLE"
SECRET_1 = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE"
AKID_2 = "HGIE2BUAFNDMBCMSQVWLGCEXAMPLE"
SECRET_2 = "VU6W2byoiBrhDqNGbx703oL0syCAmhlQgwNUT123456"
REGION = "us-east-1"
KMS_CN = "cks.kms.us-east-1.amazonaws.com"
PREFIX = "/bank/prod"


def request_metadata(operation: str = "Encrypt", **extra: str) -> dict[str, str]:
    return {
        "awsPrincipalArn": "arn:aws:iam::123456789012:user/Alice",
        "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "kmsOperation": operation,
        "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
        **extra,
    }


# -- the seams, in memory ---------------------------------------------------------------------


@dataclass
class _Key:
    usage: KeyUsage
    enabled: bool = True
    versions: dict[int, bytes] = field(default_factory=lambda: {1: AESGCM.generate_key(256)})
    primary: int = 1


@dataclass
class FakeKeyring:
    keys: dict[tuple[str, str], _Key] = field(default_factory=dict)
    sealed: bool = False
    fail: XksError | Exception | None = None
    delay: float = 0.0
    health_status: str = "ACTIVE"
    iv_size: int = 12

    def add(self, keystore: str, key_id: str, usage: KeyUsage = KeyUsage.BOTH) -> None:
        self.keys[(keystore, key_id)] = _Key(usage)

    async def _key(self, keystore: str, key_id: str) -> _Key:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        key = self.keys.get((keystore, key_id))
        if key is None:
            raise KeyNotFoundError(f"no external key {key_id!r} in this keystore")
        if self.sealed:
            raise InvalidStateError("Sumun is sealed")
        return key

    async def metadata(self, keystore: str, key_id: str) -> ExternalKey:
        key = await self._key(keystore, key_id)
        return ExternalKey(key_id, keystore, key.usage, key.enabled, "embedded")

    async def encrypt(
        self, keystore: str, key_id: str, plaintext: bytes, aad: bytes | None
    ) -> Encrypted:
        key = await self._key(keystore, key_id)
        if not key.enabled:
            raise InvalidStateError("the key is disabled")
        if not key.usage.allows("Encrypt"):
            raise InvalidKeyUsageError("the key does not encrypt")
        metadata = bytes([1, key.primary])
        iv = os.urandom(self.iv_size)
        out = AESGCM(key.versions[key.primary]).encrypt(iv, plaintext, aes_gcm_aad(aad, metadata))
        return Encrypted(out[:-16], iv, out[-16:], metadata)

    async def decrypt(
        self, keystore: str, key_id: str, sealed: Encrypted, aad: bytes | None
    ) -> bytes:
        key = await self._key(keystore, key_id)
        if not key.enabled:
            raise InvalidStateError("the key is disabled")
        if not key.usage.allows("Decrypt"):
            raise InvalidKeyUsageError("the key does not decrypt")
        meta = sealed.metadata
        if len(meta) != 2 or meta[0] != 1 or meta[1] not in key.versions:
            raise InvalidCiphertextError("the ciphertext is not authentic")
        try:
            return AESGCM(key.versions[meta[1]]).decrypt(
                sealed.iv, sealed.ciphertext + sealed.tag, aes_gcm_aad(aad, meta)
            )
        except InvalidTag as exc:
            raise InvalidCiphertextError("the ciphertext is not authentic") from exc

    async def health(self) -> Health:
        if self.fail is not None:
            raise self.fail
        if self.sealed:
            raise InvalidStateError("Sumun is sealed")
        status: Any = self.health_status
        return Health(
            status, "Sumun", ({"id": "node-1", "model": "embedded", "healthStatus": status},)
        )


@dataclass
class FakeCredentials:
    keystores: dict[str, Keystore] = field(default_factory=dict)
    secrets: dict[tuple[str, str], str] = field(default_factory=dict)

    def add_keystore(self, name: str, prefix: str) -> None:
        self.keystores[prefix] = Keystore(name, prefix)

    def keystore_for_prefix(self, uri_prefix: str) -> Keystore | None:
        return self.keystores.get(uri_prefix)

    def secret(self, keystore: str, access_key_id: str) -> str | None:
        return self.secrets.get((keystore, access_key_id))


@dataclass
class FakeAudit:
    calls: list[XksCall] = field(default_factory=list)
    fail: Exception | None = None

    async def record(self, call: XksCall) -> int | None:
        if self.fail is not None:
            raise self.fail
        self.calls.append(call)
        return len(self.calls)


def seams() -> tuple[FakeKeyring, FakeCredentials, FakeAudit]:
    keyring, creds, audit = FakeKeyring(), FakeCredentials(), FakeAudit()
    creds.add_keystore("prod", PREFIX)
    creds.add_keystore("root", "")
    creds.secrets[("prod", AKID_1)] = SECRET_1
    creds.secrets[("root", AKID_1)] = SECRET_1
    for usage in KeyUsage:
        keyring.add("prod", f"key-{usage.value}", usage)
    keyring.add("root", "key-both")
    return keyring, creds, audit


# -- request bodies as AWS KMS sends them -----------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encrypt_body(
    plaintext: bytes = b"k" * 32, aad: bytes | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestMetadata": request_metadata("GenerateDataKey"),
        "plaintext": b64(plaintext),
        "encryptionAlgorithm": "AES_GCM",
        **extra,
    }
    if aad is not None:
        body["additionalAuthenticatedData"] = b64(aad)
    return body


def decrypt_body(enc: dict[str, Any], aad: bytes | None = None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestMetadata": request_metadata("Decrypt"),
        "encryptionAlgorithm": "AES_GCM",
        "ciphertext": enc["ciphertext"],
        "initializationVector": enc["initializationVector"],
        "authenticationTag": enc["authenticationTag"],
    }
    if "ciphertextMetadata" in enc:
        body["ciphertextMetadata"] = enc["ciphertextMetadata"]
    if aad is not None:
        body["additionalAuthenticatedData"] = b64(aad)
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


# -- signing ----------------------------------------------------------------------------------


def sign(
    url: str,
    body: bytes,
    *,
    akid: str = AKID_1,
    secret: str = SECRET_1,
    region: str = REGION,
    service: str = "kms-xks-proxy",
    at: float | None = None,
    method: str = "POST",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Headers for `url` signed by botocore's SigV4Auth (at Unix time `at`, default now)."""
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={"Content-Type": "application/json", **(extra or {})},
    )
    signer = SigV4Auth(Credentials(akid, secret), service, region)
    when = datetime.datetime.fromtimestamp(at if at is not None else time.time(), datetime.UTC)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        signer.add_auth(request)
    return dict(request.headers.items())


def body_of(obj: object) -> bytes:
    return json.dumps(obj).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- a test PKI -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    root: Path
    ca: Path  # the server CA (clients trust it)
    server_cert: Path
    server_key: Path
    rsa_cert: Path
    rsa_key: Path
    client_ca: Path  # the CA client certificates chain to
    kms_cert: Path  # CN=cks.kms.us-east-1.amazonaws.com from client_ca
    kms_key: Path
    other_cn_cert: Path  # CN=intruder.example from client_ca
    other_cn_key: Path
    rogue_cert: Path  # CN=cks.kms.us-east-1.amazonaws.com from another CA
    rogue_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, key: Any, cert: x509.Certificate) -> tuple[Path, Path]:
    cert_path, key_path = path.with_suffix(".crt"), path.with_suffix(".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _ca(cn: str) -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca: tuple[Any, x509.Certificate], cn: str, *, server: bool, key: Any | None = None
) -> tuple[Any, x509.Certificate]:
    ca_key, ca_cert = ca
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    return key, builder.sign(ca_key, hashes.SHA256())


def make_pki(root: Path) -> Pki:
    server_ca, client_ca, rogue_ca = _ca("Test Server CA"), _ca("Test Client CA"), _ca("Rogue CA")
    ca_path = root / "ca.crt"
    ca_path.write_bytes(server_ca[1].public_bytes(serialization.Encoding.PEM))
    client_ca_path = root / "client-ca.crt"
    client_ca_path.write_bytes(client_ca[1].public_bytes(serialization.Encoding.PEM))
    server = _write(root / "server", *_leaf(server_ca, "localhost", server=True))
    rsa_key = rsa.generate_private_key(65537, 2048)
    rsa_pair = _write(root / "server-rsa", *_leaf(server_ca, "localhost", server=True, key=rsa_key))
    kms = _write(root / "kms", *_leaf(client_ca, KMS_CN, server=False))
    other = _write(root / "other", *_leaf(client_ca, "intruder.example", server=False))
    rogue = _write(root / "rogue", *_leaf(rogue_ca, KMS_CN, server=False))
    return Pki(root, ca_path, *server, *rsa_pair, client_ca_path, *kms, *other, *rogue)


def client_context(
    pki: Pki, cert: tuple[Path, Path] | None = None, *, tls: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:  # fmt: skip
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None:
        ctx.load_cert_chain(*cert)
    if tls is not None:
        ctx.minimum_version = ctx.maximum_version = tls
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


# -- a real server ----------------------------------------------------------------------------


@contextlib.contextmanager
def serve(
    app: ASGIApp, ctx: ssl.SSLContext, *, http: type[asyncio.Protocol] | None = None
) -> Iterator[int]:
    """Run `app` with uvicorn over TLS (`ctx`) on 127.0.0.1, in a thread; yield the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ssl_context_factory=lambda _config, _default: ctx,
        **({"http": http} if http is not None else {"http": "httptools"}),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test XKS server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
