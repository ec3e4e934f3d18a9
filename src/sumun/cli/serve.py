"""`sumun serve` and `sumun demo` (what `make run` calls)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from sumun._fs import atomic_write
from sumun.admin.server import socket_path
from sumun.cli.common import (
    JsonOpt,
    PassOpt,
    ShareOpt,
    actor,
    credentials,
    handle_errors,
    settings,
)
from sumun.cli.render import console, err_console, print_json, render_status
from sumun.errors import StateError
from sumun.gateway.server import serve as run_server
from sumun.runtime import Runtime, open_runtime

__all__ = ["register"]

DEMO_KEY = "demo"
DEMO_SHARES = "demo-shares.txt"


def _run(runtime: Runtime, host: str, port: int, *, json_out: bool) -> None:
    service = runtime.keys

    def on_ready(base_url: str) -> None:
        if json_out:
            print_json(
                {
                    "base_url": base_url,
                    # Virtual keys arrive with the gateway (issue 4); until then there is none.
                    "api_key": None,
                    "admin_socket": str(socket_path(service.home)),
                }
            )
        else:
            console.print(f"\nSumun is listening on [bold]{base_url}[/] (Ctrl-C to stop)")
            console.print(f"  health: {base_url}/healthz   readiness: {base_url}/readyz")
            console.print(f"  admin channel: {socket_path(service.home)}")

    try:
        asyncio.run(run_server(runtime, host=host, port=port, on_ready=on_ready))
    finally:
        runtime.close()


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def serve(
        host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None,
        port: Annotated[int | None, typer.Option(help="port (default 8480)")] = None,
        shares: ShareOpt = None,
        passphrase: PassOpt = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Run Sumun. It starts sealed unless shares are given; `sumun unseal` opens it."""
        conf = settings()
        runtime = open_runtime(conf)
        service = runtime.keys
        if not service.initialised:
            runtime.close()
            raise StateError(f"{conf.home} is not initialised", advice="run `sumun init` first")
        if shares or passphrase:
            creds = credentials(shares, passphrase)
            service.unseal(shares=creds.shares, passphrase=creds.passphrase, actor=actor())
        elif not json_out:
            console.print("[yellow]sealed[/]: custodians unseal with `sumun unseal`")
        _run(
            runtime,
            host or conf.server.host,
            conf.server.port if port is None else port,
            json_out=json_out,
        )

    @app.command()
    @handle_errors
    def demo(
        port: Annotated[int | None, typer.Option(help="port (default 8480)")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Initialise a demo deployment if there is none, unseal it and serve it."""
        conf = settings()
        runtime = open_runtime(conf)
        service = runtime.keys
        shares_file = conf.home / DEMO_SHARES
        if not service.initialised:
            result = service.initialise(custodians=5, threshold=3, actor="sumun demo")
            atomic_write(shares_file, ("\n".join(result.shares) + "\n").encode())
            err_console.print(
                f"[bold yellow]warning:[/] demo only — the 5 custodian shares are written to "
                f"{shares_file}. A real deployment never stores its shares (`sumun init`)."
            )
            service.unseal_with(result.master_key, actor="sumun demo")
        else:
            if not shares_file.exists():
                runtime.close()
                raise StateError(
                    f"{conf.home} was not created by `sumun demo` (no {DEMO_SHARES})",
                    advice="use `sumun serve` and `sumun unseal`, or another SUMUN_HOME",
                )
            service.unseal(shares=shares_file.read_text().split(), actor="sumun demo")
        if DEMO_KEY not in {k.key_id for k in service.list_keys()}:
            service.lifecycle.create(DEMO_KEY, actor="sumun demo")
        if not json_out:
            render_status(service.status().to_json(), mode="this process")
        _run(
            runtime, conf.server.host, conf.server.port if port is None else port, json_out=json_out
        )
