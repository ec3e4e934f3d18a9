"""Sealing the master key: custodian shares (Shamir k-of-n) or a single operator's passphrase.

The document `home.json` (`sumun.store.documents`: a file in `SUMUN_HOME` on one host, a row
of the shared control store in a cluster, so every node unseals the same master key) records
how this deployment is sealed and what it uses — never the master key nor any share:

    {"format": 1, "created_at": …, "method": "shamir" | "passphrase",
     "mk_check": "<hex HMAC(MK, 'sumun/mk-check/v1')>",
     "shamir": {"set_id": "<hex>", "threshold": k, "custodians": n},
     "passphrase": {"kdf": {scrypt params}, "salt": "<b64>", "nonce": "<b64>", "wrapped": "<b64>"},
     "deployment": {"backend": "embedded", "suite": "aes-256-gcm"}}

`mk_check` lets an unseal tell "these shares rebuild *this* master key" from "a wrong
combination", so a mistyped share that slips past its checksum still cannot unseal.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sumun._fs import private_dir
from sumun.crypto import kdf, shamir
from sumun.crypto.hazmat.aead import NONCE_SIZE, Suite, new_cipher
from sumun.crypto.passphrase_policy import check_passphrase
from sumun.errors import DecryptionError, StateError, UnsealError, UsageError
from sumun.keys.secret import MK_SIZE, MasterKey
from sumun.store.documents import Documents, as_documents

__all__ = [
    "HOME_FILE",
    "InitResult",
    "SealInfo",
    "UnsealProgress",
    "initialise",
    "is_initialised",
    "read_seal_info",
    "unseal_with_passphrase",
    "unseal_with_shares",
]

HOME_FILE = "home.json"
_FORMAT = 1
_PASSPHRASE_AAD = b"sumun/mk-passphrase/v1"


@dataclass(frozen=True, slots=True)
class SealInfo:
    method: Literal["shamir", "passphrase"]
    created_at: float
    backend: str
    suite: Suite
    mk_check: bytes
    threshold: int = 1
    custodians: int = 1
    set_id: bytes = b""
    passphrase: dict[str, Any] | None = None

    def to_public_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "created_at": self.created_at,
            "backend": self.backend,
            "suite": self.suite.value,
            "threshold": self.threshold,
            "custodians": self.custodians,
        }


@dataclass(frozen=True, slots=True)
class InitResult:
    info: SealInfo
    master_key: MasterKey
    shares: tuple[str, ...]  # encoded custodian shares: shown once, never stored

    def __repr__(self) -> str:
        return f"<InitResult {self.info.method} shares=({len(self.shares)} hidden)>"


def is_initialised(home: Path | Documents) -> bool:
    return as_documents(home).exists(HOME_FILE)


def read_seal_info(home: Path | Documents) -> SealInfo:
    docs = as_documents(home)
    path = docs.where(HOME_FILE)
    body = docs.read(HOME_FILE)
    if body is None:
        where = home if isinstance(home, Path) else "this deployment's control store"
        raise StateError(
            f"{where} is not an initialised Sumun home", advice="run `sumun init` first"
        )
    try:
        raw = json.loads(body)
        if raw.get("format") != _FORMAT:
            raise ValueError("unknown format")
        shamir_part = raw.get("shamir") or {}
        return SealInfo(
            method=raw["method"],
            created_at=float(raw["created_at"]),
            backend=str(raw["deployment"]["backend"]),
            suite=Suite(raw["deployment"]["suite"]),
            mk_check=bytes.fromhex(raw["mk_check"]),
            threshold=int(shamir_part.get("threshold", 1)),
            custodians=int(shamir_part.get("custodians", 1)),
            set_id=bytes.fromhex(shamir_part.get("set_id", "")),
            passphrase=raw.get("passphrase"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"{path} is damaged; restore it from a backup") from exc


def initialise(
    home: Path | Documents,
    *,
    backend: str,
    suite: Suite,
    custodians: int | None = None,
    threshold: int | None = None,
    passphrase: str | None = None,
    kdf_params: kdf.ScryptParams | None = None,
    rng: Callable[[int], bytes] = os.urandom,
    clock: Callable[[], float] = time.time,
) -> InitResult:
    """Create the master key and seal it. Refuses an already initialised home."""
    docs = as_documents(home)
    already = StateError(
        f"{home if isinstance(home, Path) else 'this deployment'} is already initialised",
        advice="use another SUMUN_HOME (or another control store)",
    )
    if docs.exists(HOME_FILE):
        raise already
    if passphrase is not None and (custodians is not None or threshold is not None):
        raise UsageError("choose custodian shares or a passphrase, not both")
    if passphrase is not None:
        check_passphrase(passphrase)  # before anything is created
    if isinstance(home, Path):
        private_dir(home)
    master_key = MasterKey(rng(MK_SIZE))
    record: dict[str, Any] = {
        "format": _FORMAT,
        "created_at": clock(),
        "mk_check": master_key.check_value().hex(),
        "deployment": {"backend": backend, "suite": suite.value},
    }
    shares: tuple[str, ...] = ()
    if passphrase is not None:
        params = kdf_params or kdf.ScryptParams()
        salt = rng(16)
        wrapping = new_cipher(suite, kdf.derive_key(passphrase, salt, params))
        nonce = rng(NONCE_SIZE)
        wrapped = wrapping.encrypt(nonce, master_key.material_for_sealing(), _PASSPHRASE_AAD)
        record["method"] = "passphrase"
        record["passphrase"] = {
            "kdf": params.to_dict(),
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "wrapped": base64.b64encode(wrapped).decode(),
        }
    else:
        n = 5 if custodians is None else custodians
        k = 3 if threshold is None else threshold
        parts = shamir.split(master_key.material_for_sealing(), shares=n, threshold=k, rng=rng)
        shares = tuple(shamir.encode_share(p) for p in parts)
        record["method"] = "shamir"
        record["shamir"] = {"set_id": parts[0].set_id.hex(), "threshold": k, "custodians": n}
    body = json.dumps(record, indent=1, sort_keys=True).encode()

    def create(old: bytes | None) -> bytes:
        if old is not None:  # another `sumun init` won the race
            raise already
        return body

    try:
        docs.update(HOME_FILE, create)
    except BaseException:
        master_key.wipe()
        raise
    return InitResult(info=read_seal_info(docs), master_key=master_key, shares=shares)


def _verified(info: SealInfo, material: bytes) -> MasterKey:
    candidate = MasterKey(material)
    if not hmac.compare_digest(candidate.check_value(), info.mk_check):
        candidate.wipe()
        raise UnsealError("these shares do not rebuild this deployment's master key")
    return candidate


class UnsealProgress:
    """Collects custodian shares one by one (as custodians arrive) until the quorum is met."""

    def __init__(self, info: SealInfo) -> None:
        if info.method != "shamir":
            raise UsageError("this deployment is sealed with a passphrase, not shares")
        self._info = info
        self._shares: dict[int, shamir.Share] = {}
        self._given = 0

    def __repr__(self) -> str:
        return f"<UnsealProgress {len(self._shares)}/{self._info.threshold}>"

    @property
    def collected(self) -> int:
        return len(self._shares)

    @property
    def threshold(self) -> int:
        return self._info.threshold

    def add(self, text: str) -> MasterKey | None:
        """Add one share; return the master key once `threshold` distinct shares are in."""
        share = shamir.decode_share(text, number=self._given + 1, value_size=MK_SIZE)
        self._given += 1
        if share.index in self._shares:
            raise UnsealError(f"share {self._given} repeats a share already given")
        if share.set_id != self._info.set_id:
            raise UnsealError("this share belongs to another Sumun deployment (set id differs)")
        if share.threshold != self._info.threshold:
            raise UnsealError("this share's threshold does not match this deployment")
        self._shares[share.index] = share
        if len(self._shares) < self._info.threshold:
            return None
        try:
            material = shamir.combine(list(self._shares.values()))
        finally:
            self._shares.clear()
        return _verified(self._info, material)


def unseal_with_shares(info: SealInfo, texts: Iterable[str]) -> MasterKey:
    progress = UnsealProgress(info)
    result: MasterKey | None = None
    given = 0
    for text in texts:
        given += 1
        result = progress.add(text)
        if result is not None:
            return result
    raise UnsealError(
        f"{info.threshold} custodian shares are needed, {progress.collected} distinct given"
        if given
        else f"no shares given; {info.threshold} of {info.custodians} custodian shares needed"
    )


def unseal_with_passphrase(info: SealInfo, passphrase: str) -> MasterKey:
    if info.method != "passphrase" or info.passphrase is None:
        raise UsageError("this deployment is sealed with custodian shares, not a passphrase")
    try:
        part = info.passphrase
        params = kdf.ScryptParams.from_dict(part["kdf"])
        key = kdf.derive_key(passphrase, base64.b64decode(part["salt"]), params)
        material = new_cipher(info.suite, key).decrypt(
            base64.b64decode(part["nonce"]), base64.b64decode(part["wrapped"]), _PASSPHRASE_AAD
        )
    except DecryptionError as exc:
        raise UnsealError("wrong passphrase") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError("home.json: the passphrase seal is damaged; restore a backup") from exc
    return _verified(info, material)
