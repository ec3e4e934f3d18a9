"""The writer thread wakes asyncio waiters once per burst, and never trips on a closed loop."""

from __future__ import annotations

import asyncio
import threading

from sumun.ledger.wakeup import LoopWaker


def test_a_burst_of_resolutions_is_one_loop_callback() -> None:
    async def main() -> tuple[int, list[bool]]:
        loop = asyncio.get_running_loop()
        waker = LoopWaker(loop)
        futures = [loop.create_future() for _ in range(100)]
        calls = [0]
        real = loop.call_soon_threadsafe

        def counting(callback, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls[0] += 1
            return real(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        writer = threading.Thread(target=lambda: [waker.resolve(f) for f in futures])
        writer.start()
        writer.join()
        await asyncio.wait_for(asyncio.gather(*futures), 5)
        return calls[0], [f.done() for f in futures]

    calls, done = asyncio.run(main())
    assert all(done)
    assert calls == 1  # the whole burst arrived before the loop ran the callback


def test_a_waiter_that_gave_up_is_skipped_and_later_bursts_still_wake() -> None:
    async def main() -> bool:
        loop = asyncio.get_running_loop()
        waker = LoopWaker(loop)
        gone = loop.create_future()
        gone.cancel()
        waker.resolve(gone)
        await asyncio.sleep(0)
        later = loop.create_future()
        threading.Thread(target=waker.resolve, args=(later,)).start()
        await asyncio.wait_for(later, 5)
        return later.done() and gone.cancelled()

    assert asyncio.run(main())


def test_a_closed_loop_is_not_an_error() -> None:
    loop = asyncio.new_event_loop()
    future: asyncio.Future[None] = loop.create_future()
    waker = LoopWaker(loop)
    loop.close()
    waker.resolve(future)  # the writer thread must not die on it
    waker.resolve(future)
