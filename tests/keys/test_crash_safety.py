"""The embedded keystore survives a crash mid-write: SIGKILL a real writer, then read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.keys.conftest import Deployment

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from sumun import config
    from sumun.keys.events import MemoryEventSink
    from sumun.keys.service import KeyService

    home, shares = Path(sys.argv[1]), sys.argv[2:]
    svc = KeyService(config.load(home=home, env={}), events=MemoryEventSink())
    svc.unseal(shares=shares)
    i = 0
    print("ready", flush=True)
    while True:
        svc.lifecycle.create(f"k{i}", actor="crash-test")
        svc.lifecycle.rotate(f"k{i}", actor="crash-test")
        i += 1
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.6])
def test_sigkill_during_key_writes_leaves_a_consistent_keystore(
    deploy: object, delay: float
) -> None:
    d: Deployment = deploy()  # type: ignore[operator]
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(d.home), *d.shares[:3]],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    # Every file parses, and every version the registry names has its material.
    svc = d.service()
    keks = json.loads((d.home / "keystore" / "embedded-keks.json").read_text())["keks"]
    records = svc.list_keys()
    assert records, "the writer made no progress before it was killed"
    for record in records:
        for version in record.versions:
            assert str(version.version) in keks[record.key_id]
    # ...and the keys work.
    from sumun.keys.envelope import Context

    ctx = Context("t", "r", "p")
    blob = svc.encrypt(records[0].key_id, b"after the crash", ctx)
    assert svc.decrypt(blob, ctx) == b"after the crash"
    leftovers = [p.name for p in (d.home / "keystore").iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 2  # a torn temp file may remain; it is never read
