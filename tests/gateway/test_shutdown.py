"""Graceful shutdown, with real processes: `sumun demo` in front of the fake upstream, slow
streams in flight, SIGTERM. Every request in flight finishes; new connections are refused; the
process exits 0 having signed a checkpoint over the whole ledger; the drain is bounded."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from sumun import config
from sumun.gateway.app import public_app
from sumun.runtime import open_runtime
from tests.fixtures.demo import demo_env, start_demo
from tests.fixtures.fake_upstream import FakeUpstream

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
WORDS = 10  # a stream: the role, 10 pieces, the finish and [DONE], each after a pause


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    base_url: str
    api_key: str
    env: dict[str, str]
    log: Path

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.base_url)
        assert parts.hostname is not None and parts.port is not None
        return parts.hostname, parts.port

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            [*SUMUN, *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _start_demo(home: Path, upstream: FakeUpstream, drain_seconds: int) -> Demo:
    home.mkdir(parents=True)
    (home / "sumun.yaml").write_text(
        yaml.safe_dump(
            {
                "server": {"drain_seconds": drain_seconds},
                "providers": [
                    {"name": "demo", "kind": "demo"},
                    {
                        "name": "up",
                        "kind": "openai",
                        "base_url": upstream.base_url,
                        "timeout_seconds": 60,
                    },
                ],
                "routes": [
                    {"model": "demo", "targets": [{"provider": "demo", "model": "sumun-demo-1"}]},
                    {"model": "slow", "targets": [{"provider": "up", "model": "up-slow"}]},
                ],
            }
        )
    )
    log = home.parent / f"{home.name}-demo.log"
    proc, ready = start_demo(home, log=log)
    env = demo_env(home)
    return Demo(proc, ready["base_url"], ready["api_key"], env, log)


@pytest.fixture
def demo_factory(tmp_path: Path, fake_upstream: FakeUpstream) -> Iterator[Any]:
    started: list[Demo] = []

    def make(drain_seconds: int) -> Demo:
        demo = _start_demo(tmp_path / f"home{len(started)}", fake_upstream, drain_seconds)
        started.append(demo)
        return demo

    yield make
    for demo in started:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait(timeout=10)


@dataclass
class Call:
    """One request made from a thread: what came back, and when it started to come back."""

    content: str
    stream: bool
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str | None = None
    receiving: threading.Event = field(default_factory=threading.Event)
    finished_at: float | None = None

    def run(self, demo: Demo) -> None:
        payload = {
            "model": "slow",
            "stream": self.stream,
            "messages": [{"role": "user", "content": self.content}],
        }
        headers = {"authorization": f"Bearer {demo.api_key}"}
        url = f"{demo.base_url}/v1/chat/completions"
        try:
            with httpx.stream("POST", url, json=payload, headers=headers, timeout=60) as r:
                self.status, self.headers = r.status_code, dict(r.headers)
                if not self.stream:
                    self.receiving.set()
                for text in r.iter_text():
                    self.body += text
                    self.receiving.set()
        except httpx.HTTPError as exc:
            self.error = repr(exc)
        finally:
            self.finished_at = time.monotonic()
            self.receiving.set()


def _launch(demo: Demo, calls: list[Call]) -> list[threading.Thread]:
    threads = [threading.Thread(target=c.run, args=(demo,), daemon=True) for c in calls]
    for thread in threads:
        thread.start()
    return threads


def _refused(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True


def _wait_refused(address: tuple[str, int], within: float) -> float:
    """Seconds until a new connection is refused (fails the test after `within`)."""
    started = time.monotonic()
    while not _refused(address):
        assert time.monotonic() - started < within, "new connections are still accepted"
        time.sleep(0.02)
    return time.monotonic()


def _ledger_state(demo: Demo, tmp: Path) -> tuple[int, int]:
    """(ledger size after an fsck, tree size of the latest signed checkpoint), both keyless."""
    verified = demo.cli("ledger", "verify")
    assert verified["ok"] is True
    exported = demo.cli("ledger", "export", "--tiles", str(tmp / "tiles"))
    return verified["size"], exported["size"]


def _completed_entries(demo: Demo) -> dict[str, dict[str, Any]]:
    """request id -> its `request-completed` entry (metadata only)."""
    rows = demo.cli("ledger", "tail", "-n", "200")["entries"]
    return {
        row["entry"]["request_id"]: row["entry"]
        for row in rows
        if row["entry"]["kind"] == "request-completed"
    }


def test_sigterm_drains_streams_in_flight_then_checkpoints_and_exits_0(
    demo_factory: Any, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    demo = demo_factory(drain_seconds=20)
    # Each stream takes ~4 s (13 events, 0.3 s apart); the plain call answers after 3 s.
    calls = [Call(f"story {i} #slow:0.3 #chunks:{WORDS}", stream=True) for i in range(4)]
    calls.append(Call("plain #slow:3", stream=False))
    seen = fake_upstream.request_count
    threads = _launch(demo, calls)
    for call in calls[:4]:
        assert call.receiving.wait(10), "a stream never started"
    deadline = time.monotonic() + 10
    while fake_upstream.request_count < seen + len(calls):  # all of them went upstream
        assert time.monotonic() < deadline
        time.sleep(0.02)

    signalled = time.monotonic()
    demo.proc.send_signal(signal.SIGTERM)
    refused_at = _wait_refused(demo.address, within=2.0)
    assert refused_at - signalled < 2.0
    # New connections were refused while every request was still in flight.
    assert all(c.finished_at is None or c.finished_at > refused_at for c in calls)
    assert any(c.finished_at is None for c in calls)

    for thread in threads:
        thread.join(timeout=30)
    assert demo.proc.wait(timeout=30) == 0, demo.log.read_text(errors="replace")[-2000:]

    for call in calls:
        assert call.error is None, call.error
        assert call.status == 200
        assert "x-sumun-ledger-seq" in call.headers
    for call in calls[:4]:  # every piece of every stream, to the end
        pieces = "".join(
            json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
            for line in call.body.splitlines()
            if line.startswith("data: {") and '"choices"' in line
        )
        assert all(f"w{i} " in pieces for i in range(WORDS)), pieces
        assert call.body.rstrip().endswith("data: [DONE]")
    plain = json.loads(calls[4].body)
    assert plain["choices"][0]["message"]["content"].startswith("echo: plain")

    size, signed = _ledger_state(demo, tmp_path)
    assert signed == size  # the final checkpoint covers every entry, the last ones included
    completed = _completed_entries(demo)
    for call in calls:
        entry = completed[call.headers["x-sumun-request-id"]]
        assert (entry["attrs"]["status"], entry["attrs"]["outcome"]) == ("200", "ok")


def test_the_drain_is_bounded_and_what_it_cuts_is_still_recorded(
    demo_factory: Any, tmp_path: Path
) -> None:
    demo = demo_factory(drain_seconds=1)
    endless = Call("long #slow:1 #chunks:60", stream=True)  # about a minute
    (thread,) = _launch(demo, [endless])
    assert endless.receiving.wait(10)

    signalled = time.monotonic()
    demo.proc.send_signal(signal.SIGTERM)
    assert demo.proc.wait(timeout=20) == 0
    assert time.monotonic() - signalled < 10  # 1 s of drain, then cleanup; not the minute
    thread.join(timeout=10)
    assert endless.status == 200 and "w59" not in endless.body  # cut short

    size, signed = _ledger_state(demo, tmp_path)
    assert signed == size
    entry = _completed_entries(demo)[endless.headers["x-sumun-request-id"]]
    assert (entry["attrs"]["status"], entry["attrs"]["outcome"]) == ("503", "cancelled-at-shutdown")


def test_readyz_says_503_while_draining(tmp_path: Path) -> None:
    runtime = open_runtime(config.load(home=tmp_path / "home", env={}))
    try:
        result = runtime.keys.initialise(custodians=3, threshold=2, actor="test")
        runtime.keys.unseal_with(result.master_key, actor="test")
        draining = False
        client = TestClient(public_app(runtime, draining=lambda: draining))
        assert client.get("/readyz").json() == {"ready": True}
        draining = True
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"ready": False, "reason": "shutting down"}
    finally:
        runtime.close()


def test_a_second_signal_stops_the_wait(demo_factory: Any, tmp_path: Path) -> None:
    demo = demo_factory(drain_seconds=60)
    endless = Call("long #slow:1 #chunks:60", stream=True)
    (thread,) = _launch(demo, [endless])
    assert endless.receiving.wait(10)

    demo.proc.send_signal(signal.SIGTERM)
    _wait_refused(demo.address, within=2.0)  # draining, and would wait up to 60 s
    signalled = time.monotonic()
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=20) == 0
    assert time.monotonic() - signalled < 10
    thread.join(timeout=10)

    size, signed = _ledger_state(demo, tmp_path)
    assert signed == size
    entry = _completed_entries(demo)[endless.headers["x-sumun-request-id"]]
    assert entry["attrs"]["outcome"] == "cancelled-at-shutdown"
