"""Does each key's state agree with the ledger's account of it? (issue 19)

The key registry says what state a key is in; the ledger's `key-event` entries say what was done
to it. They must agree: a disable that a concurrent writer silently reverted, a key change that
committed without its event (a crash in between), or a registry restored from an older backup
all show up as a key whose state is not what its last event says. Pure: entries and records in,
disagreements out (`sumun ledger verify` reports them and exits 1).

What each event implies, for the whole key (`version` absent, except `create`'s first version):
create, enable, cancel-destroy -> enabled; disable -> disabled; schedule-destroy -> pending
destruction; destroy -> destroyed. With a `version`, disable/enable/destroy speak of that
version only. Other events (rotate, shred-subject, seal…) change no state checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sumun.keys.model import KeyRecord, KeyState, VersionState

__all__ = ["Disagreement", "key_state_disagreements"]

_KEY_STATE = {
    "create": KeyState.ENABLED,
    "enable": KeyState.ENABLED,
    "cancel-destroy": KeyState.ENABLED,
    "disable": KeyState.DISABLED,
    "schedule-destroy": KeyState.PENDING_DESTRUCTION,
    "destroy": KeyState.DESTROYED,
}
_VERSION_STATE = {
    "enable": VersionState.ENABLED,
    "disable": VersionState.DISABLED,
    "destroy": VersionState.DESTROYED,
}


@dataclass(frozen=True, slots=True)
class Disagreement:
    key_id: str
    seq: int
    action: str
    expected: str
    found: str

    def __str__(self) -> str:
        return (
            f"key {self.key_id!r} is {self.found}, but its last key-event (seq {self.seq}, "
            f"{self.action}) says {self.expected}"
        )


def key_state_disagreements(
    events: Iterable[tuple[int, Mapping[str, Any]]], records: Mapping[str, KeyRecord]
) -> list[Disagreement]:
    """`events`: (seq, decoded entry) of `key-event` entries in seq order."""
    whole: dict[str, tuple[int, str]] = {}
    per_version: dict[tuple[str, int], tuple[int, str]] = {}
    for seq, entry in events:
        attrs = entry.get("attrs") or {}
        key_id, action = attrs.get("key_id"), attrs.get("action")
        if not isinstance(key_id, str) or not isinstance(action, str):
            continue
        version = attrs.get("version")
        if action in _VERSION_STATE and version is not None:
            per_version[(key_id, int(version))] = (seq, action)
        elif action in _KEY_STATE:
            whole[key_id] = (seq, action)
    found: list[Disagreement] = []
    for key_id, (seq, action) in sorted(whole.items()):
        record = records.get(key_id)
        expected = _KEY_STATE[action]
        state = "missing from the registry" if record is None else record.state.value
        if record is None or record.state is not expected:
            found.append(Disagreement(key_id, seq, action, expected.value, state))
    for (key_id, number), (seq, action) in sorted(per_version.items()):
        record = records.get(key_id)
        if record is None or record.state is KeyState.DESTROYED:
            continue  # the whole key's fate is checked above
        version = record.version(number)
        want = _VERSION_STATE[action]
        if version is None or version.state is not want:
            has = "missing" if version is None else version.state.value
            found.append(Disagreement(f"{key_id} v{number}", seq, action, want.value, has))
    return found
