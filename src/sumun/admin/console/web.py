"""What every console request goes through: the session, the caller, the language, CSRF, the
page's rendering and its security headers.

    1. session    the cookie's id → a live session (server-side), or none
    2. caller     the session's key re-read from the directory: revoked, gone or no longer
                  admin/auditor → the session ends; or the session's person (OpenID Connect),
                  whose role and tenant were mapped at sign-in
    3. gate       no caller: a page → 303 to the login page; anything else → 401
    4. csrf       a POST → the form's `csrf` field must equal the session's token, else 403
    5. view       the page's own code; a SumunError becomes a page with its status
                  (`admin.http.errors.status_of`, the admin API's statuses)

Every answer carries a strict Content-Security-Policy (`default-src 'self'`, no inline
script or style), `no-store`, and refuses framing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import jinja2
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sumun.admin.console import csrf, i18n
from sumun.admin.console.actions import invoke
from sumun.admin.console.forms import read_form
from sumun.admin.console.oidc import OidcClient
from sumun.admin.console.sessions import COOKIE, Session, SessionStore, Throttle
from sumun.admin.http.auth import Caller
from sumun.admin.http.context import AdminContext
from sumun.admin.http.errors import status_of
from sumun.admin.http.inputs import BodyModel, QueryModel
from sumun.errors import SumunError, UsageError
from sumun.store.model import Permission, Principal

__all__ = [
    "BASE",
    "Console",
    "Endpoint",
    "SecurityHeaders",
    "View",
    "Visit",
    "guarded",
    "local_path",
    "public",
]

log = logging.getLogger("sumun.admin.console")

BASE = "/console/"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)

R = TypeVar("R", bound=BaseModel)


class SecurityHeaders:
    """ASGI middleware: the headers above on every console answer (pages, static files, errors).
    Pages also get `Cache-Control: no-store`; static files may be cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                headers.extend(_HEADERS)
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_OURS = frozenset(name for name, _ in _HEADERS)


def local_path(candidate: str | None) -> str:
    """`candidate` if it is a path inside the console, else the console's start (no open
    redirect: no scheme, no host, no `//`, no backslash)."""
    if (
        candidate
        and candidate.startswith(BASE)
        and "//" not in candidate
        and "\\" not in candidate
        and all(0x20 < ord(ch) < 0x7F for ch in candidate)
    ):
        return candidate
    return BASE


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class Console:
    """The console's state for one admin listener, built by `console_app`. The sign-in
    throttle and the OpenID Connect client (when `admin_api.oidc` is set) are built here from
    the settings; a client secret that cannot be read fails the start (ConfigError)."""

    ctx: AdminContext
    sessions: SessionStore
    templates: jinja2.Environment
    throttle: Throttle = field(default_factory=Throttle)
    oidc: OidcClient | None = field(init=False)

    def __post_init__(self) -> None:
        settings = self.ctx.settings
        conf = settings.admin_api.oidc
        config_dir = None if settings.config_file is None else settings.config_file.parent
        client = (
            None
            if conf is None
            else OidcClient(conf, self.ctx.operator_tenant, config_dir=config_dir)
        )
        object.__setattr__(self, "oidc", client)  # frozen: set once, here

    def caller(self, session: Session) -> Caller | None:
        """Step 2 (blocking): the session's key as it is now, or its person; None: the
        session ends."""
        if session.person is not None:
            person = session.person
            principal = person.principal()
            if not principal.may(Permission.READ_CONTROL):  # pragma: no cover - never mapped
                self.sessions.end(session)
                return None
            operator = person.tenant == self.ctx.operator_tenant
            return Caller(principal, operator=operator, person=person)
        if session.key_id is None:
            return None
        try:
            key = self.ctx.directory.get_key(session.key_id)
        except UsageError:  # the key is gone
            key = None
        if key is None or key.revoked:
            self.sessions.end_key(session.key_id)
            return None
        principal = Principal(key.key_id, key.tenant, key.app, key.user, key.role, key.limits)
        if not principal.may(Permission.READ_CONTROL):
            self.sessions.end_key(session.key_id)
            return None
        return Caller(principal, operator=principal.tenant == self.ctx.operator_tenant)


@dataclass(frozen=True, slots=True)
class Visit:
    """One request to the console, once steps 1-4 are through."""

    console: Console
    request: Request
    session: Session
    lang: str
    caller: Caller | None
    form: Mapping[str, str] = field(default_factory=dict)
    new_session: bool = False  # set the cookie on the answer

    @property
    def t(self) -> i18n.Translate:
        return i18n.translator(self.lang)

    @property
    def who(self) -> Caller:
        if self.caller is None:  # pragma: no cover - guarded() lets no such visit through
            raise RuntimeError("this view needs a signed-in caller")
        return self.caller

    @property
    def may_manage(self) -> bool:
        return self.caller is not None and self.caller.principal.may(Permission.MANAGE)

    async def call(
        self,
        name: str,
        reply: type[R],
        *,
        path: Mapping[str, str] | None = None,
        query: QueryModel | None = None,
        body: BodyModel | None = None,
    ) -> R:
        """An admin API operation as this visit's caller (actions.invoke), off the loop."""
        return await run_in_threadpool(
            invoke, self.console.ctx, self.who, name, reply, path=path, query=query, body=body
        )

    def flash(self, kind: str, message: str) -> None:
        self.session.flash.append((kind, message))

    def redirect(self, to: str) -> Response:
        return self.finish(RedirectResponse(local_path(to), status_code=303))

    def render(self, template: str, code: int = 200, **values: Any) -> Response:
        values.setdefault("page", "")  # which nav item is current
        page = self.console.templates.get_template(template).render(
            t=self.t,
            lang=self.lang,
            languages=i18n.LANGUAGES,
            here=self._here(str(values["page"])),
            caller=self.caller,
            may_manage=self.may_manage,
            operator=self.caller is not None and self.caller.operator,
            csrf_field=csrf.FIELD,
            csrf_token=self.session.csrf,
            flashes=self.session.take_flash(),
            when=_when,
            **values,
        )
        return self.finish(HTMLResponse(page, status_code=code))

    def _here(self, page: str) -> str:
        """Where the language links come back to: this page, or for the answer to a POST
        (a confirmation, a new key) the page it came from — a POST is not repeated."""
        if self.request.method == "GET":
            return self.request.url.path
        return BASE if page in ("", "overview") else f"{BASE}{page}"

    def finish(self, response: Response) -> Response:
        """Set the session cookie when the session is new (sign-in or a first visit)."""
        if self.new_session:
            set_session_cookie(self.request, response, self.session)
        return response


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.sid,
        path=BASE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",  # Secure whenever the listener has TLS
    )


def language(request: Request) -> str:
    return i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


async def start(console: Console, request: Request, *, create: bool) -> Visit | None:
    """Steps 1-2. With `create`, a visitor without a session gets a fresh, signed-out one
    (the login page needs its CSRF token)."""
    session = console.sessions.get(request.cookies.get(COOKIE))
    new = False
    if session is None:
        if not create:
            return None
        session, new = console.sessions.new(), True
    caller = await run_in_threadpool(console.caller, session)
    if caller is None and session.signed_in:  # revoked meanwhile: the session has ended
        if not create:
            return None
        session, new = console.sessions.new(), True
    return Visit(console, request, session, language(request), caller, new_session=new)


def _is_page(request: Request) -> bool:
    """A browser navigating to a page (redirect to login) rather than a script (401)."""
    if request.method != "GET":
        return False
    mode = request.headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return "text/html" in request.headers.get("accept", "")


View = Callable[[Visit], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _refusal(visit: Visit, status: int, message: str) -> Response:
    return visit.render("error.html", code=status, message=message)


def public(console: Console, view: View) -> Endpoint:
    """The endpoint for a view open to anyone (the login form): steps 1-2, 4-5. A visitor
    without a session gets one, so that the form has a CSRF token."""

    async def endpoint(request: Request) -> Response:
        visit = await start(console, request, create=True)
        assert visit is not None  # noqa: S101 - create=True always gives one
        return await run_view(visit, view)

    return endpoint


def guarded(console: Console, view: View) -> Endpoint:
    """The Starlette endpoint running steps 1-5 for a signed-in view."""

    async def endpoint(request: Request) -> Response:
        visit = await start(console, request, create=False)
        if visit is None or visit.caller is None:  # 3
            if _is_page(request):
                # A cookie without a live session: it ended (signed out, idle, revoked).
                ended = "?ended=1" if visit is None and COOKIE in request.cookies else ""
                return RedirectResponse(f"{BASE}login{ended}", status_code=303)
            return Response(
                "sign in to the console first\n",
                status_code=401,
                media_type="text/plain; charset=utf-8",
            )
        return await run_view(visit, view)

    return endpoint


async def run_view(visit: Visit, view: View) -> Response:
    """Steps 4-5 for any visit, signed in or not (the login form goes through here too)."""
    request = visit.request
    try:
        if request.method == "POST":
            form = await read_form(request)
            if not csrf.valid(visit.session, form.get(csrf.FIELD)):  # 4
                return _refusal(visit, 403, visit.t("error.csrf"))
            visit = replace(visit, form=form)
        return await view(visit)  # 5
    except SumunError as exc:
        return _refusal(visit, status_of(exc), visit.t("error.refused", detail=str(exc)))
    except Exception:
        request_id = uuid.uuid4().hex
        log.exception(
            "console %s %s failed (request %s)", request.method, request.url.path, request_id
        )
        return _refusal(visit, 500, f"the server failed; it logged request id {request_id}")
