"""`sumun doctor`: check this deployment and print what to fix (sumun.doctor does the work).

Exit 0 when nothing fails (warnings do not fail), 1 when a check fails, 2 for a usage error or
a home `sumun init` never made. It changes nothing and prints no secret.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sumun.cli.common import JsonOpt, handle_errors, state
from sumun.cli.render import console, print_json

__all__ = ["register"]

_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def doctor(
        timeout: Annotated[
            float,
            typer.Option(min=0.5, max=30, help="seconds each network check may take"),
        ] = 3.0,
        json_out: JsonOpt = False,
    ) -> None:
        """Check this deployment (home, backends, stores, certificates, server); say what to fix."""
        from sumun.doctor import doctor_context, run_doctor

        ctx, configuration = doctor_context(
            home=state.home, config_file=state.config_file, timeout=timeout
        )
        checks = [configuration, *run_doctor(ctx)]
        counts = {s: sum(1 for c in checks if c.status == s) for s in ("ok", "warn", "fail")}
        failed = counts["fail"] > 0
        if json_out:
            print_json(
                {
                    "ok": not failed,
                    "home": str(ctx.home),
                    "counts": counts,
                    "checks": [c.to_json() for c in checks],
                }
            )
        else:
            table = Table(title=f"sumun doctor — {ctx.home}", title_justify="left")
            table.add_column("check", no_wrap=True)
            table.add_column("", no_wrap=True)
            table.add_column("finding")
            table.add_column("what to do")
            for check in checks:
                table.add_row(
                    check.name,
                    _STYLE[check.status],
                    escape(check.summary),
                    escape(check.advice),
                )
            console.print(table)
            verdict = "[red]problems found[/]" if failed else "[green]nothing fails[/]"
            console.print(
                f"{verdict}: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail"
            )
        if failed:
            raise typer.Exit(1)
