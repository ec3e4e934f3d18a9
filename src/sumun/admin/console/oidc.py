"""OpenID Connect for the console: a relying party for the authorization code flow with PKCE.

The steps of one sign-in (OpenID Connect Core 1.0 §3.1, RFC 7636, RFC 6749 §4.1):

    1. start      `begin`: a fresh `state`, `nonce` and PKCE verifier (S256), kept server-side
                  (`sessions.PendingLogin`); the browser goes to the authorization endpoint
    2. callback   the view takes the pending login once (a replay finds none) and compares
                  `state` in constant time
    3. exchange   `finish`: the code and verifier at the token endpoint, with the client's
                  secret (client_secret_basic or _post, as the provider offers) or none
    4. verify     `verify_id_token`: signature against the issuer's JWKS, iss, aud, azp,
                  exp/iat, nonce (§3.1.3.7)
    5. map        the role (and tenant) claim through `admin_api.oidc` → a `Person`, or refused

Blocking I/O (httpx): the views call `begin` and `finish` in worker threads. The provider's
metadata and keys are cached; unknown `kid` refetches the keys (at most once a minute).
Every failure is one `OidcError` whose message is safe to show: it never carries a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, ValidationError

from sumun.admin.http.auth import Person
from sumun.config import OidcConfig
from sumun.errors import ConfigError, SumunError
from sumun.store.model import Role

__all__ = ["CALLBACK", "OidcClient", "OidcError", "Start", "verify_id_token", "verify_jws"]

CALLBACK = "/console/oidc/callback"
LEEWAY_SECONDS = 60  # clock skew allowed for exp and iat
_KEYS_REFETCH_SECONDS = 60.0
_TENANT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


class OidcError(SumunError):
    """A sign-in with OpenID Connect failed; the message says why, and never carries a token.
    `reason` names the kind for the console's translated message: "no_role" (the account maps
    to no role), "tenant" (no valid tenant claim), else "failed" (protocol or provider)."""

    def __init__(self, message: str, *, reason: str = "failed") -> None:
        super().__init__(message)
        self.reason = reason


class _Metadata(BaseModel):
    """The provider metadata we use (OpenID Connect Discovery 1.0 §3)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] = ("client_secret_basic",)
    code_challenge_methods_supported: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Start:
    """Where to send the browser, and what the callback must find again."""

    url: str
    state: str
    nonce: str
    verifier: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of `verifier` (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


class _NoKeyError(OidcError):
    """No key of the issuer's set matches the token's header (perhaps rotated since)."""


# Asymmetric JWS algorithms accepted (RFC 7518 §3): never `none`, never HMAC (whose key would
# be the client secret, which the provider's key set cannot vouch for). Name → (kty, crv).
_ACCEPTED: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
}
_MIN_RSA_BITS = 2048


def _key(jwk: Mapping[str, Any], alg: str) -> Any:
    """The public key of `jwk` for `alg` (PyJWT parses it), or None if it is unusable."""
    try:
        key = jwt.PyJWK(dict(jwk), algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
        return None
    return key


def verify_jws(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of a compact JWS (RFC 7515 §7.1) signed by a key of `jwks` (RFC 7517),
    else OidcError. The header's `alg` must be one we accept and fit the key's `kty`/`crv`.
    Only the signature is checked here (PyJWT); `verify_id_token` checks the claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise OidcError("the ID token is not a compact JWS with a JSON header") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in _ACCEPTED:
        raise OidcError(f"the ID token's algorithm {str(alg)[:16]!r} is not accepted")
    if "crit" in header:
        raise OidcError("the ID token's header has critical extensions")
    kty, crv = _ACCEPTED[alg]
    kid = header.get("kid")
    keys = jwks.get("keys")
    candidates = [
        k
        for k in (keys if isinstance(keys, list) else [])
        if isinstance(k, dict)
        and k.get("kty") == kty
        and (crv is None or k.get("crv") == crv)
        and k.get("use", "sig") == "sig"
        and k.get("alg", alg) == alg
        and (kid is None or k.get("kid") == kid)
    ]
    if not candidates:
        raise _NoKeyError("no key of the issuer's key set matches the ID token")
    claims_only = {
        "verify_signature": True,
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
        "verify_iss": False,
    }
    for candidate in candidates:
        key = _key(candidate, alg)
        if key is None:
            continue
        try:
            claims = jwt.decode(token, key, algorithms=[alg], options=claims_only)
        except jwt.InvalidSignatureError:
            continue
        except jwt.DecodeError as exc:
            raise OidcError("the ID token's payload is not a JSON object") from exc
        except jwt.PyJWTError as exc:
            raise OidcError("the ID token is malformed") from exc
        if not isinstance(claims, dict):  # pragma: no cover - PyJWT returns a dict
            raise OidcError("the ID token's payload is not a JSON object")
        return claims
    raise OidcError("the ID token's signature does not verify")


def verify_id_token(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims once every check of OIDC Core §3.1.3.7 passes, else OidcError.

    Steps (numbers of §3.1.3.7): 6 the signature, by a key of the issuer's JWKS, with an
    asymmetric algorithm named in the header (never `none`, never HMAC); 2 `iss` is the issuer;
    3 `aud` contains our client id; 4-5 with several audiences `azp` is present, and any `azp`
    is our client id; 9 `exp` is in the future, 10 `iat` not in the future (both with
    LEEWAY_SECONDS); 11 `nonce` is the one we sent.
    """
    now = time.time() if now is None else now
    claims = verify_jws(token, jwks)  # Step 6: the signature.
    # Step 2: the issuer.
    if claims.get("iss") != issuer:
        raise OidcError("the ID token was issued by another issuer")
    # Steps 3-5: the audience and authorized party.
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise OidcError("the ID token is not meant for this console (aud)")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise OidcError("the ID token was issued to another client (azp)")
    # Steps 9-10: the times.
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp + LEEWAY_SECONDS <= now:
        raise OidcError("the ID token has expired")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat - LEEWAY_SECONDS > now:
        raise OidcError("the ID token was issued in the future (iat)")
    # Step 11: the nonce.
    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise OidcError("the ID token's nonce is not the one this sign-in sent")
    sub = claims.get("sub")  # §2: at most 255 ASCII characters; it names the ledger's actor
    if (
        not isinstance(sub, str)
        or not 0 < len(sub) <= 255
        or not sub.isascii()
        or not sub.isprintable()
    ):
        raise OidcError("the ID token names no valid subject (sub)")
    return claims


def _role(conf: OidcConfig, claims: Mapping[str, Any]) -> Role:
    """The one role the claim's values map to; refused when none maps, or they disagree."""
    value = claims.get(conf.role_claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    roles = {conf.roles[v] for v in values if isinstance(v, str) and v in conf.roles}
    if not roles:
        raise OidcError(
            f"your account has no role for this console: its {conf.role_claim!r} claim "
            "names none of the configured values",
            reason="no_role",
        )
    if len(roles) > 1:
        raise OidcError(
            f"your account's {conf.role_claim!r} claim names both admin and auditor: "
            "ask for one of them",
            reason="no_role",
        )
    return Role(roles.pop())


def _tenant(conf: OidcConfig, claims: Mapping[str, Any], operator_tenant: str) -> str:
    if conf.tenant_claim is None:
        return conf.tenant or operator_tenant
    value = claims.get(conf.tenant_claim)
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= 63
        or not set(value) <= _TENANT_CHARS
        or value[0] in "._-"
    ):
        raise OidcError(
            f"your account's {conf.tenant_claim!r} claim names no valid tenant", reason="tenant"
        )
    return value


def person_from(conf: OidcConfig, claims: Mapping[str, Any], operator_tenant: str) -> Person:
    """Step 5: the configured mapping applied to the verified claims."""
    role = _role(conf, claims)
    tenant = _tenant(conf, claims, operator_tenant)
    name = claims.get(conf.name_claim)
    subject = str(claims["sub"])
    shown = name.strip()[:80] if isinstance(name, str) and name.strip() else subject[:80]
    return Person(conf.issuer, subject, shown, role, tenant)


class OidcClient:
    """One provider, as `admin_api.oidc` configures it. Thread-safe; no I/O until used."""

    def __init__(
        self,
        conf: OidcConfig,
        operator_tenant: str,
        *,
        config_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.conf = conf
        self._operator_tenant = operator_tenant
        self._secret = _client_secret(conf, config_dir, environ)
        self._transport = transport
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: _Metadata | None = None
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = 0.0

    @property
    def name(self) -> str:
        return self.conf.display_name

    def redirect_uri(self, own_base: str) -> str:
        """The callback URL: on `public_base_url` when configured, else the listener's."""
        return (self.conf.public_base_url or own_base.rstrip("/")) + CALLBACK

    def begin(self, redirect_uri: str) -> Start:
        """Step 1 (blocking: discovery)."""
        meta = self._discover()
        if meta.code_challenge_methods_supported and (
            "S256" not in meta.code_challenge_methods_supported
        ):
            raise OidcError("the provider does not offer PKCE with S256")
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # 64 characters (RFC 7636 §4.1: 43-128)
        query = {
            "response_type": "code",
            "client_id": self.conf.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.conf.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if urlsplit(meta.authorization_endpoint).query else "?"
        return Start(
            meta.authorization_endpoint + separator + urlencode(query), state, nonce, verifier
        )

    def finish(self, code: str, *, redirect_uri: str, verifier: str, nonce: str) -> Person:
        """Steps 3-5 (blocking)."""
        meta = self._discover()
        tokens = self._exchange(meta, code, redirect_uri, verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the provider's token answer has no ID token")
        claims = self._verified(meta, id_token, nonce)
        if self.conf.claims_source == "userinfo":
            claims = self._userinfo(meta, tokens, claims)
        return person_from(self.conf, claims, self._operator_tenant)

    # -- plumbing -----------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        verify: Any = str(self.conf.ca_file) if self.conf.ca_file is not None else True
        return httpx.Client(
            timeout=self.conf.timeout_seconds,
            follow_redirects=False,
            transport=self._transport,
            verify=verify,
        )

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise OidcError(f"the provider's {what} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise OidcError(f"the provider's {what} did not answer JSON") from exc
        if not isinstance(body, dict):
            raise OidcError(f"the provider's {what} did not answer a JSON object")
        return body

    def _get(self, url: str, what: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            with self._http() as http:
                return self._json(http.get(url, headers=headers), what)
        except httpx.HTTPError as exc:
            raise OidcError(
                f"the provider's {what} cannot be reached: {type(exc).__name__}"
            ) from exc

    def _discover(self) -> _Metadata:
        with self._lock:
            if self._metadata is not None:
                return self._metadata
        url = self.conf.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            meta = _Metadata.model_validate(self._get(url, "discovery document"))
        except ValidationError as exc:
            raise OidcError("the provider's discovery document lacks required fields") from exc
        if meta.issuer != self.conf.issuer:  # Discovery §4.3
            raise OidcError("the provider's discovery document names another issuer")
        with self._lock:
            self._metadata = meta
        return meta

    def _keys(self, meta: _Metadata, *, fresh: bool) -> dict[str, Any]:
        with self._lock:
            cached, at = self._jwks, self._jwks_at
        if cached is not None and not (fresh and self._clock() - at >= _KEYS_REFETCH_SECONDS):
            return cached
        keys = self._get(meta.jwks_uri, "key set (jwks_uri)")
        with self._lock:
            self._jwks, self._jwks_at = keys, self._clock()
        return keys

    def _verified(self, meta: _Metadata, id_token: str, nonce: str) -> dict[str, Any]:
        def verify(keys: Mapping[str, Any]) -> dict[str, Any]:
            return verify_id_token(
                id_token,
                keys,
                issuer=self.conf.issuer,
                client_id=self.conf.client_id,
                nonce=nonce,
                now=self._clock(),
            )

        try:
            return verify(self._keys(meta, fresh=False))
        except _NoKeyError:
            # The provider may have rotated its keys since we cached them: fetch once more.
            return verify(self._keys(meta, fresh=True))

    def _exchange(
        self, meta: _Metadata, code: str, redirect_uri: str, verifier: str
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"accept": "application/json"}
        methods = meta.token_endpoint_auth_methods_supported
        if self._secret is None:
            form["client_id"] = self.conf.client_id  # a public client (RFC 6749 §4.1.3)
        elif "client_secret_basic" in methods:
            # RFC 6749 §2.3.1: both form-urlencoded before Basic encoding.
            pair = f"{_form_encode(self.conf.client_id)}:{_form_encode(self._secret)}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif "client_secret_post" in methods:
            form |= {"client_id": self.conf.client_id, "client_secret": self._secret}
        else:
            raise OidcError("the provider offers no client authentication this console supports")
        try:
            with self._http() as http:
                response = http.post(
                    meta.token_endpoint,
                    data=form,
                    headers=headers,
                )
        except httpx.HTTPError as exc:
            raise OidcError(
                f"the provider's token endpoint cannot be reached: {type(exc).__name__}"
            ) from exc
        if response.status_code == 400:
            raise OidcError(
                "the provider refused the authorization code (used, expired or not ours)"
            )
        return self._json(response, "token endpoint")

    def _userinfo(
        self, meta: _Metadata, tokens: Mapping[str, Any], claims: dict[str, Any]
    ) -> dict[str, Any]:
        access = tokens.get("access_token")
        if meta.userinfo_endpoint is None or not isinstance(access, str):
            raise OidcError("claims_source is userinfo, but the provider offers no userinfo")
        info = self._get(
            meta.userinfo_endpoint, "userinfo endpoint", {"authorization": f"Bearer {access}"}
        )
        if info.get("sub") != claims["sub"]:  # OIDC Core §5.3.2: MUST match the ID token's
            raise OidcError("the provider's userinfo is about another subject")
        return {**info, "sub": claims["sub"]}


def _form_encode(value: str) -> str:
    return urlencode({"": value})[1:]


def _client_secret(
    conf: OidcConfig, config_dir: Path | None, environ: Mapping[str, str] | None
) -> str | None:
    """The client secret from the environment or its file (never the config file), or None
    for a public client. A named source that is empty or missing is a ConfigError at start."""
    if conf.client_secret_env is not None:
        value = (environ if environ is not None else os.environ).get(conf.client_secret_env)
        if not value:
            raise ConfigError(
                f"admin_api.oidc.client_secret_env names {conf.client_secret_env}, which is unset"
            )
        return value
    if conf.client_secret_file is not None:
        path = conf.client_secret_file
        if not path.is_absolute() and config_dir is not None:
            path = config_dir / path
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"admin_api.oidc.client_secret_file cannot be read: {path}") from exc
        if not value:
            raise ConfigError(f"admin_api.oidc.client_secret_file is empty: {path}")
        return value
    return None
