"""The XKS API end to end: real TLS on loopback, requests signed by botocore and by curl.

Every operation and every error row of the spec's table that this proxy can produce is
driven through a real uvicorn server with the in-memory seams (tests/xks/support.py).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from sumun.config import XksConfig
from sumun.xks.app import xks_app
from sumun.xks.authz import XksRules
from sumun.xks.errors import DependencyTimeoutError, InternalError
from sumun.xks.tls import server_context
from tests.xks.support import (
    AKID_1,
    AKID_2,
    PREFIX,
    REGION,
    SECRET_1,
    SECRET_2,
    FakeAudit,
    FakeCredentials,
    FakeKeyring,
    Pki,
    b64,
    client_context,
    decrypt_body,
    encrypt_body,
    request_metadata,
    seams,
    serve,
    sign,
)

pytestmark = pytest.mark.timeout(60)


@dataclass
class Proxy:
    base: str
    client: httpx.Client
    keyring: FakeKeyring
    creds: FakeCredentials
    audit: FakeAudit
    state: dict[str, Any] = field(default_factory=dict)

    def url(self, op: str, key: str = "key-both", prefix: str = PREFIX) -> str:
        tail = "health" if op == "health" else f"keys/{key}/{op}"
        return f"{self.base}{prefix}/kms/xks/v1/{tail}"

    def post(self, url: str, body: object, **signing: Any) -> httpx.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = sign(url, data, **signing)
        return self.client.post(url, content=data, headers=headers)

    def call(
        self, op: str, body: object, *, key: str = "key-both", **signing: Any
    ) -> httpx.Response:
        return self.post(self.url(op, key), body, **signing)


@pytest.fixture
def proxy(pki: Pki) -> Iterator[Proxy]:
    keyring, creds, audit = seams()
    state: dict[str, Any] = {"offset": 0.0, "rules": XksRules()}
    conf = XksConfig(region=REGION, dependency_timeout_seconds=0.3, requests_per_second=None)
    state["conf"] = conf
    app = xks_app(
        keyring,
        creds,
        audit,
        conf,
        rules=lambda: state["rules"],
        clock=lambda: time.time() + state["offset"],
    )
    ctx = server_context(pki.server_cert, pki.server_key)
    with serve(app, ctx) as port, httpx.Client(verify=client_context(pki), timeout=10) as client:
        yield Proxy(f"https://localhost:{port}", client, keyring, creds, audit, state)


def error_of(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    message = body.get("errorMessage", "")
    assert len(message) < 512 and all(" " <= ch <= "~" for ch in message)
    return response.status_code, body["errorName"]


# -- every operation --------------------------------------------------------------------------


def test_round_trip_with_aad_and_cdiv(proxy: Proxy) -> None:
    aad = b"project=nile,department=marketing"
    r = proxy.call(
        "encrypt",
        encrypt_body(b"Hello World!", aad, ciphertextDataIntegrityValueAlgorithm="SHA_256"),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    enc = r.json()
    assert len(base64.b64decode(enc["ciphertext"])) == 12
    assert len(base64.b64decode(enc["initializationVector"])) == 12
    assert len(base64.b64decode(enc["authenticationTag"])) == 16
    import hashlib

    parts = [
        aad,
        *(
            base64.b64decode(enc[f])
            for f in (
                "ciphertextMetadata",
                "initializationVector",
                "ciphertext",
                "authenticationTag",
            )
        ),
    ]
    assert (
        base64.b64decode(enc["ciphertextDataIntegrityValue"])
        == hashlib.sha256(b"".join(parts)).digest()
    )
    d = proxy.call("decrypt", decrypt_body(enc, aad))
    assert d.status_code == 200, d.text
    assert d.json() == {"plaintext": b64(b"Hello World!")}
    ops = [(c.operation, c.outcome) for c in proxy.audit.calls]
    assert ops == [("Encrypt", "ok"), ("Decrypt", "ok")]
    recorded = proxy.audit.calls[1]
    assert recorded.access_key_id == AKID_1 and recorded.keystore == "prod"
    assert recorded.metadata is not None and recorded.metadata.kms_operation == "Decrypt"
    recorded_text = repr(proxy.audit.calls)
    assert "Hello" not in recorded_text and b64(b"Hello World!") not in recorded_text


def test_get_key_metadata_for_each_usage(proxy: Proxy) -> None:
    meta = request_metadata("CreateKey")
    meta.pop("kmsKeyArn")
    expected = {
        "both": ["ENCRYPT", "DECRYPT"],
        "encrypt": ["ENCRYPT"],
        "decrypt": ["DECRYPT"],
        "none": [],
    }
    for usage, values in expected.items():
        r = proxy.call("metadata", {"requestMetadata": meta}, key=f"key-{usage}")
        assert r.status_code == 200, r.text
        assert r.json() == {"keySpec": "AES_256", "keyUsage": values, "keyStatus": "ENABLED"}
    proxy.keyring.keys[("prod", "key-both")].enabled = False
    r = proxy.call("metadata", {"requestMetadata": meta})
    assert r.json()["keyStatus"] == "DISABLED"


def test_get_health_status(proxy: Proxy) -> None:
    body = {"requestMetadata": {"kmsOperation": "KmsHealthCheck", "kmsRequestId": "h-1"}}
    r = proxy.call("health", body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["xksProxyFleetSize"] == 1 and out["xksProxyVendor"] == "Sumun"
    assert out["xksProxyModel"].startswith("Sumun XKS Proxy ")
    assert out["ekmFleetDetails"] == [
        {"id": "node-1", "model": "embedded", "healthStatus": "ACTIVE"}
    ]
    assert proxy.audit.calls[-1].operation == "GetHealthStatus"
    assert proxy.audit.calls[-1].metadata is not None
    assert proxy.audit.calls[-1].metadata.kms_request_id == "h-1"
    # a body it cannot read is not refused (ValidationException does not apply to health)
    assert proxy.call("health", b"{").status_code == 200


def test_root_prefix_and_sixteen_byte_iv(proxy: Proxy) -> None:
    proxy.keyring.iv_size = 16
    url = proxy.url("encrypt", prefix="")
    r = proxy.post(url, encrypt_body())
    assert r.status_code == 200, r.text
    assert len(base64.b64decode(r.json()["initializationVector"])) == 16
    d = proxy.post(proxy.url("decrypt", prefix=""), decrypt_body(r.json()))
    assert d.json()["plaintext"] == b64(b"k" * 32)


# -- the AAD-length rule ----------------------------------------------------------------------


def test_metadata_passed_as_aad_does_not_decrypt(proxy: Proxy) -> None:
    enc = proxy.call("encrypt", encrypt_body()).json()
    assert "ciphertextMetadata" in enc
    moved = decrypt_body(enc, base64.b64decode(enc["ciphertextMetadata"]), ciphertextMetadata=None)
    r = proxy.call("decrypt", moved)
    assert error_of(r) == (400, "InvalidCiphertextException")
    changed = decrypt_body(enc, ciphertextMetadata=b64(bytes([1, 9])))
    assert error_of(proxy.call("decrypt", changed)) == (400, "InvalidCiphertextException")
    wrong_aad = decrypt_body(enc, b"other")
    assert error_of(proxy.call("decrypt", wrong_aad)) == (400, "InvalidCiphertextException")
    assert proxy.audit.calls[-1].outcome == "InvalidCiphertextException"


# -- the error table --------------------------------------------------------------------------


def test_validation_exception(proxy: Proxy) -> None:
    assert error_of(proxy.call("encrypt", b"{not json")) == (400, "ValidationException")
    assert error_of(proxy.call("encrypt", b"\xff\xfe")) == (400, "ValidationException")
    bad = encrypt_body()
    bad["plaintext"] = "SGVsbG8gV29ybGQ"
    assert error_of(proxy.call("encrypt", bad)) == (400, "ValidationException")
    assert error_of(proxy.call("encrypt", encrypt_body(encryptionAlgorithm="AES_CBC"))) == (
        400,
        "ValidationException",
    )
    # authenticated, so recorded, with the metadata the body still carried
    assert proxy.audit.calls[-1].outcome == "ValidationException"
    assert proxy.audit.calls[-1].metadata is not None


def test_invalid_state_key_not_found_and_key_usage(proxy: Proxy) -> None:
    proxy.keyring.keys[("prod", "key-both")].enabled = False
    assert error_of(proxy.call("encrypt", encrypt_body())) == (400, "InvalidStateException")
    assert error_of(proxy.call("encrypt", encrypt_body(), key="no-such-key")) == (
        404,
        "KeyNotFoundException",
    )
    assert error_of(proxy.call("encrypt", encrypt_body(), key="key-decrypt")) == (
        400,
        "InvalidKeyUsageException",
    )
    enc = proxy.call("encrypt", encrypt_body(), key="key-encrypt").json()
    assert error_of(proxy.call("decrypt", decrypt_body(enc), key="key-encrypt")) == (
        400,
        "InvalidKeyUsageException",
    )
    proxy.keyring.sealed = True
    assert error_of(proxy.call("decrypt", decrypt_body(enc), key="key-both")) == (
        400,
        "InvalidStateException",
    )
    assert error_of(proxy.call("health", {})) == (400, "InvalidStateException")


def test_invalid_ciphertext_shapes(proxy: Proxy) -> None:
    enc = proxy.call("encrypt", encrypt_body()).json()
    short_iv = decrypt_body(enc, initializationVector=b64(b"i" * 8))
    assert error_of(proxy.call("decrypt", short_iv)) == (400, "InvalidCiphertextException")
    short_tag = decrypt_body(enc, authenticationTag=b64(b"t" * 15))
    assert error_of(proxy.call("decrypt", short_tag)) == (400, "InvalidCiphertextException")
    flipped = bytearray(base64.b64decode(enc["ciphertext"]))
    flipped[0] ^= 1
    assert error_of(proxy.call("decrypt", decrypt_body(enc, ciphertext=b64(bytes(flipped))))) == (
        400,
        "InvalidCiphertextException",
    )


def test_authentication_failed(proxy: Proxy) -> None:
    calls = len(proxy.audit.calls)
    assert error_of(proxy.call("encrypt", encrypt_body(), secret=SECRET_2)) == (
        401,
        "AuthenticationFailedException",
    )
    assert error_of(proxy.call("encrypt", encrypt_body(), region="eu-west-1")) == (
        401,
        "AuthenticationFailedException",
    )
    assert error_of(proxy.call("encrypt", encrypt_body(), service="kms")) == (
        401,
        "AuthenticationFailedException",
    )
    assert error_of(proxy.call("encrypt", encrypt_body(), at=time.time() - 400)) == (
        401,
        "AuthenticationFailedException",
    )
    assert error_of(proxy.call("encrypt", encrypt_body(), at=time.time() + 400)) == (
        401,
        "AuthenticationFailedException",
    )
    r = proxy.client.post(proxy.url("encrypt"), json=encrypt_body())
    assert error_of(r) == (401, "AuthenticationFailedException")
    # a signature for one keystore does not open another
    proxy.creds.secrets.pop(("root", AKID_1))
    r = proxy.post(proxy.url("encrypt", prefix=""), encrypt_body())
    assert error_of(r) == (401, "AuthenticationFailedException")
    assert len(proxy.audit.calls) == calls  # unauthenticated: logged, not recorded


def test_replayed_request_fails_outside_the_window(proxy: Proxy) -> None:
    url = proxy.url("encrypt")
    data = json.dumps(encrypt_body()).encode()
    headers = sign(url, data)
    assert proxy.client.post(url, content=data, headers=headers).status_code == 200
    assert proxy.client.post(url, content=data, headers=headers).status_code == 200  # within
    proxy.state["offset"] = 301.0
    r = proxy.client.post(url, content=data, headers=headers)
    assert error_of(r) == (401, "AuthenticationFailedException")
    assert "replayed" in r.json()["errorMessage"]


def test_credential_rotation_with_two_sets(proxy: Proxy) -> None:
    proxy.creds.secrets[("prod", AKID_2)] = SECRET_2
    assert proxy.call("encrypt", encrypt_body()).status_code == 200
    assert proxy.call("encrypt", encrypt_body(), akid=AKID_2, secret=SECRET_2).status_code == 200
    del proxy.creds.secrets[("prod", AKID_1)]
    assert error_of(proxy.call("encrypt", encrypt_body())) == (401, "AuthenticationFailedException")
    assert proxy.call("encrypt", encrypt_body(), akid=AKID_2, secret=SECRET_2).status_code == 200
    assert [c.access_key_id for c in proxy.audit.calls] == [AKID_1, AKID_2, AKID_2]


def test_access_denied_names_the_rule(proxy: Proxy) -> None:
    proxy.state["rules"] = XksRules.model_validate(
        {"rules": [{"id": "xks.s3-only", "keys": ["key-both"], "via_services": ["s3"]}]}
    )
    r = proxy.call("encrypt", encrypt_body())
    assert error_of(r) == (403, "AccessDeniedException")
    assert "xks.s3-only" in r.json()["errorMessage"]
    call = proxy.audit.calls[-1]
    assert call.outcome == "AccessDeniedException" and call.rule == "xks.s3-only"
    ok = encrypt_body()
    ok["requestMetadata"]["kmsViaService"] = "s3"
    assert proxy.call("encrypt", ok).status_code == 200
    assert proxy.audit.calls[-1].rule == "xks.s3-only"
    # health is excluded from secondary authorization
    proxy.state["rules"] = XksRules.model_validate(
        {"rules": [{"id": "xks.none", "principals": ["x"]}]}
    )
    health = {"requestMetadata": {"kmsOperation": "KmsHealthCheck", "kmsRequestId": "h"}}
    assert proxy.call("health", health).status_code == 200


def test_invalid_uri_path(proxy: Proxy) -> None:
    for path in (
        "/other/kms/xks/v1/health",  # unknown prefix
        f"{PREFIX}/kms/xks/v2/health",
        f"{PREFIX}/kms/xks/v1/keys/key-both/sign",
        f"{PREFIX}/kms/xks/v1/keys/bad%20id/encrypt",
        f"{PREFIX}/kms/xks/v1/keys/key-both/encrypt/extra",
        "/",
    ):
        r = proxy.post(proxy.base + path, encrypt_body())
        assert error_of(r) == (404, "InvalidUriPathException"), path


def test_get_is_405(proxy: Proxy) -> None:
    for op in ("health", "metadata", "encrypt", "decrypt"):
        r = proxy.client.get(proxy.url(op))
        assert r.status_code == 405 and r.headers["allow"] == "POST"
        assert r.json()["errorName"] == "UnsupportedOperationException"
    assert proxy.client.put(proxy.url("encrypt")).status_code == 405


def test_unsupported_operation_for_oversized_bodies_and_values(proxy: Proxy) -> None:
    big = encrypt_body(b"p" * 4301)
    assert error_of(proxy.call("encrypt", big)) == (501, "UnsupportedOperationException")
    huge = b'{"x": "' + b"a" * 70_000 + b'"}'
    assert error_of(proxy.call("encrypt", huge)) == (501, "UnsupportedOperationException")
    # a chunked body without a content-length is cut off at the limit too
    url = proxy.url("encrypt")

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"a" * 1024

    r = proxy.client.post(url, content=chunks(), headers=sign(url, b""))
    assert error_of(r) == (501, "UnsupportedOperationException")


def test_dependency_timeout_and_internal_errors(proxy: Proxy) -> None:
    proxy.keyring.delay = 1.0
    assert error_of(proxy.call("encrypt", encrypt_body())) == (503, "DependencyTimeoutException")
    proxy.keyring.delay = 0.0
    proxy.keyring.fail = DependencyTimeoutError("OpenBao did not answer")
    assert error_of(
        proxy.call(
            "decrypt",
            decrypt_body(
                {
                    "ciphertext": "",
                    "initializationVector": b64(b"i" * 12),
                    "authenticationTag": b64(b"t" * 16),
                }
            ),
        )
    ) == (
        503,
        "DependencyTimeoutException",
    )
    proxy.keyring.fail = InternalError("HSM failure")
    assert error_of(proxy.call("encrypt", encrypt_body())) == (500, "InternalException")
    proxy.keyring.fail = RuntimeError("a bug")
    r = proxy.call("encrypt", encrypt_body())
    assert error_of(r) == (500, "InternalException") and "bug" not in r.text
    assert [c.outcome for c in proxy.audit.calls][-4:] == [
        "DependencyTimeoutException",
        "DependencyTimeoutException",
        "InternalException",
        "InternalException",
    ]


def test_nothing_leaves_unrecorded(proxy: Proxy) -> None:
    enc = proxy.call("encrypt", encrypt_body(b"secret-data-key!")).json()
    proxy.audit.fail = RuntimeError("ledger down")
    r = proxy.call("decrypt", decrypt_body(enc))
    assert error_of(r) == (500, "InternalException")
    assert b64(b"secret-data-key!") not in r.text


def test_throttling_per_keystore(pki: Pki) -> None:
    keyring, creds, audit = seams()
    app = xks_app(keyring, creds, audit, XksConfig(requests_per_second=2))
    with (
        serve(app, server_context(pki.server_cert, pki.server_key)) as port,
        httpx.Client(verify=client_context(pki)) as client,
    ):
        p = Proxy(f"https://localhost:{port}", client, keyring, creds, audit)
        codes = [p.call("encrypt", encrypt_body()).status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and 429 in codes[2:]
        assert p.audit.calls[-1].outcome == "ThrottlingException"
        # another keystore has its own quota
        assert p.post(p.url("encrypt", prefix=""), encrypt_body()).status_code == 200


def test_load_balancer_health(proxy: Proxy) -> None:
    r = proxy.client.get(proxy.base + "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "active"}
    proxy.keyring.sealed = True
    assert proxy.client.get(proxy.base + "/healthz").status_code == 503


# -- curl --aws-sigv4 -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_aws_sigv4_every_operation(proxy: Proxy, pki: Pki, tmp_path: Any) -> None:
    def curl(
        op: str, body: dict[str, Any], key: str = "key-both", region: str = REGION
    ) -> tuple[int, dict[str, Any]]:
        payload = tmp_path / "body.json"
        payload.write_text(json.dumps(body))
        out = subprocess.run(
            [
                "curl", "-sS", "--cacert", str(pki.ca),
                "--aws-sigv4", f"aws:amz:{region}:kms-xks-proxy",
                "--user", f"{AKID_1}:{SECRET_1}",
                "-X", "POST", "-H", "Content-Type:application/json",
                "--data", f"@{payload}", "-w", "\n%{http_code}",
                proxy.url(op, key),
            ],
            capture_output=True, text=True, timeout=20, check=True,
        )  # fmt: skip
        text, _, code = out.stdout.rpartition("\n")
        return int(code), json.loads(text)

    code, health = curl(
        "health", {"requestMetadata": {"kmsOperation": "KmsHealthCheck", "kmsRequestId": "c"}}
    )
    assert code == 200 and health["xksProxyVendor"] == "Sumun"
    code, meta = curl("metadata", {"requestMetadata": request_metadata("DescribeKey")})
    assert code == 200 and meta["keySpec"] == "AES_256"
    code, enc = curl("encrypt", encrypt_body(b"from curl", b"ctx"))
    assert code == 200
    code, dec = curl("decrypt", decrypt_body(enc, b"ctx"))
    assert code == 200 and dec == {"plaintext": b64(b"from curl")}
    code, err = curl("encrypt", encrypt_body(), region="eu-west-1")
    assert (code, err["errorName"]) == (401, "AuthenticationFailedException")


# -- `sumun serve` starts the listener (the real keyring, credentials and ledger) -------------


@pytest.mark.timeout(180)
def test_serve_starts_the_xks_listener(pki: Pki, tmp_path: Any) -> None:
    import socket

    from tests.fixtures.demo import SUMUN, demo_env, start_demo

    home = tmp_path / "home"
    home.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (home / "sumun.yaml").write_text(
        f"xks:\n  listen: 127.0.0.1:{port}\n  tls_cert_file: {pki.server_cert}\n"
        f"  tls_key_file: {pki.server_key}\n  region: {REGION}\n"
    )
    proc, _line = start_demo(home, log=tmp_path / "demo.log")
    try:
        env = demo_env(home)

        def cli(*args: str) -> str:
            out = subprocess.run(
                [*SUMUN, "xks", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            return out.stdout

        cli("keystores", "create", "prod", "--uri-prefix", PREFIX, "--json")
        cred = json.loads(cli("credentials", "issue", "prod", "--json"))
        cli("keys", "create", "prod", "s3-data", "--usage", "both", "--json")
        signing = {"akid": cred["access_key_id"], "secret": cred["secret_access_key"]}
        with httpx.Client(verify=client_context(pki), timeout=10) as client:
            p = Proxy(
                f"https://localhost:{port}", client, FakeKeyring(), FakeCredentials(), FakeAudit()
            )
            deadline = time.monotonic() + 5
            while True:  # the new rows reach the running server within the revocation bound
                r = p.call("encrypt", encrypt_body(b"d" * 32, b"ctx"), key="s3-data", **signing)
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert r.status_code == 200, r.text
            dec = decrypt_body(r.json(), b"ctx")
            assert p.call("decrypt", dec, key="s3-data", **signing).json() == {
                "plaintext": b64(b"d" * 32)
            }
            moved = decrypt_body(
                r.json(), base64.b64decode(r.json()["ciphertextMetadata"]), ciphertextMetadata=None
            )
            assert error_of(p.call("decrypt", moved, key="s3-data", **signing)) == (
                400,
                "InvalidCiphertextException",
            )
            cli("keys", "disable", "s3-data")
            time.sleep(1.2)
            assert error_of(p.call("decrypt", dec, key="s3-data", **signing)) == (
                400,
                "InvalidStateException",
            )
    finally:
        proc.terminate()
        proc.wait(30)
