"""External keys on Sumun's key layer: AES-256-GCM inside the deployment's KEK backend.

An external key IS a Sumun key (`sumun keys` sees it; its state is the registry's) plus an XKS
row naming its keystore and usage (`sumun.store.xks`). Encrypt and Decrypt call the backend's
own `wrap` / `unwrap` with the key's version and

    aad = aes_gcm_aad(request AAD, ciphertextMetadata)        (sumun.xks.model)

and split / join the backend's blob into the wire's (iv 12 bytes, ciphertext, tag 16 bytes):

    embedded   0x01 || iv || ciphertext || tag                 (keys.backends.embedded)
    pkcs11     0x01 || iv || ciphertext || tag                 (keys.backends.pkcs11)
    openbao    "vault:v<version>:" base64(iv || ciphertext || tag)   (Transit aes256-gcm96)

ciphertextMetadata, 5 bytes:

    offset  size  field
    0       1     format = 0x01 (AAD per the spec: both lengths included)
    1       4     key version (uint32, big-endian) that encrypted

The metadata is inside the AAD, so a changed metadata (another version, another format) fails
authentication; the version in it keeps ciphertexts made before a rotation decryptable.

State, checked on every call from memory (no I/O unless the registry changed): the record as
the data path sees it (`KeyService.current`, refreshed within the revocation bound — the same
refresh that makes the gateway see `sumun keys disable` from any process), so a disable,
destroy or seal anywhere stops Encrypt and Decrypt within 1 s: `InvalidStateError`. Backend
failures are `DependencyTimeoutError` (down, slow) or `InternalError`, never plaintext.

Blocking backends (PKCS#11, OpenBao HTTP) run in a worker thread; the embedded backend's
AES-GCM runs inline (microseconds).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from sumun import __version__
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import (
    BackendError,
    BackendUnavailableError,
    DecryptionError,
    KeyLayerError,
    SealedError,
    SumunError,
)
from sumun.keys.backends.base import KekBackend
from sumun.keys.model import KeyRecord, KeyState, VersionState
from sumun.keys.service import KeyService
from sumun.store.xks import ExternalKeyRow, XksLive
from sumun.xks.credentials import XKS_TENANT
from sumun.xks.errors import (
    DependencyTimeoutError,
    InternalError,
    InvalidCiphertextError,
    InvalidKeyUsageError,
    InvalidStateError,
    KeyNotFoundError,
    XksError,
)
from sumun.xks.model import Encrypted, ExternalKey, Health, KeyUsage, aes_gcm_aad

__all__ = [
    "HEALTH_KEY",
    "METADATA_FORMAT",
    "SumunKeyring",
    "decode_metadata",
    "encode_metadata",
    "join_blob",
    "split_blob",
]

log = logging.getLogger("sumun.xks")

HEALTH_KEY = "sumun-xks-health"  # the test key of the deep health check (never a customer's)
METADATA_FORMAT = 0x01
_IV = 12
_TAG = 16
_BACKEND_TIMEOUT = 2.0  # seconds; AWS gave up long before (250 ms)
_HEALTH_TTL = 10.0  # a deep check's answer is reused this long (the spec allows a minute)
_HEALTH_AAD = b"sumun-xks-health-check"
_T = TypeVar("_T")


def encode_metadata(version: int) -> bytes:
    return bytes([METADATA_FORMAT]) + version.to_bytes(4, "big")


def decode_metadata(metadata: bytes) -> int:
    """The key version a ciphertext names; InvalidCiphertextError unless well-formed."""
    if len(metadata) != 5 or metadata[0] != METADATA_FORMAT:
        raise InvalidCiphertextError("the ciphertext metadata is not Sumun's")
    version = int.from_bytes(metadata[1:], "big")
    if version < 1:
        raise InvalidCiphertextError("the ciphertext metadata is not Sumun's")
    return version


def split_blob(backend: str, blob: bytes) -> tuple[bytes, bytes, bytes]:
    """A backend's wrapped blob → (iv, ciphertext, tag)."""
    if backend == "openbao":
        _, _, encoded = blob.partition(b":v")[2].partition(b":")
        raw = base64.b64decode(encoded, validate=True)
    else:
        if blob[:1] != b"\x01":
            raise InternalError("the key backend answered an unexpected ciphertext")
        raw = blob[1:]
    if len(raw) < _IV + _TAG:
        raise InternalError("the key backend answered an unexpected ciphertext")
    return raw[:_IV], raw[_IV:-_TAG], raw[-_TAG:]


def join_blob(backend: str, version: int, iv: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """(iv, ciphertext, tag) → the blob the backend's unwrap takes."""
    raw = iv + ciphertext + tag
    if backend == "openbao":
        return f"vault:v{version}:".encode() + base64.b64encode(raw)
    return b"\x01" + raw


@dataclass(frozen=True, slots=True)
class _Usable:
    row: ExternalKeyRow
    record: KeyRecord
    backend: KekBackend


class SumunKeyring:
    """`XksKeyring` on a `KeyService` and the live XKS rows."""

    def __init__(
        self,
        keys: KeyService,
        live: XksLive,
        *,
        actor: str = "sumun-xks",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._live = live
        self._actor = actor
        self._monotonic = monotonic
        self._health: tuple[float, Health] | None = None

    def __repr__(self) -> str:
        return f"<SumunKeyring {len(self._live.current.keys)} keys>"

    # -- state ---------------------------------------------------------------------------------

    def _row(self, keystore: str, key_id: str) -> ExternalKeyRow:
        row = self._live.current.keys.get(key_id)
        if row is None or row.keystore != keystore:
            raise KeyNotFoundError(f"no external key {key_id!r} in this keystore")
        return row

    def _record(self, key_id: str) -> tuple[KeyRecord, KekBackend]:
        try:
            record = self._keys.current(key_id)
            backend = self._keys.backend
        except SealedError as exc:
            raise InvalidStateError("Sumun is sealed: no key can be used") from exc
        except SumunError as exc:  # the registry could not be read (store down, corrupt)
            raise InternalError("the key registry cannot be read") from exc
        if record is None:
            raise KeyNotFoundError(f"no Sumun key {key_id!r}")
        return record, backend

    def _usable(
        self, keystore: str, key_id: str, operation: Literal["Encrypt", "Decrypt"]
    ) -> _Usable:
        row = self._row(keystore, key_id)
        record, backend = self._record(key_id)
        if record.state is not KeyState.ENABLED:
            raise InvalidStateError(f"key {key_id!r} is {record.state.value}")
        if not KeyUsage(row.usage).allows(operation):
            raise InvalidKeyUsageError(f"key {key_id!r} may not be used to {operation.lower()}")
        return _Usable(row, record, backend)

    async def metadata(self, keystore: str, key_id: str) -> ExternalKey:
        row = self._row(keystore, key_id)
        record, _backend = self._record(key_id)
        return ExternalKey(
            key_id=key_id,
            keystore=keystore,
            usage=KeyUsage(row.usage),
            enabled=record.state is KeyState.ENABLED,
            backend=record.backend,
        )

    # -- AES-GCM -------------------------------------------------------------------------------

    async def _run(self, backend: KekBackend, fn: Callable[[], _T]) -> _T:
        """Call the backend: inline when it is in memory, else in a thread, bounded."""
        try:
            if backend.name == "embedded":
                return fn()
            return await asyncio.wait_for(asyncio.to_thread(fn), timeout=_BACKEND_TIMEOUT)
        except TimeoutError as exc:
            raise DependencyTimeoutError("the key backend did not answer in time") from exc
        except BackendUnavailableError as exc:
            raise DependencyTimeoutError("the key backend is unavailable") from exc
        except SealedError as exc:
            raise InvalidStateError("Sumun is sealed: no key can be used") from exc
        except DecryptionError:
            raise
        except KeyLayerError as exc:  # material gone (destroyed meanwhile), refused version
            raise InvalidStateError("the key cannot be used now") from exc
        except BackendError as exc:
            raise InternalError("the key backend failed") from exc

    async def encrypt(
        self, keystore: str, key_id: str, plaintext: bytes, aad: bytes | None
    ) -> Encrypted:
        usable = self._usable(keystore, key_id, "Encrypt")
        version = usable.record.primary
        metadata = encode_metadata(version)
        full_aad = aes_gcm_aad(aad, metadata)
        backend = usable.backend
        try:
            blob = await self._run(
                backend, lambda: backend.wrap(key_id, version, plaintext, full_aad)
            )
            iv, ciphertext, tag = split_blob(backend.name, blob)
        except DecryptionError as exc:  # pragma: no cover - wrap does not authenticate
            raise InternalError("the key backend failed") from exc
        except (ValueError, binascii.Error) as exc:
            raise InternalError("the key backend answered an unexpected ciphertext") from exc
        if len(ciphertext) != len(plaintext):
            raise InternalError("the key backend answered an unexpected ciphertext")
        return Encrypted(ciphertext=ciphertext, iv=iv, tag=tag, metadata=metadata)

    async def decrypt(
        self, keystore: str, key_id: str, sealed: Encrypted, aad: bytes | None
    ) -> bytes:
        usable = self._usable(keystore, key_id, "Decrypt")
        version = decode_metadata(sealed.metadata)
        if len(sealed.iv) != _IV or len(sealed.tag) != _TAG:
            raise InvalidCiphertextError("the IV or authentication tag is not Sumun's")
        found = usable.record.version(version)
        if found is None:
            raise InvalidCiphertextError("the ciphertext names no version of this key")
        if found.state is not VersionState.ENABLED:
            raise InvalidStateError(f"version {version} of key {key_id!r} is {found.state.value}")
        full_aad = aes_gcm_aad(aad, sealed.metadata)
        backend = usable.backend
        blob = join_blob(backend.name, version, sealed.iv, sealed.ciphertext, sealed.tag)
        try:
            plaintext = await self._run(
                backend, lambda: backend.unwrap(key_id, version, blob, full_aad)
            )
        except DecryptionError as exc:
            raise InvalidCiphertextError(
                "the ciphertext, IV, tag, metadata or AAD do not authenticate"
            ) from exc
        if len(plaintext) != len(sealed.ciphertext):
            raise InternalError("the key backend answered an unexpected plaintext")
        return plaintext

    # -- health --------------------------------------------------------------------------------

    async def health(self) -> Health:
        """Deep: a test encryption and decryption with `HEALTH_KEY` (created on first use,
        never a customer's key), answered from a cache for `_HEALTH_TTL` seconds. Sealed:
        InvalidStateError. A failing backend: status UNAVAILABLE."""
        if self._keys.sealed:
            raise InvalidStateError("Sumun is sealed: no key can be used")
        cached = self._health
        now = self._monotonic()
        if cached is not None and now - cached[0] < _HEALTH_TTL:
            return cached[1]
        status: Literal["ACTIVE", "DEGRADED", "UNAVAILABLE"] = "ACTIVE"
        try:
            await self._probe()
        except InvalidStateError:
            if self._keys.sealed:
                raise
            status = "UNAVAILABLE"
        except (SumunError, XksError) as exc:
            log.warning("xks: health check failed: %s", exc)
            status = "UNAVAILABLE"
        answer = self._describe(status)
        self._health = (now, answer)
        return answer

    async def _probe(self) -> None:
        keys = self._keys
        try:
            record = keys.current(HEALTH_KEY)
            if record is None:
                await asyncio.to_thread(
                    keys.ensure_key, HEALTH_KEY, tenant=XKS_TENANT, actor=self._actor
                )
                record = keys.current(HEALTH_KEY)
            backend = keys.backend
        except SealedError as exc:
            raise InvalidStateError("Sumun is sealed: no key can be used") from exc
        if record is None or record.state is not KeyState.ENABLED:
            raise InternalError("the health-check key is not usable")
        version = record.primary
        probe = os.urandom(32)
        aad = aes_gcm_aad(_HEALTH_AAD, encode_metadata(version))
        blob = await self._run(backend, lambda: backend.wrap(HEALTH_KEY, version, probe, aad))
        back = await self._run(backend, lambda: backend.unwrap(HEALTH_KEY, version, blob, aad))
        if back != probe:
            raise InternalError("the key backend's test decryption did not match")

    def _describe(self, status: Literal["ACTIVE", "DEGRADED", "UNAVAILABLE"]) -> Health:
        try:
            backend = self._keys.backend
            name, facts = backend.name, dict(backend.describe())
        except SumunError:
            name, facts = "unknown", {}
        if name == "pkcs11":
            model = "PKCS#11 AES-GCM " + " ".join(
                v for k, v in sorted(facts.items()) if k in ("manufacturer", "model", "label")
            )
        elif name == "openbao":
            model = f"OpenBao Transit aes256-gcm96 ({facts.get('mount', 'transit')})"
        else:
            model = f"Sumun {__version__} embedded keystore {Suite.AES_256_GCM.value}"
        fleet = ({"id": f"sumun-{name}", "model": model.strip()[:200], "healthStatus": status},)
        return Health(status=status, ekm_vendor=f"Sumun ({name})", fleet=fleet)
