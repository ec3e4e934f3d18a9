"""sumun.xks.sigv4 against botocore's SigV4Auth: what AWS signs verifies; anything else fails."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from sumun.xks.errors import AuthenticationFailedError
from sumun.xks.sigv4 import SigV4Verifier, signing_key, verify_request
from tests.xks.support import AKID_1, AKID_2, REGION, SECRET_1, SECRET_2, sign

URL = "https://xks.example.com/bank/prod/kms/xks/v1/keys/key-both/encrypt"
BODY = b'{"requestMetadata": {"kmsOperation": "Encrypt"}}'
NOW = 1_700_000_000.0


def _verify(
    headers: dict[str, str],
    body: bytes = BODY,
    *,
    url: str = URL,
    now: float = NOW,
    region: str | None = REGION,
    skew: float = 300,
    secrets: dict[str, str] | None = None,
    method: str = "POST",
) -> str:
    table = {AKID_1: SECRET_1} if secrets is None else secrets
    parts = urlsplit(url)
    verified = verify_request(
        method=method,
        path=parts.path,
        query=parts.query,
        headers=[("host", parts.netloc), *headers.items()],
        body=body,
        secret=table.get,
        region=region,
        max_skew_seconds=skew,
        now=now,
    )
    return verified.access_key_id


def test_botocore_signature_verifies() -> None:
    headers = sign(URL, BODY, at=NOW)
    assert "host" in headers["Authorization"] and "x-amz-date" in headers["Authorization"]
    assert _verify(headers) == AKID_1


def test_spec_signing_key_is_the_aws_derivation() -> None:
    # AWS General Reference's published example: secret, 20150830, us-east-1, iam.
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


def test_two_active_credentials_both_verify_and_revocation_takes_effect() -> None:
    table = {AKID_1: SECRET_1, AKID_2: SECRET_2}
    assert _verify(sign(URL, BODY, at=NOW), secrets=table) == AKID_1
    assert _verify(sign(URL, BODY, akid=AKID_2, secret=SECRET_2, at=NOW), secrets=table) == AKID_2
    del table[AKID_1]
    with pytest.raises(AuthenticationFailedError, match="unknown or revoked access key id"):
        _verify(sign(URL, BODY, at=NOW), secrets=table)


def test_a_wrong_secret_fails() -> None:
    with pytest.raises(AuthenticationFailedError, match="does not match"):
        _verify(sign(URL, BODY, secret=SECRET_2, at=NOW))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"body": b'{"requestMetadata": {"kmsOperation": "Decrypt"}}'}, "does not match"),
        ({"url": URL.replace("encrypt", "decrypt")}, "does not match"),
        ({"url": URL.replace("xks.example.com", "evil.example.com")}, "does not match"),
        ({"method": "PUT"}, "does not match"),
        ({"url": URL + "?x=1"}, "does not match"),
    ],
)
def test_any_alteration_fails(change: dict[str, object], match: str) -> None:
    headers = sign(URL, BODY, at=NOW)
    with pytest.raises(AuthenticationFailedError, match=match):
        _verify(headers, **change)  # type: ignore[arg-type]


def test_wrong_region_and_service() -> None:
    with pytest.raises(AuthenticationFailedError, match="region 'eu-west-1'"):
        _verify(sign(URL, BODY, region="eu-west-1", at=NOW))
    assert _verify(sign(URL, BODY, region="eu-west-1", at=NOW), region=None) == AKID_1
    with pytest.raises(AuthenticationFailedError, match="service must be kms-xks-proxy"):
        _verify(sign(URL, BODY, service="kms", at=NOW))


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86_400])
def test_date_skew_outside_the_window_fails(offset: float) -> None:
    headers = sign(URL, BODY, at=NOW + offset)
    with pytest.raises(AuthenticationFailedError, match="more than 300 s"):
        _verify(headers)


@pytest.mark.parametrize("offset", [-299, 0, 299])
def test_date_skew_inside_the_window_passes(offset: float) -> None:
    assert _verify(sign(URL, BODY, at=NOW + offset)) == AKID_1


def test_a_replayed_signature_fails_once_the_window_has_passed() -> None:
    headers = sign(URL, BODY, at=NOW)
    assert _verify(headers, now=NOW + 10) == AKID_1
    with pytest.raises(AuthenticationFailedError, match="replayed"):
        _verify(headers, now=NOW + 301)
    assert _verify(headers, now=NOW + 301, skew=600) == AKID_1  # the window is a setting


def test_content_sha256_header_must_match_the_body() -> None:
    import hashlib

    good = sign(URL, BODY, at=NOW, extra={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    assert _verify(good) == AKID_1
    bad = sign(URL, BODY, at=NOW, extra={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    with pytest.raises(AuthenticationFailedError, match="x-amz-content-sha256"):
        _verify(bad)


@pytest.mark.parametrize(
    ("mangle", "match"),
    [
        (lambda a: "", "missing Authorization"),
        (lambda a: a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"), "AWS4-HMAC-SHA256"),
        (lambda a: a.replace("/aws4_request", "/aws5_request"), "credential scope"),
        (lambda a: a.replace("SignedHeaders=", "Signed="), "needs Credential"),
        (lambda a: a[:-2], "64 lower-case hex"),
        (lambda a: a.replace("host;", ""), "host header must be signed"),
    ],
)
def test_malformed_authorization(mangle: object, match: str) -> None:
    headers = sign(URL, BODY, at=NOW)
    headers["Authorization"] = mangle(headers["Authorization"])  # type: ignore[operator]
    with pytest.raises(AuthenticationFailedError, match=match):
        _verify(headers)


def test_date_header_and_scope_date_must_agree() -> None:
    headers = sign(URL, BODY, at=NOW)
    headers["X-Amz-Date"] = "20231114T000000Z"
    with pytest.raises(AuthenticationFailedError):
        _verify(headers)
    headers["X-Amz-Date"] = "not-a-date"
    with pytest.raises(AuthenticationFailedError, match="YYYYMMDD"):
        _verify(headers)


def test_a_signed_header_that_is_missing_fails() -> None:
    headers = sign(URL, BODY, at=NOW)
    del headers["Content-Type"]
    with pytest.raises(AuthenticationFailedError, match="'content-type' is missing"):
        _verify(headers)


def test_verifier_caches_signing_keys_and_uses_its_clock() -> None:
    verifier = SigV4Verifier(region=REGION, clock=lambda: NOW)
    parts = urlsplit(URL)
    for _ in range(3):
        headers = sign(URL, BODY, at=NOW)
        verified = verifier.verify(
            method="POST",
            path=parts.path,
            query="",
            headers=[("host", parts.netloc), *headers.items()],
            body=BODY,
            secret={AKID_1: SECRET_1}.get,
        )
        assert verified.region == REGION and verified.signed_at == int(NOW)
    assert len(verifier._keys) == 1


def test_verification_cost() -> None:
    """One verification is tens of microseconds (the hot path's budget is 5 ms)."""
    verifier = SigV4Verifier(region=REGION, clock=lambda: NOW)
    parts = urlsplit(URL)
    headers = [("host", parts.netloc), *sign(URL, BODY, at=NOW).items()]
    table = {AKID_1: SECRET_1}.get
    start = time.perf_counter()
    for _ in range(1000):
        verifier.verify(
            method="POST", path=parts.path, query="", headers=headers, body=BODY, secret=table
        )
    per_call = (time.perf_counter() - start) / 1000
    assert per_call < 0.001, per_call
