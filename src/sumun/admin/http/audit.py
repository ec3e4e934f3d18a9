"""Every change made through the admin API is an `admin-change` ledger entry naming its actor.

The entry is the CLI's own (`gateway.assemble.admin_change_entry` / `kill_switch_entry`), plus
who acted: `actor` is `<key id>@admin-api` (the key id is public; the key never appears), and
`actor_role` / `actor_tenant` say with what authority.

Order, so that nothing is half-applied: the handler validates everything first, `writable`
checks the ledger can be reached, the change is made, and `record` appends the entry with
strict durability. If that last append fails, the handler undoes what it can (an issued key is
revoked) and the caller gets the ledger's 503.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sumun.admin.http.auth import Caller
from sumun.admin.http.context import AdminContext
from sumun.errors import SumunError
from sumun.gateway.assemble import admin_change_entry
from sumun.ledger.entry import EntryMeta

__all__ = ["change_entry", "record", "record_or_undo", "writable"]


def writable(ctx: AdminContext) -> None:
    """Raise (LedgerUnavailableError, 503) unless the ledger store answers now."""
    ctx.ledger.store.size()


def change_entry(
    caller: Caller,
    action: str,
    *,
    tenant: str | None = None,
    attrs: dict[str, str] | None = None,
) -> EntryMeta:
    """The entry for a directory change (`tenant-create`, `key-issue`, …)."""
    extra = dict(attrs or {})
    if tenant is not None:
        extra["target_tenant"] = tenant
    return admin_change_entry(action, caller.actor, rules=("admin-api",), attrs=extra)


def record(ctx: AdminContext, caller: Caller, meta: EntryMeta) -> int:
    """Append `meta` with the caller's authority added; its seq once durable."""
    principal = caller.principal
    meta = replace(
        meta,
        attrs={
            **meta.attrs,
            "actor": caller.actor,
            "actor_role": principal.role.value,
            "actor_tenant": principal.tenant,
        },
    )
    return ctx.ledger.append(meta, durability="strict").wait()


def record_or_undo(
    ctx: AdminContext, caller: Caller, meta: EntryMeta, undo: Callable[[], object]
) -> int:
    """`record`, and if the ledger refuses the entry, `undo` the change it was for before the
    error goes on: an unrecorded change must not stay."""
    try:
        return record(ctx, caller, meta)
    except SumunError:
        undo()
        raise
