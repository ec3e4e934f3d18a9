"""`sumun scan PATH`: audit the AI supply chain of a directory, file or archive (CONTRACTS.md).

Output: a human summary on stdout by default; `--format json|cyclonedx|sarif|html` (or `--json`)
writes that document to stdout, or to `-o FILE` (the format is then inferred from the file name
when not given, and the human summary still goes to stdout; the file is replaced atomically).
Every document is valid UTF-8: file names that are not are shown backslash-escaped
(`bad\\xff.pkl`). The progress bar goes to stderr, and only when stderr is a terminal. Exit 1
when a critical or high finding exists, 0 otherwise, 2 for usage errors (a path that does not
exist: one line on stderr). Needs no Sumun state.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sumun._fs import atomic_write
from sumun.cli.common import JsonOpt, handle_errors
from sumun.cli.render import console, err_console, print_json
from sumun.errors import UsageError
from sumun.scan._names import display_name
from sumun.scan.model import ScanResult, Severity

if TYPE_CHECKING:
    from sumun.scan.runtime import RuntimeUsage

__all__ = ["OutputFormat", "register", "render_summary", "write_document"]

_SHOWN_FINDINGS = 40
_STYLE = {
    "critical": "bold white on dark_red",
    "high": "bold red",
    "medium": "yellow",
    "low": "blue",
    "info": "dim",
}


class OutputFormat(enum.StrEnum):
    json = "json"
    cyclonedx = "cyclonedx"
    sarif = "sarif"
    html = "html"


def _infer(output: Path) -> OutputFormat:
    name = output.name.lower()
    if name.endswith((".html", ".htm")):
        return OutputFormat.html
    if name.endswith(".sarif") or name.endswith(".sarif.json"):
        return OutputFormat.sarif
    if name.endswith(".cdx.json") or "bom" in name:
        return OutputFormat.cyclonedx
    return OutputFormat.json


def write_document(
    result: ScanResult, fmt: OutputFormat, runtime: RuntimeUsage | None = None
) -> str:
    """The document for `fmt` as text (JSON keys sorted for `json`, spec order otherwise);
    `runtime` (from `--ledger`) adds the services used to the CycloneDX BOM and the HTML."""
    if fmt is OutputFormat.json:
        return json.dumps(result.to_json(), ensure_ascii=False, sort_keys=True) + "\n"
    if fmt is OutputFormat.cyclonedx:
        from sumun.scan.bom import to_cyclonedx

        bom = to_cyclonedx(result, runtime=runtime)
        return json.dumps(bom, ensure_ascii=False, indent=2) + "\n"
    if fmt is OutputFormat.sarif:
        from sumun.scan.sarif import to_sarif

        return json.dumps(to_sarif(result), ensure_ascii=False, indent=2) + "\n"
    from sumun.scan.html import render_html

    return render_html(result, runtime=runtime)


def render_summary(result: ScanResult) -> None:
    """The human summary (rich) on stdout. Values from scanned files are never markup."""
    size = f"{result.bytes / 1e6:,.1f} MB"
    console.print(
        Text(f"Scanned {result.root}: {result.files} files, {size}, {result.seconds:.1f} s")
    )
    counts = {s: sum(1 for f in result.findings if f.severity is s) for s in Severity}
    line = Text("Findings: ")
    for severity in sorted(Severity, reverse=True):
        line.append(f"{severity.label} {counts[severity]}", style=_STYLE[severity.label])
        line.append("  ")
    console.print(line)
    if result.findings:
        table = Table(title="Findings (worst first)", title_justify="left")
        for column in ("severity", "where", "rule", "message"):
            table.add_column(column, overflow="fold")
        ordered = sorted(result.findings, key=lambda f: (-int(f.severity), f.path, f.rule))
        for f in ordered[:_SHOWN_FINDINGS]:
            where = f.path + (f" → {f.member}" if f.member else "")
            where += f":{f.line}" if f.line else ""
            table.add_row(
                Text(f.severity.label, style=_STYLE[f.severity.label]),
                Text(where),
                Text(f.rule),
                Text(f.message),
            )
        console.print(table)
        if len(ordered) > _SHOWN_FINDINGS:
            console.print(
                Text(f"… {len(ordered) - _SHOWN_FINDINGS} more: use --format json|html|sarif")
            )
    services = [c for c in result.components if c.type == "service"]
    if services:
        table = Table(title="AI services by jurisdiction", title_justify="left")
        for column in ("provider", "jurisdiction", "endpoint", "used in"):
            table.add_column(column, overflow="fold")
        for c in sorted(services, key=lambda c: (c.jurisdiction or "~", c.provider or c.name)):
            table.add_row(
                Text(c.provider or c.name),
                Text(c.jurisdiction or "unknown"),
                Text(c.endpoint or ""),
                Text(", ".join(c.paths)),
            )
        console.print(table)
    kinds = {
        "machine-learning-model": "models",
        "data": "datasets",
        "library": "libraries",
        "service": "services",
    }
    found = ", ".join(
        f"{sum(1 for c in result.components if c.type == k)} {label}" for k, label in kinds.items()
    )
    console.print(Text(f"AI-BOM: {found}"))


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal. No refresh thread: the engine forks
    worker processes, and forking a process that runs threads is unsafe."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        auto_refresh=False,
    )
    task = bar.add_task("scan", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)
        bar.refresh()

    with bar:
        yield update


@contextmanager
def _trusting(modules: list[str]) -> Iterator[None]:
    """`--trust-module NAME`: `NAME.*` added to SUMUN_SCAN_PICKLE_ALLOW for this scan (the
    analyzers, inline or in forked workers, read their allowlist from the environment)."""
    import os

    from sumun.scan.formats._pickle_policy import ALLOW_ENV, trust_entries

    if not modules:
        yield
        return
    try:
        entries = trust_entries(modules)
    except ValueError as exc:
        raise UsageError(f"--trust-module: {exc}") from None
    before = os.environ.get(ALLOW_ENV)
    os.environ[ALLOW_ENV] = " ".join([before or "", *entries]).strip()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ALLOW_ENV, None)
        else:
            os.environ[ALLOW_ENV] = before


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def scan(
        path: Annotated[Path, typer.Argument(help="a directory, a file or an archive")],
        fmt: Annotated[
            OutputFormat | None,
            typer.Option("--format", "-f", help="json, cyclonedx (1.6), sarif (2.1.0) or html"),
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="write the document to FILE")
        ] = None,
        json_out: JsonOpt = False,
        workers: Annotated[
            int | None, typer.Option("--workers", help="parallel workers (default: cores)")
        ] = None,
        record: Annotated[
            bool,
            typer.Option(
                "--record", help="keep the result in SUMUN_HOME for `sumun comply report`"
            ),
        ] = False,
        trust_module: Annotated[
            list[str] | None,
            typer.Option(
                "--trust-module",
                help="trust pickled classes and functions of this package (your project's "
                "own); repeatable; dangerous calls stay critical",
            ),
        ] = None,
        ledger: Annotated[
            bool,
            typer.Option(
                "--ledger",
                help="add the services the gateway used (cyclonedx, html): runtime AI-BOM",
            ),
        ] = False,
        since: Annotated[
            float | None, typer.Option("--since", help="with --ledger: the last DAYS days")
        ] = None,
        start: Annotated[
            str | None, typer.Option("--from", help="with --ledger: from this date (ISO 8601)")
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", help="with --ledger: to this date (ISO 8601)")
        ] = None,
        time_limit: Annotated[
            float | None,
            typer.Option(
                "--time-limit",
                help="seconds per file before it is reported as timed out (default 30, plus "
                "1 s per 64 MiB; 0: no limit)",
            ),
        ] = None,
        cache: Annotated[
            Path | None,
            typer.Option(
                "--cache",
                help="keep per-file results in DIR and reuse them while a file and the "
                "scanner are unchanged (repeated scans in CI)",
            ),
        ] = None,
    ) -> None:
        """Audit the AI supply chain: model files, AI SDK use, endpoints and their jurisdiction."""
        from sumun.scan.engine import scan as run_scan

        runtime = None
        if ledger or since is not None or start or end:  # the ledger's modules only then
            from sumun.cli._scan_runtime import usage_for_options

            runtime = usage_for_options(ledger, since, start, end)

        if json_out and fmt not in (None, OutputFormat.json):
            raise UsageError("--json means --format json; give one of them")
        chosen = OutputFormat.json if json_out else fmt
        if chosen is None and output is not None:
            chosen = _infer(output)
        with _trusting(trust_module or []), _progress() as progress:
            result = run_scan(
                path, workers=workers, progress=progress, time_limit=time_limit, cache=cache
            )
        if record:
            import time

            from sumun.cli.common import settings
            from sumun.comply.scans import record_scan

            record_scan(settings().home, result.to_json(), now=time.time())
        if chosen is None:
            render_summary(result)
        elif output is None:
            if chosen is OutputFormat.json:
                print_json(result.to_json())
            else:
                sys.stdout.write(write_document(result, chosen, runtime))
                sys.stdout.flush()
        else:
            shown = display_name(str(output))
            # Encoded before anything is opened, then renamed into place: a failure leaves the
            # previous file (or none), never a truncated or 0-byte document.
            data = write_document(result, chosen, runtime).encode("utf-8")
            try:
                atomic_write(output, data, mode=0o666)  # less the umask, like any new file
            except OSError as exc:
                raise UsageError(f"cannot write {shown}: {exc.strerror}") from None
            if not json_out:
                render_summary(result)
            err_console.print(Text(f"wrote {shown} ({chosen.value})"))
        worst = result.worst
        if worst is not None and worst >= Severity.HIGH:
            raise typer.Exit(1)
