"""`sumun comply report|catalog|register|review|reviews|attest|attestations|scan-import`.

Korea's requirements as code: the report reads the deployment's real state (keys, ledger,
store, policy, the latest scan, the register) and assesses every requirement of the catalog.
Guidance with sources, not legal advice.

Keys: through a running Sumun's admin channel the key registry is verified; on SUMUN_HOME
directly it is read sealed (checks that need it say "undetermined") unless `--share` (or
`--passphrase`) is given. Oversight reviews are appended to the ledger like every entry: the
annotation is encrypted under the tenant's key, so that needs the keys too.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table

from sumun.cli.common import JsonOpt, PassOpt, ShareOpt, actor, credentials, handle_errors, settings
from sumun.cli.render import console, err_console, print_json
from sumun.cli.target import KeyTarget, open_target
from sumun.comply.assess import assess
from sumun.comply.attest import Attestations, reference, store_document
from sumun.comply.catalog import Catalog, load_catalog
from sumun.comply.collectors import COLLECTORS
from sumun.comply.gather import gather, ledger_activity
from sumun.comply.model import STATUSES, AttestationRecord, DocumentRef, HighImpactArea
from sumun.comply.oversight import DECISIONS, Decision, plan_review
from sumun.comply.register import (
    Determination,
    Register,
    RegisterSector,
    Registration,
    Significance,
    determine,
    parse_subject,
)
from sumun.comply.report import build_report, render_html
from sumun.comply.scans import load_scan_file, record_scan
from sumun.config import Settings
from sumun.errors import StateError, UsageError
from sumun.keys import seal
from sumun.ledger.entry import EntryKind
from sumun.ledger.service import payload_context
from sumun.runtime import open_store
from sumun.store.directory import Directory

__all__ = ["app"]

app = typer.Typer(
    help="Korea's requirements as code: the compliance report, the AI system register, "
    "oversight reviews and attestations. Guidance with sources, not legal advice.",
    no_args_is_help=True,
)

AppOpt = Annotated[str | None, typer.Option("--app", help="the app, as TENANT/APP")]
_AUDITOR_ENV = "SUMUN_AUDITOR_KEY"


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _initialised(conf: Settings) -> None:
    if not (conf.home / seal.HOME_FILE).exists():
        raise StateError(f"{conf.home} is not an initialised Sumun home", advice="run `sumun init`")


def _ledger_append(body: dict[str, Any], shares: list[str] | None, passphrase: bool) -> int:
    """Append through the running Sumun, or on SUMUN_HOME directly; returns the seq."""
    target = open_target(settings(), credentials(shares, passphrase), actor())
    try:
        return int(target.ledger_append(body)["seq"])
    finally:
        target.close()


# -- report ------------------------------------------------------------------------------------


def _key_status(target: KeyTarget, unseal: bool) -> tuple[dict[str, Any], str]:
    if unseal and target.mode != "running server":
        target.unseal()
    status = target.status()
    if target.mode == "running server":
        origin = "the running Sumun (admin channel)"
    else:
        origin = "SUMUN_HOME directly"
    if status.get("sealed"):
        origin += ", sealed: key registry read without its integrity check"
    elif status.get("verified"):
        origin += ", unsealed: key registry verified"
    return status, origin


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
    _initialised(conf)
    catalog = load_catalog(catalog_dir)
    target = open_target(conf, credentials(shares, passphrase), actor())
    try:
        status, origin = _key_status(target, bool(shares) or passphrase)
    finally:
        target.close()
    facts = gather(conf, key_status=status, key_origin=origin, scan_file=scan)
    result = build_report(catalog, facts, assess(catalog, facts))
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


# -- register ------------------------------------------------------------------------------------


def _ask_areas(areas: tuple[HighImpactArea, ...], subject: str) -> list[str]:
    console.print(
        f"\n[bold]Is {subject} high-impact AI?[/] (AI Basic Act art. 2(4); wording unconfirmed)"
    )
    for number, area in enumerate(areas, start=1):
        console.print(f"  {number:2}. ({area.item}) {area.title_ko} — {area.title_en}")
    while True:
        answer = Prompt.ask(
            "In which of these areas is it used? Numbers separated by commas, 0 for none",
            console=console,
            default="0",
        )
        try:
            numbers = {int(part) for part in answer.replace(" ", "").split(",") if part}
        except ValueError:
            console.print("[red]numbers only, e.g. 3,7[/]")
            continue
        if numbers <= {0} | set(range(1, len(areas) + 1)):
            return [areas[n - 1].id for n in sorted(numbers - {0})]
        console.print(f"[red]choose from 0 to {len(areas)}[/]")


def _ask_significant() -> Significance:
    answer = Prompt.ask(
        "Can its output significantly affect a person's life, physical safety or fundamental "
        "rights?",
        choices=["yes", "no", "unsure"],
        console=console,
    )
    return "yes" if answer == "yes" else "no" if answer == "no" else "unsure"


def _determination(
    catalog: Catalog,
    subject: str,
    high_impact: str,
    areas: list[str] | None,
    significant: str | None,
) -> Determination:
    if significant is not None and significant not in ("yes", "no", "unsure"):
        raise UsageError("--significant must be yes, no or unsure")
    if high_impact in ("yes", "no"):
        known = {a.id for a in catalog.areas}
        bad = [a for a in areas or [] if a not in known]
        if bad:
            raise UsageError(f"unknown high-impact area {bad[0]!r}; known: {', '.join(known)}")
        return Determination(
            high_impact=high_impact == "yes",
            method="declared",
            areas=tuple(areas or ()),
            reason=f"declared {'high-impact' if high_impact == 'yes' else 'not high-impact'} "
            "by the operator",
        )
    if high_impact != "ask":
        raise UsageError("--high-impact must be yes, no or ask")
    try:
        chosen = areas if areas is not None else _ask_areas(catalog.areas, subject)
        if not chosen:
            return determine(catalog.areas, [], "no")
        answer: Significance = (
            significant  # type: ignore[assignment]
            if significant is not None
            else _ask_significant()
        )
    except EOFError:
        raise UsageError(
            "the high-impact questionnaire needs answers: run it in a terminal, or give "
            "--area ID (repeat) and --significant yes|no|unsure"
        ) from None
    return determine(catalog.areas, chosen, answer)


def _registration_json(reg: Registration) -> dict[str, Any]:
    return reg.model_dump(mode="json") | {"subject": reg.subject, "high_impact": reg.high_impact}


def _list_register(conf: Settings, json_out: bool) -> None:
    entries = Register(conf.home).load()
    if json_out:
        print_json({"apps": [_registration_json(r) for r in entries]})
        return
    if not entries:
        console.print("[dim]the register is empty — `sumun comply register TENANT/APP …`[/]")
        return
    table = Table(title="AI system register (AI Basic Act art. 33)", title_justify="left")
    for column in ("app", "sector", "high-impact", "purpose", "models", "oversight"):
        table.add_column(column, overflow="fold")
    for reg in entries:
        flag = "[red]YES[/]" if reg.high_impact else "no"
        table.add_row(
            reg.subject,
            reg.sector,
            f"{flag} ({reg.determination.method})",
            escape(reg.purpose),
            ", ".join(reg.models) or "-",
            escape(reg.oversight or "-"),
        )
    console.print(table)


@app.command()
@handle_errors
def register(
    app_ref: Annotated[str | None, typer.Argument(help="the app, as TENANT/APP")] = None,
    purpose: Annotated[str | None, typer.Option(help="what the app is for")] = None,
    sector: Annotated[str | None, typer.Option(help="finance, healthcare, public or other")] = None,
    high_impact: Annotated[
        str | None,
        typer.Option("--high-impact", help="yes, no, or ask (the art. 2(4) questionnaire)"),
    ] = None,
    area: Annotated[
        list[str] | None,
        typer.Option("--area", help="art. 2(4) area id the app is used in (repeat)"),
    ] = None,
    significant: Annotated[
        str | None,
        typer.Option(help="questionnaire answer without a prompt: yes, no or unsure"),
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="a model alias the app uses (repeat)")
    ] = None,
    oversight: Annotated[
        str | None, typer.Option(help="the person responsible for oversight (name, contact)")
    ] = None,
    data_class: Annotated[
        list[str] | None, typer.Option("--data-class", help="C, S or O data it handles (repeat)")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="show the register")] = False,
    remove: Annotated[bool, typer.Option("--remove", help="take the app off the register")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Record an app in the AI system register; decide whether it is high-impact (art. 33)."""
    conf = settings()
    if list_:
        _list_register(conf, json_out)
        return
    if app_ref is None:
        raise UsageError("name the app as TENANT/APP, or use --list")
    tenant, app_name = parse_subject(app_ref)
    store = Register(conf.home)
    if remove:
        gone = store.remove(f"{tenant}/{app_name}")
        seq = _record_change(tenant, app_name, "comply-unregister", {})
        _show_registration(gone, seq, json_out, removed=True)
        return
    _require_app(conf, tenant, app_name)
    previous = next((r for r in store.load() if r.subject == f"{tenant}/{app_name}"), None)
    catalog = load_catalog()
    if high_impact is None and previous is None:
        high_impact = "ask"
    if high_impact is not None:
        determination = _determination(catalog, app_ref, high_impact, area, significant)
    else:
        assert previous is not None  # noqa: S101 - high_impact defaults to "ask" without one
        determination = previous.determination
    chosen_sector = sector or (previous.sector if previous else None)
    if chosen_sector is None:
        chosen_sector = _infer_sector(catalog.areas, determination)
    if chosen_sector not in ("finance", "healthcare", "public", "other"):
        raise UsageError("--sector must be finance, healthcare, public or other")
    text = purpose or (previous.purpose if previous else None)
    if not text:
        raise UsageError("say what the app is for: --purpose '…'")
    models = tuple(model) if model else (previous.models if previous else ())
    unknown = [m for m in models if m not in {r.model for r in conf.routes}]
    if unknown:
        raise UsageError(
            f"model {unknown[0]!r} is not a configured route; configured: "
            + ", ".join(r.model for r in conf.routes)
        )
    classes = tuple(c.upper() for c in data_class) if data_class else None
    if classes and any(c not in ("C", "S", "O") for c in classes):
        raise UsageError("--data-class must be C, S or O")
    now = time.time()
    sector_value: RegisterSector = chosen_sector  # type: ignore[assignment]
    reg = Registration.model_validate(
        {
            "tenant": tenant,
            "app": app_name,
            "purpose": text,
            "sector": sector_value,
            "determination": determination,
            "models": models,
            "oversight": oversight or (previous.oversight if previous else None),
            "data_classes": classes
            if classes is not None
            else (previous.data_classes if previous else ()),
            "registered_at": now,
            "updated_at": now,
            "registered_by": actor(),
        }
    )
    seq = _record_change(
        tenant,
        app_name,
        "comply-register",
        {"high_impact": str(reg.high_impact).lower(), "sector": reg.sector},
    )
    _show_registration(store.put(reg), seq, json_out)


def _infer_sector(areas: tuple[HighImpactArea, ...], determination: Determination) -> str:
    sectors = {a.sector for a in areas if a.id in determination.areas and a.sector}
    if len(sectors) == 1:
        return str(sectors.pop())
    raise UsageError("give the app's sector: --sector finance|healthcare|public|other")


def _require_app(conf: Settings, tenant: str, app_name: str) -> None:
    path = conf.home / "store.db"
    if not path.exists():
        raise UsageError(f"no tenants yet in {conf.home}", advice="`sumun tenants create NAME`")
    with Directory(path) as directory:
        if app_name not in {a.name for a in directory.list_apps(tenant)}:
            raise UsageError(
                f"no app {app_name!r} in tenant {tenant!r}",
                advice=f"create it first: `sumun tenants apps create {tenant} {app_name}`",
            )


def _record_change(tenant: str, app_name: str, action: str, extra: dict[str, str]) -> int:
    body = {
        "tenant": tenant,
        "kind": EntryKind.ADMIN_CHANGE.value,
        "attrs": {"action": action, "app": app_name, **extra},
    }
    return _ledger_append(body, None, False)


def _show_registration(
    reg: Registration, seq: int, json_out: bool, *, removed: bool = False
) -> None:
    if json_out:
        print_json({**_registration_json(reg), "ledger_seq": seq, "removed": removed})
        return
    if removed:
        console.print(f"removed {reg.subject} from the register (ledger #{seq})")
        return
    verdict = "[red]HIGH-IMPACT[/]" if reg.high_impact else "[green]not high-impact[/]"
    console.print(f"registered [bold]{reg.subject}[/]: {verdict} (ledger #{seq})")
    console.print(f"  {escape(reg.determination.reason)}", highlight=False)
    if reg.high_impact:
        console.print(
            "  art. 34 duties now apply: risk-management plan, explanation plan, user "
            "protection, human oversight, document retention — see `sumun comply report`"
        )


# -- oversight -----------------------------------------------------------------------------------


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


@app.command()
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
    _initialised(conf)
    api_key = _auditor_key(key_file)
    with Directory(conf.home / "store.db") as directory:
        principal = directory.authenticate(api_key)
    store = open_store(conf)
    try:
        chosen: Decision = decision
        plan = plan_review(
            store,
            Register(conf.home).load(),
            principal,
            seq,
            flag=flag,
            decision=chosen,
            annotation=annotate,
        )
    finally:
        store.close()
    written = _ledger_append(plan.body, shares, passphrase)
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


@app.command()
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
    _initialised(conf)
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
            "time": _when(r.time_ms / 1000),
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


# -- attestations --------------------------------------------------------------------------------


@app.command()
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
    _initialised(conf)
    catalog = load_catalog()
    req = catalog.get(requirement)
    if req is None:
        raise UsageError(f"no requirement {requirement!r}", advice="`sumun comply catalog`")
    if req.attestation is None:
        raise UsageError(f"{requirement} is checked automatically; it takes no attestation")
    subject = None
    if req.scope.ai == "high-impact":
        if app_ref is None:
            raise UsageError(f"{requirement} is per app: give --app TENANT/APP")
        tenant, app_name = parse_subject(app_ref)
        subject = f"{tenant}/{app_name}"
    elif app_ref is not None:
        raise UsageError(f"{requirement} applies to the whole deployment; drop --app")
    if not file and not ref:
        raise UsageError("give at least one document: --file PATH or --ref URL")
    if not by.strip():
        raise UsageError("--by must name the person who attests")
    documents: list[DocumentRef] = [store_document(conf.home, p) for p in file or []]
    documents += [reference(r) for r in ref or []]
    attrs = {
        "action": "comply-attest",
        "requirement": requirement,
        "by": by,
        "documents": ",".join(d.sha256[:16] if d.sha256 else "ref" for d in documents),
    }
    if subject:
        attrs["app"] = subject
    seq = _ledger_append(
        {"tenant": "sumun", "kind": EntryKind.ADMIN_CHANGE.value, "attrs": attrs}, None, False
    )
    record = Attestations(conf.home).add(
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


@app.command()
@handle_errors
def attestations(json_out: JsonOpt = False) -> None:
    """The attestations recorded so far."""
    records = Attestations(settings().home).load()
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
            _when(r.at),
            escape(docs),
            "-" if r.ledger_seq is None else f"#{r.ledger_seq}",
        )
    console.print(table)


# -- scans ---------------------------------------------------------------------------------------


@app.command("scan-import")
@handle_errors
def scan_import(
    result: Annotated[Path, typer.Argument(help="a `sumun scan --format json` result")],
    json_out: JsonOpt = False,
) -> None:
    """Keep a scan result as the latest AI-BOM the report reads."""
    conf = settings()
    _initialised(conf)
    latest = record_scan(conf.home, load_scan_file(result), now=time.time())
    if json_out:
        print_json({"latest": str(latest)})
    else:
        console.print(f"recorded {result} as the latest scan ({latest})")
