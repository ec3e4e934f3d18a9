"""A separate process appending to a store: `python -m tests.ledger.store._worker`.

    _worker sqlite PATH     TAG BATCHES|forever SEED [START_AT]
    _worker postgres SCHEMA TAG BATCHES|forever SEED [START_AT]  (DSN: SUMUN_TEST_WORKER_DSN)

START_AT (a time.time() value) lines several workers up so that their appends overlap.

After each `append_batch` returns (i.e. after the commit), prints one JSON line
{"tag", "first", "size", "n"} and flushes: every printed size is durable.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

from sumun.ledger.store.base import LedgerStore
from tests.ledger.store._support import drafts


def _open(kind: str, target: str) -> LedgerStore:
    if kind == "sqlite":
        from sumun.ledger.store.sqlite import SqliteStore

        return SqliteStore(Path(target), timeout=10)
    from sumun.ledger.store.postgres import PostgresStore

    return PostgresStore(os.environ["SUMUN_TEST_WORKER_DSN"], schema=target, timeout=10)


def main(argv: list[str]) -> None:
    kind, target, tag, batches, seed, *start_at = argv
    rng = random.Random(int(seed))
    store = _open(kind, target)
    if start_at:
        time.sleep(max(0.0, float(start_at[0]) - time.time()))
    count = 0
    k = 0
    while batches == "forever" or k < int(batches):
        n = rng.choice((1, 2, 7, 31, 64, 200, 500))
        result = store.append_batch(drafts(tag, n, start=count))
        count += n
        k += 1
        line = {"tag": tag, "first": result.first_seq, "size": result.size, "n": n}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        if batches != "forever":
            # Let the other workers in: SQLite's lock is not fair, a busy loop could starve them.
            time.sleep(rng.random() * 0.005)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
