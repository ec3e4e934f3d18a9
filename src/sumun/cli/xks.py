"""`sumun xks keystores|credentials|keys|aws-setup` — AWS KMS External Key Store (docs/xks.md).

The XKS tables (keystores, credentials, key usage) are written to the control store directly,
like `sumun tenants`: a running server sees each change within 1 s. Everything that needs keys
goes through the same key target as `sumun keys` — a running server over its admin channel,
or SUMUN_HOME directly given a quorum (`--share` ×k or `--passphrase`): creating an external
key (a Sumun key), sealing a new SigV4 secret, disable / enable / destroy. Each change is a
ledger entry: key changes the key layer's `key-event`, the rest an `admin-change` naming the
actor. A secret access key is printed once, by `credentials issue`, and never again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sumun.cli.common import JsonOpt, PassOpt, ShareOpt, handle_errors, settings, with_target
from sumun.cli.render import console, err_console, print_json
from sumun.store.control import open_control
from sumun.store.xks import XksStore
from sumun.xks.model import KeyUsage
from sumun.xks.service import XksManager, aws_setup

__all__ = ["app"]

app = typer.Typer(
    help="AWS KMS External Key Store: keystores, SigV4 credentials, external keys.",
    no_args_is_help=True,
)
keystores_app = typer.Typer(help="Logical keystores (one per AWS custom key store).")
credentials_app = typer.Typer(help="SigV4 credentials: issue (secret shown once), list, revoke.")
keys_app = typer.Typer(help="External keys: Sumun keys AWS may use (disable = kill switch).")
app.add_typer(keystores_app, name="keystores", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials", no_args_is_help=True)
app.add_typer(keys_app, name="keys", no_args_is_help=True)

KeystoreArg = Annotated[str, typer.Argument(help="keystore name")]
KeyIdArg = Annotated[str, typer.Argument(help="external key id (= the Sumun key id)")]
_SYSTEM_TENANT = "sumun"  # admin-change entries' tenant (gateway.assemble.admin_change_entry)


@contextmanager
def _manager(shares: list[str] | None = None, passphrase: bool = False) -> Iterator[XksManager]:
    target = with_target(shares, passphrase)
    store: XksStore | None = None
    try:
        store = XksStore(open_control(settings()).database())

        def record(action: str, attrs: dict[str, str]) -> int | None:
            body = {
                "tenant": _SYSTEM_TENANT,
                "decision": action,
                "attrs": {"action": action, "via": "cli", **attrs},
            }
            seq = target.ledger_append(body).get("seq")
            return None if seq is None else int(seq)

        yield XksManager(store, target, record)
    finally:
        if store is not None:
            store.close()
        target.close()


def _when(ts: float | None) -> str:
    import datetime as dt

    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# -- keystores ---------------------------------------------------------------------------------


@keystores_app.command("create")
@handle_errors
def keystores_create(
    name: KeystoreArg,
    uri_prefix: Annotated[
        str,
        typer.Option("--uri-prefix", help='path before /kms/xks/v1, e.g. "/bank-a" ("" for none)'),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Create a logical keystore served at https://<host><PREFIX>/kms/xks/v1."""
    with _manager() as manager:
        keystore = manager.create_keystore(name, uri_prefix)
    if json_out:
        print_json(keystore)
        return
    console.print(
        f"created keystore [bold]{escape(keystore['name'])}[/]: XksProxyUriPath "
        f"[bold]{escape(keystore['uri_path'])}[/]",
        highlight=False,
    )


@keystores_app.command("list")
@handle_errors
def keystores_list(json_out: JsonOpt = False) -> None:
    """Keystores and their URI paths."""
    with _manager() as manager:
        keystores = manager.list_keystores()
    if json_out:
        print_json({"keystores": keystores})
        return
    table = Table("name", "XksProxyUriPath", "created")
    for k in keystores:
        table.add_row(k["name"], k["uri_path"], _when(k["created_at"]))
    console.print(table)


# -- credentials -------------------------------------------------------------------------------


@credentials_app.command("issue")
@handle_errors
def credentials_issue(
    keystore: KeystoreArg,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Issue a SigV4 credential; the secret is printed ONCE (Sumun keeps it sealed)."""
    with _manager(shares, passphrase) as manager:
        issued = manager.issue_credential(keystore)
    if json_out:
        print_json(issued.to_json())
        return
    console.print(f"AccessKeyId:        {issued.access_key_id}", highlight=False)
    console.print(f"RawSecretAccessKey: {issued.secret_access_key}", highlight=False)
    err_console.print(
        "[yellow]The secret is shown once.[/] Paste it into AWS's "
        "XksProxyAuthenticationCredential now (`sumun xks aws-setup` shows where).",
        highlight=False,
    )


@credentials_app.command("revoke")
@handle_errors
def credentials_revoke(
    keystore: KeystoreArg,
    access_key_id: Annotated[str, typer.Argument(help="the access key id to revoke")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a credential: requests signed with it fail within 1 s."""
    with _manager() as manager:
        result = manager.revoke_credential(keystore, access_key_id)
    if json_out:
        print_json(result)
        return
    word = "revoked" if result["changed"] else "was already revoked:"
    console.print(f"{word} {escape(access_key_id)} of {escape(keystore)}", highlight=False)


@credentials_app.command("list")
@handle_errors
def credentials_list(
    keystore: Annotated[str | None, typer.Argument(help="only this keystore")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Credentials (access key ids and states; never a secret)."""
    with _manager() as manager:
        rows = manager.list_credentials(keystore)
    if json_out:
        print_json({"credentials": rows})
        return
    table = Table("keystore", "access key id", "created", "revoked")
    for r in rows:
        table.add_row(
            r["keystore"], r["access_key_id"], _when(r["created_at"]), _when(r["revoked_at"])
        )
    console.print(table)


# -- keys --------------------------------------------------------------------------------------


def _show_key(key: dict[str, Any], json_out: bool, message: str) -> None:
    if json_out:
        print_json(key)
        return
    console.print(message, highlight=False)


@keys_app.command("create")
@handle_errors
def keys_create(
    keystore: KeystoreArg,
    key_id: KeyIdArg,
    usage: Annotated[
        KeyUsage, typer.Option("--usage", help="what AWS may do with it", case_sensitive=False)
    ],
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Create an external key: a Sumun key (AES-256-GCM) on this deployment's backend."""
    with _manager(shares, passphrase) as manager:
        key = manager.create_key(keystore, key_id, usage.value)
    _show_key(
        key,
        json_out,
        f"created external key [bold]{escape(key_id)}[/] in {escape(keystore)} "
        f"({key['backend']}, usage {usage.value}); its XksKeyId is {escape(key_id)}",
    )


@keys_app.command("disable")
@handle_errors
def keys_disable(
    key_id: KeyIdArg,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """The kill switch: every Encrypt and Decrypt with this key fails within 1 s."""
    with _manager(shares, passphrase) as manager:
        key = manager.disable_key(key_id)
    _show_key(key, json_out, f"disabled [bold]{escape(key_id)}[/]: AWS can no longer use it")


@keys_app.command("enable")
@handle_errors
def keys_enable(
    key_id: KeyIdArg,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Enable again (also cancels a scheduled destruction)."""
    with _manager(shares, passphrase) as manager:
        key = manager.enable_key(key_id)
    _show_key(key, json_out, f"enabled [bold]{escape(key_id)}[/]")


@keys_app.command("destroy")
@handle_errors
def keys_destroy(
    key_id: KeyIdArg,
    now: Annotated[
        bool, typer.Option("--now", help="erase at once; needs a fresh custodian quorum")
    ] = False,
    grace_days: Annotated[
        float | None, typer.Option(help="days before erasure (default from config: 7)")
    ] = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Crypto-shred: everything AWS protected with this key becomes unreadable for good."""
    with _manager(shares, passphrase) as manager:
        key = manager.destroy_key(key_id, now=now, grace_days=grace_days)
    message = (
        f"[red]destroyed[/] [bold]{escape(key_id)}[/]: what AWS encrypted with it is gone"
        if now
        else f"[magenta]scheduled[/] destruction of [bold]{escape(key_id)}[/] (unusable now; "
        "`sumun xks keys enable` cancels)"
    )
    _show_key(key, json_out, message)


@keys_app.command("list")
@handle_errors
def keys_list(json_out: JsonOpt = False) -> None:
    """External keys with their keystore, usage and state."""
    with _manager() as manager:
        keys = manager.list_keys()
    if json_out:
        print_json({"keys": keys})
        return
    table = Table("key id", "keystore", "usage", "state", "backend", "created")
    for k in keys:
        style = "green" if k["enabled"] else "red"
        table.add_row(
            k["key_id"],
            k["keystore"],
            k["usage"],
            f"[{style}]{k['state']}[/]",
            str(k["backend"] or "-"),
            _when(k["created_at"]),
        )
    console.print(table)


# -- AWS ---------------------------------------------------------------------------------------


@app.command("aws-setup")
@handle_errors
def aws_setup_cmd(
    keystore: KeystoreArg,
    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint", help="https://<host>[:port] where AWS reaches Sumun's XKS listener"
        ),
    ],
    vpc_endpoint_service: Annotated[
        str | None,
        typer.Option(
            "--vpc-endpoint-service",
            help="VPC endpoint service name: VPC_ENDPOINT_SERVICE connectivity",
        ),
    ] = None,
    access_key_id: Annotated[
        str | None, typer.Option("--access-key-id", help="default: the newest active one")
    ] = None,
    custom_key_store_id: Annotated[
        str | None, typer.Option("--custom-key-store-id", help="AWS's id, once it exists")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="AWS custom key store name")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Print what to paste into AWS: CreateCustomKeyStore and CreateKey, as AWS CLI commands."""
    with _manager() as manager:
        found = manager.keystore(keystore)
        active = [c for c in manager.list_credentials(keystore) if c["active"]]
        key_ids = [k["key_id"] for k in manager.list_keys() if k["keystore"] == keystore]
    if access_key_id is None and active:
        access_key_id = active[-1]["access_key_id"]
    setup = aws_setup(
        found,
        endpoint=endpoint,
        access_key_id=access_key_id,
        key_ids=key_ids,
        connectivity="PUBLIC_ENDPOINT" if vpc_endpoint_service is None else "VPC_ENDPOINT_SERVICE",
        vpc_endpoint_service=vpc_endpoint_service,
        store_name=name,
        custom_key_store_id=custom_key_store_id,
    )
    if json_out:
        print_json(setup)
        return
    for command in setup["commands"]:
        typer.echo(command + "\n")
    if not active:
        err_console.print(
            "[yellow]no active credential yet:[/] `sumun xks credentials issue "
            f"{escape(keystore)}` first",
            highlight=False,
        )
