"""`sumun tenants create|list|update`, `tenants apps create|list`, `tenants keys issue|list|revoke`.

These act on `$SUMUN_HOME/store.db` directly, even while `sumun serve` runs: SQLite serialises
the writers, and every gateway worker sees a change (a revoked key, a new limit) within 1 s.
An API key is printed once, by `keys issue`; Sumun keeps only its SHA-256 digest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from sumun.cli._spend_options import BudgetKrwOpt, BudgetUsdOpt, spend_choice, spend_text
from sumun.cli.common import JsonOpt, handle_errors, home_settings, settings
from sumun.cli.render import console, err_console, print_json
from sumun.errors import UsageError
from sumun.keys.shredded import refuse_shredded_name
from sumun.store.control import open_control
from sumun.store.directory import UNCHANGED, Directory
from sumun.store.model import App, Role, Tenant, VirtualKey

__all__ = ["app"]

app = typer.Typer(help="Tenants, their apps and virtual API keys.", no_args_is_help=True)
apps_app = typer.Typer(
    help="Apps within a tenant (keys may be bound to one).", no_args_is_help=True
)
keys_app = typer.Typer(
    help="Virtual API keys: issue (shown once), list, revoke.", no_args_is_help=True
)
app.add_typer(apps_app, name="apps")
app.add_typer(keys_app, name="keys")

NameArg = Annotated[str, typer.Argument(help="tenant name (a-z 0-9 . _ -)")]
NoticeTextOpt = Annotated[
    str | None, typer.Option("--notice-text", help="the tenant's own AI notice wording")
]
ClassOpt = Annotated[
    str | None, typer.Option("--default-class", help="data class for requests that carry none")
]
RpmOpt = Annotated[int | None, typer.Option("--rpm", min=1, help="requests per minute")]
TpmOpt = Annotated[int | None, typer.Option("--tpm", min=1, help="tokens per minute")]
TenantBudgetOpt = Annotated[
    int | None, typer.Option("--token-budget", min=1, help="total tokens for the tenant")
]
TenantFilter = Annotated[str | None, typer.Option("--tenant", help="only this tenant")]


class Clearable(enum.StrEnum):
    NOTICE_TEXT = "notice-text"
    DEFAULT_CLASS = "default-class"
    RPM = "rpm"
    TPM = "tpm"
    TOKEN_BUDGET = "token-budget"  # noqa: S105 - a field name, not a secret
    SPEND_BUDGET = "spend-budget"


@contextmanager
def _directory(*, read: bool = False) -> Iterator[Directory]:
    """The tenant directory; a `read` refuses an uninitialised home rather than create one."""
    conf = home_settings() if read else settings()
    directory = Directory(open_control(conf).database())
    try:
        yield directory
    finally:
        directory.close()


def _record(obj: Tenant | App | VirtualKey) -> dict[str, Any]:
    """The `--json` shape: the record's fields, enums as their values."""
    out = {
        k: v.value if isinstance(v, enum.Enum) else v for k, v in dataclasses.asdict(obj).items()
    }
    if isinstance(obj, VirtualKey):
        out["revoked"] = obj.revoked
    return out


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _opt(value: object) -> str:
    return "-" if value is None else str(value)


def _limits(rpm: int | None, tpm: int | None, budget: int | None) -> str:
    named = (("rpm", rpm), ("tpm", tpm), ("budget", budget))
    return ", ".join(f"{name} {value:,}" for name, value in named if value is not None) or (
        "no limits"
    )


# -- tenants -----------------------------------------------------------------------------------


@app.command()
@handle_errors
def create(
    name: NameArg,
    ai_notice: Annotated[
        bool, typer.Option("--ai-notice/--no-ai-notice", help="tell end users they talk to an AI")
    ] = True,
    notice_text: NoticeTextOpt = None,
    default_class: ClassOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    token_budget: TenantBudgetOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a tenant (the AI notice is on unless --no-ai-notice)."""
    control = open_control(settings())
    try:
        refuse_shredded_name(control.documents, name)  # a shredded tenant's name stays its own
    finally:
        control.close()
    with _directory() as directory:
        tenant = directory.create_tenant(
            name,
            ai_notice=ai_notice,
            notice_text=notice_text,
            default_data_class=default_class,
            rpm=rpm,
            tpm=tpm,
            token_budget=token_budget,
        )
    if json_out:
        print_json(_record(tenant))
        return
    notice = "on" if tenant.ai_notice else "off"
    console.print(
        f"created tenant [bold]{tenant.name}[/] (AI notice {notice}; "
        f"{_limits(tenant.rpm, tenant.tpm, tenant.token_budget)})",
        highlight=False,
    )


@app.command("list")
@handle_errors
def list_(json_out: JsonOpt = False) -> None:
    """List tenants with their notice settings and limits."""
    with _directory(read=True) as directory:
        tenants = directory.list_tenants()
    if json_out:
        print_json({"tenants": [_record(t) for t in tenants]})
        return
    if not tenants:
        console.print("[dim]no tenants yet — `sumun tenants create NAME`[/]")
        return
    table = Table(title="Tenants", title_justify="left")
    for column in ("tenant", "AI notice", "default class", "rpm", "tpm", "token budget"):
        table.add_column(column)
    table.add_column("created (UTC)")
    for t in tenants:
        notice = ("on" if t.ai_notice else "[yellow]off[/]") + (
            " (custom)" if t.notice_text else ""
        )
        table.add_row(
            t.name,
            notice,
            _opt(t.default_data_class),
            _opt(t.rpm),
            _opt(t.tpm),
            _opt(t.token_budget),
            _when(t.created_at),
        )
    console.print(table)


@app.command()
@handle_errors
def update(
    name: NameArg,
    ai_notice: Annotated[
        bool | None, typer.Option("--ai-notice/--no-ai-notice", help="turn the AI notice on/off")
    ] = None,
    notice_text: NoticeTextOpt = None,
    default_class: ClassOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    token_budget: TenantBudgetOpt = None,
    budget_krw: BudgetKrwOpt = None,
    budget_usd: BudgetUsdOpt = None,
    clear: Annotated[
        list[Clearable] | None,
        typer.Option("--clear", help="unset a field (no limit, default notice); repeatable"),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a tenant's settings; options not given stay as they are."""
    cleared = set(clear or ())
    given = {
        Clearable.NOTICE_TEXT: notice_text,
        Clearable.DEFAULT_CLASS: default_class,
        Clearable.RPM: rpm,
        Clearable.TPM: tpm,
        Clearable.TOKEN_BUDGET: token_budget,
        Clearable.SPEND_BUDGET: spend_choice(budget_krw, budget_usd),
    }
    both = sorted(field.value for field in cleared if given[field] is not None)
    if both:
        raise UsageError(f"--{both[0]} and --clear {both[0]} contradict each other")
    if ai_notice is None and not cleared and all(v is None for v in given.values()):
        raise UsageError("nothing to change: give an option such as --rpm or --clear rpm")

    def pick(field: Clearable) -> Any:
        if field in cleared:
            return None
        value = given[field]
        return UNCHANGED if value is None else value

    with _directory() as directory:
        tenant = directory.update_tenant(
            name,
            ai_notice=UNCHANGED if ai_notice is None else ai_notice,
            notice_text=pick(Clearable.NOTICE_TEXT),
            default_data_class=pick(Clearable.DEFAULT_CLASS),
            rpm=pick(Clearable.RPM),
            tpm=pick(Clearable.TPM),
            token_budget=pick(Clearable.TOKEN_BUDGET),
            spend_budget=pick(Clearable.SPEND_BUDGET),
        )
    if json_out:
        print_json(_record(tenant))
        return
    console.print(
        f"updated tenant [bold]{tenant.name}[/] (AI notice {'on' if tenant.ai_notice else 'off'};"
        f" {_limits(tenant.rpm, tenant.tpm, tenant.token_budget)}{spend_text(tenant)})",
        highlight=False,
    )


# -- apps --------------------------------------------------------------------------------------


@apps_app.command("create")
@handle_errors
def apps_create(
    tenant: NameArg,
    name: Annotated[str, typer.Argument(help="app name (a-z 0-9 . _ -)")],
    json_out: JsonOpt = False,
) -> None:
    """Create an app within a tenant."""
    with _directory() as directory:
        created = directory.create_app(tenant, name)
    if json_out:
        print_json(_record(created))
    else:
        console.print(f"created app [bold]{created.name}[/] in tenant {created.tenant}")


@apps_app.command("list")
@handle_errors
def apps_list(tenant: TenantFilter = None, json_out: JsonOpt = False) -> None:
    """List apps (of one tenant with --tenant)."""
    with _directory(read=True) as directory:
        found = directory.list_apps(tenant)
    if json_out:
        print_json({"apps": [_record(a) for a in found]})
        return
    if not found:
        console.print("[dim]no apps yet — `sumun tenants apps create TENANT APP`[/]")
        return
    table = Table(title="Apps", title_justify="left")
    for column in ("tenant", "app", "created (UTC)"):
        table.add_column(column)
    for a in found:
        table.add_row(a.tenant, a.name, _when(a.created_at))
    console.print(table)


# -- keys --------------------------------------------------------------------------------------


@keys_app.command("issue")
@handle_errors
def keys_issue(
    tenant: Annotated[str, typer.Option("--tenant", help="the key's tenant")],
    app_name: Annotated[str | None, typer.Option("--app", help="bind the key to an app")] = None,
    user: Annotated[str | None, typer.Option("--user", help="the person or service")] = None,
    role: Annotated[Role, typer.Option("--role", help="what the key may do")] = Role.USER,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    budget: Annotated[
        int | None, typer.Option("--budget", min=1, help="total tokens for this key")
    ] = None,
    budget_krw: BudgetKrwOpt = None,
    budget_usd: BudgetUsdOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Issue a virtual API key. It is printed this once: Sumun keeps only its hash."""
    spend = spend_choice(budget_krw, budget_usd)
    with _directory() as directory:
        key, api_key = directory.issue_key(
            tenant, app=app_name, user=user, role=role, rpm=rpm, tpm=tpm, token_budget=budget
        )
        if spend is not None:
            key = directory.update_key_limits(key.key_id, spend_budget=spend)
    if json_out:
        print_json({**_record(key), "api_key": api_key})
        return
    console.print(
        f"issued key [bold]{key.key_id}[/] for tenant {key.tenant}"
        + (f", app {key.app}" if key.app else "")
        + (f", user {key.user}" if key.user else "")
        + f" (role {key.role.value}; {_limits(key.rpm, key.tpm, key.token_budget)}"
        + f"{spend_text(key)})",
        highlight=False,
    )
    err_console.print(
        "[bold yellow]Shown this once: store it now. Sumun keeps only its hash and cannot "
        "show it again.[/]"
    )
    console.print(api_key, highlight=False, soft_wrap=True, markup=False)


@keys_app.command("list")
@handle_errors
def keys_list(tenant: TenantFilter = None, json_out: JsonOpt = False) -> None:
    """List keys (never their secrets)."""
    with _directory(read=True) as directory:
        found = directory.list_keys(tenant)
    if json_out:
        print_json({"keys": [_record(k) for k in found]})
        return
    if not found:
        console.print("[dim]no API keys yet — `sumun tenants keys issue --tenant T`[/]")
        return
    table = Table(title="API keys", title_justify="left")
    for column in ("key id", "tenant", "app", "user", "role", "state", "limits"):
        table.add_column(column)
    table.add_column("created (UTC)")
    for k in found:
        state = f"[red]revoked {_when(k.revoked_at)}[/]" if k.revoked else "[green]active[/]"
        table.add_row(
            k.key_id,
            k.tenant,
            _opt(k.app),
            _opt(k.user),
            k.role.value,
            state,
            _limits(k.rpm, k.tpm, k.token_budget) + spend_text(k),
            _when(k.created_at),
        )
    console.print(table)


@keys_app.command("budget")
@handle_errors
def keys_budget(
    key_id: Annotated[str, typer.Argument(help="the key id (from `keys list`)")],
    budget_krw: BudgetKrwOpt = None,
    budget_usd: BudgetUsdOpt = None,
    clear: Annotated[bool, typer.Option("--clear", help="lift the key's spend budget")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Set or lift a key's spend budget (KRW or USD; priced by `prices:` in sumun.yaml)."""
    spend = spend_choice(budget_krw, budget_usd)
    if (spend is None) == (not clear):
        raise UsageError("give one of --budget-krw, --budget-usd or --clear")
    with _directory() as directory:
        key = directory.update_key_limits(key_id, spend_budget=spend)
    if json_out:
        print_json(_record(key))
        return
    text = spend_text(key).removeprefix("; ") or "no spend budget"
    console.print(f"key [bold]{key.key_id}[/]: {text}", highlight=False)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id (from `keys list`)")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a key for good; every gateway worker refuses it within 1 s."""
    with _directory() as directory:
        key = directory.revoke_key(key_id)
    if json_out:
        print_json(_record(key))
    else:
        console.print(f"[red]revoked[/] key [bold]{key.key_id}[/] ({_when(key.revoked_at)})")
