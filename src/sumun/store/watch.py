"""The control watcher: how a running node learns of every control change within 1 s.

One background thread per node reads the control *generation* (a counter every control change
bumps in its own transaction, `sumun.store.database`) and, when it moved, tells every
subscriber (the directory drops its cached keys and tenants, the kill switch re-reads its cuts,
the key layer re-reads its registry). Three ways to wake it, one truth:

- PostgreSQL: `LISTEN sumun:<schema>` — the writer's `pg_notify` arrives at its commit
  (milliseconds); the same connection then reads the generation;
- Redis (when `gateway.redis_url` is set): every writer publishes after commit on
  `sumun:control`, and the subscriber wakes the reader at once;
- polling every `poll_seconds` (default 0.2 s) — the safety net for a notification lost while
  a listener reconnects, and the only way for SQLite without Redis.

A notification is only a hint: the subscribers act on the generation read from the database.
After a lost channel the thread re-reads before it trusts anything again.

Fail closed: `fresh()` is False when the generation could not be read for `max_stale_seconds`
(default 1 s). The gateway then refuses (503) rather than serve on revocation state it can no
longer vouch for, and serves again as soon as the store answers and caches are rebuilt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.retry import Retry

from sumun.errors import ConfigError, StoreError, SumunError
from sumun.store.database import Database
from sumun.store.postgres import PostgresDatabase

__all__ = ["REDIS_CHANNEL", "ControlWatcher", "redis_client", "redis_publisher"]

log = logging.getLogger(__name__)

REDIS_CHANNEL = "sumun:control"
_REDIS_TIMEOUT = 0.5  # seconds; a publish must never hold up an operator's change
_RECONNECT_SECONDS = 0.5

Subscriber = Callable[[int], None]


def redis_client(url: str, *, name: str) -> redis.Redis:
    try:
        return redis.Redis.from_url(
            url,
            socket_timeout=_REDIS_TIMEOUT,
            socket_connect_timeout=_REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=5,  # a silently dead subscription is noticed
            client_name=name,
        )
    except ValueError as exc:  # the message names the schemes, never the URL
        raise ConfigError(f"gateway.redis_url is not a Redis URL ({exc})") from exc


def redis_publisher(url: str, channel: str, *, name: str) -> Callable[[int], None]:
    """What a writer calls after each committed change (`after_change` of the drivers): one
    PUBLISH of the new generation. Best effort: the change is already durable, and every node
    also polls, so Redis trouble only costs speed."""
    client = redis_client(url, name=name)

    def publish(generation: int) -> None:
        try:
            client.publish(channel, str(generation))
        except redis.RedisError as exc:
            log.warning("control: could not publish to Redis (%s); relying on polling", exc)

    return publish


class ControlWatcher:
    """Watch one control store; `start()` before serving, `stop()` after."""

    def __init__(
        self,
        db: Database,
        *,
        poll_seconds: float = 0.2,
        max_stale_seconds: float = 1.0,
        redis_url: str | None = None,
        redis_channel: str = REDIS_CHANNEL,
        redis_name: str = "sumun-watch",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < poll_seconds <= 5:
            raise ValueError("poll_seconds must be within (0, 5]")
        if max_stale_seconds < poll_seconds:
            raise ValueError("max_stale_seconds must be at least poll_seconds")
        self._db = db
        self._poll = poll_seconds
        self._max_stale = max_stale_seconds
        self._monotonic = monotonic
        self._subscribers: list[tuple[str, Subscriber]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._redis = None if redis_url is None else redis_client(redis_url, name=redis_name)
        self._redis_channel = redis_channel
        self.generation = db.generation()  # read before anything is served
        self._ok_at = monotonic()
        self._retry = False  # a subscriber failed to reload: call them all at the next poll

    def __repr__(self) -> str:
        return f"<ControlWatcher {self._db.where} generation={self.generation}>"

    # -- what the hot path asks ------------------------------------------------------------

    def fresh(self) -> bool:
        """Could the generation be read within the last `max_stale_seconds`?"""
        return self._monotonic() - self._ok_at <= self._max_stale

    def stale_for(self) -> float:
        return max(0.0, self._monotonic() - self._ok_at)

    def require_fresh(self) -> None:
        if not self.fresh():
            raise StoreError(
                f"the control store ({self._db.where}) has not answered for "
                f"{self.stale_for():.1f}s; refusing rather than serving on revocation state "
                "that may be stale",
                advice="check the database; this node serves again once it answers",
            )

    def subscribe(self, name: str, subscriber: Subscriber) -> None:
        """`subscriber(generation)` runs in the watcher thread after every change it sees."""
        self._subscribers.append((name, subscriber))

    # -- the loop --------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        target = self._listen_loop if isinstance(self._db, PostgresDatabase) else self._poll_loop
        threads = [threading.Thread(target=target, name="sumun-control-watch", daemon=True)]
        if self._redis is not None:
            threads.append(
                threading.Thread(
                    target=self._subscribe_loop, name="sumun-control-redis", daemon=True
                )
            )
        for thread in threads:
            thread.start()
        self._threads = threads

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._redis is not None:
            self._redis.close()

    def _observe(self, generation: int, *, force: bool) -> None:
        self._ok_at = self._monotonic()
        if generation == self.generation and not force and not self._retry:
            return
        self.generation = generation
        self._retry = False
        for name, subscriber in self._subscribers:
            try:
                subscriber(generation)
            except SumunError as exc:
                # An expected failure (the store went away between the change and the reload):
                # one line, not a traceback; every subscriber is called again at the next poll.
                log.warning("control watcher: subscriber %s could not reload: %s", name, exc)
                self._retry = True
            except Exception:
                # One failing subscriber must not stop the others from seeing changes.
                log.exception("control watcher: subscriber %s failed", name)

    def _poll_loop(self) -> None:
        healthy = True
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._observe(self._db.generation(), force=not healthy)
                if not healthy:
                    log.warning("control watcher: the store answers again (%s)", self._db.where)
                healthy = True
            except StoreError as exc:
                if healthy:
                    log.warning("control watcher: cannot read the store (%s); retrying", exc)
                healthy = False

    def _listen_loop(self) -> None:
        assert isinstance(self._db, PostgresDatabase)  # noqa: S101 - chosen in start()
        db = self._db
        healthy = True
        while not self._stop.is_set():
            conn: Any = None
            try:
                conn = db.connect()
                conn.execute(f'LISTEN "{db.channel}"')
                # Anything announced while we were not listening is lost: read before trusting.
                self._observe(self._generation(conn), force=not healthy)
                if not healthy:
                    log.warning("control watcher: listening again on %s", db.where)
                healthy = True
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=self._poll, stop_after=1):
                        pass
                    self._observe(self._generation(conn), force=False)
            except (psycopg.Error, StoreError) as exc:
                if healthy:
                    log.warning("control watcher: lost %s (%s); reconnecting", db.where, exc)
                healthy = False
                self._stop.wait(min(self._poll, _RECONNECT_SECONDS))
            finally:
                if conn is not None:
                    conn.close()

    @staticmethod
    def _generation(conn: Any) -> int:
        row = conn.execute("SELECT generation FROM control_meta WHERE id = 0").fetchone()
        return 0 if row is None else int(row[0])

    def _subscribe_loop(self) -> None:
        client = self._redis
        assert client is not None  # noqa: S101 - started only with Redis
        healthy = True
        while not self._stop.is_set():
            # redis-py leaves `pubsub()` unannotated; it returns a redis.client.PubSub.
            pubsub: PubSub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self._redis_channel)
                self._wake.set()  # catch up on anything published while not subscribed
                if not healthy:
                    log.warning("control watcher: Redis subscription restored")
                    healthy = True
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=0.2) is not None:
                        self._wake.set()
            except redis.RedisError as exc:
                if healthy:
                    log.warning("control watcher: Redis subscription lost (%s); polling", exc)
                    healthy = False
                self._stop.wait(_RECONNECT_SECONDS)
            finally:
                pubsub.close()
