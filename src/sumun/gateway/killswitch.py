"""The provider kill switch: cut a provider off everywhere, at once, and keep it cut.

Where the truth lives: `provider_cuts` in store.db (`sumun.store.cuts`), written durably
before `cut` returns, so a restarted process starts with the provider still cut.

How every worker learns of a change within 1 s:
- each process polls `PRAGMA data_version` every `poll_seconds` (default 0.2 s) in a
  background thread and re-reads the (tiny) table when another connection has committed;
- with Redis configured, the process that changes a cut also publishes the provider's name on
  `channel`, and every process's subscriber thread re-reads the table at once (milliseconds).
  Pub/sub is fire-and-forget, so the poll stays on as the safety net: for a message lost while
  a subscriber reconnects, and for writers that do not publish (the CLI acting on store.db).

The hot path, `is_cut`, is a lookup in a frozenset that the watchers replace whole (no lock).
`on_change` is called in every process that sees a change, once per provider changed; `local`
tells the process that made the change (ledger it there) from those that only observed it.
Redis trouble never turns a cut off: the database and the poll work without it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.retry import Retry

from sumun.errors import ConfigError, ProviderCutError, SumunError, UsageError
from sumun.store.cuts import CutRecord, CutTable

__all__ = ["CutChange", "KillSwitch"]

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")  # as ProviderConfig.name
_REDIS_TIMEOUT = 0.5  # seconds; a publish must never hold up an operator's cut
_RECONNECT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class CutChange:
    provider: str
    cut: bool  # True: cut off; False: restored
    reason: str
    actor: str
    at: float
    local: bool  # made by this process (True) or observed from another (False)


def _check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise UsageError(f"bad provider name {name!r}: use 1-63 of a-z 0-9 . _ -")
    return name


def _check(what: str, value: str, limit: int) -> str:
    if not value.strip() or len(value) > limit or any(ord(c) < 32 for c in value):
        raise UsageError(f"{what} must be 1-{limit} printable characters")
    return value


def _diff(old: dict[str, CutRecord], new: dict[str, CutRecord], *, local: bool) -> list[CutChange]:
    return [
        CutChange(rec.name, rec.cut, rec.reason, rec.actor, rec.at, local)
        for name, rec in sorted(new.items())
        if old.get(name) != rec and (rec.cut or (name in old and old[name].cut))
    ]


class KillSwitch:
    """Cut and restore providers; `start()` the watchers before serving, `stop()` after."""

    def __init__(
        self,
        store_path: Path,
        *,
        redis_url: str | None = None,
        channel: str = "sumun:killswitch",
        poll_seconds: float = 0.2,
        on_change: Callable[[CutChange], None] | None = None,
        clock: Callable[[], float] = time.time,
        client_name: str = "sumun-killswitch",
    ) -> None:
        if not 0 < poll_seconds <= 30:
            raise ValueError("poll_seconds must be within (0, 30]")
        self._poll = poll_seconds
        self._on_change = on_change
        self._clock = clock
        self._channel = channel
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._redis: redis.Redis | None = None
        if redis_url is not None:
            try:
                self._redis = redis.Redis.from_url(
                    redis_url,
                    socket_timeout=_REDIS_TIMEOUT,
                    socket_connect_timeout=_REDIS_TIMEOUT,
                    retry=Retry(NoBackoff(), 1),
                    health_check_interval=5,  # a silently dead subscription is noticed
                    client_name=client_name,  # names our connections in `CLIENT LIST`
                )
            except ValueError as exc:  # the message names the schemes, never the URL
                raise ConfigError(f"gateway.redis_url is not a Redis URL ({exc})") from exc
        self._table = CutTable(store_path)
        # Read before anything is served: a provider cut before a restart stays cut.
        self._records = self._table.read()
        self._cut = frozenset(n for n, r in self._records.items() if r.cut)

    def __repr__(self) -> str:
        return f"<KillSwitch cut={sorted(self._cut)}>"

    # -- hot path --------------------------------------------------------------------------

    def is_cut(self, name: str) -> bool:
        return name in self._cut

    def check(self, name: str) -> None:
        """Raise ProviderCutError if `name` is cut off."""
        if name in self._cut:
            raise ProviderCutError(name)

    def cut_providers(self) -> frozenset[str]:
        return self._cut

    def records(self) -> list[CutRecord]:
        """Every provider ever cut, with the last cut or restore (who, why, when)."""
        return sorted(self._records.values(), key=lambda r: r.name)

    # -- changes ---------------------------------------------------------------------------

    def cut(self, name: str, reason: str, actor: str) -> CutRecord:
        """Cut `name` off in every process (within 1 s); durable before this returns."""
        record = CutRecord(
            _check_name(name),
            True,
            _check("reason", reason, 500),
            _check("actor", actor, 200),
            self._clock(),
        )
        self._apply(record)
        return record

    def restore(self, name: str, actor: str) -> CutRecord:
        """Let traffic reach `name` again. UsageError if it is not cut."""
        current = self._table.read().get(name)  # the truth, not this process's copy
        if current is None or not current.cut:
            raise UsageError(f"provider {name!r} is not cut")
        record = CutRecord(name, False, current.reason, _check("actor", actor, 200), self._clock())
        self._apply(record)
        return record

    def _apply(self, record: CutRecord) -> None:
        with self._lock:
            self._table.put(record)
            old = self._records
            self._records = new = {**old, record.name: record}
            self._cut = frozenset(n for n, r in new.items() if r.cut)
        self._notify(_diff(old, new, local=True))
        self._publish(record.name)

    def _publish(self, name: str) -> None:
        if self._redis is None:
            return
        try:
            self._redis.publish(self._channel, name)
        except redis.RedisError as exc:
            # Already durable; other processes see it by polling within `poll_seconds`.
            log.warning("kill switch: could not publish to Redis (%s); relying on polling", exc)

    def _reload(self, *, force: bool) -> None:
        with self._lock:
            if not self._table.changed() and not force:
                return
            new = self._table.read()
            old, self._records = self._records, new
            self._cut = frozenset(n for n, r in new.items() if r.cut)
        self._notify(_diff(old, new, local=False))

    def _notify(self, changes: list[CutChange]) -> None:
        for change in changes:
            log.info(
                "kill switch: provider %s %s by %s",
                change.provider,
                "CUT" if change.cut else "restored",
                change.actor,
            )
            if self._on_change is None:
                continue
            try:
                self._on_change(change)
            except Exception:
                # A failing hook must not stop this process from seeing further cuts.
                log.exception("kill switch: on_change hook failed")

    # -- watchers --------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        self._reload(force=True)  # whatever changed between construction and start
        threads = [threading.Thread(target=self._poll_loop, name="sumun-cut-poll", daemon=True)]
        if self._redis is not None:
            threads.append(
                threading.Thread(
                    target=self._subscribe_loop,
                    args=(self._redis,),
                    name="sumun-cut-subscribe",
                    daemon=True,
                )
            )
        for thread in threads:
            thread.start()
        self._threads = threads

    def stop(self) -> None:
        """Stop the watchers and close the store connection; this KillSwitch is done."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._redis is not None:
            self._redis.close()
        self._table.close()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self._reload(force=False)
            except Exception:
                log.exception("kill switch: polling store.db failed; retrying")

    def _subscribe_loop(self, client: redis.Redis) -> None:
        healthy = True
        while not self._stop.is_set():
            # redis-py leaves `pubsub()` unannotated; it returns a redis.client.PubSub.
            pubsub: PubSub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self._channel)
                # Anything published while we were not subscribed is lost: catch up first.
                self._reload(force=True)
                if not healthy:
                    log.warning("kill switch: Redis subscription restored")
                    healthy = True
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=0.2) is not None:
                        self._reload(force=True)
            except redis.RedisError as exc:
                if healthy:
                    log.warning("kill switch: Redis subscription lost (%s); polling only", exc)
                    healthy = False
                self._stop.wait(_RECONNECT_SECONDS)
            except SumunError:
                log.exception("kill switch: reading store.db failed; retrying")
                self._stop.wait(_RECONNECT_SECONDS)
            finally:
                pubsub.close()
