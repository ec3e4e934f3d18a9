"""`sumun providers list|cut|restore` — the kill switch.

A cut is written to the store (so it survives restarts) and, with Redis configured, published;
every gateway process stops choosing the provider within a second. The change is recorded in
the ledger as an `admin-change` entry (metadata only: no keys needed).
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.table import Table

from sumun.cli.common import JsonOpt, handle_errors, home_settings, settings
from sumun.cli.render import console, print_json
from sumun.errors import UsageError
from sumun.gateway.assemble import kill_switch_entry
from sumun.gateway.killswitch import KillSwitch
from sumun.runtime import open_runtime
from sumun.store.control import open_control
from sumun.store.cuts import CutRecord

__all__ = ["app"]

app = typer.Typer(help="Model providers and the kill switch.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="provider name (as in sumun.yaml `providers`)")]


def _actor() -> str:
    try:
        return f"{getpass.getuser()}@cli"
    except (KeyError, OSError):
        return "unknown@cli"


def _switch() -> KillSwitch:
    conf = settings()
    # The control store's connection announces each change (NOTIFY, and Redis if configured).
    return KillSwitch(open_control(conf).database())


def _record_json(record: CutRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "cut": record.cut,
        "reason": record.reason,
        "actor": record.actor,
        "at": record.at,
    }


def _known(name: str) -> None:
    names = [p.name for p in settings().providers]
    if name not in names:
        raise UsageError(f"unknown provider {name!r}; configured: {', '.join(names)}")


def _ledger(name: str, action: str, actor: str, reason: str) -> int:
    runtime = open_runtime(settings())
    try:
        entry = kill_switch_entry(name, action, actor, reason)
        return runtime.ledger.append(entry, durability="strict").wait()
    finally:
        runtime.close()


@app.command("list")
@handle_errors
def list_(json_out: JsonOpt = False) -> None:
    """Configured providers, their kind and whether the kill switch has cut them off."""
    conf = home_settings()
    switch = _switch()
    records = {r.name: r for r in switch.records()}
    rows: list[dict[str, Any]] = []
    for provider in conf.providers:
        record = records.get(provider.name)
        rows.append(
            {
                "name": provider.name,
                "kind": provider.kind,
                "base_url": provider.base_url,
                "cut": bool(record and record.cut),
                "reason": record.reason if record and record.cut else None,
            }
        )
    if json_out:
        print_json({"providers": rows})
        return
    table = Table(title="Providers", title_justify="left")
    for column in ("name", "kind", "endpoint", "state"):
        table.add_column(column)
    for row in rows:
        state = f"[red]CUT[/] ({row['reason']})" if row["cut"] else "[green]serving[/]"
        table.add_row(str(row["name"]), str(row["kind"]), str(row["base_url"] or "-"), state)
    console.print(table)


@app.command()
@handle_errors
def cut(
    name: NameArg,
    reason: Annotated[str, typer.Option(help="why (recorded in the ledger)")] = "cut by operator",
    json_out: JsonOpt = False,
) -> None:
    """Cut a provider off everywhere within 1 s; traffic fails over or is refused."""
    _known(name)
    actor = _actor()
    record = _switch().cut(name, reason, actor)
    seq = _ledger(name, "cut", actor, reason)
    if json_out:
        print_json({**_record_json(record), "ledger_seq": seq})
    else:
        console.print(f"[red]cut[/] provider [bold]{name}[/] (ledger #{seq}): {reason}")


@app.command()
@handle_errors
def restore(name: NameArg, json_out: JsonOpt = False) -> None:
    """Let traffic reach a cut provider again."""
    _known(name)
    actor = _actor()
    record = _switch().restore(name, actor)
    seq = _ledger(name, "restore", actor, record.reason)
    if json_out:
        print_json({**_record_json(record), "ledger_seq": seq})
    else:
        console.print(f"[green]restored[/] provider [bold]{name}[/] (ledger #{seq})")
