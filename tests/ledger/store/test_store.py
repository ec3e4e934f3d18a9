"""The LedgerStore contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from sumun.errors import LedgerCorruptError, LedgerError, LedgerIntegrityError
from sumun.ledger.entry import decode_entry
from sumun.ledger.merkle import EMPTY_ROOT, Frontier
from sumun.ledger.store.base import LedgerStore, StoredCheckpoint, check_store
from tests.ledger.store._support import (
    Backend,
    assert_consistent,
    draft,
    drafts,
    ref_leaf,
    ref_mth,
)


def test_an_empty_store(backend: Backend, store: LedgerStore) -> None:
    assert check_store(store) is store
    assert store.name == backend.kind
    assert store.size() == 0
    assert store.root() == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert list(store.entries(0, 10)) == []
    assert list(store.leaf_hashes(0, 10)) == []
    assert store.latest_checkpoint() is None
    assert list(store.checkpoints()) == []
    empty = store.append_batch([])
    assert (empty.first_seq, empty.size, empty.root) == (0, 0, EMPTY_ROOT)


def test_batches_get_consecutive_seqs_and_the_right_roots(store: LedgerStore) -> None:
    frontier = Frontier()  # computed here, independently of the store
    written = 0
    for n in (1, 2, 3, 7, 64, 100, 1, 255, 1000):
        batch = drafts("t", n, start=written)
        result = store.append_batch(batch)
        for i, d in enumerate(batch):
            frontier.append(ref_leaf(d.finalize(written + i)))
        assert result.first_seq == written
        assert result.size == frontier.size == store.size()
        assert result.root == frontier.root() == store.root()
        written += n
    entries = assert_consistent(store)
    assert [decode_entry(e.entry)["request_id"] for e in entries] == [
        f"t-{i}" for i in range(written)
    ]


def test_payloads_come_back_byte_exact(store: LedgerStore) -> None:
    payloads = [None, b"", b"\x00", bytes(range(256)), b"\x00\xff" * 40_000, None]
    store.append_batch([draft("p", i, payload=p) for i, p in enumerate(payloads)])
    got = list(store.entries(0, len(payloads)))
    assert [e.payload for e in got] == payloads
    assert_consistent(store)


def test_entries_and_leaves_stream_in_order_across_chunks(store: LedgerStore) -> None:
    for k in range(5):
        store.append_batch(drafts("s", 1000, start=1000 * k))
    assert [e.seq for e in store.entries(0, 5000)] == list(range(5000))
    assert [e.seq for e in store.entries(1023, 2050)] == list(range(1023, 2050))
    assert [e.seq for e in store.entries(4990, 10**9)] == list(range(4990, 5000))
    assert [s for s, _h in store.leaf_hashes(2047, 4097)] == list(range(2047, 4097))
    assert list(store.entries(7, 7)) == []
    entries = store.entries(0, 5000)
    assert next(entries).seq == 0  # lazily streamed
    with pytest.raises(ValueError, match="bad range"):
        store.entries(5, 4)
    with pytest.raises(ValueError, match="bad range"):
        store.leaf_hashes(-1, 4)
    assert_consistent(store)


def test_get_nodes_answers_in_the_order_asked(store: LedgerStore) -> None:
    batch = drafts("n", 21)
    store.append_batch(batch)
    leaves = [ref_leaf(d.finalize(i)) for i, d in enumerate(batch)]
    asked = [(4, 0), (0, 20), (2, 4), (0, 0), (4, 0), (1, 9), (3, 1)]
    want = [
        ref_mth(leaves[0:16]),
        leaves[20],
        ref_mth(leaves[16:20]),
        leaves[0],
        ref_mth(leaves[0:16]),
        ref_mth(leaves[18:20]),
        ref_mth(leaves[8:16]),
    ]
    assert store.get_nodes(asked) == want
    assert store.get_nodes([]) == []
    with pytest.raises(LedgerCorruptError, match=r"tree node \(level 1, index 10\) is missing"):
        store.get_nodes([(0, 1), (1, 10)])  # [20, 22) is not complete yet
    with pytest.raises(ValueError, match="no tree node"):
        store.get_nodes([(-1, 0)])


def test_get_nodes_takes_many_ids_at_once(store: LedgerStore) -> None:
    for k in range(3):
        store.append_batch(drafts("m", 1000, start=1000 * k))
    leaves = [h for _s, h in store.leaf_hashes(0, 3000)]
    ids = [*itertools.product([0], range(3000)), (10, 0), (11, 0)]
    got = store.get_nodes(ids)
    assert got[:3000] == leaves
    assert got[3000:] == [ref_mth(leaves[:1024]), ref_mth(leaves[:2048])]


def test_checkpoints_are_saved_listed_and_never_go_back(store: LedgerStore) -> None:
    store.save_checkpoint(StoredCheckpoint(0, EMPTY_ROOT, "note 0\n", 1))
    roots = {0: EMPTY_ROOT}
    for n in (5, 5, 3):
        result = store.append_batch(drafts("c", n, start=store.size()))
        roots[result.size] = result.root
    store.save_checkpoint(StoredCheckpoint(5, roots[5], "note 5\n", 2))  # an older size is fine
    store.save_checkpoint(StoredCheckpoint(13, roots[13], "note 13\n", 3))
    assert store.latest_checkpoint() == StoredCheckpoint(13, roots[13], "note 13\n", 3)
    assert [c.size for c in store.checkpoints()] == [0, 5, 13]

    with pytest.raises(LedgerError, match="at size 10: one at size 13 is already saved"):
        store.save_checkpoint(StoredCheckpoint(10, roots[10], "note 10\n", 4))
    with pytest.raises(LedgerError, match="at size 14: the ledger has only 13 entries"):
        store.save_checkpoint(StoredCheckpoint(14, roots[13], "note 14\n", 4))
    with pytest.raises(LedgerIntegrityError, match="its root is not the ledger's root"):
        store.save_checkpoint(StoredCheckpoint(13, roots[10], "forged\n", 4))

    store.append_batch(drafts("c", 3, start=13))
    with pytest.raises(LedgerIntegrityError, match="its root is not the ledger's root"):
        store.save_checkpoint(StoredCheckpoint(13, roots[10], "forged\n", 4))
    # Re-signing the same tree later replaces the note (same size, same root).
    store.save_checkpoint(StoredCheckpoint(13, roots[13], "note 13 again\n", 5))
    assert store.latest_checkpoint() == StoredCheckpoint(13, roots[13], "note 13 again\n", 5)
    assert [c.note for c in store.checkpoints()] == ["note 0\n", "note 5\n", "note 13 again\n"]


def test_a_reopened_store_continues_where_it_stopped(backend: Backend) -> None:
    first = backend.open()
    result = first.append_batch(drafts("r", 10))
    first.save_checkpoint(StoredCheckpoint(10, result.root, "n\n", 1))
    first.close()
    first.close()  # idempotent
    with pytest.raises(LedgerError, match="closed"):
        first.size()
    with pytest.raises(LedgerError, match="closed"):
        first.append_batch(drafts("r", 1))
    again = backend.open()
    assert (again.size(), again.root()) == (10, result.root)
    assert again.append_batch(drafts("r", 5, start=10)).first_seq == 10
    assert again.latest_checkpoint() == StoredCheckpoint(10, result.root, "n\n", 1)
    assert_consistent(again)


def test_a_draft_that_cannot_be_encoded_leaves_nothing_behind(store: LedgerStore) -> None:
    store.append_batch(drafts("b", 3))
    bad = draft("b", 4)
    object.__setattr__(bad.meta, "attrs", {"x": object()})  # not JSON-serializable
    with pytest.raises(TypeError):
        store.append_batch([draft("b", 3), bad])
    assert store.size() == 3
    assert store.append_batch(drafts("b", 2, start=3)).first_seq == 3
    assert_consistent(store)
