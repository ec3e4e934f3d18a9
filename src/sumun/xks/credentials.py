"""SigV4 credentials per keystore: issued, shown once, stored sealed, revoked.

AWS signs every XKS call with the keystore's `XksProxyAuthenticationCredential`
(CreateCustomKeyStore): an access key id of 20–30 characters from A-Z 2-7 and a raw secret
of 43–64 characters from a-z A-Z 0-9 / + =. Sumun issues

    access key id   20 characters of upper-case base32 (100 random bits, `secrets`)
    secret          48 characters: standard base64 of 36 random bytes (288 bits)

The verifier needs the secret itself (an HMAC key; a hash would not do), so the secret is
stored SEALED: a Sumun envelope under the key `sumun-xks-secrets` (tenant `sumun-xks`), bound
to (keystore, access key id) by its AAD, so a sealed secret copied onto another row does not
open. The secret is returned once, by `issue`, and appears nowhere else: not in lists, logs,
the ledger or an error.

`LiveCredentials` is the proxy's side (`XksCredentials`): the keystores and the active secrets
in memory, opened after each control change and whenever Sumun is unsealed, dropped at seal —
a sealed Sumun has no secrets, so every request fails authentication.
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading

from sumun.errors import SumunError
from sumun.keys.envelope import Context
from sumun.keys.service import KeyService
from sumun.store.xks import XksLive, XksSnapshot
from sumun.xks.model import Keystore

__all__ = [
    "ACCESS_KEY_ALPHABET",
    "MAX_ACTIVE",
    "SECRETS_KEY",
    "XKS_TENANT",
    "LiveCredentials",
    "new_access_key_id",
    "new_secret",
    "secret_context",
]

log = logging.getLogger("sumun.xks")

XKS_TENANT = "sumun-xks"  # the system tenant of XKS keys, sealed secrets and ledger entries
SECRETS_KEY = "sumun-xks-secrets"  # the Sumun key that seals the SigV4 secrets
ACCESS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32: AWS's ^[A-Z2-7]+$
_ACCESS_KEY_CHARS = 20
_SECRET_BYTES = 36  # → 48 base64 characters, no padding
MAX_ACTIVE = 5  # active credentials per keystore: two to rotate, a few to spare


def new_access_key_id() -> str:
    return "".join(secrets.choice(ACCESS_KEY_ALPHABET) for _ in range(_ACCESS_KEY_CHARS))


def new_secret() -> str:
    return base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def secret_context(keystore: str, access_key_id: str) -> Context:
    """What a sealed secret is bound to: its keystore and access key id."""
    return Context(XKS_TENANT, f"{keystore}/{access_key_id}", "xks-sigv4-secret")


class LiveCredentials:
    """`XksCredentials` from the live snapshot (`sumun.store.xks.XksLive`) and the key layer.

    Hot path: two dict lookups. The secrets are opened (Sumun-decrypted) off the hot path when
    the snapshot changes, or on first use after an unseal; a revoked credential disappears at
    the next snapshot (≤ the watcher's bound); sealing drops them all at once."""

    def __init__(self, live: XksLive, keys: KeyService) -> None:
        self._live = live
        self._keys = keys
        self._lock = threading.Lock()
        self._opened: dict[str, tuple[str, str]] | None = None  # id → (keystore, secret)
        self._keystores = self._models(live.current)
        self._rows = live.current.credentials
        live.on_change(self._changed)
        keys.on_seal(self.forget)

    def __repr__(self) -> str:
        count = 0 if self._opened is None else len(self._opened)
        return f"<LiveCredentials {len(self._keystores)} keystores, {count} open (hidden)>"

    @staticmethod
    def _models(snapshot: XksSnapshot) -> dict[str, Keystore]:
        return {
            row.uri_prefix: Keystore(row.name, row.uri_prefix, int(row.created_at * 1000))
            for row in snapshot.keystores.values()
        }

    def _changed(self, snapshot: XksSnapshot) -> None:
        self._keystores = self._models(snapshot)
        if snapshot.credentials == self._rows and self._opened is not None:
            return  # another control change (a tenant, a cut): the secrets stay as opened
        self._rows = snapshot.credentials
        with self._lock:
            self._opened = None
        if not self._keys.sealed:
            self._open(snapshot)  # off the hot path: the watcher's thread

    def close(self) -> None:
        """Stop following the store (at shutdown)."""
        self.forget()
        self._live.close()

    def forget(self) -> None:
        """Drop every opened secret (at seal)."""
        with self._lock:
            self._opened = None

    def _open(self, snapshot: XksSnapshot) -> dict[str, tuple[str, str]]:
        opened: dict[str, tuple[str, str]] = {}
        for row in snapshot.credentials.values():
            if not row.active:
                continue
            try:
                context = secret_context(row.keystore, row.access_key_id)
                raw = self._keys.decrypt(row.sealed, context)
            except SumunError as exc:
                # The access key id is public; the reason never carries the secret.
                log.warning("xks: credential %s cannot be opened: %s", row.access_key_id, exc)
                continue
            opened[row.access_key_id] = (row.keystore, raw.decode("ascii"))
        with self._lock:
            if self._live.current is snapshot and not self._keys.sealed:
                self._opened = opened
        return opened

    # -- XksCredentials ------------------------------------------------------------------------

    def keystore_for_prefix(self, uri_prefix: str) -> Keystore | None:
        return self._keystores.get(uri_prefix)

    def secret(self, keystore: str, access_key_id: str) -> str | None:
        if self._keys.sealed:
            return None
        opened = self._opened
        if opened is None:
            opened = self._open(self._live.current)
        found = opened.get(access_key_id)
        if found is None or found[0] != keystore:
            return None
        return found[1]
