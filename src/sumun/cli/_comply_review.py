"""`sumun comply review|reviews`: human oversight reviews (AI Basic Act art. 34(4)).

A review is appended to the ledger like every entry: the annotation is encrypted under the
tenant's key, so writing one (and `reviews --decrypt`) needs the keys. The reviewer
authenticates with an auditor API key (`--key-file` or $SUMUN_AUDITOR_KEY).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sumun.cli._comply_common import AppOpt, ledger_append, require_initialised, when
from sumun.cli.common import JsonOpt, PassOpt, ShareOpt, actor, credentials, handle_errors, settings
from sumun.cli.render import console, print_json
from sumun.cli.target import open_target
from sumun.comply.gather import ledger_activity
from sumun.comply.oversight import DECISIONS, Decision, plan_review
from sumun.comply.register import Register, parse_subject
from sumun.errors import UsageError
from sumun.ledger.service import payload_context
from sumun.runtime import open_store
from sumun.store.control import documents_for, open_control
from sumun.store.directory import Directory

__all__ = ["review", "reviews"]

_AUDITOR_ENV = "SUMUN_AUDITOR_KEY"


def _auditor_key(key_file: Path | None) -> str:
    if key_file is not None:
        try:
            return key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read {key_file}: {exc}") from exc
    if os.environ.get(_AUDITOR_ENV):
        return os.environ[_AUDITOR_ENV].strip()
    if not sys.stdin.isatty():
        raise UsageError(f"an auditor API key is needed: set {_AUDITOR_ENV} or give --key-file")
    return getpass.getpass("Auditor API key: ").strip()


@handle_errors
def review(
    seq: Annotated[int, typer.Argument(help="the ledger entry reviewed")],
    flag: Annotated[bool, typer.Option("--flag", help="flag the entry for follow-up")] = False,
    annotate: Annotated[
        str | None, typer.Option("--annotate", help="a note (encrypted in the ledger)")
    ] = None,
    decision: Annotated[
        str, typer.Option(help="the human decision: confirm, override, escalate or none")
    ] = "none",
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help=f"file holding the auditor API key (or ${_AUDITOR_ENV})"),
    ] = None,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Record a human oversight review of a high-impact app's entry (art. 34(4))."""
    if decision not in DECISIONS:
        raise UsageError(f"--decision must be one of: {', '.join(DECISIONS)}")
    conf = settings()
    require_initialised(conf)
    api_key = _auditor_key(key_file)
    with Directory(open_control(conf).database()) as directory:
        principal = directory.authenticate(api_key)
    store = open_store(conf)
    try:
        chosen: Decision = decision
        plan = plan_review(
            store,
            Register(documents_for(conf)).load(),
            principal,
            seq,
            flag=flag,
            decision=chosen,
            annotation=annotate,
        )
    finally:
        store.close()
    written = ledger_append(plan.body, shares, passphrase)
    result = {
        "seq": written,
        "reviewed_seq": seq,
        "app": f"{plan.tenant}/{plan.app}",
        "reviewer": principal.key_id,
        "flag": flag,
        "decision": decision,
        "annotated": annotate is not None,
    }
    if json_out:
        print_json(result)
    else:
        console.print(
            f"review of entry #{seq} ({plan.tenant}/{plan.app}) recorded as ledger entry "
            f"#{written}: decision {decision}{', flagged' if flag else ''}"
        )


@handle_errors
def reviews(
    app_ref: AppOpt = None,
    decrypt: Annotated[
        bool, typer.Option("--decrypt", help="show the annotations (needs the keys)")
    ] = False,
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Oversight reviews recorded in the ledger."""
    conf = settings()
    require_initialised(conf)
    store = open_store(conf)
    try:
        found = ledger_activity(store, store.size()).reviews
        if app_ref is not None:
            tenant, app_name = parse_subject(app_ref)
            found = tuple(r for r in found if r.tenant == tenant and r.app == app_name)
        notes: dict[int, str] = {}
        if decrypt and any(r.annotated for r in found):
            target = open_target(conf, credentials(shares, passphrase), actor())
            try:
                for r in found:
                    if not r.annotated:
                        continue
                    stored = next(iter(store.entries(r.seq, r.seq + 1)))
                    entry = json.loads(stored.entry)
                    if stored.payload is not None:
                        plain = target.decrypt(stored.payload, payload_context(entry))
                        notes[r.seq] = plain.decode("utf-8", errors="replace")
            finally:
                target.close()
    finally:
        store.close()
    rows = [
        {
            "seq": r.seq,
            "reviewed_seq": r.reviewed_seq,
            "app": f"{r.tenant}/{r.app}",
            "reviewer": r.reviewer,
            "reviewer_user": r.reviewer_user,
            "flag": r.flag,
            "decision": r.decision,
            "time": when(r.time_ms / 1000),
            "annotated": r.annotated,
            **({"annotation": notes[r.seq]} if r.seq in notes else {}),
        }
        for r in found
    ]
    if json_out:
        print_json({"reviews": rows})
        return
    if not rows:
        console.print("[dim]no oversight reviews recorded[/]")
        return
    table = Table(title="Oversight reviews (art. 34(4))", title_justify="left")
    for column in ("#", "of #", "app", "reviewer", "flag", "decision", "when", "annotation"):
        table.add_column(column, overflow="fold")
    for row in rows:
        note = row.get("annotation") or ("(encrypted)" if row["annotated"] else "")
        table.add_row(
            str(row["seq"]),
            str(row["reviewed_seq"]),
            str(row["app"]),
            str(row["reviewer_user"] or row["reviewer"]),
            "[red]flagged[/]" if row["flag"] else "",
            str(row["decision"]),
            str(row["time"]),
            escape(str(note)),
        )
    console.print(table)
