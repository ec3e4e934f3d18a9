"""The ledger spool: queued entries the store could not take, kept on local disk until it can.

A `request-completed` entry is queued, not awaited (`Ledger.submit`): the answer is already on
its way to the caller. When the store then fails (PostgreSQL gone, a connection killed
mid-commit, a full disk), the ledger's writer hands the batch's queued entries to the spool
instead of dropping them, and the recovery (`sumun.ledger.outage`) appends them, in order, once
the store takes appends again.

What is kept is exactly what the store would have kept: the entry's clear metadata and its
payload envelope, sealed by the key layer before the entry was queued (`Ledger._seal`) — never
a plaintext payload. No key is needed to replay, so entries spooled just before `sumun seal`
are appended whether or not the keys are open by then.

Files, in SUMUN_HOME/spool/ (folder 0700, files 0600):

    pending.spool              records appended (O_APPEND, fsync'd) while the store fails
    replaying-<id>.spool       a segment claimed for replay (renamed from pending.spool);
                               ids sort oldest first
    lock                       flock: one writer or replayer at a time, across processes

A record (integers big-endian):

    offset    size  field
    0         4     magic b"SSP1"
    4         4     H: length of the head
    8         4     P: length of the payload envelope; 0xFFFFFFFF when there is none
    12        H     head: JSON {"meta": EntryMeta.to_json(0, payload), "hint": int | null}
    12+H      P     the payload envelope, as the key layer sealed it
    12+H+P    32    SHA-256 of bytes [0, 12+H+P)

`hint` is a tree size the entry cannot lie below (the ledger's size as this process last saw it
before the failure): replay looks for the entries already in the log from there on — a commit
whose outcome was unknown, a replay a crash cut short — and skips them, so it never records an
entry twice. A failed write is cut off again (ftruncate), so a torn record never hides the
ones after it; a record that still fails its checksum (a crash mid-write) ends the readable
part of its file and is counted lost. The checksum finds damage, not forgery: whoever can write
SUMUN_HOME as Sumun's user can write the embedded ledger itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sumun._fs import fsync_dir, private_dir
from sumun.errors import LedgerUnavailableError
from sumun.ledger.entry import EntryDraft, EntryKind, EntryMeta

__all__ = ["Segment", "Spool", "SpooledEntry", "encode_record"]

_MAGIC = b"SSP1"
_FIXED = struct.Struct(">4sII")
_DIGEST = 32
_NO_PAYLOAD = 0xFFFFFFFF
_MAX_HEAD = 1 << 20  # a head is a few hundred bytes; more is damage, not data
_PENDING = "pending.spool"
_REPLAYING = "replaying-"
_SUFFIX = ".spool"


@dataclass(frozen=True, slots=True)
class SpooledEntry:
    draft: EntryDraft
    hint: int | None  # the entry is not in the log below this tree size


@dataclass(frozen=True, slots=True)
class Segment:
    """One spool file claimed for replay: its readable entries, in the order they were kept."""

    id: str
    path: Path
    entries: tuple[SpooledEntry, ...]
    damaged: int  # unreadable records at its end (0 or 1: the first one ends the file)
    size: int


def encode_record(draft: EntryDraft, hint: int | None) -> bytes:
    head = json.dumps(
        {"meta": draft.meta.to_json(0, draft.payload), "hint": hint},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    payload = b"" if draft.payload is None else draft.payload
    size = _NO_PAYLOAD if draft.payload is None else len(payload)
    body = _FIXED.pack(_MAGIC, len(head), size) + head + payload
    return body + hashlib.sha256(body).digest()


def _meta(obj: dict[str, Any]) -> EntryMeta:
    return EntryMeta(
        kind=EntryKind(obj["kind"]),
        tenant=obj["tenant"],
        time_ms=obj["time_ms"],
        decision=obj["decision"],
        rules=tuple(obj["rules"]),
        provider=obj["provider"],
        data_class=obj["data_class"],
        tokens_in=obj["tokens_in"],
        tokens_out=obj["tokens_out"],
        latency_us=obj["latency_us"],
        request_id=obj["request_id"],
        attrs=dict(obj["attrs"]),
    )


def _read_record(f: BinaryIO, limit: int) -> SpooledEntry | None:
    """The next record, or None at a clean end. ValueError: torn or damaged."""
    fixed = f.read(_FIXED.size)
    if not fixed:
        return None
    if len(fixed) < _FIXED.size:
        raise ValueError("torn record header")
    magic, head_len, size = _FIXED.unpack(fixed)
    payload_len = 0 if size == _NO_PAYLOAD else size
    if magic != _MAGIC or head_len > _MAX_HEAD or payload_len > limit:
        raise ValueError("not a spool record")
    rest = f.read(head_len + payload_len + _DIGEST)
    if len(rest) != head_len + payload_len + _DIGEST:
        raise ValueError("torn record")
    body = fixed + rest[:-_DIGEST]
    if hashlib.sha256(body).digest() != rest[-_DIGEST:]:
        raise ValueError("record checksum mismatch")
    try:
        head = json.loads(rest[:head_len])
        payload = None if size == _NO_PAYLOAD else rest[head_len : head_len + payload_len]
        draft = EntryDraft(_meta(head["meta"]), payload)
        hint = head["hint"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("record head does not parse") from exc
    if draft.meta.to_json(0, payload) != head["meta"]:
        raise ValueError("record head does not round-trip")
    return SpooledEntry(draft, hint if isinstance(hint, int) and hint >= 0 else None)


def _read(path: Path, limit: int) -> tuple[list[SpooledEntry], int]:
    """(readable entries, damaged records) of one spool file."""
    found: list[SpooledEntry] = []
    with path.open("rb") as f:
        while True:
            try:
                record = _read_record(f, limit)
            except ValueError:
                return found, 1
            if record is None:
                return found, 0
            found.append(record)


def _append(path: Path, data: bytes) -> None:
    """Append and fsync; on failure cut the file back, so no torn record stays behind."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


class Spool:
    """The spool folder. `keep` and `claim` are serialized (a thread lock and an flock)."""

    def __init__(self, folder: Path, *, max_bytes: int) -> None:
        self.folder = folder
        self._max = max_bytes
        self._lock = threading.Lock()
        self._depth = 0  # readable records waiting
        self._bytes = 0
        with contextlib.suppress(OSError):  # unreadable: the first keep or claim says so
            for path in self._files():
                entries, _damaged = _read(path, self._max)
                self._depth += len(entries)
                self._bytes += path.stat().st_size

    def __repr__(self) -> str:
        return f"<Spool {self.folder} depth={self._depth}>"

    def depth(self) -> int:
        """Entries waiting to be replayed (never blocks: read by /readyz and the metrics)."""
        return self._depth

    def _files(self) -> list[Path]:
        """Segments claimed earlier (oldest first), then the pending file."""
        if not self.folder.is_dir():
            return []
        claimed = sorted(self.folder.glob(f"{_REPLAYING}*{_SUFFIX}"))
        pending = self.folder / _PENDING
        return [*claimed, pending] if pending.exists() else claimed

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            private_dir(self.folder)
            fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock

    def keep(self, drafts: Sequence[EntryDraft], hint: int | None) -> None:
        """Append `drafts` durably (fsync'd before returning), or raise OSError /
        LedgerUnavailableError (over `max_bytes`) having kept none of them."""
        data = b"".join(encode_record(draft, hint) for draft in drafts)
        with self._locked():
            if self._bytes + len(data) > self._max:
                raise LedgerUnavailableError(
                    f"the ledger spool is full ({self._bytes} bytes kept, "
                    f"ledger.spool_max_bytes = {self._max})"
                )
            _append(self.folder / _PENDING, data)
            self._depth += len(drafts)
            self._bytes += len(data)

    @contextlib.contextmanager
    def claim(self) -> Iterator[list[Segment]]:
        """Every segment waiting, oldest first, held (no keep meanwhile) for the block; the
        pending file is renamed to a new segment first. The caller `finish`es what it replayed."""
        with self._locked():
            pending = self.folder / _PENDING
            if pending.exists():
                segment_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
                os.rename(pending, self.folder / f"{_REPLAYING}{segment_id}{_SUFFIX}")
                fsync_dir(self.folder)
            segments = []
            for path in self._files():
                entries, damaged = _read(path, self._max)
                segment_id = path.name.removeprefix(_REPLAYING).removesuffix(_SUFFIX)
                size = path.stat().st_size
                segments.append(Segment(segment_id, path, tuple(entries), damaged, size))
            self._depth = sum(len(segment.entries) for segment in segments)  # what is really there
            self._bytes = sum(segment.size for segment in segments)
            yield segments

    def finish(self, segments: Sequence[Segment]) -> None:
        """Remove replayed segments (call inside `claim`)."""
        for segment in segments:
            segment.path.unlink(missing_ok=True)
            self._depth = max(0, self._depth - len(segment.entries))
            self._bytes = max(0, self._bytes - segment.size)
        if segments:
            fsync_dir(self.folder)
