"""The embedded backend: KEK material in a keystore file, each version wrapped by the MK.

Document `keystore/embedded-keks.json` (`sumun.store.documents`): on one host a file in
`SUMUN_HOME`, replaced atomically on every change (a crash mid-write leaves the previous or the
next keystore, never a torn one); in a cluster a row of the shared control store, updated in
one transaction. Layout:

    {"format": 1, "keks": {"<key_id>": {"<version>": {"suite": "aes-256-gcm",
                                                      "nonce": "<b64>", "wrapped": "<b64>"}}}}

Each KEK is 32 random bytes encrypted under HKDF(MK, "sumun/embedded-keystore/v1") with the
deployment's suite and AAD `sumun-kek|<key_id>|<version>`, so an entry copied to another key id
or version does not decrypt. Wrapped DEKs: `0x01 | nonce(12) | AEAD(KEK, dek, aad)`.

In memory (`sumun.keys.secret`): the wrapping subkey is a `SecretKey` wiped with the master key;
a KEK is created and unwrapped into a `bytearray` that is zeroed as soon as its cipher is
keyed, so the only live copy is inside that cipher's OpenSSL context. `close()` (on seal) drops
every cipher, and OpenSSL cleanses each context as it is freed.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sumun._fs import private_dir
from sumun.crypto.hazmat.aead import NONCE_SIZE, AeadCipher, Suite, new_cipher
from sumun.errors import (
    BackendUnavailableError,
    DecryptionError,
    KeyStateError,
    KeystoreCorruptError,
    StoreError,
    UnknownKeyError,
)
from sumun.keys.secret import MasterKey, random_into, zero
from sumun.store.documents import Documents, locate

__all__ = ["EmbeddedBackend"]

_FORMAT = 1
_BLOB_V1 = b"\x01"


def _kek_aad(key_id: str, version: int) -> bytes:
    return f"sumun-kek|{key_id}|{version}".encode()


class EmbeddedBackend:
    """KEKs in a local file wrapped by the master key. Needs Sumun to be unsealed."""

    def __init__(
        self,
        where: Path | Documents,
        master_key: MasterKey,
        suite: Suite,
        *,
        closer: Callable[[], None] | None = None,
    ) -> None:
        self._closer = closer
        if isinstance(where, Path):
            private_dir(where)
        self._docs, self._name = locate(
            where, "embedded-keks.json", home_relative="keystore/embedded-keks.json"
        )
        self._path = self._docs.where(self._name)
        self._suite = suite
        self._master_key = master_key
        # One wrapping cipher per suite: entries written before a suite change stay readable.
        self._wrappers: dict[Suite, AeadCipher] = {}
        self._ciphers: dict[tuple[str, int], AeadCipher] = {}
        self._mutex = threading.Lock()
        self._wrapper(suite)  # fail at construction on a wiped master key
        self._read()  # fail at construction on a corrupt keystore, not at first use

    def __repr__(self) -> str:
        return f"<EmbeddedBackend {self._path}>"

    @property
    def name(self) -> str:
        return "embedded"

    def check(self) -> None:
        self._read()

    def describe(self) -> Mapping[str, str]:
        return {"keystore": str(self._path), "suite": self._suite.value}

    # -- file ---------------------------------------------------------------------------------

    def _read(self) -> dict[str, dict[str, dict[str, str]]]:
        try:
            body = self._docs.read(self._name)
        except StoreError as exc:  # the keystore lives in the (unreachable) control store
            raise BackendUnavailableError(f"embedded keystore unavailable: {exc}") from exc
        return self._parse(body)

    def _parse(self, body: bytes | None) -> dict[str, dict[str, dict[str, str]]]:
        if body is None:
            return {}
        try:
            raw = json.loads(body)
            if raw.get("format") != _FORMAT or not isinstance(raw.get("keks"), dict):
                raise ValueError("unexpected layout")
            keks: dict[str, dict[str, dict[str, str]]] = raw["keks"]
            return keks
        except (ValueError, AttributeError, UnicodeDecodeError) as exc:
            raise KeystoreCorruptError(f"embedded keystore {self._path} is unreadable") from exc

    def _update(self, change: Callable[[dict[str, dict[str, dict[str, str]]]], None]) -> None:
        """Read-modify-write the keystore as one step against every other writer."""

        def apply(old: bytes | None) -> bytes:
            keks = self._parse(old)
            change(keks)
            body: dict[str, Any] = {"format": _FORMAT, "keks": keks}
            return json.dumps(body, sort_keys=True, indent=1).encode()

        try:
            self._docs.update(self._name, apply)
        except StoreError as exc:
            raise BackendUnavailableError(f"embedded keystore unavailable: {exc}") from exc

    def _cipher(self, key_id: str, version: int) -> AeadCipher:
        cached = self._ciphers.get((key_id, version))
        if cached is not None:
            return cached
        entry = self._read().get(key_id, {}).get(str(version))
        if entry is None:
            raise UnknownKeyError(f"no material for key {key_id!r} version {version}")
        try:
            suite = Suite(entry["suite"])
            nonce = base64.b64decode(entry["nonce"], validate=True)
            wrapped = base64.b64decode(entry["wrapped"], validate=True)
        except (KeyError, ValueError) as exc:
            raise KeystoreCorruptError(
                f"embedded keystore entry for {key_id!r} v{version} fails its integrity check"
            ) from exc
        material = bytearray(32)
        try:
            self._wrapper(suite).decrypt_into(nonce, wrapped, _kek_aad(key_id, version), material)
            cipher = new_cipher(suite, material)
        except DecryptionError as exc:
            raise KeystoreCorruptError(
                f"embedded keystore entry for {key_id!r} v{version} fails its integrity check"
            ) from exc
        finally:
            zero(material)  # the cipher holds the KEK now
        with self._mutex:
            self._ciphers[(key_id, version)] = cipher
        return cipher

    def _wrapper(self, suite: Suite) -> AeadCipher:
        cipher = self._wrappers.get(suite)
        if cipher is None:
            key = self._master_key.derive("sumun/embedded-keystore/v1")
            try:
                cipher = new_cipher(suite, key.buffer)
            finally:
                key.wipe()  # the cipher holds it; one live copy is enough
            with self._mutex:
                self._wrappers[suite] = cipher
        return cipher

    # -- KekBackend ---------------------------------------------------------------------------

    def create_version(self, key_id: str, version: int) -> None:
        def change(keks: dict[str, dict[str, dict[str, str]]]) -> None:
            versions = keks.setdefault(key_id, {})
            if str(version) in versions:
                raise KeyStateError(f"key {key_id!r} version {version} already exists")
            nonce = os.urandom(NONCE_SIZE)
            material = bytearray(32)
            try:
                random_into(material)
                wrapped = self._wrapper(self._suite).encrypt(
                    nonce, material, _kek_aad(key_id, version)
                )
            finally:
                zero(material)
            versions[str(version)] = {
                "suite": self._suite.value,
                "nonce": base64.b64encode(nonce).decode(),
                "wrapped": base64.b64encode(wrapped).decode(),
            }

        self._update(change)

    def wrap(self, key_id: str, version: int, dek: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return _BLOB_V1 + nonce + self._cipher(key_id, version).encrypt(nonce, dek, aad)

    def unwrap(self, key_id: str, version: int, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 1 + NONCE_SIZE + 16 or blob[:1] != _BLOB_V1:
            raise DecryptionError()
        cipher = self._cipher(key_id, version)
        return cipher.decrypt(blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :], aad)

    def restrict(self, key_id: str, disabled_versions: frozenset[int], latest: int) -> None:
        # The registry enforces disabled state; the material itself stays until destroyed.
        return None

    def destroy_versions(self, key_id: str, versions: Sequence[int]) -> None:
        def change(keks: dict[str, dict[str, dict[str, str]]]) -> None:
            entry = keks.get(key_id, {})
            for version in versions:
                entry.pop(str(version), None)
            if not entry:
                keks.pop(key_id, None)

        self._update(change)
        with self._mutex:
            for version in versions:
                self._ciphers.pop((key_id, version), None)

    def destroy_key(self, key_id: str) -> None:
        def change(keks: dict[str, dict[str, dict[str, str]]]) -> None:
            keks.pop(key_id, None)

        self._update(change)
        with self._mutex:
            for cached in [k for k in self._ciphers if k[0] == key_id]:
                del self._ciphers[cached]

    def close(self) -> None:
        """Forget every key (on seal): OpenSSL cleanses each cipher context as it is freed."""
        with self._mutex:
            self._ciphers.clear()
            self._wrappers.clear()
        if self._closer is not None:
            self._closer()
