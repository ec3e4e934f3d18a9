"""`sumun reload`: the running Sumun re-reads sumun.yaml and its policy, as on SIGHUP.

It talks to the server of this home over the admin channel (`sumun.admin.server`), like
`sumun seal`. The server validates both files completely first; if anything is wrong nothing
changes and the error names each problem at its file and line (exit 2). Every other node of a
cluster re-reads its own files (`sumun.gateway.reload`).

The command reads no sumun.yaml itself — the file may be the broken one: only the home is
needed (`--home`, SUMUN_HOME or ./.sumun), to find the server's socket.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from sumun.cli.common import JsonOpt, handle_errors, state
from sumun.cli.render import console, print_json
from sumun.errors import StateError

__all__ = ["register"]


def _home() -> Path:
    home = state.home or Path(os.environ.get("SUMUN_HOME") or ".sumun")
    return home.resolve()


def _render(done: dict[str, Any]) -> None:
    if not done.get("applied"):
        console.print("[green]reloaded[/]: nothing changed — the files say what is in force")
    else:
        console.print(f"[green]reloaded[/]: changed {escape(', '.join(done['changed']))}")
    config = done.get("config_file") or "(no sumun.yaml: defaults)"
    console.print(f"  config: {escape(config)}  sha256 {done.get('config_sha256') or '-'}")
    policy = done.get("policy_source") or "built-in"
    console.print(f"  policy: {escape(policy)}  sha256 {done.get('policy_sha256') or '-'}")
    if done.get("ledger_seq") is not None:
        console.print(f"  recorded: ledger entry {done['ledger_seq']} (config-reload)")


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def reload(json_out: JsonOpt = False) -> None:
        """Re-read sumun.yaml and the policy in the running Sumun (as SIGHUP); all or nothing."""
        from sumun.admin.client import running_server

        home = _home()
        client = running_server(home)
        if client is None:
            raise StateError(
                f"no Sumun is running for {home}",
                advice="start it with `sumun serve` (it reads its files when it starts), or "
                "pass the home the server uses with --home / SUMUN_HOME",
            )
        try:
            done = client.call("POST", "/reload")
        finally:
            client.close()
        if json_out:
            print_json(done)
            return
        _render(done)
