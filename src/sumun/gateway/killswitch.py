"""The provider kill switch: cut a provider off everywhere, at once, and keep it cut.

Where the truth lives: `provider_cuts` in the control store (`sumun.store.cuts`), written
durably before `cut` returns, so a restarted node starts with the provider still cut.

How every node learns of a change within 1 s: a cut is a control change, so it bumps the control
generation, and the node's `ControlWatcher` (`sumun.store.watch`: PostgreSQL LISTEN/NOTIFY,
Redis pub/sub, and a 0.2 s poll as the safety net) calls `reload`. A gateway passes its shared
watcher; a standalone KillSwitch (tests, tools) starts a watcher of its own.

The hot path, `is_cut`, is a lookup in a frozenset that `reload` replaces whole (no lock).
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

from sumun.errors import ProviderCutError, UsageError
from sumun.store.cuts import CutRecord, CutTable
from sumun.store.database import Database
from sumun.store.watch import REDIS_CHANNEL, ControlWatcher, redis_publisher

__all__ = ["CutChange", "KillSwitch"]

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")  # as ProviderConfig.name


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
    """Cut and restore providers; `start()` before serving, `stop()` after."""

    def __init__(
        self,
        store: Path | Database,
        *,
        redis_url: str | None = None,
        channel: str = REDIS_CHANNEL,
        poll_seconds: float = 0.2,
        on_change: Callable[[CutChange], None] | None = None,
        clock: Callable[[], float] = time.time,
        client_name: str = "sumun-killswitch",
        watcher: ControlWatcher | None = None,
    ) -> None:
        if not 0 < poll_seconds <= 30:
            raise ValueError("poll_seconds must be within (0, 30]")
        self._poll = poll_seconds
        self._on_change = on_change
        self._clock = clock
        self._channel = channel
        self._redis_url = redis_url
        self._client_name = client_name
        self._lock = threading.Lock()
        if isinstance(store, Path):
            # Its own store: announce each cut as the control store's drivers do (a Database
            # handed in was opened with its deployment's publisher already).
            from sumun.store.sqlite import SqliteDatabase

            publish = None
            if redis_url is not None:
                publish = redis_publisher(redis_url, channel, name=f"{client_name}-publish")
            store = SqliteDatabase(store, after_change=publish)
        self._table = CutTable(store)
        self._watcher = watcher
        self._own_watcher: ControlWatcher | None = None
        if watcher is not None:
            watcher.subscribe("kill switch", lambda _generation: self.reload())
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
        """Cut `name` off on every node (within 1 s); durable before this returns."""
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

    def reload(self) -> None:
        """Re-read the cuts (the watcher calls this whenever the control generation moves)."""
        with self._lock:
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

    # -- watching --------------------------------------------------------------------------

    def start(self) -> None:
        self.reload()  # whatever changed between construction and start
        if self._watcher is not None or self._own_watcher is not None:
            return
        watcher = ControlWatcher(
            self._table.database,
            poll_seconds=min(self._poll, 5.0),
            max_stale_seconds=max(1.0, self._poll),
            redis_url=self._redis_url,
            redis_channel=self._channel,
            redis_name=self._client_name,
        )
        watcher.subscribe("kill switch", lambda _generation: self.reload())
        watcher.start()
        self._own_watcher = watcher

    def stop(self) -> None:
        """Stop watching and close the store connection; this KillSwitch is done."""
        if self._own_watcher is not None:
            self._own_watcher.stop()
            self._own_watcher = None
        self._table.close()
