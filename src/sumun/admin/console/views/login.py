"""Sign in with an admin or auditor API key; sign out; switch the language.

The key is read from the form once, checked by the directory (as the admin API checks a
bearer key) and dropped: the session keeps the key's id only, under a new session id.
A user-role key is refused with a message saying why (it calls models, it does not manage).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sumun.admin.console import i18n
from sumun.admin.console.sessions import COOKIE
from sumun.admin.console.web import BASE, Visit, local_path
from sumun.errors import AuthError, SumunError
from sumun.store.model import Permission

__all__ = ["language", "show", "sign_in", "sign_out"]

_LANG_COOKIE_SECONDS = 365 * 24 * 3600


def _form(visit: Visit, *, status: int = 200, error: str | None = None) -> Response:
    ended = visit.request.query_params.get("ended") == "1" and error is None
    return visit.render("login.html", code=status, error=error, ended=ended)


async def show(visit: Visit) -> Response:
    if visit.caller is not None:
        return visit.redirect(BASE)
    return _form(visit)


async def sign_in(visit: Visit) -> Response:
    console = visit.console
    presented = visit.form.get("api_key", "").strip()
    try:
        principal = await run_in_threadpool(console.ctx.directory.authenticate, presented)
    except AuthError as exc:
        console.ctx.metrics.count_auth_failure(exc)
        return _form(visit, status=401, error=visit.t("login.invalid"))
    except SumunError as exc:  # the control store is unavailable: say so, not "invalid"
        return _form(visit, status=503, error=visit.t("login.unavailable", detail=str(exc)))
    if not principal.may(Permission.READ_CONTROL):
        return _form(visit, status=403, error=visit.t("login.user_role"))
    session = console.sessions.sign_in(visit.session, principal.key_id)
    signed_in = Visit(console, visit.request, session, visit.lang, None, new_session=True)
    return signed_in.redirect(BASE)


async def sign_out(visit: Visit) -> Response:
    visit.console.sessions.end(visit.session)
    response = RedirectResponse(f"{BASE}login", status_code=303)
    response.delete_cookie(COOKIE, path=BASE)
    return response


async def language(request: Request) -> Response:
    """`GET /console/lang/{code}?next=…`: remember the language, go back to the page. Only a
    display preference changes, so it needs no session and no CSRF token."""
    code = request.path_params["code"]
    response = RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=_LANG_COOKIE_SECONDS,
            path=BASE,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response
