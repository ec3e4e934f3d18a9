"""Typed catalog and assessment data shared by the loader, the collectors and the report.

The catalog (YAML under `sumun/comply/catalog/`) is validated into these pydantic models; a
requirement is satisfied either by an automated `check` (a named evidence collector reading real
state) or by an `attestation` (documents a person uploads or references), or both.

Status of an assessed requirement:

    not-applicable     its scope does not cover this deployment (the reason says why)
    not-satisfied      a check read state that fails it
    undetermined       a check could not read the state it needs (sealed keys, no store, …)
    needs-attestation  every check passed (or there is none), but a person must still attest
    satisfied          every check passed and any attestation it needs is recorded
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

__all__ = [
    "STATUSES",
    "Assessment",
    "Attestation",
    "AttestationRecord",
    "CatalogFile",
    "Check",
    "DetailValue",
    "DocumentRef",
    "Evidence",
    "HighImpactArea",
    "Requirement",
    "Scope",
    "Sector",
    "SourceRef",
    "Status",
]

Status = Literal[
    "satisfied", "not-satisfied", "undetermined", "needs-attestation", "not-applicable"
]
# Worst first: the order the report lists requirements in.
STATUSES: tuple[Status, ...] = (
    "not-satisfied",
    "undetermined",
    "needs-attestation",
    "satisfied",
    "not-applicable",
)
Sector = Literal["finance", "healthcare", "public"]
DetailValue = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(_Strict):
    """Where a requirement comes from, and whether that could be checked.

    `unconfirmed` is the stated reason a point could not be checked against an official text
    (None = confirmed); a bare flag is refused, so every doubt says what it is. `status` is
    derived from it. Both MUST be shown to users (the report's badge and its reason).
    """

    law: str = Field(min_length=3)  # "AI Basic Act (인공지능 기본법, Act No. 20676)"
    article: str = Field(min_length=1)  # "art. 31(2)"
    url: str | None = Field(default=None, pattern=r"^https://")
    unconfirmed: str | None = Field(default=None, min_length=20)  # why it is not confirmed
    note: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["confirmed", "unconfirmed"]:
        return "confirmed" if self.unconfirmed is None else "unconfirmed"


class Scope(_Strict):
    """Who the requirement applies to; empty lists mean "all". Fields combine with AND.

    `ai: high-impact` requirements are assessed once per app registered as high-impact.
    """

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
    title_ko: str = Field(min_length=2)
    title_en: str = Field(min_length=2)
    text_ko: str = Field(min_length=2)
    text_en: str = Field(min_length=2)
    source: SourceRef
    scope: Scope = Scope()
    checks: tuple[Check, ...] = ()
    attestation: Attestation | None = None
    # What to do when it is not met, in Sumun's terms (shown in the one-minute summary).
    remedy_ko: str | None = None
    remedy_en: str | None = None

    @model_validator(mode="after")
    def _satisfiable(self) -> Requirement:
        if not self.checks and self.attestation is None:
            raise ValueError(f"{self.id}: needs at least one check or an attestation")
        return self


class CatalogFile(_Strict):
    """One YAML file of the catalog: one source instrument, versioned."""

    catalog_version: str = Field(pattern=r"^\d{4}\.\d+$")  # "2026.1"
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")  # the date the facts were gathered
    instrument_ko: str
    instrument_en: str
    requirements: tuple[Requirement, ...] = Field(min_length=1)


class HighImpactArea(_Strict):
    """One of the AI Basic Act art. 2(4) areas (the art. 33 questionnaire asks about these)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    item: str  # "가", "나", …
    title_ko: str
    title_en: str
    sector: Sector | None = None  # the register's sector this area usually falls in


class Evidence(_Strict):
    """What a collector read: the verdict, a one-line summary, details, and where it came from.

    `applies=False` means the state shows the requirement does not concern this deployment
    (e.g. no foreign provider is configured, so there is no domestic representative to name).
    """

    collector: str
    ok: bool | None  # None = could not be determined (the summary says why)
    summary: str
    origin: str  # where it was read: "keys registry (…/keys.json)", "ledger fsck", …
    details: Mapping[str, DetailValue] = Field(default_factory=dict)
    advice: str | None = None  # what to do about it, as a command when there is one
    applies: bool = True


class DocumentRef(_Strict):
    """A document behind an attestation: a file copied into the home, or a reference."""

    name: str
    kind: Literal["file", "reference"]
    sha256: str | None = None  # files: the digest of the stored copy
    stored: str | None = None  # files: path relative to SUMUN_HOME


class AttestationRecord(_Strict):
    requirement: str
    subject: str | None = None  # "tenant/app" for per-app (art. 34) requirements
    documents: tuple[DocumentRef, ...] = Field(min_length=1)
    by: str = Field(min_length=1)  # the person who attests
    at: float  # Unix seconds
    note: str | None = None
    ledger_seq: int | None = None  # the admin-change entry that records it


class Assessment(_Strict):
    requirement: Requirement
    status: Status
    subject: str | None = None  # "tenant/app" when assessed per app
    evidence: tuple[Evidence, ...] = ()
    attestations: tuple[AttestationRecord, ...] = ()
    reason: str = ""  # the status in one line: what failed, what is missing, why not applicable
    applies_because: str = ""  # for applicable requirements: the scope that made it apply
