"""The gateway's added latency, streaming time-to-first-byte, throughput and memory, in one run.

    python bench/bench_gateway.py [--requests 2000] [--soak 20000] [--json]

Side by side, against the same upstream (bench/_upstream.py, a fast OpenAI-compatible server on
a real socket): calling the upstream directly vs calling it through `sumun serve` with the full
path on (virtual-key auth, strict ledger append of the encrypted request before forwarding,
the completed entry after, labels, metrics). The gateway process is pinned to one core; the
upstream and the load generator share the other.

Targets (issue 4): added latency p50 <= 1 ms and p99 <= 5 ms at concurrency 1; streaming adds
<= 1 ms to time-to-first-byte; RSS flat (within 10 %) over a long run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _venv import ensure_venv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sumun import config  # noqa: E402
from sumun.runtime import open_runtime  # noqa: E402
from sumun.store.directory import Directory  # noqa: E402

BODY = {"model": "bench", "messages": [{"role": "user", "content": "벤치마크 질문입니다. " * 20}]}
CORES = sorted(os.sched_getaffinity(0))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_upstream() -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(CORES[-1]),
            sys.executable,
            str(ROOT / "bench" / "_upstream.py"),
            str(port),
        ]
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{base}/chat/completions", json=BODY, timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("upstream did not start")


def start_gateway(home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str, str]:
    (home).mkdir(parents=True)
    (home / "sumun.yaml").write_text(
        json.dumps(
            {
                "providers": [{"name": "up", "kind": "openai", "base_url": upstream}],
                "routes": [{"model": "bench", "targets": [{"provider": "up", "model": "m"}]}],
            }
        )
    )
    settings = config.load(home=home, env={})
    runtime = open_runtime(settings)
    result = runtime.keys.initialise(custodians=3, threshold=2, actor="bench")
    runtime.close()
    with Directory(home / "store.db") as directory:
        directory.create_tenant("bench", ai_notice=False)
        _key, api_key = directory.issue_key("bench")
    proc, base = launch(home, result.shares[:2])
    return proc, base, api_key


def launch(home: Path, shares: list[str] | tuple[str, ...]) -> tuple[subprocess.Popen[bytes], str]:
    """`sumun serve` on an initialised home, pinned to the first core; (process, /v1 base)."""
    port = _port()
    proc = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(CORES[0]),
            sys.executable,
            "-m",
            "sumun.cli.main",
            "serve",
            "--port",
            str(port),
            "--json",
            *[a for s in shares for a in ("--share", s)],
        ],
        env={**os.environ, "SUMUN_HOME": str(home)},
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    json.loads(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


LITELLM_VERSION = "1.108.7"
LITELLM_VENV = ROOT / "bench" / ".venv-litellm"


def ensure_litellm() -> Path | None:
    """LiteLLM proxy in its own venv (bench only; never a Sumun dependency)."""
    exe = LITELLM_VENV / "bin" / "litellm"
    ok = ensure_venv(LITELLM_VENV, [f"litellm[proxy]=={LITELLM_VERSION}"], exe.exists)
    return exe if ok else None


def start_litellm(exe: Path, home: Path, upstream: str) -> tuple[subprocess.Popen[bytes], str, str]:
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "litellm.yaml"
    cfg.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": "bench",
                        "litellm_params": {
                            "model": "openai/m",
                            "api_base": upstream,
                            "api_key": "x",
                        },
                    }
                ],
                "general_settings": {"master_key": "sk-litellm-bench"},
                "litellm_settings": {"drop_params": True},
            }
        )
    )
    port = _port()
    proc = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(CORES[0]),
            str(exe),
            "--config",
            str(cfg),
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LITELLM_LOG": "ERROR"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            r = httpx.post(
                f"{base}/chat/completions",
                json=BODY,
                headers={"authorization": "Bearer sk-litellm-bench"},
                timeout=5,
            )
            if r.status_code == 200:
                return proc, base, "sk-litellm-bench"
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("LiteLLM proxy did not come up")


def latencies(base: str, key: str, n: int, *, stream: bool = False) -> list[float]:
    out = []
    body = {**BODY, "stream": stream}
    with httpx.Client(headers={"authorization": f"Bearer {key}"}, timeout=30) as client:
        for _ in range(50):  # warm-up: connections, caches, DEKs
            client.post(f"{base}/chat/completions", json=body).read()
        for _ in range(n):
            t = time.perf_counter()
            if stream:
                with client.stream("POST", f"{base}/chat/completions", json=body) as r:
                    chunks = r.iter_raw()
                    next(chunks)  # time to first byte
                    out.append(time.perf_counter() - t)
                    for _chunk in chunks:
                        pass
            else:
                r = client.post(f"{base}/chat/completions", json=body)
                r.read()
                out.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
    return out


async def _throughput(base: str, key: str, concurrency: int, seconds: float) -> float:
    """Requests/s with `concurrency` clients (aiohttp: the load generator must not be the limit)."""
    import aiohttp
    import orjson

    payload = orjson.dumps(BODY)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        done = failed = 0
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done, failed
            while time.monotonic() < stop:
                async with session.post(f"{base}/chat/completions", data=payload) as r:
                    await r.read()
                    if r.status == 200:
                        done += 1
                    else:
                        failed += 1

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if failed:
            print(f"  ({failed} failed requests against {base})", file=sys.stderr)
        return done / (time.perf_counter() - t)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure_sumun(res: dict[str, Any], up_base: str, home: Path, args: argparse.Namespace) -> None:
    gw, gw_base, key = start_gateway(home, up_base)
    try:
        direct = latencies(up_base, key, args.requests)
        via = latencies(gw_base, key, args.requests)
        res["p50_direct_ms"] = statistics.median(direct) * 1e3
        res["p50_gateway_ms"] = statistics.median(via) * 1e3
        res["p99_direct_ms"] = pct(direct, 99) * 1e3
        res["p99_gateway_ms"] = pct(via, 99) * 1e3
        res["added_p50_ms"] = res["p50_gateway_ms"] - res["p50_direct_ms"]
        res["added_p99_ms"] = res["p99_gateway_ms"] - res["p99_direct_ms"]
        d_ttfb = latencies(up_base, key, args.requests // 2, stream=True)
        g_ttfb = latencies(gw_base, key, args.requests // 2, stream=True)
        res["ttfb_direct_ms"] = statistics.median(d_ttfb) * 1e3
        res["ttfb_gateway_ms"] = statistics.median(g_ttfb) * 1e3
        res["ttfb_added_ms"] = res["ttfb_gateway_ms"] - res["ttfb_direct_ms"]
        res["throughput_c64_direct"] = asyncio.run(_throughput(up_base, key, 64, 5))
        res["throughput_c64_gateway"] = asyncio.run(_throughput(gw_base, key, 64, 5))
        soak(res, gw, gw_base, key, args.soak)
    finally:
        gw.send_signal(signal.SIGTERM)
        gw.wait(timeout=20)


def soak(res: dict[str, Any], gw: subprocess.Popen[bytes], base: str, key: str, n: int) -> None:
    """RSS of the gateway process sampled ten times over `n` sequential requests."""
    res["rss_kb_start"] = _rss_kb(gw.pid)
    samples = []
    with httpx.Client(headers={"authorization": f"Bearer {key}"}, timeout=30) as client:
        for i in range(1, n + 1):
            client.post(f"{base}/chat/completions", json=BODY).read()
            if i % max(1, n // 10) == 0:
                samples.append(_rss_kb(gw.pid))
    res["soak_requests"] = n
    res["rss_kb_samples"] = samples
    res["rss_growth_after_warmup"] = (
        (samples[-1] - samples[1]) / samples[1] if len(samples) > 2 else None
    )


def measure_litellm(res: dict[str, Any], up_base: str, home: Path, requests: int) -> None:
    exe = ensure_litellm()
    if exe is None:
        return
    ll, ll_base, ll_key = start_litellm(exe, home, up_base)
    try:
        ll_lat = latencies(ll_base, ll_key, requests)
        res["litellm_p50_ms"] = statistics.median(ll_lat) * 1e3
        res["litellm_added_p50_ms"] = res["litellm_p50_ms"] - res["p50_direct_ms"]
        res["throughput_c64_litellm"] = asyncio.run(_throughput(ll_base, ll_key, 64, 5))
        res["throughput_ratio_vs_litellm"] = (
            res["throughput_c64_gateway"] / res["throughput_c64_litellm"]
        )
    finally:
        ll.send_signal(signal.SIGTERM)
        ll.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--soak", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-litellm", action="store_true")
    args = parser.parse_args()
    res: dict[str, Any] = {}
    upstream, up_base = start_upstream()
    try:
        with tempfile.TemporaryDirectory() as raw:
            measure_sumun(res, up_base, Path(raw) / "home", args)
            if not args.skip_litellm:
                measure_litellm(res, up_base, Path(raw) / "litellm", args.requests)
    finally:
        upstream.send_signal(signal.SIGTERM)
        upstream.wait(timeout=20)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        _print(res)


def _print(res: dict[str, Any]) -> None:
    def row(label: str, direct: float, via: float, added: float, target: str) -> None:
        print(
            f"  {label:22} direct {direct:7.3f} ms   via Sumun {via:7.3f} ms"
            f"   added {added:6.3f} ms ({target})"
        )

    print("Gateway vs direct upstream — same fake upstream, gateway pinned to one core")
    row(
        "non-streaming p50",
        res["p50_direct_ms"],
        res["p50_gateway_ms"],
        res["added_p50_ms"],
        "target <= 1 ms",
    )
    row(
        "non-streaming p99",
        res["p99_direct_ms"],
        res["p99_gateway_ms"],
        res["added_p99_ms"],
        "target <= 5 ms",
    )
    row(
        "streaming TTFB p50",
        res["ttfb_direct_ms"],
        res["ttfb_gateway_ms"],
        res["ttfb_added_ms"],
        "target <= 1 ms",
    )
    print(
        f"  throughput at concurrency 64: direct {res['throughput_c64_direct']:,.0f}/s,"
        f" via Sumun {res['throughput_c64_gateway']:,.0f}/s"
    )
    if "litellm_p50_ms" in res:
        print(
            f"  LiteLLM {LITELLM_VERSION} proxy: added p50 {res['litellm_added_p50_ms']:.3f} ms,"
            f" throughput {res['throughput_c64_litellm']:,.0f}/s → Sumun/LiteLLM"
            f" {res['throughput_ratio_vs_litellm']:.2f}x (target >= 3x)"
        )
    print(
        f"  RSS over {res['soak_requests']:,} requests (KiB): start {res['rss_kb_start']:,},"
        f" samples {res['rss_kb_samples']}"
    )


if __name__ == "__main__":
    main()
