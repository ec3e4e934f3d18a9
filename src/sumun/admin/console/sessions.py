"""Console sessions: server-side, in this process's memory, keyed by a random id.

The cookie carries only that id (32 random bytes, URL-safe base64) — never the API key, which
is read once at login, checked, and dropped. A session holds the key's id, from which every
request re-reads the key (`Directory.get_key`), so a revoked key ends its sessions at once.

A session ends after `idle` seconds without a request, at logout, or when the store is full
(the least recently used goes first). Sessions live in one process: behind a load balancer
with several nodes, pin a browser to one node (docs/console.md) — a restart logs everyone out.

Clock and randomness are parameters, so tests need not sleep.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["COOKIE", "Session", "SessionStore"]

COOKIE = "sumun_console"
_MAX_SESSIONS = 10_000


def _token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(slots=True)
class Session:
    """One browser's session. `key_id` is None until a login succeeds."""

    sid: str
    csrf: str  # the synchronizer token every POST form carries back
    last_seen: float
    key_id: str | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) shown once

    @property
    def signed_in(self) -> bool:
        return self.key_id is not None

    def take_flash(self) -> list[tuple[str, str]]:
        shown, self.flash = self.flash, []
        return shown


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

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id (its idle clock restarted), or None."""
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.last_seen > self._idle:
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

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.sid, None)

    def end_key(self, key_id: str) -> None:
        """End every session of this key (it was revoked or is no longer fit to sign in)."""
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.key_id == key_id]:
                del self._sessions[sid]
