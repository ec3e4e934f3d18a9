"""`sumun serve` and `sumun demo` (what `make run` calls)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any

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
from sumun.runtime import Runtime, open_runtime
from sumun.server import serve as run_server
from sumun.store.directory import Directory

__all__ = ["register"]

DEMO_TENANT = "demo"
DEMO_APP = "playground"
DEMO_SHARES = "demo-shares.txt"
DEMO_API_KEY = "demo-api-key.txt"


def _demo_api_key(runtime: Runtime) -> str:
    """The demo tenant, app and virtual key — created once; the key kept on disk (demo only)."""
    home = runtime.settings.home
    path = home / DEMO_API_KEY
    if path.exists():
        return path.read_text().strip()
    with Directory(runtime.control.database()) as directory:
        if DEMO_TENANT not in {t.name for t in directory.list_tenants()}:
            directory.create_tenant(DEMO_TENANT, ai_notice=True)
        if DEMO_APP not in {a.name for a in directory.list_apps(DEMO_TENANT)}:
            directory.create_app(DEMO_TENANT, DEMO_APP)
        _key, secret = directory.issue_key(DEMO_TENANT, app=DEMO_APP, user="demo-user")
    atomic_write(path, (secret + "\n").encode())
    return secret


def _snippet(base_url: str, api_key: str) -> str:
    return f"""
Point the OpenAI SDK at Sumun (paste into python):

    from openai import OpenAI
    client = OpenAI(base_url="{base_url}/v1", api_key="{api_key}")
    reply = client.chat.completions.create(
        model="demo", messages=[{{"role": "user", "content": "안녕하세요, 수문!"}}]
    )
    print(reply.choices[0].message.content)

Every call is recorded: `sumun ledger tail`. Cut the provider off: `sumun providers cut demo`.
"""


def _run(
    runtime: Runtime, host: str, port: int, *, json_out: bool, api_key: str | None = None
) -> None:
    service = runtime.keys

    def on_ready(base_url: str) -> None:
        if json_out:
            print_json(
                {
                    "base_url": base_url,
                    "api_key": api_key,
                    "admin_socket": str(socket_path(service.home)),
                }
            )
            return
        console.print(f"\nSumun is listening on [bold]{base_url}[/] (Ctrl-C to stop)")
        console.print(f"  health: {base_url}/healthz   readiness: {base_url}/readyz")
        console.print(f"  metrics: {base_url}/metrics   admin channel: {socket_path(service.home)}")
        if api_key:
            console.print(_snippet(base_url, api_key), highlight=False, markup=False)

    try:
        _event_loop_run(run_server(runtime, host=host, port=port, on_ready=on_ready))
    finally:
        runtime.close()


def _event_loop_run(main: Coroutine[Any, Any, None]) -> None:
    """uvloop when available (measurably faster for the gateway), else asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        asyncio.run(main)
        return
    uvloop.run(main)


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
        if DEMO_TENANT not in {k.key_id for k in service.list_keys()}:
            service.lifecycle.create(DEMO_TENANT, actor="sumun demo")
        api_key = _demo_api_key(runtime)
        if not json_out:
            render_status(service.status().to_json(), mode="this process")
        _run(
            runtime,
            conf.server.host,
            conf.server.port if port is None else port,
            json_out=json_out,
            api_key=api_key,
        )
