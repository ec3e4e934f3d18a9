"""The local admin channel: a JSON API on a Unix socket, for the `sumun` CLI.

Like Vault's CLI talking to a running server, `sumun keys …` acts on a running Sumun through
`$SUMUN_HOME/run/admin.sock`. Two locks on the door: the socket is mode 0600 in a 0700
directory (only the service's user can connect), and every request carries the bearer token
from `$SUMUN_HOME/run/admin.token` (0600), rotated at every start.

    GET  /admin/v1/status
    POST /admin/v1/unseal                {"shares": [...]} | {"passphrase": "..."}
                                         → {"sealed", "collected", "threshold", "bad_shares"}
    POST /admin/v1/seal                  requests in flight end (and are recorded) first
    GET  /admin/v1/keys
    POST /admin/v1/keys                  {"key_id", "tenant"?, "suite"?}
    POST /admin/v1/keys/{id}/rotate
    POST /admin/v1/keys/{id}/disable     {"version"?}
    POST /admin/v1/keys/{id}/enable      {"version"?}
    POST /admin/v1/keys/{id}/destroy     {"now"?, "shares"?, "passphrase"?, "grace_days"?,
                                          "version"?}
    POST /admin/v1/keys/{id}/shred-subject {"subject"}
    POST /admin/v1/keys/{id}/rekey       rewrap every DEK under a new primary, destroy the rest
    POST /admin/v1/keys/{id}/encrypt     {"plaintext_b64", "tenant"?, "record_id", "purpose",
                                          "subject"?}
    POST /admin/v1/decrypt               {"envelope_b64", "tenant"?, "record_id", "purpose"}
    POST /admin/v1/ledger/checkpoint
    POST /admin/v1/ledger/append         {"tenant", "kind"?, "payload_b64"?, "attrs"?, ...}
    POST /admin/v1/ledger/tail           {"count"?, "decrypt"?, "kind"?}
    GET  /admin/v1/providers             the kill switch's view of the providers
    POST /admin/v1/providers/{name}/cut  {"reason"?}    (recorded in the ledger)
    POST /admin/v1/providers/{name}/restore
    POST /admin/v1/reload                re-read sumun.yaml and the policy (sumun.gateway.reload)

Errors: `{"error": {"type": "<SumunError subclass>", "message": "..."}}` with 4xx/5xx.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
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
    SumunError,
    UsageError,
    http_status,
)
from sumun.gateway.assemble import kill_switch_entry
from sumun.gateway.inflight import SEAL_GRACE_SECONDS, InFlight
from sumun.gateway.killswitch import KillSwitch
from sumun.keys import operations
from sumun.keys.envelope import Context
from sumun.keys.lifecycle import KeyLifecycle
from sumun.ledger.entry import EntryKind
from sumun.ledger.wire import checkpoint_json, parse_append, tail_json
from sumun.runtime import Runtime

__all__ = ["admin_app", "prepare_run_dir", "socket_path", "token_path"]


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
    status = http_status(exc, 409)  # stated once, in sumun.errors
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


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise UsageError(f"{name} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise UsageError(f"{name} is not valid base64") from exc


def _version(body: dict[str, Any]) -> int | None:
    value = body.get("version")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError("version must be a positive integer")
    return value


def _context(key_id: str | None, body: dict[str, Any]) -> Context:
    fields = [body.get("tenant") or key_id, body.get("record_id"), body.get("purpose")]
    if not all(isinstance(f, str) and f for f in fields):
        raise UsageError("tenant, record_id and purpose must be non-empty strings")
    return Context(*[str(f) for f in fields])


class _Handlers:
    """One method per route: (key id from the path or None, JSON body, actor) -> JSON.

    They are plain functions run in the thread pool: backend calls (HSM, OpenBao) block.
    """

    def __init__(
        self, runtime: Runtime, killswitch: KillSwitch | None, inflight: InFlight | None = None
    ) -> None:
        self._inflight = inflight
        self._service = runtime.keys
        self._ledger = runtime.ledger
        self._killswitch = killswitch
        self._runtime = runtime

    @property
    def _providers(self) -> set[str]:  # read each time: a reload may add or remove providers
        return {p.name for p in self._runtime.settings.providers}

    @property
    def _lc(self) -> KeyLifecycle:
        return self._service.lifecycle  # raises SealedError while sealed

    def status(self, _key: str | None, _body: dict[str, Any], _actor: str) -> Any:
        return self._service.status().to_json()

    def unseal(self, _key: str | None, body: dict[str, Any], actor: str) -> Any:
        passphrase = body.get("passphrase")
        done = operations.unseal(
            self._service,
            shares=[str(share) for share in body.get("shares") or []],
            passphrase=None if passphrase is None else str(passphrase),
            actor=actor,
        )
        if passphrase is not None:
            return {"sealed": done.sealed}
        return {
            "sealed": done.sealed,
            "collected": done.collected,
            "threshold": done.threshold,
            "bad_shares": list(done.bad_shares),  # offered shares found wrong meanwhile
        }

    def seal(self, _key: str | None, _body: dict[str, Any], actor: str) -> Any:
        # Requests in flight end first and record their completion while the keys still work
        # (sumun.gateway.inflight); then the keys go.
        operations.seal(self._service, actor=actor, stopping=self._stopping)
        return {"sealed": True}

    def _stopping(self) -> AbstractContextManager[object]:
        if self._inflight is None:
            return contextlib.nullcontext()
        return self._inflight.stopped("sealed", within=SEAL_GRACE_SECONDS)

    def list_keys(self, _key: str | None, _body: dict[str, Any], _actor: str) -> Any:
        return [k.to_json() for k in self._service.list_keys()]

    def create(self, _key: str | None, body: dict[str, Any], actor: str) -> Any:
        try:
            suite = Suite(body["suite"]) if body.get("suite") else None
        except ValueError as exc:
            raise UsageError(f"unknown suite {body.get('suite')!r}") from exc
        key_id = str(body.get("key_id", ""))
        return self._lc.create(
            key_id, actor=actor, tenant=body.get("tenant"), suite=suite
        ).to_json()

    def rotate(self, key: str, _body: dict[str, Any], actor: str) -> Any:
        return self._lc.rotate(key, actor=actor).to_json()

    def disable(self, key: str, body: dict[str, Any], actor: str) -> Any:
        return self._lc.disable(key, actor=actor, version=_version(body)).to_json()

    def enable(self, key: str, body: dict[str, Any], actor: str) -> Any:
        return self._lc.enable(key, actor=actor, version=_version(body)).to_json()

    def destroy(self, key: str, body: dict[str, Any], actor: str) -> Any:
        grace = body.get("grace_days")
        return operations.destroy(
            self._service,
            key,
            actor=actor,
            now=bool(body.get("now")),
            shares=[str(s) for s in body.get("shares") or []],
            passphrase=body.get("passphrase"),
            grace_days=None if grace is None else float(grace),
            version=_version(body),
        ).to_json()

    def shred(self, key: str, body: dict[str, Any], actor: str) -> Any:
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            raise UsageError("subject must be a non-empty string")
        return self._service.shred_subject(key, subject, actor=actor).to_json()

    def rekey(self, key: str, _body: dict[str, Any], actor: str) -> Any:
        return self._service.rekeyer().rekey(key, actor=actor).to_json()

    def encrypt(self, key: str, body: dict[str, Any], _actor: str) -> Any:
        data = _b64(body.get("plaintext_b64"), "plaintext_b64")
        subject = body.get("subject") or None
        blob = self._service.encrypt(key, data, _context(key, body), subject=subject)
        return {"envelope_b64": base64.b64encode(blob).decode()}

    def decrypt(self, _key: str | None, body: dict[str, Any], _actor: str) -> Any:
        blob = _b64(body.get("envelope_b64"), "envelope_b64")
        data = self._service.decrypt(blob, _context(None, body))
        return {"plaintext_b64": base64.b64encode(data).decode()}

    # -- ledger ----------------------------------------------------------------------------

    def ledger_checkpoint(self, _key: str | None, _body: dict[str, Any], _actor: str) -> Any:
        return checkpoint_json(self._ledger.checkpoint())

    def ledger_append(self, _key: str | None, body: dict[str, Any], actor: str) -> Any:
        meta, payload = parse_append(body, actor)
        seq = self._ledger.append(meta, payload, durability="strict").wait()
        return {"seq": seq}

    def ledger_tail(self, _key: str | None, body: dict[str, Any], _actor: str) -> Any:
        count = body.get("count", 20)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 10_000:
            raise UsageError("count must be an integer from 1 to 10000")
        kind = body.get("kind")
        if kind is not None and kind not in {k.value for k in EntryKind}:
            raise UsageError("kind must be one of the ledger's entry kinds")
        rows = self._ledger.tail(count, decrypt=bool(body.get("decrypt")), kind=kind)
        return [tail_json(row) for row in rows]

    # -- kill switch -------------------------------------------------------------------------

    def _switch(self, name: str | None) -> tuple[KillSwitch, str]:
        if self._killswitch is None:
            raise UsageError("this Sumun serves no gateway, so it has no kill switch")
        if name not in self._providers:
            raise UsageError(f"unknown provider {name!r}")
        return self._killswitch, name

    def providers(self, _key: str | None, _body: dict[str, Any], _actor: str) -> Any:
        cut = self._killswitch.cut_providers() if self._killswitch else frozenset()
        return [{"name": n, "cut": n in cut} for n in sorted(self._providers)]

    def provider_cut(self, name: str | None, body: dict[str, Any], actor: str) -> Any:
        switch, provider = self._switch(name)
        reason = str(body.get("reason") or "cut by operator")
        record = switch.cut(provider, reason, actor)
        seq = self._ledger.append(
            kill_switch_entry(provider, "cut", actor, reason), durability="strict"
        ).wait()
        return {"name": record.name, "cut": True, "reason": reason, "ledger_seq": seq}

    def provider_restore(self, name: str | None, _body: dict[str, Any], actor: str) -> Any:
        switch, provider = self._switch(name)
        record = switch.restore(provider, actor)
        seq = self._ledger.append(
            kill_switch_entry(provider, "restore", actor, record.reason), durability="strict"
        ).wait()
        return {"name": record.name, "cut": False, "ledger_seq": seq}


Handler = Callable[[Any, dict[str, Any], str], Any]


def admin_app(
    runtime: Runtime,
    token: str,
    killswitch: KillSwitch | None = None,
    inflight: InFlight | None = None,
    *,
    reload: Callable[[str, dict[str, str]], Any] | None = None,
) -> Starlette:
    """`inflight`: the gateway's running requests, which `seal` stops first; `reload`: the
    node's hot reload (`sumun reload`), None when it serves no gateway."""
    expected = f"Bearer {token}".encode()
    h = _Handlers(runtime, killswitch, inflight)

    def reloaded(_key: str | None, _body: dict[str, Any], actor: str) -> Any:
        if reload is None:
            raise UsageError("this Sumun serves no gateway: nothing to reload")
        return reload(actor, {})

    def guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _error(AdminChannelError("admin token missing or wrong"))
            actor = request.headers.get("x-sumun-actor", "unknown") + " via admin-channel"
            try:
                body = await _body(request)
                key = next(iter(request.path_params.values()), None)
                result = await run_in_threadpool(handler, key, body, actor)
            except SumunError as exc:
                return _error(exc)
            return JSONResponse(result)

        return endpoint

    def post(path: str, handler: Handler) -> Route:
        return Route(f"/admin/v1{path}", guarded(handler), methods=["POST"])

    return Starlette(
        routes=[
            Route("/admin/v1/status", guarded(h.status), methods=["GET"]),
            Route("/admin/v1/keys", guarded(h.list_keys), methods=["GET"]),
            post("/unseal", h.unseal),
            post("/seal", h.seal),
            post("/keys", h.create),
            post("/keys/{key_id}/rotate", h.rotate),
            post("/keys/{key_id}/disable", h.disable),
            post("/keys/{key_id}/enable", h.enable),
            post("/keys/{key_id}/destroy", h.destroy),
            post("/keys/{key_id}/shred-subject", h.shred),
            post("/keys/{key_id}/rekey", h.rekey),
            post("/keys/{key_id}/encrypt", h.encrypt),
            post("/decrypt", h.decrypt),
            post("/ledger/checkpoint", h.ledger_checkpoint),
            post("/ledger/append", h.ledger_append),
            post("/ledger/tail", h.ledger_tail),
            Route("/admin/v1/providers", guarded(h.providers), methods=["GET"]),
            post("/providers/{name}/cut", h.provider_cut),
            post("/providers/{name}/restore", h.provider_restore),
            post("/reload", reloaded),
        ]
    )
