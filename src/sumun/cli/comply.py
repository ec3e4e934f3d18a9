"""`sumun comply report|catalog|register|areas|review|reviews|attest|attestations|scan-import`.

Korea's requirements as code: the report reads the deployment's real state (keys, ledger,
store, policy, the latest scan, the register) and assesses every requirement of the catalog.
Guidance with sources, not legal advice.

Keys: through a running Sumun's admin channel the key registry is verified; on SUMUN_HOME
directly it is read sealed (checks that need it say "undetermined") unless `--share` (or
`--passphrase`) is given. Oversight reviews are appended to the ledger like every entry: the
annotation is encrypted under the tenant's key, so that needs the keys too.

This module owns the Typer `app` (the entry point `sumun.cli.comply:app`) and the report and
catalog commands; the others live in `_comply_register` (register, questionnaire),
`_comply_review` (review, reviews) and `_comply_attest` (attest, attestations, scan-import)
and are registered at the end of this module, in `--help` order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sumun.cli._comply_attest import attest, attestations, scan_import
from sumun.cli._comply_common import require_initialised
from sumun.cli._comply_register import areas, register
from sumun.cli._comply_review import review, reviews
from sumun.cli.common import JsonOpt, PassOpt, ShareOpt, actor, credentials, handle_errors, settings
from sumun.cli.render import console, err_console, print_json
from sumun.cli.target import KeyTarget, open_target
from sumun.comply.catalog import load_catalog
from sumun.comply.collectors import COLLECTORS
from sumun.comply.live import assess_deployment, key_origin
from sumun.comply.model import STATUSES
from sumun.comply.report import render_html
from sumun.comply.scans import load_scan_file
from sumun.errors import UsageError

__all__ = ["app"]

app = typer.Typer(
    help="Korea's requirements as code: the compliance report, the AI system register, "
    "oversight reviews and attestations. Guidance with sources, not legal advice.",
    no_args_is_help=True,
)


# -- report ------------------------------------------------------------------------------------


def _key_status(target: KeyTarget, unseal: bool) -> tuple[dict[str, Any], str]:
    if unseal and target.mode != "running server":
        target.unseal()
    status = target.status()
    if target.mode == "running server":
        where = "the running Sumun (admin channel)"
    else:
        where = "SUMUN_HOME directly"
    return status, key_origin(status, where)


def _print_summary(report_json: dict[str, Any], where: str | None) -> None:
    summary = report_json["summary"]
    console.print(f"[bold]{summary['headline_ko']}[/]", highlight=False)
    console.print(summary["headline_en"], highlight=False)
    counts = summary["counts"]
    console.print("  ".join(f"{status}: {counts[status]}" for status in STATUSES), highlight=False)
    if summary["top_failures"]:
        table = Table(title="What to fix first", title_justify="left")
        for column in ("requirement", "problem", "what to do"):
            table.add_column(column, overflow="fold")
        for item in summary["top_failures"]:
            name = item["id"] + (f" {item['subject']}" if item["subject"] else "")
            table.add_row(
                escape(f"{name}\n{item['title_en']}"),
                escape(item["problem"]),
                escape(item["advice"] or item["remedy_en"] or ""),
            )
        console.print(table)
    if where:
        console.print(f"report written to [bold]{where}[/]")
    err_console.print(f"[dim]{escape(report_json['disclaimer']['en'])}[/]", highlight=False)


@app.command()
@handle_errors
def report(
    fmt: Annotated[str, typer.Option("--format", help="html or json")] = "html",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write the report to this file")
    ] = None,
    scan: Annotated[
        Path | None, typer.Option("--scan", help="scan result to use instead of the latest")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="exit 1 when a requirement is at this status or worse "
            "(not-satisfied, undetermined, needs-attestation)",
        ),
    ] = None,
    catalog_dir: Annotated[
        Path | None, typer.Option("--catalog", help="a catalog directory (default: built in)")
    ] = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Assess the deployment against the requirements catalog; HTML or JSON."""
    if json_out:
        fmt = "json"
    if fmt not in ("html", "json"):
        raise UsageError("--format must be html or json")
    failing: tuple[str, ...] = ()
    if fail_on is not None:
        if fail_on not in STATUSES[:3]:
            raise UsageError("--fail-on must be not-satisfied, undetermined or needs-attestation")
        failing = STATUSES[: STATUSES.index(fail_on) + 1]
    if scan is not None:
        load_scan_file(scan)  # a bad file is a usage error, before any work
    conf = settings()
    require_initialised(conf)
    load_catalog(catalog_dir)  # a bad catalog is refused before the keys are read
    target = open_target(conf, credentials(shares, passphrase), actor())
    try:
        status, origin = _key_status(target, bool(shares) or passphrase)
    finally:
        target.close()
    result = assess_deployment(
        conf, key_status=status, key_origin=origin, scan_file=scan, catalog_dir=catalog_dir
    )
    document = result.to_json()
    text = (
        render_html(result)
        if fmt == "html"
        else json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    )
    if output is not None:
        output.write_text(text, encoding="utf-8")
        if json_out:
            print_json({"output": str(output), "summary": document["summary"]})
        else:
            _print_summary(document, str(output))
    elif fmt == "json":
        print_json(document)
    else:
        sys.stdout.write(text)
    if failing and any(a.status in failing for a in result.assessments):
        raise typer.Exit(1)


# -- catalog -------------------------------------------------------------------------------------


@app.command("catalog")
@handle_errors
def catalog_(
    catalog_dir: Annotated[
        Path | None, typer.Option("--catalog", help="a catalog directory (default: built in)")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The requirements, their sources and how each is checked; the collectors."""
    catalog = load_catalog(catalog_dir)
    if json_out:
        print_json(
            {
                "sources": [
                    {
                        "file": s.file,
                        "instrument_en": s.instrument_en,
                        "catalog_version": s.catalog_version,
                        "as_of": s.as_of,
                        "requirements": s.requirements,
                        "unconfirmed": s.unconfirmed,
                    }
                    for s in catalog.sources
                ],
                "requirements": [r.model_dump(mode="json") for r in catalog.requirements],
                "collectors": {name: c.reads for name, c in COLLECTORS.items()},
            }
        )
        return
    table = Table(title="Requirements catalog", title_justify="left")
    for column in ("id", "requirement", "source", "scope", "satisfied by"):
        table.add_column(column, overflow="fold")
    for req in catalog.requirements:
        source = f"{req.source.law.split(' (')[0]} {req.source.article}"
        if req.source.status == "unconfirmed":
            source += " [unconfirmed]"
        scope: list[str] = [req.scope.ai]
        scope += list(req.scope.sectors) + [f"class {c}" for c in req.scope.data_classes]
        how = [c.collector for c in req.checks]
        if req.attestation:
            how.append("attestation")
        table.add_row(
            req.id,
            escape(f"{req.title_ko}\n{req.title_en}"),
            escape(source),
            ", ".join(scope),
            "\n".join(how),
        )
    console.print(table)
    total = len(catalog.requirements)
    unconfirmed = sum(s.unconfirmed for s in catalog.sources)
    console.print(f"{total} requirements, {unconfirmed} with an unconfirmed source")


# The other commands live in their own modules; registered here, in this order, so that
# `sumun comply --help` lists them as before.
app.command()(register)
app.command()(areas)
app.command()(review)
app.command()(reviews)
app.command()(attest)
app.command()(attestations)
app.command("scan-import")(scan_import)
