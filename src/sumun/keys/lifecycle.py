"""Key lifecycle: create, rotate, disable / enable, destroy (crypto-shred), shred a subject.

Every operation is: validate against the registry → act on the backend → write the registry →
record a key event. Order matters for crash safety: material is created before the registry
names it (an orphan version is harmless), and the registry marks a key destroyed before the
material is erased (a crash in between leaves a key no one may use, finished by `purge_due`).

Destruction, like cloud KMSes: `schedule_destroy` makes the key unusable at once and erases it
after a grace period (default 7 days; `enable` cancels); `destroy_now` erases at once and MUST
be given a fresh quorum of custodian shares (or the passphrase), even when already unsealed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from sumun.config import KeysConfig
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import (
    KeyDestroyedError,
    KeyStateError,
    UnknownKeyError,
    UsageError,
)
from sumun.keys import seal
from sumun.keys.backends.base import KekBackend
from sumun.keys.dek_store import DekStore
from sumun.keys.events import EventSink
from sumun.keys.model import (
    KeyAction,
    KeyEvent,
    KeyRecord,
    KeyState,
    KeyVersion,
    VersionState,
    validate_key_id,
)
from sumun.keys.registry import Records, Registry

__all__ = ["KeyLifecycle"]

_DAY = 86400.0


def _require(records: Records, key_id: str) -> KeyRecord:
    record = records.get(key_id)
    if record is None:
        raise UnknownKeyError(f"no key {key_id!r}", advice="`sumun keys list` shows the keys")
    if record.state is KeyState.DESTROYED:
        raise KeyDestroyedError(f"key {key_id!r} was destroyed; its data is gone for good")
    return record


class KeyLifecycle:
    def __init__(
        self,
        *,
        registry: Registry,
        backend: KekBackend,
        dek_store: DekStore,
        events: EventSink,
        seal_info: seal.SealInfo,
        config: KeysConfig,
        on_change: Callable[[KeyRecord], None] = lambda _record: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._backend = backend
        self._deks = dek_store
        self._events = events
        self._seal_info = seal_info
        self._config = config
        self._on_change = on_change
        self._clock = clock

    def _emit(
        self,
        actor: str,
        action: KeyAction,
        record: KeyRecord | None,
        version: int | None = None,
        **detail: str,
    ) -> None:
        self._events.emit(
            KeyEvent(
                time=self._clock(),
                actor=actor,
                action=action,
                key_id=record.key_id if record else None,
                version=version,
                backend=self._backend.name,
                detail=detail,
            )
        )

    def _commit(self, record: KeyRecord) -> KeyRecord:
        """Insert a new key (refused if its id exists by the time the write happens)."""

        def change(records: Records) -> Records:
            if record.key_id in records:
                raise KeyStateError(f"key {record.key_id!r} already exists")
            records[record.key_id] = record
            return records

        self._registry.update(change)
        self._on_change(record)
        return record

    def _change(
        self,
        key_id: str,
        transform: Callable[[KeyRecord], KeyRecord],
        *,
        allow_destroyed: bool = False,
    ) -> KeyRecord:
        """Apply `transform` to the key as it is *inside* the registry's write (file lock or
        database transaction): MUST be the only way key state changes, so a concurrent writer
        (a DEK wrap counted in another process, another node's disable) is never overwritten
        with a stale copy — the race that used to turn a disable back into enabled."""
        result: list[KeyRecord] = []

        def change(records: Records) -> Records:
            current = records.get(key_id) if allow_destroyed else _require(records, key_id)
            if current is None:
                raise UnknownKeyError(f"no key {key_id!r}")
            updated = transform(current)
            records[key_id] = updated
            result.append(updated)
            return records

        self._registry.update(change)
        self._on_change(result[-1])
        return result[-1]

    def _mirror_restrictions(self, record: KeyRecord) -> None:
        disabled = frozenset(
            v.version for v in record.versions if v.state is not VersionState.ENABLED
        )
        if record.state is not KeyState.ENABLED:
            disabled = frozenset(v.version for v in record.versions)
        self._backend.restrict(record.key_id, disabled, record.latest)

    # -- create / rotate -------------------------------------------------------------------

    def create(
        self, key_id: str, *, actor: str, tenant: str | None = None, suite: Suite | None = None
    ) -> KeyRecord:
        validate_key_id(key_id)
        if key_id in self._registry.load():
            raise KeyStateError(f"key {key_id!r} already exists (ids are never reused)")
        self._backend.create_version(key_id, 1)
        now = self._clock()
        record = KeyRecord(
            key_id=key_id,
            tenant=tenant or key_id,
            backend=self._backend.name,
            suite=suite or self._config.suite,
            state=KeyState.ENABLED,
            primary=1,
            versions=(KeyVersion(version=1, created_at=now),),
            created_at=now,
            updated_at=now,
        )
        self._commit(record)
        self._emit(actor, KeyAction.CREATE, record, 1, suite=record.suite.value)
        return record

    def rotate(self, key_id: str, *, actor: str, reason: str = "manual") -> KeyRecord:
        record = _require(self._registry.load(), key_id)
        if record.state is not KeyState.ENABLED:
            raise KeyStateError(f"key {key_id!r} is {record.state.value}; enable it to rotate")
        new = record.latest + 1
        self._backend.create_version(key_id, new)  # refuses a version that already exists
        now = self._clock()

        def add_version(current: KeyRecord) -> KeyRecord:
            if current.state is not KeyState.ENABLED:
                raise KeyStateError(f"key {key_id!r} became {current.state.value} meanwhile")
            if current.latest >= new:
                raise KeyStateError(f"key {key_id!r} was rotated concurrently; try again")
            return replace(
                current,
                primary=new,
                versions=(*current.versions, KeyVersion(version=new, created_at=now)),
                updated_at=now,
            )

        record = self._change(key_id, add_version)
        self._emit(actor, KeyAction.ROTATE, record, new, reason=reason)
        return record

    def count_wrap(self, key_id: str, version: int) -> KeyRecord:
        """Count one DEK wrap; rotate automatically before the version reaches its limit."""
        counted: list[int] = []

        def count(record: KeyRecord) -> KeyRecord:
            current = record.version(version)
            if current is None:
                raise UnknownKeyError(f"key {key_id!r} has no version {version}")
            counted.append(current.wraps + 1)
            return record.with_version(replace(current, wraps=current.wraps + 1))

        record = self._change(key_id, count)
        if counted[-1] >= self._config.kek_max_wraps and version == record.primary:
            record = self.rotate(key_id, actor="sumun", reason="wrap limit reached")
        return record

    # -- disable / enable ------------------------------------------------------------------

    def disable(self, key_id: str, *, actor: str, version: int | None = None) -> KeyRecord:
        now = self._clock()

        def disabled(record: KeyRecord) -> KeyRecord:
            if version is None:
                if record.state is KeyState.PENDING_DESTRUCTION:
                    raise KeyStateError(f"key {key_id!r} is already scheduled for destruction")
                return replace(record, state=KeyState.DISABLED, updated_at=now)
            found = record.version(version)
            if found is None or found.state is VersionState.DESTROYED:
                raise UnknownKeyError(f"key {key_id!r} has no live version {version}")
            if version == record.primary:
                raise KeyStateError(
                    f"version {version} is the primary of {key_id!r}",
                    advice="rotate first, or disable the whole key",
                )
            record = record.with_version(replace(found, state=VersionState.DISABLED))
            return replace(record, updated_at=now)

        record = self._change(key_id, disabled)
        self._mirror_restrictions(record)
        self._emit(actor, KeyAction.DISABLE, record, version)
        return record

    def enable(self, key_id: str, *, actor: str, version: int | None = None) -> KeyRecord:
        """Enable a key or version; on a key scheduled for destruction, cancel the destruction."""
        now = self._clock()
        actions: list[KeyAction] = []

        def enabled(record: KeyRecord) -> KeyRecord:
            if version is None:
                pending = record.state is KeyState.PENDING_DESTRUCTION
                actions.append(KeyAction.CANCEL_DESTROY if pending else KeyAction.ENABLE)
                return replace(record, state=KeyState.ENABLED, destroy_after=None, updated_at=now)
            found = record.version(version)
            if found is None or found.state is VersionState.DESTROYED:
                raise UnknownKeyError(f"key {key_id!r} has no live version {version}")
            actions.append(KeyAction.ENABLE)
            record = record.with_version(replace(found, state=VersionState.ENABLED))
            return replace(record, updated_at=now)

        record = self._change(key_id, enabled)
        self._mirror_restrictions(record)
        self._emit(actor, actions[-1], record, version)
        return record

    # -- destroy ---------------------------------------------------------------------------

    def schedule_destroy(
        self, key_id: str, *, actor: str, grace_days: float | None = None
    ) -> KeyRecord:
        grace = self._config.destroy_grace_days if grace_days is None else grace_days
        if grace <= 0:
            raise UsageError("a scheduled destruction needs a grace period > 0; use --now")
        now = self._clock()
        record = self._change(
            key_id,
            lambda record: replace(
                record,
                state=KeyState.PENDING_DESTRUCTION,
                destroy_after=now + grace * _DAY,
                updated_at=now,
            ),
        )
        self._mirror_restrictions(record)
        self._emit(actor, KeyAction.SCHEDULE_DESTROY, record, grace_days=f"{grace:g}")
        return record

    def verify_quorum(self, shares: Sequence[str] = (), passphrase: str | None = None) -> None:
        """Prove custodians agree, independently of the current unseal."""
        if self._seal_info.method == "passphrase":
            if passphrase is None:
                raise UsageError("immediate destruction needs the passphrase")
            seal.unseal_with_passphrase(self._seal_info, passphrase).wipe()
        else:
            seal.unseal_with_shares(self._seal_info, shares).wipe()

    def destroy_now(
        self,
        key_id: str,
        *,
        actor: str,
        shares: Sequence[str] = (),
        passphrase: str | None = None,
        version: int | None = None,
    ) -> KeyRecord:
        record = _require(self._registry.load(), key_id)
        self.verify_quorum(shares, passphrase)
        if version is not None:
            return self._destroy_version(record, version, actor)
        return self._destroy(record, actor, mode="immediate")

    def _destroy_version(self, record: KeyRecord, version: int, actor: str) -> KeyRecord:
        now = self._clock()

        def destroyed(record: KeyRecord) -> KeyRecord:
            found = record.version(version)
            if found is None or found.state is VersionState.DESTROYED:
                raise UnknownKeyError(f"key {record.key_id!r} has no live version {version}")
            if version == record.primary:
                raise KeyStateError(
                    "the primary version cannot be destroyed alone",
                    advice="rotate first, or destroy the whole key",
                )
            record = record.with_version(replace(found, state=VersionState.DESTROYED))
            return replace(record, updated_at=now)

        record = self._change(record.key_id, destroyed)
        self._backend.destroy_versions(record.key_id, [version])
        self._deks.delete_key(record.key_id, frozenset({version}))
        self._emit(actor, KeyAction.DESTROY, record, version, mode="immediate")
        return record

    def _destroy(
        self,
        record: KeyRecord,
        actor: str,
        *,
        mode: str,
        still: Callable[[KeyRecord], bool] = lambda _record: True,
    ) -> KeyRecord:
        now = self._clock()

        def destroyed(current: KeyRecord) -> KeyRecord:
            if not still(current):
                raise KeyStateError(f"key {current.key_id!r} changed meanwhile; not destroyed")
            return replace(
                current,
                state=KeyState.DESTROYED,
                versions=tuple(replace(v, state=VersionState.DESTROYED) for v in current.versions),
                destroy_after=None,
                updated_at=now,
            )

        record = self._change(record.key_id, destroyed)
        self._backend.destroy_key(record.key_id)
        erased = self._deks.delete_key(record.key_id)
        self._emit(actor, KeyAction.DESTROY, record, mode=mode, deks_erased=str(erased))
        return record

    def purge_due(self, *, actor: str = "sumun") -> list[KeyRecord]:
        """Carry out scheduled destructions whose grace period has ended."""
        now = self._clock()
        done = []

        def due(record: KeyRecord) -> bool:
            return (
                record.state is KeyState.PENDING_DESTRUCTION
                and record.destroy_after is not None
                and record.destroy_after <= now
            )

        for record in self._registry.load().values():
            if due(record):
                try:  # re-checked inside the write: a cancel that won the race stands
                    done.append(self._destroy(record, actor, mode="scheduled", still=due))
                except KeyStateError:
                    continue
        return done

    # -- subjects --------------------------------------------------------------------------

    def shred_subject(self, key_id: str, subject_scope: str, *, actor: str) -> KeyRecord:
        _require(self._registry.load(), key_id)
        erased = self._deks.delete_scope(key_id, subject_scope)
        now = self._clock()
        record = self._change(
            key_id,
            lambda record: replace(record, shred_epoch=record.shred_epoch + 1, updated_at=now),
        )
        # The event names the HMAC'd scope, never the subject identifier itself.
        self._emit(
            actor,
            KeyAction.SHRED_SUBJECT,
            record,
            scope=subject_scope,
            deks_erased=str(len(erased)),
        )
        return record
