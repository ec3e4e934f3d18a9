"""A subscriber whose reload fails with a store error is called again at the next poll.

The watcher marks a generation seen before it calls its subscribers; a kill switch whose reload
failed (the store dropped between the change and the read) used to stay stale until the next
*change*. Now the failure is one log line and every subscriber runs again at the next poll.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sumun.errors import StoreError
from sumun.store.sqlite import SqliteDatabase
from sumun.store.watch import ControlWatcher


def test_a_failed_reload_is_retried_without_a_new_change(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "store.db")
    watcher = ControlWatcher(db, poll_seconds=0.05, max_stale_seconds=1.0)
    calls: list[int] = []
    second = threading.Event()

    def reload(generation: int) -> None:
        calls.append(generation)
        if len(calls) == 1:
            raise StoreError("the control store went away mid-reload")
        second.set()

    watcher.subscribe("kill switch", reload)
    watcher.start()
    try:
        with db.write("change something"):  # one change, and no other after it
            pass
        assert second.wait(5), f"the failed reload was never retried: {calls}"
        assert calls[0] == calls[1]  # the same generation, called again without a new change
    finally:
        watcher.stop()
        db.close()
