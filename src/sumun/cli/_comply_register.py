"""`sumun comply register`: the AI system register and the high-impact questionnaire.

The register records what each app is for, its sector, models and oversight, and whether it is
high-impact under AI Basic Act art. 2(4) (declared, or decided by the questionnaire). Every
change is appended to the ledger as an admin change. Guidance with sources, not legal advice.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table

from sumun.cli._comply_common import ledger_append
from sumun.cli.common import JsonOpt, actor, handle_errors, interactive, settings
from sumun.cli.render import console, print_json
from sumun.comply.catalog import Catalog, load_areas, load_catalog
from sumun.comply.model import HighImpactArea
from sumun.comply.register import (
    QUESTION_AUTOMATED,
    Determination,
    Register,
    Registration,
    Significance,
    determine,
    parse_subject,
)
from sumun.comply.registration import Proposal, build_registration, declared, require_app
from sumun.config import Settings
from sumun.errors import UsageError
from sumun.ledger.entry import EntryKind
from sumun.store.control import documents_for

__all__ = ["areas", "register"]

# The valid `--area` ids, listed in `--help` (read from the built-in catalog's areas file).
AREA_IDS = tuple(a.id for a in load_areas())
_NO_TERMINAL = (
    "the high-impact questionnaire needs answers and there is no terminal to ask them: pass "
    "--high-impact yes|no, or answer it with --area ID (repeat; ids: `sumun comply areas`; "
    "none: --area none), "
    "--significant yes|no|unsure and --automated yes|no|unsure"
)


def _ask_areas(areas: tuple[HighImpactArea, ...], subject: str) -> list[str]:
    console.print(f"\n[bold]Is {subject} high-impact AI?[/] (AI Basic Act art. 2(4))")
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


def _ask_automated() -> Significance:
    answer = Prompt.ask(QUESTION_AUTOMATED, choices=["yes", "no", "unsure"], console=console)
    return "yes" if answer == "yes" else "no" if answer == "no" else "unsure"


def _answer(value: str | None, flag: str) -> Significance | None:
    if value is not None and value not in ("yes", "no", "unsure"):
        raise UsageError(f"{flag} must be yes, no or unsure")
    return value  # type: ignore[return-value]


def _determination(
    catalog: Catalog,
    subject: str,
    high_impact: str,
    areas: list[str] | None,
    significant: str | None,
    automated: str | None = None,
) -> Determination:
    given_significant = _answer(significant, "--significant")
    given_automated = _answer(automated, "--automated")
    if high_impact in ("yes", "no"):
        return declared(catalog.areas, high_impact == "yes", areas or [])
    if high_impact != "ask":
        raise UsageError("--high-impact must be yes, no or ask")
    _check_areas(catalog.areas, areas or [])
    if not interactive() and _needs_prompt(areas, given_significant, given_automated):
        raise UsageError(_NO_TERMINAL)
    try:
        chosen = areas if areas is not None else _ask_areas(catalog.areas, subject)
        if not chosen:
            return determine(catalog.areas, [], "no")
        answer = given_significant or _ask_significant()
        # A person in the final decision keeps a listed area out (MSIT, January 2026).
        manner = given_automated or ("no" if answer == "no" else _ask_automated())
    except EOFError:
        raise UsageError(
            "the high-impact questionnaire needs answers: run it in a terminal, or give "
            "--area ID (repeat), --significant yes|no|unsure and --automated yes|no|unsure"
        ) from None
    return determine(catalog.areas, chosen, answer, manner)


def _needs_prompt(areas: list[str] | None, significant: str | None, automated: str | None) -> bool:
    """Would the questionnaire have to ask anything the flags did not answer?"""
    if areas is None:
        return True
    if not areas:
        return False
    return significant is None or (significant != "no" and automated is None)


def _check_areas(known: tuple[HighImpactArea, ...], chosen: list[str]) -> None:
    ids = [a.id for a in known]
    bad = [c for c in chosen if c not in ids]
    if bad:
        raise UsageError(
            f"unknown high-impact area {bad[0]!r}; valid ids: {', '.join(ids)} "
            "(`sumun comply areas` explains each)"
        )


def _registration_json(reg: Registration) -> dict[str, Any]:
    return reg.model_dump(mode="json") | {"subject": reg.subject, "high_impact": reg.high_impact}


def _list_register(conf: Settings, json_out: bool) -> None:
    entries = Register(documents_for(conf)).load()
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
        typer.Option(
            "--area",
            help="art. 2(4) area the app is used in (repeat; `none` for none): "
            + ", ".join(AREA_IDS)
            + " — `sumun comply areas` explains each",
        ),
    ] = None,
    significant: Annotated[
        str | None,
        typer.Option(help="questionnaire answer without a prompt: yes, no or unsure"),
    ] = None,
    automated: Annotated[
        str | None,
        typer.Option(
            help="questionnaire answer without a prompt: is the output used without a person "
            "making the final decision? yes, no or unsure"
        ),
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
    store = Register(documents_for(conf))
    if remove:
        gone = store.remove(f"{tenant}/{app_name}")
        seq = _record_change(tenant, app_name, "comply-unregister", {})
        _show_registration(gone, seq, json_out, removed=True)
        return
    require_app(conf, tenant, app_name)
    previous = next((r for r in store.load() if r.subject == f"{tenant}/{app_name}"), None)
    catalog = load_catalog()
    if high_impact is None and previous is None:
        high_impact = "ask"
    if area is not None and [a.lower() for a in area] == ["none"]:
        area = []  # answered: used in none of the listed areas
    if high_impact is not None:
        determination = _determination(catalog, app_ref, high_impact, area, significant, automated)
    else:
        assert previous is not None  # noqa: S101 - high_impact defaults to "ask" without one
        determination = previous.determination
    proposal = Proposal(
        tenant=tenant,
        app=app_name,
        determination=determination,
        purpose=purpose,
        sector=sector,
        models=tuple(model) if model else None,
        oversight=oversight,
        data_classes=tuple(data_class) if data_class else None,
    )
    reg = build_registration(
        conf, catalog.areas, previous, proposal, actor=actor(), now=time.time()
    )
    seq = _record_change(
        tenant,
        app_name,
        "comply-register",
        {"high_impact": str(reg.high_impact).lower(), "sector": reg.sector},
    )
    _show_registration(store.put(reg), seq, json_out)


def _record_change(tenant: str, app_name: str, action: str, extra: dict[str, str]) -> int:
    body = {
        "tenant": tenant,
        "kind": EntryKind.ADMIN_CHANGE.value,
        "attrs": {"action": action, "app": app_name, **extra},
    }
    return ledger_append(body, None, False)


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


@handle_errors
def areas(json_out: JsonOpt = False) -> None:
    """The AI Basic Act art. 2(4) areas: the ids `register --area` takes."""
    known = load_areas()
    if json_out:
        print_json({"areas": [a.model_dump(mode="json") for a in known]})
        return
    table = Table(title="High-impact areas (AI Basic Act art. 2(4))", title_justify="left")
    for column in ("id", "item", "area", "sector"):
        table.add_column(column, overflow="fold")
    for a in known:
        table.add_row(a.id, a.item, escape(f"{a.title_ko}\n{a.title_en}"), a.sector or "-")
    console.print(table)
    console.print(
        "use: `sumun comply register TENANT/APP --high-impact ask --area ID` (repeat --area)",
        highlight=False,
    )
