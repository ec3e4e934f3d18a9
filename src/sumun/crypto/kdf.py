"""Passphrase sealing for a single operator: scrypt (RFC 7914) from a passphrase to a 32-byte key.

The parameters are stored next to the salt (`ScryptParams.to_dict`) so a later Sumun with
stronger defaults still unseals an old deployment. The default n = 2^17, r = 8, p = 1 needs
128 MiB and took about 0.24 s per derivation on the 2-core AMD EPYC build machine (measured with
`cryptography` 50): slow for someone guessing passphrases, unnoticeable at `sumun unseal`.
Tests pass smaller parameters.

Passphrases are normalised before hashing, after the OpaqueString profile of RFC 8265 §4.2:
non-ASCII spaces become U+0020, then Unicode NFC. Hangul can reach us as precomposed
syllables ("수", U+C218) or as conjoining jamo ("ᄉ" U+1109 + "ᅮ" U+116E) depending on the OS
and input method — macOS text fields, files and terminals often hand over the decomposed (NFD)
form, while a Windows or Linux IME types the composed one. Both look identical, and without
NFC they would derive different keys and lock the operator out of their own deployment.
NFC and not NFKC: NFKC would also fold distinct characters together (full-width and
compatibility forms), quietly shrinking the passphrase space; RFC 8265 makes the same choice.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from sumun.errors import UsageError

__all__ = [
    "KEY_SIZE",
    "SALT_SIZE",
    "ScryptParams",
    "derive_key",
    "derive_key_into",
    "new_salt",
    "normalise_passphrase",
]

KEY_SIZE = 32
SALT_SIZE = 16  # NIST SP 800-132 §5.1: at least 128 random bits
_ALGORITHM = "scrypt"
# A stored parameter set is read back from disk: cap what it may ask for, so a damaged or
# hostile home.json cannot make an unseal allocate gigabytes. (Lowering the parameters gains
# an attacker nothing: the key they derive no longer opens the sealed master key.)
_MAX_MEMORY = 1 << 30  # bytes, 128·r·n
_MAX_P = 16


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost parameters: n (CPU/memory cost, a power of two), r (block size), p."""

    n: int = 2**17
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        for name in ("n", "r", "p"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"scrypt parameter {name} must be an integer")
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError("scrypt parameter n must be a power of two, at least 2")
        if self.r < 1 or not 1 <= self.p <= _MAX_P:
            raise ValueError(f"scrypt parameters need r >= 1 and 1 <= p <= {_MAX_P}")
        if self.memory_bytes > _MAX_MEMORY:
            raise ValueError(f"scrypt parameters would need more than {_MAX_MEMORY >> 20} MiB")

    @property
    def memory_bytes(self) -> int:
        return 128 * self.r * self.n

    def to_dict(self) -> dict[str, str | int]:
        return {"algorithm": _ALGORITHM, "n": self.n, "r": self.r, "p": self.p}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ScryptParams:
        """Inverse of `to_dict`. Raises `ValueError` for anything `to_dict` would not write."""
        if set(data) != {"algorithm", "n", "r", "p"}:
            raise ValueError("stored KDF parameters need exactly: algorithm, n, r, p")
        if data["algorithm"] != _ALGORITHM:
            raise ValueError("stored KDF parameters are not for scrypt")
        return cls(n=_stored_int(data, "n"), r=_stored_int(data, "r"), p=_stored_int(data, "p"))


def _stored_int(data: Mapping[str, object], name: str) -> int:
    value = data[name]
    if not isinstance(value, int) or isinstance(value, bool):  # JSON true is not 1 here
        raise ValueError(f"stored scrypt parameter {name} must be an integer")
    return value


def new_salt(rng: Callable[[int], bytes] = os.urandom) -> bytes:
    salt = rng(SALT_SIZE)
    if len(salt) != SALT_SIZE:
        raise ValueError(f"rng returned {len(salt)} bytes, {SALT_SIZE} were asked for")
    return salt


def normalise_passphrase(passphrase: str) -> str:
    """The canonical form that is hashed (see the module docstring). Compare typed-twice
    passphrases in this form, too. Raises `UsageError` for an empty or all-space passphrase."""
    spaced = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in passphrase)
    normalised = unicodedata.normalize("NFC", spaced)
    if not normalised.strip():
        raise UsageError("the passphrase is empty", advice="choose a long passphrase")
    return normalised


def derive_key(passphrase: str, salt: bytes, params: ScryptParams) -> bytes:
    """A 32-byte key from `passphrase`. Same passphrase (up to normalisation), salt and params
    give the same key. Raises `UsageError` for an unusable passphrase, `ValueError` for a salt
    shorter than 16 bytes."""
    return _scrypt(_encoded(passphrase, salt), salt, params)


def derive_key_into(passphrase: str, salt: bytes, params: ScryptParams, out: bytearray) -> None:
    """`derive_key`, written into `out` (32 bytes) so the caller can zero the key afterwards."""
    secret = _encoded(passphrase, salt)
    if len(out) != KEY_SIZE:
        raise ValueError(f"the key buffer must be {KEY_SIZE} bytes")
    Scrypt(salt=salt, length=KEY_SIZE, n=params.n, r=params.r, p=params.p).derive_into(secret, out)


def _encoded(passphrase: str, salt: bytes) -> bytes:
    normalised = normalise_passphrase(passphrase)
    try:
        secret = normalised.encode("utf-8")
    except UnicodeEncodeError:
        # `from None`: the UnicodeEncodeError's own message quotes the offending character.
        raise UsageError("the passphrase contains characters that are not text") from None
    if len(salt) < SALT_SIZE:
        raise ValueError(f"the salt must be at least {SALT_SIZE} bytes")
    return secret


def _scrypt(secret: bytes, salt: bytes, params: ScryptParams) -> bytes:
    return Scrypt(salt=salt, length=KEY_SIZE, n=params.n, r=params.r, p=params.p).derive(secret)
