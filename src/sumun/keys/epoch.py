"""Rekey epochs: no KEK version outlives `keys.rekey_days`, so no old copy of a DEK does either.

Shredding a data subject deletes their wrapped DEK from the live store, but a backup of the store
taken earlier still holds it, wrapped under a KEK version that lives on. Cryptographic erase needs
every copy of the key made unreadable (NIST SP 800-88r1 §2.6, "Cryptographic Erase"); the copies
cannot be chased, so a rekey epoch destroys the key that opens them instead. docs/keys.md
("Shredding: what is erased, and when") states what this guarantees on each backend.

One rekey of one key, in order (the steps are marked in `Rekeyer.rekey`):

    1. refuse a key that is not enabled, or that has a disabled version: rewrapping that
       version's DEKs under the primary would quietly undo the disable
    2. rotate: a new primary version (always when asked by hand; on the schedule, when the
       primary itself is due — a resumed rekey does not rotate again)
    3. rewrap, in batches, every DEK under an older version: unwrapped with the old version and
       wrapped under the primary, both by the backend; the same DEK under the same id, so every
       envelope stays readable (the data path trusts the row's version, not the header's)
    4. wait until every process sees the new primary (twice the revocation bound after the
       rotation), then rewrap again whatever was wrapped under an old version meanwhile, until
       a pass finds none
    5. erase the replaced blobs from the store's files (secure delete and WAL truncate; VACUUM)
    6. destroy the older versions, material first, then the registry (`KeyLifecycle.end_epoch`),
       with a `destroy` key event per version and one `rekey` event

Crash safety: nothing is destroyed before a pass finds no DEK left under the older versions, and
each row moves by compare-and-set, so a crash or an interruption anywhere leaves every DEK
readable; running the rekey again — or the schedule, which still sees the old versions past due
— finishes it. The plaintext DEK exists only between the backend's unwrap and wrap, in this
process's memory, as when the data path opens a record; it is never stored or logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sumun.config import KeysConfig
from sumun.errors import DecryptionError, KeyStateError, UnknownKeyError
from sumun.keys.backends.base import KekBackend
from sumun.keys.dek_store import DekRow, DekStore, Rewrapped, wrap_aad
from sumun.keys.lifecycle import KeyLifecycle
from sumun.keys.model import KeyRecord, KeyState, VersionState
from sumun.keys.registry import Registry

__all__ = ["Progress", "RekeyReport", "Rekeyer", "rekey_due"]

_DAY = 86400.0
# Passes of step 4: needing more means some writer keeps using an old version; nothing is
# destroyed then.
_MAX_PASSES = 5

# (DEKs rewrapped so far, DEKs to rewrap as known now). Called after every batch and after the
# wait of step 4; it MAY raise to stop the rekey there (every such point is a safe place to stop).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RekeyReport:
    key_id: str
    primary: int
    rotated: bool
    rewrapped: int
    destroyed: tuple[int, ...]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "primary": self.primary,
            "rotated": self.rotated,
            "rewrapped": self.rewrapped,
            "destroyed": list(self.destroyed),
            "seconds": round(self.seconds, 3),
        }


def rekey_due(record: KeyRecord, now: float, window_seconds: float) -> bool:
    """Whether the schedule owes `record` a rekey: an enabled key whose oldest live version
    (the primary included) was created `window_seconds` ago or more. Pure."""
    if window_seconds <= 0 or record.state is not KeyState.ENABLED:
        return False
    live = [v.created_at for v in record.versions if v.state is not VersionState.DESTROYED]
    return bool(live) and min(live) + window_seconds <= now


def _live(record: KeyRecord) -> frozenset[int]:
    return frozenset(v.version for v in record.versions if v.state is VersionState.ENABLED)


def _older_live(record: KeyRecord) -> frozenset[int]:
    """The versions a rekey to the current primary moves DEKs from, and then destroys."""
    return frozenset(v for v in _live(record) if v < record.primary)


@dataclass
class _Tally:
    """DEKs moved so far, of those known to need it; `progress` hears of every step."""

    total: int
    progress: Progress | None
    moved: int = 0

    def add(self, moved: int) -> None:
        self.moved += moved
        self.total = max(self.total, self.moved)
        if self.progress is not None:
            self.progress(self.moved, self.total)


class Rekeyer:
    """Rekey epochs for the keys of one unsealed deployment (`KeyService.rekeyer`)."""

    def __init__(
        self,
        *,
        lifecycle: KeyLifecycle,
        registry: Registry,
        backend: KekBackend,
        dek_store: DekStore,
        config: KeysConfig,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int = 500,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._lifecycle = lifecycle
        self._registry = registry
        self._backend = backend
        self._deks = dek_store
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._batch_size = batch_size

    def __repr__(self) -> str:
        return f"<Rekeyer every {self._config.rekey_days:g} days>"

    @property
    def window_seconds(self) -> float:
        return self._config.rekey_days * _DAY

    def due(self) -> list[str]:
        """Ids of the keys the schedule owes a rekey now (none when `rekey_days` is 0)."""
        now = self._clock()
        records = self._registry.load()
        return sorted(k for k, r in records.items() if rekey_due(r, now, self.window_seconds))

    def scheduled(
        self, key_id: str, *, actor: str = "sumun", progress: Progress | None = None
    ) -> RekeyReport | None:
        """The schedule's rekey of one key: None when it is not due (any more). Rotates only
        when the primary itself is due, so a rekey resumed after a crash does not rotate again."""
        record = self._require(key_id)
        now, window = self._clock(), self.window_seconds
        if not rekey_due(record, now, window):
            return None
        primary = record.version(record.primary)
        rotate = primary is None or primary.created_at + window <= now
        return self.rekey(key_id, actor=actor, rotate=rotate, progress=progress)

    def rekey(
        self,
        key_id: str,
        *,
        actor: str,
        rotate: bool = True,
        progress: Progress | None = None,
    ) -> RekeyReport:
        """Rewrap every DEK of `key_id` under a new primary, then destroy the older versions.

        `rotate=False` keeps the current primary: a rekey resumed after an interruption (what
        `scheduled` does while the primary is not yet due). Raises KeyStateError, having
        destroyed nothing, when the key cannot be rekeyed (see step 1 and step 4)."""
        started = self._clock()
        record = self._require(key_id)
        # Step 1: only what a rekey can honour.
        if record.state is not KeyState.ENABLED:
            raise KeyStateError(
                f"key {key_id!r} is {record.state.value}; only an enabled key can be rekeyed",
                advice="`sumun keys enable` it first, or let its destruction run",
            )
        disabled = [v.version for v in record.versions if v.state is VersionState.DISABLED]
        if disabled:
            listed = ", ".join(f"v{n}" for n in disabled)
            raise KeyStateError(
                f"key {key_id!r} has disabled versions ({listed}): a rekey would rewrap their "
                "DEKs under the primary and so undo the disable",
                advice="enable them again, or destroy them with "
                f"`sumun keys destroy {key_id} --version N --now`, then rekey",
            )
        # Step 2: a new primary.
        if rotate:
            record = self._lifecycle.rotate(key_id, actor=actor, reason="rekey")
        primary = record.primary
        newest = record.version(primary)
        rotated_at = started if newest is None else newest.created_at
        older = _older_live(record)
        # Step 3: move every DEK under an older version to the primary.
        tally = _Tally(self._deks.count_under(key_id, older), progress)
        self._rewrap_all(key_id, primary, older, tally)
        # Step 4: a process that had not yet seen the rotation may have wrapped a new DEK under
        # the old primary; once every one has (twice the revocation bound: one to see it, one
        # for a wrap already under way), move those too, until a pass finds none.
        wait = rotated_at + 2 * self._config.revocation_ttl_seconds - self._clock()
        if wait > 0:
            self._sleep(wait)
        tally.add(0)
        for _ in range(_MAX_PASSES):
            left = self._deks.count_under(key_id, older)
            if not left:
                break
            tally.total = max(tally.total, tally.moved + left)
            self._rewrap_all(key_id, primary, older, tally)
        else:
            raise KeyStateError(
                f"DEKs of key {key_id!r} keep appearing under versions older than v{primary}; "
                "nothing was destroyed",
                advice="look for a node with a stale key registry, then run the rekey again",
            )
        if not older <= _live(self._require(key_id)):
            raise KeyStateError(
                f"a version of key {key_id!r} was disabled or destroyed during its rekey; "
                "nothing was destroyed by the rekey",
                advice="check `sumun keys list`, then run the rekey again",
            )
        # Step 5: the replaced blobs leave the store's files.
        self._deks.erase_replaced()
        # Step 6: the older versions go (`end_epoch`: like `destroy_now --version`, each).
        record, destroyed = self._lifecycle.end_epoch(
            key_id, primary, older, actor=actor, rewrapped=tally.moved
        )
        return RekeyReport(
            key_id=key_id,
            primary=primary,
            rotated=rotate,
            rewrapped=tally.moved,
            destroyed=destroyed,
            seconds=self._clock() - started,
        )

    # -- helpers ---------------------------------------------------------------------------

    def _require(self, key_id: str) -> KeyRecord:
        record = self._registry.load().get(key_id)
        if record is None:
            raise UnknownKeyError(f"no key {key_id!r}", advice="`sumun keys list` shows the keys")
        return record

    def _rewrap_all(self, key_id: str, primary: int, older: frozenset[int], tally: _Tally) -> None:
        """One pass over the DEKs under `older` versions, each batch one transaction."""
        after, limit = b"", self._batch_size
        while batch := self._deks.under(key_id, older, after=after, limit=limit):
            after = batch[-1].dek_id
            tally.add(self._deks.rewrap([self._rewrapped(row, primary) for row in batch]))

    def _rewrapped(self, row: DekRow, primary: int) -> Rewrapped:
        old_aad = wrap_aad(row.dek_id, row.key_id, row.kek_version, row.scope)
        try:
            dek = self._backend.unwrap(row.key_id, row.kek_version, row.wrapped, old_aad)
        except DecryptionError as exc:
            raise KeyStateError(
                f"a DEK of key {row.key_id!r} under v{row.kek_version} does not unwrap (a damaged "
                "row?); the rekey stopped and destroyed nothing",
                advice="run `sumun keys rekey` again; if it stops here again, report it",
            ) from exc
        new_aad = wrap_aad(row.dek_id, row.key_id, primary, row.scope)
        wrapped = self._backend.wrap(row.key_id, primary, dek, new_aad)
        return Rewrapped(row.dek_id, row.kek_version, primary, wrapped)
