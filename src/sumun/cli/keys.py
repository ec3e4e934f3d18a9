"""`sumun keys list|create|rotate|disable|enable|destroy|shred-subject|rekey`."""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from sumun.cli.common import JsonOpt, PassOpt, ShareOpt, handle_errors, with_target
from sumun.cli.render import console, err_console, print_json, render_keys
from sumun.cli.target import KeyTarget
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import KeyStateError, UsageError
from sumun.keys.envelope import Context

__all__ = ["app"]

app = typer.Typer(help="Tenant key lifecycle: destroy = crypto-shred.", no_args_is_help=True)

KeyArg = Annotated[str, typer.Argument(help="key id (usually the tenant name)")]
VersionOpt = Annotated[int | None, typer.Option("--version", help="one version, not the key")]


def _run(
    shares: list[str] | None,
    passphrase: bool,
    action: Callable[[KeyTarget], dict[str, Any]],
    json_out: bool,
    message: Callable[[dict[str, Any]], str],
) -> None:
    target = with_target(shares, passphrase)
    try:
        record = action(target)
    finally:
        target.close()
    if json_out:
        print_json(record)
        return
    console.print(message(record), highlight=False)
    render_keys([record])


@app.command("list")
@handle_errors
def list_(json_out: JsonOpt = False) -> None:
    """List tenant keys with their versions and states."""
    target = with_target(None, False)
    try:
        keys = target.list_keys()
        verified = target.mode == "running server" or not target.status().get("sealed", True)
    finally:
        target.close()
    if json_out:
        print_json({"keys": keys, "verified": verified})
    else:
        render_keys(keys, verified=verified)


@app.command()
@handle_errors
def create(
    key_id: KeyArg,
    tenant: Annotated[str | None, typer.Option(help="tenant (default: the key id)")] = None,
    suite: Annotated[Suite | None, typer.Option(help="suite for this key's data")] = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Create a tenant KEK (version 1) in the deployment's backend."""
    _run(
        shares,
        passphrase,
        lambda t: t.create(key_id, tenant, suite),
        json_out,
        lambda r: f"created [bold]{r['key_id']}[/] v1 in {r['backend']}",
    )


@app.command()
@handle_errors
def rotate(
    key_id: KeyArg, shares: ShareOpt = None, passphrase: PassOpt = False, json_out: JsonOpt = False
) -> None:
    """New primary version; older versions stay for decryption only."""
    _run(
        shares,
        passphrase,
        lambda t: t.rotate(key_id),
        json_out,
        lambda r: f"rotated [bold]{r['key_id']}[/]: primary is now v{r['primary']}",
    )


@app.command()
@handle_errors
def disable(
    key_id: KeyArg,
    version: VersionOpt = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Refuse all use of a key (or one old version) — everywhere within the revocation TTL."""
    _run(
        shares,
        passphrase,
        lambda t: t.disable(key_id, version),
        json_out,
        lambda r: f"disabled [bold]{r['key_id']}[/]" + (f" v{version}" if version else ""),
    )


@app.command()
@handle_errors
def enable(
    key_id: KeyArg,
    version: VersionOpt = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Enable a key or version again; cancels a scheduled destruction."""
    _run(
        shares,
        passphrase,
        lambda t: t.enable(key_id, version),
        json_out,
        lambda r: f"enabled [bold]{r['key_id']}[/]" + (f" v{version}" if version else ""),
    )


@app.command()
@handle_errors
def destroy(
    key_id: KeyArg,
    now: Annotated[
        bool, typer.Option("--now", help="erase immediately; needs a fresh custodian quorum")
    ] = False,
    grace_days: Annotated[
        float | None, typer.Option(help="days before erasure (default from config: 7)")
    ] = None,
    version: VersionOpt = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Crypto-shred: schedule erasure after a grace period, or erase --now with a quorum."""
    _run(
        shares,
        passphrase,
        lambda t: t.destroy(key_id, now=now, grace_days=grace_days, version=version),
        json_out,
        lambda r: (
            f"[red]destroyed[/] [bold]{r['key_id']}[/]"
            + (f" v{version}" if version else "")
            + ": its data can no longer be decrypted by anyone"
            if now
            else f"[magenta]scheduled[/] destruction of [bold]{r['key_id']}[/]; "
            "`sumun keys enable` cancels"
        ),
    )


@app.command("shred-subject")
@handle_errors
def shred_subject(
    key_id: KeyArg,
    subject: Annotated[str, typer.Argument(help="the data subject's id")],
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Erase one data subject's DEKs: their records become unreadable (PIPA erasure)."""
    _run(
        shares,
        passphrase,
        lambda t: t.shred_subject(key_id, subject),
        json_out,
        lambda r: f"shredded one subject's data keys under [bold]{r['key_id']}[/]",
    )


@app.command()
@handle_errors
def rekey(
    key_id: Annotated[str | None, typer.Argument(help="key id (or --all)")] = None,
    all_keys: Annotated[bool, typer.Option("--all", help="every enabled key")] = False,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Rewrap every DEK under a new primary, then destroy the older versions: no copy of the
    DEK store taken before now can be read any more (docs/keys.md). Runs on its own every
    keys.rekey_days."""
    if (key_id is None) != all_keys:
        raise UsageError("name one key to rekey, or give --all")
    target = with_target(shares, passphrase)
    done: list[dict[str, Any]] = []
    refused: dict[str, str] = {}
    try:
        if key_id is None:
            ids = [k["key_id"] for k in target.list_keys() if k["state"] == "enabled"]
        else:
            ids = [key_id]
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            for one in ids:
                task = bar.add_task(f"rekey {one}", total=None)

                def step(moved: int, total: int, task: TaskID = task) -> None:
                    bar.update(task, completed=moved, total=total)

                try:
                    done.append(target.rekey(one, step))
                except KeyStateError as exc:
                    if key_id is not None:
                        raise
                    refused[one] = str(exc)  # --all goes on with the other keys
                bar.remove_task(task)
    finally:
        target.close()
    if json_out:
        print_json(done[0] if key_id is not None else {"rekeyed": done, "refused": refused})
    else:
        for report in done:
            gone = ", ".join(f"v{v}" for v in report["destroyed"]) or "none"
            console.print(
                f"rekeyed [bold]{report['key_id']}[/]: primary v{report['primary']}, "
                f"{report['rewrapped']} DEKs rewrapped, destroyed {gone} "
                f"({report['seconds']:.1f} s)",
                highlight=False,
            )
    if refused:
        listed = "; ".join(f"{k}: {why}" for k, why in refused.items())
        raise KeyStateError(f"{len(refused)} of {len(ids)} keys were not rekeyed — {listed}")


RecordOpt = Annotated[str, typer.Option("--record", help="record id the data is bound to")]
PurposeOpt = Annotated[str, typer.Option("--purpose", help="purpose bound into the AAD")]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="tenant (default: the key id)")]


def _stdin_bytes() -> bytes:
    data = sys.stdin.buffer.read()
    if not data:
        raise UsageError("nothing on stdin to process")
    return data


@app.command()
@handle_errors
def encrypt(
    key_id: KeyArg,
    record: RecordOpt = "cli",
    purpose: PurposeOpt = "cli",
    tenant: TenantOpt = None,
    subject: Annotated[
        str | None, typer.Option(help="data subject: their own DEK, shreddable alone")
    ] = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
) -> None:
    """Encrypt stdin into an envelope (base64 on stdout) — to try the key layer by hand."""
    data = _stdin_bytes()
    target = with_target(shares, passphrase)
    try:
        blob = target.encrypt(key_id, data, Context(tenant or key_id, record, purpose), subject)
    finally:
        target.close()
    sys.stdout.write(base64.b64encode(blob).decode() + "\n")


@app.command()
@handle_errors
def decrypt(
    key_id: KeyArg,
    record: RecordOpt = "cli",
    purpose: PurposeOpt = "cli",
    tenant: TenantOpt = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
) -> None:
    """Decrypt a base64 envelope from stdin; the same key id, record and purpose are needed."""
    try:
        blob = base64.b64decode(_stdin_bytes().strip(), validate=True)
    except ValueError as exc:
        raise UsageError("stdin is not a base64 envelope") from exc
    target = with_target(shares, passphrase)
    try:
        data = target.decrypt(blob, Context(tenant or key_id, record, purpose))
    finally:
        target.close()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
