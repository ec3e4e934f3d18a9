"""`sumun comply attest|attestations|scan-import`: evidence the report reads but cannot collect.

Attestations keep the documents that satisfy a requirement no machine can check (each one also
recorded in the ledger); `scan-import` keeps a scan result as the latest AI-BOM.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sumun.cli._comply_common import AppOpt, ledger_append, require_initialised, when
from sumun.cli.common import JsonOpt, handle_errors, settings
from sumun.cli.render import console, print_json
from sumun.comply.attest import Attestations, reference, store_document
from sumun.comply.attesting import attest_attrs, attestation_subject
from sumun.comply.catalog import load_catalog
from sumun.comply.model import AttestationRecord, DocumentRef
from sumun.comply.scans import load_scan_file, record_scan
from sumun.errors import UsageError
from sumun.ledger.entry import EntryKind
from sumun.store.control import documents_for

__all__ = ["attest", "attestations", "scan_import"]


@handle_errors
def attest(
    requirement: Annotated[str, typer.Argument(help="requirement id, e.g. AIBA-34.1")],
    by: Annotated[str, typer.Option("--by", help="the person who attests (name, role)")],
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="a document to keep (repeat)")
    ] = None,
    ref: Annotated[
        list[str] | None, typer.Option("--ref", help="a URL or document number (repeat)")
    ] = None,
    app_ref: AppOpt = None,
    note: Annotated[str | None, typer.Option(help="a short note")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record the documents that satisfy a requirement no machine can check."""
    conf = settings()
    require_initialised(conf)
    subject = attestation_subject(load_catalog(), requirement, app_ref)
    if not file and not ref:
        raise UsageError("give at least one document: --file PATH or --ref URL")
    if not by.strip():
        raise UsageError("--by must name the person who attests")
    documents: list[DocumentRef] = [store_document(conf.home, p) for p in file or []]
    documents += [reference(r) for r in ref or []]
    attrs = attest_attrs(requirement, by, documents, subject)
    seq = ledger_append(
        {"tenant": "sumun", "kind": EntryKind.ADMIN_CHANGE.value, "attrs": attrs}, None, False
    )
    record = Attestations(documents_for(conf)).add(
        AttestationRecord(
            requirement=requirement,
            subject=subject,
            documents=tuple(documents),
            by=by,
            at=time.time(),
            note=note,
            ledger_seq=seq,
        )
    )
    if json_out:
        print_json(record.model_dump(mode="json"))
    else:
        console.print(
            f"attested {requirement}{' for ' + subject if subject else ''} by {by}: "
            f"{len(documents)} document(s) (ledger #{seq})"
        )


@handle_errors
def attestations(json_out: JsonOpt = False) -> None:
    """The attestations recorded so far."""
    records = Attestations(documents_for(settings())).load()
    if json_out:
        print_json({"attestations": [r.model_dump(mode="json") for r in records]})
        return
    if not records:
        console.print(
            "[dim]no attestations yet — `sumun comply attest REQ --by NAME --file DOC`[/]"
        )
        return
    table = Table(title="Attestations", title_justify="left")
    for column in ("requirement", "app", "by", "when", "documents", "ledger"):
        table.add_column(column, overflow="fold")
    for r in records:
        docs = ", ".join(
            f"{d.name} ({d.sha256[:12]}…)" if d.sha256 else d.name for d in r.documents
        )
        table.add_row(
            r.requirement,
            r.subject or "-",
            escape(r.by),
            when(r.at),
            escape(docs),
            "-" if r.ledger_seq is None else f"#{r.ledger_seq}",
        )
    console.print(table)


# -- scans ---------------------------------------------------------------------------------------


@handle_errors
def scan_import(
    result: Annotated[Path, typer.Argument(help="a `sumun scan --format json` result")],
    json_out: JsonOpt = False,
) -> None:
    """Keep a scan result as the latest AI-BOM the report reads."""
    conf = settings()
    require_initialised(conf)
    latest = record_scan(conf.home, load_scan_file(result), now=time.time(), resolve_root=False)
    if json_out:
        print_json({"latest": str(latest)})
    else:
        console.print(f"recorded {result} as the latest scan ({latest})")
