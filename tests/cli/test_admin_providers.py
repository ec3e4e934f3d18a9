"""The kill switch through the admin channel of a running Sumun (the admin API)."""

from __future__ import annotations

from sumun.admin.client import running_server
from tests.cli.test_cli_keys import Cli, Server, _shares


def test_cut_and_restore_through_the_admin_api(server: tuple[Cli, Server, list[str]]) -> None:
    cli, _srv, shares = server
    cli.json("unseal", *_shares(shares[:3]))
    client = running_server(cli.home)
    assert client is not None
    try:
        assert client.call("GET", "/providers") == [{"name": "demo", "cut": False}]
        cut = client.call("POST", "/providers/demo/cut", {"reason": "drill"})
        assert cut["cut"] is True and cut["ledger_seq"] >= 0
        assert client.call("GET", "/providers") == [{"name": "demo", "cut": True}]
        restored = client.call("POST", "/providers/demo/restore", {})
        assert restored["cut"] is False
    finally:
        client.close()
    entries = [r["entry"] for r in cli.json("ledger", "tail", "-n", "10")["entries"]]
    actions = [e["attrs"].get("action") for e in entries if e["kind"] == "admin-change"]
    assert actions[-2:] == ["provider-cut", "provider-restore"]
    assert all(
        e["attrs"]["actor"].endswith("via admin-channel")
        for e in entries
        if e["kind"] == "admin-change"
    )
