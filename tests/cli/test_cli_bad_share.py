"""`sumun unseal` names a custodian's wrong share, on SUMUN_HOME directly and through a
running server's admin channel: the message reaches the person at the terminal."""

from __future__ import annotations

from tests.cli.test_cli_keys import Cli, Server, _shares
from tests.keys.test_seal_shares import forge

NAMED = "share 2 (custodian share #2) does not fit the master key the others rebuild"


def _flat(text: str) -> str:
    """stderr as one line: rich wraps long messages."""
    return " ".join(text.split())


def test_direct_unseal_names_the_wrong_share(cli: Cli) -> None:
    shares = cli.json("init", "--custodians", "5", "--threshold", "3")["shares"]
    offered = [shares[0], forge(shares[1]), shares[2]]

    stuck = cli.run("unseal", *_shares(offered))
    assert stuck.returncode == 2
    assert "these 3 shares do not rebuild this deployment's master key" in _flat(stuck.stderr)
    assert "offer one more custodian's share" in _flat(stuck.stderr)

    done = cli.run("unseal", *_shares([*offered, shares[3]]))
    assert done.returncode == 0, done.stderr
    assert f"warning: {NAMED}" in _flat(done.stderr)
    assert "ask that custodian" in _flat(done.stderr).lower()
    as_json = cli.json("unseal", *_shares([*offered, shares[3]]))
    assert len(as_json["bad_shares"]) == 1 and as_json["bad_shares"][0].startswith(NAMED)


def test_custodians_at_a_running_server_learn_whose_share_is_wrong(
    server: tuple[Cli, Server, list[str]],
) -> None:
    cli, _srv, shares = server
    assert cli.json("unseal", "--share", shares[0])["collected"] == 1
    assert cli.json("unseal", "--share", forge(shares[1]))["collected"] == 2
    stuck = cli.run("unseal", "--share", shares[2])
    assert stuck.returncode == 2 and "offer one more custodian's share" in _flat(stuck.stderr)
    assert cli.json("status")["sealed"] is True

    done = cli.run("unseal", "--share", shares[3])
    assert done.returncode == 0, done.stderr
    assert "unsealed" in done.stdout
    assert f"warning: {NAMED}" in _flat(done.stderr)
    assert cli.json("status")["sealed"] is False
