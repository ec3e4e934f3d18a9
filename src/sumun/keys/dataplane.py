"""The data path: envelope encryption and decryption with cached DEKs.

Hot path, kept small: one dict lookup for the active DEK, one counter increment for the
nonce, one AEAD call. The KEK backend is called only when a DEK is created (once per key ×
scope × window per process) or first needed for decryption after its cache entry expired.

Nonce reuse is impossible by construction: a DEK is used for encryption only by the process
that created it (never reloaded for encryption), and its nonce is a 96-bit counter under a
lock. After `dek_max_records` encryptions, or when its window or cache TTL ends, a DEK is
retired and a new one created.

Revocation: every `refresh_interval` (≤ the revocation TTL, default 5 s) the registry file is
re-checked; keys or versions no longer usable are dropped from both caches, so a disable,
destroy or subject shred done by another process takes effect here within that bound.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256

from sumun.config import KeysConfig
from sumun.crypto.hazmat.aead import KEY_SIZE, NONCE_SIZE, AeadCipher, Suite, new_cipher
from sumun.errors import (
    DecryptionError,
    ErasedError,
    KeyDestroyedError,
    KeyDisabledError,
    KeyStateError,
    UnknownKeyError,
)
from sumun.keys import envelope
from sumun.keys.backends.base import KekBackend
from sumun.keys.dek_store import DekRow, DekStore, wrap_aad
from sumun.keys.envelope import Context
from sumun.keys.model import KeyRecord, KeyState, VersionState
from sumun.keys.registry import Registry
from sumun.keys.secret import MasterKey

__all__ = ["BackendCallCounter", "Envelopes"]

_MAX_CACHED_DEKS = 50_000


_REFRESH_SECONDS = 0.2


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


@dataclass
class BackendCallCounter:
    wraps: int = 0
    unwraps: int = 0


@dataclass(slots=True)
class _ActiveDek:
    """A DEK this process created and encrypts with. Never shared, never reloaded."""

    dek_id: bytes
    key_id: str
    version: int
    cipher: AeadCipher
    header_prefix: bytes  # the envelope header up to (not including) the nonce
    expires: float
    limit: int
    counter: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_nonce(self) -> bytes:
        with self.lock:
            if self.counter >= self.limit:
                raise _ExhaustedError
            self.counter += 1
            return self.counter.to_bytes(NONCE_SIZE, "big")


@dataclass(frozen=True, slots=True)
class _CachedDek:
    key_id: str
    version: int
    suite: Suite
    cipher: AeadCipher
    expires: float


class _ExhaustedError(Exception):
    pass


class Envelopes:
    def __init__(
        self,
        *,
        registry: Registry,
        backend: KekBackend,
        dek_store: DekStore,
        master_key: MasterKey,
        config: KeysConfig,
        count_wrap: Callable[[str, int], KeyRecord],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._registry = registry
        self._backend = backend
        self._store = dek_store
        self._config = config
        self._count_wrap = count_wrap
        self._clock = clock
        self._monotonic = monotonic
        self._rng = rng
        self._subject_key = master_key.derive("sumun/subject-ref/v1")
        # A disable or destroy made in another process or node takes effect here within this
        # interval (a stat, or an integer compare against the control watcher's generation).
        self._refresh_interval = min(_REFRESH_SECONDS, config.revocation_ttl_seconds)
        self._lock = threading.RLock()
        self._active: dict[tuple[str, str], _ActiveDek] = {}
        self._cache: dict[bytes, _CachedDek] = {}
        self._records: dict[str, KeyRecord] = {}
        self._usable: dict[str, frozenset[int]] = {}
        self._stamp: object = None
        self._next_refresh = 0.0
        self.calls = BackendCallCounter()
        self.refresh(force=True)

    def __repr__(self) -> str:
        return f"<Envelopes {len(self._active)} active, {len(self._cache)} cached DEKs>"

    # -- revocation ------------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the registry if it changed; drop DEKs of keys no longer usable."""
        with self._lock:
            self._next_refresh = self._monotonic() + self._refresh_interval
            stamp = self._registry.stamp()
            if not force and stamp == self._stamp:
                return
            records = self._registry.load()
            self._stamp = stamp
            self._apply(records)

    def record(self, key_id: str) -> KeyRecord | None:
        """The key's record as this data path sees it now: re-read when the refresh interval
        is due (so a disable elsewhere is seen within the revocation bound), and at once for a
        key not seen yet. For callers that encrypt with the backend directly (`sumun.xks`)."""
        if self._monotonic() >= self._next_refresh:
            self.refresh()
        found = self._records.get(key_id)
        if found is None:
            self.refresh()
            found = self._records.get(key_id)
        return found

    def apply_change(self, record: KeyRecord) -> None:
        """Called by the lifecycle in this process: take effect now, not at the next refresh."""
        with self._lock:
            records = dict(self._records)
            records[record.key_id] = record
            self._apply(records)

    def _apply(self, records: dict[str, KeyRecord]) -> None:
        old = self._records
        self._records = records
        self._usable = {k: r.usable_versions() for k, r in records.items()}
        shredded = {
            key_id
            for key_id, record in records.items()
            if key_id in old and old[key_id].shred_epoch != record.shred_epoch
        }
        usable = self._usable
        self._drop(lambda k, v: k in shredded or v not in usable.get(k, frozenset()))

    def _drop(self, doomed: Callable[[str, int], bool]) -> None:
        for scope_key, active in list(self._active.items()):
            if doomed(active.key_id, active.version):
                del self._active[scope_key]
        for dek_id, cached in list(self._cache.items()):
            if doomed(cached.key_id, cached.version):
                del self._cache[dek_id]

    def _check_usable(self, key_id: str, version: int, *, reading: bool = False) -> None:
        """Raise unless `version` of `key_id` may be used now. `reading`: for a decryption,
        a key or version the registry records as destroyed is `ErasedError` (with the date
        when the registry has it: a destroyed key never changes again, so its `updated_at`
        is when it was destroyed)."""
        if self._monotonic() >= self._next_refresh:
            self.refresh()
        if version in self._usable.get(key_id, ()):
            return
        record = self._records.get(key_id)
        if record is None or record.version(version) is None:
            # Keys and versions made by another process appear at once (a cheap stat), not
            # after the refresh interval: that interval only bounds how long a revoked key lives.
            self.refresh()
            if version in self._usable.get(key_id, ()):
                return
            record = self._records.get(key_id)
        if record is None:
            raise UnknownKeyError(f"no key {key_id!r}")
        if record.state is KeyState.DESTROYED:
            if reading:
                raise ErasedError(
                    f"erased (crypto-shredded on {_utc(record.updated_at)}): "
                    f"key {key_id!r} was destroyed; this data is gone for good"
                )
            raise KeyDestroyedError(f"key {key_id!r} was destroyed; this data is gone for good")
        if record.state is KeyState.DISABLED:
            raise KeyDisabledError(f"key {key_id!r} is disabled")
        if record.state is KeyState.PENDING_DESTRUCTION:
            raise KeyStateError(
                f"key {key_id!r} is scheduled for destruction",
                advice="`sumun keys enable` cancels it",
            )
        found = record.version(version)
        if found is None:
            raise UnknownKeyError(f"key {key_id!r} has no version {version}")
        if found.state is VersionState.DESTROYED:
            if reading:
                raise ErasedError(
                    f"erased (crypto-shredded): key {key_id!r} version {version} was destroyed"
                )
            raise KeyDestroyedError(f"key {key_id!r} version {version} was destroyed")
        raise KeyDisabledError(f"key {key_id!r} version {version} is disabled")

    # -- scopes ----------------------------------------------------------------------------

    def subject_scope(self, key_id: str, subject: str) -> str:
        """The DEK scope of one data subject; an HMAC, so the store never holds the id."""
        # The key's own buffer, never a bytes copy: it is zeroed when the MK is (on seal).
        digest = hmac.new(self._subject_key.buffer, f"{key_id}\0{subject}".encode(), sha256)
        return "subject:" + digest.hexdigest()[:32]

    def _window_scope(self) -> tuple[str, float]:
        window = self._config.dek_window_seconds
        index = int(self._clock() // window)
        return f"window:{index}", (index + 1) * window

    # -- encrypt ---------------------------------------------------------------------------

    def encrypt(
        self, key_id: str, plaintext: bytes, context: Context, *, subject: str | None = None
    ) -> bytes:
        """Seal `plaintext` for `context` under the key's current primary version."""
        if subject is None:
            scope, window_end = self._window_scope()
        else:
            scope, window_end = self.subject_scope(key_id, subject), float("inf")
        aad_tail = context.encode()
        for _ in range(3):
            active = self._active.get((key_id, scope))
            now = self._monotonic()
            if active is None or active.expires <= now:
                active = self._new_active(key_id, scope, window_end)
            elif not self._still_active(key_id, scope, active):
                continue  # retired: shredded, or its version revoked or rekeyed away
            try:
                nonce = active.next_nonce()
            except _ExhaustedError:
                with self._lock:
                    if self._active.get((key_id, scope)) is active:
                        del self._active[(key_id, scope)]
                continue
            header = active.header_prefix + nonce
            return header + active.cipher.encrypt(nonce, plaintext, header + aad_tail)
        raise KeyStateError(f"could not obtain a usable DEK for key {key_id!r}")

    def _still_active(self, key_id: str, scope: str, active: _ActiveDek) -> bool:
        """Whether `active` may seal one more record. One whose version is no longer usable is
        retired, not refused: the next one comes from the primary (and `_new_active` refuses a
        key that is itself unusable), so a rekey that destroys an old version stops no writer."""
        if self._monotonic() >= self._next_refresh:
            self.refresh()
        with self._lock:
            if active.version not in self._usable.get(key_id, frozenset()):
                if self._active.get((key_id, scope)) is active:
                    del self._active[(key_id, scope)]
                return False
            return self._active.get((key_id, scope)) is active

    def _new_active(self, key_id: str, scope: str, window_end: float) -> _ActiveDek:
        with self._lock:
            self.refresh()
            record = self._records.get(key_id)
            if record is None:
                raise UnknownKeyError(
                    f"no key {key_id!r}", advice="create it with `sumun keys create`"
                )
            self._check_usable(key_id, record.primary)
            version = record.primary
            dek = self._rng(KEY_SIZE)
            dek_id = self._rng(16)
            wrapped = self._backend.wrap(
                key_id, version, dek, wrap_aad(dek_id, key_id, version, scope)
            )
            self.calls.wraps += 1
            self._store.put(
                DekRow(dek_id, key_id, version, scope, record.suite, wrapped, self._clock())
            )
            self.apply_change(self._count_wrap(key_id, version))
            cipher = new_cipher(record.suite, dek)
            ttl_end = self._monotonic() + self._config.dek_cache_ttl_seconds
            window_left = window_end - self._clock()
            active = _ActiveDek(
                dek_id=dek_id,
                key_id=key_id,
                version=version,
                cipher=cipher,
                header_prefix=envelope.encode_header(
                    record.suite, dek_id, version, key_id.encode("ascii"), b""
                ),
                expires=min(ttl_end, self._monotonic() + max(window_left, 0.0)),
                limit=min(self._config.dek_max_records, record.suite.max_invocations),
            )
            self._active[(key_id, scope)] = active
            self._remember(dek_id, _CachedDek(key_id, version, record.suite, cipher, ttl_end))
            return active

    def _remember(self, dek_id: bytes, cached: _CachedDek) -> None:
        if len(self._cache) >= _MAX_CACHED_DEKS:
            self._cache.pop(next(iter(self._cache)))
        self._cache[dek_id] = cached

    # -- decrypt ---------------------------------------------------------------------------

    def decrypt(self, blob: bytes, context: Context) -> bytes:
        """Open an envelope bound to `context`. DecryptionError if anything does not match."""
        header, end = envelope.parse(blob)
        if self._monotonic() >= self._next_refresh:
            self.refresh()  # drops cached DEKs of versions revoked meanwhile
        cached = self._cache.get(header.dek_id)
        if cached is None or cached.expires <= self._monotonic():
            cached = self._load(header)
        else:
            self._check_usable(cached.key_id, cached.version, reading=True)
        if cached.suite is not header.suite or cached.key_id != header.key_id:
            raise DecryptionError()
        return cached.cipher.decrypt(header.nonce, blob[end:], blob[:end] + context.encode())

    def _load(self, header: envelope.Header) -> _CachedDek:
        row = self._store.get(header.dek_id)
        if row is None:
            # Shredded subject, destroyed version, or a DEK id that never existed: opaque, but
            # a destroyed or disabled key or version says so.
            self._check_usable(header.key_id, header.kek_version, reading=True)
            raise DecryptionError()
        if row.erased and row.key_id == header.key_id:
            # A shredded subject's tombstone (dek_store): our own record of the erasure.
            self._check_usable(row.key_id, header.kek_version, reading=True)
            raise ErasedError(
                f"erased (crypto-shredded on {_utc(row.created_at)}): this record's data "
                f"subject was shredded under key {row.key_id!r}"
            )
        # The header names the version the DEK was first wrapped under; a rekey epoch
        # (sumun.keys.epoch) may since have rewrapped it under a newer one, never an older one.
        # Revocation applies to the version that wraps it now.
        if row.key_id != header.key_id or row.kek_version < header.kek_version:
            raise DecryptionError()
        self._check_usable(row.key_id, row.kek_version, reading=True)
        dek = self._backend.unwrap(
            row.key_id,
            row.kek_version,
            row.wrapped,
            wrap_aad(row.dek_id, row.key_id, row.kek_version, row.scope),
        )
        with self._lock:
            self.calls.unwraps += 1
            cached = _CachedDek(
                row.key_id,
                row.kek_version,
                row.suite,
                new_cipher(row.suite, dek),
                self._monotonic() + self._config.dek_cache_ttl_seconds,
            )
            self._remember(row.dek_id, cached)
        return cached

    def forget(self) -> None:
        """Drop every cached DEK (on seal): their ciphers are freed, and OpenSSL cleanses each
        context as it goes. The DEK `bytes` that keyed them cannot be zeroed (`keys.secret`)."""
        with self._lock:
            self._active.clear()
            self._cache.clear()
