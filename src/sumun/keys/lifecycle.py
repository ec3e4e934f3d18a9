"""Key lifecycle: create, rotate, disable / enable, destroy (crypto-shred), shred a subject.

Every operation is: validate against the registry → act on the backend → write the registry
*with the key event as a pending intent* (`Registry.journal`, one atomic write) → record the
event in the ledger → clear the intent. Order matters for crash safety: material is created
before the registry names it (an orphan version is harmless: the next rotation skips it), and
the registry marks a key destroyed before the material is erased (a crash in between leaves a
key no one may use, whose erasure `reconcile` finishes).

Guarantee (write-ahead): every committed key change has its key-event. A crash, or a ledger that
refuses the append, between the registry write and the append leaves the intent; `reconcile`
(run by `KeyService` whenever it opens) records it late — marked `recovered` — finishing what the
change still owed the backend (mirroring a disable, erasing destroyed material), unless the
ledger's last key-event shows it was already recorded. A change whose registry write did not
happen left no intent: nothing to record, nothing committed. The operation whose append failed
raises, although its change stands (the safe direction for a disable or a destruction).
`count_wrap` (one per DEK wrap, on the data path) is bookkeeping with no event: never journaled.

Destruction, like cloud KMSes: `schedule_destroy` makes the key unusable at once and erases it
after a grace period (default 7 days; `enable` cancels); `destroy_now` erases at once and MUST
be given a fresh quorum of custodian shares (or the passphrase), even when already unsealed.
"""

from __future__ import annotations

import contextlib
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
from sumun.keys.registry import Intent, Records, Registry

__all__ = ["KeyLifecycle"]

_DAY = 86400.0
_ORPHAN_SKIPS = 3  # versions an interrupted rotation may have left in the backend, unnamed


# Actions after whose registry write the backend is told (`_mirror_restrictions`).
_RESTRICTING = frozenset(
    {
        KeyAction.DISABLE,
        KeyAction.ENABLE,
        KeyAction.CANCEL_DESTROY,
        KeyAction.SCHEDULE_DESTROY,
    }
)


def _is_recorded(intent: Intent, last: KeyEvent | None) -> bool:
    """Is `last` (the ledger's last key-event) the event of `intent`? Then the writer died
    after the append and before clearing the intent: recording it again would duplicate it."""
    return (
        last is not None
        and last.registry_revision == intent.revision
        and last.action is intent.event.action
        and last.key_id == intent.event.key_id
    )


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

    def _event(
        self,
        actor: str,
        action: KeyAction,
        record: KeyRecord | None,
        version: int | None = None,
        **detail: str,
    ) -> KeyEvent:
        return KeyEvent(
            time=self._clock(),
            actor=actor,
            action=action,
            key_id=record.key_id if record else None,
            version=version,
            backend=self._backend.name,
            detail=detail,
        )

    def _record(self, intent: Intent, **late: str) -> None:
        """Record a committed change's event (plus `late` detail, known only after the write),
        then clear its intent. If the append raises, the intent stays for `reconcile`."""
        event = intent.event
        if late:
            event = replace(event, detail={**event.detail, **late})
        self._events.emit(event)
        self._registry.clear(intent.revision)

    def _commit(self, record: KeyRecord, event: KeyEvent) -> Intent:
        """Insert a new key (refused if its id exists by the time the write happens)."""

        def change(records: Records) -> Records:
            if record.key_id in records:
                raise KeyStateError(f"key {record.key_id!r} already exists")
            records[record.key_id] = record
            return records

        _, intent = self._registry.journal(change, lambda _records: event)
        self._on_change(record)
        return intent

    def _write(
        self,
        key_id: str,
        transform: Callable[[KeyRecord], KeyRecord],
        event: Callable[[KeyRecord], KeyEvent] | None,
        allow_destroyed: bool,
    ) -> tuple[KeyRecord, Intent | None]:
        result: list[KeyRecord] = []

        def change(records: Records) -> Records:
            current = records.get(key_id) if allow_destroyed else _require(records, key_id)
            if current is None:
                raise UnknownKeyError(f"no key {key_id!r}")
            updated = transform(current)
            records[key_id] = updated
            result.append(updated)
            return records

        intent = None
        if event is None:
            self._registry.update(change)
        else:
            _, intent = self._registry.journal(change, lambda _records: event(result[-1]))
        self._on_change(result[-1])
        return result[-1], intent

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
        with a stale copy — the race that used to turn a disable back into enabled.

        No key-event: for bookkeeping only (`count_wrap`). A change the ledger must record
        MUST go through `_journal` and then `_record`."""
        return self._write(key_id, transform, None, allow_destroyed)[0]

    def _journal(
        self,
        key_id: str,
        transform: Callable[[KeyRecord], KeyRecord],
        event: Callable[[KeyRecord], KeyEvent],
        *,
        allow_destroyed: bool = False,
    ) -> tuple[KeyRecord, Intent]:
        """`_change`, writing `event(updated record)` as a pending intent in the same write."""
        record, intent = self._write(key_id, transform, event, allow_destroyed)
        if intent is None:  # pragma: no cover - the registry always returns one
            raise KeyStateError(f"key {key_id!r}: the change was written without its intent")
        return record, intent

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
        intent = self._commit(
            record, self._event(actor, KeyAction.CREATE, record, 1, suite=record.suite.value)
        )
        self._record(intent)
        return record

    def rotate(self, key_id: str, *, actor: str, reason: str = "manual") -> KeyRecord:
        record = _require(self._registry.load(), key_id)
        if record.state is not KeyState.ENABLED:
            raise KeyStateError(f"key {key_id!r} is {record.state.value}; enable it to rotate")
        new = self._create_next_version(key_id, record.latest + 1)
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

        record, intent = self._journal(
            key_id,
            add_version,
            lambda record: self._event(actor, KeyAction.ROTATE, record, new, reason=reason),
        )
        self._record(intent)
        return record

    def _create_next_version(self, key_id: str, new: int) -> int:
        """Create material for the next version and return its number. The backend refuses a
        version that exists: either a rotation running now (it will name it) or one that crashed
        between the backend and the registry and left an orphan no record names and nothing
        was wrapped under. Either way the next free number is ours — without this, an orphan
        would refuse every later rotation of the key."""
        for skipped in range(_ORPHAN_SKIPS + 1):
            try:
                self._backend.create_version(key_id, new)
                return new
            except KeyStateError:
                named = _require(self._registry.load(), key_id).latest
                if skipped == _ORPHAN_SKIPS or named >= new:
                    raise  # a rotation committed it meanwhile: the caller's copy is stale
                new += 1
        raise AssertionError("unreachable")  # pragma: no cover

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

        record, intent = self._journal(
            key_id, disabled, lambda record: self._event(actor, KeyAction.DISABLE, record, version)
        )
        self._mirror_restrictions(record)
        self._record(intent)
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

        record, intent = self._journal(
            key_id, enabled, lambda record: self._event(actor, actions[-1], record, version)
        )
        self._mirror_restrictions(record)
        self._record(intent)
        return record

    # -- destroy ---------------------------------------------------------------------------

    def schedule_destroy(
        self, key_id: str, *, actor: str, grace_days: float | None = None
    ) -> KeyRecord:
        grace = self._config.destroy_grace_days if grace_days is None else grace_days
        if grace <= 0:
            raise UsageError("a scheduled destruction needs a grace period > 0; use --now")
        now = self._clock()
        record, intent = self._journal(
            key_id,
            lambda record: replace(
                record,
                state=KeyState.PENDING_DESTRUCTION,
                destroy_after=now + grace * _DAY,
                updated_at=now,
            ),
            lambda record: self._event(
                actor, KeyAction.SCHEDULE_DESTROY, record, grace_days=f"{grace:g}"
            ),
        )
        self._mirror_restrictions(record)
        self._record(intent)
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

        record, intent = self._journal(
            record.key_id,
            destroyed,
            lambda record: self._event(actor, KeyAction.DESTROY, record, version, mode="immediate"),
        )
        self._backend.destroy_versions(record.key_id, [version])
        self._deks.delete_key(record.key_id, frozenset({version}))
        self._record(intent)
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

        record, intent = self._journal(
            record.key_id,
            destroyed,
            lambda record: self._event(actor, KeyAction.DESTROY, record, mode=mode),
        )
        self._backend.destroy_key(record.key_id)
        erased = self._deks.delete_key(record.key_id)
        self._record(intent, deks_erased=str(erased))
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

    # -- recovery --------------------------------------------------------------------------

    def reconcile(self, last: KeyEvent | None) -> list[KeyEvent]:
        """Record the events of key changes that committed without them (see the module doc).

        `last`: the last key-event the ledger holds. For each pending intent whose writer is
        gone: finish what the change owed the backend, record its event (detail `recovered`)
        unless `last` is that very event, and clear the intent. Intents of writers still at
        work are left to them. Returns the events recorded here."""
        now = self._clock()
        recorded = []
        for intent in self._registry.snapshot().pending:
            if not intent.orphaned(now):
                continue
            if not _is_recorded(intent, last):
                late = self._finish(intent)
                event = intent.event
                detail = {**event.detail, **late, "recovered": "true"}
                event = replace(event, detail=detail)
                self._events.emit(event)
                recorded.append(event)
            self._registry.clear(intent.revision)
        return recorded

    def _finish(self, intent: Intent) -> dict[str, str]:
        """Redo (idempotently) the backend steps that follow a change's registry write."""
        event = intent.event
        record = self._registry.load().get(event.key_id or "")
        if record is None:
            return {}
        if event.action is KeyAction.DESTROY:
            if event.version is None and record.state is KeyState.DESTROYED:
                with contextlib.suppress(UnknownKeyError):  # erased before the crash
                    self._backend.destroy_key(record.key_id)
                return {"deks_erased": str(self._deks.delete_key(record.key_id))}
            found = record.version(event.version or 0)
            if found is not None and found.state is VersionState.DESTROYED:
                with contextlib.suppress(UnknownKeyError):
                    self._backend.destroy_versions(record.key_id, [found.version])
                self._deks.delete_key(record.key_id, frozenset({found.version}))
        elif event.action in _RESTRICTING and record.state is not KeyState.DESTROYED:
            self._mirror_restrictions(record)
        return {}

    # -- subjects --------------------------------------------------------------------------

    def shred_subject(self, key_id: str, subject_scope: str, *, actor: str) -> KeyRecord:
        _require(self._registry.load(), key_id)
        now = self._clock()
        erased = self._deks.delete_scope(key_id, subject_scope, erased_at=now)
        record, intent = self._journal(
            key_id,
            lambda record: replace(record, shred_epoch=record.shred_epoch + 1, updated_at=now),
            # The event names the HMAC'd scope, never the subject identifier itself.
            lambda record: self._event(
                actor,
                KeyAction.SHRED_SUBJECT,
                record,
                scope=subject_scope,
                deks_erased=str(len(erased)),
            ),
        )
        self._record(intent)
        return record

    # -- rekey epochs (sumun.keys.epoch) ------------------------------------------------------

    def end_epoch(
        self,
        key_id: str,
        primary: int,
        versions: frozenset[int],
        *,
        actor: str,
        rewrapped: int,
    ) -> tuple[KeyRecord, tuple[int, ...]]:
        """Destroy `versions`, all older than `primary`, each as `destroy_now --version` does
        (event `destroy`, mode `rekey`), then record the rekey (event `rekey`); return the record
        and the versions destroyed here. MUST be called only once no DEK is wrapped under them:
        one found there now was wrapped after the rekey's last pass, and goes with its version."""
        if any(v >= primary for v in versions):
            raise ValueError("a rekey destroys only versions older than the primary")
        now = self._clock()
        destroyed: list[int] = []
        erased = 0
        for number in sorted(versions):

            def retire(record: KeyRecord, number: int = number) -> KeyRecord:
                found = record.version(number)
                if found is None or found.state is VersionState.DESTROYED:
                    raise UnknownKeyError(f"key {key_id!r} has no live version {number}")
                record = record.with_version(replace(found, state=VersionState.DESTROYED))
                return replace(record, updated_at=now)

            def event(record: KeyRecord, number: int = number) -> KeyEvent:
                return self._event(actor, KeyAction.DESTROY, record, number, mode="rekey")

            try:
                _, intent = self._journal(key_id, retire, event)
            except UnknownKeyError:
                continue  # destroyed meanwhile (another node's rekey of the same key)
            self._backend.destroy_versions(key_id, [number])
            erased += self._deks.delete_key(key_id, frozenset({number}))
            self._record(intent)
            destroyed.append(number)

        def counted(record: KeyRecord) -> KeyRecord:
            found = record.version(primary)
            if found is not None:  # the rewraps count toward the version's AEAD limit
                record = record.with_version(replace(found, wraps=found.wraps + rewrapped))
            return replace(record, updated_at=now)

        record, intent = self._journal(
            key_id,
            counted,
            lambda record: self._event(
                actor,
                KeyAction.REKEY,
                record,
                primary,
                rewrapped=str(rewrapped),
                destroyed=",".join(map(str, destroyed)),
                deks_erased=str(erased),
            ),
        )
        self._record(intent)
        return record, tuple(destroyed)
