"""OpenBao is reached over TLS except on loopback (issue 19): wrapped and unwrapped DEKs and the
token cross that connection. No server is needed: the address is refused at construction."""

from __future__ import annotations

import pytest

from sumun.config import OpenBaoConfig
from sumun.errors import ConfigError
from sumun.keys.backends.openbao import OpenBaoBackend


@pytest.mark.parametrize(
    "address", ["http://10.0.0.5:8200", "http://openbao.internal:8200", "http://[2001:db8::1]:8200"]
)
def test_plain_http_to_another_host_is_refused(address: str) -> None:
    with pytest.raises(ConfigError, match="plain http to another host"):
        OpenBaoBackend(OpenBaoConfig(address=address), "token")


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8200",
        "http://127.8.9.10:8200",
        "http://localhost:8200",
        "http://[::1]:8200",
        "https://openbao.internal:8200",
    ],
)
def test_loopback_http_and_any_https_are_accepted(address: str) -> None:
    backend = OpenBaoBackend(OpenBaoConfig(address=address, ca_cert_file=None), "token")
    backend.close()


def test_a_pinned_ca_is_what_the_client_verifies_against(tmp_path: object) -> None:
    config = OpenBaoConfig(address="https://openbao.internal:8200", ca_cert_file="/etc/ca.pem")
    backend = OpenBaoBackend(config, "token")
    try:
        assert backend._client.session.verify == "/etc/ca.pem"
    finally:
        backend.close()
