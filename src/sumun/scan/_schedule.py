"""How the engine spreads a scan's tasks: how many workers, and which tasks go together.

Largest files go alone and first (a 10 GB file must not start last, and its hash bounds the
scan's wall time); small files are grouped into batches to amortise crossing the process
boundary. Scans of a few small files run inline: starting worker processes would cost more
than it saves. At most 4 workers by default: each forked worker adds ~10-45 MB, and the
target is 200 MB in all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sumun.errors import UsageError
from sumun.scan.walk import FileTask, Task

__all__ = ["batches", "size", "workers"]

_INLINE_MAX_TASKS = 8
_INLINE_MAX_BYTES = 16 << 20
_BATCH_FILES = 32
_BATCH_BYTES = 8 << 20
_MAX_WORKERS = 4


def size(task: Task) -> int:
    return task.size if isinstance(task, FileTask) else 0


def batches(tasks: Sequence[Task]) -> list[list[Task]]:
    """Largest files alone and first; small ones grouped."""
    ordered = sorted(tasks, key=lambda t: -size(t))
    out: list[list[Task]] = []
    current: list[Task] = []
    current_bytes = 0
    for task in ordered:
        if size(task) >= _BATCH_BYTES:
            out.append([task])
            continue
        current.append(task)
        current_bytes += size(task)
        if len(current) >= _BATCH_FILES or current_bytes >= _BATCH_BYTES:
            out.append(current)
            current, current_bytes = [], 0
    if current:
        out.append(current)
    return out


def workers(requested: int | None, tasks: Sequence[Task]) -> int:
    """`requested` (>= 1, else `UsageError`), or one per core up to 4; 1 (inline) for a few
    small files (and any number of model folders: a rescan from `--cache` is mostly those)."""
    if requested is not None:
        if requested < 1:
            raise UsageError(f"--workers must be at least 1, not {requested}")
        return requested
    files = [t for t in tasks if isinstance(t, FileTask)]  # model folders read a few small files
    if len(files) <= _INLINE_MAX_TASKS and sum(size(t) for t in files) <= _INLINE_MAX_BYTES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, _MAX_WORKERS, len(tasks)))
