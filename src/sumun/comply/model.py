"""Typed catalog and assessment data shared by the loader, the collectors and the report.

The catalog (YAML under `sumun/comply/catalog/`) is validated into these pydantic models; a
requirement is satisfied either by an automated `check` (a named evidence collector reading real
state) or by an `attestation` (documents a person uploads or references).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Assessment",
    "Attestation",
    "Check",
    "Evidence",
    "Requirement",
    "Scope",
    "SourceRef",
    "Status",
]

Status = Literal["satisfied", "not-satisfied", "needs-attestation", "not-applicable"]
Sector = Literal["finance", "healthcare", "public"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(_Strict):
    """Where a requirement comes from. `status: unconfirmed` MUST be shown to users."""

    law: str  # "AI Basic Act (인공지능 기본법, Act No. 20676)"
    article: str  # "art. 31(2)"
    url: str | None = None
    status: Literal["confirmed", "unconfirmed"] = "confirmed"
    note: str | None = None


class Scope(_Strict):
    """Who the requirement applies to; empty lists mean "all"."""

    ai: Literal["all", "generative", "high-impact"] = "all"
    data_classes: tuple[Literal["C", "S", "O"], ...] = ()
    sectors: tuple[Sector, ...] = ()


class Check(_Strict):
    collector: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")  # a registered collector name
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)


class Attestation(_Strict):
    documents: tuple[str, ...] = Field(min_length=1)  # what a person must provide
    guidance: str | None = None


class Requirement(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(?:[.-][A-Za-z0-9]+)+$")  # "AIBA-31.2", "PIPA-24"
    title_ko: str
    title_en: str
    text_ko: str
    text_en: str
    source: SourceRef
    scope: Scope = Scope()
    checks: tuple[Check, ...] = ()
    attestation: Attestation | None = None


class Evidence(_Strict):
    """What a collector read: the verdict, a one-line summary, details, and where it came from."""

    collector: str
    ok: bool | None  # None = could not be determined (the report says why)
    summary: str
    origin: str  # where it was read: "keys registry (…/keys.json)", "ledger verify", …
    details: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class Assessment(_Strict):
    requirement: Requirement
    status: Status
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""
