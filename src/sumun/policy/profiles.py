"""Provider profiles ("Korea's terms") and the highest data class each one is admitted for.

A provider declares where and on whose terms it processes data; the organization's rules decide
which classes that qualifies for. Defaults (configurable; KOREA.md: Sumun's reading of N2SF,
not an NIS statement):

    C  only on-prem, with organization-held keys
    S  only hosted in Korea (on-prem or a KR region), zero retention, no training use — and a
       PIPA art. 28-8 cross-border basis when the operator is foreign
    O  any provider

An unknown profile is admitted for O only: default deny for anything more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sumun.policy.classes import DataClass

__all__ = ["AdmissionRules", "Admitted", "ProviderProfile", "admit_profile", "admitted_for"]

Hosting = Literal["on-prem", "kr-region", "abroad"]
Custody = Literal["organization", "byok", "provider"]


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    jurisdiction: str = "unknown"  # operator's headquarters jurisdiction, ISO 3166 alpha-2 ("KR")
    hosting: Hosting | None = None
    key_custody: Custody | None = None
    retention_days: int | None = None  # 0 = zero retention; None = unknown
    training_use: bool | None = None  # provider may train on the data; None = unknown
    certifications: tuple[str, ...] = ()  # e.g. "CSAP-상", "ISMS-P"
    cross_border_basis: str | None = None  # PIPA 28-8 basis, e.g. "consent", "contract"
    # AI Basic Act art. 36: a foreign operator's domestic representative (name, contact), or
    # "below-threshold" when it is under all three of the decree's thresholds; None = unknown.
    domestic_representative: str | None = None


@dataclass(frozen=True, slots=True)
class AdmissionRules:
    classified_hosting: tuple[str, ...] = ("on-prem",)
    classified_custody: tuple[str, ...] = ("organization",)
    sensitive_hosting: tuple[str, ...] = ("on-prem", "kr-region")
    sensitive_max_retention_days: int = 0
    sensitive_requires_no_training: bool = True
    sensitive_foreign_needs_basis: bool = True
    # Certifications a provider must hold for S (e.g. ("CSAP-중",)); empty = none required.
    sensitive_certifications: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Admitted:
    max_class: DataClass
    rules: tuple[str, ...]
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _sensitive_gaps(profile: ProviderProfile, rules: AdmissionRules) -> list[str]:
    gaps = []
    if profile.hosting not in rules.sensitive_hosting:
        gaps.append(f"hosting {profile.hosting or 'unknown'} is not in Korea")
    retention = profile.retention_days
    if retention is None or retention > rules.sensitive_max_retention_days:
        gaps.append(f"retention {'unknown' if retention is None else retention} days")
    if rules.sensitive_requires_no_training and profile.training_use is not False:
        gaps.append("may train on the data" if profile.training_use else "training use unknown")
    if (
        rules.sensitive_foreign_needs_basis
        and profile.jurisdiction != "KR"
        and not profile.cross_border_basis
    ):
        gaps.append("foreign operator without a PIPA 28-8 cross-border basis")
    missing = [c for c in rules.sensitive_certifications if c not in profile.certifications]
    if missing:
        gaps.append("missing certification " + ", ".join(missing))
    return gaps


def admit_profile(profile: ProviderProfile, rules: AdmissionRules | None = None) -> Admitted:
    """The highest class this profile qualifies for, with the rule ids and the reasons."""
    rules = rules or AdmissionRules()
    s_gaps = _sensitive_gaps(profile, rules)
    if s_gaps:
        return Admitted(DataClass.OPEN, ("profile.admit.O",), tuple(f"not S: {g}" for g in s_gaps))
    c_gaps = []
    if profile.hosting not in rules.classified_hosting:
        c_gaps.append(f"hosting {profile.hosting} is not on-prem")
    if profile.key_custody not in rules.classified_custody:
        c_gaps.append(f"keys held by {profile.key_custody or 'unknown'}, not the organization")
    if c_gaps:
        return Admitted(
            DataClass.SENSITIVE, ("profile.admit.S",), tuple(f"not C: {g}" for g in c_gaps)
        )
    return Admitted(
        DataClass.CLASSIFIED, ("profile.admit.C",), ("on-prem, organization-held keys",)
    )


def admitted_for(
    profiles: Sequence[tuple[str, ProviderProfile]],
    data_class: DataClass,
    rules: AdmissionRules | None = None,
) -> list[str]:
    """The names, in order, of the providers admitted for `data_class`."""
    return [name for name, p in profiles if admit_profile(p, rules).max_class.admits(data_class)]
