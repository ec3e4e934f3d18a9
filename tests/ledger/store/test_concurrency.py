"""One sequencer at a time: threads, store instances, processes — and SIGKILL mid-append."""

from __future__ import annotations

import itertools
import random
import select
import signal
import threading
import time

from sumun.ledger.entry import decode_entry
from sumun.ledger.store.base import LedgerStore
from tests.ledger.store._support import Backend, assert_consistent, drafts, parse_lines


def _check_disjoint_cover(placed: list[tuple[str, int, int, int]], size: int) -> None:
    """(tag, first draft index, first seq, count) ranges tile [0, size) exactly once."""
    seen = sorted((first, count) for _tag, _start, first, count in placed)
    position = 0
    for first, count in seen:
        assert first == position, f"seq {position} missing or duplicated (next batch at {first})"
        position += count
    assert position == size


def _check_owners(store: LedgerStore, placed: list[tuple[str, int, int, int]]) -> None:
    entries = {e.seq: decode_entry(e.entry) for e in store.entries(0, store.size())}
    for tag, start, first, count in placed:
        for j in range(count):
            attrs = entries[first + j]["attrs"]
            assert (attrs["tag"], int(attrs["i"])) == (tag, start + j)


def test_two_store_instances_interleave_into_one_tree(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    placed = []
    written = {"a": 0, "b": 0}
    rng = random.Random(7)
    for k in range(40):
        tag, store = ("a", a) if k % 3 else ("b", b)
        n = rng.randint(1, 40)
        before = store.size()
        result = store.append_batch(drafts(tag, n, start=written[tag]))
        assert result.first_seq == before  # it saw the other instance's appends
        placed.append((tag, written[tag], result.first_seq, n))
        written[tag] += n
    assert a.size() == b.size() == sum(written.values())
    assert a.root() == b.root()
    _check_disjoint_cover(placed, a.size())
    _check_owners(a, placed)
    assert_consistent(b)


def test_eight_threads_append_concurrently(backend: Backend) -> None:
    stores = [backend.open(), backend.open()]
    placed: list[tuple[str, int, int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def run(t: int) -> None:
        store, rng, written = stores[t % 2], random.Random(t), 0
        try:
            start.wait(timeout=10)
            for _ in range(15):
                n = rng.randint(1, 30)
                result = store.append_batch(drafts(f"t{t}", n, start=written))
                with lock:
                    placed.append((f"t{t}", written, result.first_seq, n))
                written += n
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert all(not thread.is_alive() for thread in threads)
    size = stores[0].size()
    assert size == sum(n for *_x, n in placed)
    _check_disjoint_cover(placed, size)
    _check_owners(stores[1], placed)
    assert_consistent(stores[0])


def test_worker_processes_share_one_sequencer(backend: Backend) -> None:
    backend.open()  # create the ledger first, as a deployment would
    start_at = str(time.time() + 1.0)
    workers = [backend.worker(f"w{k}", "40", str(k), start_at) for k in range(3)]
    placed = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        for line in parse_lines(out):
            tag, first, n = str(line["tag"]), int(line["first"]), int(line["n"])
            placed.append((tag, first, n))
    # Recover each batch's first draft index from the worker's own order.
    starts: dict[str, int] = {}
    ranges = []
    for tag, first, n in placed:  # communicate() keeps each worker's lines in order
        ranges.append((tag, starts.get(tag, 0), first, n))
        starts[tag] = starts.get(tag, 0) + n
    store = backend.open()
    _check_disjoint_cover(ranges, store.size())
    by_seq = [tag for tag, _start, _first, _n in sorted(ranges, key=lambda r: r[2])]
    switches = sum(1 for x, y in itertools.pairwise(by_seq) if x != y)
    assert switches >= 10, "the workers did not actually overlap"
    _check_owners(store, ranges)
    assert_consistent(store)


def _settled_size(store: LedgerStore, *, quiet_s: float = 0.5, limit_s: float = 10.0) -> int:
    size, since, deadline = store.size(), time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        time.sleep(0.05)
        now = store.size()
        if now != size:
            size, since = now, time.monotonic()
    return size


def test_sigkill_mid_append_loses_nothing_committed(backend: Backend) -> None:
    backend.open().close()
    for round_ in range(2):
        tag = f"k{round_}"
        worker = backend.worker(tag, "forever", str(round_))
        assert worker.stdout is not None
        # Wait (bounded) until it is appending for real: imports and connecting take a moment.
        ready, _w, _x = select.select([worker.stdout], [], [], 20)
        first_line = worker.stdout.readline() if ready else ""
        assert first_line, "the worker did not start appending"
        time.sleep(1.0 + random.random() * 0.2)
        worker.send_signal(signal.SIGKILL)
        rest, _err = worker.communicate(timeout=10)
        assert worker.returncode == -signal.SIGKILL
        printed = parse_lines(first_line + rest)
        assert len(printed) > 1
        store = backend.open()
        # A COMMIT the worker sent just before it died may still complete on a database server
        # (PostgreSQL finishes a transaction whose client is gone): read the size once it has
        # settled, or the append below would race that last batch.
        size = _settled_size(store)
        # Every size the worker saw returned is durable...
        assert max(int(line["size"]) for line in printed) <= size
        ranges, start = [], 0
        for line in printed:
            first, n = int(line["first"]), int(line["n"])
            assert first + n == int(line["size"])
            ranges.append((tag, start, first, n))
            start += n
        _check_owners(store, ranges)
        # ...and nothing half-written is visible: entries 0..size-1 contiguous, every node
        # and the stored root recomputed from them.
        assert_consistent(store)
        # The ledger is writable again (the killed sequencer's lock is gone).
        assert store.append_batch(drafts("after", 3)).first_seq == size
        store.close()
