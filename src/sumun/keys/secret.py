"""The master key in memory, and the subkeys derived from it.

The MK never leaves this object except into HKDF and the embedded backend's AEAD. Python
cannot guarantee erasure, but `wipe()` overwrites the buffer we own so a sealed process no longer
holds it in our data structures.
"""

from __future__ import annotations

import hmac
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["MK_SIZE", "MasterKey"]

MK_SIZE = 32


class MasterKey:
    __slots__ = ("_buf",)

    def __init__(self, material: bytes) -> None:
        if len(material) != MK_SIZE:
            raise ValueError("the master key is 32 bytes")
        self._buf = bytearray(material)

    def __repr__(self) -> str:
        return "<MasterKey (hidden)>" if self._buf else "<MasterKey (wiped)>"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a MasterKey must not be pickled")

    @property
    def wiped(self) -> bool:
        return not self._buf

    def derive(self, purpose: str) -> bytes:
        """A 32-byte subkey for one purpose (HKDF-SHA256, info = purpose)."""
        if self.wiped:
            raise ValueError("master key was wiped")
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
            bytes(self._buf)
        )

    def check_value(self) -> bytes:
        """A value stored at init that shows, at unseal, that shares rebuilt *this* key."""
        return hmac.new(bytes(self._buf), b"sumun/mk-check/v1", sha256).digest()

    def material_for_sealing(self) -> bytes:
        """Only for wrapping the MK under a passphrase key at init."""
        return bytes(self._buf)

    def wipe(self) -> None:
        for i in range(len(self._buf)):
            self._buf[i] = 0
        self._buf = bytearray()
