"""Shared helpers for the store tests: drafts, an independent RFC 6962 tree, workers.

The reference tree here is deliberately naive (the recursive MTH of RFC 6962 §2.1 and a
level-by-level pass for complete nodes) and hashes with hashlib directly, so it shares no code
with `sumun.ledger.merkle`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType

from sumun.ledger.entry import EntryDraft, EntryKind, EntryMeta, decode_entry
from sumun.ledger.store.base import LedgerStore, StoredEntry

REPO = Path(__file__).resolve().parents[3]


def draft(tag: str, i: int, payload: bytes | EllipsisType | None = ...) -> EntryDraft:
    """A small entry (a random 64-byte payload unless given); `attrs` say who wrote it."""
    meta = EntryMeta(
        kind=EntryKind.REQUEST_ADMITTED,
        tenant="acme",
        time_ms=1_795_671_570_341 + i,
        decision="allow",
        rules=("pii.rrn.mask",),
        provider="openai",
        data_class="S",
        request_id=f"{tag}-{i}",
        attrs={"tag": tag, "i": str(i)},
    )
    return EntryDraft(meta, os.urandom(64) if isinstance(payload, EllipsisType) else payload)


def drafts(tag: str, count: int, start: int = 0) -> list[EntryDraft]:
    return [draft(tag, i) for i in range(start, start + count)]


def ref_leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH over leaf hashes, by its recursive definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return ref_node(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_complete_nodes(leaves: Sequence[bytes]) -> dict[tuple[int, int], bytes]:
    """Every complete subtree (level, index) -> hash, levels built pairwise from the leaves."""
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    level, row = 0, list(leaves)
    while len(row) > 1:
        row = [ref_node(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
        nodes.update({(level, i): h for i, h in enumerate(row)})
    return nodes


def assert_consistent(store: LedgerStore) -> list[StoredEntry]:
    """The whole store agrees with itself: seqs 0..size-1, leaves, every node, the root."""
    size = store.size()
    entries = list(store.entries(0, size))
    assert [e.seq for e in entries] == list(range(size)), "entries are not contiguous"
    for e in entries:
        obj = decode_entry(e.entry)
        assert obj["seq"] == e.seq
        if e.payload is None:
            assert obj["payload"] is None
        else:
            assert obj["payload"]["sha256"] == hashlib.sha256(e.payload).hexdigest()
    leaves = [ref_leaf(e.entry) for e in entries]
    assert list(store.leaf_hashes(0, size)) == list(enumerate(leaves))
    assert store.root() == ref_mth(leaves)
    complete = ref_complete_nodes(leaves)
    ids = sorted(complete)
    assert store.get_nodes(ids) == [complete[i] for i in ids]
    return entries


@dataclass
class Backend:
    """One store technology under test: how to open it, and how a worker process reaches it."""

    kind: str
    opener: Callable[..., LedgerStore]
    worker_target: list[str]
    worker_env: dict[str, str] = field(default_factory=dict)
    opened: list[LedgerStore] = field(default_factory=list)

    def open(self, **kwargs: float) -> LedgerStore:
        store = self.opener(**kwargs)
        self.opened.append(store)
        return store

    def worker(self, *args: str) -> subprocess.Popen[str]:
        """Start `_worker.py` against this backend; it prints one JSON line per batch."""
        env = {**os.environ, **self.worker_env, "PYTHONPATH": str(REPO)}
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ledger.store._worker",
                self.kind,
                *self.worker_target,
                *args,
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def parse_lines(stdout: str) -> list[dict[str, int | str]]:
    """The worker's complete output lines (a line cut by SIGKILL is ignored)."""
    return [json.loads(line) for line in stdout.splitlines(keepends=True) if line.endswith("\n")]
