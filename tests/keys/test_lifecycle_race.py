"""A disable or a scheduled destruction can never be silently reverted by concurrent writers
(issue 19): other processes keep wrapping DEKs under the key — each wrap is counted in the key
registry — while this process disables and schedules destruction. Every state change must still
be there afterwards, on the single-host files and on the shared PostgreSQL control store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sumun import config
from sumun.keys.events import MemoryEventSink
from sumun.keys.model import KeyState
from sumun.keys.service import KeyService

_WRAPPER = """
import sys, time
from pathlib import Path
from sumun import config
from sumun.keys.events import MemoryEventSink
from sumun.keys.service import KeyService
settings = config.load(home=Path(sys.argv[1]))
svc = KeyService(settings, events=MemoryEventSink())
svc.unseal(shares=sys.argv[2:4])
deadline = time.monotonic() + float(sys.argv[4])
n = 0
while time.monotonic() < deadline:
    try:
        svc.lifecycle.count_wrap("acme", 1)  # what creating a DEK does to the registry
        n += 1
    except Exception:
        time.sleep(0.001)  # disabled/pending keys may refuse; keep racing
print(n)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    extra: dict[str, str] = {}
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("postgres_schema")
        (home / "sumun.yaml").write_text(
            json.dumps({"control": {"store": "postgres", "postgres_schema": schema}})
        )
        extra = {"SUMUN_CONTROL_DSN": dsn}
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    return {"home": str(home), **extra}


def test_disables_and_destructions_survive_concurrent_wraps(env: dict[str, str]) -> None:
    home = Path(env["home"])
    settings = config.load(home=home)
    svc = KeyService(settings, events=MemoryEventSink())
    result = svc.initialise(custodians=3, threshold=2)
    svc.unseal_with(result.master_key)
    svc.lifecycle.create("acme", actor="t")
    shares = list(result.shares[:2])
    child_env = {**os.environ, **{k: v for k, v in env.items() if k != "home"}}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, str(home), *shares, "6"],
            env=child_env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    reverted: list[str] = []
    try:
        time.sleep(1.5)  # the workers are unsealed and wrapping
        for round_ in range(15):
            svc.lifecycle.disable("acme", actor="t")
            time.sleep(0.03)  # wraps land meanwhile
            state = svc.get_key("acme").state  # type: ignore[union-attr]
            if state is not KeyState.DISABLED:
                reverted.append(f"disable {round_} -> {state.value}")
            svc.lifecycle.enable("acme", actor="t")
            svc.lifecycle.schedule_destroy("acme", actor="t", grace_days=1)
            time.sleep(0.03)
            state = svc.get_key("acme").state  # type: ignore[union-attr]
            if state is not KeyState.PENDING_DESTRUCTION:
                reverted.append(f"schedule {round_} -> {state.value}")
            svc.lifecycle.enable("acme", actor="t")
            time.sleep(0.02)
    finally:
        counts = [int(w.communicate(timeout=60)[0].strip() or 0) for w in workers]
        svc.seal()
    assert sum(counts) > 100, counts  # the race really ran
    assert reverted == []
