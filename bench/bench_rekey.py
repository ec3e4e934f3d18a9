"""How long a rekey epoch takes (sumun.keys.epoch, docs/keys.md), per backend.

    python bench/bench_rekey.py [--deks N] [--batch B] [--json]

A key with N wrapped DEKs (default 10,000: one per data subject) is rekeyed: rotated, every DEK
unwrapped and wrapped again by the backend in batches of B rows per transaction, the old
version destroyed. Embedded, PKCS#11 (a SoftHSM2 token made here) and OpenBao Transit (a
`bao server -dev` started here) side by side. The store is filled straight through the backend
and the DEK store — the data path would spend a registry write on each DEK, which is not what is
measured. The rekey's wait for other processes (twice `revocation_ttl_seconds`) is set to 0.2 s
and included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_envelope import _openbao, _settings, _softhsm  # noqa: E402

from sumun.keys.dek_store import DekRow, wrap_aad  # noqa: E402
from sumun.keys.events import MemoryEventSink  # noqa: E402
from sumun.keys.service import KeyService  # noqa: E402


def _filled(svc: KeyService, count: int) -> None:
    opened = svc._require_open()  # the bench fills the store below the data path, on purpose
    record = svc.lifecycle.create("acme", actor="bench")
    for i in range(count):
        dek_id, scope = os.urandom(16), f"subject:{i:032x}"
        wrapped = opened.backend.wrap("acme", 1, os.urandom(32), wrap_aad(dek_id, "acme", 1, scope))
        opened.store.put(DekRow(dek_id, "acme", 1, scope, record.suite, wrapped, time.time()))


def _run(settings: Any, count: int, batch: int) -> dict[str, Any]:
    svc = KeyService(settings, events=MemoryEventSink())
    result = svc.initialise(custodians=3, threshold=2, actor="bench")
    svc.unseal_with(result.master_key, actor="bench")
    try:
        _filled(svc, count)
        start = time.perf_counter()
        report = svc.rekeyer(batch_size=batch).rekey("acme", actor="bench")
        seconds = time.perf_counter() - start
        store = svc._require_open().store
        assert report.rewrapped == count and report.destroyed == (1,), report
        assert store.count_under("acme", frozenset({2})) == count
    finally:
        svc.seal()
    return {"deks": count, "seconds": seconds, "deks_per_s": count / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deks", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"deks": args.deks, "batch": args.batch, "backends": {}}
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        with _softhsm(tmp / "hsm") as pkcs11, _openbao(tmp / "bao") as bao:
            setups: dict[str, dict[str, Any] | None] = {
                "embedded": {"backend": "embedded"},
                "pkcs11": None if pkcs11 is None else {"backend": "pkcs11", "pkcs11": pkcs11},
                "openbao": None if bao is None else {"backend": "openbao", "openbao": bao},
            }
            for name, keys in setups.items():
                if keys is None:
                    results["backends"][name] = {"skipped": "not installed"}
                    continue
                settings = _settings(tmp / name, revocation_ttl_seconds=0.1, **keys)
                results["backends"][name] = _run(settings, args.deks, args.batch)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Rekey of one key with {args.deks:,} DEKs, batches of {args.batch}")
    for name, entry in results["backends"].items():
        if "skipped" in entry:
            print(f"  {name:9} skipped: {entry['skipped']}")
            continue
        print(f"  {name:9} {entry['seconds']:>7.2f} s   {entry['deks_per_s']:>9,.0f} DEKs/s")


if __name__ == "__main__":
    main()
