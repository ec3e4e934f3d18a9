"""The one interface every KEK backend implements.

A backend holds the *material* of tenant KEKs (key-encryption keys) and wraps / unwraps DEKs
with them. It does not decide anything: which versions exist, which is primary, what is
disabled or scheduled for destruction lives in the key registry (`sumun.keys.registry`), which
calls the backend. Backends MUST:

- never return or log KEK material (PKCS#11 and OpenBao never even see it leave the server);
- bind `aad` to the wrapped DEK so a wrapped DEK moved to another key id / scope fails;
- raise `BackendUnavailableError` (never anything that looks like success) when the HSM or
  server is down, slow (bounded by a timeout) or sealed;
- raise the opaque `DecryptionError` when a wrapped blob does not authenticate;
- raise `UnknownKeyError` when asked for material they do not hold (e.g. after destruction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["KekBackend", "check_backend"]


@runtime_checkable
class KekBackend(Protocol):
    """Where KEK material lives. Versions are positive ints assigned by the registry."""

    @property
    def name(self) -> str:
        """Backend kind: "embedded", "pkcs11" or "openbao"."""
        ...

    def check(self) -> None:
        """Raise BackendUnavailableError unless the backend can serve wrap/unwrap now."""
        ...

    def describe(self) -> Mapping[str, str]:
        """Non-secret facts for status output (e.g. token label, server address)."""
        ...

    def create_version(self, key_id: str, version: int) -> None:
        """Create material for `key_id` version `version` (1 = a new key, >1 = a rotation).

        MUST fail if that version already exists. Versions are created in order.
        """
        ...

    def wrap(self, key_id: str, version: int, dek: bytes, aad: bytes) -> bytes:
        """Encrypt `dek` under the KEK version; return an opaque blob (never contains the KEK)."""
        ...

    def unwrap(self, key_id: str, version: int, blob: bytes, aad: bytes) -> bytes:
        """Inverse of wrap. DecryptionError if the blob or aad do not authenticate."""
        ...

    def restrict(self, key_id: str, disabled_versions: frozenset[int], latest: int) -> None:
        """Mirror a disable / enable into the backend where it can express it.

        The registry enforces disabled state in every case; a backend that can also refuse
        server-side (OpenBao's `min_decryption_version`) does so here. Others do nothing.
        """
        ...

    def destroy_versions(self, key_id: str, versions: Sequence[int]) -> None:
        """Erase the material of these versions for good (crypto-shredding)."""
        ...

    def destroy_key(self, key_id: str) -> None:
        """Erase every version of `key_id` for good."""
        ...

    def close(self) -> None:
        """Release connections and sessions."""
        ...


def check_backend(obj: object) -> KekBackend:
    """Refuse, at construction time, an object that does not implement the protocol."""
    if not isinstance(obj, KekBackend):
        raise TypeError(f"key backend {type(obj).__name__} does not implement KekBackend")
    return obj
