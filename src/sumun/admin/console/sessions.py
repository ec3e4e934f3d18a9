"""Console sessions: server-side, in this process's memory, keyed by a random id.

The cookie carries only that id (32 random bytes, URL-safe base64) — never the API key, which
is read once at login, checked, and dropped. A session holds either the key's id, from which
every request re-reads the key (`Directory.get_key`), so a revoked key ends its sessions at
once; or a person signed in with OpenID Connect (`auth.Person`), whose session also ends at a
fixed time (`admin_api.oidc.max_session_minutes`): the provider is not asked again meanwhile.

A session ends after `idle` seconds without a request, at logout, at its end time, or when the
store is full (the least recently used goes first). Sessions live in one process: behind a
load balancer with several nodes, pin a browser to one node (docs/console.md) — a restart logs
everyone out.

Also here, because they are sign-in state of the same process: OpenID Connect logins under
way (`PendingLogin`, one use each, 10 minutes at most) and the failed sign-in throttle.

Clock and randomness are parameters, so tests need not sleep.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sumun.admin.http.auth import Person

__all__ = ["COOKIE", "LOGIN_SECONDS", "PendingLogin", "Session", "SessionStore", "Throttle"]

COOKIE = "sumun_console"
_MAX_SESSIONS = 10_000
_MAX_PENDING = 10_000
LOGIN_SECONDS = 600  # an OpenID Connect login must come back within this long


def _token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(slots=True)
class Session:
    """One browser's session. `key_id` and `person` are None until a login succeeds; then one
    of them is set."""

    sid: str
    csrf: str  # the synchronizer token every POST form carries back
    last_seen: float
    key_id: str | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) shown once
    person: Person | None = None
    ends_at: float | None = None  # the store's clock; None: idle timeout only

    @property
    def signed_in(self) -> bool:
        return self.key_id is not None or self.person is not None

    def take_flash(self) -> list[tuple[str, str]]:
        shown, self.flash = self.flash, []
        return shown


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """What an OpenID Connect login must find again at the callback (OIDC Core §3.1.2.1,
    RFC 7636): the `state` sent, the `nonce` the ID token must carry, the PKCE verifier,
    and the browser's session before it (ended at sign-in)."""

    state: str
    nonce: str
    verifier: str
    redirect_uri: str  # sent at the start; the token request must repeat it exactly
    before: str | None = None  # the pre-login session's id


class SessionStore:
    """Sessions by id; thread-safe (views run store calls in worker threads)."""

    def __init__(
        self,
        idle_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        token: Callable[[], str] = _token,
        capacity: int = _MAX_SESSIONS,
    ) -> None:
        if idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")
        self._idle = idle_seconds
        self._clock = clock
        self._token = token
        self._capacity = capacity
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._pending: OrderedDict[str, tuple[float, PendingLogin]] = OrderedDict()

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id (its idle clock restarted), or None."""
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.last_seen > self._idle or (
                session.ends_at is not None and now >= session.ends_at
            ):
                del self._sessions[sid]
                return None
            session.last_seen = now
            self._sessions.move_to_end(sid)
            return session

    def new(self) -> Session:
        """A fresh, signed-out session with its own CSRF token."""
        session = Session(sid=self._token(), csrf=self._token(), last_seen=self._clock())
        with self._lock:
            self._sessions[session.sid] = session
            while len(self._sessions) > self._capacity:
                self._sessions.popitem(last=False)
        return session

    def sign_in(self, old: Session, key_id: str) -> Session:
        """A new session (new id, new CSRF token) for `key_id`; `old` is ended. A new id at
        login means an id planted in a browser before it cannot be ridden afterwards."""
        self.end(old)
        session = self.new()
        session.key_id = key_id
        return session

    def sign_in_person(self, old: Session | None, person: Person, lifetime: float) -> Session:
        """A new session for a person signed in with OpenID Connect, ending `lifetime` seconds
        from now at the latest; `old` (the browser's session before, if any) is ended."""
        if lifetime <= 0:
            raise ValueError("lifetime must be positive")
        if old is not None:
            self.end(old)
        session = self.new()
        session.person = person
        session.ends_at = self._clock() + lifetime
        return session

    def hold(self, login: PendingLogin) -> str:
        """Keep an OpenID Connect login under way; its id goes in the browser's login cookie."""
        login_id = self._token()
        with self._lock:
            self._pending[login_id] = (self._clock(), login)
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
        return login_id

    def take(self, login_id: str | None) -> PendingLogin | None:
        """The login under way with this id, removed (a callback is answered once), or None
        when there is none or it is older than LOGIN_SECONDS."""
        if not login_id:
            return None
        with self._lock:
            held = self._pending.pop(login_id, None)
        if held is None or self._clock() - held[0] > LOGIN_SECONDS:
            return None
        return held[1]

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.sid, None)

    def end_key(self, key_id: str) -> None:
        """End every session of this key (it was revoked or is no longer fit to sign in)."""
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.key_id == key_id]:
                del self._sessions[sid]


class Throttle:
    """Failed sign-ins (an API key refused, an OpenID Connect callback refused) in a sliding
    window: `per_client` from one client address, `overall` from everyone. Past either, the
    next attempt is refused before anything is checked — 429 with Retry-After — so a guesser
    learns nothing more. In this process's memory: each node counts its own.

    The overall cap stops a guesser spread over many addresses; it also locks out people
    signing in correctly while it lasts (at most `window` seconds) — a deliberate trade.
    """

    def __init__(
        self,
        per_client: int = 10,
        overall: int = 300,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = _MAX_SESSIONS,
    ) -> None:
        if per_client < 1 or overall < 1 or window <= 0:
            raise ValueError("per_client, overall and window must be positive")
        self._per_client = per_client
        self._overall = overall
        self._window = window
        self._clock = clock
        self._capacity = capacity
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()
        self._all: deque[float] = deque()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until `client` may try again, or None when it may now."""
        now = self._clock()
        with self._lock:
            waits = [
                self._wait(times, limit, now)
                for times, limit in (
                    (self._clients.get(client), self._per_client),
                    (self._all, self._overall),
                )
                if times is not None
            ]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def failed(self, client: str) -> None:
        """Count one failed sign-in from `client`."""
        now = self._clock()
        with self._lock:
            times = self._clients.pop(client, None) or deque()
            times.append(now)
            self._clients[client] = times  # most recent last
            while len(self._clients) > self._capacity:
                self._clients.popitem(last=False)
            self._all.append(now)
            self._prune(times, now)
            self._prune(self._all, now)

    def _prune(self, times: deque[float], now: float) -> None:
        while times and now - times[0] >= self._window:
            times.popleft()

    def _wait(self, times: deque[float], limit: int, now: float) -> int | None:
        self._prune(times, now)
        if len(times) < limit:
            return None
        return max(1, math.ceil(times[-limit] + self._window - now))
