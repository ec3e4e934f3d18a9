"""The console's changes and reads are the admin API's own operations, called in-process.

`invoke` runs an operation's authorization (`operation.authorize`: the role table, then the
scope) and then its handler, exactly as `POST /admin/v1/…` would for the same key. So the
console can do nothing the admin API would refuse that key, validates the same way, and
writes the same ledger entries with the same actor (`<key id>@admin-api`, `audit.record`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel

from sumun.admin.http.app import OPERATIONS as ALL_OPERATIONS
from sumun.admin.http.auth import Caller
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, QueryModel
from sumun.admin.http.operation import Call, Operation, authorize

__all__ = ["OPERATIONS", "check", "invoke"]

OPERATIONS: Mapping[str, Operation[Any, Any]] = MappingProxyType(
    {op.name: op for op in ALL_OPERATIONS}
)

R = TypeVar("R", bound=BaseModel)


def check(ctx: AdminContext, caller: Caller, name: str) -> None:
    """ForbiddenError unless `caller` may run operation `name` (before a confirmation step)."""
    authorize(OPERATIONS[name], caller, ctx.operator_tenant)


def invoke(
    ctx: AdminContext,
    caller: Caller,
    name: str,
    reply: type[R],
    *,
    path: Mapping[str, str] | None = None,
    query: QueryModel | None = None,
    body: BodyModel | None = None,
) -> R:
    """Run operation `name` as `caller` (blocking: call it from a worker thread)."""
    op = OPERATIONS[name]
    authorize(op, caller, ctx.operator_tenant)
    asked = op.query() if query is None else query
    if not isinstance(asked, op.query):
        raise TypeError(f"{name} takes a {op.query.__name__} query")  # a console bug
    given = op.body() if body is None else body
    if not isinstance(given, op.body):
        raise TypeError(f"{name} takes a {op.body.__name__} body")  # a console bug
    result = op.handler(ctx, Call(caller, dict(path or {}), asked, given))
    if not isinstance(result, reply):
        raise TypeError(f"{name} answers {type(result).__name__}, not {reply.__name__}")
    return result
