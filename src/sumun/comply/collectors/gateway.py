"""Collectors over the gateway's state in store.db: output labels, kill switch, limits,
virtual keys and roles, tenants' data classes."""

from __future__ import annotations

import re

from sumun.comply.collectors.base import Collector, Params, ago, param_bool, param_float
from sumun.comply.facts import DirectoryFacts, Facts
from sumun.comply.model import DetailValue, Evidence
from sumun.comply.register import Registration
from sumun.gateway.labels import DEFAULT_NOTICE
from sumun.store.model import Role

__all__ = ["COLLECTORS"]

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_DAY = 86400.0


def _no_directory(name: str, directory: DirectoryFacts) -> Evidence | None:
    if directory.error:
        return Evidence(
            collector=name,
            ok=None,
            summary=f"the tenant directory could not be read: {directory.error}",
            origin=directory.origin,
            advice="`sumun tenants list` shows why the tenant directory cannot be read",
        )
    if not directory.tenants:
        return Evidence(
            collector=name,
            ok=None,
            summary="no tenant exists yet, so nothing is served to anyone",
            origin=directory.origin,
            advice="`sumun tenants create NAME`",
        )
    return None


def output_label(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """AI Basic Act art. 31(2): outputs are marked as AI-generated, and a person can tell.

    The machine-readable mark is always sent. The final decree wants, besides it, at least one
    notice a person can perceive; a label in the service's own UI suffices. The tenant's
    per-answer notice is such a notice (it is evidence of art. 31(2), not of the art. 31(1)
    prior notice). With it off, Sumun cannot see whether the app labels outputs itself: the
    verdict is undetermined, not a pass.
    """
    name = "gateway.output_label"
    directory = facts.directory
    if (problem := _no_directory(name, directory)) is not None:
        return problem
    origin = (
        f"{directory.origin}; sumun.gateway.labels (X-Sumun-AI-Generated header and "
        '"sumun.ai_generated" on every response)'
    )
    info: dict[str, DetailValue] = {"machine-readable mark": "always"}
    off, unreadable = [], []
    for tenant in directory.tenants:
        text = tenant.notice_text or DEFAULT_NOTICE
        if not tenant.ai_notice:
            off.append(tenant.name)
            info[tenant.name] = "visible notice OFF"
            continue
        info[tenant.name] = f"visible notice: {text[:80]}"
        if not _HANGUL.search(text):
            unreadable.append(tenant.name)
    if unreadable:
        return Evidence(
            collector=name,
            ok=False,
            summary="the visible notice has no Korean for tenant(s) " + ", ".join(unreadable),
            origin=origin,
            details=info,
            advice="give a notice users in Korea can read: `sumun tenants update TENANT "
            "--notice-text '※ 이 답변은 인공지능이 생성했습니다.'`",
        )
    if off:
        return Evidence(
            collector=name,
            ok=None,
            summary="answers carry only the machine-readable mark for tenant(s) "
            + ", ".join(off)
            + "; a notice a person can perceive is also required — Sumun cannot see whether "
            "the app labels outputs in its own UI (which would suffice)",
            origin=origin,
            details=info,
            advice=f"`sumun tenants update {off[0]} --ai-notice`, or label outputs in the app's UI",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"every answer of all {len(directory.tenants)} tenant(s) is marked as "
        "AI-generated: machine-readable, and with a visible Korean notice",
        origin=origin,
        details=info,
    )


def kill_switch(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """The kill switch has been exercised (a cut, ideally with a restore) recently."""
    name = "gateway.kill_switch"
    max_days = param_float(params, "max_age_days", 180)
    directory = facts.directory
    events = facts.ledger.activity.switch_events
    origin = f"ledger admin-change entries; {directory.origin} (provider_cuts)"
    last_ms = max((e.time_ms for e in events if e.action == "cut"), default=None)
    last_cut = last_ms / 1000 if last_ms is not None else None
    table_cut = max((c.at for c in directory.cuts), default=None)
    if last_cut is None or (table_cut is not None and table_cut > last_cut):
        last_cut = table_cut
    info: dict[str, DetailValue] = {
        "cuts recorded": sum(1 for e in events if e.action == "cut"),
        "restores recorded": sum(1 for e in events if e.action == "restore"),
        "cut now": ", ".join(c.name for c in directory.cuts if c.cut) or "none",
        "fan-out": "Redis pub/sub + store poll" if directory.redis_url else "store poll (≤ 1 s)",
    }
    if last_cut is None:
        first = next((p.name for p in facts.policy.providers), "PROVIDER")
        return Evidence(
            collector=name,
            ok=False,
            summary="the kill switch has never been exercised",
            origin=origin,
            details=info,
            advice=f"run a drill: `sumun providers cut {first} --reason drill`, then "
            f"`sumun providers restore {first}`",
        )
    info["last exercised"] = ago(facts.now, last_cut)
    if facts.now - last_cut > max_days * _DAY:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"the kill switch was last exercised {ago(facts.now, last_cut)} "
            f"(more than {max_days:g} days)",
            origin=origin,
            details=info,
            advice="run a cut/restore drill: `sumun providers cut NAME --reason drill`",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"kill switch exercised {ago(facts.now, last_cut)}; "
        f"{info['cuts recorded']} cut(s) recorded in the ledger",
        origin=origin,
        details=info,
    )


def rate_limits(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    name = "gateway.rate_limits"
    directory = facts.directory
    if (problem := _no_directory(name, directory)) is not None:
        return problem
    info: dict[str, DetailValue] = {}
    unlimited = []
    for tenant in directory.tenants:
        parts = [
            f"{label} {value:,}"
            for label, value in (
                ("rpm", tenant.rpm),
                ("tpm", tenant.tpm),
                ("budget", tenant.token_budget),
            )
            if value is not None
        ]
        info[tenant.name] = ", ".join(parts) or "no limit"
        if not parts:
            unlimited.append(tenant.name)
    if unlimited:
        return Evidence(
            collector=name,
            ok=False,
            summary="no rate limit or token budget for tenant(s) " + ", ".join(unlimited),
            origin=directory.origin,
            details=info,
            advice=f"`sumun tenants update {unlimited[0]} --rpm 600 --tpm 200000`",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"every tenant has a rate limit or budget ({len(directory.tenants)} tenants)",
        origin=directory.origin,
        details=info,
    )


def key_roles(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """Least privilege: user keys bound to an app; auditors read but call no model."""
    name = "directory.key_roles"
    directory = facts.directory
    if (problem := _no_directory(name, directory)) is not None:
        return problem
    require_app = param_bool(params, "require_app_binding", True)
    active = [k for k in directory.keys if not k.revoked]
    by_role = {r.value: sum(1 for k in active if k.role is r) for r in Role}
    unbound = [k.key_id for k in active if k.role is Role.USER and k.app is None]
    info: dict[str, DetailValue] = {
        **{f"active {role} keys": n for role, n in by_role.items()},
        "revoked keys": sum(1 for k in directory.keys if k.revoked),
        "user keys without an app": ", ".join(unbound) or "none",
    }
    if require_app and unbound:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{len(unbound)} active user key(s) are not bound to an app, so their calls "
            "cannot be attributed in the register",
            origin=directory.origin,
            details=info,
            advice="issue app-bound keys (`sumun tenants keys issue --tenant T --app A`) and "
            f"revoke the others (`sumun tenants keys revoke {unbound[0]}`)",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{len(active)} active key(s), each with one role; user keys are app-bound; "
        "auditor keys cannot call models",
        origin=directory.origin,
        details=info,
    )


def classification(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """N2SF categorisation: each tenant declares the grade of data it sends by default."""
    name = "directory.classification"
    directory = facts.directory
    if (problem := _no_directory(name, directory)) is not None:
        return problem
    info: dict[str, DetailValue] = {
        t.name: t.default_data_class.upper() if t.default_data_class else "undeclared (as O)"
        for t in directory.tenants
    }
    seen = facts.ledger.activity.classes_seen
    info["classes seen in the ledger"] = ", ".join(f"{c} ×{n:,}" for c, n in seen.items()) or "none"
    undeclared = [t.name for t in directory.tenants if not t.default_data_class]
    if undeclared:
        return Evidence(
            collector=name,
            ok=False,
            summary="no default data class (C/S/O) declared for tenant(s) "
            + ", ".join(undeclared)
            + "; requests without X-Sumun-Data-Class and without markings count as O",
            origin=directory.origin,
            details=info,
            advice=f"`sumun tenants update {undeclared[0]} --default-class S` (or O, after "
            "categorising its data)",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary="every tenant declares a default data class; markings and unique identifiers "
        "raise it per request",
        origin=directory.origin,
        details=info,
    )


COLLECTORS = (
    Collector("gateway.output_label", output_label, "labels.py marks + tenants' Korean notice"),
    Collector("gateway.kill_switch", kill_switch, "ledger cut/restore entries, provider_cuts"),
    Collector("gateway.rate_limits", rate_limits, "tenants: rpm / tpm / token budget"),
    Collector("directory.key_roles", key_roles, "virtual keys: roles, app binding, revoked"),
    Collector("directory.classification", classification, "tenants' default data classes"),
)
