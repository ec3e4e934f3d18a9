"""The local admin channel: a JSON API on a Unix socket, for the `sumun` CLI.

Like Vault's CLI talking to a running server, `sumun keys …` acts on a running Sumun through
`$SUMUN_HOME/run/admin.sock`. Two locks on the door: the socket is mode 0600 in a 0700
directory (only the service's user can connect), and every request carries the bearer token
from `$SUMUN_HOME/run/admin.token` (0600), rotated at every start.

    GET  /admin/v1/status
    POST /admin/v1/unseal                {"shares": [...]} | {"passphrase": "..."}
    POST /admin/v1/seal
    GET  /admin/v1/keys
    POST /admin/v1/keys                  {"key_id", "tenant"?, "suite"?}
    POST /admin/v1/keys/{id}/rotate
    POST /admin/v1/keys/{id}/disable     {"version"?}
    POST /admin/v1/keys/{id}/enable      {"version"?}
    POST /admin/v1/keys/{id}/destroy     {"now"?, "shares"?, "passphrase"?, "grace_days"?,
                                          "version"?}
    POST /admin/v1/keys/{id}/shred-subject {"subject"}

Errors: `{"error": {"type": "<SumunError subclass>", "message": "..."}}` with 4xx/5xx.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sumun._fs import atomic_write, private_dir
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import (
    AdminChannelError,
    KeyDestroyedError,
    SealedError,
    SumunError,
    UnknownKeyError,
    UsageError,
)
from sumun.keys.lifecycle import KeyLifecycle
from sumun.keys.service import KeyService

__all__ = ["admin_app", "prepare_run_dir", "socket_path", "token_path"]

_STATUS: dict[type[SumunError], int] = {
    AdminChannelError: 401,
    UsageError: 400,
    UnknownKeyError: 404,
    KeyDestroyedError: 410,
    SealedError: 503,
}


def socket_path(home: Path) -> Path:
    return home / "run" / "admin.sock"


def token_path(home: Path) -> Path:
    return home / "run" / "admin.token"


def prepare_run_dir(home: Path) -> str:
    """Create run/ (0700), write a fresh admin token (0600), remove a stale socket."""
    private_dir(home / "run")
    token = secrets.token_urlsafe(32)
    atomic_write(token_path(home), token.encode())
    socket_path(home).unlink(missing_ok=True)
    return token


def _error(exc: SumunError) -> JSONResponse:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 409)
    return JSONResponse(
        {"error": {"type": type(exc).__name__, "message": str(exc)}}, status_code=status
    )


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise UsageError("request body is not JSON") from exc
    if not isinstance(body, dict):
        raise UsageError("request body must be a JSON object")
    return body


def _version(body: dict[str, Any]) -> int | None:
    value = body.get("version")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError("version must be a positive integer")
    return value


def admin_app(service: KeyService, token: str) -> Starlette:
    expected = f"Bearer {token}".encode()

    def guarded(
        handler: Callable[[Request, str], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _error(AdminChannelError("admin token missing or wrong"))
            actor = request.headers.get("x-sumun-actor", "unknown") + " via admin-channel"
            try:
                result = await handler(request, actor)
            except SumunError as exc:
                return _error(exc)
            return JSONResponse(result)

        return endpoint

    async def status(_request: Request, _actor: str) -> Any:
        return (await run_in_threadpool(service.status)).to_json()

    async def unseal(request: Request, actor: str) -> Any:
        body = await _body(request)
        if body.get("passphrase") is not None:
            await run_in_threadpool(
                lambda: service.unseal(passphrase=str(body["passphrase"]), actor=actor)
            )
            return {"sealed": service.sealed}
        collected, threshold = 0, 0
        for share in body.get("shares") or []:
            collected, threshold = await run_in_threadpool(
                service.submit_share, str(share), actor=actor
            )
        return {"sealed": service.sealed, "collected": collected, "threshold": threshold}

    async def seal_(_request: Request, actor: str) -> Any:
        await run_in_threadpool(lambda: service.seal(actor=actor))
        return {"sealed": True}

    async def list_keys(_request: Request, _actor: str) -> Any:
        return [k.to_json() for k in await run_in_threadpool(service.list_keys)]

    async def create(request: Request, actor: str) -> Any:
        body = await _body(request)
        try:
            suite = Suite(body["suite"]) if body.get("suite") else None
        except ValueError as exc:
            raise UsageError(f"unknown suite {body.get('suite')!r}") from exc
        record = await run_in_threadpool(
            lambda: service.lifecycle.create(
                str(body.get("key_id", "")), actor=actor, tenant=body.get("tenant"), suite=suite
            )
        )
        return record.to_json()

    def key_op(
        op: Callable[[str, dict[str, Any], str], Any],
    ) -> Callable[[Request, str], Awaitable[Any]]:
        async def handler(request: Request, actor: str) -> Any:
            body = await _body(request)
            key_id = request.path_params["key_id"]
            result = await run_in_threadpool(lambda: op(key_id, body, actor))
            return result.to_json()

        return handler

    def destroy(key_id: str, body: dict[str, Any], actor: str) -> Any:
        if body.get("now"):
            return service.lifecycle.destroy_now(
                key_id,
                actor=actor,
                shares=[str(s) for s in body.get("shares") or []],
                passphrase=body.get("passphrase"),
                version=_version(body),
            )
        if body.get("version") is not None:
            raise UsageError("destroying a single version is immediate: add --now and a quorum")
        grace = body.get("grace_days")
        return service.lifecycle.schedule_destroy(
            key_id, actor=actor, grace_days=None if grace is None else float(grace)
        )

    def shred(key_id: str, body: dict[str, Any], actor: str) -> Any:
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            raise UsageError("subject must be a non-empty string")
        return service.shred_subject(key_id, subject, actor=actor)

    def lc() -> KeyLifecycle:
        return service.lifecycle  # resolved per call: raises SealedError while sealed

    routes = [
        Route("/admin/v1/status", guarded(status), methods=["GET"]),
        Route("/admin/v1/unseal", guarded(unseal), methods=["POST"]),
        Route("/admin/v1/seal", guarded(seal_), methods=["POST"]),
        Route("/admin/v1/keys", guarded(list_keys), methods=["GET"]),
        Route("/admin/v1/keys", guarded(create), methods=["POST"]),
        Route(
            "/admin/v1/keys/{key_id}/rotate",
            guarded(key_op(lambda k, _b, a: lc().rotate(k, actor=a))),
            methods=["POST"],
        ),
        Route(
            "/admin/v1/keys/{key_id}/disable",
            guarded(key_op(lambda k, b, a: lc().disable(k, actor=a, version=_version(b)))),
            methods=["POST"],
        ),
        Route(
            "/admin/v1/keys/{key_id}/enable",
            guarded(key_op(lambda k, b, a: lc().enable(k, actor=a, version=_version(b)))),
            methods=["POST"],
        ),
        Route("/admin/v1/keys/{key_id}/destroy", guarded(key_op(destroy)), methods=["POST"]),
        Route("/admin/v1/keys/{key_id}/shred-subject", guarded(key_op(shred)), methods=["POST"]),
    ]
    return Starlette(routes=routes)
