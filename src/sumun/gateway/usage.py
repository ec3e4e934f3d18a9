"""Usage counts for the console's overview, gathered off the request path's critical work.

`UsageRollup.record` is called once per admitted request, where its ending is recorded
(`Gateway._completed`): it adds to an in-memory table keyed by minute, tenant, provider and
decision — a dict lookup and a few additions, no I/O. `UsageFlusher` moves that table into the
control store (`sumun.store.usage`) every `every` seconds and once more at shutdown, so the
hot path never waits on a database write. A flush that fails is kept and retried with the next
one (bounded: past `max_keys` pending keys, new keys are dropped and counted in the log).

Only admitted requests are counted (each has a decision); refusals before admission (401,
limits) are in the Prometheus metrics and, for known callers, the ledger.

Spend (`record_spend`, from the answer's tokens at the price table's price) is accumulated per
minute, tenant, app, key and currency the same way and flushed with the counts into the spend
rollup (`sumun.store.spend`); an answer whose cost is unknown is counted as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from sumun.errors import SumunError
from sumun.gateway.admission import Decision
from sumun.gateway.spend import Money
from sumun.ledger.entry import EntryMeta
from sumun.store.spend import UNPRICED, SpendKey, SpendStore
from sumun.store.usage import (
    RETENTION_SECONDS,
    SPANS,
    UsageCounts,
    UsageKey,
    UsageRow,
    UsageStore,
    latency_bucket,
)

__all__ = ["DECISIONS", "UsageFlusher", "UsageRollup", "decision_label", "node_name"]

log = logging.getLogger("sumun.gateway.usage")

# The decisions the overview shows, in stacking order.
DECISIONS = ("allowed", "masked", "pseudonymized", "rerouted", "blocked")
_MINUTE = 60


def decision_label(decision: Decision | None) -> str:
    """The overview's name for a decision: a transform is `pseudonymized` when any type was
    pseudonymized (the answer is restored), else `masked`."""
    if decision is None or decision.action == "allow":
        return "allowed"
    if decision.action == "transform":
        return "pseudonymized" if "pseudonymize" in decision.pii_actions else "masked"
    return "rerouted" if decision.action == "reroute" else "blocked"


def node_name() -> str:
    """This process's rows in the rollup: host and pid (rows of every node are summed)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class UsageRollup:
    """The per-node accumulator. Thread-safe (an uncontended lock: ~0.1 µs)."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._pending: dict[UsageKey, UsageCounts] = {}
        self._spend: dict[SpendKey, list[int]] = {}  # [micros, answers]
        self._max_keys = max_keys
        self.dropped = 0  # requests not counted because the pending table was full

    def record(self, meta: EntryMeta, decision: Decision | None, status: int) -> None:
        """Count one `request-completed` entry (its tenant, provider, tokens, latency)."""
        seconds = meta.time_ms // 1000
        key = UsageKey(
            seconds - seconds % _MINUTE,
            meta.tenant,
            meta.provider or "none",
            decision_label(decision),
        )
        slot = latency_bucket((meta.latency_us or 0) / 1000)
        with self._lock:
            counts = self._pending.get(key)
            if counts is None:
                if len(self._pending) >= self._max_keys:
                    self.dropped += 1
                    return
                counts = self._pending[key] = UsageCounts()
            counts.requests += 1
            counts.errors += status >= 400
            counts.tokens_in += meta.tokens_in or 0
            counts.tokens_out += meta.tokens_out or 0
            counts.histogram()[slot] += 1

    def record_spend(
        self, tenant: str, app: str | None, key_id: str, cost: Money | None, *, time_s: float
    ) -> None:
        """Count one answer's cost; None: its cost is unknown (no price for its model)."""
        seconds = int(time_s)
        currency = UNPRICED if cost is None else cost.currency
        key = SpendKey(seconds - seconds % _MINUTE, tenant, app or "", key_id, currency)
        with self._lock:
            total = self._spend.get(key)
            if total is None:
                if len(self._spend) >= self._max_keys:
                    self.dropped += 1
                    return
                total = self._spend[key] = [0, 0]
            total[0] += 0 if cost is None else cost.micros
            total[1] += 1

    def take_spend(self) -> list[tuple[SpendKey, int, int]]:
        """The spend accumulated since the last take: (key, micros, answers)."""
        with self._lock:
            pending, self._spend = self._spend, {}
        return [(k, v[0], v[1]) for k, v in pending.items()]

    def give_back_spend(self, rows: list[tuple[SpendKey, int, int]]) -> None:
        with self._lock:
            for key, micros, answers in rows:
                total = self._spend.setdefault(key, [0, 0])
                total[0] += micros
                total[1] += answers

    def take(self) -> list[UsageRow]:
        """Everything accumulated since the last take (the table starts empty again)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return [UsageRow(k, c) for k, c in pending.items()]

    def give_back(self, rows: list[UsageRow]) -> None:
        """A flush that failed: its counts go back, to be added by the next flush."""
        with self._lock:
            for row in rows:
                counts = self._pending.get(row.key)
                if counts is None:
                    if len(self._pending) >= self._max_keys:
                        self.dropped += row.counts.requests
                        continue
                    self._pending[row.key] = row.counts
                else:
                    counts.add(row.counts)


class UsageFlusher:
    """Flushes a rollup into the store every `every` seconds, and purges old rows hourly."""

    def __init__(
        self,
        rollup: UsageRollup,
        store: Callable[[], UsageStore],
        *,
        node: str | None = None,
        every: float = 5.0,
        purge_every: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rollup = rollup
        self._store = store
        self.node = node or node_name()
        self.every = every
        self.purge_every = purge_every
        self._clock = clock
        self._last_purge = 0.0

    def flush(self) -> int:
        """One flush (blocking: run it in a worker thread); the number of rows written."""
        rows = self.rollup.take()
        spend = self.rollup.take_spend()
        try:
            store = self._store()
            store.add(self.node, rows)
        except SumunError as exc:
            self.rollup.give_back(rows)
            self.rollup.give_back_spend(spend)
            log.warning("usage rollup not flushed (kept for the next try): %s", exc)
            return 0
        try:
            if spend:
                SpendStore(store.db).add(self.node, spend, SPANS)
        except SumunError as exc:
            self.rollup.give_back_spend(spend)
            log.warning("spend rollup not flushed (kept for the next try): %s", exc)
        now = self._clock()
        if now - self._last_purge >= self.purge_every:
            self._last_purge = now
            try:
                store.purge(now)
                SpendStore(store.db).purge(RETENTION_SECONDS, now)
            except SumunError as exc:
                log.warning("old usage rows not purged: %s", exc)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush until `stop` is set, then once more (the requests drained before it)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            try:
                await run_in_threadpool(self.flush)
            except Exception:  # pragma: no cover - counting must never stop the server
                log.exception("usage flush failed")
