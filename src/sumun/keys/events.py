"""Key events: every key operation is recorded before it is reported done.

`EventSink` is the seam: a running Sumun passes the ledger's sink (`sumun.ledger.events`,
wired in `sumun.runtime`), so every key operation is a `key-event` ledger entry. The key
layer has no default sink — an event must never be diverted around the ledger by accident.
The sink also answers `last_event()`: the registry revision that event names is the freshness
witness `KeyService` checks the registry against when it opens (a restored older registry is
refused), and it tells a recovered intent whose event was already recorded from one that was not.
`FileEventLog` (hash-chained JSON Lines: each line carries `prev`, the SHA-256 of the previous
one, checked by `verify_event_log`) and `MemoryEventSink` serve tests and tools.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from sumun._fs import append_durable
from sumun.errors import StateError
from sumun.keys.model import KeyEvent

__all__ = ["EventSink", "FileEventLog", "MemoryEventSink", "read_events", "verify_event_log"]

_GENESIS = "0" * 64


class EventSink(Protocol):
    def emit(self, event: KeyEvent) -> None:
        """Record durably, or raise: a key operation whose event is lost must not succeed."""
        ...

    def last_event(self) -> KeyEvent | None:
        """The last event recorded (None: none yet). MUST be read from the record itself —
        where restoring an older key registry cannot reach — never from a cache of it."""
        ...


class MemoryEventSink:
    """For tests and benchmarks: keeps events in a list."""

    def __init__(self) -> None:
        self.events: list[KeyEvent] = []

    def emit(self, event: KeyEvent) -> None:
        self.events.append(event)

    def last_event(self) -> KeyEvent | None:
        return self.events[-1] if self.events else None


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


class FileEventLog:
    """Hash-chained, fsync'd JSON Lines. Safe across threads; across processes by O_APPEND.

    Two processes appending at once can both link to the same predecessor; the chain then
    forks visibly (verify reports it) rather than losing an event. The admin channel routes
    writes through one process so this does not happen in normal operation.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def _last_line(self) -> bytes | None:
        if not self._path.exists():
            return None
        with self._path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            block = min(size, 65536)
            fh.seek(size - block)
            tail = fh.read(block)
        lines = [ln for ln in tail.split(b"\n") if ln.strip()]
        return lines[-1] if lines else None

    def _last_hash(self) -> str:
        line = self._last_line()
        return _GENESIS if line is None else _line_hash(line)

    def last_event(self) -> KeyEvent | None:
        with self._lock:
            line = self._last_line()
        if line is None:
            return None
        try:
            return KeyEvent.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{self._path}: the last event line does not parse") from exc

    def emit(self, event: KeyEvent) -> None:
        with self._lock:
            record = {"prev": self._last_hash(), **event.to_json()}
            line = json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
            append_durable(self._path, line)


def read_events(path: Path) -> Iterator[KeyEvent]:
    if not path.exists():
        return
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                yield KeyEvent.from_json(json.loads(raw))


def verify_event_log(path: Path) -> int:
    """Check the hash chain; return the number of events. StateError names the first bad line."""
    prev = _GENESIS
    count = 0
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError as exc:
                raise StateError(f"{path}:{lineno}: not a JSON event line") from exc
            if not raw.endswith(b"\n"):
                raise StateError(f"{path}:{lineno}: truncated event line")
            if record.get("prev") != prev:
                raise StateError(f"{path}:{lineno}: hash chain broken (edited, removed or moved)")
            prev = _line_hash(raw)
            count += 1
    return count
