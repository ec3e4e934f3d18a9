"""The master key in memory, and every subkey derived from it.

Each secret lives in a `bytearray` this module owns, so it can be zeroed; `bytes` cannot be.
`MasterKey.derive` writes the HKDF output straight into a new buffer (pyca's `derive_into`)
and remembers it, so `MasterKey.wipe()` — done when Sumun seals — zeroes the master key and
every subkey derived from it (the embedded keystore's wrapping key, the registry MAC key, the
subject-reference key), wherever they are held.

What sealing clears, and what it cannot (checked by `tests/keys/test_seal_memory.py`, which
scans a sealed process's whole memory for each key):

- Our buffers: zeroed by `wipe()`.
- Keys inside OpenSSL: an AEAD object built from a buffer (`new_cipher`) copies the key into
  OpenSSL's cipher contexts (the AES-NI key schedule starts with the raw key). Those copies
  live exactly as long as the cipher object; OpenSSL cleanses a context when it is freed
  (`EVP_CIPHER_CTX_free` → the provider's `OPENSSL_clear_free`). So sealing must, and does,
  drop every cipher built from a key (the backend's wrapping ciphers and KEK ciphers, the DEK
  caches): nothing here can erase a context that is still referenced.
- HMAC keys: `hmac.new` is given the buffer itself; OpenSSL's HMAC context holds the padded
  key and cleanses it when the short-lived HMAC object is freed.
- Not covered: a Python `str` or `bytes` cannot be zeroed. The passphrase and the typed
  custodian shares reach us as `str` (from the terminal, the admin channel's JSON) and are
  freed, not erased. DEKs arrive as `bytes` from the injectable `rng` or from a backend's
  `unwrap`: their cipher contexts are dropped on seal, but the `bytes` object itself is freed
  without being zeroed and may linger in the allocator until reused. `sumun init` hands the
  MK to the passphrase wrap and to Shamir's split as `bytes` (`material_for_sealing`), once,
  in what is normally a short-lived process. Memory the OS swapped out or a core dump wrote is
  outside any process's reach.
"""

from __future__ import annotations

import hmac
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sumun.errors import SealedError

__all__ = ["MK_SIZE", "MasterKey", "SecretKey", "check_value_of", "random_into", "zero"]

MK_SIZE = 32


def zero(buffer: bytearray) -> None:
    """Overwrite a buffer we own with zeros, in place."""
    buffer[:] = bytes(len(buffer))


def random_into(buffer: bytearray) -> None:
    """Fill `buffer` from the OS CSPRNG without an intermediate `bytes` copy."""
    with open("/dev/urandom", "rb", buffering=0) as source:
        view = memoryview(buffer)
        filled = 0
        while filled < len(buffer):
            filled += source.readinto(view[filled:]) or 0
        view.release()


def check_value_of(material: bytearray) -> bytes:
    """`MasterKey.check_value` of a candidate master key, without making a MasterKey of it."""
    return hmac.new(material, b"sumun/mk-check/v1", sha256).digest()


class SecretKey:
    """A key in a buffer this object owns. `buffer` MUST NOT be copied into `bytes`: hand it to
    APIs that read buffers (`hmac.new`, `new_cipher`). Unusable once wiped."""

    __slots__ = ("_buf",)

    def __init__(self, buffer: bytearray) -> None:
        self._buf = buffer  # owned from now on

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ({'wiped' if self.wiped else 'hidden'})>"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError(f"a {type(self).__name__} must not be pickled")

    @property
    def wiped(self) -> bool:
        return not self._buf

    @property
    def buffer(self) -> bytearray:
        if self.wiped:
            raise SealedError("Sumun is sealed: keys are not available")
        return self._buf

    def wipe(self) -> None:
        zero(self._buf)
        self._buf = bytearray()


class MasterKey(SecretKey):
    """The master key. `wipe()` also wipes every subkey `derive` made."""

    __slots__ = ("_derived",)

    def __init__(self, material: bytes | bytearray) -> None:
        if len(material) != MK_SIZE:
            raise ValueError("the master key is 32 bytes")
        super().__init__(bytearray(material))  # a copy: callers wipe their own buffer
        self._derived: list[SecretKey] = []

    def derive(self, purpose: str) -> SecretKey:
        """A 32-byte subkey for one purpose (HKDF-SHA256, info = purpose), wiped with the MK."""
        if self.wiped:
            raise SealedError("Sumun is sealed: keys are not available")
        out = bytearray(32)
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive_into(
            self._buf, out
        )
        subkey = SecretKey(out)
        self._derived.append(subkey)
        return subkey

    def check_value(self) -> bytes:
        """A value stored at init that shows, at unseal, that shares rebuilt *this* key."""
        return check_value_of(self._buf)

    def material_for_sealing(self) -> bytes:
        """Only for wrapping the MK under a passphrase key at init."""
        return bytes(self._buf)

    def wipe(self) -> None:
        for subkey in self._derived:
            subkey.wipe()
        self._derived.clear()
        super().wipe()
