"""Key state against the ledger's key events (issue 19): a disable that was silently reverted,
or a key change committed without its event, is reported by `sumun ledger verify` (exit 1)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from sumun import config
from sumun.keys.model import KeyRecord, KeyState, KeyVersion, VersionState
from sumun.keys.registry import Registry
from sumun.keys.seal import read_seal_info, unseal_with_shares
from sumun.ledger.keystate import key_state_disagreements
from tests.cli.test_cli_keys import Cli, _shares


def _record(key_id: str, state: KeyState, *versions: VersionState) -> KeyRecord:
    return KeyRecord(
        key_id=key_id,
        tenant=key_id,
        backend="embedded",
        suite=config.KeysConfig().suite,
        state=state,
        primary=1,
        versions=tuple(
            KeyVersion(version=i + 1, created_at=0.0, state=s) for i, s in enumerate(versions)
        ),
        created_at=0.0,
        updated_at=0.0,
    )


def _event(action: str, key_id: str, version: int | None = None) -> dict[str, Any]:
    attrs = {"action": action, "key_id": key_id}
    if version is not None:
        attrs["version"] = str(version)
    return {"kind": "key-event", "attrs": attrs}


def test_the_last_event_decides_what_the_state_must_be() -> None:
    events = [
        (1, _event("create", "a", 1)),
        (2, _event("disable", "a")),
        (3, _event("create", "b", 1)),
        (4, _event("rotate", "b", 2)),
        (5, _event("disable", "b", 1)),
        (6, _event("schedule-destroy", "b")),
        (7, _event("enable", "b")),  # cancels: the key is enabled again, v1 stays disabled
    ]
    agreeing = {
        "a": _record("a", KeyState.DISABLED, VersionState.ENABLED),
        "b": _record("b", KeyState.ENABLED, VersionState.DISABLED, VersionState.ENABLED),
    }
    assert key_state_disagreements(events, agreeing) == []
    reverted = {**agreeing, "a": replace(agreeing["a"], state=KeyState.ENABLED)}
    [found] = key_state_disagreements(events, reverted)
    assert (found.key_id, found.seq, found.expected, found.found) == ("a", 2, "disabled", "enabled")
    version_back = {
        **agreeing,
        "b": _record("b", KeyState.ENABLED, VersionState.ENABLED, VersionState.ENABLED),
    }
    [found] = key_state_disagreements(events, version_back)
    assert found.key_id == "b v1" and "disable" in str(found)
    assert key_state_disagreements(events, {})[0].found == "missing from the registry"


def test_ledger_verify_reports_a_silently_reverted_disable(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    shares = cli.json("init", "--custodians", "3", "--threshold", "2")["shares"][:2]
    assert cli.run("keys", "create", "acme", *_shares(shares)).returncode == 0
    assert cli.run("keys", "disable", "acme", *_shares(shares)).returncode == 0
    assert cli.json("ledger", "verify")["key_state_disagreements"] == []

    # What the concurrency race did (and what restoring an old registry does): the registry
    # says enabled, validly MAC'd, while the ledger's last event for the key says disable.
    master_key = unseal_with_shares(read_seal_info(cli.home), shares)
    registry = Registry(cli.home / "keystore", master_key)
    registry.update(lambda r: {**r, "acme": replace(r["acme"], state=KeyState.ENABLED)})
    master_key.wipe()

    done = cli.run("ledger", "verify", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    [problem] = report["key_state_disagreements"]
    assert "'acme' is enabled" in problem and "says disabled" in problem
    human = cli.run("ledger", "verify")
    assert human.returncode == 1 and "key state disagrees with the ledger" in human.stderr
