"""Checking and building one AI register entry (AI Basic Act art. 33), wherever it is made.

`sumun comply register` and `POST /admin/v1/compliance/register` both build the entry here, so
the rules are the same for both: the app must exist in the directory, the models must be
configured routes, the sector is given or follows from the high-impact areas, and an update
keeps what it does not change. How the high-impact `Determination` was reached (declared, or
the questionnaire answered in a terminal or in a request) is the caller's; this module takes
it as given. Messages name the CLI's options, which the admin API's fields mirror.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from sumun.comply.model import HighImpactArea
from sumun.comply.register import Determination, Registration
from sumun.config import Settings
from sumun.errors import UsageError
from sumun.store.control import open_control
from sumun.store.directory import Directory

__all__ = ["Proposal", "build_registration", "declared", "infer_sector", "require_app"]

_SECTORS = ("finance", "healthcare", "public", "other")


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the caller asks for; None keeps the previous entry's value (or is required)."""

    tenant: str
    app: str
    determination: Determination
    purpose: str | None = None
    sector: str | None = None
    models: tuple[str, ...] | None = None
    oversight: str | None = None
    data_classes: tuple[str, ...] | None = None


def declared(
    areas: Sequence[HighImpactArea], high_impact: bool, chosen: Sequence[str]
) -> Determination:
    """The operator's own answer (no questionnaire); the areas named must be known ones."""
    known = [a.id for a in areas]
    bad = [a for a in chosen if a not in known]
    if bad:
        raise UsageError(
            f"unknown high-impact area {bad[0]!r}; valid ids: {', '.join(known)} "
            "(`sumun comply areas` explains each)"
        )
    return Determination(
        high_impact=high_impact,
        method="declared",
        areas=tuple(chosen),
        reason=f"declared {'high-impact' if high_impact else 'not high-impact'} by the operator",
    )


def infer_sector(areas: Sequence[HighImpactArea], determination: Determination) -> str:
    sectors = {a.sector for a in areas if a.id in determination.areas and a.sector}
    if len(sectors) == 1:
        return str(sectors.pop())
    raise UsageError("give the app's sector: --sector finance|healthcare|public|other")


def require_app(conf: Settings, tenant: str, app_name: str) -> None:
    """UsageError unless the directory has the app (a register entry names a real app)."""
    if conf.control.store == "sqlite" and not (conf.home / "store.db").exists():
        raise UsageError(f"no tenants yet in {conf.home}", advice="`sumun tenants create NAME`")
    with Directory(open_control(conf).database()) as directory:
        if app_name not in {a.name for a in directory.list_apps(tenant)}:
            raise UsageError(
                f"no app {app_name!r} in tenant {tenant!r}",
                advice=f"create it first: `sumun tenants apps create {tenant} {app_name}`",
            )


def build_registration(
    conf: Settings,
    areas: Sequence[HighImpactArea],
    previous: Registration | None,
    proposal: Proposal,
    *,
    actor: str,
    now: float,
) -> Registration:
    """The checked entry (not yet stored): UsageError naming the first problem."""
    sector = proposal.sector or (previous.sector if previous else None)
    if sector is None:
        sector = infer_sector(areas, proposal.determination)
    if sector not in _SECTORS:
        raise UsageError("--sector must be finance, healthcare, public or other")
    purpose = proposal.purpose or (previous.purpose if previous else None)
    if not purpose:
        raise UsageError("say what the app is for: --purpose '…'")
    models = proposal.models if proposal.models else (previous.models if previous else ())
    configured = [r.model for r in conf.routes]
    unknown = [m for m in models if m not in configured]
    if unknown:
        raise UsageError(
            f"model {unknown[0]!r} is not a configured route; configured: " + ", ".join(configured)
        )
    classes = tuple(c.upper() for c in proposal.data_classes) if proposal.data_classes else None
    if classes and any(c not in ("C", "S", "O") for c in classes):
        raise UsageError("--data-class must be C, S or O")
    try:
        return Registration.model_validate(
            {
                "tenant": proposal.tenant,
                "app": proposal.app,
                "purpose": purpose,
                "sector": sector,
                "determination": proposal.determination,
                "models": models,
                "oversight": proposal.oversight or (previous.oversight if previous else None),
                "data_classes": classes
                if classes is not None
                else (previous.data_classes if previous else ()),
                "registered_at": now,
                "updated_at": now,
                "registered_by": actor,
            }
        )
    except ValidationError as exc:  # a purpose or oversight text out of bounds
        where = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise UsageError(f"{where}: {exc.errors()[0]['msg']}") from None
