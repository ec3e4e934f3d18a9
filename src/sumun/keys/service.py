"""KeyService: the key layer as one object with a sealed / unsealed state.

Sealed is a first-class state: every data or lifecycle call on a sealed service raises
`SealedError` (the gateway maps it to 503), and `status()` answers without keys. Unsealing
rebuilds the master key from shares or a passphrase, then opens the backend, the registry,
the DEK store and the data path. Sealing wipes the master key and drops every cached DEK.

Opening checks the registry against the ledger before anything else: a registry older than the
revision named by the ledger's last key-event was restored from an older copy and is refused
(`KeystoreRollbackError`); then key changes that committed without their key-event (a crash
in between) get it now (`KeyLifecycle.reconcile`). Init, unseal and seal events name the
registry revision too, so the ledger's last key-event always carries the freshest one known.

    documents (sumun.store.documents: files in SUMUN_HOME, or the shared control store)
      home.json              how the MK is sealed; deployment backend and suite
      keystore/keys.json     key registry (MAC'd with an MK subkey)
      keystore/embedded-keks.json   KEK material, embedded backend only
    wrapped DEKs             keystore/deks.db, or the control store's `deks` table
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sumun.config import Settings
from sumun.errors import (
    BackendError,
    ConfigError,
    KeyStateError,
    SealedError,
    SumunError,
)
from sumun.keys import registry as registry_mod
from sumun.keys import seal
from sumun.keys.backends.base import KekBackend, check_backend
from sumun.keys.dataplane import Envelopes
from sumun.keys.dek_store import DekStore
from sumun.keys.envelope import Context
from sumun.keys.epoch import Rekeyer
from sumun.keys.events import EventSink
from sumun.keys.lifecycle import KeyLifecycle
from sumun.keys.model import REVISION_DETAIL, KeyAction, KeyEvent, KeyRecord
from sumun.keys.registry import Registry
from sumun.keys.secret import MasterKey
from sumun.store.control import Control, open_control
from sumun.store.documents import Documents

__all__ = ["KeyService", "KeyStatus", "deployment_settings", "make_backend"]


@dataclass(frozen=True, slots=True)
class KeyStatus:
    initialised: bool
    sealed: bool
    method: str | None = None
    threshold: int | None = None
    custodians: int | None = None
    backend: str | None = None
    suite: str | None = None
    backend_ok: bool | None = None
    backend_error: str | None = None
    backend_facts: dict[str, str] = field(default_factory=dict)
    keys: tuple[KeyRecord, ...] = ()
    verified: bool = False  # False while sealed: the key list is read without its MAC check

    def to_json(self) -> dict[str, Any]:
        return {
            "initialised": self.initialised,
            "sealed": self.sealed,
            "method": self.method,
            "threshold": self.threshold,
            "custodians": self.custodians,
            "backend": self.backend,
            "suite": self.suite,
            "backend_ok": self.backend_ok,
            "backend_error": self.backend_error,
            "backend_facts": self.backend_facts,
            "keys": [k.to_json() for k in self.keys],
            "verified": self.verified,
        }


def deployment_settings(settings: Settings, seal_info: seal.SealInfo) -> Settings:
    """These settings with the key backend and suite recorded at `sumun init` (home.json).

    The backend is fixed at init: later commands need not repeat `SUMUN_KEYS_BACKEND` (nor the
    suite), so where the configuration (sumun.yaml, environment) does not choose them, the
    recorded ones are used. A configuration that explicitly names another backend is refused
    with a ConfigError saying which one the deployment uses.
    """
    keys = settings.keys
    chosen = keys.model_fields_set
    if "backend" in chosen and keys.backend != seal_info.backend:
        where = f"keys.backend in {settings.config_file}" if settings.config_file else None
        said = " or ".join(filter(None, ["SUMUN_KEYS_BACKEND", where]))
        raise ConfigError(
            f"this deployment was initialised with the {seal_info.backend} key backend, "
            f"but {said} says {keys.backend}",
            advice=f"set it to {seal_info.backend}, or remove it: the backend recorded at "
            "`sumun init` is used",
        )
    update: dict[str, Any] = {}
    if keys.backend != seal_info.backend:
        update["backend"] = seal_info.backend
    if "suite" not in chosen and keys.suite is not seal_info.suite:
        update["suite"] = seal_info.suite
    if not update:
        return settings
    return settings.model_copy(update={"keys": keys.model_copy(update=update)})


def make_backend(settings: Settings, seal_info: seal.SealInfo, master_key: MasterKey) -> KekBackend:
    """Build the deployment's backend: the one recorded at `sumun init` time."""
    settings = deployment_settings(settings, seal_info)
    kind = seal_info.backend
    if kind == "embedded":
        from sumun.keys.backends.embedded import EmbeddedBackend

        control = open_control(settings)  # the home's file, or the store every node shares
        return check_backend(
            EmbeddedBackend(control.documents, master_key, seal_info.suite, closer=control.close)
        )
    if kind == "pkcs11":
        from sumun.keys.backends.pkcs11 import Pkcs11Backend

        pin = settings.secret_from_env(settings.keys.pkcs11.pin_env)
        if pin is None:
            raise ConfigError(f"set {settings.keys.pkcs11.pin_env} to the token's user PIN")
        return check_backend(Pkcs11Backend(settings.keys.pkcs11, pin))
    if kind == "openbao":
        from sumun.keys.backends.openbao import OpenBaoBackend

        token = settings.secret_from_env(settings.keys.openbao.token_env)
        if token is None:
            raise ConfigError(f"set {settings.keys.openbao.token_env} to an OpenBao token")
        return check_backend(OpenBaoBackend(settings.keys.openbao, token))
    raise ConfigError(f"unknown key backend {kind!r}")


def _default_actor() -> str:
    try:
        return f"{os.getlogin()}@local"
    except OSError:
        return f"uid:{os.getuid()}@local"


@dataclass
class _Open:
    master_key: MasterKey
    backend: KekBackend
    registry: Registry
    store: DekStore
    lifecycle: KeyLifecycle
    envelopes: Envelopes


class KeyService:
    def __init__(
        self,
        settings: Settings,
        *,
        events: EventSink,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[int], bytes] = os.urandom,
        backend_factory: Callable[[Settings, seal.SealInfo, MasterKey], KekBackend] = make_backend,
        control: Control | None = None,
    ) -> None:
        self.settings = settings
        self.home = settings.home
        self._control = open_control(settings) if control is None else control
        self._events = events  # the ledger in production (sumun.runtime); tests pass their own
        self._clock = clock
        self._monotonic = monotonic
        self._rng = rng
        self._backend_factory = backend_factory
        self._lock = threading.RLock()
        self._open: _Open | None = None
        self._progress: seal.UnsealProgress | None = None
        self._on_seal: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<KeyService {self.home} {'sealed' if self.sealed else 'unsealed'}>"

    # -- state -----------------------------------------------------------------------------

    @property
    def documents(self) -> Documents:
        """Where the seal record, the registry and the embedded KEKs live."""
        return self._control.documents

    @property
    def initialised(self) -> bool:
        return seal.is_initialised(self.documents)

    @property
    def sealed(self) -> bool:
        return self._open is None

    def seal_info(self) -> seal.SealInfo:
        return seal.read_seal_info(self.documents)

    def _require_open(self) -> _Open:
        opened = self._open
        if opened is None:
            raise SealedError("Sumun is sealed: keys are not available")
        return opened

    def status(self, *, check_backend: bool = True) -> KeyStatus:
        if not self.initialised:
            return KeyStatus(initialised=False, sealed=True)
        info = self.seal_info()
        base: dict[str, Any] = {
            "initialised": True,
            "method": info.method,
            "threshold": info.threshold,
            "custodians": info.custodians,
            "backend": info.backend,
            "suite": info.suite.value,
        }
        opened = self._open
        if opened is None:
            keys = registry_mod.read_unverified(self.documents)
            return KeyStatus(sealed=True, keys=tuple(keys.values()), **base)
        ok, error = True, None
        if check_backend:
            try:
                opened.backend.check()
            except SumunError as exc:
                ok, error = False, str(exc)
        return KeyStatus(
            sealed=False,
            backend_ok=ok,
            backend_error=error,
            backend_facts=dict(opened.backend.describe()),
            keys=tuple(opened.registry.load().values()),
            verified=True,
            **base,
        )

    # -- init / unseal / seal --------------------------------------------------------------

    def initialise(
        self,
        *,
        custodians: int | None = None,
        threshold: int | None = None,
        passphrase: str | None = None,
        actor: str | None = None,
        **kwargs: Any,
    ) -> seal.InitResult:
        result = seal.initialise(
            self.home if not self._control.shared else self.documents,
            backend=self.settings.keys.backend,
            suite=self.settings.keys.suite,
            custodians=custodians,
            threshold=threshold,
            passphrase=passphrase,
            rng=self._rng,
            clock=self._clock,
            **kwargs,
        )
        self._emit(actor, KeyAction.INIT, 0, method=result.info.method)
        return result

    def _emit(self, actor: str | None, action: KeyAction, revision: int, **detail: str) -> None:
        self._events.emit(
            KeyEvent(
                time=self._clock(),
                actor=actor or _default_actor(),
                action=action,
                backend=self.settings.keys.backend,
                detail={**detail, REVISION_DETAIL: str(revision)},
            )
        )

    def unseal_with(self, master_key: MasterKey, *, actor: str | None = None) -> None:
        """Open the key layer with a verified master key (from seal.unseal_* or init)."""
        with self._lock:
            if self._open is not None:
                master_key.wipe()
                return
            info = self.seal_info()
            try:
                self.settings = deployment_settings(self.settings, info)
                backend = self._backend_factory(self.settings, info, master_key)
            except BaseException:
                master_key.wipe()
                raise
            try:
                registry = Registry(self.documents, master_key, clock=self._clock)
                last = self._events.last_event()
                registry.require_at_least(None if last is None else last.registry_revision)
                store = DekStore(self._control.dek_database())
                envelopes: Envelopes | None = None

                def on_change(record: KeyRecord) -> None:
                    if envelopes is not None:
                        envelopes.apply_change(record)

                lifecycle = KeyLifecycle(
                    registry=registry,
                    backend=backend,
                    dek_store=store,
                    events=self._events,
                    seal_info=info,
                    config=self.settings.keys,
                    on_change=on_change,
                    clock=self._clock,
                )
                envelopes = Envelopes(
                    registry=registry,
                    backend=backend,
                    dek_store=store,
                    master_key=master_key,
                    config=self.settings.keys,
                    count_wrap=lifecycle.count_wrap,
                    clock=self._clock,
                    monotonic=self._monotonic,
                    rng=self._rng,
                )
                lifecycle.reconcile(last)
                lifecycle.purge_due()
            except BaseException:
                backend.close()
                master_key.wipe()
                raise
            self._open = _Open(master_key, backend, registry, store, lifecycle, envelopes)
            self._progress = None
        self._emit(actor, KeyAction.UNSEAL, registry.revision)

    def unseal(
        self, *, shares: Sequence[str] = (), passphrase: str | None = None, actor: str | None = None
    ) -> tuple[seal.BadShare, ...]:
        """Unseal. Returns the offered shares found wrong while a quorum of the others unsealed
        (`seal.recover_with_shares`): the caller MUST tell the operator, who asks those
        custodians to check their shares."""
        info = self.seal_info()
        if info.method == "passphrase":
            if passphrase is None:
                raise SealedError("this deployment is sealed with a passphrase; give it to unseal")
            self.unseal_with(seal.unseal_with_passphrase(info, passphrase), actor=actor)
            return ()
        recovered = seal.recover_with_shares(info, shares)
        self.unseal_with(recovered.master_key, actor=actor)
        return recovered.bad_shares

    def submit_share(self, share: str, *, actor: str | None = None) -> tuple[int, int]:
        """Vault-style: custodians submit shares one at a time. Returns (collected, threshold)."""
        receipt = self.offer_share(share, actor=actor)
        return receipt.collected, receipt.threshold

    def offer_share(self, share: str, *, actor: str | None = None) -> seal.ShareReceipt:
        """`submit_share`, also naming the shares found wrong when the quorum unsealed."""
        with self._lock:
            if self._open is not None:
                info = self.seal_info()
                return seal.ShareReceipt(info.threshold, info.threshold)
            if self._progress is None:
                self._progress = seal.UnsealProgress(self.seal_info())
            progress = self._progress
            master_key = progress.add(share)
            if master_key is None:
                return seal.ShareReceipt(progress.collected, progress.threshold)
            self.unseal_with(master_key, actor=actor)
            return seal.ShareReceipt(progress.threshold, progress.threshold, progress.bad_shares)

    def unseal_progress(self) -> int | None:
        """Shares collected so far towards the quorum while sealed (None: no unseal under way)."""
        with self._lock:
            progress = self._progress
            return None if progress is None or self._open is not None else progress.collected

    def seal(self, *, actor: str | None = None) -> None:
        """Forget every key: the DEK caches and the backend's ciphers are dropped (OpenSSL
        cleanses their contexts as they are freed), then the master key is zeroed with every
        subkey derived from it (`sumun.keys.secret` says what cannot be)."""
        with self._lock:
            opened, self._open = self._open, None
            self._progress = None
            if opened is None:
                return
            opened.envelopes.forget()
            opened.backend.close()
            opened.store.close()
            opened.master_key.wipe()
            for forget in self._on_seal:  # what others hold that was opened with these keys
                forget()
        self._emit(actor, KeyAction.SEAL, opened.registry.revision)

    def on_seal(self, forget: Callable[[], None]) -> None:
        """Call `forget` at every seal, under the same lock: for a holder of secrets opened with
        the keys (the ledger's signing keys), so sealing clears those too."""
        self._on_seal.append(forget)

    close = seal

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def lifecycle(self) -> KeyLifecycle:
        return self._require_open().lifecycle

    @property
    def envelopes(self) -> Envelopes:
        return self._require_open().envelopes

    @property
    def backend(self) -> KekBackend:
        """The open KEK backend, for AES-GCM with a key's own version (`sumun.xks.keyring`):
        the caller MUST check the key's state first (`current`). SealedError while sealed."""
        return self._require_open().backend

    def current(self, key_id: str) -> KeyRecord | None:
        """`key_id`'s record as the data path sees it (refreshed within the revocation bound,
        no I/O otherwise); SealedError while sealed."""
        return self._require_open().envelopes.record(key_id)

    def list_keys(self) -> list[KeyRecord]:
        return list(self._require_open().registry.load().values())

    def get_key(self, key_id: str) -> KeyRecord | None:
        return self._require_open().registry.load().get(key_id)

    def ensure_key(
        self, key_id: str, *, tenant: str, actor: str, wait_seconds: float = 5.0
    ) -> None:
        """Make sure `key_id` exists: create it, or — when another process or node created it
        at the same moment and this create was refused — wait (bounded) until its record is
        visible. Either way this process's data path sees it at once afterwards."""
        if self.get_key(key_id) is None:
            try:
                self.lifecycle.create(key_id, actor=actor, tenant=tenant)
            except KeyStateError:
                deadline = self._monotonic() + wait_seconds
                while self.get_key(key_id) is None:
                    if self._monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        self.refresh(force=True)

    def shred_subject(self, key_id: str, subject: str, *, actor: str) -> KeyRecord:
        opened = self._require_open()
        scope = opened.envelopes.subject_scope(key_id, subject)
        return opened.lifecycle.shred_subject(key_id, scope, actor=actor)

    def rekeyer(
        self, *, sleep: Callable[[float], None] = time.sleep, batch_size: int = 500
    ) -> Rekeyer:
        """Rekey epochs for this deployment's keys (`sumun.keys.epoch`); SealedError if sealed."""
        opened = self._require_open()
        return Rekeyer(
            lifecycle=opened.lifecycle,
            registry=opened.registry,
            backend=opened.backend,
            dek_store=opened.store,
            config=self.settings.keys,
            clock=self._clock,
            sleep=sleep,
            batch_size=batch_size,
        )

    # -- data ------------------------------------------------------------------------------

    def encrypt(
        self, key_id: str, plaintext: bytes, context: Context, *, subject: str | None = None
    ) -> bytes:
        return self._require_open().envelopes.encrypt(key_id, plaintext, context, subject=subject)

    def decrypt(self, blob: bytes, context: Context) -> bytes:
        return self._require_open().envelopes.decrypt(blob, context)

    def refresh(self, force: bool = False) -> None:
        """Re-read the key registry if it changed (`force`: now); no-op while sealed."""
        opened = self._open
        if opened is not None:
            opened.envelopes.refresh(force=force)

    def backend_error(self) -> BackendError | None:
        try:
            self._require_open().backend.check()
        except BackendError as exc:
            return exc
        return None
