"""PKCS#11 KEK backend: tenant KEKs live in an HSM token and never leave it.

Each KEK version is an AES-256 secret key generated *inside* the token as a private token object
that is sensitive, never extractable and not modifiable. Its label is
``sumun:<key_id>:v<version>`` (how wrap/unwrap find it) and its CKA_ID is ``sumun:<key_id>``
(how `destroy_key` finds every version at once). Key ids cannot contain ``:``, so both are
unambiguous.

A DEK is wrapped by encrypting it inside the token with CKM_AES_GCM. Wrapped blob, format 1::

    0x01 || iv (12 random bytes) || ciphertext || tag (16 bytes)

`aad` is the GCM additional data; it is bound but not stored. The IV comes from `os.urandom`:
random 96-bit IVs are safe for 2**32 wraps per KEK version; the registry rotates well before.

Every token call runs on one daemon thread owned by the backend, because python-pkcs11 sessions
must not be used by two threads at once, python-pkcs11 initialises the module with
``C_Initialize(NULL)`` (which lets the module assume one caller at a time), and a call stuck in
the HSM cannot be interrupted: the caller gives up after ``config.timeout`` and fails closed
with BackendUnavailableError, and later calls fail fast until the stuck one returns.

PKCS#11 login state belongs to the process, not the session: a second logged-in backend on the
same token in one process is refused, and `close` logs the whole process out of the token.
"""

from __future__ import annotations

import os
import queue
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.attributes import ATTRIBUTE_TYPES
from pkcs11.mechanisms import GCMParams
from pkcs11.types import DecryptMixin, EncryptMixin, Key, Session

from sumun.config import Pkcs11Config
from sumun.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    DecryptionError,
    KeyStateError,
    UnknownKeyError,
    UsageError,
)
from sumun.keys.model import validate_key_id

__all__ = ["BLOB_FORMAT", "Pkcs11Backend"]

BLOB_FORMAT: Final = 0x01
_IV_LEN: Final = 12
_TAG_LEN: Final = 16
_LABEL_PREFIX: Final = "sumun:"


def _pack_mechanisms(mechanisms: Sequence[Mechanism]) -> bytes:
    return struct.pack(f"{len(mechanisms)}L", *(int(m) for m in mechanisms))  # CK_ULONG[]


def _unpack_mechanisms(raw: bytes) -> list[Mechanism]:
    return [Mechanism(v) for v in struct.unpack(f"{len(raw) // struct.calcsize('L')}L", raw)]


# python-pkcs11 names CKA_ALLOWED_MECHANISMS but cannot pack it: teach it, once, at import
# (a registry the library keeps for exactly this; nothing else of ours is global).
ATTRIBUTE_TYPES.setdefault(Attribute.ALLOWED_MECHANISMS, (_pack_mechanisms, _unpack_mechanisms))

# Attributes of every KEK version. MODIFIABLE=False also stops anyone from adding capabilities
# (e.g. CKA_WRAP) to the key later; SENSITIVE / EXTRACTABLE can only tighten per the spec.
# ALLOWED_MECHANISMS: AES-GCM only — a PIN holder cannot use the KEK with AES-ECB or CBC as an
# oracle (issue 19; CKA_ALLOWED_MECHANISMS, PKCS#11 v2.40 §4.4).
_KEK_TEMPLATE: Final[Mapping[Attribute, Any]] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.MODIFIABLE: False,
    Attribute.ALLOWED_MECHANISMS: (Mechanism.AES_GCM,),
}

# Errors that mean "the token or our session is gone", as opposed to "this request was wrong".
_UNAVAILABLE: Final = (
    p11.DeviceError,
    p11.DeviceMemory,
    p11.DeviceRemoved,
    p11.FunctionCancelled,
    p11.HostMemory,
    p11.SessionClosed,
    p11.SessionCount,
    p11.SessionHandleInvalid,
    p11.TokenNotPresent,
    p11.TokenNotRecognised,
    p11.UserNotLoggedIn,
)

# What tokens answer when a GCM tag does not verify. SoftHSM2 says CKR_GENERAL_ERROR, which a
# sick token also says, so unwrap follows these with a health probe before blaming the blob.
_NOT_AUTHENTIC: Final = (
    p11.DataInvalid,
    p11.DataLenRange,
    p11.EncryptedDataInvalid,
    p11.EncryptedDataLenRange,
    p11.FunctionFailed,
    p11.GeneralError,
)

_T = TypeVar("_T")


class _TokenThread:
    """The one thread that talks to the token. Daemon, so a hung HSM cannot block exit."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], _T]) -> Future[_T]:
        future: Future[_T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn()
            except BaseException as exc:  # the caller re-raises it; the thread must live on
                future.set_exception(exc)
            else:
                future.set_result(result)

        self._jobs.put(job)
        return future

    def stop(self) -> None:
        """Exit after the jobs already queued (including one that is stuck) have run."""
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


def _label(key_id: str, version: int) -> str:
    validate_key_id(key_id)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UsageError(f"invalid KEK version {version!r}: versions are integers from 1")
    return f"{_LABEL_PREFIX}{key_id}:v{version}"


def _key_ckaid(key_id: str) -> bytes:
    return f"{_LABEL_PREFIX}{validate_key_id(key_id)}".encode()


def _reason(exc: p11.PKCS11Error) -> str:
    # python-pkcs11 messages hold at most return codes and search templates (labels, ids);
    # we never pass the PIN or key values into either.
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _open_session(config: Pkcs11Config, pin: str) -> tuple[Session, dict[str, str]]:
    """Load the module, find the token, log in. Runs on the token thread."""
    module, label = config.module, config.token_label
    try:
        # python-pkcs11 caches modules by this exact string; loading the same module under
        # another spelling of its path would fail with CKR_CRYPTOKI_ALREADY_INITIALIZED.
        lib = pkcs11.lib(module)
    except p11.PKCS11Error as exc:
        raise ConfigError(
            f"cannot load PKCS#11 module {module}: {_reason(exc)}",
            advice="set keys.pkcs11.module to your HSM vendor's PKCS#11 library",
        ) from exc
    try:
        token = lib.get_token(token_label=label)
    except p11.NoSuchToken as exc:
        # Uninitialised slots (SoftHSM2 always keeps a free one) have an empty label.
        labels = sorted(t.label for t in lib.get_tokens() if t.label)
        present = ", ".join(map(repr, labels)) or "none"
        raise ConfigError(
            f"no PKCS#11 token labelled {label!r} in {module} (tokens present: {present})",
            advice="set keys.pkcs11.token_label, or initialise the token with the vendor tool",
        ) from exc
    except p11.MultipleTokensReturned as exc:
        raise ConfigError(
            f"more than one PKCS#11 token is labelled {label!r} in {module}",
            advice="give the Sumun token a unique label",
        ) from exc
    check_pin = f"check the user PIN in the environment variable {config.pin_env}"
    try:
        session = token.open(rw=True, user_pin=pin)
    except p11.PinIncorrect as exc:
        raise BackendUnavailableError(
            f"PKCS#11 login to token {label!r} failed: the user PIN was rejected",
            advice=f"{check_pin}; repeated failures can lock the token",
        ) from exc
    except (p11.PinInvalid, p11.PinLenRange) as exc:
        raise BackendUnavailableError(
            f"PKCS#11 login to token {label!r} failed: the token refuses the PIN's format",
            advice=check_pin,
        ) from exc
    except p11.PinLocked as exc:
        raise BackendUnavailableError(
            f"PKCS#11 login to token {label!r} failed: the user PIN is locked",
            advice="unlock or reset it with the security officer PIN",
        ) from exc
    except p11.PinExpired as exc:
        raise BackendUnavailableError(
            f"PKCS#11 login to token {label!r} failed: the user PIN has expired",
            advice="set a new user PIN with the vendor tool",
        ) from exc
    except p11.UserPinNotInitialized as exc:
        raise ConfigError(
            f"PKCS#11 token {label!r} has no user PIN yet",
            advice="initialise the user PIN with the vendor tool",
        ) from exc
    except p11.UserAlreadyLoggedIn as exc:
        # Login is per process: another session here already holds it, and closing that one
        # would log this one out too. The token also never checked this PIN.
        raise BackendUnavailableError(
            f"this process is already logged in to PKCS#11 token {label!r}",
            advice="use a single PKCS#11 backend per token per process; close the other one",
        ) from exc
    except (p11.TokenWriteProtected, p11.SessionReadOnly) as exc:
        raise ConfigError(
            f"PKCS#11 token {label!r} is write-protected; Sumun needs a read/write session",
        ) from exc
    facts = {
        "backend": "pkcs11",
        "module": module,
        "token_label": label,
        "token_serial": token.serial.decode("ascii", "replace").strip(),
        "token_manufacturer": token.manufacturer_id,
        "token_model": token.model,
    }
    return session, facts


def _close_quietly(future: Future[tuple[Session, dict[str, str]]]) -> None:
    """Close a session whose open outlived the constructor's timeout (runs on the token thread)."""
    if future.cancelled() or future.exception() is not None:
        return
    with suppress(p11.PKCS11Error):  # an error here means nothing is left to release
        future.result()[0].close()


class Pkcs11Backend:
    """KEKs in a PKCS#11 token (an HSM, or SoftHSM2 for tests). See the module docstring."""

    __slots__ = (
        "_closed",
        "_config",
        "_facts",
        "_handles",
        "_lock",
        "_session",
        "_stuck",
        "_worker",
    )

    def __init__(self, config: Pkcs11Config, pin: str) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._closed = False
        self._stuck: Future[Any] | None = None
        self._handles: dict[str, Key] = {}  # label -> key; used on the token thread only
        if not pin:
            raise ConfigError(
                "no PKCS#11 user PIN was given",
                advice=f"set the environment variable {config.pin_env}",
            )
        if not Path(config.module).is_file():
            raise ConfigError(
                f"PKCS#11 module not found: {config.module}",
                advice="set keys.pkcs11.module to your HSM vendor's PKCS#11 library "
                "(SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so)",
            )
        self._worker = _TokenThread(name=f"sumun-pkcs11-{config.token_label}")
        opening = self._worker.submit(lambda: _open_session(config, pin))
        try:
            self._session, self._facts = self._result(opening, "open a session")
        except BaseException:
            opening.add_done_callback(_close_quietly)
            self._closed = True
            self._worker.stop()
            raise

    # -- KekBackend --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "pkcs11"

    def check(self) -> None:
        self._call("check", self._require_login)

    def describe(self) -> Mapping[str, str]:
        # Gathered at login, so status output works even while the token is unreachable.
        return dict(self._facts)

    def create_version(self, key_id: str, version: int) -> None:
        label = _label(key_id, version)
        ckaid = _key_ckaid(key_id)

        def create() -> None:
            self._require_login()  # a logged-out search would miss an existing version
            session = self._session
            if self._find_all(label):
                raise KeyStateError(f"KEK {key_id} v{version} already exists on the token")
            key = session.generate_key(
                KeyType.AES,
                256,
                id=ckaid,
                label=label,
                store=True,
                capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                template=dict(_KEK_TEMPLATE),
            )
            # PKCS#11 has no unique labels: if another process raced us, undo ours and refuse
            # rather than leave two keys that wrap under one name.
            if len(self._find_all(label)) > 1:
                key.destroy()
                raise KeyStateError(f"KEK {key_id} v{version} was created concurrently")

        self._call("create a KEK version", create)

    def wrap(self, key_id: str, version: int, dek: bytes, aad: bytes) -> bytes:
        """AES-GCM inside the token; returns ``0x01 || iv || ciphertext || tag``."""
        label = _label(key_id, version)
        iv = os.urandom(_IV_LEN)
        params = GCMParams(iv, bytes(aad), _TAG_LEN * 8)
        plaintext = bytes(dek)

        def encrypt() -> bytes:
            key = self._find(label, key_id, version)
            if not isinstance(key, EncryptMixin):
                raise KeyStateError(f"KEK {key_id} v{version} on the token cannot encrypt")
            try:
                out = key.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=params)
            except (p11.ObjectHandleInvalid, p11.KeyHandleInvalid) as exc:
                raise UnknownKeyError(f"KEK {key_id} v{version} was just destroyed") from exc
            if not isinstance(out, bytes) or len(out) != len(plaintext) + _TAG_LEN:
                raise BackendError("PKCS#11 AES-GCM returned an unexpected ciphertext length")
            return out

        return bytes([BLOB_FORMAT]) + iv + self._call("wrap", encrypt)

    def unwrap(self, key_id: str, version: int, blob: bytes, aad: bytes) -> bytes:
        label = _label(key_id, version)
        if len(blob) < 1 + _IV_LEN + _TAG_LEN or blob[0] != BLOB_FORMAT:
            raise DecryptionError()
        params = GCMParams(bytes(blob[1 : 1 + _IV_LEN]), bytes(aad), _TAG_LEN * 8)
        ciphertext = bytes(blob[1 + _IV_LEN :])

        def decrypt() -> bytes:
            key = self._find(label, key_id, version)
            if not isinstance(key, DecryptMixin):
                raise KeyStateError(f"KEK {key_id} v{version} on the token cannot decrypt")
            try:
                out = key.decrypt(ciphertext, mechanism=Mechanism.AES_GCM, mechanism_param=params)
            except (p11.ObjectHandleInvalid, p11.KeyHandleInvalid) as exc:
                raise UnknownKeyError(f"KEK {key_id} v{version} was just destroyed") from exc
            except _NOT_AUTHENTIC:
                self._probe_health("unwrap")
                # Opaque on purpose: the token's return code must not become an oracle.
                raise DecryptionError() from None
            if not isinstance(out, bytes):
                raise BackendError("PKCS#11 AES-GCM returned an unexpected plaintext")
            return out

        return self._call("unwrap", decrypt)

    def restrict(self, key_id: str, disabled_versions: frozenset[int], latest: int) -> None:
        """Nothing to do: PKCS#11 cannot express "disabled", so the registry enforces it alone."""

    def destroy_versions(self, key_id: str, versions: Sequence[int]) -> None:
        labels = [_label(key_id, v) for v in versions]

        def destroy() -> None:
            self._require_login()  # a logged-out search finds nothing: a silent non-shred
            for label in labels:
                self._handles.pop(label, None)
                self._destroy_all(partial(self._find_all, label))

        self._call("destroy KEK versions", destroy)

    def destroy_key(self, key_id: str) -> None:
        ckaid = _key_ckaid(key_id)
        prefix = f"{_LABEL_PREFIX}{key_id}:v"

        def versions_of_key() -> list[Key]:
            found = self._session.get_objects(
                {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.ID: ckaid}
            )
            return [k for k in found if isinstance(k, Key) and k.label.startswith(prefix)]

        def destroy() -> None:
            self._require_login()
            for stale in [label for label in self._handles if label.startswith(prefix)]:
                del self._handles[stale]
            self._destroy_all(versions_of_key)

        self._call("destroy a KEK", destroy)

    def close(self) -> None:
        """Close the session (which also logs this process out of the token). Idempotent."""
        locked = self._lock.acquire(timeout=self._config.timeout)
        try:
            if self._closed:
                return
            self._closed = True
            # Queued behind any call still running, so a stuck call cannot race the close.
            closing = self._worker.submit(self._session.close)
            self._worker.stop()
        finally:
            if locked:
                self._lock.release()
        # Errors are dropped: a session the token already forgot needs no releasing.
        wait([closing], timeout=self._config.timeout)

    # -- secrets hygiene ---------------------------------------------------------------------

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<Pkcs11Backend token={self._config.token_label!r} "
            f"module={self._config.module!r} {state}>"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Pkcs11Backend holds a live HSM session and cannot be pickled")

    # -- token thread ------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], _T]) -> _T:
        """Run `fn` on the token thread within the timeout; translate library errors."""
        timeout = self._config.timeout
        if not self._lock.acquire(timeout=timeout):
            raise BackendUnavailableError(
                f"PKCS#11 token {self._config.token_label!r} is busy: could not {what} "
                f"within {timeout:g}s"
            )
        try:
            if self._closed:
                raise BackendUnavailableError("the PKCS#11 backend is closed")
            if self._stuck is not None:
                if not self._stuck.done():
                    raise BackendUnavailableError(
                        f"PKCS#11 token {self._config.token_label!r} has still not answered a "
                        f"call that exceeded {timeout:g}s"
                    )
                self._stuck = None
            return self._result(self._worker.submit(fn), what)
        finally:
            self._lock.release()

    def _result(self, future: Future[_T], what: str) -> _T:
        label, timeout = self._config.token_label, self._config.timeout
        if not wait([future], timeout=timeout).done:
            self._stuck = future
            raise BackendUnavailableError(
                f"PKCS#11 token {label!r} did not {what} within {timeout:g}s"
            )
        try:
            return future.result()
        except p11.PKCS11Error as exc:
            if isinstance(exc, _UNAVAILABLE):
                raise BackendUnavailableError(
                    f"PKCS#11 token {label!r} could not {what}: {_reason(exc)}"
                ) from exc
            raise BackendError(f"PKCS#11 token {label!r} failed to {what}: {_reason(exc)}") from exc

    # The helpers below run on the token thread only.

    def _find_all(self, label: str) -> list[Key]:
        found = self._session.get_objects(
            {
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: KeyType.AES,
                Attribute.LABEL: label,
            }
        )
        return [k for k in found if isinstance(k, Key)]

    def _find(self, label: str, key_id: str, version: int) -> Key:
        # Handles are cached because a search costs O(objects on the token): ~14 µs per object
        # on SoftHSM2 (7 ms with 500 keys), and several round trips on a network HSM. A cached
        # handle is re-read on every use, so a version shredded by another process stops working
        # here at once, and a handle the token recycled for another object is not trusted.
        cached = self._handles.get(label)
        if cached is not None:
            with suppress(p11.ObjectHandleInvalid, p11.KeyHandleInvalid):
                seen = cached.get_attributes([Attribute.CLASS, Attribute.LABEL])
                if seen == {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}:
                    return cached
            del self._handles[label]
        keys = self._find_all(label)
        if len(keys) > 1:
            raise KeyStateError(
                f"{len(keys)} objects on the token are labelled {label!r}; refusing to guess"
            )
        if not keys:
            self._require_login()  # a logged-out session cannot see private keys either
            raise UnknownKeyError(f"no KEK {key_id} v{version} on the PKCS#11 token")
        self._handles[label] = keys[0]
        return keys[0]

    def _destroy_all(self, find: Callable[[], list[Key]]) -> None:
        for key in find():
            with suppress(p11.ObjectHandleInvalid):  # destroyed meanwhile: the goal is met
                key.destroy()
        if find():
            raise BackendError("KEK material is still on the token after C_DestroyObject")

    def _require_login(self) -> None:
        """Cheap proof that the session is alive *and* logged in as the user.

        Only a logged-in session may create a private object; a throwaway session key (never
        stored on the token) proves it without touching tenant keys.
        """
        try:
            probe = self._session.generate_key(
                KeyType.AES,
                256,
                store=False,
                capabilities=MechanismFlag(0),
                template={Attribute.TOKEN: False, Attribute.PRIVATE: True},
            )
        except p11.UserNotLoggedIn as exc:
            raise BackendUnavailableError(
                f"the session on PKCS#11 token {self._config.token_label!r} is no longer logged in",
                advice="restart Sumun so it logs in again",
            ) from exc
        probe.destroy()

    def _probe_health(self, what: str) -> None:
        try:
            self._session.generate_random(64)
        except p11.PKCS11Error as exc:
            raise BackendUnavailableError(
                f"PKCS#11 token {self._config.token_label!r} failed during {what}: {_reason(exc)}"
            ) from exc
