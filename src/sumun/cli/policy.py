"""`sumun policy init|check|apply|explain`: write a sample policy, validate one, enforce one
everywhere, dry-run a request through it.

`explain` runs exactly what the gateway runs at admission — PII detection, classification, the
PII rules and provider profiles for each target of the route — without keys, ledger or network,
and prints the class, the findings (types and spans, not values), each provider considered,
the decision with its rule ids, and the text as it would leave.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from sumun import config
from sumun._fs import atomic_write, private_dir
from sumun.cli.common import JsonOpt, PassOpt, ShareOpt, handle_errors, settings
from sumun.cli.render import console, print_json
from sumun.errors import UsageError
from sumun.gateway.explain import explain as explain_request
from sumun.gateway.explain import parse_class, route_for
from sumun.policy.rules import Policy

__all__ = ["app"]

app = typer.Typer(
    help="The policy file: check it, apply it everywhere, explain a decision.",
    no_args_is_help=True,
)

PolicyOpt = Annotated[
    Path | None,
    typer.Option("--policy", help="policy file (default: config `policy_file` or home)"),
]


@app.callback()
def _policy() -> None:
    """The policy file: check it, explain a decision."""


def _load(path: Path | None, base: config.Settings) -> Policy:
    return config.load_policy(base) if path is None else config.read_policy(path)


def _sample() -> bytes:
    """The commented sample policy (the built-in policy written out), from the package."""
    return (resources.files("sumun.policy") / "data" / "sample.yaml").read_bytes()


def _init_target(base: config.Settings) -> Path:
    """Where `policy init` writes by default: the file the configuration names, else the
    home's `policy.yaml` (read when sumun.yaml names none)."""
    if base.policy_file is None:
        return base.home / "policy.yaml"
    path = base.policy_file
    if not path.is_absolute() and base.config_file is not None:
        path = base.config_file.parent / path
    return path


@app.command()
@handle_errors
def init(
    path: Annotated[
        Path | None,
        typer.Argument(help="where to write it (default: the policy file Sumun reads)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write a commented sample policy (the built-in one, spelled out) to edit."""
    base = settings()
    target = path if path is not None else _init_target(base)
    if target.is_dir():
        raise UsageError(f"{target} is a directory", advice="name a file, e.g. policy.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", advice="use --force to overwrite it")
    body = _sample()
    try:
        if path is None and base.policy_file is None:
            private_dir(base.home)  # the home, as `sumun init` makes it
        atomic_write(target, body, mode=0o644)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc
    if json_out:
        print_json({"path": str(target), "bytes": len(body)})
        return
    console.print(
        f"wrote a sample policy to [bold]{target}[/] (the built-in policy, commented)",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"next: edit it, then `sumun policy check {target}` and "
        f"`sumun policy explain --policy {target} --text …`",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@app.command()
@handle_errors
def check(path: Annotated[Path | None, typer.Argument(help="policy file")] = None) -> None:
    """Validate a policy file; errors name file:line:column. Exit 2 when it is invalid."""
    base = settings()
    policy = _load(path, base)
    console.print(
        f"[green]ok[/] {policy.source}: {len(policy.pii.rules)} PII rules, "
        f"default {policy.pii.default}, output scanning {'on' if policy.output.scan else 'off'}"
    )


@app.command()
@handle_errors
def apply(
    path: Annotated[Path, typer.Argument(help="policy file to enforce everywhere")],
    json_out: JsonOpt = False,
) -> None:
    """Validate a policy and enforce it on every running node within 1 s (recorded)."""
    import hashlib

    from sumun.cli.common import actor
    from sumun.gateway.assemble import admin_change_entry
    from sumun.gateway.policy_source import PolicySource
    from sumun.runtime import open_runtime
    from sumun.store.control import open_control

    base = settings()
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    control = open_control(base)
    try:
        policy = PolicySource(base, control.documents).apply(body)
        control.announce()
    finally:
        control.close()
    digest = hashlib.sha256(body).hexdigest()
    runtime = open_runtime(base)
    try:
        entry = admin_change_entry(
            "policy-apply", actor(), rules=("policy",), attrs={"sha256": digest}
        )
        seq = runtime.ledger.append(entry, durability="strict").wait()
    finally:
        runtime.close()
    if json_out:
        print_json({"source": policy.source, "sha256": digest, "ledger_seq": seq})
        return
    console.print(
        f"[green]applied[/] {path} (sha256 {digest[:16]}…, ledger #{seq}): "
        f"{len(policy.pii.rules)} PII rules; every node enforces it within 1 s"
    )


def _request(text: str | None, file: Path | None) -> dict[str, Any]:
    if text is not None and file is not None:
        raise UsageError("give --text or --file, not both")
    if text is None:
        raw = file.read_bytes() if file is not None else sys.stdin.buffer.read()
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"the request is not valid UTF-8: {exc}") from exc
        stripped = decoded.strip()
        if stripped.startswith("{"):
            try:
                body = orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                raise UsageError(f"the request is not valid JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise UsageError("the request must be a JSON object")
            return body
        text = decoded
    return {"messages": [{"role": "user", "content": text}]}


@app.command()
@handle_errors
def explain(
    text: Annotated[str | None, typer.Option("--text", help="the prompt text")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="a request body (OpenAI/Anthropic JSON) or plain text"),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="model alias (route)")] = None,
    data_class: Annotated[
        str | None, typer.Option("--class", help="declared class (X-Sumun-Data-Class)")
    ] = None,
    tenant_default: Annotated[
        str | None, typer.Option("--tenant-default", help="the tenant's default class")
    ] = None,
    policy_file: PolicyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Dry-run a request (--text, --file or stdin) through classification and the policy."""
    base = settings()
    policy = _load(policy_file, base)
    route = route_for(base, model)
    body = _request(text, file)
    declared, default = parse_class(data_class), parse_class(tenant_default)
    result = explain_request(base, policy, route, body, declared=declared, tenant_default=default)
    result_json = result.to_json()
    if json_out:
        print_json(result_json)
        return
    _render(result_json)


@app.command()
@handle_errors
def reidentify(
    request_id: Annotated[str, typer.Argument(help="the request id (X-Sumun-Request-Id)")],
    reason: Annotated[str, typer.Option("--reason", help="why (recorded in the ledger)")],
    shares: ShareOpt = None,
    passphrase: PassOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Open a request's sealed pseudonym table (kept apart, PIPA art. 28-4); the access is a
    ledger entry.

    Needs the keys: a running Sumun's admin channel, or a custodian quorum (--share). The entry
    records who, when, which request and why — never the values.
    """
    from sumun.cli.common import actor, with_target
    from sumun.keys.envelope import Context
    from sumun.store.control import open_control
    from sumun.store.pseudonyms import PseudonymVault

    if not reason.strip():
        raise UsageError("--reason must say why the data is re-identified")
    base = settings()
    path = base.home / "pseudonyms.db"
    if base.control.store == "sqlite" and not path.is_file():
        raise UsageError(f"no pseudonym vault at {path}: no request was pseudonymized here")
    vault = PseudonymVault(open_control(base).vault_database())
    try:
        found = vault.get(request_id)
    finally:
        vault.close()
    if found is None:
        days = base.gateway.pseudonym_retention_days
        raise UsageError(
            f"no pseudonym table for request {request_id!r} (none was made, or it was deleted "
            f"after the {days:g}-day retention)"
        )
    tenant, sealed = found
    target = with_target(shares, passphrase)
    try:
        table = orjson.loads(target.decrypt(sealed, Context(tenant, request_id, "pseudonym-map")))
        entry = target.ledger_append(
            {
                "tenant": tenant,
                "kind": "admin-change",
                "attrs": {
                    "action": "pseudonyms-reidentified",
                    "actor": actor(),
                    "request_id": request_id,
                    "tokens": str(len(table)),
                    "reason": reason.strip(),
                },
            }
        )
    finally:
        target.close()
    if json_out:
        print_json({"request_id": request_id, "tenant": tenant, "table": table, **entry})
        return
    table_view = Table("token", "original", title=f"request {request_id} (tenant {tenant})")
    for token, original in table.items():
        table_view.add_row(token, original)
    console.print(table_view)
    console.print(f"recorded in the ledger as entry #{entry['seq']}")


def _render(result: dict[str, Any]) -> None:
    console.print(f"policy  {result['policy']}    model  {result['model']}")
    reasons = "; ".join(result["classification"]["reasons"])
    console.print(f"class   [bold]{result['data_class']}[/]  ({reasons})")
    table = Table("type", "text", "span", "score", title="personal data found")
    for f in result["findings"]:
        table.add_row(
            f["type"], str(f["text_index"]), f"{f['start']}–{f['end']}", f"{f['score']:.2f}"
        )
    if result["findings"]:
        console.print(table)
    else:
        console.print("no personal data found")
    style = {"block": "red", "reroute": "yellow", "transform": "cyan"}.get(
        result["decision"], "green"
    )
    console.print(f"decision [bold {style}]{result['decision']}[/]: {result['reason']}")
    console.print(f"rules    {', '.join(result['rules']) or '-'}")
    if result["providers"]:
        console.print(f"providers {', '.join(result['providers'])}")
    if result["pii_actions"]:
        console.print(f"actions  {result['pii_actions']}")
    if result["decision"] != "block":
        console.print("text as it leaves:")
        for text in result["text_out"]:
            console.print(f"  {text}", markup=False, highlight=False)
