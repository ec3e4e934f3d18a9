"""`sumun keys rekey KEY | --all` as an operator runs it: on SUMUN_HOME directly, and through a
running server's admin channel (docs/keys.md, "Shredding: what is erased, and when")."""

from __future__ import annotations

import pytest

from tests.cli.test_cli_keys import Cli, Server, _shares


@pytest.fixture
def fast(cli: Cli) -> Cli:
    """A home whose revocation bound is short, so the rekey's wait for other processes is too."""
    cli.home.mkdir(parents=True)
    (cli.home / "sumun.yaml").write_text("keys:\n  revocation_ttl_seconds: 0.1\n")
    return cli


def test_rekey_on_the_home_directly(fast: Cli) -> None:
    cli = fast
    quorum = _shares(cli.json("init")["shares"][:3])
    cli.json("keys", "create", "acme", *quorum)
    cli.json("keys", "create", "bank", *quorum)
    kim = cli.run("keys", "encrypt", "acme", "--subject", "kim", *quorum, input_text="kim's")
    lee = cli.run("keys", "encrypt", "acme", "--subject", "lee", *quorum, input_text="lee's")
    assert kim.returncode == 0 and lee.returncode == 0, kim.stderr + lee.stderr
    cli.json("keys", "shred-subject", "acme", "kim", *quorum)

    report = cli.json("keys", "rekey", "acme", *quorum)
    assert (report["key_id"], report["primary"], report["rotated"]) == ("acme", 2, True)
    assert (report["rewrapped"], report["destroyed"]) == (1, [1])
    opened = cli.run("keys", "decrypt", "acme", *quorum, input_text=lee.stdout)
    assert opened.returncode == 0 and opened.stdout == "lee's"  # sealed under v1, still opens
    gone = cli.run("keys", "decrypt", "acme", *quorum, input_text=kim.stdout)
    assert gone.returncode == 2 and "version 1 was destroyed" in gone.stderr

    # --all goes past a key it must refuse, says so, and exits 2.
    cli.json("keys", "rotate", "bank", *quorum)
    cli.json("keys", "disable", "bank", "--version", "1", *quorum)
    both = cli.run("keys", "rekey", "--all", *quorum)
    assert both.returncode == 2
    assert "rekeyed acme: primary v3, 1 DEKs rewrapped, destroyed v2" in both.stdout
    assert "1 of 2 keys were not rekeyed" in both.stderr and "disabled versions" in both.stderr

    wrong = cli.run("keys", "rekey", "acme", "--all")
    assert wrong.returncode == 2 and "name one key to rekey, or give --all" in wrong.stderr


def test_rekey_through_the_running_server(fast: Cli, server: tuple[Cli, Server, list[str]]) -> None:
    cli, _srv, shares = server
    cli.json("unseal", *_shares(shares[:3]))
    cli.json("keys", "create", "acme")
    sealed = cli.run("keys", "encrypt", "acme", "--subject", "lee", input_text="lee's")
    report = cli.json("keys", "rekey", "acme")
    assert (report["primary"], report["rewrapped"], report["destroyed"]) == (2, 1, [1])
    assert cli.run("keys", "decrypt", "acme", input_text=sealed.stdout).stdout == "lee's"
    entries = [row["entry"] for row in cli.json("ledger", "tail", "-n", "50")["entries"]]
    events = [
        e["attrs"]
        for e in entries
        if e["kind"] == "key-event" and e["attrs"].get("key_id") == "acme"
    ]
    rekeys = [a for a in events if a["action"] == "rekey"]
    assert rekeys and rekeys[-1]["actor"].endswith("via admin-channel")
    assert rekeys[-1]["detail.destroyed"] == "1" and rekeys[-1]["version"] == "2"
    destroys = [a for a in events if a["action"] == "destroy"]
    assert destroys and destroys[-1]["detail.mode"] == "rekey"
