"""The key layer over the admin API: seal state, KEKs and their versions, rotate,
disable / enable, destroy (after a grace period, or at once with a fresh quorum), seal and
unseal. The actions are the local admin channel's own (`sumun.keys.operations`).

Recording: a key change is already a `key-event` ledger entry written by the key layer
(`KeyLifecycle`, `KeyService`) before it is reported done; here its actor is the caller,
`<key id>@admin-api`, and the answer's `ledger_seq` is that entry's. No `admin-change` entry
repeats it. What the key layer does not record is recorded here as `admin-change`: a share
offered towards a quorum that is not complete yet (`unseal-share`), a refused unseal
(`unseal-refused`) and shares discarded by sealing again (`unseal-reset`) — who acted, never
the share or the passphrase.

Unseal is authenticated like every call: the directory checks API keys without the master key
(a SHA-256 digest in the control store), so an operator-tenant admin key works while sealed.
The share or passphrase in the body is handed to the key layer and dropped with the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import change_entry, record, writable
from sumun.admin.http.auth import Caller
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.errors import (
    ConflictError,
    NotFoundError,
    SealedError,
    UnknownKeyError,
    UnsealError,
    UsageError,
)
from sumun.gateway.inflight import SEAL_GRACE_SECONDS
from sumun.keys import operations
from sumun.keys.epoch import rekey_due
from sumun.keys.model import KeyAction, KeyRecord, VersionState
from sumun.ledger.entry import EntryKind, decode_entry, kind_marker
from sumun.ledger.signing import SYSTEM_KEY
from sumun.store.model import Permission

__all__ = [
    "OPERATIONS",
    "DestroyBody",
    "Kek",
    "Keks",
    "KeyChange",
    "KeyLayerStatus",
    "Sealed",
    "UnsealBody",
    "UnsealRefusedError",
    "Unsealed",
    "VersionBody",
]

_DAY = 86400.0
_KEY_EVENT = kind_marker(EntryKind.KEY_EVENT)
_MAX_SHARES = 255  # GF(256) has 255 x-values: no quorum has more shares


class UnsealRefusedError(UnsealError):
    """A share or passphrase that does not unseal: the caller's input, so 400."""

    status = 400


# -- models --------------------------------------------------------------------------------


class KeyLayerStatus(BaseModel):
    initialised: bool
    sealed: bool
    method: Literal["shamir", "passphrase"] | None
    backend: str | None = Field(description="embedded, pkcs11 or openbao")
    suite: str | None = Field(description="the cipher suite of new keys")
    threshold: int | None = Field(description="custodian shares an unseal needs")
    custodians: int | None
    collected: int | None = Field(description="shares held so far while sealed; else null")
    backend_ok: bool | None = Field(description="null while sealed")
    rekey_days: float = Field(description="no KEK version outlives this (0: no rekey epochs)")
    rekey_due: list[str] = Field(description="keys the rekey schedule owes an epoch now")
    destroy_grace_days: float = Field(description="the default grace before a destruction")


class KekVersion(BaseModel):
    version: int
    state: Literal["enabled", "disabled", "destroyed"]
    primary: bool
    created_at: float
    age_days: float
    wraps: int = Field(description="DEKs wrapped under it (rotation comes before the limit)")


class Kek(BaseModel):
    key_id: str
    tenant: str
    backend: str
    suite: str
    state: Literal["enabled", "disabled", "pending-destruction", "destroyed"]
    primary: int
    versions: list[KekVersion]
    created_at: float
    age_days: float
    destroy_after: float | None = Field(description="when a pending destruction happens")
    rekey_due_at: float | None = Field(description="when the rekey schedule owes an epoch")


class Keks(BaseModel):
    verified: bool = Field(description="false while sealed: read without the registry's MAC")
    keys: list[Kek]


class KeyChange(BaseModel):
    key: Kek
    ledger_seq: int | None = Field(description="the change's key-event entry")


class Sealed(BaseModel):
    sealed: bool
    ledger_seq: int | None = Field(description="the seal's key-event (null: was sealed)")


class Unsealed(BaseModel):
    sealed: bool
    collected: int = Field(description="shares held towards the quorum (0: passphrase)")
    threshold: int
    bad_shares: list[str] = Field(description="offered shares found wrong, by number")
    ledger_seq: int | None = Field(description="the unseal's key-event, or the unseal-share")


class VersionBody(BodyModel):
    version: int | None = Field(default=None, ge=1, description="one version; else the key")


class DestroyBody(BodyModel):
    confirm: str = Field(max_length=63, description="the key id typed again")
    grace_days: float | None = Field(default=None, gt=0, le=3650)
    now: bool = Field(default=False, description="at once: needs `shares` or `passphrase`")
    version: int | None = Field(default=None, ge=1, description="with `now` only")
    shares: list[str] = Field(default_factory=list, max_length=_MAX_SHARES)
    passphrase: str | None = Field(default=None, max_length=1024)


class UnsealBody(BodyModel):
    shares: list[str] = Field(default_factory=list, max_length=_MAX_SHARES)
    passphrase: str | None = Field(default=None, min_length=1, max_length=1024)


# -- views ----------------------------------------------------------------------------------


def _kek(record: KeyRecord, now: float, window: float) -> Kek:
    live = [v.created_at for v in record.versions if v.state is not VersionState.DESTROYED]
    due = min(live) + window if live and window > 0 else None
    return Kek(
        key_id=record.key_id,
        tenant=record.tenant,
        backend=record.backend,
        suite=record.suite.value,
        state=record.state.value,
        primary=record.primary,
        versions=[
            KekVersion(
                version=v.version,
                state=v.state.value,
                primary=v.version == record.primary,
                created_at=v.created_at,
                age_days=round(max(0.0, now - v.created_at) / _DAY, 2),
                wraps=v.wraps,
            )
            for v in record.versions
        ],
        created_at=record.created_at,
        age_days=round(max(0.0, now - record.created_at) / _DAY, 2),
        destroy_after=record.destroy_after,
        rekey_due_at=due,
    )


def _visible(caller: Caller, record: KeyRecord) -> bool:
    """Tenant admins see their tenant's keys; the ledger's own key is the deployment's."""
    return caller.operator or (record.key_id != SYSTEM_KEY and caller.sees(record.tenant))


def _window(ctx: AdminContext) -> float:
    return ctx.settings.keys.rekey_days * _DAY


def key_status(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> KeyLayerStatus:
    status = ctx.keys.status(check_backend=call.who.operator)
    now, window = time.time(), _window(ctx)
    due = [r.key_id for r in status.keys if _visible(call.who, r) and rekey_due(r, now, window)]
    return KeyLayerStatus(
        initialised=status.initialised,
        sealed=status.sealed,
        method=status.method,  # type: ignore[arg-type]
        backend=status.backend,
        suite=status.suite,
        threshold=status.threshold,
        custodians=status.custodians,
        collected=operations.unseal_progress(ctx.keys),
        backend_ok=status.backend_ok,
        rekey_days=ctx.settings.keys.rekey_days,
        rekey_due=sorted(due),
        destroy_grace_days=ctx.settings.keys.destroy_grace_days,
    )


def list_keks(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Keks:
    status = ctx.keys.status(check_backend=False)  # sealed: the list as stored, unverified
    now, window = time.time(), _window(ctx)
    keys = [_kek(r, now, window) for r in status.keys if _visible(call.who, r)]
    return Keks(verified=status.verified, keys=sorted(keys, key=lambda k: k.key_id))


# -- changes --------------------------------------------------------------------------------


def _key_event_seq(ctx: AdminContext, since: int, actor: str, *actions: KeyAction) -> int | None:
    """The seq of the key-event `actor` caused, appended at or after `since` (the ledger's size
    before the change): the key layer records it, strictly, before the change returns."""
    store = ctx.ledger.store
    found = None
    for stored in store.entries(since, store.size()):
        if _KEY_EVENT not in stored.entry:  # a cheap filter; a match is decoded
            continue
        entry = decode_entry(stored.entry)
        attrs = entry.get("attrs") or {}
        if (
            entry.get("kind") == EntryKind.KEY_EVENT.value
            and attrs.get("actor") == actor
            and attrs.get("action") in {action.value for action in actions}
        ):
            found = stored.seq
    return found


def _target(ctx: AdminContext, call: Call[Any, Any]) -> str:
    """The path's key id, if the caller may see that key (else 404, as for a missing one)."""
    key_id = call.path["key_id"]
    found = ctx.keys.get_key(key_id)  # SealedError (503) while sealed
    if found is None or not _visible(call.who, found):
        raise NotFoundError(f"no key {key_id!r}", advice="GET /admin/v1/keys lists the keys")
    return key_id


def _change(
    ctx: AdminContext,
    call: Call[Any, Any],
    actions: tuple[KeyAction, ...],
    act: Callable[[str, str], KeyRecord],
) -> KeyChange:
    key_id = _target(ctx, call)
    writable(ctx)
    since = ctx.ledger.store.size()
    actor = call.who.actor
    try:
        record_ = act(key_id, actor)
    except UnknownKeyError as exc:  # a version that is not there
        raise NotFoundError(str(exc)) from exc
    seq = _key_event_seq(ctx, since, actor, *actions)
    return KeyChange(key=_kek(record_, time.time(), _window(ctx)), ledger_seq=seq)


def rotate(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> KeyChange:
    lifecycle = ctx.keys.lifecycle
    return _change(
        ctx,
        call,
        (KeyAction.ROTATE,),
        lambda key_id, actor: lifecycle.rotate(key_id, actor=actor, reason="admin-api"),
    )


def disable(ctx: AdminContext, call: Call[NoQuery, VersionBody]) -> KeyChange:
    lifecycle, version = ctx.keys.lifecycle, call.body.version
    return _change(
        ctx,
        call,
        (KeyAction.DISABLE,),
        lambda key_id, actor: lifecycle.disable(key_id, actor=actor, version=version),
    )


def enable(ctx: AdminContext, call: Call[NoQuery, VersionBody]) -> KeyChange:
    """Enable a key or version; a key pending destruction has its destruction cancelled."""
    lifecycle, version = ctx.keys.lifecycle, call.body.version
    return _change(
        ctx,
        call,
        (KeyAction.ENABLE, KeyAction.CANCEL_DESTROY),
        lambda key_id, actor: lifecycle.enable(key_id, actor=actor, version=version),
    )


def destroy(ctx: AdminContext, call: Call[NoQuery, DestroyBody]) -> KeyChange:
    body, key_id = call.body, call.path["key_id"]
    if body.confirm != key_id:
        raise UsageError("body.confirm: type the key id again to confirm its destruction")
    if not body.now and (body.shares or body.passphrase is not None):
        raise UsageError("body.shares / body.passphrase: only an immediate destruction takes them")
    if not body.now and body.version is not None:
        raise UsageError("body.version: a single version is destroyed at once only: set `now`")
    if body.now and body.grace_days is not None:
        raise UsageError("body.grace_days: an immediate destruction has no grace period")

    def act(key_id: str, actor: str) -> KeyRecord:
        try:
            return operations.destroy(
                ctx.keys,
                key_id,
                actor=actor,
                now=body.now,
                shares=body.shares,
                passphrase=body.passphrase,
                grace_days=body.grace_days,
                version=body.version,
            )
        except UnsealError as exc:
            raise UnsealRefusedError(str(exc)) from exc

    action = KeyAction.DESTROY if body.now else KeyAction.SCHEDULE_DESTROY
    return _change(ctx, call, (action,), act)


def seal(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Sealed:
    """Seal; already sealed, discard the shares collected so far (as `sumun seal` does)."""
    writable(ctx)
    if ctx.keys.sealed:
        discarded = operations.unseal_progress(ctx.keys) or 0
        operations.seal(ctx.keys, actor=call.who.actor)
        if not discarded:
            return Sealed(sealed=True, ledger_seq=None)
        attrs = {"discarded": str(discarded)}
        entry = change_entry(call.who, "unseal-reset", attrs=attrs)
        return Sealed(sealed=True, ledger_seq=record(ctx, call.who, entry))
    since, actor = ctx.ledger.store.size(), call.who.actor
    inflight = ctx.inflight
    operations.seal(  # requests in flight end (and are recorded) first, as `sumun seal` does
        ctx.keys,
        actor=actor,
        stopping=None
        if inflight is None
        else lambda: inflight.stopped("sealed", within=SEAL_GRACE_SECONDS),
    )
    return Sealed(sealed=True, ledger_seq=_key_event_seq(ctx, since, actor, KeyAction.SEAL))


def unseal(ctx: AdminContext, call: Call[NoQuery, UnsealBody]) -> Unsealed:
    body, caller = call.body, call.who
    if not ctx.keys.initialised:
        raise SealedError("the key layer is not initialised", advice="run `sumun init` first")
    if (body.passphrase is None) == (not body.shares):
        raise UsageError("body: give `shares` (a list of custodian shares) or `passphrase`: one")
    if not ctx.keys.sealed:
        raise ConflictError("the key layer is not sealed")
    method = ctx.keys.seal_info().method
    if method == "shamir" and body.passphrase is not None:
        raise UsageError("body.passphrase: this deployment is sealed with custodian shares")
    if method == "passphrase" and body.shares:
        raise UsageError("body.shares: this deployment is sealed with a passphrase")
    writable(ctx)
    since = ctx.ledger.store.size()
    try:
        done = operations.unseal(
            ctx.keys, shares=body.shares, passphrase=body.passphrase, actor=caller.actor
        )
    except UnsealError as exc:
        # The reason names a share by its number, never its text.
        given = "passphrase" if body.passphrase is not None else "shares"
        attrs = {"method": given, "reason": str(exc)[:300]}
        record(ctx, caller, change_entry(caller, "unseal-refused", attrs=attrs))
        held = operations.unseal_progress(ctx.keys)
        kept = f"; {held} of {ctx.keys.seal_info().threshold} shares held" if held else ""
        raise UnsealRefusedError(f"{exc}{kept}") from exc
    seq: int | None
    if done.sealed:  # a share towards a quorum not complete yet: the key layer records none
        attrs = {"collected": str(done.collected), "threshold": str(done.threshold)}
        seq = record(ctx, caller, change_entry(caller, "unseal-share", attrs=attrs))
    else:
        seq = _key_event_seq(ctx, since, caller.actor, KeyAction.UNSEAL)
    return Unsealed(
        sealed=done.sealed,
        collected=done.collected,
        threshold=done.threshold,
        bad_shares=list(done.bad_shares),
        ledger_seq=seq,
    )


def _op(
    method: Literal["GET", "POST"],
    path: str,
    handler: Callable[[AdminContext, Call[Any, Any]], BaseModel],
    response: type[BaseModel],
    *,
    name: str,
    summary: str,
    body: type[BodyModel] = NoBody,
    **extra: Any,
) -> Operation[Any, Any]:
    permission = Permission.READ_CONTROL if method == "GET" else Permission.MANAGE
    return Operation(
        method, path, name, summary, "keys", permission, NoQuery, body, response, handler, **extra
    )


_RECORDED = "Recorded as the key layer's `key-event` entry, naming the caller as actor."

OPERATIONS: tuple[Operation[Any, Any], ...] = (
    _op(
        "GET",
        "/keys/status",
        key_status,
        KeyLayerStatus,
        name="getKeyStatus",
        summary="Seal state, backend, suite, custodian quorum and its progress, rekey epochs",
    ),
    _op(
        "GET",
        "/keys",
        list_keks,
        Keks,
        name="listKeks",
        summary="The KEKs in the caller's scope: versions, states and ages (no key material)",
    ),
    _op(
        "POST",
        "/keys/{key_id}/rotate",
        rotate,
        KeyChange,
        name="rotateKek",
        summary="A new primary version; older versions still unwrap",
        description=_RECORDED,
    ),
    _op(
        "POST",
        "/keys/{key_id}/disable",
        disable,
        KeyChange,
        name="disableKek",
        summary="Disable a key, or one version that is not the primary",
        body=VersionBody,
        description=_RECORDED,
    ),
    _op(
        "POST",
        "/keys/{key_id}/enable",
        enable,
        KeyChange,
        name="enableKek",
        summary="Enable a key or version; cancels a pending destruction",
        body=VersionBody,
        description=_RECORDED,
    ),
    _op(
        "POST",
        "/keys/{key_id}/destroy",
        destroy,
        KeyChange,
        name="destroyKek",
        summary="Destroy after the grace period (`confirm` = the key id); at once only with "
        "a fresh quorum",
        body=DestroyBody,
        description=_RECORDED + " Shares and passphrase are never stored.",
    ),
    _op(
        "POST",
        "/seal",
        seal,
        Sealed,
        name="sealKeys",
        summary="Seal: forget every key; the gateway answers 503 until unsealed",
        scope="deployment",
        description=_RECORDED,
    ),
    _op(
        "POST",
        "/unseal",
        unseal,
        Unsealed,
        name="unsealKeys",
        summary="Unseal with custodian shares (one or more at a time) or the passphrase",
        body=UnsealBody,
        scope="deployment",
        description="Shares are held in memory towards the quorum only; never stored or "
        "echoed. A share short of the quorum is recorded as `unseal-share`, a refused "
        "attempt as `unseal-refused` (admin-change); the unseal itself as a key-event.",
    ),
)
