"""`sumun xks …` as an operator runs it: real processes, on SUMUN_HOME directly with a quorum
and against a running `sumun serve` through its admin channel."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.test_cli_keys import Cli, Server, cli, server

__all__ = ["cli", "server"]


def _shares(shares: list[str]) -> list[str]:
    return [arg for share in shares for arg in ("--share", share)]


def _everything_in(home: Path) -> bytes:
    """Every byte Sumun wrote under its home (stores, ledger, keystore files)."""
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_offline_walkthrough_with_a_quorum(cli: Cli) -> None:
    shares = _shares(cli.json("init", "--custodians", "5", "--threshold", "3")["shares"][:3])
    keystore = cli.json("xks", "keystores", "create", "bank", "--uri-prefix", "/bank-a")
    assert keystore["uri_path"] == "/bank-a/kms/xks/v1" and keystore["name"] == "bank"

    refused = cli.run("xks", "credentials", "issue", "bank", "--json")
    assert refused.returncode == 2 and "custodian shares are needed" in refused.stderr
    issued = cli.json("xks", "credentials", "issue", "bank", *shares)
    assert {"access_key_id", "secret_access_key"} <= set(issued)
    secret = issued["secret_access_key"]
    second = cli.json("xks", "credentials", "issue", "bank", *shares)  # rotation: two active

    outputs = []
    listed = cli.run("xks", "credentials", "list")
    outputs.append(listed.stdout + listed.stderr)
    assert issued["access_key_id"] in listed.stdout
    creds = cli.json("xks", "credentials", "list", "bank")["credentials"]
    assert [c["active"] for c in creds] == [True, True] and "secret" not in json.dumps(creds)

    key = cli.json("xks", "keys", "create", "bank", "ebs-volumes", "--usage", "both", *shares)
    assert (key["key_id"], key["state"], key["usage"], key["backend"]) == (
        "ebs-volumes",
        "enabled",
        "both",
        "embedded",
    )
    disabled = cli.json("xks", "keys", "disable", "ebs-volumes", *shares)
    assert disabled["state"] == "disabled" and disabled["enabled"] is False
    # The same cut as `sumun keys disable`: the key registry says so.
    registry = {k["key_id"]: k for k in cli.json("keys", "list")["keys"]}
    assert registry["ebs-volumes"]["state"] == "disabled"
    assert cli.json("xks", "keys", "enable", "ebs-volumes", *shares)["state"] == "enabled"
    keys = cli.json("xks", "keys", "list")["keys"]
    assert [(k["key_id"], k["keystore"], k["state"]) for k in keys] == [
        ("ebs-volumes", "bank", "enabled")
    ]

    setup = cli.run("xks", "aws-setup", "bank", "--endpoint", "https://xks.bank.example")
    assert setup.returncode == 0, setup.stderr
    text = setup.stdout
    for expected in (
        "aws kms create-custom-key-store",
        "--custom-key-store-type EXTERNAL_KEY_STORE",
        "--xks-proxy-uri-endpoint 'https://xks.bank.example'",
        "--xks-proxy-uri-path '/bank-a/kms/xks/v1'",
        "--xks-proxy-connectivity PUBLIC_ENDPOINT",
        f"AccessKeyId={second['access_key_id']},RawSecretAccessKey=<",
        "aws kms create-key",
        "--origin EXTERNAL_KEY_STORE",
        "--xks-key-id 'ebs-volumes'",
    ):
        assert expected in text, expected
    outputs.append(text)
    vpc = cli.json(
        "xks", "aws-setup", "bank", "--endpoint", "https://10.0.0.5",
        "--vpc-endpoint-service", "com.amazonaws.vpce.ap-northeast-2.vpce-svc-0abc",
        "--custom-key-store-id", "cks-1234567890abcdef0",
    )  # fmt: skip
    store = vpc["create_custom_key_store"]
    assert store["XksProxyConnectivity"] == "VPC_ENDPOINT_SERVICE"
    assert store["XksProxyVpcEndpointServiceName"].startswith("com.amazonaws.vpce")
    assert vpc["create_key"][0]["CustomKeyStoreId"] == "cks-1234567890abcdef0"

    destroyed = cli.json("xks", "keys", "destroy", "ebs-volumes", "--now", *shares)
    assert destroyed["state"] == "destroyed"
    revoked = cli.json("xks", "credentials", "revoke", "bank", issued["access_key_id"])
    assert revoked["active"] is False and revoked["changed"] is True

    tail = cli.run("ledger", "tail", "--kind", "admin-change", "--count", "50")
    outputs.append(tail.stdout)
    for action in ("xks-keystore-create", "xks-credential-issue", "xks-key-create"):
        assert action in tail.stdout
    assert "xks-credential-revoke" in tail.stdout
    for out in outputs:
        assert secret not in out and second["secret_access_key"] not in out
    # Sealed at rest: no store, ledger or keystore file holds a secret in the clear.
    written = _everything_in(cli.home)
    assert secret.encode() not in written and second["secret_access_key"].encode() not in written
    with sqlite3.connect(cli.home / "store.db") as db:
        count = db.execute("SELECT count(*) FROM xks_credentials").fetchone()[0]
    assert count == 2


def test_mistakes_get_one_line_and_exit_2(cli: Cli) -> None:
    shares = _shares(cli.json("init", "--custodians", "3", "--threshold", "2")["shares"][:2])
    assert cli.run("xks", "keystores", "create", "bank", "--uri-prefix", "/b").returncode == 0
    cases = [
        (["xks", "keystores", "create", "x", "--uri-prefix", "/a b"], "invalid URI prefix"),
        (["xks", "keystores", "create", "bank", "--uri-prefix", "/c"], "exists"),
        (["xks", "keystores", "create", "y", "--uri-prefix", "/b"], "URI prefix exists"),
        (["xks", "keys", "create", "nope", "k1", "--usage", "both", *shares], "no XKS keystore"),
        (["xks", "keys", "create", "bank", "sumun-x", "--usage", "both", *shares], "Sumun's own"),
        (["xks", "keys", "create", "bank", "Bad!", "--usage", "both", *shares], "invalid key id"),
        (["xks", "keys", "disable", "not-xks", *shares], "not an XKS key"),
        (["xks", "credentials", "revoke", "bank", "AAAAAAAAAAAAAAAAAAAA"], "no credential"),
        (["xks", "aws-setup", "bank", "--endpoint", "http://plain"], "https://"),
    ]
    for args, message in cases:
        done = cli.run(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr and done.stderr.count("\n") <= 2, done.stderr


def test_against_a_running_server_through_the_admin_channel(
    server: tuple[Cli, Server, list[str]],
) -> None:
    cli, _srv, shares = server
    assert cli.json("unseal", *_shares(shares[:3]))["sealed"] is False
    cli.json("xks", "keystores", "create", "bank", "--uri-prefix", "/bank")
    # Unsealed server: no shares needed; the server's key layer creates and seals.
    key = cli.json("xks", "keys", "create", "bank", "kb-1", "--usage", "encrypt")
    assert key["state"] == "enabled" and key["usage"] == "encrypt"
    issued = cli.json("xks", "credentials", "issue", "bank")
    assert len(issued["secret_access_key"]) == 48
    assert cli.json("xks", "keys", "disable", "kb-1")["state"] == "disabled"
    events = cli.run("ledger", "tail", "--kind", "key-event", "--count", "20").stdout
    assert "kb-1" in events and "disable" in events
    assert issued["secret_access_key"] not in _everything_in(cli.home).decode("latin-1")
