"""The ledger side by side with pymerkle 7 in one run.

    python bench/bench_ledger.py [--size 1000000] [--json] [--skip-postgres]

Targets (issue 3):
- batched appends with durable storage >= 2x pymerkle's SQLite append rate;
- strict appends >= 5k/s with 64 concurrent appenders;
- inclusion proof generation >= 10x pymerkle's rate at 1M entries;
- fsck (`sumun ledger verify`) of 1M entries <= 30 s;
- proof size and time grow as log n (10k, 100k, 1M).

Entries are realistic: ~330-byte canonical metadata plus a 512-byte payload blob standing in for
an encrypted envelope (the key layer's cost is measured in bench_envelope.py). pymerkle gets the
same canonical entry bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sumun.ledger.entry import EntryDraft, EntryKind, EntryMeta  # noqa: E402
from sumun.ledger.fsck import fsck  # noqa: E402
from sumun.ledger.proofs import ProofReader  # noqa: E402
from sumun.ledger.sequencer import Sequencer  # noqa: E402
from sumun.ledger.store.base import LedgerStore  # noqa: E402
from sumun.ledger.store.sqlite import SqliteStore  # noqa: E402

PAYLOAD = os.urandom(512)


def draft(i: int) -> EntryDraft:
    meta = EntryMeta(
        kind=EntryKind.REQUEST_ADMITTED,
        tenant="acme-bank",
        time_ms=1_795_000_000_000 + i,
        decision="transform",
        rules=("pii.kr_rrn.mask", "class.s.domestic-only"),
        provider="exaone-onprem",
        data_class="S",
        request_id=f"req-{i:012d}",
        attrs={"app": "loan-desk", "user": "u-1042"},
    )
    return EntryDraft(meta, PAYLOAD)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


# -- pymerkle ---------------------------------------------------------------------------------


def pymerkle_figures(tmp: Path, size: int, single: int) -> dict[str, Any]:
    from pymerkle import InmemoryTree, SqliteTree

    entries = [draft(i).finalize(i) for i in range(min(size, 100_000))]
    out: dict[str, Any] = {}

    mem = InmemoryTree()
    t = time.perf_counter()
    for e in entries:
        mem.append_entry(e)
    out["inmemory_appends_per_s"] = rate(len(entries), time.perf_counter() - t)

    one = SqliteTree(str(tmp / "pm-single.db"))
    t = time.perf_counter()
    for e in entries[:single]:
        one.append_entry(e)  # one committed transaction per entry, like a strict append
    out["sqlite_append_entry_per_s"] = rate(single, time.perf_counter() - t)
    one.close()

    big = SqliteTree(str(tmp / "pm-bulk.db"))
    t = time.perf_counter()
    big.append_entries(entries)
    out["sqlite_append_entries_bulk_per_s"] = rate(len(entries), time.perf_counter() - t)
    remaining = size - len(entries)
    while remaining > 0:
        chunk = [
            draft(i).finalize(i)
            for i in range(size - remaining, size - remaining + min(remaining, 100_000))
        ]
        big.append_entries(chunk)
        remaining -= len(chunk)
    rng = random.Random(7)
    proofs = 300
    t = time.perf_counter()
    for _ in range(proofs):
        big.prove_inclusion(rng.randrange(1, size + 1), size)
    out["sqlite_inclusion_proofs_per_s"] = rate(proofs, time.perf_counter() - t)
    out["proof_tree_size"] = size
    big.close()
    return out


# -- sumun ------------------------------------------------------------------------------------


def fill(store: LedgerStore, count: int, batch: int = 1000) -> float:
    """Bulk-load through the sequencer in batched mode; return appends/s."""
    seq = Sequencer(store, batch_max=batch, batch_delay_ms=20)
    base = store.size()
    t = time.perf_counter()
    receipts = [seq.submit(draft(base + i), "batched") for i in range(count)]
    receipts[-1].wait(600)
    elapsed = time.perf_counter() - t
    seq.close()
    return rate(count, elapsed)


def strict_concurrent(store: LedgerStore, appenders: int, per_appender: int) -> float:
    seq = Sequencer(store, batch_max=1024, batch_delay_ms=0)
    start = threading.Barrier(appenders + 1)

    def work(worker: int) -> None:
        start.wait()
        for i in range(per_appender):
            seq.append(draft(worker * 1_000_000 + i), "strict", timeout=30)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(appenders)]
    for th in threads:
        th.start()
    start.wait()
    t = time.perf_counter()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    seq.close()
    return rate(appenders * per_appender, elapsed)


def proof_figures(proofs: ProofReader, size: int, count: int) -> dict[str, float]:
    rng = random.Random(11)
    picks = [rng.randrange(size) for _ in range(count)]
    proofs.forget()  # measure with a cold node cache
    t = time.perf_counter()
    lengths = [len(proofs.inclusion_proof(i, size)) for i in picks]
    inc = time.perf_counter() - t
    olds = [rng.randrange(1, size) for _ in range(count // 4)]
    t = time.perf_counter()
    for old in olds:
        proofs.consistency_proof(old, size)
    cons = time.perf_counter() - t
    return {
        "inclusion_per_s": rate(count, inc),
        "inclusion_us": inc / count * 1e6,
        "inclusion_hashes": sum(lengths) / len(lengths),
        "consistency_us": cons / len(olds) * 1e6,
    }


def open_postgres(schema: str) -> tuple[LedgerStore, Callable[[], None]] | None:
    dsn = os.environ.get("SUMUN_TEST_PG_DSN", "postgresql:///test?host=/var/run/postgresql")
    try:
        import psycopg

        from sumun.ledger.store.postgres import PostgresStore

        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        store = PostgresStore(dsn, schema=schema)
    except Exception as exc:
        print(f"PostgreSQL unavailable: {exc}", file=sys.stderr)
        return None

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    return store, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    res: dict[str, Any] = {"size": args.size}
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        print("pymerkle …", file=sys.stderr)
        res["pymerkle"] = pymerkle_figures(tmp, args.size, single=2000)

        print("sumun sqlite: batched / strict …", file=sys.stderr)
        sq = SqliteStore(tmp / "append.db")
        res["sqlite_batched_per_s"] = fill(sq, 100_000)
        res["sqlite_strict64_per_s"] = strict_concurrent(sq, 64, 300)
        res["sqlite_strict1_per_s"] = strict_concurrent(sq, 1, 1000)
        sq.close()

        if not args.skip_postgres:
            pg = open_postgres("bench_ledger")
            if pg is not None:
                print("sumun postgres: batched / strict …", file=sys.stderr)
                store, drop = pg
                res["postgres_batched_per_s"] = fill(store, 100_000)
                res["postgres_strict64_per_s"] = strict_concurrent(store, 64, 300)
                store.close()
                drop()

        print(f"sumun sqlite: building {args.size:,} entries, proofs, fsck …", file=sys.stderr)
        big = SqliteStore(tmp / "big.db")
        proofs = ProofReader(big)
        res["growth"] = {}
        built = 0
        for target in (10_000, 100_000, args.size):
            if target > args.size:
                continue
            fill(big, target - built, batch=4096)
            built = target
            res["growth"][str(target)] = proof_figures(proofs, target, 20_000)
        t = time.perf_counter()
        report = fsck(big, [])
        res["fsck_seconds"] = time.perf_counter() - t
        assert report.size == args.size
        big.close()

    pm = res["pymerkle"]
    res["ratios"] = {
        "batched_vs_pymerkle_append_entry": res["sqlite_batched_per_s"]
        / pm["sqlite_append_entry_per_s"],
        "batched_vs_pymerkle_bulk": res["sqlite_batched_per_s"]
        / pm["sqlite_append_entries_bulk_per_s"],
        "proofs_vs_pymerkle": res["growth"][str(args.size)]["inclusion_per_s"]
        / pm["sqlite_inclusion_proofs_per_s"],
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return
    _print(res)


def _line(label: str, value: float, note: str = "", unit: str = "/s") -> None:
    print(f"  {label:34} {value:>12,.0f} {unit}  {note}")


def _print(res: dict[str, Any]) -> None:
    pm, r = res["pymerkle"], res["ratios"]
    size = str(res["size"])
    print(f"Ledger vs pymerkle 7 — one run, tree of {res['size']:,} entries")
    _line("pymerkle in-memory appends", pm["inmemory_appends_per_s"])
    _line("pymerkle SQLite append_entry", pm["sqlite_append_entry_per_s"])
    _line("pymerkle SQLite append_entries", pm["sqlite_append_entries_bulk_per_s"], "bulk")
    _line(
        "sumun SQLite batched appends",
        res["sqlite_batched_per_s"],
        f"{r['batched_vs_pymerkle_append_entry']:.1f}x append_entry, "
        f"{r['batched_vs_pymerkle_bulk']:.2f}x bulk (target >= 2x)",
    )
    _line("sumun SQLite strict, 64 appenders", res["sqlite_strict64_per_s"], "(target >= 5,000)")
    _line("sumun SQLite strict, 1 appender", res["sqlite_strict1_per_s"])
    if "postgres_batched_per_s" in res:
        _line("sumun PostgreSQL batched appends", res["postgres_batched_per_s"])
        _line("sumun PostgreSQL strict, 64", res["postgres_strict64_per_s"], "(target >= 5,000)")
    _line(
        "pymerkle SQLite inclusion proofs",
        pm["sqlite_inclusion_proofs_per_s"],
        f"at {pm['proof_tree_size']:,} entries",
    )
    _line(
        "sumun SQLite inclusion proofs",
        res["growth"][size]["inclusion_per_s"],
        f"{r['proofs_vs_pymerkle']:.1f}x (target >= 10x)",
    )
    _line(f"sumun fsck of {res['size']:,}", res["fsck_seconds"], "(target <= 30 s)", unit="s ")
    print("  growth:        entries   proof hashes   inclusion µs   consistency µs")
    for n, g in res["growth"].items():
        print(
            f"            {int(n):>12,}   {g['inclusion_hashes']:>12.1f}   "
            f"{g['inclusion_us']:>12.1f}   {g['consistency_us']:>14.1f}"
        )


if __name__ == "__main__":
    main()
