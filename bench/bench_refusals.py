"""How fast the gateway refuses a flood of over-limit requests (429), and what the flood costs.

    python bench/bench_refusals.py [--seconds 5] [--concurrency 64] [--json]

`sumun serve` (pinned to one core, default config: the built-in demo provider) with a tenant
limited to 1 request per minute; an aiohttp load generator on the other core sends its key as
fast as it can. Reported: refusals per second, their latency, how many ledger entries and bytes
the flood added, and the added latency of a well-behaved tenant's requests during the flood.
Every refusal of an authenticated caller is recorded in the ledger (issue 11), so this is the
figure that says whether that record turns a flood into a denial of service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_gateway import launch  # noqa: E402

from sumun import config  # noqa: E402
from sumun.runtime import open_runtime  # noqa: E402
from sumun.store.directory import Directory  # noqa: E402

BODY = {"model": "demo", "messages": [{"role": "user", "content": "안녕하세요"}]}


def start_gateway(home: Path) -> tuple[subprocess.Popen[bytes], str, str, str]:
    home.mkdir(parents=True)
    runtime = open_runtime(config.load(home=home, env={}))
    result = runtime.keys.initialise(custodians=3, threshold=2, actor="bench")
    runtime.close()
    with Directory(home / "store.db") as directory:
        directory.create_tenant("flood", ai_notice=False, rpm=1)
        directory.create_tenant("calm", ai_notice=False)
        flood = directory.issue_key("flood")[1]
        calm = directory.issue_key("calm")[1]
    proc, base = launch(home, result.shares[:2])
    return proc, base, flood, calm


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ledger_size(home: Path) -> tuple[int, int]:
    """(entries, bytes on disk of the ledger database and its WAL)."""
    runtime = open_runtime(config.load(home=home, env={}))
    try:
        entries = runtime.ledger.store.size()
    finally:
        runtime.close()
    disk = sum(p.stat().st_size for p in (home / "ledger").glob("ledger.db*"))
    return entries, disk


async def flood(base: str, key: str, concurrency: int, seconds: float) -> dict[str, Any]:
    import aiohttp
    import orjson

    payload = orjson.dumps(BODY)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        stop = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < stop:
                t = time.perf_counter()
                async with session.post(f"{base}/chat/completions", data=payload) as r:
                    await r.read()
                latencies.append(time.perf_counter() - t)
                statuses[r.status] = statuses.get(r.status, 0) + 1

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t
    latencies.sort()
    return {
        "refused_per_s": statuses.get(429, 0) / elapsed,
        "statuses": statuses,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1e3,
    }


def calm_latency(base: str, key: str, n: int) -> list[float]:
    out = []
    with httpx.Client(headers={"authorization": f"Bearer {key}"}, timeout=30) as client:
        for _ in range(n):
            t = time.perf_counter()
            r = client.post(f"{base}/chat/completions", json=BODY)
            out.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    return out


async def calm_during_flood(
    base: str, flood_key: str, calm_key: str, concurrency: int, seconds: float
) -> tuple[dict[str, Any], list[float]]:
    task = asyncio.create_task(flood(base, flood_key, concurrency, seconds))
    await asyncio.sleep(0.5)
    calm = await asyncio.to_thread(calm_latency, base, calm_key, 200)
    return await task, calm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as raw:
        home = Path(raw) / "home"
        gw, base, flood_key, calm_key = start_gateway(home)
        try:
            calm_latency(base, calm_key, 50)  # warm-up
            res["calm_p50_ms_idle"] = statistics.median(calm_latency(base, calm_key, 200)) * 1e3
            entries0, disk0 = ledger_size(home)
            cpu0 = cpu_seconds(gw.pid)
            res["flood"] = asyncio.run(flood(base, flood_key, args.concurrency, args.seconds))
            refused = res["flood"]["statuses"].get(429, 0)
            res["gateway_cpu_us_per_refusal"] = (cpu_seconds(gw.pid) - cpu0) / refused * 1e6
            time.sleep(0.5)
            entries1, disk1 = ledger_size(home)
            res["ledger_entries_added"] = entries1 - entries0
            res["ledger_bytes_added"] = disk1 - disk0
            during, calm = asyncio.run(
                calm_during_flood(base, flood_key, calm_key, args.concurrency, args.seconds)
            )
            res["flood_with_calm"] = during
            res["calm_p50_ms_during_flood"] = statistics.median(calm) * 1e3
        finally:
            gw.send_signal(signal.SIGTERM)
            gw.wait(timeout=30)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    f = res["flood"]
    print(
        f"429 flood, concurrency {args.concurrency}, {args.seconds:.0f} s, gateway on one core:\n"
        f"  refused {f['refused_per_s']:,.0f}/s  (p50 {f['p50_ms']:.2f} ms,"
        f" p99 {f['p99_ms']:.2f} ms; statuses {f['statuses']})\n"
        f"  gateway CPU per refusal {res['gateway_cpu_us_per_refusal']:.0f} us"
        f" (one core: ~{1e6 / res['gateway_cpu_us_per_refusal']:,.0f} refusals/s)\n"
        f"  ledger: +{res['ledger_entries_added']:,} entries,"
        f" +{res['ledger_bytes_added'] / 1e6:.1f} MB on disk\n"
        f"  a calm tenant's p50: idle {res['calm_p50_ms_idle']:.2f} ms,"
        f" during the flood {res['calm_p50_ms_during_flood']:.2f} ms"
        f" (flood then {res['flood_with_calm']['refused_per_s']:,.0f}/s)"
    )


if __name__ == "__main__":
    main()
