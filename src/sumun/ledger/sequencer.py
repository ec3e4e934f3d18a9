"""Group commit: concurrent appenders share one durable commit.

Appenders put a draft on a queue and get a `Receipt`. One writer thread drains the queue
(up to `batch_max` drafts) and hands the batch to the store's `append_batch`, which commits it
atomically; then every receipt in the batch learns its sequence number — or the error, so a
caller never believes an append succeeded that did not.

Durability modes:
- `strict`: `append` returns only after the batch holding the entry is committed. No added
  delay: drafts that arrive while a commit is in flight form the next batch, so throughput
  grows with concurrency (64 appenders share one fsync).
- `batched`: `append` returns at once; the writer waits up to `batch_delay_ms` to fill a batch.
  Loss window on a crash: entries appended in the last `batch_delay_ms` plus the batch being
  committed. `Receipt.wait()` still gives the sequence number once durable.

A failed batch fails its strict appenders (they refuse what they were doing); its batched
drafts, which nobody waits for, go to the `Fallback` (the ledger's spool and recovery,
sumun.ledger.outage) before the failure is reported, so `flush()` returning means every draft
was committed or kept. The writer also runs the fallback's recovery when it is due.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from sumun.errors import LedgerError, LedgerUnavailableError
from sumun.ledger.entry import EntryDraft
from sumun.ledger.store.base import AppendResult, LedgerStore

__all__ = ["Fallback", "Receipt", "Sequencer"]

Durability = Literal["strict", "batched"]


class Fallback(Protocol):
    """What the writer does about failed batches (see sumun.ledger.outage.Recovery)."""

    def committed(self, result: AppendResult) -> None: ...

    def failed(self, queued: Sequence[EntryDraft], strict: int, error: LedgerError) -> None:
        """Keep the batched drafts of a failed batch (MUST NOT raise)."""
        ...

    def due(self) -> float | None:
        """Seconds until `recover` should run, None when there is nothing to recover."""
        ...

    def recover(self) -> None:
        """MUST NOT raise: a failed attempt is retried when due again."""
        ...


class Receipt:
    """The outcome of one append: a sequence number once committed, or the failure.

    Receipts are cheap (no lock or event of their own): waiters sleep on the sequencer's one
    condition, which the writer notifies once per committed batch.
    """

    __slots__ = ("_done", "_error", "_on_done", "_seq", "_signal")

    def __init__(
        self, signal: threading.Condition, on_done: Callable[[], None] | None = None
    ) -> None:
        self._signal = signal
        self._on_done = on_done  # runs on the writer thread once resolved (e.g. wake an event loop)
        self._done = False
        self._seq: int | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._done

    def wait(self, timeout: float | None = None) -> int:
        """Block until durable; return the seq or raise the store's error."""
        if not self._done:
            with self._signal:
                if not self._signal.wait_for(lambda: self._done, timeout):
                    raise LedgerUnavailableError(f"ledger commit did not finish within {timeout} s")
        if self._error is not None:
            raise self._error
        assert self._seq is not None  # noqa: S101 - resolved without error means a seq
        return self._seq


class Sequencer:
    def __init__(
        self,
        store: LedgerStore,
        *,
        batch_max: int = 1024,
        batch_delay_ms: int = 20,
        on_batch: Callable[[AppendResult, int], None] | None = None,
        fallback: Fallback | None = None,
    ) -> None:
        self._store = store
        self._batch_max = batch_max
        self._delay = batch_delay_ms / 1000
        self._on_batch = on_batch
        self._fallback = fallback
        self._queue: deque[tuple[EntryDraft, Receipt, bool]] = deque()
        self._strict_queued = 0  # strict drafts in the queue: they must not wait for a batch
        self._cond = threading.Condition()
        self._committed = threading.Condition()  # notified once per finished batch
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="sumun-ledger-writer", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<Sequencer {self._store.name} queued={len(self._queue)}>"

    def submit(
        self,
        draft: EntryDraft,
        durability: Durability,
        on_done: Callable[[], None] | None = None,
    ) -> Receipt:
        receipt = Receipt(self._committed, on_done)
        lazy = durability == "batched"
        with self._cond:
            if self._closed:
                raise LedgerUnavailableError("the ledger is closed")
            self._queue.append((draft, receipt, lazy))
            if not lazy:
                self._strict_queued += 1
            # Wake the writer only when it has something to do now: a strict draft, a full
            # batch, or the first draft into an empty queue (it then times the batch delay).
            if not lazy or len(self._queue) == 1 or len(self._queue) >= self._batch_max:
                self._cond.notify()
        return receipt

    def append(self, draft: EntryDraft, durability: Durability, timeout: float) -> Receipt:
        receipt = self.submit(draft, durability)
        if durability == "strict":
            receipt.wait(timeout)
        return receipt

    def _take(self, timeout: float | None) -> list[tuple[EntryDraft, Receipt, bool]] | None:
        """The next batch; [] when `timeout` passed first; None once closed and drained."""
        with self._cond:
            while not self._queue and not self._closed:
                if not self._cond.wait(timeout) and timeout is not None:
                    return []
            if not self._queue:
                return None
            # Only batched-mode drafts wait to fill a batch; a strict appender is never delayed.
            if self._delay and all(lazy for _d, _r, lazy in self._queue):
                self._cond.wait_for(
                    lambda: (
                        self._closed
                        or len(self._queue) >= self._batch_max
                        or not all(lazy for _d, _r, lazy in self._queue)
                    ),
                    timeout=self._delay,
                )
            count = min(len(self._queue), self._batch_max)
            return [self._queue.popleft() for _ in range(count)]

    def _finish(
        self,
        batch: list[tuple[EntryDraft, Receipt, bool]],
        first: int | None,
        error: BaseException | None,
    ) -> None:
        with self._committed:
            for offset, (_draft, receipt, _lazy) in enumerate(batch):
                receipt._seq = None if first is None else first + offset
                receipt._error = error
                receipt._done = True
            self._committed.notify_all()
        for _draft, receipt, _lazy in batch:
            if receipt._on_done is not None:
                # A waiter that went away (closed event loop) must not stop the writer.
                with contextlib.suppress(Exception):
                    receipt._on_done()

    def _run(self) -> None:
        fallback = self._fallback
        while True:
            due = None if fallback is None else fallback.due()
            if fallback is not None and due is not None and due <= 0:
                fallback.recover()
                due = fallback.due()
            batch = self._take(due)
            if batch is None:
                return
            if not batch:
                continue
            try:
                result = self._store.append_batch([draft for draft, _r, _l in batch])
            except LedgerError as exc:
                self._failed(batch, exc)
                continue
            except Exception as exc:  # a store bug must still fail the callers, loudly
                error = LedgerUnavailableError(f"ledger store failed: {exc!r}")
                error.__cause__ = exc
                self._failed(batch, error)
                continue
            if self._fallback is not None:
                self._fallback.committed(result)
            self._finish(batch, result.first_seq, None)
            if self._on_batch is not None:
                self._on_batch(result, len(batch))

    def _failed(self, batch: list[tuple[EntryDraft, Receipt, bool]], error: LedgerError) -> None:
        if self._fallback is not None:
            queued = [draft for draft, _r, lazy in batch if lazy]
            self._fallback.failed(queued, len(batch) - len(queued), error)
        self._finish(batch, None, error)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything submitted so far is committed (or failed)."""
        marker = None
        with self._cond:
            if self._queue:
                marker = self._queue[-1][1]
        if marker is not None:
            with self._committed:
                self._committed.wait_for(lambda: marker._done, timeout)

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
