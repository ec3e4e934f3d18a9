"""A full ledger disk: /readyz must say so (503, with the reason) while requests cannot be
recorded, and say ready again once there is room — without any traffic to find out.

With root (and mount rights) the real thing: `sumun demo` with its SQLite ledger on a 4 MiB
tmpfs that the test fills up and then empties. Without, the same story through the ledger
store's write seam, raising the error SQLite raises on ENOSPC, in an in-process gateway.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from sumun.errors import LedgerUnavailableError
from sumun.ledger.entry import EntryDraft
from sumun.ledger.store.base import AppendResult
from tests.fixtures.demo import demo_env, start_demo
from tests.gateway.harness import Running

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
BODY = {"model": "demo", "messages": [{"role": "user", "content": "hello"}]}


def _wait(client: httpx.Client, url: str, status: int, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while (answer := client.get(url)).status_code != status:
        assert time.monotonic() < deadline, f"still {answer.status_code}: {answer.text}"
        time.sleep(0.1)
    return answer


def _fill(folder: Path) -> Path:
    """Write a file until the file system is full; returns it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def tiny_ledger_disk(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/home with home/ledger a 4 MiB tmpfs; skipped where mounting is not allowed."""
    ledger = tmp_path / "home" / "ledger"
    ledger.mkdir(parents=True, mode=0o700)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the write-seam test covers this case)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(ledger)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield tmp_path / "home"
    finally:
        subprocess.run(["umount", "-l", str(ledger)], check=False)


def test_readyz_follows_a_full_ledger_disk_and_recovers(tiny_ledger_disk: Path) -> None:
    home = tiny_ledger_disk
    proc, ready = start_demo(home)
    try:
        base_url, key = ready["base_url"], ready["api_key"]
        client = httpx.Client(trust_env=False, timeout=10.0)
        headers = {"authorization": f"Bearer {key}"}

        def call() -> httpx.Response:
            return client.post(f"{base_url}/v1/chat/completions", json=BODY, headers=headers)

        assert call().status_code == 200
        assert client.get(f"{base_url}/readyz").json() == {"ready": True}

        filler = _fill(home / "ledger")
        refused = 0
        deadline = time.monotonic() + 10
        while refused < 3:  # SQLite may still fit a few pages; then every request is refused
            assert time.monotonic() < deadline, "requests still succeed on a full disk"
            refused += call().status_code == 503
        answer = _wait(client, f"{base_url}/readyz", 503, within=2.0)
        reason = answer.json()["reason"]
        assert "cannot append" in reason and "full" in reason, reason

        filler.unlink()
        _wait(client, f"{base_url}/readyz", 200, within=5.0)  # found out without traffic
        assert call().status_code == 200

        rows = _cli(home, "ledger", "tail", "-n", "20")["entries"]
        (recovery,) = [r["entry"] for r in rows if r["entry"]["kind"] == "ledger-recovery"]
        assert int(recovery["attrs"]["refused"]) >= 3  # the requests refused meanwhile
        assert "full" in recovery["attrs"]["reason"]
        client.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _cli(home: Path, *args: str) -> Any:
    done = subprocess.run(
        [*SUMUN, *args, "--json"],
        env=demo_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_readyz_follows_appends_failing_at_the_store_write_seam(
    gateway: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same without a mount: the store's appends fail as SQLite's do on ENOSPC."""
    store = gateway.runtime.ledger.store
    real_append = store.append_batch
    full = True

    def append_batch(drafts: Sequence[EntryDraft]) -> AppendResult:
        if full:
            cause = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            raise LedgerUnavailableError(
                f"cannot append to the ledger: the disk is full ({cause})"
            ) from cause
        return real_append(drafts)

    client = httpx.Client(trust_env=False, timeout=10.0)
    url = f"{gateway.base_url}/v1/chat/completions"
    headers = {"authorization": f"Bearer {gateway.keys['acme']}"}
    assert client.get(f"{gateway.base_url}/readyz").json() == {"ready": True}
    monkeypatch.setattr(store, "append_batch", append_batch)

    assert client.post(url, json=BODY, headers=headers).status_code == 503
    answer = client.get(f"{gateway.base_url}/readyz")
    assert answer.status_code == 503
    assert answer.json()["reason"].startswith(
        "ledger unavailable: the ledger store cannot append: cannot append to the ledger: "
        "the disk is full"
    )

    full = False
    _wait(client, f"{gateway.base_url}/readyz", 200, within=5.0)
    assert client.post(url, json=BODY, headers=headers).status_code == 200
    client.close()
