"""The node's schedule of rekey epochs (`sumun.server`, `keys.rekey_days`): a round rekeys every
due key, stops at a safe point when the node stops, and says a refusal once, not every round."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sumun.keys.envelope import Context
from sumun.keys.model import VersionState
from sumun.runtime import Runtime, open_runtime
from sumun.server import _HaltedError, _rekey_due_keys, _rekey_epochs
from tests.keys.conftest import make_settings

CTX = Context("acme", "r1", "prompt")
WINDOW_S = 0.5


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = make_settings(
        tmp_path / "home", rekey_days=WINDOW_S / 86400, revocation_ttl_seconds=0.05
    )
    opened = open_runtime(settings)
    result = opened.keys.initialise(custodians=3, threshold=2, actor="test")
    opened.keys.unseal_with(result.master_key, actor="test")
    yield opened
    opened.keys.seal()
    opened.close()


def test_a_round_rekeys_each_due_key_and_halts_at_a_safe_point(runtime: Runtime) -> None:
    keys = runtime.keys
    keys.lifecycle.create("acme", actor="t")
    blob = keys.encrypt("acme", b"kept", CTX, subject="kim")
    time.sleep(WINDOW_S)
    halt = threading.Event()
    halt.set()  # the node is stopping: the rekey stops at its first safe point
    with pytest.raises(_HaltedError):
        _rekey_due_keys(runtime, halt, set())
    assert keys.decrypt(blob, CTX) == b"kept"
    _rekey_due_keys(runtime, threading.Event(), set())
    record = keys.get_key("acme")
    assert record is not None and record.primary >= 2
    assert all(v.state is VersionState.DESTROYED for v in record.versions if v.version == 1)
    assert keys.decrypt(blob, CTX) == b"kept"


def test_a_refused_key_is_logged_once(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    keys = runtime.keys
    keys.lifecycle.create("acme", actor="t")
    keys.lifecycle.rotate("acme", actor="t")
    keys.lifecycle.disable("acme", actor="t", version=1)
    time.sleep(WINDOW_S)
    refused: set[str] = set()
    with caplog.at_level(logging.WARNING, logger="sumun.serve"):
        for _ in range(3):
            _rekey_due_keys(runtime, threading.Event(), refused)
    warnings = [r.getMessage() for r in caplog.records if "rekey" in r.getMessage()]
    assert len(warnings) == 1 and "disabled versions (v1)" in warnings[0]
    assert refused == {"acme"}


def test_zero_days_starts_no_schedule(tmp_path: Path) -> None:
    opened = open_runtime(make_settings(tmp_path / "home", rekey_days=0))
    try:
        asyncio.run(asyncio.wait_for(_rekey_epochs(opened, asyncio.Event()), timeout=1))
    finally:
        opened.close()
