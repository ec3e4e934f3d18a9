"""The key registry: which tenant keys exist, their versions and lifecycle states.

Document `keystore/keys.json` (`sumun.store.documents`: a file in `SUMUN_HOME` on one host,
a row of the shared control store in a cluster), authenticated with HMAC-SHA256 under
HKDF(MK, "sumun/registry-mac/v1"):

    {"format": 1, "keys": {"<key_id>": KeyRecord…}, "mac": "<hex>"}

The MAC stops an edit of the file (say, flipping a disabled key back to enabled) from taking
effect: a registry that fails its MAC is refused as corrupt. While sealed, the registry can be
read for display only (`read_unverified`) — nothing may be decided from it.

Every read-modify-write is one `Documents.update` (a file lock, or one database transaction that
also bumps the control generation), so concurrent processes and nodes don't lose updates.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

from sumun._fs import private_dir
from sumun.errors import KeystoreCorruptError
from sumun.keys.model import KeyRecord
from sumun.keys.secret import MasterKey
from sumun.store.documents import Documents, locate

__all__ = ["Registry", "read_unverified"]

_FORMAT = 1
_NAME = "keystore/keys.json"
Records = dict[str, KeyRecord]


def _canonical(keys: dict[str, Any]) -> bytes:
    return json.dumps(keys, sort_keys=True, separators=(",", ":")).encode()


def _parse(path: str, body: bytes | None) -> tuple[dict[str, Any], str]:
    if body is None:
        return {}, ""
    try:
        raw = json.loads(body)
        if raw.get("format") != _FORMAT or not isinstance(raw.get("keys"), dict):
            raise ValueError("unexpected layout")
        return raw["keys"], str(raw.get("mac", ""))
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise KeystoreCorruptError(f"key registry {path} is unreadable") from exc


def _records(path: str, keys: dict[str, Any]) -> Records:
    try:
        return {key_id: KeyRecord.from_json(raw) for key_id, raw in keys.items()}
    except (KeyError, ValueError, TypeError) as exc:
        raise KeystoreCorruptError(f"key registry {path} has a malformed record") from exc


def read_unverified(where: Path | Documents) -> Records:
    """Read for display while sealed. MUST NOT be used to decide anything."""
    docs, name = locate(where, "keys.json", home_relative=_NAME)
    path = docs.where(name)
    keys, _ = _parse(path, docs.read(name))
    return _records(path, keys)


class Registry:
    def __init__(self, where: Path | Documents, master_key: MasterKey) -> None:
        if isinstance(where, Path):
            private_dir(where)
        self._docs, self._name = locate(where, "keys.json", home_relative=_NAME)
        self._path = self._docs.where(self._name)
        self._mac_key = master_key.derive("sumun/registry-mac/v1")

    def __repr__(self) -> str:
        return f"<Registry {self._path}>"

    def _mac(self, keys: dict[str, Any]) -> str:
        return hmac.new(self._mac_key, _canonical(keys), sha256).hexdigest()

    def stamp(self) -> object:
        """Changes whenever the registry does (cheap: a stat, or one indexed read)."""
        return self._docs.stamp(self._name)

    def load(self) -> Records:
        return self._verify(self._docs.read(self._name))

    def _verify(self, body: bytes | None) -> Records:
        keys, mac = _parse(self._path, body)
        if (keys or mac) and not hmac.compare_digest(mac, self._mac(keys)):
            raise KeystoreCorruptError(
                f"key registry {self._path} fails its integrity check (edited or damaged)"
            )
        return _records(self._path, keys)

    def update(self, change: Callable[[Records], Records]) -> Records:
        """Read-modify-write as one step; `change` returns the new records (or raises)."""
        result: Records = {}

        def apply(old: bytes | None) -> bytes:
            nonlocal result
            result = change(dict(self._verify(old)))
            keys = {key_id: rec.to_json() for key_id, rec in sorted(result.items())}
            body = {"format": _FORMAT, "keys": keys, "mac": self._mac(keys)}
            return json.dumps(body, indent=1, sort_keys=True).encode()

        self._docs.update(self._name, apply)
        return result
