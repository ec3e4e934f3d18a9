"""The XKS Proxy API v1 as an ASGI app (served by `sumun serve` on the `xks.listen` listener).

    POST <prefix>/kms/xks/v1/keys/<keyId>/metadata   GetKeyMetadata
    POST <prefix>/kms/xks/v1/keys/<keyId>/encrypt    Encrypt
    POST <prefix>/kms/xks/v1/keys/<keyId>/decrypt    Decrypt
    POST <prefix>/kms/xks/v1/health                  GetHealthStatus
    GET  /healthz                                    for load balancers (no SigV4): 200 unless
                                                     the key backends are UNAVAILABLE or sealed

One call, in order (`_Pipeline.handle`):

    1. route      the raw path against the pattern above and the keystores' URI prefixes
                  (`XksCredentials.keystore_for_prefix`, live)   → InvalidUriPathException 404
    2. method     POST only                                       → 405, Allow: POST
    3. body       at most `xks.max_body_bytes`, refused before it is read whole
                                                                  → UnsupportedOperationException
    4. SigV4      sumun.xks.sigv4, with the keystore's active secrets
                                                                  → AuthenticationFailedException
    ---- authenticated: from here every answer is one ledger entry (XksAudit.record) ----
    5. quota      `xks.requests_per_second` per keystore          → ThrottlingException
    6. parse      sumun.xks.wire                                  → ValidationException, …
    7. authorize  sumun.xks.authz, the policy file's `xks:` rules → AccessDeniedException
    8. keyring    XksKeyring, bounded by `xks.dependency_timeout_seconds`
                                                                  → its errors; DependencyTimeout
    9. record     the call's metadata and outcome, never plaintext; a call that cannot be
                  recorded is answered InternalException — no plaintext leaves unrecorded
   10. answer     application/json

Failures before step 5 are logged (rate-limited), not recorded: an unauthenticated caller must
not be able to fill the ledger.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from sumun import __version__
from sumun.config import XksConfig
from sumun.xks import wire
from sumun.xks.authz import RuleDeniedError, XksRules, authorize
from sumun.xks.errors import (
    DependencyTimeoutError,
    InternalError,
    InvalidUriPathError,
    ThrottlingError,
    UnsupportedOperationError,
    XksError,
)
from sumun.xks.model import (
    Keystore,
    Operation,
    RequestMetadata,
    XksAudit,
    XksCall,
    XksCredentials,
    XksKeyring,
)
from sumun.xks.sigv4 import SigV4Verifier, Verified

__all__ = ["VENDOR", "xks_app"]

log = logging.getLogger("sumun.xks")

VENDOR = "Sumun"
MODEL = f"Sumun XKS Proxy {__version__}"
_LOG_EVERY = 10.0

T = TypeVar("T")

_PATH = re.compile(
    r"(?P<prefix>(?:/[A-Za-z0-9_-]+)*)/kms/xks/v1/"
    r"(?:keys/(?P<key>[A-Za-z0-9._-]{1,128})/(?P<op>metadata|encrypt|decrypt)|health)"
)
_OPERATIONS: dict[str | None, Operation] = {
    "metadata": "GetKeyMetadata",
    "encrypt": "Encrypt",
    "decrypt": "Decrypt",
    None: "GetHealthStatus",
}
_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_LB_HEALTH = "/healthz"
_LB_METHODS = ("GET", "HEAD")


@dataclass(frozen=True, slots=True)
class _Route:
    keystore: Keystore
    key_id: str | None
    operation: Operation


@dataclass(frozen=True, slots=True)
class _Answer:
    body: dict[str, object]
    rule: str | None = None


# The bytes starlette's JSONResponse renders (compact, UTF-8, no NaN), from one encoder made
# once: json.dumps with these options would build a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _json(body: dict[str, object], status: int = 200, **headers: str) -> Response:
    return Response(
        _ENCODER.encode(body).encode("utf-8"),
        status_code=status,
        headers=headers or None,
        media_type="application/json",
    )


def _error(exc: XksError) -> Response:
    return _json(dict(exc.body()), exc.status)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class _Pipeline:
    keyring: XksKeyring
    credentials: XksCredentials
    audit: XksAudit
    conf: XksConfig
    rules: Callable[[], XksRules]
    clock: Callable[[], float]
    verifier: SigV4Verifier = field(init=False)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _last_log: float = 0.0

    def __post_init__(self) -> None:
        self.verifier = SigV4Verifier(
            region=self.conf.region, max_skew_seconds=self.conf.max_skew_seconds, clock=self.clock
        )

    # -- steps 1–4: before anyone is known ---------------------------------------------------

    def route(self, request: Request) -> _Route:
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        match = _PATH.fullmatch(raw.decode("latin-1"))
        keystore = None if match is None else self.credentials.keystore_for_prefix(match["prefix"])
        if match is None or keystore is None:
            raise InvalidUriPathError("no XKS API at this path")
        return _Route(keystore, match["key"], _OPERATIONS[match["op"]])

    async def body(self, request: Request) -> bytes:
        limit = self.conf.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise UnsupportedOperationError(f"the request body exceeds {limit} bytes")
        chunks, size = [], 0
        receive = request.receive
        while True:  # request.stream(), without an async generator per call
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise UnsupportedOperationError(f"the request body exceeds {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def authenticate(self, request: Request, route: _Route, body: bytes) -> Verified:
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        name = route.keystore.name
        return self.verifier.verify(
            method=request.method,
            path=raw.decode("latin-1"),
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            body=body,
            secret=lambda akid: self.credentials.secret(name, akid),
        )

    # -- steps 5–8 ---------------------------------------------------------------------------

    def throttle(self, keystore: str) -> None:
        rate = self.conf.requests_per_second
        if rate is None:
            return
        now = time.monotonic()
        bucket = self._buckets.setdefault(keystore, _Bucket(rate, now))
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            raise ThrottlingError(f"more than {rate:g} requests per second for this keystore")
        bucket.tokens -= 1.0

    async def _bounded(self, awaitable: Awaitable[T]) -> T:
        try:
            # asyncio.timeout, not wait_for: the same bound without a task per call.
            async with asyncio.timeout(self.conf.dependency_timeout_seconds):
                return await awaitable
        except TimeoutError as exc:
            raise DependencyTimeoutError(
                f"the key backend did not answer within {self.conf.dependency_timeout_seconds:g} s"
            ) from exc

    async def perform(self, route: _Route, body: bytes) -> tuple[RequestMetadata | None, _Answer]:
        """Steps 6–8: the operation's answer (XksError on refusal)."""
        keystore, key_id = route.keystore.name, route.key_id or ""
        if route.operation == "GetHealthStatus":
            health_request = wire.parse_health(body)
            health = await self._bounded(self.keyring.health())
            return health_request.metadata, _Answer(
                wire.health_response(
                    health, fleet_size=self.conf.fleet_size, vendor=VENDOR, model=MODEL
                )
            )
        if route.operation == "GetKeyMetadata":
            meta_request = wire.parse_metadata(body)
            rule = self._authorize(route, meta_request.metadata)
            key = await self._bounded(self.keyring.metadata(keystore, key_id))
            return meta_request.metadata, _Answer(wire.metadata_response(key), rule)
        if route.operation == "Encrypt":
            enc = wire.parse_encrypt(body)
            rule = self._authorize(route, enc.metadata)
            sealed = await self._bounded(
                self.keyring.encrypt(keystore, key_id, enc.plaintext, enc.aad)
            )
            # Appendix C: the CDIV is taken from the keyring's output at once.
            integrity = wire.cdiv(enc.aad, sealed) if enc.want_cdiv else None
            return enc.metadata, _Answer(wire.encrypt_response(sealed, integrity), rule)
        dec = wire.parse_decrypt(body)
        rule = self._authorize(route, dec.metadata)
        plaintext = await self._bounded(self.keyring.decrypt(keystore, key_id, dec.sealed, dec.aad))
        return dec.metadata, _Answer(wire.decrypt_response(plaintext), rule)

    def _authorize(self, route: _Route, metadata: RequestMetadata) -> str | None:
        applied = authorize(
            self.rules(),
            keystore=route.keystore.name,
            key_id=route.key_id,
            operation=route.operation,
            metadata=metadata,
        )
        return ",".join(applied) or None

    # -- the whole call ----------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter_ns()
        try:
            route = self.route(request)
            if request.method != "POST":
                return _json(
                    {
                        "errorName": "UnsupportedOperationException",
                        "errorMessage": f"{request.method} is not allowed; XKS calls are POST",
                    },
                    405,
                    allow="POST",
                )
            body = await self.body(request)
            verified = self.authenticate(request, route, body)
        except XksError as exc:
            self._note(request, exc)
            return _error(exc)
        return await self._authenticated(route, verified, body, started)

    async def _authenticated(
        self, route: _Route, verified: Verified, body: bytes, started: int
    ) -> Response:
        metadata: RequestMetadata | None = None
        rule: str | None = None
        response: Response
        try:
            self.throttle(route.keystore.name)
            metadata, answer = await self.perform(route, body)
            rule = answer.rule
            response, outcome = _json(answer.body), "ok"
        except XksError as exc:
            if isinstance(exc, RuleDeniedError):
                rule = exc.rule
                log.warning("xks: %s (kmsRequestId %s)", exc.message, _request_id(metadata, body))
            response, outcome = _error(exc), exc.error_name
        except Exception:
            log.exception(
                "xks %s on %r failed unexpectedly (kmsRequestId %s)",
                route.operation,
                route.key_id,
                _request_id(metadata, body),
            )
            failure = InternalError("internal error in the XKS proxy")
            response, outcome = _error(failure), failure.error_name
        call = XksCall(
            keystore=route.keystore.name,
            operation=route.operation,
            key_id=route.key_id,
            metadata=metadata if metadata is not None else _metadata_of(body),
            outcome=outcome,
            access_key_id=verified.access_key_id,
            latency_us=(time.perf_counter_ns() - started) // 1000,
            rule=rule,
        )
        try:
            await self.audit.record(call)
        except Exception as exc:
            log.exception(
                "xks: the %s call could not be recorded; answered InternalException "
                "(kmsRequestId %s)",
                route.operation,
                call.metadata.kms_request_id if call.metadata else None,
            )
            if isinstance(exc, XksError):
                return _error(exc)
            return _error(InternalError("cannot record the call"))
        return response

    def _note(self, request: Request, exc: XksError) -> None:
        now = time.monotonic()
        if now - self._last_log < _LOG_EVERY:
            return
        self._last_log = now
        client = request.client.host if request.client else "?"
        log.warning("xks: refused a request from %s: %s %s", client, exc.error_name, exc.message)

    async def lb_health(self, _request: Request) -> Response:
        """GET /healthz for load balancers: no SigV4, no ledger entry."""
        try:
            health = await self._bounded(self.keyring.health())
        except XksError as exc:
            return _json({"status": "unavailable", "reason": exc.error_name}, 503)
        except Exception:
            log.exception("xks: the key backends' health check failed")
            return _json({"status": "unavailable", "reason": "InternalException"}, 503)
        if health.status == "UNAVAILABLE":
            return _json({"status": "unavailable"}, 503)
        return _json({"status": health.status.lower()})


def _metadata_of(body: bytes) -> RequestMetadata | None:
    """The request's metadata for the record of a call refused before it was parsed (its
    kmsRequestId still correlates with CloudTrail), when the body yields it."""
    return wire.parse_health(body).metadata


def _request_id(metadata: RequestMetadata | None, body: bytes) -> str | None:
    found = metadata if metadata is not None else _metadata_of(body)
    return found.kms_request_id if found is not None else None


class _XksAsgi:
    """The ASGI app: `GET|HEAD /healthz` → `lb_health`; every other request → `handle`.

    A plain ASGI callable rather than a framework router: the XKS API is one pipeline, and a
    router's middleware stack (error and exception middleware, route matching, send wrappers)
    cost more per call than the pipeline's own steps. It answers as that stack did: a method
    outside `_ALL_METHODS` is 405 text/plain with `Allow`; an unexpected exception is 500
    "Internal Server Error" (then re-raised for the server to log)."""

    __slots__ = ("_pipeline",)

    def __init__(self, pipeline: _Pipeline) -> None:
        self._pipeline = pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        request = Request(scope, receive)
        method = scope["method"]
        try:
            if scope["path"] == _LB_HEALTH:
                if method in _LB_METHODS:
                    response = await self._pipeline.lb_health(request)
                elif method in _ALL_METHODS:
                    response = await self._pipeline.handle(request)
                else:
                    response = _not_allowed(_LB_METHODS)
            elif method in _ALL_METHODS:
                response = await self._pipeline.handle(request)
            else:
                response = _not_allowed(_ALL_METHODS)
        except Exception:
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        await response(scope, receive, send)


def _not_allowed(methods: tuple[str, ...]) -> Response:
    return PlainTextResponse(
        "Method Not Allowed", status_code=405, headers={"Allow": ", ".join(methods)}
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: acknowledge the server's lifespan events."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def xks_app(
    keyring: XksKeyring,
    credentials: XksCredentials,
    audit: XksAudit,
    conf: XksConfig,
    *,
    rules: Callable[[], XksRules] = XksRules,
    clock: Callable[[], float] = time.time,
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The XKS API (an ASGI app) over `keyring`, authenticated by `credentials`, every call
    recorded by `audit`. `rules()` is read per call (the policy file's `xks:` section,
    reloaded)."""
    return _XksAsgi(_Pipeline(keyring, credentials, audit, conf, rules, clock))
