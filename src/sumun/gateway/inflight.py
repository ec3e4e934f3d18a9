"""Admitted requests still running, so that `sumun seal` can end them while the keys still work.

A request's `request-completed` entry carries its answer sealed under the tenant key; once the
keys are sealed nothing can seal it any more. So sealing (the admin channel, sumun.admin.server)
first runs `InFlight.stopped("sealed", within)`:

    1. no new ticket: a request admitted from then on is refused 503 (`StoppedError`)
    2. every running request is stopped: a stream ends with an error event in the caller's wire
       format, a request waiting for its answer gets 503; each records its `request-completed`
       entry (outcome "sealed", the answer so far as payload) and only then closes its ticket
    3. the seal waits — at most `within` — until every ticket is closed, then goes ahead

The entries are queued by then, payloads sealed; committing them needs no key, and if the store
cannot take them they are spooled and appended later (sumun.ledger.spool). A request that has
not ended within the bound (a client that stopped reading) still records its completion when it
ends, without the payload it can no longer seal (`attrs.payload_dropped`, gateway.pipeline).

How a stop reaches a request: its ticket's task is cancelled, but only while it waits for the
upstream (`until_stopped` marks that; a non-streamed request waits throughout) — never while a
chunk is being handed to the client, where a cancellation would cut the connection without an
ending; a stream in that state sees the stop as soon as the chunk is out. The request absorbs
that one cancellation (`Ticket.claim`) so that it can still answer; any other cancellation (the
client went away, shutdown) passes through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator

from sumun.errors import SealedError

__all__ = ["SEAL_GRACE_SECONDS", "InFlight", "StoppedError", "Ticket", "until_stopped"]

# How long `sumun seal` waits for the stopped requests to record their endings (a stopped
# stream needs milliseconds: the bound is for a client that does not read).
SEAL_GRACE_SECONDS = 1.0


class StoppedError(SealedError):
    """A running request ended by `sumun seal` (HTTP 503, outcome `sealed`)."""

    outcome = "sealed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Sumun was {reason} while this request ran, so it was stopped")
        self.reason = reason


class Ticket:
    """One admitted request that has not recorded its ending yet."""

    __slots__ = ("__weakref__", "_cancelled", "_closed", "_loop", "_task", "_waiting", "reason")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[object] | None) -> None:
        self._loop = loop
        self._task = task
        self._waiting = True  # cancellable now: a request waits for its upstream throughout
        self._cancelled = False
        self._closed = False
        self.reason: str | None = None

    def hand_over(self) -> None:
        """A stream's body takes the ticket (it runs later, maybe in another task)."""
        self._task, self._waiting = None, False

    def follow(self) -> None:
        """The current task now carries the request."""
        self._task = asyncio.current_task()

    def check(self) -> None:
        if self.reason is not None:
            raise StoppedError(self.reason)

    def claim(self) -> bool:
        """Inside `except CancelledError`: True if it was this ticket's stop, now absorbed."""
        if not self._cancelled:
            return False
        self._cancelled = False
        task = asyncio.current_task()
        return task is None or task.uncancel() == 0

    def _stop(self, reason: str) -> None:  # on the ticket's event loop
        if self.reason is not None or self._closed:  # closed: its task may be sending
            return
        self.reason = reason
        if self._waiting and self._task is not None and not self._task.done():
            self._cancelled = True
            self._task.cancel(f"sumun: {reason}")


async def until_stopped(ticket: Ticket, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`source`, ending with `StoppedError` once the ticket is stopped (module docstring)."""
    ticket.follow()
    ticket.check()
    while True:
        ticket._waiting = True
        try:
            chunk = await anext(source)
        except StopAsyncIteration:
            return
        except asyncio.CancelledError:
            if ticket.claim():
                raise StoppedError(ticket.reason or "stopped") from None
            raise
        finally:
            ticket._waiting = False
        yield chunk
        ticket.check()


class InFlight:
    """The tickets of one gateway. `open`/`close` on the event loop; `stopped` from any other
    thread (the admin channel's handlers run in the thread pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # Weak: a stream whose body never ran (its client left before) leaves nothing behind.
        self._tickets: weakref.WeakSet[Ticket] = weakref.WeakSet()
        self._closing: str | None = None

    def __len__(self) -> int:
        return len(self._tickets)

    def open(self) -> Ticket:
        """A ticket for the current request; `StoppedError` while requests are being stopped."""
        ticket = Ticket(asyncio.get_running_loop(), asyncio.current_task())
        with self._lock:
            if self._closing is not None:
                raise StoppedError(self._closing)
            self._tickets.add(ticket)
        return ticket

    def close(self, ticket: Ticket) -> None:
        """The request recorded its ending (its payload sealed): nothing stops it any more."""
        ticket._closed = True
        with self._lock:
            self._tickets.discard(ticket)
            self._changed.notify_all()

    @contextlib.contextmanager
    def stopped(self, reason: str, *, within: float) -> Iterator[int]:
        """Stop every running request, refuse new ones for the block, and wait (at most
        `within` seconds) until each recorded its ending; yields how many had not."""
        with self._lock:
            self._closing = reason
            running = list(self._tickets)
        for ticket in running:
            with contextlib.suppress(RuntimeError):  # its loop is closed: nothing runs there
                ticket._loop.call_soon_threadsafe(ticket._stop, reason)
        deadline = time.monotonic() + within
        try:
            with self._lock:
                while len(self._tickets) and (left := deadline - time.monotonic()) > 0:
                    self._changed.wait(min(left, 0.05))
                unfinished = len(self._tickets)
            yield unfinished
        finally:
            with self._lock:
                self._closing = None
