"""Every committed key change has its ledger entry, even across `kill -9` (write-ahead intents).

A key operation writes the registry and then records its key-event in the ledger; a crash in
between used to leave a change with no entry (issue: "33 events for 34 rotations"). Now the
registry write carries the event as a pending intent, and opening the keys reconciles: the
entry is recorded late (marked `recovered`), once, and `sumun ledger verify` stays clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sumun.errors import LedgerUnavailableError
from sumun.keys.events import MemoryEventSink
from sumun.keys.model import KeyAction, KeyEvent
from sumun.keys.service import KeyService
from tests.cli.test_cli_keys import SUMUN, Cli, _shares
from tests.keys.conftest import Deployment

# The real `sumun` CLI, except that the process SIGKILLs itself at one point of a rotation:
# just before the ledger append (after the registry write), or just after it.
_CRASHING_SUMUN = textwrap.dedent(
    """
    import os, signal, sys
    from sumun.ledger.events import LedgerEventSink

    where = os.environ["CRASH_WHERE"]
    record = LedgerEventSink.emit

    def emit(self, event):
        if event.action.value == "rotate" and where == "before-append":
            os.kill(os.getpid(), signal.SIGKILL)
        record(self, event)
        if event.action.value == "rotate" and where == "after-append":
            os.kill(os.getpid(), signal.SIGKILL)

    LedgerEventSink.emit = emit
    from sumun.cli.main import main

    sys.argv[0] = "sumun"
    main()
    """
)


def _crashing_rotate(cli: Cli, where: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUMUN_HOME": str(cli.home), "CRASH_WHERE": where}
    env.pop("SUMUN_CONFIG", None)
    assert SUMUN[0] == sys.executable
    return subprocess.run(
        [sys.executable, "-c", _CRASHING_SUMUN, "keys", "rotate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _key_events(cli: Cli) -> list[dict[str, Any]]:
    entries = cli.json("ledger", "tail", "-n", "10000")["entries"]
    return [e["entry"]["attrs"] for e in entries if e["entry"]["kind"] == "key-event"]


@pytest.mark.parametrize("where", ["before-append", "after-append"])
def test_a_rotation_killed_around_its_ledger_append_has_exactly_one_entry(
    tmp_path: Path, where: str
) -> None:
    cli = Cli(tmp_path / "home")
    shares = cli.json("init", "--custodians", "3", "--threshold", "2")["shares"][:2]
    quorum = _shares(shares)
    cli.json("keys", "create", "acme", *quorum)
    assert cli.json("keys", "rotate", "acme", *quorum)["primary"] == 2

    killed = _crashing_rotate(cli, where, "acme", *quorum)
    assert killed.returncode == -9, killed.stderr
    # The crash left v3 committed in the registry (read while sealed: no keys needed).
    assert cli.json("keys", "list")["keys"][0]["primary"] == 3

    # Opening the keys again (any command that unseals) reconciles before anything else.
    cli.json("unseal", *quorum)
    rotations = [e for e in _key_events(cli) if e["action"] == "rotate"]
    assert [e["version"] for e in rotations] == ["2", "3"]
    recovered = [e.get("detail.recovered") for e in rotations]
    assert recovered == [None, "true" if where == "before-append" else None]

    # Business as usual afterwards: one entry per committed rotation, a clean ledger.
    assert cli.json("keys", "rotate", "acme", *quorum)["primary"] == 4
    rotations = [e for e in _key_events(cli) if e["action"] == "rotate"]
    assert [e["version"] for e in rotations] == ["2", "3", "4"]
    assert len({e["detail.registry_revision"] for e in rotations}) == 3
    verified = cli.json("ledger", "verify")
    assert verified["ok"] is True and verified["key_state_disagreements"] == []


def test_a_disable_killed_before_its_entry_is_still_reported_by_the_ledger(
    tmp_path: Path,
) -> None:
    """The state-bearing case: a disable with no entry made `ledger verify` disagree."""
    cli = Cli(tmp_path / "home")
    shares = cli.json("init", "--custodians", "3", "--threshold", "2")["shares"][:2]
    quorum = _shares(shares)
    cli.json("keys", "create", "acme", *quorum)
    env = {**os.environ, "SUMUN_HOME": str(cli.home), "CRASH_WHERE": "before-append"}
    script = _CRASHING_SUMUN.replace('"rotate"', '"disable"')
    killed = subprocess.run(
        [sys.executable, "-c", script, "keys", "disable", "acme", *quorum],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    cli.json("unseal", *quorum)
    disables = [e for e in _key_events(cli) if e["action"] == "disable"]
    assert len(disables) == 1 and disables[0]["detail.recovered"] == "true"
    assert cli.json("ledger", "verify")["key_state_disagreements"] == []


def test_an_operation_still_at_work_is_left_to_its_writer(tmp_path: Path) -> None:
    """Opening the keys while another process is between its registry write and its append
    does not record that process's event for it: it would be recorded twice."""
    cli = Cli(tmp_path / "home")
    shares = cli.json("init", "--custodians", "3", "--threshold", "2")["shares"][:2]
    quorum = _shares(shares)
    cli.json("keys", "create", "acme", *quorum)
    script = _CRASHING_SUMUN.replace(
        "os.kill(os.getpid(), signal.SIGKILL)",
        'print("in flight", file=sys.stderr, flush=True); sys.stdin.readline()',
    )
    env = {**os.environ, "SUMUN_HOME": str(cli.home), "CRASH_WHERE": "before-append"}
    writer = subprocess.Popen(
        [sys.executable, "-c", script, "keys", "rotate", "acme", *quorum, "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert writer.stderr is not None and writer.stdin is not None
        assert writer.stderr.readline().strip() == "in flight"
        cli.json("unseal", *quorum)  # reconciles: the writer is alive, its intent is its own
        assert [e for e in _key_events(cli) if e["action"] == "rotate"] == []
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    [rotation] = [e for e in _key_events(cli) if e["action"] == "rotate"]
    assert rotation["version"] == "2" and "detail.recovered" not in rotation
    assert json.loads((cli.home / "keystore" / "keys.json").read_text())["pending"] == []


class _FlakySink:
    """The ledger, refusing to record one action (say, its disk is full for a moment)."""

    def __init__(self, inner: MemoryEventSink, refuse: KeyAction) -> None:
        self.inner = inner
        self.refuse = refuse

    def emit(self, event: KeyEvent) -> None:
        if event.action is self.refuse:
            raise LedgerUnavailableError("the ledger store cannot record")
        self.inner.emit(event)

    def last_event(self) -> KeyEvent | None:
        return self.inner.last_event()


def test_a_change_whose_entry_could_not_be_written_is_recorded_at_the_next_open(
    deploy: Any,
) -> None:
    d: Deployment = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    svc.seal()
    flaky = KeyService(
        d.settings,
        events=_FlakySink(d.events, KeyAction.ROTATE),
        clock=d.clock.time,
        monotonic=d.clock.monotonic,
    )
    flaky.unseal(shares=d.shares[:3])
    with pytest.raises(LedgerUnavailableError):
        flaky.lifecycle.rotate("acme", actor="t")
    flaky.seal()
    assert [e.action for e in d.events.events].count(KeyAction.ROTATE) == 0

    d.clock.advance(3600)  # long after: the writer is certainly gone
    again = d.service()
    [rotation] = [e for e in d.events.events if e.action is KeyAction.ROTATE]
    assert rotation.version == 2 and rotation.detail["recovered"] == "true"
    assert again.get_key("acme").primary == 2  # type: ignore[union-attr]
    again.seal()
    # Recorded once: the next open finds nothing left to recover.
    d.service().seal()
    assert [e.action for e in d.events.events].count(KeyAction.ROTATE) == 1


def test_wrap_counting_records_no_intent(deploy: Any) -> None:
    """count_wrap is on the data path (one per DEK): it writes no intent and no event."""
    d: Deployment = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    before = len(d.events.events)
    for _ in range(3):
        svc.lifecycle.count_wrap("acme", 1)
    assert len(d.events.events) == before
    assert json.loads((d.home / "keystore" / "keys.json").read_text())["pending"] == []
    svc.seal()
