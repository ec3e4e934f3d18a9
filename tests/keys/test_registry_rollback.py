"""A restored older registry is refused (freshness, not just integrity).

The registry's MAC stops an edit, but an older copy carries a valid MAC: restoring the
`keys.json` of before a disable used to re-enable the key. The registry now has a revision
inside its MAC, every key-event names the revision it produced, and opening the keys refuses a
registry older than the ledger's last key-event — on the single-host files and on the shared
PostgreSQL control store. A fresh home, and a registry written before revisions existed, open.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from hashlib import sha256
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from sumun.errors import KeystoreCorruptError, KeystoreRollbackError
from sumun.keys.model import KeyState
from sumun.keys.seal import read_seal_info, unseal_with_shares
from tests.cli.test_cli_keys import Cli, _shares
from tests.keys.conftest import Deployment

_REGISTRY = "keystore/keys.json"


@dataclass
class Layout:
    """Where the registry lives, and how a backup of it is taken and put back."""

    cli: Cli
    read: Callable[[], bytes]
    write: Callable[[bytes], None]


@pytest.fixture(params=["files", "postgres"])
def layout(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Layout]:
    cli = Cli(tmp_path / "home")
    if request.param == "files":
        path = cli.home / _REGISTRY
        yield Layout(cli, path.read_bytes, path.write_bytes)
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema: str = request.getfixturevalue("postgres_schema")
    cli.home.mkdir()
    config = {"control": {"store": "postgres", "postgres_schema": schema}}
    (cli.home / "sumun.yaml").write_text(json.dumps(config))
    monkeypatch.setenv("SUMUN_CONTROL_DSN", dsn)
    table = sql.Identifier(schema, "documents")

    def read() -> bytes:
        with psycopg.connect(dsn, autocommit=True) as conn:
            query = sql.SQL("SELECT body FROM {} WHERE name = %s").format(table)
            row = conn.execute(query, (_REGISTRY,)).fetchone()
        assert row is not None
        return bytes(row[0])

    def write(body: bytes) -> None:  # what restoring a database backup of that row does
        with psycopg.connect(dsn, autocommit=True) as conn:
            query = sql.SQL("UPDATE {} SET body = %s WHERE name = %s").format(table)
            conn.execute(query, (body, _REGISTRY))

    yield Layout(cli, read, write)


def test_restoring_the_registry_of_before_a_disable_is_refused(layout: Layout) -> None:
    cli = layout.cli
    shares = cli.json("init", "--custodians", "3", "--threshold", "2")["shares"][:2]
    quorum = _shares(shares)
    cli.json("keys", "create", "acme", *quorum)
    backup = layout.read()
    assert cli.json("keys", "disable", "acme", *quorum)["state"] == "disabled"
    newest = layout.read()

    layout.write(backup)  # validly MAC'd, and says "acme" is enabled
    for attempt in (("unseal", *quorum), ("keys", "enable", "acme", *quorum)):
        done = cli.run(*attempt)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "rolled back" in done.stderr and "newest" in done.stderr
        assert "Traceback" not in done.stderr
    encrypt = cli.run("keys", "encrypt", "acme", *quorum, input_text="secret")
    assert encrypt.returncode == 1 and "rolled back" in encrypt.stderr

    layout.write(newest)  # the advice: put the newest copy back
    cli.json("unseal", *quorum)
    assert cli.json("keys", "list")["keys"][0]["state"] == "disabled"
    assert cli.json("ledger", "verify")["ok"] is True


def test_a_running_service_refuses_a_registry_restored_under_it(deploy: Any) -> None:
    d: Deployment = deploy()
    node = d.service()
    node.lifecycle.create("acme", actor="t")
    path = d.home / _REGISTRY
    backup = path.read_bytes()
    other = d.service()  # another process disables the key
    other.lifecycle.disable("acme", actor="t")
    other.seal()
    node.refresh(force=True)

    path.write_bytes(backup)
    with pytest.raises(KeystoreRollbackError, match="rolled back"):
        node.refresh(force=True)
    with pytest.raises(KeystoreRollbackError):
        node.lifecycle.enable("acme", actor="t")
    assert isinstance(KeystoreRollbackError("x"), KeystoreCorruptError)  # fail closed alike
    node.seal()
    with pytest.raises(KeystoreRollbackError, match="revision"):
        d.service()


def test_a_deleted_registry_is_a_rollback_too(deploy: Any) -> None:
    d: Deployment = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    svc.seal()
    (d.home / _REGISTRY).unlink()
    with pytest.raises(KeystoreRollbackError):
        d.service()


def test_a_fresh_home_opens(tmp_path: Path, deploy: Any) -> None:
    cli = Cli(tmp_path / "home")
    shares = cli.json("init", "--custodians", "3", "--threshold", "2")["shares"][:2]
    assert cli.json("unseal", *_shares(shares))["sealed"] is False
    assert cli.json("ledger", "verify")["ok"] is True
    d: Deployment = deploy()
    d.service().seal()
    d.service().seal()


def _format_1(d: Deployment) -> None:
    """Rewrite the registry as Sumun wrote it before revisions: format 1, MAC over the keys."""
    path = d.home / _REGISTRY
    keys = json.loads(path.read_text())["keys"]
    master_key = unseal_with_shares(read_seal_info(d.home), d.shares[:3])
    mac_key = master_key.derive("sumun/registry-mac/v1").buffer
    canonical = json.dumps(keys, sort_keys=True, separators=(",", ":")).encode()
    body = {"format": 1, "keys": keys, "mac": hmac.new(mac_key, canonical, sha256).hexdigest()}
    master_key.wipe()
    path.write_text(json.dumps(body, indent=1, sort_keys=True))


def test_a_registry_from_before_revisions_opens_and_is_upgraded(deploy: Any) -> None:
    d: Deployment = deploy()
    svc = d.service()
    svc.lifecycle.create("acme", actor="t")
    svc.lifecycle.disable("acme", actor="t")
    svc.seal()
    _format_1(d)
    # ...and a ledger from before revisions: its key-events name none.
    d.events.events[:] = [
        replace(e, detail={k: v for k, v in e.detail.items() if k != "registry_revision"})
        for e in d.events.events
    ]
    svc = d.service()
    assert svc.get_key("acme").state is KeyState.DISABLED  # type: ignore[union-attr]
    svc.lifecycle.enable("acme", actor="t")
    body = json.loads((d.home / _REGISTRY).read_text())
    assert body["format"] == 2 and body["revision"] >= 1
    svc.seal()
    # From here on a restored format-1 copy is an old copy like any other.
    _format_1(d)
    with pytest.raises(KeystoreRollbackError):
        d.service()
