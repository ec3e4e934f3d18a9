"""`sumun seal` with requests in flight, with real processes: `sumun demo` in front of the fake
upstream, a slow stream and a slow plain call running, `sumun seal` from another process (the
admin channel). Both end within the bound, each with its `request-completed` entry (outcome
`sealed`, the stream's answer so far sealed as its payload) recorded before the seal's own
key-event — while the keys still worked — and readable after `sumun unseal`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fixtures.demo import demo_env, start_demo
from tests.fixtures.fake_upstream import FakeUpstream

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
BOUND = 1.0  # SEAL_GRACE_SECONDS: how long the seal may wait for the requests it stopped


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    base_url: str
    api_key: str
    home: Path

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            [*SUMUN, *args, "--json"],
            env=demo_env(self.home),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def demo(tmp_path: Path, fake_upstream: FakeUpstream) -> Iterator[Demo]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(
        yaml.safe_dump(
            {
                "providers": [
                    {"name": "demo", "kind": "demo"},
                    {"name": "up", "kind": "openai", "base_url": fake_upstream.base_url},
                ],
                "routes": [
                    {"model": "demo", "targets": [{"provider": "demo", "model": "sumun-demo-1"}]},
                    {"model": "slow", "targets": [{"provider": "up", "model": "up-slow"}]},
                ],
            }
        )
    )
    proc, ready = start_demo(home)
    yield Demo(proc, ready["base_url"], ready["api_key"], home)
    proc.kill()
    proc.wait(timeout=10)


@dataclass
class Call:
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
                for text in r.iter_text():
                    self.body += text
                    self.receiving.set()
        except httpx.HTTPError as exc:
            self.error = repr(exc)
        finally:
            self.finished_at = time.monotonic()
            self.receiving.set()


def test_seal_ends_requests_in_flight_and_records_them_before_the_keys_go(
    demo: Demo, fake_upstream: FakeUpstream
) -> None:
    stream = Call("long story #slow:0.3 #chunks:60", stream=True)  # ~20 s if left alone
    plain = Call("plain question #slow:20", stream=False)
    seen = fake_upstream.request_count
    threads = [threading.Thread(target=c.run, args=(demo,), daemon=True) for c in (stream, plain)]
    for thread in threads:
        thread.start()
    assert stream.receiving.wait(10), "the stream never started"
    deadline = time.monotonic() + 10
    while fake_upstream.request_count < seen + 2:  # both are waiting on the upstream
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)  # a few chunks of the stream are out

    sealing = time.monotonic()
    assert demo.cli("seal")["sealed"] is True
    sealed = time.monotonic()
    for thread in threads:
        thread.join(timeout=10)

    # 1. Both ended within the bound, before the seal returned (it waits for their entries).
    for call in (stream, plain):
        assert call.error is None, call.error
        assert call.finished_at is not None
        assert call.finished_at < sealed + 0.5, f"ran on {call.finished_at - sealed:.1f}s"
    assert sealed - sealing < 10  # the CLI's own start-up, plus at most the bound
    # The stream ended with an error event saying why; the plain call was answered 503.
    assert stream.status == 200
    events = [line[6:] for line in stream.body.splitlines() if line.startswith("data: ")]
    assert "w0" in stream.body and "w59" not in stream.body
    error = json.loads(events[-1])["error"]
    assert "sealed" in error["message"]
    assert plain.status == 503
    assert "sealed" in json.loads(plain.body)["error"]["message"]

    # 2. After unseal: each has its completion, recorded before the seal's key-event, the
    #    stream's with its answer so far as the (decryptable) payload.
    shares = (demo.home / "demo-shares.txt").read_text().split()
    assert demo.cli("unseal", *[a for s in shares for a in ("--share", s)])["sealed"] is False
    rows = demo.cli("ledger", "tail", "-n", "50", "--decrypt")["entries"]
    seal_seq = next(
        r["seq"]
        for r in rows
        if r["entry"]["kind"] == "key-event" and r["entry"]["attrs"]["action"] == "seal"
    )
    completed = {
        r["entry"]["request_id"]: r for r in rows if r["entry"]["kind"] == "request-completed"
    }
    for call in (stream, plain):
        row = completed[call.headers["x-sumun-request-id"]]
        attrs = row["entry"]["attrs"]
        assert (attrs["outcome"], attrs["status"]) == ("sealed", "503")
        assert "payload_dropped" not in attrs
        assert row["seq"] < seal_seq
    row = completed[stream.headers["x-sumun-request-id"]]
    assert row["payload_state"] == "decrypted"
    assert "w0" in row["payload"]
