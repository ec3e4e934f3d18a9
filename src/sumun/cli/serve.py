"""`sumun serve` and `sumun demo` (what `make run` calls)."""

from __future__ import annotations

import asyncio
import enum
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
from sumun.config import Settings
from sumun.errors import StateError
from sumun.logs import configure as configure_logging
from sumun.logs import effective_level
from sumun.runtime import Runtime, open_runtime
from sumun.server import Listening
from sumun.server import serve as run_server
from sumun.store.directory import Directory
from sumun.store.model import Role

__all__ = ["register"]

DEMO_TENANT = "demo"
DEMO_APP = "playground"
DEMO_SHARES = "demo-shares.txt"
DEMO_API_KEY = "demo-api-key.txt"
DEMO_ADMIN_KEY = "demo-admin-key.txt"
CONSOLE_PATH = "/console/"

AdminPortOpt = Annotated[
    int | None,
    typer.Option(
        "--admin-port", help="admin API port (default 8481; 0 with --port 0: any free port)"
    ),
]


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


LogFormatOpt = Annotated[
    LogFormat | None,
    typer.Option(
        "--log-format", help="json: one JSON object per line on stderr (default: logging.format)"
    ),
]
LogLevelOpt = Annotated[LogLevel | None, typer.Option("--log-level", help="default: logging.level")]


def _logging(conf: Settings, log_format: LogFormat | None, log_level: LogLevel | None) -> Settings:
    """`conf` with the command line's logging options applied, and logging set up by it
    (sumun.logs) before anything else runs, so start-up records are formatted too."""
    update = {"format": log_format, "level": log_level}
    changed = {k: str(v) for k, v in update.items() if v is not None}
    if changed:
        conf = conf.model_copy(update={"logging": conf.logging.model_copy(update=changed)})
    configure_logging(conf.logging)
    return conf


def _admin_port(port: int | None, admin_port: int | None) -> int | None:
    """`--port 0` asks for free ports: the admin API's too, unless `--admin-port` says."""
    if admin_port is None and port == 0:
        return 0
    return admin_port


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


def _demo_admin_key(runtime: Runtime) -> str:
    """An admin-role key of the demo tenant, for the admin API and the console (demo only:
    kept on disk like the demo's user key)."""
    path = runtime.settings.home / DEMO_ADMIN_KEY
    if path.exists():
        return path.read_text().strip()
    with Directory(runtime.control.database()) as directory:
        _key, secret = directory.issue_key(DEMO_TENANT, user="demo-admin", role=Role.ADMIN)
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
    runtime: Runtime,
    host: str,
    port: int,
    *,
    json_out: bool,
    admin_port: int | None = None,
    api_key: str | None = None,
    admin_key: str | None = None,
) -> None:
    service = runtime.keys

    def on_ready(listening: Listening) -> None:
        base_url, admin_url = listening.base_url, listening.admin_url
        console_url = None if admin_url is None else admin_url + CONSOLE_PATH
        if json_out:
            ready: dict[str, Any] = {
                "base_url": base_url,
                "api_key": api_key,
                "admin_url": admin_url,
                "admin_socket": str(socket_path(service.home)),
            }
            if listening.xks_url is not None:
                ready["xks_url"] = listening.xks_url
            if admin_key is not None:  # the demo's
                ready["console_url"] = console_url
                ready["admin_key"] = admin_key
            print_json(ready)
            return
        console.print(f"\nSumun is listening on [bold]{base_url}[/] (Ctrl-C to stop)")
        console.print(f"  health: {base_url}/healthz   readiness: {base_url}/readyz")
        console.print(f"  metrics: {base_url}/metrics   admin channel: {socket_path(service.home)}")
        if admin_url is not None:
            console.print(
                f"  admin API: {admin_url}/admin/v1/ (OpenAPI: {admin_url}/admin/v1/openapi.json)"
            )
        if listening.xks_url is not None:
            console.print(
                f"  AWS KMS XKS proxy: {listening.xks_url}/<uri-prefix>/kms/xks/v1/ (docs/xks.md)",
                highlight=False,
                markup=False,
            )
        if admin_key:
            console.print(
                f"  console: {console_url}   admin key (demo only): {admin_key}",
                highlight=False,
                markup=False,
            )
        if api_key:
            console.print(_snippet(base_url, api_key), highlight=False, markup=False)

    try:
        _event_loop_run(
            run_server(
                runtime,
                host=host,
                port=port,
                admin_port=admin_port,
                on_ready=on_ready,
                log_level=effective_level(runtime.settings.logging),
            )
        )
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
        admin_port: AdminPortOpt = None,
        shares: ShareOpt = None,
        passphrase: PassOpt = False,
        json_out: JsonOpt = False,
        log_format: LogFormatOpt = None,
        log_level: LogLevelOpt = None,
    ) -> None:
        """Run Sumun. It starts sealed unless shares are given; `sumun unseal` opens it."""
        conf = _logging(settings(), log_format, log_level)
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
            admin_port=_admin_port(port, admin_port),
        )

    @app.command()
    @handle_errors
    def demo(
        port: Annotated[int | None, typer.Option(help="port (default 8480)")] = None,
        admin_port: AdminPortOpt = None,
        json_out: JsonOpt = False,
        log_format: LogFormatOpt = None,
        log_level: LogLevelOpt = None,
    ) -> None:
        """Initialise a demo deployment if there is none, unseal it and serve it."""
        conf = _logging(settings(), log_format, log_level)
        if "operator_tenant" not in conf.admin_api.model_fields_set:
            # The demo's admin key (of the demo tenant) runs the demo deployment: it may cut.
            admin_api = conf.admin_api.model_copy(update={"operator_tenant": DEMO_TENANT})
            conf = conf.model_copy(update={"admin_api": admin_api})
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
        admin_key = _demo_admin_key(runtime)
        if not json_out:
            render_status(service.status().to_json(), mode="this process")
        _run(
            runtime,
            conf.server.host,
            conf.server.port if port is None else port,
            json_out=json_out,
            admin_port=_admin_port(port, admin_port),
            api_key=api_key,
            admin_key=admin_key,
        )
