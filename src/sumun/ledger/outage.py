"""When the ledger store fails and when it comes back: spool, count, replay, record the outage.

The ledger's writer thread (`sumun.ledger.sequencer`) reports to `Recovery`:

- `failed(queued, strict, error)`: a batch did not commit. Its queued entries (nobody waits for
  them: `request-completed`) go to the spool (`sumun.ledger.spool`); its strict entries failed
  their callers, who refused the request or the operation — they are counted. Entries the spool
  cannot take either are lost: counted, logged, and reported by `/readyz` until recovery.
- `committed(result)`: a batch went in — the store takes appends again.
- `due()` / `recover()`: while an outage is open or the spool holds entries, every
  `retry_seconds` (at once after a commit) the writer replays the spool, oldest first, and
  appends one `ledger-recovery` entry: when the outage began, why, how many entries were
  refused, spooled, replayed, found already recorded, and lost. That entry is the probe too: a
  node that a load balancer took out of service (its /readyz said 503) finds out by it that
  the store is back, without any traffic.

A replay never records an entry twice: entries the log already holds from the spool's hint on
are skipped (a commit whose outcome was unknown, a replay cut short by a crash), and so is a
whole segment that an earlier `ledger-recovery` entry names — that entry went in atomically with
the segment's last entries, so it proves the segment complete.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sumun.errors import LedgerError
from sumun.ledger.entry import (
    EntryDraft,
    EntryKind,
    EntryMeta,
    decode_entry,
    entry_identity,
    kind_marker,
)
from sumun.ledger.spool import Segment, Spool, SpooledEntry
from sumun.ledger.store.base import AppendResult, LedgerStore

__all__ = ["Recovery", "SpoolStats"]

log = logging.getLogger("sumun.ledger")

_REASON_CHARS = 300

_RECOVERY_MARK = kind_marker(EntryKind.LEDGER_RECOVERY)  # canonical JSON: an exact match


@dataclass(frozen=True, slots=True)
class SpoolStats:
    """Totals since this process started (the metrics), and the spool's depth now."""

    spooled: int
    replayed: int
    lost: int
    depth: int


@dataclass
class _Outage:
    since_ms: int
    reason: str
    failed_batches: int = 0
    refused: int = 0
    spooled: int = 0
    lost: int = 0


class Recovery:
    def __init__(
        self,
        store: LedgerStore,
        spool: Spool,
        *,
        batch_max: int,
        retry_seconds: float,
        ready_depth: int,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._spool = spool
        self._batch_max = batch_max
        self._retry = retry_seconds
        self._ready_depth = ready_depth
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()  # the writer changes the state; readyz and metrics read it
        self._outage: _Outage | None = None
        self._store_problem: str | None = None
        self._spool_problem: str | None = None
        self._known_size: int | None = None  # the tree size after this process's last commit
        self._next_try = 0.0
        self._spooled = self._replayed = self._lost = 0

    def __repr__(self) -> str:
        return f"<Recovery outage={self._outage is not None} depth={self._spool.depth()}>"

    # -- read by readiness and metrics (any thread) -----------------------------------------

    def stats(self) -> SpoolStats:
        with self._lock:
            return SpoolStats(self._spooled, self._replayed, self._lost, self._spool.depth())

    def problem(self) -> str | None:
        """Why this node cannot record now, or None. An answer for /readyz."""
        with self._lock:
            if self._spool_problem is not None:
                return (
                    f"the ledger spool cannot be written ({self._lost} entries lost so far): "
                    f"{self._spool_problem}"
                )
            if self._store_problem is not None:
                return f"the ledger store cannot append: {self._store_problem}"
        depth = self._spool.depth()
        if depth > self._ready_depth:
            return f"{depth} ledger entries wait in the spool (more than {self._ready_depth})"
        return None

    # -- called by the writer thread --------------------------------------------------------

    def committed(self, result: AppendResult) -> None:
        with self._lock:
            self._known_size = result.size
            if self._store_problem is not None:
                self._store_problem = None
                self._next_try = 0.0  # the store is back: replay now

    def failed(self, queued: Sequence[EntryDraft], strict: int, error: LedgerError) -> None:
        with self._lock:
            outage = self._outage
            if outage is None:
                outage = self._outage = _Outage(int(self._clock() * 1000), str(error))
            outage.failed_batches += 1
            outage.refused += strict
            first = self._store_problem is None
            self._store_problem = str(error)
            self._next_try = self._monotonic() + self._retry
            hint = self._known_size
        if first:
            log.error("the ledger store cannot append: %s", error)
        if not queued:
            return
        try:
            self._spool.keep(queued, hint)
        except Exception as exc:  # OSError, a full spool — or a bug: the entries are lost
            with self._lock:
                first = outage.lost == 0
                self._lost += len(queued)
                outage.lost += len(queued)
                self._spool_problem = str(exc)
            if first:  # once per outage; the recovery entry and the metrics count them all
                log.error("ledger entries lost: the spool cannot keep them either: %s", exc)
            return
        with self._lock:
            first = outage.spooled == 0
            self._spooled += len(queued)
            outage.spooled += len(queued)
            self._spool_problem = None
        if first:
            log.warning("ledger entries go to the spool at %s meanwhile", self._spool.folder)

    def due(self) -> float | None:
        """Seconds until `recover` should run; None while there is nothing to recover."""
        with self._lock:
            if self._outage is None and self._spool.depth() == 0:
                return None
            return max(0.0, self._next_try - self._monotonic())

    def recover(self) -> None:
        """Replay the spool and record the outage; on failure try again in `retry_seconds`."""
        try:
            self._replay()
        except Exception as exc:  # the store still failing, the spool unreadable, or a bug
            with self._lock:
                self._next_try = self._monotonic() + self._retry
                if isinstance(exc, LedgerError):
                    self._store_problem = self._store_problem or str(exc)
                else:
                    self._spool_problem = str(exc)
            if isinstance(exc, LedgerError):
                log.debug("ledger recovery not yet possible: %s", exc)
            else:
                log.exception("ledger recovery failed")

    def _replay(self) -> None:
        self._store.size()  # a cheap probe first: no segment is claimed while the store is gone
        with self._spool.claim() as segments:
            with self._lock:
                outage = self._outage
            entries = [entry for segment in segments for entry in segment.entries]
            todo, recorded, done_segments = self._unrecorded(entries, segments)
            damaged = sum(segment.damaged for segment in segments)
            drafts = [entry.draft for entry in todo]
            if outage is not None or len(done_segments) < len(segments) or damaged:
                drafts.append(self._entry(outage, segments, len(todo), recorded, damaged))
            for start in range(0, len(drafts), self._batch_max):
                result = self._store.append_batch(drafts[start : start + self._batch_max])
                with self._lock:
                    self._known_size = result.size
            with self._lock:  # all in: the outage is over (before the depth drops to 0)
                self._replayed += len(todo)
                self._lost += damaged
                if self._outage is outage:
                    self._outage = None
                self._store_problem = self._spool_problem = None
            self._spool.finish(segments)
        if drafts:
            log.warning(
                "the ledger store takes appends again: %d spooled entries replayed, "
                "%d were already recorded, %d lost",
                len(todo),
                recorded,
                (outage.lost if outage else 0) + damaged,
            )

    def _unrecorded(
        self, entries: Sequence[SpooledEntry], segments: Sequence[Segment]
    ) -> tuple[list[SpooledEntry], int, set[str]]:
        """(entries not in the log yet, how many are, segments a recovery entry names)."""
        if not entries:
            return [], 0, set()
        wanted = {entry.draft.identity() for entry in entries}
        size = self._store.size()
        floor = min(size, *(_floor(entry) for entry in entries))
        ids = {segment.id for segment in segments}
        found: set[bytes] = set()
        done: set[str] = set()
        for stored in self._store.entries(floor, size):
            if _RECOVERY_MARK in stored.entry:
                named = str(decode_entry(stored.entry)["attrs"].get("segments", ""))
                done |= ids & set(named.split(","))
                continue
            identity = entry_identity(stored.entry)
            if identity in wanted:
                found.add(identity)
        done_entries = {
            id(entry) for segment in segments if segment.id in done for entry in segment.entries
        }
        todo = [
            entry
            for entry in entries
            if id(entry) not in done_entries and entry.draft.identity() not in found
        ]
        return todo, len(entries) - len(todo), done

    def _entry(
        self,
        outage: _Outage | None,
        segments: Sequence[Segment],
        replayed: int,
        recorded: int,
        damaged: int,
    ) -> EntryDraft:
        found = sum(len(segment.entries) for segment in segments) + damaged
        meta = EntryMeta(
            kind=EntryKind.LEDGER_RECOVERY,
            tenant="sumun",
            time_ms=int(self._clock() * 1000),
            decision="recovered",
            attrs={
                "since_ms": str(outage.since_ms) if outage else "",
                "reason": (outage.reason if outage else "spool left by an earlier run")[
                    :_REASON_CHARS
                ],
                "failed_batches": str(outage.failed_batches if outage else 0),
                "refused": str(outage.refused if outage else 0),
                "spooled": str(found),
                "replayed": str(replayed),
                "already_recorded": str(recorded),
                "lost": str((outage.lost if outage else 0) + damaged),
                "segments": ",".join(segment.id for segment in segments),
            },
        )
        return EntryDraft(meta, None)


def _floor(entry: SpooledEntry) -> int:
    """The tree size below which `entry` cannot be: its hint, else after its admission."""
    if entry.hint is not None:
        return entry.hint
    admitted = entry.draft.meta.attrs.get("admitted_seq", "")
    return int(admitted) + 1 if admitted.isdigit() else 0
