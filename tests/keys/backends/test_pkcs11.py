"""The PKCS#11 backend against a real SoftHSM2 token (see tests/fixtures/softhsm.py).

PKCS#11 login state belongs to the process, so each test opens at most one logged-in backend
and closes it; tests of failed logins open none.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag
from pkcs11 import exceptions as p11
from pkcs11.types import Session, WrapMixin

from sumun.errors import (
    BackendUnavailableError,
    ConfigError,
    DecryptionError,
    KeyStateError,
    UnknownKeyError,
    UsageError,
)
from sumun.keys.backends.base import check_backend
from sumun.keys.backends.pkcs11 import Pkcs11Backend
from tests.fixtures.softhsm import SoftHsmToken

pytestmark = pytest.mark.softhsm

DEK = bytes(range(32))
AAD = b"sumun/test/aad"


def new_key_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def backend(softhsm_token: SoftHsmToken) -> Iterator[Pkcs11Backend]:
    b = Pkcs11Backend(softhsm_token.config(), softhsm_token.pin)
    yield b
    b.close()


@pytest.fixture
def key_id(backend: Pkcs11Backend) -> str:
    kid = new_key_id()
    backend.create_version(kid, 1)
    return kid


@pytest.fixture
def raw_session(backend: Pkcs11Backend, softhsm_token: SoftHsmToken) -> Iterator[Session]:
    """A second, *unauthenticated* session: it sees private objects because the backend's
    login is process-wide, and closing it does not log the backend out."""
    lib = pkcs11.lib(softhsm_token.module)
    with lib.get_token(token_label=softhsm_token.label).open(rw=True) as session:
        yield session


def test_implements_protocol(backend: Pkcs11Backend) -> None:
    assert check_backend(backend) is backend
    assert backend.name == "pkcs11"
    backend.check()


def test_describe_is_non_secret(backend: Pkcs11Backend, softhsm_token: SoftHsmToken) -> None:
    facts = backend.describe()
    assert facts["module"] == softhsm_token.module
    assert facts["token_label"] == "sumun-test"
    assert facts["token_serial"]
    assert softhsm_token.pin not in repr(facts)


def test_round_trip(backend: Pkcs11Backend, key_id: str) -> None:
    blob = backend.wrap(key_id, 1, DEK, AAD)
    # Format 1: 0x01 || 12-byte IV || ciphertext || 16-byte tag.
    assert blob[0] == 0x01
    assert len(blob) == 1 + 12 + len(DEK) + 16
    assert DEK not in blob
    assert backend.unwrap(key_id, 1, blob, AAD) == DEK
    assert backend.wrap(key_id, 1, DEK, AAD) != blob  # fresh random IV per wrap
    assert backend.unwrap(key_id, 1, backend.wrap(key_id, 1, DEK, b""), b"") == DEK


def test_aad_mismatch(backend: Pkcs11Backend, key_id: str) -> None:
    blob = backend.wrap(key_id, 1, DEK, AAD)
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap(key_id, 1, blob, AAD + b"x")
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap(key_id, 1, blob, b"")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b: bytes([0x02]) + b[1:], id="format-byte"),
        pytest.param(lambda b: b[:5] + bytes([b[5] ^ 1]) + b[6:], id="iv"),
        pytest.param(lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], id="ciphertext"),
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 0x80]), id="tag"),
        pytest.param(lambda b: b[:-1], id="truncated"),
        pytest.param(lambda b: b[: 1 + 12 + 16], id="shortened-to-minimum"),
        pytest.param(lambda b: b[:10], id="too-short"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b + b"\x00", id="extended"),
    ],
)
def test_tampered_blob(backend: Pkcs11Backend, key_id: str, tamper: object) -> None:
    assert callable(tamper)
    blob = tamper(backend.wrap(key_id, 1, DEK, AAD))
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap(key_id, 1, blob, AAD)
    backend.check()  # a bad blob says nothing about the token's health


def test_versions_are_separate_keys(backend: Pkcs11Backend, key_id: str) -> None:
    backend.create_version(key_id, 2)
    blob1 = backend.wrap(key_id, 1, DEK, AAD)
    blob2 = backend.wrap(key_id, 2, DEK, AAD)
    assert backend.unwrap(key_id, 1, blob1, AAD) == DEK
    assert backend.unwrap(key_id, 2, blob2, AAD) == DEK
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap(key_id, 2, blob1, AAD)
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap(key_id, 1, blob2, AAD)


def test_blob_of_another_key_does_not_unwrap(backend: Pkcs11Backend, key_id: str) -> None:
    other = new_key_id()
    backend.create_version(other, 1)
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap(other, 1, backend.wrap(key_id, 1, DEK, AAD), AAD)


def test_create_version_twice_is_refused(backend: Pkcs11Backend, key_id: str) -> None:
    blob = backend.wrap(key_id, 1, DEK, AAD)
    with pytest.raises(KeyStateError, match=rf"KEK {key_id} v1 already exists"):
        backend.create_version(key_id, 1)
    assert backend.unwrap(key_id, 1, blob, AAD) == DEK  # the original is untouched


def test_unknown_key_and_version(backend: Pkcs11Backend, key_id: str) -> None:
    with pytest.raises(UnknownKeyError, match=rf"no KEK {key_id} v2"):
        backend.wrap(key_id, 2, DEK, AAD)
    blob = backend.wrap(key_id, 1, DEK, AAD)
    with pytest.raises(UnknownKeyError, match="no KEK t-missing v1"):
        backend.unwrap("t-missing", 1, blob, AAD)


@pytest.mark.parametrize(
    ("key_id", "version", "message"),
    [
        ("Bad:Id", 1, "invalid key id"),
        ("", 1, "invalid key id"),
        ("ok", 0, "invalid KEK version"),
        ("ok", True, "invalid KEK version"),
    ],
)
def test_bad_arguments(backend: Pkcs11Backend, key_id: str, version: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        backend.create_version(key_id, version)
    with pytest.raises(UsageError, match=message):
        backend.wrap(key_id, version, DEK, AAD)


def test_kek_serves_aes_gcm_only(backend: Pkcs11Backend, key_id: str, raw_session: Session) -> None:
    """A PIN holder cannot use a KEK with another mechanism (AES-ECB as an oracle; issue 19)."""
    kek = raw_session.get_key(label=f"sumun:{key_id}:v1")
    assert kek[Attribute.ALLOWED_MECHANISMS] == [Mechanism.AES_GCM]
    for mechanism in (Mechanism.AES_ECB, Mechanism.AES_CBC_PAD):
        with pytest.raises(p11.MechanismInvalid):
            kek.encrypt(
                b"\0" * 16,
                mechanism=mechanism,
                mechanism_param=b"\0" * 16 if mechanism is Mechanism.AES_CBC_PAD else None,
            )
    assert backend.unwrap(key_id, 1, backend.wrap(key_id, 1, DEK, AAD), AAD) == DEK


def test_kek_is_not_extractable(backend: Pkcs11Backend, key_id: str, raw_session: Session) -> None:
    kek = raw_session.get_key(label=f"sumun:{key_id}:v1")
    assert kek.key_type is KeyType.AES
    assert kek.key_length == 256
    assert kek.id == f"sumun:{key_id}".encode()
    attrs = kek.get_attributes(
        [
            Attribute.TOKEN,
            Attribute.PRIVATE,
            Attribute.SENSITIVE,
            Attribute.ALWAYS_SENSITIVE,
            Attribute.EXTRACTABLE,
            Attribute.NEVER_EXTRACTABLE,
            Attribute.LOCAL,
            Attribute.MODIFIABLE,
            Attribute.WRAP,
            Attribute.UNWRAP,
            Attribute.SIGN,
            Attribute.DERIVE,
        ]
    )
    assert attrs == {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.ALWAYS_SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.NEVER_EXTRACTABLE: True,
        Attribute.LOCAL: True,  # generated inside the token, never imported
        Attribute.MODIFIABLE: False,
        Attribute.WRAP: False,
        Attribute.UNWRAP: False,
        Attribute.SIGN: False,
        Attribute.DERIVE: False,
    }

    # The token refuses to hand out the value ...
    with pytest.raises(p11.AttributeSensitive):
        kek[Attribute.VALUE]
    # ... to wrap it out under a key we hold ...
    wrapper = raw_session.generate_key(
        KeyType.AES, 256, capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP
    )
    assert isinstance(wrapper, WrapMixin)
    with pytest.raises(p11.KeyUnextractable):
        wrapper.wrap_key(kek, mechanism=Mechanism.AES_KEY_WRAP)
    # ... and to loosen the attributes that guard it.
    for attribute, value in ((Attribute.EXTRACTABLE, True), (Attribute.SENSITIVE, False)):
        with pytest.raises(p11.PKCS11Error):
            kek[attribute] = value
    assert kek[Attribute.EXTRACTABLE] is False


def test_destroy_versions(backend: Pkcs11Backend, key_id: str, raw_session: Session) -> None:
    backend.create_version(key_id, 2)
    backend.create_version(key_id, 3)
    blobs = {v: backend.wrap(key_id, v, DEK, AAD) for v in (1, 2, 3)}

    backend.destroy_versions(key_id, [1, 3])

    for v in (1, 3):
        with pytest.raises(UnknownKeyError, match=rf"no KEK {key_id} v{v}"):
            backend.unwrap(key_id, v, blobs[v], AAD)
        with pytest.raises(UnknownKeyError, match=rf"no KEK {key_id} v{v}"):
            backend.wrap(key_id, v, DEK, AAD)
        with pytest.raises(p11.NoSuchKey):
            raw_session.get_key(label=f"sumun:{key_id}:v{v}")
    assert backend.unwrap(key_id, 2, blobs[2], AAD) == DEK
    backend.destroy_versions(key_id, [1])  # idempotent: a retried shred completes


def test_destroy_key(backend: Pkcs11Backend, key_id: str, raw_session: Session) -> None:
    backend.create_version(key_id, 2)
    # Shares a prefix with key_id: must survive destroy_key(key_id).
    neighbour = f"{key_id}-2"
    backend.create_version(neighbour, 1)
    blobs = {v: backend.wrap(key_id, v, DEK, AAD) for v in (1, 2)}
    neighbour_blob = backend.wrap(neighbour, 1, DEK, AAD)

    backend.destroy_key(key_id)

    for v in (1, 2):
        with pytest.raises(UnknownKeyError, match=rf"no KEK {key_id} v{v}"):
            backend.unwrap(key_id, v, blobs[v], AAD)
    assert list(raw_session.get_objects({Attribute.ID: f"sumun:{key_id}".encode()})) == []
    assert backend.unwrap(neighbour, 1, neighbour_blob, AAD) == DEK
    backend.destroy_key(key_id)  # idempotent


_DESTROY_ELSEWHERE = """
import os, sys, pkcs11
token = pkcs11.lib(sys.argv[1]).get_token(token_label=sys.argv[2])
with token.open(rw=True, user_pin=os.environ["TEST_PIN"]) as session:
    session.get_key(label=sys.argv[3]).destroy()
"""


def test_shred_by_another_process_takes_effect_at_once(
    backend: Pkcs11Backend, key_id: str, softhsm_token: SoftHsmToken
) -> None:
    # The backend caches key handles; this shows a cached handle never outlives the key.
    blob = backend.wrap(key_id, 1, DEK, AAD)
    assert backend.unwrap(key_id, 1, blob, AAD) == DEK
    subprocess.run(
        [
            *(sys.executable, "-c", _DESTROY_ELSEWHERE),
            *(softhsm_token.module, softhsm_token.label, f"sumun:{key_id}:v1"),
        ],
        env={**os.environ, "TEST_PIN": softhsm_token.pin},
        check=True,
        timeout=60,
    )
    with pytest.raises(UnknownKeyError, match=rf"no KEK {key_id} v1"):
        backend.unwrap(key_id, 1, blob, AAD)
    with pytest.raises(UnknownKeyError, match=rf"no KEK {key_id} v1"):
        backend.wrap(key_id, 1, DEK, AAD)


def test_destroy_through_another_session(
    backend: Pkcs11Backend, key_id: str, raw_session: Session
) -> None:
    blob = backend.wrap(key_id, 1, DEK, AAD)
    raw_session.get_key(label=f"sumun:{key_id}:v1").destroy()
    with pytest.raises(UnknownKeyError, match=rf"no KEK {key_id} v1"):
        backend.unwrap(key_id, 1, blob, AAD)


def test_restrict_is_a_no_op(backend: Pkcs11Backend, key_id: str) -> None:
    blob = backend.wrap(key_id, 1, DEK, AAD)
    backend.restrict(key_id, frozenset({1}), 1)
    assert backend.unwrap(key_id, 1, blob, AAD) == DEK  # the registry, not the token, refuses


def test_wrong_pin(softhsm_token: SoftHsmToken) -> None:
    wrong = "9999-wrong-pin"
    with pytest.raises(BackendUnavailableError, match="the user PIN was rejected") as info:
        Pkcs11Backend(softhsm_token.config(pin_env="MY_HSM_PIN"), wrong)
    text = f"{info.value} {info.value!r} {info.value.advice}"
    assert "MY_HSM_PIN" in text  # tells the operator where the PIN came from
    assert wrong not in text
    assert softhsm_token.pin not in text
    # The token still accepts the right PIN afterwards.
    Pkcs11Backend(softhsm_token.config(), softhsm_token.pin).close()


def test_empty_pin(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(ConfigError, match=r"no PKCS#11 user PIN.*SUMUN_PKCS11_PIN"):
        Pkcs11Backend(softhsm_token.config(), "")


def test_second_login_in_one_process_is_refused(
    backend: Pkcs11Backend, softhsm_token: SoftHsmToken
) -> None:
    with pytest.raises(BackendUnavailableError, match="already logged in to PKCS#11 token"):
        Pkcs11Backend(softhsm_token.config(), softhsm_token.pin)
    backend.check()  # the first backend is unaffected


def test_wrong_token_label(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(
        ConfigError,
        match=r"no PKCS#11 token labelled 'no-such-token'.*tokens present: 'sumun-test'",
    ):
        Pkcs11Backend(softhsm_token.config(token_label="no-such-token"), softhsm_token.pin)


def test_missing_module(softhsm_token: SoftHsmToken, tmp_path: Path) -> None:
    path = str(tmp_path / "libnothere.so")
    with pytest.raises(ConfigError, match=r"PKCS#11 module not found: .*libnothere\.so"):
        Pkcs11Backend(softhsm_token.config(module=path), softhsm_token.pin)


def test_module_that_does_not_load(softhsm_token: SoftHsmToken, tmp_path: Path) -> None:
    junk = tmp_path / "libjunk.so"
    junk.write_bytes(b"not an ELF file")
    with pytest.raises(ConfigError, match=r"cannot load PKCS#11 module .*libjunk\.so"):
        Pkcs11Backend(softhsm_token.config(module=str(junk)), softhsm_token.pin)


def test_concurrent_wraps(backend: Pkcs11Backend, key_id: str) -> None:
    backend.create_version(key_id, 2)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(25):
                version = 1 + (n + i) % 2
                dek = bytes([n, i]) * 16
                aad = f"{n}/{i}".encode()
                blob = backend.wrap(key_id, version, dek, aad)
                assert backend.unwrap(key_id, version, blob, aad) == dek
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    backend.check()


def test_slow_token_fails_closed(softhsm_token: SoftHsmToken) -> None:
    backend = Pkcs11Backend(softhsm_token.config(timeout=0.2), softhsm_token.pin)
    try:
        kid = new_key_id()
        backend.create_version(kid, 1)
        blob = backend.wrap(kid, 1, DEK, AAD)
        release = threading.Event()
        # Stand in for an HSM that hangs: occupy the token thread (white-box on purpose).
        with pytest.raises(BackendUnavailableError, match=r"did not hang within 0\.2s"):
            backend._call("hang", lambda: release.wait(10))
        # While the stuck call is out, everything fails fast instead of queueing behind it.
        began = time.monotonic()
        with pytest.raises(BackendUnavailableError, match="still not answered"):
            backend.unwrap(kid, 1, blob, AAD)
        with pytest.raises(BackendUnavailableError, match="still not answered"):
            backend.check()
        assert time.monotonic() - began < 0.2
        release.set()
        deadline = time.monotonic() + 5
        while True:  # the backend recovers once the token answers again
            try:
                assert backend.unwrap(kid, 1, blob, AAD) == DEK
                break
            except BackendUnavailableError:
                assert time.monotonic() < deadline
                time.sleep(0.01)
        backend.destroy_key(kid)
    finally:
        backend.close()


def test_closed_backend(softhsm_token: SoftHsmToken) -> None:
    backend = Pkcs11Backend(softhsm_token.config(), softhsm_token.pin)
    backend.close()
    backend.close()  # idempotent
    with pytest.raises(BackendUnavailableError, match="backend is closed"):
        backend.check()
    with pytest.raises(BackendUnavailableError, match="backend is closed"):
        backend.wrap("whatever", 1, DEK, AAD)
    assert "closed" in repr(backend)


def test_no_secrets_in_repr(
    backend: Pkcs11Backend, key_id: str, softhsm_token: SoftHsmToken
) -> None:
    blob = backend.wrap(key_id, 1, DEK, AAD)
    backend.unwrap(key_id, 1, blob, AAD)
    for text in (repr(backend), str(backend), repr(backend.describe())):
        assert softhsm_token.pin not in text
        assert DEK.hex() not in text
        assert repr(DEK) not in text
    assert "sumun-test" in repr(backend)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(backend)
