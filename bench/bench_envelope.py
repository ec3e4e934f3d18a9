"""Envelope encryption throughput, and what the KEK backend costs per record.

    python bench/bench_envelope.py [--records N] [--json]

1. Envelope encrypt + decrypt of a 1 KiB record with a cached DEK, pinned to one core, for
   AES-256-GCM and ARIA-256-GCM. Target: >= 100k records/s (AES) on one core.
2. The same loop on each backend — embedded, PKCS#11 (a SoftHSM2 token made here) and OpenBao
   Transit (a `bao server -dev` started here) — side by side in one run. Target: once a DEK is
   cached the per-record cost equals the embedded backend's (ratio ~1.0), and the backend is
   called once per DEK, not per record: reported as backend calls per 10k records.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sumun import config  # noqa: E402
from sumun.crypto.hazmat.aead import Suite  # noqa: E402
from sumun.keys.envelope import Context  # noqa: E402
from sumun.keys.events import MemoryEventSink  # noqa: E402
from sumun.keys.service import KeyService  # noqa: E402

RECORD = os.urandom(1024)
CTX = Context("acme", "req-000001", "prompt")


def _settings(home: Path, **keys: Any) -> config.Settings:
    base = config.load(home=home, env={})
    return base.model_copy(update={"keys": base.keys.model_copy(update=keys)})


def _service(settings: config.Settings) -> KeyService:
    svc = KeyService(settings, events=MemoryEventSink())
    result = svc.initialise(custodians=3, threshold=2, actor="bench")
    svc.unseal_with(result.master_key, actor="bench")
    svc.lifecycle.create("acme", actor="bench")
    return svc


def _loop(svc: KeyService, records: int) -> float:
    """Best of three: records/s for encrypt + decrypt of one 1 KiB record."""
    svc.decrypt(svc.encrypt("acme", RECORD, CTX), CTX)  # warm: the DEK is now cached
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(records):
            svc.decrypt(svc.encrypt("acme", RECORD, CTX), CTX)
        best = max(best, records / (time.perf_counter() - start))
    return best


def _calls_per_10k(svc: KeyService) -> dict[str, int]:
    svc.envelopes.forget()
    before = (svc.envelopes.calls.wraps, svc.envelopes.calls.unwraps)
    blobs = [svc.encrypt("acme", RECORD, CTX) for _ in range(10_000)]
    svc.envelopes.forget()  # a cold reader: every DEK must come back from the backend
    for blob in blobs:
        svc.decrypt(blob, CTX)
    return {
        "wraps": svc.envelopes.calls.wraps - before[0],
        "unwraps": svc.envelopes.calls.unwraps - before[1],
    }


@contextlib.contextmanager
def _softhsm(tmp: Path) -> Iterator[config.Pkcs11Config | None]:
    util = shutil.which("softhsm2-util")
    module = config.DEFAULT_SOFTHSM_MODULE
    if util is None or not Path(module).exists():
        yield None
        return
    (tmp / "tokens").mkdir(parents=True)
    conf = tmp / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp / 'tokens'}\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    pin = secrets.token_hex(8)
    os.environ["SUMUN_PKCS11_PIN"] = pin
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--so-pin", pin, "--pin", pin],
        check=True,
        capture_output=True,
    )
    yield config.Pkcs11Config(module=module, token_label="bench")  # noqa: S106 - a label


@contextlib.contextmanager
def _openbao(tmp: Path) -> Iterator[config.OpenBaoConfig | None]:
    from tests.fixtures.openbao import find_bao, start_dev_server, stop_dev_server

    bao = find_bao()
    if bao is None:
        yield None
        return
    server = start_dev_server(bao, tmp)
    os.environ["SUMUN_OPENBAO_TOKEN"] = server.token
    try:
        yield config.OpenBaoConfig(address=server.address)
    finally:
        stop_dev_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    results: dict[str, Any] = {"records": args.records, "suites": {}, "backends": {}}

    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        for suite in Suite:
            svc = _service(_settings(tmp / suite.value, suite=suite))
            results["suites"][suite.value] = {"records_per_s": _loop(svc, args.records)}
            svc.seal()

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
                svc = _service(_settings(tmp / f"b-{name}", **keys))
                rate = _loop(svc, args.records // 2)
                calls = _calls_per_10k(svc)
                svc.seal()
                results["backends"][name] = {"records_per_s": rate, "calls_per_10k": calls}

    embedded = results["backends"]["embedded"]["records_per_s"]
    for entry in results["backends"].values():
        if "records_per_s" in entry:
            entry["ratio_vs_embedded"] = entry["records_per_s"] / embedded

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"Envelope encrypt+decrypt, 1 KiB record, cached DEK, one core ({args.records:,} records)"
    )
    for suite, entry in results["suites"].items():
        target = "  (target >= 100,000)" if suite == "aes-256-gcm" else ""
        print(f"  {suite:14} {entry['records_per_s']:>12,.0f} records/s{target}")
    print("\nPer backend (AES-256-GCM), side by side")
    for name, entry in results["backends"].items():
        if "skipped" in entry:
            print(f"  {name:9} skipped: {entry['skipped']}")
            continue
        calls = entry["calls_per_10k"]
        print(
            f"  {name:9} {entry['records_per_s']:>12,.0f} records/s   "
            f"ratio vs embedded {entry['ratio_vs_embedded']:.2f}   "
            f"backend calls per 10k records: {calls['wraps']} wrap, {calls['unwraps']} unwrap"
        )


if __name__ == "__main__":
    main()
