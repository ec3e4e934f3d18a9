"""The provider kill switch: a cut survives restarts and reaches another process within 1 s,
by SQLite polling alone and by Redis pub/sub alone (the real local Redis)."""

from __future__ import annotations

import logging
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sumun.errors import ConfigError, ProviderCutError, UsageError
from sumun.gateway.killswitch import CutChange, KillSwitch


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "store.db"


@pytest.fixture
def switch(path: Path) -> Iterator[KillSwitch]:
    ks = KillSwitch(path)
    yield ks
    ks.stop()


def _wait_for(condition: object, seconds: float = 2.0) -> float:
    """Seconds until `condition()` holds; fails after `seconds`."""
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - start < seconds, "condition not met in time"
        time.sleep(0.002)
    return time.monotonic() - start


def test_a_cut_survives_a_restart(path: Path) -> None:
    first = KillSwitch(path)
    cut = first.cut("vllm", "vendor incident INC-42", "kim@cli")
    assert first.is_cut("vllm") and not first.is_cut("azure")
    first.stop()
    second = KillSwitch(path)  # a restarted process: cut before anything is served
    try:
        assert second.is_cut("vllm") and second.cut_providers() == frozenset({"vllm"})
        assert second.records() == [cut]
        restored = second.restore("vllm", "lee@cli")
        assert (restored.cut, restored.actor, restored.reason) == (
            False,
            "lee@cli",
            "vendor incident INC-42",
        )
    finally:
        second.stop()
    third = KillSwitch(path)
    try:
        assert not third.is_cut("vllm") and third.cut_providers() == frozenset()
        assert [r.actor for r in third.records()] == ["lee@cli"]  # who restored it
    finally:
        third.stop()


def test_check_and_bad_arguments(switch: KillSwitch) -> None:
    switch.check("vllm")
    switch.cut("vllm", "test", "kim")
    with pytest.raises(ProviderCutError, match="provider 'vllm' is cut off") as info:
        switch.check("vllm")
    assert info.value.status == 503 and info.value.provider == "vllm"
    with pytest.raises(UsageError, match="bad provider name"):
        switch.cut("VLLM!", "test", "kim")
    with pytest.raises(UsageError, match="reason must be 1-500"):
        switch.cut("azure", " ", "kim")
    with pytest.raises(UsageError, match="actor must be 1-200"):
        switch.cut("azure", "test", "")
    with pytest.raises(UsageError, match="provider 'azure' is not cut"):
        switch.restore("azure", "kim")
    again = switch.cut("vllm", "still broken", "lee")  # cutting again updates the record
    assert switch.records() == [again]


def test_changes_reach_another_instance_with_the_hook(path: Path) -> None:
    seen_a: list[CutChange] = []
    seen_b: list[CutChange] = []
    a = KillSwitch(path, on_change=seen_a.append, poll_seconds=0.05)
    b = KillSwitch(path, on_change=seen_b.append, poll_seconds=0.05)
    a.start()
    b.start()
    try:
        a.cut("vllm", "breach", "kim")
        assert [(c.provider, c.cut, c.local) for c in seen_a] == [("vllm", True, True)]
        _wait_for(lambda: b.is_cut("vllm"), 1.0)
        _wait_for(lambda: len(seen_b) == 1)
        assert (seen_b[0].cut, seen_b[0].local, seen_b[0].actor) == (True, False, "kim")
        assert seen_b[0].reason == "breach"
        b.restore("vllm", "lee")
        _wait_for(lambda: not a.is_cut("vllm"), 1.0)
        _wait_for(lambda: len(seen_a) == 2)
        assert (seen_a[1].cut, seen_a[1].local, seen_a[1].actor) == (False, False, "lee")
        time.sleep(0.2)  # each process reports each change once, its own included
        assert len(seen_a) == 2 and len(seen_b) == 2
    finally:
        a.stop()
        b.stop()


def test_a_failing_hook_does_not_stop_the_watcher(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_change: CutChange) -> None:
        raise RuntimeError("hook bug")

    writer = KillSwitch(path)
    watcher = KillSwitch(path, on_change=broken, poll_seconds=0.05)
    watcher.start()
    try:
        with caplog.at_level(logging.ERROR, logger="sumun.gateway.killswitch"):
            writer.cut("vllm", "one", "kim")
            _wait_for(lambda: watcher.is_cut("vllm"))
            writer.cut("azure", "two", "kim")
            _wait_for(lambda: watcher.is_cut("azure"))
        assert "on_change hook failed" in caplog.text
    finally:
        watcher.stop()
        writer.stop()


_CHILD = """
import sys, time
from pathlib import Path
from sumun.gateway.killswitch import KillSwitch
ks = KillSwitch(Path(sys.argv[1]), redis_url=sys.argv[2] or None, channel=sys.argv[3],
                poll_seconds=float(sys.argv[4]))
ks.start()
print("ready", flush=True)
deadline = time.monotonic() + 20
for want in (True, False):
    while ks.is_cut("vllm") != want:
        if time.monotonic() > deadline:
            print("timeout", flush=True)
            sys.exit(1)
        time.sleep(0.0005)
    print(f"{want} {time.time():.6f}", flush=True)
ks.stop()
"""


def _propagation(
    path: Path, *, redis_url: str, channel: str, poll_seconds: float
) -> tuple[float, float]:
    """Seconds until a child process sees a cut, then a restore, made here."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), redis_url, channel, str(poll_seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    here = KillSwitch(path, redis_url=redis_url or None, channel=channel)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        if redis_url:  # cut only once the child's subscription is live
            client = redis.Redis.from_url(redis_url)
            _wait_for(lambda: client.pubsub_numsub(channel)[0][1] >= 1, 5.0)
            client.close()
        else:
            time.sleep(0.3)
        delays = []
        for action in ("cut", "restore"):
            start = time.time()
            if action == "cut":
                here.cut("vllm", "propagation test", "kim")
            else:
                here.restore("vllm", "kim")
            word, when = child.stdout.readline().split()
            assert word == str(action == "cut")
            delays.append(float(when) - start)
        assert child.wait(timeout=10) == 0
    finally:
        here.stop()
        child.kill()
        child.wait()
    return delays[0], delays[1]


def test_sqlite_polling_reaches_another_process_within_a_second(path: Path) -> None:
    KillSwitch(path).stop()  # create the store before the child opens it
    cut, restore = _propagation(path, redis_url="", channel="unused", poll_seconds=0.2)
    print(
        f"\nkill switch via SQLite polling: cut seen in {cut * 1000:.0f} ms, "
        f"restore in {restore * 1000:.0f} ms"
    )
    assert cut < 1.0 and restore < 1.0


def test_redis_pubsub_reaches_another_process_within_a_second(path: Path, redis_url: str) -> None:
    KillSwitch(path).stop()
    channel = f"sumun-test:killswitch:{secrets.token_hex(6)}"
    # The child polls only every 30 s: within 1 s only the pub/sub message can tell it.
    cut, restore = _propagation(path, redis_url=redis_url, channel=channel, poll_seconds=30)
    print(
        f"\nkill switch via Redis pub/sub: cut seen in {cut * 1000:.1f} ms, "
        f"restore in {restore * 1000:.1f} ms"
    )
    assert cut < 1.0 and restore < 1.0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redis_down_never_blocks_a_cut(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:hunter2secret@127.0.0.1:{_closed_port()}/0"
    writer = KillSwitch(path, redis_url=url)
    watcher = KillSwitch(path, redis_url=url, poll_seconds=0.1)
    watcher.start()
    try:
        with caplog.at_level(logging.WARNING, logger="sumun.gateway.killswitch"):
            start = time.monotonic()
            writer.cut("vllm", "redis is down", "kim")
            assert time.monotonic() - start < 1.0
            assert writer.is_cut("vllm")
            _wait_for(lambda: watcher.is_cut("vllm"), 1.0)  # polling carries it
        assert "relying on polling" in caplog.text
        assert "hunter2secret" not in caplog.text
    finally:
        watcher.stop()
        writer.stop()


def test_the_subscription_comes_back_after_redis_drops_it(path: Path, redis_url: str) -> None:
    channel = f"sumun-test:killswitch:{secrets.token_hex(6)}"
    name = f"test-{secrets.token_hex(4)}"
    watcher = KillSwitch(
        path, redis_url=redis_url, channel=channel, poll_seconds=30, client_name=name
    )
    writer = KillSwitch(path, redis_url=redis_url, channel=channel)
    client = redis.Redis.from_url(redis_url)
    watcher.start()
    try:
        _wait_for(lambda: client.pubsub_numsub(channel)[0][1] == 1, 5.0)
        killed = [
            client.client_kill_filter(_id=str(info["id"]))
            for info in client.client_list()
            if info.get("name") == name
        ]
        assert killed
        # The subscriber reconnects (after its 1 s back-off) and catches up from store.db.
        _wait_for(lambda: client.pubsub_numsub(channel)[0][1] == 1, 5.0)
        writer.cut("vllm", "after a Redis hiccup", "kim")
        assert _wait_for(lambda: watcher.is_cut("vllm"), 1.0) < 1.0  # pub/sub, not the poll
    finally:
        client.close()
        watcher.stop()
        writer.stop()


def test_a_bad_redis_url_is_a_config_error(path: Path) -> None:
    with pytest.raises(ConfigError, match="not a Redis URL") as info:
        KillSwitch(path, redis_url="http://:hunter2secret@127.0.0.1/0")
    assert "hunter2secret" not in str(info.value)
