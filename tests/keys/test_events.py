"""Key events: every operation recorded, hash-chained, tamper evident."""

from __future__ import annotations

from pathlib import Path

import pytest

from sumun.errors import StateError
from sumun.keys.events import FileEventLog, read_events, verify_event_log
from sumun.keys.model import KeyAction, KeyEvent
from sumun.keys.service import KeyService
from tests.keys.conftest import make_settings


def _event(i: int) -> KeyEvent:
    return KeyEvent(time=float(i), actor="t", action=KeyAction.ROTATE, key_id="acme", version=i)


def test_chain_verifies_and_pinpoints_the_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = FileEventLog(path)
    for i in range(5):
        log.emit(_event(i))
    assert verify_event_log(path) == 5
    assert [e.version for e in read_events(path)] == [0, 1, 2, 3, 4]
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))  # remove the third event
    with pytest.raises(StateError, match=r"events.jsonl:3: hash chain broken"):
        verify_event_log(path)
    path.write_bytes(b"".join(lines).replace(b'"version":1', b'"version":9'))
    with pytest.raises(StateError, match=r":3: hash chain broken"):
        verify_event_log(path)
    path.write_bytes(b"".join(lines)[:-5])
    with pytest.raises(StateError, match=r":5: (truncated|not a JSON)"):
        verify_event_log(path)


def test_every_key_operation_emits_a_typed_event(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "h")
    svc = KeyService(settings, events=FileEventLog(settings.home / "key-events.jsonl"))
    result = svc.initialise(custodians=3, threshold=2, actor="admin@test")
    svc.unseal_with(result.master_key, actor="admin@test")
    svc.lifecycle.create("acme", actor="alice")
    svc.lifecycle.rotate("acme", actor="alice")
    svc.lifecycle.disable("acme", actor="bob", version=1)
    svc.lifecycle.enable("acme", actor="bob", version=1)
    svc.lifecycle.schedule_destroy("acme", actor="carol", grace_days=3)
    svc.lifecycle.enable("acme", actor="carol")
    svc.lifecycle.destroy_now("acme", actor="dave", shares=result.shares[:2])
    svc.seal(actor="admin@test")
    path = settings.home / "key-events.jsonl"
    assert verify_event_log(path) > 0
    events = list(read_events(path))
    actions = [e.action for e in events if e.action is not KeyAction.DEK_CREATE]
    assert actions == [
        KeyAction.INIT,
        KeyAction.UNSEAL,
        KeyAction.CREATE,
        KeyAction.ROTATE,
        KeyAction.DISABLE,
        KeyAction.ENABLE,
        KeyAction.SCHEDULE_DESTROY,
        KeyAction.CANCEL_DESTROY,
        KeyAction.DESTROY,
        KeyAction.SEAL,
    ]
    rotate = events[3]
    assert (rotate.actor, rotate.key_id, rotate.version, rotate.backend) == (
        "alice",
        "acme",
        2,
        "embedded",
    )
    assert all(e.time > 0 for e in events)
