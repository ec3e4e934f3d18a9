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
combination", so a mistyped share that slips past its checksum still cannot unseal. It also
names the wrong share: offered more than `threshold` shares, an unseal searches for a subset
that passes `mk_check` and names every offered share that does not fit it
(`sumun.crypto.shamir.recover`). A custodian whose share is damaged or forged can no longer
block an unseal unnoticed: with one more genuine share, the unseal goes ahead and says whose
share is wrong.

Every intermediate secret of an unseal — the passphrase-derived key, the decrypted or rebuilt
master key — is written into a `bytearray` and zeroed as soon as the `MasterKey` holds its copy
(`sumun.keys.secret`). The passphrase and the share texts are Python strings and cannot be.
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
from sumun.crypto.hazmat.aead import NONCE_SIZE, TAG_SIZE, Suite, new_cipher
from sumun.crypto.passphrase_policy import check_passphrase
from sumun.errors import DecryptionError, StateError, UnsealError, UsageError
from sumun.keys.secret import MK_SIZE, MasterKey, check_value_of, zero
from sumun.store.documents import Documents, as_documents

__all__ = [
    "HOME_FILE",
    "BadShare",
    "InitResult",
    "Recovered",
    "SealInfo",
    "ShareReceipt",
    "UnsealProgress",
    "initialise",
    "is_initialised",
    "read_seal_info",
    "recover_with_shares",
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


def _is_master_key(info: SealInfo, candidate: bytearray) -> bool:
    return hmac.compare_digest(check_value_of(candidate), info.mk_check)


def _verified(info: SealInfo, material: bytearray) -> MasterKey:
    """The master key, if `material` is it. `material` is zeroed either way."""
    try:
        if not _is_master_key(info, material):
            # The passphrase opened the wrapped key, so the record itself is inconsistent.
            raise StateError("home.json: the master key fails its check value; restore a backup")
        return MasterKey(material)
    finally:
        zero(material)


@dataclass(frozen=True, slots=True)
class BadShare:
    """An offered share that does not fit the master key the others rebuilt: it is wrong."""

    number: int  # its place among the shares offered, from 1 (as the prompts count them)
    index: int  # the custodian share number it carries (its x-coordinate)

    def __str__(self) -> str:
        return (
            f"share {self.number} (custodian share #{self.index}) does not fit the master key "
            "the others rebuild: it is damaged or forged"
        )


@dataclass(frozen=True, slots=True)
class Recovered:
    """An unsealed master key, and the offered shares found to be wrong on the way."""

    master_key: MasterKey
    bad_shares: tuple[BadShare, ...] = ()


@dataclass(frozen=True, slots=True)
class ShareReceipt:
    """Where a share-by-share unseal stands after one more share."""

    collected: int
    threshold: int
    bad_shares: tuple[BadShare, ...] = ()  # found when the quorum unsealed; tell the custodians


class UnsealProgress:
    """Collects custodian shares one by one (as custodians arrive) until the quorum is met.

    With `threshold` shares that do not rebuild the master key, `add` raises and keeps them:
    the next share offered lets it find a genuine quorum and name the wrong share(s).
    """

    def __init__(self, info: SealInfo) -> None:
        if info.method != "shamir":
            raise UsageError("this deployment is sealed with a passphrase, not shares")
        self._info = info
        self._shares: dict[int, tuple[int, shamir.Share]] = {}  # index -> (number given, share)
        self._given = 0
        self.bad_shares: tuple[BadShare, ...] = ()  # set when `add` returns the master key

    def __repr__(self) -> str:
        return f"<UnsealProgress {len(self._shares)}/{self._info.threshold}>"

    @property
    def collected(self) -> int:
        return len(self._shares)

    @property
    def threshold(self) -> int:
        return self._info.threshold

    def add(self, text: str) -> MasterKey | None:
        """Add one share; return the master key once `threshold` distinct shares that rebuild
        it are in (then `bad_shares` names any offered share that does not fit)."""
        share = shamir.decode_share(text, number=self._given + 1, value_size=MK_SIZE)
        self._given += 1
        if share.index in self._shares:
            raise UnsealError(
                f"share {self._given} repeats a share already given",
                advice="offer another custodian's share (on a running Sumun, `sumun seal` "
                "discards the shares given so far)",
            )
        if share.set_id != self._info.set_id:
            raise UnsealError("this share belongs to another Sumun deployment (set id differs)")
        if share.threshold != self._info.threshold:
            raise UnsealError("this share's threshold does not match this deployment")
        self._shares[share.index] = (self._given, share)
        if len(self._shares) < self._info.threshold:
            return None
        offered = list(self._shares.values())
        # On failure the shares are kept: one more lets `recover` find the wrong one.
        found = shamir.recover(
            [s for _, s in offered],
            lambda candidate: _is_master_key(self._info, candidate),
            what="this deployment's master key",
        )
        try:
            master_key = MasterKey(found.secret)
        finally:
            zero(found.secret)
        self._shares.clear()
        self.bad_shares = tuple(
            BadShare(offered[i - 1][0], offered[i - 1][1].index) for i in found.misfits
        )
        return master_key


def recover_with_shares(info: SealInfo, texts: Iterable[str]) -> Recovered:
    """Unseal with custodian shares, naming any offered share that is wrong."""
    progress = UnsealProgress(info)
    texts = list(texts)
    result: MasterKey | None = None
    failure: UnsealError | None = None
    for text in texts:
        before = progress.collected
        try:
            result = progress.add(text)
        except UnsealError as exc:
            if progress.collected == before:
                raise  # a share refused on its own (mistyped, foreign, repeated)
            failure = exc  # kept, but the quorum does not rebuild the MK: the next may help
            continue
        if result is not None:
            return Recovered(result, progress.bad_shares)
    if failure is not None:
        raise failure
    raise UnsealError(
        f"{info.threshold} custodian shares are needed, {progress.collected} distinct given"
        if texts
        else f"no shares given; {info.threshold} of {info.custodians} custodian shares needed"
    )


def unseal_with_shares(info: SealInfo, texts: Iterable[str]) -> MasterKey:
    """Unseal with custodian shares, refusing (by name) any offered share that is wrong: for
    callers that cannot pass a warning on, such as the quorum an immediate destruction needs."""
    recovered = recover_with_shares(info, texts)
    if recovered.bad_shares:
        recovered.master_key.wipe()
        raise UnsealError(
            "; ".join(str(bad) for bad in recovered.bad_shares),
            advice="offer the quorum without it, and ask that custodian to check their share",
        )
    return recovered.master_key


def unseal_with_passphrase(info: SealInfo, passphrase: str) -> MasterKey:
    if info.method != "passphrase" or info.passphrase is None:
        raise UsageError("this deployment is sealed with custodian shares, not a passphrase")
    key = bytearray(kdf.KEY_SIZE)
    material = bytearray(MK_SIZE)
    try:
        part = info.passphrase
        params = kdf.ScryptParams.from_dict(part["kdf"])
        wrapped = base64.b64decode(part["wrapped"])
        if len(wrapped) != MK_SIZE + TAG_SIZE:
            raise ValueError("the wrapped master key has the wrong length")
        kdf.derive_key_into(passphrase, base64.b64decode(part["salt"]), params, key)
        new_cipher(info.suite, key).decrypt_into(
            base64.b64decode(part["nonce"]), wrapped, _PASSPHRASE_AAD, material
        )
    except DecryptionError as exc:
        zero(material)
        raise UnsealError("wrong passphrase") from exc
    except (KeyError, TypeError, ValueError) as exc:
        zero(material)
        raise StateError("home.json: the passphrase seal is damaged; restore a backup") from exc
    finally:
        zero(key)  # the cipher built from it is already freed, its context cleansed
    return _verified(info, material)
