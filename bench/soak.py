"""Soak: the real gateway under steady load — RSS and file descriptors flat, p99 stable.

    python bench/soak.py [--seconds 600] [--rate 30] [--window 60] [--json PATH]
    make soak                      # SOAK_SECONDS overrides the 600 s default

What runs: `sumun serve` in its own process, on a fresh home in a temporary directory
(embedded keystore, SQLite control store and ledger, strict ledger appends), in front of the
test suite's fake upstream (tests/fixtures/fake_upstream.py: OpenAI and Anthropic APIs, real
SSE) in a second process. This process drives an open-loop load at `--rate` requests per
second — a steady arrival rate, so latency is the gateway's and not a queue this script builds
— through a keep-alive connection pool, with this mix per 100 requests:

    38 chat            OpenAI chat completion            (keep-alive)
    20 chat-stream     the same, streamed (SSE)
    10 messages        Anthropic messages API
    10 messages-stream the same, streamed
     8 embeddings      OpenAI embeddings
     4 models          GET /v1/models
     5 fresh           chat on a new connection, closed after the answer
     3 abandoned       a stream the client drops after its first event (upstream cancelled)
     2 upstream-error  the provider answers 500 (a 502, on a route of its own)

Every second it samples the gateway's RSS (`VmRSS` in /proc/PID/status) and open file
descriptors (/proc/PID/fd), sockets apart from the rest; per window (60 s, or a sixth of a short
run) it reports requests, errors, p50 and p99 latency (whole answer, streams included), RSS and
descriptors.

Verdict, on what comes after the warm-up (the first fifth of the run, whole windows):

1. RSS flat: the least-squares growth over the run after warm-up is at most 20 % of the
   RSS at its start or at most 30 MB (it fails only when it exceeds both);
2. descriptors flat: the fewest open in the last window exceed the fewest in the first by at
   most 1 for files (database, ledger, pipes: a fixed set) and at most 8 for sockets (client
   and upstream connections come and go with latency; a leak raises the floor minute after
   minute — one abandoned stream in 30 is about 60 a minute);
3. p99 stable: the last window's p99 is at most 2x the first's;
4. every answer has the status its kind expects, and the gateway is still running.

Prints a table (rich) and writes the samples, windows and verdict as JSON
(`bench/results/soak.json` unless `--json` says where). Exit 0 when all hold, 1 when one
fails, 2 when the soak could not be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MB = 1024 * 1024

# kind -> share of requests (per 100)
MIX: dict[str, int] = {
    "chat": 38,
    "chat-stream": 20,
    "messages": 10,
    "messages-stream": 10,
    "embeddings": 8,
    "models": 4,
    "fresh": 5,
    "abandoned": 3,
    "upstream-error": 2,
}
EXPECTED: dict[str, frozenset[int]] = {kind: frozenset({200}) for kind in MIX}
# The provider fails on purpose: 502; its own route's breaker may open after a run of them: 503.
EXPECTED["upstream-error"] = frozenset({502, 503})

_UPSTREAM = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.fixtures.fake_upstream import start_fake_upstream
with start_fake_upstream() as fake:
    print(fake.root_url, flush=True)
    sys.stdin.read()  # until the soak closes it
"""


@dataclass(frozen=True)
class Bounds:
    rss_pct: float = 20.0
    rss_mb: float = 30.0
    file_slack: int = 1
    socket_slack: int = 8
    p99_factor: float = 2.0


@dataclass(frozen=True)
class Answer:
    t: float  # seconds since the load started
    kind: str
    status: int
    seconds: float


@dataclass(frozen=True)
class Sample:
    t: float
    rss_kb: int
    files: int  # open descriptors that are not sockets
    sockets: int


@dataclass
class Window:
    start: float
    end: float
    requests: int = 0
    unexpected: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    rss_mb: float = 0.0  # median of the window's samples
    files_min: int = 0
    files_max: int = 0
    sockets_min: int = 0
    sockets_max: int = 0


@dataclass
class Verdict:
    checks: list[dict[str, Any]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": ok, "detail": detail})

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks)


# --- the two servers ------------------------------------------------------------------------


def _first_line(proc: subprocess.Popen[str], timeout: float, what: str) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
    return line


def start_upstream() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _UPSTREAM, str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, _first_line(proc, 30, "the fake upstream").strip()


def prepare_home(home: Path, upstream_root: str) -> tuple[list[str], str]:
    """A fresh, initialised home routing to the fake upstream; (two shares, an API key)."""
    from sumun import config
    from sumun.runtime import open_runtime
    from sumun.store.directory import Directory

    home.mkdir(parents=True)
    openai_base = f"{upstream_root}/v1"
    (home / "sumun.yaml").write_text(
        json.dumps(
            {
                "providers": [
                    {"name": "fake-openai", "kind": "openai", "base_url": openai_base},
                    {"name": "fake-anthropic", "kind": "anthropic", "base_url": upstream_root},
                    {"name": "fake-flaky", "kind": "openai", "base_url": openai_base},
                ],
                "routes": [
                    {"model": "chat", "targets": [{"provider": "fake-openai", "model": "m"}]},
                    {"model": "claude", "targets": [{"provider": "fake-anthropic", "model": "c"}]},
                    {"model": "flaky", "targets": [{"provider": "fake-flaky", "model": "m"}]},
                ],
            }
        )
    )
    runtime = open_runtime(config.load(home=home, env={}))
    try:
        result = runtime.keys.initialise(custodians=3, threshold=2, actor="soak")
    finally:
        runtime.close()
    with Directory(home / "store.db") as directory:
        directory.create_tenant("soak", ai_notice=False)
        _key, api_key = directory.issue_key("soak")
    return list(result.shares[:2]), api_key


def start_gateway(home: Path, shares: list[str], log: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env["SUMUN_HOME"] = str(home)
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sumun.cli.main",
                "serve",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--json",
                *[arg for share in shares for arg in ("--share", share)],
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    line = _first_line(proc, 60, "sumun serve")
    return proc, str(json.loads(line)["base_url"]).rstrip("/")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --- sampling -------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def descriptors(pid: int) -> tuple[int, int]:
    """(files, sockets) open in `pid`; a descriptor closed while looking is not counted."""
    files = sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:"):
            sockets += 1
        else:
            files += 1
    return files, sockets


# --- load -----------------------------------------------------------------------------------


def _chat(stream: bool, text: str = "soak: 안녕하세요, 오늘 날씨 어때요?") -> dict[str, Any]:
    return {
        "model": "chat",
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 32,
        "stream": stream,
    }


def _messages(stream: bool) -> dict[str, Any]:
    return {
        "model": "claude",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "soak: 요약해 주세요 #chunks:4"}],
        "stream": stream,
    }


class Load:
    """The request kinds, over one keep-alive pool (and fresh connections for `fresh`)."""

    def __init__(self, base: str, api_key: str) -> None:
        self.base = base
        self.headers = {"authorization": f"Bearer {api_key}"}
        self.pool: aiohttp.ClientSession | None = None
        self.kinds: dict[str, Callable[[], Awaitable[tuple[int, bytes]]]] = {
            "chat": lambda: self.post("/v1/chat/completions", _chat(False)),
            "chat-stream": lambda: self.post("/v1/chat/completions", _chat(True)),
            "messages": lambda: self.post("/v1/messages", _messages(False)),
            "messages-stream": lambda: self.post("/v1/messages", _messages(True)),
            "embeddings": lambda: self.post("/v1/embeddings", {"model": "chat", "input": "soak"}),
            "models": self.models,
            "fresh": self.fresh,
            "abandoned": self.abandoned,
            "upstream-error": lambda: self.post(
                "/v1/chat/completions", {**_chat(False, "soak #fail:500"), "model": "flaky"}
            ),
        }

    async def __aenter__(self) -> Load:
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=30)
        self.pool = aiohttp.ClientSession(
            connector=connector, headers=self.headers, timeout=timeout
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        assert self.pool is not None
        async with self.pool.post(self.base + path, json=body) as response:
            return response.status, await response.read()  # a stream is read to its end

    async def models(self) -> tuple[int, bytes]:
        assert self.pool is not None
        async with self.pool.get(self.base + "/v1/models") as response:
            return response.status, await response.read()

    async def fresh(self) -> tuple[int, bytes]:
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(
                connector=connector, headers=self.headers, timeout=timeout
            ) as session,
            session.post(self.base + "/v1/chat/completions", json=_chat(False)) as response,
        ):
            return response.status, await response.read()

    async def abandoned(self) -> tuple[int, bytes]:
        assert self.pool is not None
        body = _chat(True, "soak: 길게 말해 주세요 #chunks:20 #slow:0.05")
        async with self.pool.post(self.base + "/v1/chat/completions", json=body) as response:
            first = await response.content.readany()  # the first event, then hang up
            response.close()  # drops the connection: the gateway must cancel upstream
            return response.status, first


async def drive(
    load: Load, pid: int, seconds: float, rate: float, seed: int
) -> tuple[list[Answer], list[Sample], list[str]]:
    answers: list[Answer] = []
    samples: list[Sample] = []
    problems: list[str] = []
    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    started = time.monotonic()
    in_flight: set[asyncio.Task[None]] = set()

    async def one(kind: str) -> None:
        t = time.monotonic()
        try:
            status, body = await load.kinds[kind]()
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, body = 0, f"{type(exc).__name__}: {exc}".encode()
        if status not in EXPECTED[kind] and len(problems) < 20:
            problems.append(f"{kind} -> {status}: {body[:300]!r}")
        answers.append(Answer(t - started, kind, status, time.monotonic() - t))

    async def sample() -> None:
        while True:
            try:
                files, sockets = descriptors(pid)
                samples.append(Sample(time.monotonic() - started, rss_kb(pid), files, sockets))
            except OSError:  # the gateway is gone; the verdict says so
                return
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    interval = 1.0 / rate
    due = started
    while (now := time.monotonic()) - started < seconds:
        if now >= due:
            task = asyncio.create_task(one(rng.choices(kinds, weights)[0]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            due += interval
            if now - due > 1.0:  # fell behind by a second: skip, never burst to catch up
                due = now
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    if in_flight:
        await asyncio.wait(in_flight, timeout=60)
    sampler.cancel()
    return answers, samples, problems


# --- analysis -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def windows_of(
    answers: list[Answer], samples: list[Sample], seconds: float, width: float
) -> list[Window]:
    out = []
    count = max(1, round(seconds / width))
    for i in range(count):
        start, end = i * width, (i + 1) * width
        w = Window(start, end)
        mine = [a for a in answers if start <= a.t < end]
        w.requests = len(mine)
        w.unexpected = sum(1 for a in mine if a.status not in EXPECTED[a.kind])
        latencies = [a.seconds * 1000 for a in mine if a.kind != "abandoned"]
        w.p50_ms, w.p99_ms = percentile(latencies, 50), percentile(latencies, 99)
        taken = [s for s in samples if start <= s.t < end]
        if taken:
            w.rss_mb = statistics.median(s.rss_kb for s in taken) / 1024
            w.files_min, w.files_max = min(s.files for s in taken), max(s.files for s in taken)
            w.sockets_min = min(s.sockets for s in taken)
            w.sockets_max = max(s.sockets for s in taken)
        out.append(w)
    return out


def rss_growth_mb(samples: list[Sample]) -> float:
    """Least-squares RSS growth across `samples`, in MB (slope x time covered)."""
    if len(samples) < 2:
        return 0.0
    slope, _ = statistics.linear_regression(
        [s.t for s in samples], [s.rss_kb / 1024 for s in samples]
    )
    return slope * (samples[-1].t - samples[0].t)


def judge(
    windows: list[Window],
    samples: list[Sample],
    answers: list[Answer],
    *,
    warmup: float,
    bounds: Bounds,
    alive: bool,
) -> Verdict:
    verdict = Verdict()
    after = [w for w in windows if w.start >= warmup]
    steady = [s for s in samples if s.t >= warmup]
    if len(after) < 2 or not steady:
        verdict.check("enough data", False, "fewer than two windows after warm-up")
        return verdict
    first, last = after[0], after[-1]
    base = statistics.median(s.rss_kb for s in steady if s.t < first.end) / 1024
    growth = rss_growth_mb(steady)
    pct = 100 * growth / base if base else 0.0
    verdict.check(
        "RSS flat",
        not (pct > bounds.rss_pct and growth > bounds.rss_mb),
        f"{growth:+.1f} MB ({pct:+.1f} %) from {base:.1f} MB after warm-up "
        f"(bound: > {bounds.rss_pct:.0f} % and > {bounds.rss_mb:.0f} MB)",
    )
    for what, before, after_, slack in (
        ("files", first.files_min, last.files_min, bounds.file_slack),
        ("sockets", first.sockets_min, last.sockets_min, bounds.socket_slack),
    ):
        verdict.check(
            f"{what} flat",
            after_ - before <= slack,
            f"fewest open {before} -> {after_} ({after_ - before:+d}; bound +{slack})",
        )
    ratio = last.p99_ms / first.p99_ms if first.p99_ms else math.inf
    verdict.check(
        "p99 stable",
        ratio <= bounds.p99_factor,
        f"{first.p99_ms:.1f} ms -> {last.p99_ms:.1f} ms ({ratio:.2f}x; bound {bounds.p99_factor}x)",
    )
    unexpected = [a for a in answers if a.status not in EXPECTED[a.kind]]
    by_kind: dict[str, int] = {}
    for a in unexpected:
        key = f"{a.kind}:{a.status}"
        by_kind[key] = by_kind.get(key, 0) + 1
    verdict.check(
        "answers as expected",
        not unexpected,
        f"{len(answers)} answers, {len(unexpected)} unexpected {by_kind or ''}".rstrip(),
    )
    verdict.check("gateway alive", alive, "still running" if alive else "exited during the soak")
    return verdict


def report(
    console: Console, windows: list[Window], warmup: float, verdict: Verdict, rate: float
) -> None:
    table = Table(
        title=f"Soak: {rate:g} req/s, windows of {windows[0].end:g} s", title_justify="left"
    )
    columns = ("window", "requests", "unexpected", "p50 ms", "p99 ms", "RSS MB", "files", "sockets")
    for column in columns:
        table.add_column(column, justify="right")
    for w in windows:
        label = f"{w.start:.0f}-{w.end:.0f} s" + (" (warm-up)" if w.start < warmup else "")
        table.add_row(
            label,
            str(w.requests),
            str(w.unexpected),
            f"{w.p50_ms:.1f}",
            f"{w.p99_ms:.1f}",
            f"{w.rss_mb:.1f}",
            f"{w.files_min}-{w.files_max}",
            f"{w.sockets_min}-{w.sockets_max}",
        )
    console.print(table)
    for c in verdict.checks:
        mark = "[green]ok  [/green]" if c["ok"] else "[bold red]FAIL[/bold red]"
        console.print(f"{mark} {c['check']}: {c['detail']}", highlight=False)


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    parser.add_argument("--seconds", type=float, default=default_seconds)
    parser.add_argument("--rate", type=float, default=30.0, help="requests per second")
    parser.add_argument("--window", type=float, default=None, help="seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default: a fifth)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=RESULTS / "soak.json")
    args = parser.parse_args()
    seconds: float = args.seconds
    window: float = args.window or (60.0 if seconds >= 360 else seconds / 6)
    warmup: float = (
        args.warmup if args.warmup is not None else math.ceil(seconds / 5 / window) * window
    )
    bounds = Bounds()
    console = Console(width=None if sys.stdout.isatty() else 120)

    with tempfile.TemporaryDirectory(prefix="sumun-soak-") as tmp:
        try:
            upstream, upstream_root = start_upstream()
        except RuntimeError as exc:
            console.print(f"[red]soak not started: {exc}[/red]")
            return 2
        gateway: subprocess.Popen[str] | None = None
        try:
            shares, api_key = prepare_home(Path(tmp) / "home", upstream_root)
            gateway, base = start_gateway(Path(tmp) / "home", shares, Path(tmp) / "serve.log")
            console.print(
                f"soak: {seconds:g} s at {args.rate:g} req/s against {base} "
                f"(pid {gateway.pid}); warm-up {warmup:g} s"
            )

            async def run() -> tuple[list[Answer], list[Sample], list[str]]:
                async with Load(base, api_key) as load:
                    return await drive(load, gateway.pid, seconds, args.rate, args.seed)

            answers, samples, problems = asyncio.run(run())
            alive = gateway.poll() is None
        except RuntimeError as exc:
            console.print(f"[red]soak not started: {exc}[/red]")
            return 2
        finally:
            if gateway is not None:
                stop(gateway)
                log = (Path(tmp) / "serve.log").read_text(errors="replace")
                if log.strip():
                    tail = log[-2000:]
                    console.print(f"[dim]sumun serve stderr (tail):\n{tail}[/dim]", highlight=False)
            if upstream.stdin is not None:
                upstream.stdin.close()
            stop(upstream)

    windows = windows_of(answers, samples, seconds, window)
    verdict = judge(windows, samples, answers, warmup=warmup, bounds=bounds, alive=alive)
    report(console, windows, warmup, verdict, args.rate)
    for problem in problems:
        console.print(f"[yellow]unexpected: {problem}[/yellow]", highlight=False)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "seconds": seconds,
                "rate": args.rate,
                "window": window,
                "warmup": warmup,
                "mix": MIX,
                "bounds": asdict(bounds),
                "ok": verdict.ok,
                "checks": verdict.checks,
                "windows": [asdict(w) for w in windows],
                "samples": [asdict(s) for s in samples],
                "requests": len(answers),
                "unexpected": problems,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {args.json}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
