"""A process making strict appends from many threads: `python -m tests.ledger._strict_worker`.

    _strict_worker sqlite PATH | postgres SCHEMA   (DSN for postgres: SUMUN_TEST_WORKER_DSN)

Each thread appends through the Sequencer in strict mode and, only after `append` returned,
prints "<seq> <request_id>" and flushes: every printed line is a promise of durability.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from sumun.ledger.entry import EntryDraft, EntryKind, EntryMeta
from sumun.ledger.sequencer import Sequencer
from sumun.ledger.store.base import LedgerStore

_print_lock = threading.Lock()


def _open(kind: str, target: str) -> LedgerStore:
    if kind == "sqlite":
        from sumun.ledger.store.sqlite import SqliteStore

        return SqliteStore(Path(target))
    from sumun.ledger.store.postgres import PostgresStore

    return PostgresStore(os.environ["SUMUN_TEST_WORKER_DSN"], schema=target)


def main(kind: str, target: str) -> None:
    sequencer = Sequencer(_open(kind, target), batch_max=256, batch_delay_ms=0)

    def work(worker: int) -> None:
        i = 0
        while True:
            request_id = f"w{worker}-{i}"
            meta = EntryMeta(EntryKind.REQUEST_ADMITTED, "acme", i, request_id=request_id)
            receipt = sequencer.append(EntryDraft(meta, os.urandom(64)), "strict", timeout=30)
            line = f"{receipt.wait()} {request_id}\n"
            with _print_lock:
                sys.stdout.write(line)
                sys.stdout.flush()
            i += 1

    print("ready", flush=True)
    for worker in range(16):
        threading.Thread(target=work, args=(worker,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
