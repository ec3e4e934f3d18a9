"""AEAD suites behind one small interface: AES-256-GCM and ARIA-256-GCM.

Both take a 32-byte key, a 12-byte nonce and return ciphertext || 16-byte tag. A failed
tag check raises the opaque `DecryptionError`. Callers MUST NOT reuse a nonce under one key:
`sumun.keys` guarantees that with per-DEK counters.

Keys and secret plaintexts may be `bytearray`s the caller zeroes later (`sumun.keys.secret`):
a cipher reads the key without keeping a `bytes` copy of it, `encrypt` reads a `bytearray`
in place, and `decrypt_into` writes a secret (a KEK, the master key) into the caller's buffer
instead of a new `bytes`. The key copies inside OpenSSL's contexts are cleansed by OpenSSL when
the cipher object is freed, so whoever must forget a key drops the cipher too.
"""

from __future__ import annotations

import enum
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sumun.errors import DecryptionError

__all__ = ["KEY_SIZE", "NONCE_SIZE", "TAG_SIZE", "AeadCipher", "Suite", "new_cipher"]

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16


class Suite(enum.Enum):
    """AEAD suites; `wire_id` is the byte in the envelope header (never reuse a number)."""

    AES_256_GCM = "aes-256-gcm"
    ARIA_256_GCM = "aria-256-gcm"

    @property
    def wire_id(self) -> int:
        return _WIRE_IDS[self]

    @classmethod
    def from_wire_id(cls, wire_id: int) -> Suite:
        for suite, number in _WIRE_IDS.items():
            if number == wire_id:
                return suite
        raise ValueError(f"unknown suite id {wire_id}")

    @property
    def max_invocations(self) -> int:
        """Encryptions allowed under one key before it must be replaced.

        NIST SP 800-38D §8.3 caps random-nonce GCM at 2^32 invocations per key; we apply the
        same bound to both suites (ARIA-GCM shares GCM's construction) and rotate well before.
        """
        return 2**32


_WIRE_IDS = {Suite.AES_256_GCM: 1, Suite.ARIA_256_GCM: 2}


class AeadCipher(Protocol):
    """A keyed AEAD. `encrypt` returns ciphertext||tag; `decrypt` raises DecryptionError."""

    suite: Suite

    def encrypt(self, nonce: bytes, data: bytes | bytearray, aad: bytes) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes: ...

    def decrypt_into(self, nonce: bytes, data: bytes, aad: bytes, out: bytearray) -> None:
        """Like `decrypt`, into `out` (exactly len(data) - 16 bytes). On failure `out` is
        zeroed and the opaque DecryptionError raised."""
        ...


class _AesGcm:
    __slots__ = ("_aead",)
    suite = Suite.AES_256_GCM

    def __init__(self, key: bytes | bytearray) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)  # keyed OpenSSL contexts; no reference to `key` is kept

    def __repr__(self) -> str:
        return "<AES-256-GCM cipher>"

    def encrypt(self, nonce: bytes, data: bytes | bytearray, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, data, aad)

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, data, aad)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError() from exc

    def decrypt_into(self, nonce: bytes, data: bytes, aad: bytes, out: bytearray) -> None:
        if len(out) != len(data) - TAG_SIZE:
            raise DecryptionError()
        try:
            self._aead.decrypt_into(nonce, data, aad, out)
        except (InvalidTag, ValueError) as exc:
            out[:] = bytes(len(out))  # never leave unauthenticated plaintext behind
            raise DecryptionError() from exc


def new_cipher(suite: Suite, key: bytes | bytearray) -> AeadCipher:
    """Return a keyed cipher for `suite`. Raises ValueError on a bad key size."""
    if suite is Suite.AES_256_GCM:
        return _AesGcm(key)
    from sumun.crypto.hazmat.aria import AriaGcm  # loads libcrypto only when ARIA is used

    return AriaGcm(key)
