"""External keys on OpenBao Transit (a dev server): AES-256-GCM with associated data, the
common story, and a server that goes away."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sumun.config import OpenBaoConfig
from sumun.xks.errors import DependencyTimeoutError, InternalError
from tests.fixtures.openbao import OpenBaoServer
from tests.fixtures.tcp_proxy import TcpProxy
from tests.keys.conftest import make_settings
from tests.xks.keyring_support import (
    KEYSTORE,
    await_,
    deployment,
    make_deployment,
    test_aad_length_rule_and_tampering_fail_as_invalid_ciphertext,
    test_deep_health_uses_its_own_test_key,
    test_destroy_makes_the_data_unreadable_for_good,
    test_disable_elsewhere_stops_both_operations_within_the_bound,
    test_encrypt_on_one_node_decrypt_on_another,
    test_key_usage_and_keystore_binding,
    test_rotation_keeps_old_ciphertexts_and_metadata_names_the_version,
    test_sealed_sumun_answers_invalid_state,
)

__all__ = [
    "deployment",
    "test_aad_length_rule_and_tampering_fail_as_invalid_ciphertext",
    "test_deep_health_uses_its_own_test_key",
    "test_destroy_makes_the_data_unreadable_for_good",
    "test_disable_elsewhere_stops_both_operations_within_the_bound",
    "test_encrypt_on_one_node_decrypt_on_another",
    "test_key_usage_and_keystore_binding",
    "test_rotation_keeps_old_ciphertexts_and_metadata_names_the_version",
    "test_sealed_sumun_answers_invalid_state",
]

BACKEND = "openbao"


def test_a_server_that_goes_away_fails_closed_and_comes_back(
    openbao_server: OpenBaoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = urlsplit(openbao_server.address)
    proxy = TcpProxy((str(target.hostname), int(target.port or 8200)))
    monkeypatch.setenv("SUMUN_OPENBAO_TOKEN", openbao_server.token)
    bao = OpenBaoConfig(
        address=f"http://127.0.0.1:{proxy.port}",
        key_prefix=f"xks-down-{secrets.token_hex(4)}-",
        timeout=0.5,
    )
    try:
        with make_deployment(make_settings(tmp_path / "home", backend="openbao", openbao=bao)) as d:
            node = d.nodes[0]
            node.manager().create_key(KEYSTORE, "down", "both")
            node.live.reload()
            sealed = await_(node.keyring.encrypt(KEYSTORE, "down", b"dk", None))
            assert await_(node.keyring.health()).status == "ACTIVE"
            proxy.down()
            for call in (
                node.keyring.encrypt(KEYSTORE, "down", b"dk", None),
                node.keyring.decrypt(KEYSTORE, "down", sealed, None),
            ):
                with pytest.raises((DependencyTimeoutError, InternalError)):
                    await_(call)
            node.keyring._health = None  # the cached answer's minute is up
            assert await_(node.keyring.health()).status == "UNAVAILABLE"
            proxy.up()
            assert await_(node.keyring.decrypt(KEYSTORE, "down", sealed, None)) == b"dk"
    finally:
        proxy.close()
