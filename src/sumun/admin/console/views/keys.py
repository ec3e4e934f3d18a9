"""Keys: the key layer's seal state, the custodian quorum while sealed, each KEK's versions
and ages, and their lifecycle — rotate, disable / enable, destroy after a typed confirmation,
seal after a confirmation, unseal with one custodian's share at a time.

Every action is the admin API's operation (`sumun.admin.http.kek`), run as the signed-in key,
so it is refused exactly as the API refuses it (an auditor's forged post: 403) and recorded as
the API records it. A share or passphrase typed into the unseal form goes to `unsealKeys` and
is gone with the request: the page never renders it back, not even after a refusal.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sumun.admin.console.actions import check
from sumun.admin.console.web import BASE, Console, Visit, guarded
from sumun.admin.http.inputs import NoBody, body_from
from sumun.admin.http.kek import (
    DestroyBody,
    Keks,
    KeyChange,
    KeyLayerStatus,
    Sealed,
    UnsealBody,
    Unsealed,
    VersionBody,
)
from sumun.errors import UnsealError, UsageError

__all__ = ["routes"]

PAGE = f"{BASE}keys"


async def page(visit: Visit) -> Response:
    status = await visit.call("getKeyStatus", KeyLayerStatus)
    keks = await visit.call("listKeks", Keks)
    return visit.render("keys.html", page="keys", status=status, keks=keks)


def _key_id(visit: Visit) -> dict[str, str]:
    return {"key_id": str(visit.request.path_params["key_id"])}


def _version(visit: Visit) -> VersionBody:
    raw = visit.form.get("version", "").strip()
    if not raw:
        return VersionBody()
    if not raw.isdecimal():
        raise UsageError("form.version: a version number")
    return body_from(VersionBody, {"version": int(raw)})


def _seq(seq: int | None) -> str:
    return "—" if seq is None else str(seq)


def _done(visit: Visit, label: str, change: KeyChange) -> Response:
    visit.flash("ok", visit.t(label, key_id=change.key.key_id, seq=_seq(change.ledger_seq)))
    return visit.redirect(PAGE)


async def rotate(visit: Visit) -> Response:
    change = await visit.call("rotateKek", KeyChange, path=_key_id(visit), body=NoBody())
    return _done(visit, "kek.done_rotate", change)


async def disable(visit: Visit) -> Response:
    body = _version(visit)
    change = await visit.call("disableKek", KeyChange, path=_key_id(visit), body=body)
    return _done(visit, "kek.done_disable", change)


async def enable(visit: Visit) -> Response:
    body = _version(visit)
    change = await visit.call("enableKek", KeyChange, path=_key_id(visit), body=body)
    return _done(visit, "kek.done_enable", change)


async def destroy(visit: Visit) -> Response:
    """Scheduled destruction only: the typed key id is checked by the API (400 otherwise)."""
    fields: dict[str, Any] = {"confirm": visit.form.get("confirm", "").strip()}
    grace = visit.form.get("grace_days", "").strip()
    if grace:
        try:
            fields["grace_days"] = float(grace)
        except ValueError as exc:
            raise UsageError("form.grace_days: a number of days") from exc
    body = body_from(DestroyBody, fields)
    change = await visit.call("destroyKek", KeyChange, path=_key_id(visit), body=body)
    return _done(visit, "kek.done_destroy", change)


async def seal(visit: Visit) -> Response:
    """`POST /console/keys/seal`: without `confirm=yes`, the confirmation page."""
    await run_in_threadpool(check, visit.console.ctx, visit.who, "sealKeys")
    if visit.form.get("confirm") != "yes":
        return visit.render("keys_seal.html", page="keys")
    done = await visit.call("sealKeys", Sealed, body=NoBody())
    visit.flash("ok", visit.t("kek.done_seal", seq=_seq(done.ledger_seq)))
    return visit.redirect(PAGE)


async def unseal(visit: Visit) -> Response:
    """One custodian's share (or the passphrase). A refusal is shown on the page as a flash,
    naming the share by its number, never its text."""
    await run_in_threadpool(check, visit.console.ctx, visit.who, "unsealKeys")
    share = visit.form.get("share", "").strip()
    passphrase = visit.form.get("passphrase", "")
    fields: dict[str, Any] = {"passphrase": passphrase} if passphrase else {"shares": [share]}
    if not share and not passphrase:
        visit.flash("error", visit.t("kek.unseal_empty"))
        return visit.redirect(PAGE)
    try:
        done = await visit.call("unsealKeys", Unsealed, body=body_from(UnsealBody, fields))
    except (UnsealError, UsageError) as exc:
        visit.flash("error", visit.t("kek.unseal_refused", detail=str(exc)))
        return visit.redirect(PAGE)
    for bad in done.bad_shares:
        visit.flash("warn", bad)
    if done.sealed:
        left = done.threshold - done.collected
        visit.flash(
            "info", visit.t("kek.done_share", n=done.collected, k=done.threshold, left=left)
        )
    else:
        visit.flash("ok", visit.t("kek.done_unseal", seq=_seq(done.ledger_seq)))
    return visit.redirect(PAGE)


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes, below /console. (`/keys/{key_id}/revoke` is the tenants page's:
    virtual API keys.)"""
    get, post = ["GET"], ["POST"]
    return [
        Route("/keys", guarded(console, page), methods=get),
        Route("/keys/seal", guarded(console, seal), methods=post),
        Route("/keys/unseal", guarded(console, unseal), methods=post),
        Route("/keys/{key_id}/rotate", guarded(console, rotate), methods=post),
        Route("/keys/{key_id}/disable", guarded(console, disable), methods=post),
        Route("/keys/{key_id}/enable", guarded(console, enable), methods=post),
        Route("/keys/{key_id}/destroy", guarded(console, destroy), methods=post),
    ]
