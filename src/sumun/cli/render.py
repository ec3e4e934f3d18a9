"""Human output for the CLI (rich tables) and the one-JSON-object contract for `--json`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["console", "err_console", "print_json", "render_keys", "render_status"]

# Piped output (scripts, CI logs) gets a wide fixed width instead of rich's 80-column default,
# so tables are not truncated into ellipses.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def print_json(obj: Any) -> None:
    """Exactly one JSON object on stdout, stable keys (the `--json` contract)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
    sys.stdout.flush()


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


_STATE_STYLE = {
    "enabled": "green",
    "disabled": "yellow",
    "pending-destruction": "magenta",
    "destroyed": "red",
}


def render_keys(keys: list[dict[str, Any]], *, verified: bool = True) -> None:
    title = "Tenant keys" if verified else "Tenant keys (sealed: integrity not checked)"
    table = Table(title=title, title_justify="left")
    for column in ("key id", "tenant", "state", "primary", "versions", "suite", "backend"):
        table.add_column(column)
    table.add_column("updated (UTC)")
    for key in sorted(keys, key=lambda k: str(k["key_id"])):
        state = str(key["state"])
        if state == "pending-destruction":
            state += f" (after {_when(key.get('destroy_after'))})"
        versions = ", ".join(
            f"v{v['version']}" + ("" if v["state"] == "enabled" else f" {v['state']}")
            for v in key["versions"]
        )
        table.add_row(
            str(key["key_id"]),
            str(key["tenant"]),
            f"[{_STATE_STYLE.get(str(key['state']), 'white')}]{state}[/]",
            f"v{key['primary']}",
            versions,
            str(key["suite"]),
            str(key["backend"]),
            _when(key.get("updated_at")),
        )
    if not keys:
        console.print("[dim]no tenant keys yet — `sumun keys create TENANT`[/]")
        return
    console.print(table)


def render_status(status: dict[str, Any], *, mode: str) -> None:
    if not status.get("initialised"):
        console.print("[yellow]not initialised[/] — run `sumun init`")
        return
    sealed = status["sealed"]
    state = "[red]sealed[/]" if sealed else "[green]unsealed[/]"
    if status["method"] == "shamir":
        seal = f"{status['threshold']}-of-{status['custodians']} custodian shares"
    else:
        seal = "operator passphrase"
    console.print(f"Sumun keys: {state}  ({mode})")
    console.print(f"  sealed by: {seal}")
    console.print(f"  backend:   {status['backend']}   suite: {status['suite']}")
    if status.get("backend_ok") is not None:
        health = "[green]reachable[/]" if status["backend_ok"] else "[red]UNAVAILABLE[/]"
        console.print(f"  backend health: {health} {status.get('backend_error') or ''}")
    for name, value in (status.get("backend_facts") or {}).items():
        console.print(f"  {name}: {value}")
    render_keys(list(status.get("keys") or []), verified=bool(status.get("verified")))
