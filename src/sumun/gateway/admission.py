"""Admission: the stage where policy decides. Pure: typed data in, a Decision out, no I/O.

Until the policy issue brings classification, PII handling and provider profiles, admission
decides by tenant and role only: auditors read the ledger but do not call models; the data
class is the declared one (`X-Sumun-Data-Class`), never lower than the tenant's default.
Every decision names the rules that made it, and those ids go into the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sumun.gateway.wire import BadRequestError
from sumun.store.model import Principal, Role, Tenant

__all__ = ["CLASS_ORDER", "Decision", "admit"]

Action = Literal["allow", "transform", "reroute", "block"]
CLASS_ORDER = {"O": 0, "S": 1, "C": 2}


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    rules: tuple[str, ...]
    data_class: str | None
    reason: str


def _effective_class(declared: str | None, tenant: Tenant) -> tuple[str | None, list[str]]:
    rules = []
    classes = []
    if declared is not None:
        value = declared.strip().upper()
        if value not in CLASS_ORDER:
            raise BadRequestError(
                400, "X-Sumun-Data-Class must be C, S or O", code="invalid_data_class"
            )
        classes.append(value)
        rules.append("class.declared")
    if tenant.default_data_class:
        classes.append(tenant.default_data_class)
        rules.append("class.tenant-default")
    if not classes:
        return None, rules
    return max(classes, key=CLASS_ORDER.__getitem__), rules


def admit(principal: Principal, tenant: Tenant, model: str, declared: str | None) -> Decision:
    data_class, rules = _effective_class(declared, tenant)
    if principal.role is Role.AUDITOR:
        return Decision(
            "block",
            ("role.auditor-read-only", *rules),
            data_class,
            "auditor keys review the ledger; they cannot call models",
        )
    return Decision(
        "allow", ("admit.tenant", *rules), data_class, f"tenant {tenant.name} may use {model}"
    )
