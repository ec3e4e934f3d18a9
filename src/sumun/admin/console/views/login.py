"""Sign in with an admin or auditor API key, or with OpenID Connect; sign out; switch the
language.

The key is read from the form once, checked by the directory (as the admin API checks a
bearer key) and dropped: the session keeps the key's id only, under a new session id.
A user-role key is refused with a message saying why (it calls models, it does not manage).

OpenID Connect (`sumun.admin.console.oidc`): `GET /console/oidc/start` sends the browser to
the provider and keeps the login server-side under a random id, which a `SameSite=Lax` cookie
limited to `/console/oidc/` carries back (the session cookie is `Strict`: a browser coming back
from another site does not send it). The callback takes that login once, checks `state`, and
answers with a page that moves on to the console itself — a same-site navigation, on which the
new `Strict` session cookie is sent.

Failed sign-ins (a key refused, a callback refused) are counted per client address and overall
(`sessions.Throttle`); past the limit the answer is 429 with Retry-After, before any check.
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sumun.admin.console import i18n
from sumun.admin.console.oidc import OidcError
from sumun.admin.console.sessions import COOKIE, LOGIN_SECONDS, PendingLogin
from sumun.admin.console.web import BASE, Console, Visit, local_path, public
from sumun.errors import AuthError, SumunError
from sumun.store.model import Permission

__all__ = ["LOGIN_COOKIE", "language", "routes", "show", "sign_in", "sign_out"]

_LANG_COOKIE_SECONDS = 365 * 24 * 3600
LOGIN_COOKIE = "sumun_oidc"  # an OpenID Connect login under way: its id, nothing else
_LOGIN_PATH = f"{BASE}oidc/"


def routes(console: Console) -> list[BaseRoute]:
    """The OpenID Connect routes (the API-key form's are in app.py)."""
    return [
        Route("/oidc/start", public(console, oidc_start), methods=["GET"]),
        Route("/oidc/callback", public(console, oidc_callback), methods=["GET"]),
    ]


def _form(
    visit: Visit, *, status: int = 200, error: str | None = None, retry_after: int | None = None
) -> Response:
    ended = visit.request.query_params.get("ended") == "1" and error is None
    oidc = visit.console.oidc
    response = visit.render(
        "login.html",
        code=status,
        error=error,
        ended=ended,
        oidc_name=None if oidc is None else oidc.name,
        welcome=None,
    )
    if retry_after is not None:
        response.headers["retry-after"] = str(retry_after)
    return response


def _client(request: Request) -> str:
    """The address failed sign-ins are counted under: the peer's (no proxy header is trusted)."""
    return request.client.host if request.client is not None else "unknown"


def _throttled(visit: Visit) -> Response | None:
    """429 when this client (or everyone) failed too often lately, else None."""
    wait = visit.console.throttle.retry_after(_client(visit.request))
    if wait is None:
        return None
    return _form(visit, status=429, error=visit.t("oidc.too_many", seconds=wait), retry_after=wait)


async def show(visit: Visit) -> Response:
    if visit.caller is not None:
        return visit.redirect(BASE)
    return _form(visit)


async def sign_in(visit: Visit) -> Response:
    console = visit.console
    if (refused := _throttled(visit)) is not None:
        return refused
    presented = visit.form.get("api_key", "").strip()
    try:
        principal = await run_in_threadpool(console.ctx.directory.authenticate, presented)
    except AuthError as exc:
        console.ctx.metrics.count_auth_failure(exc)
        console.throttle.failed(_client(visit.request))
        return _form(visit, status=401, error=visit.t("login.invalid"))
    except SumunError as exc:  # the control store is unavailable: say so, not "invalid"
        return _form(visit, status=503, error=visit.t("login.unavailable", detail=str(exc)))
    if not principal.may(Permission.READ_CONTROL):
        console.throttle.failed(_client(visit.request))
        return _form(visit, status=403, error=visit.t("login.user_role"))
    session = console.sessions.sign_in(visit.session, principal.key_id)
    signed_in = Visit(console, visit.request, session, visit.lang, None, new_session=True)
    return signed_in.redirect(BASE)


async def oidc_start(visit: Visit) -> Response:
    """`GET /console/oidc/start`: to the provider, with a fresh state, nonce and PKCE
    challenge. A GET, not a form: `form-action 'self'` would stop a form's redirect there."""
    client = visit.console.oidc
    if client is None:
        return _form(visit, status=404, error=visit.t("oidc.not_configured"))
    if visit.caller is not None:
        return visit.redirect(BASE)
    redirect_uri = client.redirect_uri(f"{visit.request.url.scheme}://{visit.request.url.netloc}")
    try:
        start = await run_in_threadpool(client.begin, redirect_uri)
    except OidcError as exc:
        return _form(visit, status=502, error=_failure(visit, exc))
    login_id = visit.console.sessions.hold(
        PendingLogin(start.state, start.nonce, start.verifier, redirect_uri, visit.session.sid)
    )
    response = visit.finish(RedirectResponse(start.url, status_code=303))
    response.set_cookie(
        LOGIN_COOKIE,
        login_id,
        max_age=LOGIN_SECONDS,
        path=_LOGIN_PATH,
        httponly=True,
        samesite="lax",  # sent when the provider sends the browser back (a top-level GET)
        secure=visit.request.url.scheme == "https",
    )
    return response


async def oidc_callback(visit: Visit) -> Response:
    """`GET /console/oidc/callback`: the provider's answer, checked; a person signed in."""
    console, client, request = visit.console, visit.console.oidc, visit.request
    if client is None:
        return _form(visit, status=404, error=visit.t("oidc.not_configured"))
    if (refused := _throttled(visit)) is not None:
        return refused
    query = request.query_params
    pending = console.sessions.take(request.cookies.get(LOGIN_COOKIE))
    problem = _callback_problem(visit, pending, client.conf.issuer)
    if problem is not None or pending is None:
        return _callback_failed(visit, problem or visit.t("oidc.no_login"))
    try:
        person = await run_in_threadpool(
            client.finish,
            query.get("code", ""),
            redirect_uri=pending.redirect_uri,
            verifier=pending.verifier,
            nonce=pending.nonce,
        )
    except OidcError as exc:
        return _callback_failed(visit, _failure(visit, exc))
    before = console.sessions.get(pending.before)
    lifetime = client.conf.max_session_minutes * 60.0
    session = console.sessions.sign_in_person(before or visit.session, person, lifetime)
    if before is not None and before is not visit.session:
        console.sessions.end(visit.session)
    signed_in = Visit(console, request, session, visit.lang, None, new_session=True)
    response = signed_in.render(
        "login.html", error=None, ended=False, oidc_name=None, welcome=person.name
    )
    response.delete_cookie(LOGIN_COOKIE, path=_LOGIN_PATH)
    return response


def _callback_problem(visit: Visit, pending: PendingLogin | None, issuer: str) -> str | None:
    """Why the callback cannot go on, before anything is sent to the provider, or None."""
    query = visit.request.query_params
    if pending is None:  # never started in this browser, too old, or already used
        return visit.t("oidc.no_login")
    if not hmac.compare_digest(query.get("state", "").encode(), pending.state.encode()):
        return visit.t("oidc.bad_state")
    if query.get("iss") not in (None, issuer):  # RFC 9207: an answer from another provider
        return visit.t("oidc.bad_state")
    error = query.get("error")
    if error is not None:
        shown = "".join(c for c in error if c.isalnum() or c == "_")[:40]
        return visit.t("oidc.provider_refused", error=shown)
    if not query.get("code"):
        return visit.t("oidc.bad_state")
    return None


def _failure(visit: Visit, exc: OidcError) -> str:
    name = visit.console.oidc.name if visit.console.oidc is not None else ""
    if exc.reason in ("no_role", "tenant"):
        return visit.t(f"oidc.{exc.reason}", name=name)
    return visit.t("oidc.failed", name=name, detail=str(exc))


def _callback_failed(visit: Visit, message: str) -> Response:
    """Nothing signed in: the reason shown, counted as a failed sign-in, the login cookie gone."""
    visit.console.throttle.failed(_client(visit.request))
    response = _form(visit, status=400, error=message)
    response.delete_cookie(LOGIN_COOKIE, path=_LOGIN_PATH)
    return response


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
