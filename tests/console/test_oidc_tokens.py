"""ID-token validation (OIDC Core §3.1.3.7), the claim mapping and the `admin_api.oidc`
settings, with keys generated here and tokens signed here — each rule broken once.

The protocol as a whole runs against a real provider in test_oidc.py.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pydantic import ValidationError

from sumun.admin.console.oidc import OidcError, challenge, person_from, verify_id_token
from sumun.admin.console.sessions import PendingLogin, SessionStore
from sumun.admin.http.auth import Person
from sumun.config import OidcConfig
from sumun.store.model import Role

ISSUER = "https://login.example.go.kr"
CLIENT = "sumun-console"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_765_000_000.0

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int, size: int) -> str:
    return _b64(value.to_bytes(size, "big"))


def _jwks() -> dict[str, Any]:
    rsa_pub = RSA_KEY.public_key().public_numbers()
    ec_pub = EC_KEY.public_key().public_numbers()
    return {
        "keys": [
            {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": _int(rsa_pub.n, 256),
             "e": _b64(rsa_pub.e.to_bytes(3, "big"))},
            {"kty": "EC", "kid": "e1", "use": "sig", "crv": "P-256", "x": _int(ec_pub.x, 32),
             "y": _int(ec_pub.y, 32)},
        ]
    }  # fmt: skip


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
        "name": "김감사",
        "groups": ["staff", "sumun-auditors"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(
    claims: dict[str, Any], *, alg: str = "RS256", kid: str = "r1", key: Any = RSA_KEY
) -> str:
    header = _b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signed = f"{header}.{payload}".encode()
    if alg == "RS256":
        signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = b""
    return f"{header}.{payload}.{_b64(signature)}"


def _verify(token: str, *, nonce: str = NONCE, now: float = NOW) -> dict[str, Any]:
    return verify_id_token(token, _jwks(), issuer=ISSUER, client_id=CLIENT, nonce=nonce, now=now)


# -- signatures --------------------------------------------------------------------------------


def test_rs256_and_es256_tokens_of_the_issuer_verify() -> None:
    assert _verify(_sign(_claims()))["sub"] == "248289761001"
    assert _verify(_sign(_claims(), alg="ES256", kid="e1", key=EC_KEY))["name"] == "김감사"


def test_a_signature_by_another_key_is_refused() -> None:
    with pytest.raises(OidcError, match="signature does not verify"):
        _verify(_sign(_claims(), key=OTHER_RSA))


def test_a_changed_payload_is_refused() -> None:
    header, _payload, signature = _sign(_claims()).split(".")
    forged = _b64(json.dumps(_claims(sub="admin")).encode())
    with pytest.raises(OidcError, match="signature does not verify"):
        _verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("alg", ["none", "HS256", "RS1", None])
def test_alg_none_hmac_and_unknown_algorithms_are_refused(alg: str | None) -> None:
    header = _b64(json.dumps({"alg": alg, "kid": "r1"}).encode())
    token = f"{header}.{_b64(json.dumps(_claims()).encode())}.{_b64(b'x')}"
    with pytest.raises(OidcError, match=r"algorithm .* is not accepted"):
        _verify(token)
    with pytest.raises(OidcError, match="not accepted"):
        _verify(f"{header}.{_b64(json.dumps(_claims()).encode())}.")


def test_a_key_id_the_issuer_does_not_publish_is_refused() -> None:
    with pytest.raises(OidcError, match="no key of the issuer's key set matches"):
        _verify(_sign(_claims(), kid="rotated-away"))


def test_an_ec_key_cannot_verify_an_rsa_header() -> None:
    with pytest.raises(OidcError, match="no key"):
        _verify(_sign(_claims(), alg="RS256", kid="e1", key=RSA_KEY))


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.??.**", "e30.e30"])
def test_what_is_not_a_compact_jws_is_refused(token: str) -> None:
    with pytest.raises(OidcError):
        _verify(token)


# -- claims ------------------------------------------------------------------------------------


def test_another_issuer_is_refused() -> None:
    with pytest.raises(OidcError, match="another issuer"):
        _verify(_sign(_claims(iss="https://evil.example")))


@pytest.mark.parametrize("aud", ["other-client", ["other-client"], None])
def test_a_token_for_another_audience_is_refused(aud: Any) -> None:
    with pytest.raises(OidcError, match="not meant for this console"):
        _verify(_sign(_claims(aud=aud)))


def test_several_audiences_need_azp_naming_us() -> None:
    with pytest.raises(OidcError, match="azp"):
        _verify(_sign(_claims(aud=[CLIENT, "other"])))
    with pytest.raises(OidcError, match="azp"):
        _verify(_sign(_claims(aud=[CLIENT, "other"], azp="other")))
    assert _verify(_sign(_claims(aud=[CLIENT, "other"], azp=CLIENT)))["aud"] == [CLIENT, "other"]


def test_an_expired_token_is_refused_after_the_leeway() -> None:
    token = _sign(_claims(exp=NOW - 30))
    assert _verify(token)["sub"]  # 30 s past exp: within the 60 s leeway
    with pytest.raises(OidcError, match="expired"):
        _verify(token, now=NOW + 31)
    with pytest.raises(OidcError, match="expired"):
        _verify(_sign(_claims(exp=None)))


def test_a_token_issued_in_the_future_is_refused() -> None:
    with pytest.raises(OidcError, match="in the future"):
        _verify(_sign(_claims(iat=NOW + 120)))


@pytest.mark.parametrize("nonce", ["another-nonce", None])
def test_a_wrong_or_missing_nonce_is_refused(nonce: str | None) -> None:
    with pytest.raises(OidcError, match="nonce"):
        _verify(_sign(_claims(nonce=nonce)))


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# -- the mapping -------------------------------------------------------------------------------


def _conf(**changes: Any) -> OidcConfig:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT,
        "role_claim": "groups",
        "roles": {"sumun-admins": "admin", "sumun-auditors": "auditor"},
    }
    values.update(changes)
    return OidcConfig(**values)


def test_the_role_claim_maps_to_a_role_and_the_tenant_defaults_to_the_operator() -> None:
    person = person_from(_conf(), _claims(), "sumun")
    assert person == Person(ISSUER, "248289761001", "김감사", Role.AUDITOR, "sumun")
    assert person.actor == "oidc:248289761001@login.example.go.kr"
    assert person_from(_conf(tenant="bank"), _claims(), "sumun").tenant == "bank"
    tenant_claim = _conf(tenant_claim="org")
    assert person_from(tenant_claim, _claims(org="hospital-1"), "sumun").tenant == "hospital-1"


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (["staff"], "no role"),
        ("user", "no role"),
        (None, "no role"),
        ([{"sumun-admins": 1}], "no role"),
        (["sumun-admins", "sumun-auditors"], "both admin and auditor"),
    ],
)
def test_no_mapped_role_or_two_roles_are_refused(groups: Any, match: str) -> None:
    with pytest.raises(OidcError, match=match) as refused:
        person_from(_conf(), _claims(groups=groups), "sumun")
    assert refused.value.reason == "no_role"


@pytest.mark.parametrize("org", [None, "", "Acme", "../etc", "-x", 7, ["a"]])
def test_a_tenant_claim_that_names_no_valid_tenant_is_refused(org: Any) -> None:
    with pytest.raises(OidcError, match="no valid tenant"):
        person_from(_conf(tenant_claim="org"), _claims(org=org), "sumun")


def test_the_name_falls_back_to_the_subject() -> None:
    assert person_from(_conf(), _claims(name=None), "sumun").name == "248289761001"


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"issuer": "http://login.example.go.kr"}, "http:// only on loopback"),
        ({"issuer": "ftp://x"}, "https:// URL"),
        ({"issuer": "https://x/?a=1"}, "no query"),
        ({"roles": {"everyone": "user"}}, "'admin' or 'auditor'"),
        ({"roles": {}}, "at least one"),
        ({"scopes": ["profile"]}, "must include openid"),
        ({"tenant": "a", "tenant_claim": "org"}, "not both"),
        ({"client_secret_env": "X", "client_secret_file": "/s"}, "not both"),
        ({"public_base_url": "https://console.example/sub"}, "no path"),
        ({"client_secret": "inline"}, "Extra inputs"),
    ],
)
def test_settings_are_validated_strictly(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        _conf(**changes)


def test_http_is_allowed_on_loopback_only() -> None:
    for issuer in ("http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000"):
        assert _conf(issuer=issuer).issuer == issuer


# -- the session of a person -------------------------------------------------------------------


def test_a_person_session_ends_at_its_lifetime_even_when_busy() -> None:
    now = [0.0]
    store = SessionStore(idle_seconds=600, clock=lambda: now[0])
    person = Person(ISSUER, "s", "n", Role.ADMIN, "sumun")
    session = store.sign_in_person(store.new(), person, lifetime=1000)
    for _ in range(9):
        now[0] += 100  # a request every 100 s: never idle
        assert store.get(session.sid) is session
    now[0] += 100
    assert store.get(session.sid) is None


def test_a_pending_login_is_taken_once_and_not_after_ten_minutes() -> None:
    now = [0.0]
    store = SessionStore(idle_seconds=600, clock=lambda: now[0])
    login = PendingLogin("state", "nonce", "verifier", "https://c/console/oidc/callback")
    held = store.hold(login)
    assert store.take(held) == login
    assert store.take(held) is None  # a replay finds nothing
    late = store.hold(login)
    now[0] += 601
    assert store.take(late) is None
    assert store.take(None) is None


def test_tokens_are_checked_against_the_clock_by_default() -> None:
    fresh = _sign(_claims(exp=time.time() + 300, iat=time.time()))
    assert verify_id_token(fresh, _jwks(), issuer=ISSUER, client_id=CLIENT, nonce=NONCE)
