"""AWS Signature Version 4 verification for XKS calls (spec, Authentication and Appendix A).

AWS KMS signs every call with a keystore's access key id and secret access key:

    Authorization: AWS4-HMAC-SHA256 Credential=<akid>/<yyyymmdd>/<region>/kms-xks-proxy/
                   aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>

`verify_request` recomputes the signature over exactly what arrived and raises
`AuthenticationFailedError` unless every step holds:

    1. the header parses; the algorithm is AWS4-HMAC-SHA256; the scope is
       <akid>/<date>/<region>/kms-xks-proxy/aws4_request
    2. the region is the one configured (`xks.region`; None accepts any region)
    3. `host` and `x-amz-date` are among the signed headers and present; x-amz-date is
       YYYYMMDD'T'HHMMSS'Z', its date is the scope's date, and it lies within
       `max_skew_seconds` of the proxy's clock either way (Appendix A, Task 4: a signature
       replayed outside that window fails)
    4. `x-amz-content-sha256`, when sent, is the SHA-256 of the body (a signed payload only)
    5. the access key id names an active secret of this keystore (several may be active:
       rotation without downtime)
    6. canonical request (Task 1) → string to sign (Task 2) → signing key and signature
       (Task 3) → constant-time comparison (Task 4)

The canonical URI is the path as it arrived: XKS paths hold only A–Z a–z 0–9 / - _ . (the
router refuses any other), which SigV4's URI encoding leaves as they are.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sumun.xks.errors import AuthenticationFailedError

__all__ = ["SERVICE", "SigV4Verifier", "Verified", "verify_request"]

SERVICE = "kms-xks-proxy"
ALGORITHM = "AWS4-HMAC-SHA256"
UNKNOWN_SECRET = "sumun-xks-unknown-access-key"  # noqa: S105 - keeps the timing of a miss

_AMZ_DATE = re.compile(r"(\d{8})T(\d{6})Z")
_AKID = re.compile(r"[A-Za-z0-9]{1,128}")
_DATE = re.compile(r"\d{8}")
_REGION = re.compile(r"[a-z0-9-]{1,64}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Verified:
    """Who signed: the access key id and the region AWS named."""

    access_key_id: str
    region: str
    signed_at: int  # x-amz-date, Unix seconds


@dataclass(frozen=True, slots=True)
class _Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def _fail(message: str) -> AuthenticationFailedError:
    return AuthenticationFailedError(message)


def _parse_authorization(value: str | None) -> _Authorization:
    """Step 1: the Authorization header's three parts."""
    if not value:
        raise _fail("missing Authorization header (AWS SigV4)")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _fail(f"the Authorization header must use {ALGORITHM}")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, content = item.strip().partition("=")
        if not sep or name in parts:
            raise _fail("malformed Authorization header")
        parts[name] = content
    if set(parts) != {"Credential", "SignedHeaders", "Signature"}:
        raise _fail("the Authorization header needs Credential, SignedHeaders and Signature")
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise _fail("malformed credential scope")
    akid, date, region, service, _ = scope
    if _AKID.fullmatch(akid) is None or _DATE.fullmatch(date) is None:
        raise _fail("malformed credential scope")
    if _REGION.fullmatch(region) is None:
        raise _fail("malformed region in the credential scope")
    if service != SERVICE:
        raise _fail(f"the credential scope's service must be {SERVICE}")
    signed = tuple(parts["SignedHeaders"].split(";"))
    if any(_HEADER_NAME.fullmatch(h) is None for h in signed) or list(signed) != sorted(
        set(signed)
    ):
        raise _fail("SignedHeaders must be lower-case, sorted and unique")
    if _SIGNATURE.fullmatch(parts["Signature"]) is None:
        raise _fail("the signature must be 64 lower-case hex digits")
    return _Authorization(akid, date, region, service, signed, parts["Signature"])


def _amz_time(value: str) -> int:
    return _amz_seconds(value.strip())


@functools.lru_cache(maxsize=64)
def _amz_seconds(value: str) -> int:
    """x-amz-date → Unix seconds. Cached: every call within a second carries the same value
    (a malformed one raises, and exceptions are never cached)."""
    match = _AMZ_DATE.fullmatch(value)
    if match is None:
        raise _fail("x-amz-date must be YYYYMMDD'T'HHMMSS'Z'")
    try:
        parsed = time.strptime(match.group(0), "%Y%m%dT%H%M%SZ")
    except ValueError as exc:
        raise _fail("x-amz-date is not a valid time") from exc
    return calendar.timegm(parsed)


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = [pair.partition("=") for pair in query.split("&")]
    return "&".join(f"{k}={v}" for k, v in sorted((k, v) for k, _, v in pairs))


def _canonical_headers(headers: Sequence[tuple[str, str]], signed: tuple[str, ...]) -> str:
    values: dict[str, list[str]] = {name: [] for name in signed}
    for name, value in headers:
        lower = name.lower()
        if lower in values:
            values[lower].append(" ".join(value.split()))
    missing = [name for name, found in values.items() if not found]
    if missing:
        raise _fail(f"signed header {missing[0]!r} is missing from the request")
    return "".join(f"{name}:{','.join(values[name])}\n" for name in signed)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode("utf-8"), "sha256")


def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """Task 3: kSecret → kDate → kRegion → kService → kSigning."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def verify_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    secret: Callable[[str], str | None],
    region: str | None,
    max_skew_seconds: float,
    now: float,
    derive: Callable[[str, str, str], bytes] = signing_key,
) -> Verified:
    """Verify one request's SigV4 signature (module docstring, steps 1–6). `secret(akid)` is
    the active secret for that access key id in the keystore the path names, or None."""
    first = {n.lower(): v for n, v in reversed(headers)}  # first occurrence wins
    # Step 1
    auth = _parse_authorization(first.get("authorization"))
    # Step 2
    if region is not None and auth.region != region:
        raise _fail(f"signed for region {auth.region!r}; this proxy serves {region!r}")
    # Step 3
    for needed in ("host", "x-amz-date"):
        if needed not in auth.signed_headers:
            raise _fail(f"the {needed} header must be signed")
    amz_date = first.get("x-amz-date", "")
    signed_at = _amz_time(amz_date)
    if amz_date.strip()[:8] != auth.date:
        raise _fail("the credential scope's date is not x-amz-date's date")
    if abs(now - signed_at) > max_skew_seconds:
        raise _fail(
            f"x-amz-date is more than {max_skew_seconds:g} s from the proxy's clock "
            "(a replayed or delayed request, or clocks out of sync)"
        )
    # Step 4
    body_hash = hashlib.sha256(body).hexdigest()
    declared = first.get("x-amz-content-sha256")
    if declared is not None and declared.strip() != body_hash:
        raise _fail("x-amz-content-sha256 is not the SHA-256 of the body")
    # Step 5
    found = secret(auth.access_key_id)
    # Step 6 (computed for an unknown key id too, so a miss takes as long as a hit)
    canonical = "\n".join(
        [
            method.upper(),
            path,
            _canonical_query(query),
            _canonical_headers(headers, auth.signed_headers),
            ";".join(auth.signed_headers),
            body_hash,
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date.strip(), auth.scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = derive(found or UNKNOWN_SECRET, auth.date, auth.region)
    expected = hmac.digest(key, to_sign.encode("utf-8"), "sha256").hex()
    matches = hmac.compare_digest(expected.encode(), auth.signature.encode())
    if found is None:
        raise _fail("unknown or revoked access key id")
    if not matches:
        raise _fail("the signature does not match (wrong secret, or the request was altered)")
    return Verified(auth.access_key_id, auth.region, signed_at)


@dataclass
class SigV4Verifier:
    """`verify_request` with the proxy's settings and a small cache of derived signing keys
    (one per secret, day and region: four HMACs saved per call)."""

    region: str | None
    max_skew_seconds: float = 300.0
    clock: Callable[[], float] = time.time
    cache_size: int = 256
    _keys: dict[tuple[str, str, str], bytes] = field(default_factory=dict, repr=False)

    def _derive(self, secret: str, date: str, region: str) -> bytes:
        slot = (secret, date, region)
        key = self._keys.get(slot)
        if key is None:
            if len(self._keys) >= self.cache_size:
                self._keys.clear()
            key = self._keys[slot] = signing_key(secret, date, region)
        return key

    def verify(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        secret: Callable[[str], str | None],
    ) -> Verified:
        return verify_request(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            secret=secret,
            region=self.region,
            max_skew_seconds=self.max_skew_seconds,
            now=self.clock(),
            derive=self._derive,
        )
