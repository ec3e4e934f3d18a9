"""sumun.xks.tls: the listener's TLS as a client sees it — versions, suites, mutual TLS."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sumun.config import XksConfig
from sumun.errors import ConfigError
from sumun.xks.app import xks_app
from sumun.xks.tls import client_common_name, server_context, subject_checked
from tests.xks.support import KMS_CN, Pki, client_context, seams, serve

pytestmark = pytest.mark.timeout(60)


def _app() -> Starlette:
    keyring, creds, audit = seams()
    return xks_app(keyring, creds, audit, XksConfig())


def handshake(port: int, ctx: ssl.SSLContext) -> tuple[str, str]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


def lb_health(port: int, ctx: ssl.SSLContext) -> int:
    with httpx.Client(verify=ctx, timeout=5) as client:
        return client.get(f"https://localhost:{port}/healthz").status_code


@pytest.fixture
def plain(pki: Pki) -> Iterator[int]:
    with serve(_app(), server_context(pki.server_cert, pki.server_key)) as port:
        yield port


def test_tls13_prefers_aes_256_gcm(plain: int, pki: Pki) -> None:
    assert handshake(plain, client_context(pki)) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")


def test_tls12_negotiates_the_spec_suite(plain: int, pki: Pki) -> None:
    ctx = client_context(pki, tls=ssl.TLSVersion.TLSv1_2)
    assert handshake(plain, ctx) == ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")


def test_tls12_with_an_rsa_certificate(pki: Pki) -> None:
    with serve(_app(), server_context(pki.rsa_cert, pki.rsa_key)) as port:
        ctx = client_context(pki, tls=ssl.TLSVersion.TLSv1_2)
        assert handshake(port, ctx) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")


@pytest.mark.parametrize(
    "ciphers",
    ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "AES256-GCM-SHA384"],
)
def test_tls12_refuses_other_suites(plain: int, pki: Pki, ciphers: str) -> None:
    ctx = client_context(pki, tls=ssl.TLSVersion.TLSv1_2, ciphers=ciphers)
    with pytest.raises(ssl.SSLError):
        handshake(plain, ctx)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls11_is_refused(plain: int, pki: Pki) -> None:
    ctx = client_context(pki)
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError):
        handshake(plain, ctx)


def test_alpn_is_http_1_1(plain: int, pki: Pki) -> None:
    ctx = client_context(pki)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", plain), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == "http/1.1"


# -- mutual TLS -------------------------------------------------------------------------------


@pytest.fixture
def mtls(pki: Pki) -> Iterator[int]:
    ctx = server_context(pki.server_cert, pki.server_key, pki.client_ca)
    protocol = subject_checked(HttpToolsProtocol, KMS_CN)
    with serve(_app(), ctx, http=protocol) as port:
        yield port


def _refused(port: int, ctx: ssl.SSLContext) -> None:
    with pytest.raises((ssl.SSLError, httpx.HTTPError, ConnectionError)):
        lb_health(port, ctx)


def test_mtls_accepts_the_configured_client(mtls: int, pki: Pki) -> None:
    assert lb_health(mtls, client_context(pki, (pki.kms_cert, pki.kms_key))) == 200


def test_mtls_refuses_no_certificate(mtls: int, pki: Pki) -> None:
    _refused(mtls, client_context(pki))


def test_mtls_refuses_another_ca(mtls: int, pki: Pki) -> None:
    _refused(mtls, client_context(pki, (pki.rogue_cert, pki.rogue_key)))


def test_mtls_refuses_another_subject(mtls: int, pki: Pki) -> None:
    _refused(mtls, client_context(pki, (pki.other_cn_cert, pki.other_cn_key)))
    # …over TLS 1.2 too
    _refused(
        mtls, client_context(pki, (pki.other_cn_cert, pki.other_cn_key), tls=ssl.TLSVersion.TLSv1_2)
    )
    assert (
        lb_health(
            mtls, client_context(pki, (pki.kms_cert, pki.kms_key), tls=ssl.TLSVersion.TLSv1_2)
        )
        == 200
    )


def test_mtls_without_subject_check_accepts_any_client_of_the_ca(pki: Pki) -> None:
    ctx = server_context(pki.server_cert, pki.server_key, pki.client_ca)
    with serve(_app(), ctx) as port:
        assert lb_health(port, client_context(pki, (pki.other_cn_cert, pki.other_cn_key))) == 200
        _refused(port, client_context(pki, (pki.rogue_cert, pki.rogue_key)))


def test_common_name_extraction() -> None:
    assert client_common_name({"subject": ((("commonName", KMS_CN),),)}) == KMS_CN
    assert client_common_name({"subject": ((("commonName", "a"),), (("commonName", "b"),))}) is None
    assert client_common_name(None) is None
    assert client_common_name({}) is None


def test_bad_files_are_config_errors(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not load"):
        server_context(tmp_path / "missing.crt", pki.server_key)
    with pytest.raises(ConfigError, match="does not load"):
        server_context(pki.server_cert, pki.rsa_key)  # key of another certificate
    with pytest.raises(ConfigError, match="client CA"):
        server_context(pki.server_cert, pki.server_key, tmp_path / "none.pem")
