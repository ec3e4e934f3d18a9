"""The key registry: which tenant keys exist, their versions and lifecycle states.

File: `$SUMUN_HOME/keystore/keys.json`, replaced atomically and authenticated with
HMAC-SHA256 under HKDF(MK, "sumun/registry-mac/v1"):

    {"format": 1, "keys": {"<key_id>": KeyRecord…}, "mac": "<hex>"}

The MAC stops an edit of the file (say, flipping a disabled key back to enabled) from taking
effect: a registry that fails its MAC is refused as corrupt. While sealed, the registry can be
read for display only (`read_unverified`) — nothing may be decided from it.

Writers hold an exclusive lock for read-modify-write, so concurrent processes don't lose updates.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from sumun._fs import atomic_write, exclusive_lock, private_dir
from sumun.errors import KeystoreCorruptError
from sumun.keys.model import KeyRecord
from sumun.keys.secret import MasterKey

__all__ = ["FileStamp", "Registry", "read_unverified"]

_FORMAT = 1
Records = dict[str, KeyRecord]


@dataclass(frozen=True, slots=True)
class FileStamp:
    """Cheap change detection: (inode, size, mtime_ns) of the registry file."""

    inode: int
    size: int
    mtime_ns: int


def _canonical(keys: dict[str, Any]) -> bytes:
    return json.dumps(keys, sort_keys=True, separators=(",", ":")).encode()


def _parse(path: Path) -> tuple[dict[str, Any], str]:
    if not path.exists():
        return {}, ""
    try:
        raw = json.loads(path.read_bytes())
        if raw.get("format") != _FORMAT or not isinstance(raw.get("keys"), dict):
            raise ValueError("unexpected layout")
        return raw["keys"], str(raw.get("mac", ""))
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise KeystoreCorruptError(f"key registry {path} is unreadable") from exc


def _records(path: Path, keys: dict[str, Any]) -> Records:
    try:
        return {key_id: KeyRecord.from_json(raw) for key_id, raw in keys.items()}
    except (KeyError, ValueError, TypeError) as exc:
        raise KeystoreCorruptError(f"key registry {path} has a malformed record") from exc


def read_unverified(directory: Path) -> Records:
    """Read for display while sealed. MUST NOT be used to decide anything."""
    path = directory / "keys.json"
    keys, _ = _parse(path)
    return _records(path, keys)


class Registry:
    def __init__(self, directory: Path, master_key: MasterKey) -> None:
        private_dir(directory)
        self._path = directory / "keys.json"
        self._lock_path = directory / "keys.lock"
        self._mac_key = master_key.derive("sumun/registry-mac/v1")

    def __repr__(self) -> str:
        return f"<Registry {self._path}>"

    def _mac(self, keys: dict[str, Any]) -> str:
        return hmac.new(self._mac_key, _canonical(keys), sha256).hexdigest()

    def stamp(self) -> FileStamp | None:
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return None
        return FileStamp(st.st_ino, st.st_size, st.st_mtime_ns)

    def load(self) -> Records:
        keys, mac = _parse(self._path)
        if (keys or mac) and not hmac.compare_digest(mac, self._mac(keys)):
            raise KeystoreCorruptError(
                f"key registry {self._path} fails its integrity check (edited or damaged)"
            )
        return _records(self._path, keys)

    def update(self, change: Callable[[Records], Records]) -> Records:
        """Read-modify-write under the lock; `change` returns the new records (or raises)."""
        with exclusive_lock(self._lock_path):
            records = change(dict(self.load()))
            keys = {key_id: rec.to_json() for key_id, rec in sorted(records.items())}
            body = {"format": _FORMAT, "keys": keys, "mac": self._mac(keys)}
            atomic_write(self._path, json.dumps(body, indent=1, sort_keys=True).encode())
            return records
