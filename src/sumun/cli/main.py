"""The `sumun` command: top-level commands; sub-apps register themselves at the end."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Literal

import typer
import typer.core
import typer.main

# typer 0.2x vendors click; its group API takes these types, not the `click` package's.
from typer._click.core import Command, Context

from sumun import __version__
from sumun.cli import _help
from sumun.cli.common import (
    JsonOpt,
    PassOpt,
    ShareOpt,
    actor,
    handle_errors,
    prompt_passphrase,
    settings,
    state,
    with_target,
)
from sumun.cli.render import console, print_json, render_status
from sumun.crypto.hazmat.aead import Suite
from sumun.errors import UsageError

__all__ = ["app", "main"]

_help.install()  # help names types in words (TEXT, INTEGER), never <bool> or <list[str]>

# Sub-commands load on first use: `sumun scan` must not pay for the gateway's imports, nor
# `sumun pii detect` for the ledger's. name -> (module, attribute): a Typer sub-app, or a
# `register(app)` function that adds top-level commands.
_LAZY: dict[str, tuple[str, str]] = {
    "keys": ("sumun.cli.keys", "app"),
    "ledger": ("sumun.cli.ledger", "app"),
    "pii": ("sumun.cli.pii", "app"),
    "policy": ("sumun.cli.policy", "app"),
    "providers": ("sumun.cli.providers", "app"),
    "tenants": ("sumun.cli.tenants", "app"),
    "comply": ("sumun.cli.comply", "app"),
    "xks": ("sumun.cli.xks", "app"),
    "scan": ("sumun.cli.scan", "register"),
    "serve": ("sumun.cli.serve", "register"),
    "demo": ("sumun.cli.serve", "register"),
    "reload": ("sumun.cli.reload", "register"),
    "doctor": ("sumun.cli.doctor", "register"),
}


def _load(name: str) -> Command | None:
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    if attr == "app":
        command = typer.main.get_command(module.app)
        command.name = name
        return command
    holder = typer.Typer()
    module.register(holder)
    group = typer.main.get_command(holder)
    if isinstance(group, typer.core.TyperGroup):
        return group.get_command(Context(group), name)
    return group if group.name == name else None


class _LazyGroup(typer.core.TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in _LAZY:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="sumun",
    cls=_LazyGroup,
    help="Sumun (수문): a sovereign AI gateway. Hold the keys, govern every call, prove it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option("--home", help="state directory (default $SUMUN_HOME or ./.sumun)"),
    ] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="sumun.yaml (default: SUMUN_CONFIG, home, cwd)")
    ] = None,
) -> None:
    state.home = home
    state.config_file = config_file


@app.command()
def version(json_out: JsonOpt = False) -> None:
    """Print Sumun's version."""
    if json_out:
        print_json({"version": __version__})
        return
    console.print(f"sumun {__version__}")


@app.command()
@handle_errors
def init(
    custodians: Annotated[int | None, typer.Option(help="number of custodian shares (n)")] = None,
    threshold: Annotated[int | None, typer.Option(help="shares needed to unseal (k)")] = None,
    suite: Annotated[
        Suite | None, typer.Option(help="AEAD suite for this deployment's data")
    ] = None,
    passphrase: PassOpt = False,
    backend: Annotated[
        Literal["embedded", "pkcs11", "openbao"] | None,
        typer.Option(help="key backend, recorded for every later command (default: keys.backend)"),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create the master key and seal it; print the custodian shares ONCE."""
    base = settings()
    if suite is not None:
        base = base.model_copy(update={"keys": base.keys.model_copy(update={"suite": suite})})
    if backend is not None:
        if "backend" in base.keys.model_fields_set and base.keys.backend != backend:
            raise UsageError(
                f"--backend {backend}, but the configuration (keys.backend or "
                f"SUMUN_KEYS_BACKEND) says {base.keys.backend}: choose one"
            )
        base = base.model_copy(update={"keys": base.keys.model_copy(update={"backend": backend})})
    if passphrase and (custodians is not None or threshold is not None):
        raise UsageError("choose --custodians/--threshold or --passphrase, not both")
    from sumun.runtime import open_runtime

    runtime = open_runtime(base)
    try:
        result = runtime.keys.initialise(
            custodians=custodians,
            threshold=threshold,
            passphrase=prompt_passphrase(new=True) if passphrase else None,
            actor=actor(),
        )
        result.master_key.wipe()
    finally:
        runtime.close()
    info = result.info
    if json_out:
        print_json(
            {
                "home": str(base.home),
                "method": info.method,
                "shares": list(result.shares),
                "threshold": info.threshold,
                "custodians": info.custodians,
                "backend": info.backend,
                "suite": info.suite.value,
            }
        )
        return
    console.print(f"Initialised Sumun in [bold]{base.home}[/] ({info.backend}, {info.suite.value})")
    if info.method == "shamir":
        console.print(
            f"\n[bold yellow]Custodian shares — shown this once. Give one to each of "
            f"{info.custodians} custodians; any {info.threshold} unseal.[/]\n"
        )
        for number, share in enumerate(result.shares, start=1):
            console.print(f"  share {number}: {share}", highlight=False, soft_wrap=True)
        console.print("\nNext: `sumun unseal` (or `sumun serve`, then `sumun unseal`).")
    else:
        console.print("Sealed with your passphrase. Next: `sumun unseal --passphrase`.")


@app.command()
@handle_errors
def unseal(shares: ShareOpt = None, passphrase: PassOpt = False, json_out: JsonOpt = False) -> None:
    """Give a quorum of custodian shares (or the passphrase) to a running Sumun."""
    target = with_target(shares, passphrase)
    try:
        result = target.unseal()
    finally:
        target.close()
    if json_out:
        print_json({"mode": target.mode, **result})
        return
    if result.get("sealed"):
        console.print(
            f"share accepted: {result.get('collected')}/{result.get('threshold')} — "
            "more custodians needed"
        )
    elif target.mode == "running server":
        console.print("[green]unsealed[/]: the running Sumun holds its keys")
    else:
        console.print(
            "[green]shares verified[/] — no Sumun is running, so nothing stays unsealed. "
            "Start `sumun serve`, or pass --share to `sumun keys …` commands."
        )


@app.command()
@handle_errors
def seal(json_out: JsonOpt = False) -> None:
    """Drop the keys from a running Sumun's memory; traffic is refused until unsealed."""
    target = with_target(None, False)
    try:
        result = target.seal()
    finally:
        target.close()
    if json_out:
        print_json({"mode": target.mode, **result})
    else:
        console.print(f"[yellow]sealed[/] ({target.mode})")


@app.command()
@handle_errors
def status(json_out: JsonOpt = False) -> None:
    """Seal state, backend health and tenant keys."""
    target = with_target(None, False)
    try:
        result = target.status()
    finally:
        target.close()
    if json_out:
        print_json({"mode": target.mode, **result})
    else:
        render_status(result, mode=target.mode)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
