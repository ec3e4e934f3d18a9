"""Providers: each one's declared profile, what the policy in force admits it for and why,
and the kill switch.

Cutting is two steps: the form (with a reason) leads to a confirmation page that says what
will happen; only its "Yes" cuts. Both steps check first that the caller may cut (an auditor
or a tenant admin is refused 403 before any confirmation is shown). The cut and the restore
are the admin API's operations (`cutProvider`, `restoreProvider`), so they are recorded in the
ledger exactly as the API records them.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sumun.admin.console.actions import check
from sumun.admin.console.web import BASE, Visit
from sumun.admin.http.inputs import body_from
from sumun.admin.http.providers import Change, CutBody, Providers
from sumun.errors import NotFoundError

__all__ = ["cut", "providers", "restore"]

PAGE = f"{BASE}providers"


async def providers(visit: Visit) -> Response:
    listed = (await visit.call("listProviders", Providers)).providers
    return visit.render("providers.html", page="providers", providers=listed)


def _name(visit: Visit) -> str:
    name = str(visit.request.path_params["name"])
    if name not in {p.name for p in visit.console.ctx.settings.providers}:
        raise NotFoundError(f"unknown provider {name!r}")
    return name


async def cut(visit: Visit) -> Response:
    """`POST /console/providers/{name}/cut`: without `confirm=yes`, the confirmation page."""
    await run_in_threadpool(check, visit.console.ctx, visit.who, "cutProvider")
    name = _name(visit)
    reason = visit.form.get("reason", "").strip()
    fields: dict[str, Any] = {"reason": reason} if reason else {}
    body = body_from(CutBody, fields)  # a bad reason is refused at the first step already
    if visit.form.get("confirm") != "yes":
        return visit.render("confirm_cut.html", page="providers", name=name, reason=body.reason)
    done = await visit.call("cutProvider", Change, path={"name": name}, body=body)
    visit.flash("ok", visit.t("done.cut", name=done.name, seq=done.ledger_seq))
    return visit.redirect(PAGE)


async def restore(visit: Visit) -> Response:
    name = _name(visit)
    done = await visit.call("restoreProvider", Change, path={"name": name})
    visit.flash("ok", visit.t("done.restore", name=done.name, seq=done.ledger_seq))
    return visit.redirect(PAGE)
