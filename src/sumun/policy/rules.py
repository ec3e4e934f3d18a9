"""The policy file: what the organization dictates, as validated data (YAML, `policy.yaml`).

    version: 1
    classification:            # content markings added to the built-in ones; the PII floor
      markers: [{pattern: "극비", class: C, id: class.marker.top-secret-ko}]
      floor_types: [KR_RRN, KR_FRN, KR_PASSPORT, KR_DRIVER_LICENSE]
      floor_class: S
    admission:                 # what a provider profile must declare to be admitted for C / S
      C: {hosting: [on-prem], key_custody: [organization]}
      S: {hosting: [on-prem, kr-region], max_retention_days: 0, no_training: true}
    pii:
      rules:                   # first match wins, per finding and per candidate provider
        - {id: pii.unique-ids, types: [KR_RRN, KR_FRN], action: pseudonymize,
           when: {hosting: [kr-region, abroad]}}
        - {id: pii.card, types: [CREDIT_CARD], action: block}
        - {id: pii.account, types: [BANK_ACCOUNT_KR], action: reroute, to: {hosting: [on-prem]}}
      default: allow
    output:
      scan: true               # PII the model produces is handled like PII sent

Parsing is pure (text in, `Policy` out); every error names the file, line and column:
`policy.yaml:7:18: pii.rules[1].action: Input should be 'allow', 'mask', …`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sumun.policy.classes import DataClass
from sumun.policy.classify import DEFAULT_MARKERS, Marker
from sumun.policy.pii.model import ENTITY_TYPES
from sumun.policy.profiles import AdmissionRules, ProviderProfile
from sumun.policy.xks_rules import XksRules

__all__ = [
    "DEFAULT_POLICY",
    "Action",
    "OutputPolicy",
    "PiiRule",
    "Policy",
    "PolicyError",
    "Where",
    "parse_policy",
]

Action = Literal["allow", "mask", "pseudonymize", "block", "reroute"]
Hosting = Literal["on-prem", "kr-region", "abroad"]
_RULE_ID = r"^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$"


class PolicyError(ValueError):
    """The policy file is not valid; the message names file:line:column and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_types(types: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [t for t in types if t not in ENTITY_TYPES]
    if unknown:
        raise ValueError(f"unknown PII type {unknown[0]!r}; known: {', '.join(ENTITY_TYPES)}")
    return types


class Where(_Strict):
    """A condition on a provider: every list given must contain the provider's value."""

    providers: tuple[str, ...] = ()
    hosting: tuple[Hosting, ...] = ()
    jurisdictions: tuple[str, ...] = ()  # ISO 3166 alpha-2 of the operator ("KR")

    def matches(self, name: str, profile: ProviderProfile) -> bool:
        if self.providers and name not in self.providers:
            return False
        if self.hosting and profile.hosting not in self.hosting:
            return False
        return not (self.jurisdictions and profile.jurisdiction not in self.jurisdictions)


class PiiRule(_Strict):
    id: str = Field(pattern=_RULE_ID)
    types: tuple[str, ...] = Field(min_length=1)
    action: Action
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    when: Where | None = None  # only for providers matching; None = any provider
    to: Where | None = None  # reroute: the providers this data may go to
    reason: str | None = None

    _types = field_validator("types")(_known_types)

    @model_validator(mode="after")
    def _reroute_has_target(self) -> PiiRule:
        if self.action == "reroute" and self.to is None:
            raise ValueError("action 'reroute' needs `to:` (the providers the data may go to)")
        if self.action != "reroute" and self.to is not None:
            raise ValueError("`to:` only makes sense with action 'reroute'")
        return self


class PiiPolicy(_Strict):
    rules: tuple[PiiRule, ...] = ()
    default: Literal["allow", "mask", "pseudonymize", "block"] = "allow"
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)  # findings below are ignored

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: tuple[PiiRule, ...]) -> tuple[PiiRule, ...]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return rules


class OutputRule(_Strict):
    id: str = Field(pattern=_RULE_ID)
    types: tuple[str, ...] = Field(min_length=1)
    action: Literal["allow", "mask", "block"]
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)

    _types = field_validator("types")(_known_types)


class OutputPolicy(_Strict):
    """Model answers are scanned too. Without `rules`, the input rules apply to the provider
    that answered (pseudonymize becomes mask: the caller never sees a token for data the model
    made up)."""

    scan: bool = True
    rules: tuple[OutputRule, ...] | None = None


class MarkerSpec(_Strict):
    pattern: str = Field(min_length=1)
    data_class: DataClass = Field(alias="class")
    id: str = Field(pattern=_RULE_ID)
    # "marking": counts only where it stands as a document marking (docs/policy.md, like the
    # built-in words); "anywhere": every match counts.
    placement: Literal["marking", "anywhere"] = "anywhere"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return pattern


class ClassificationPolicy(_Strict):
    markers: tuple[MarkerSpec, ...] = ()
    replace_default_markers: bool = False
    # PIPA art. 24 / decree 19 unique identifiers: found (and sent as they are) ⇒ at least S.
    floor_types: tuple[str, ...] = ("KR_RRN", "KR_FRN", "KR_PASSPORT", "KR_DRIVER_LICENSE")
    floor_class: DataClass = DataClass.SENSITIVE
    # True: identifiers masked or pseudonymized before they leave do not raise the class.
    floor_after_transform: bool = True

    _types = field_validator("floor_types")(_known_types)

    def marker_list(self) -> tuple[Marker, ...]:
        own = tuple(Marker(m.pattern, m.data_class, m.id, m.placement) for m in self.markers)
        return own if self.replace_default_markers else DEFAULT_MARKERS + own


class ClassRequirements(_Strict):
    hosting: tuple[Hosting, ...] | None = None
    key_custody: tuple[Literal["organization", "byok", "provider"], ...] | None = None
    max_retention_days: int | None = Field(default=None, ge=0)
    no_training: bool | None = None
    foreign_needs_basis: bool | None = None
    certifications: tuple[str, ...] | None = None


class AdmissionPolicy(_Strict):
    c: ClassRequirements = Field(default=ClassRequirements(), alias="C")
    s: ClassRequirements = Field(default=ClassRequirements(), alias="S")

    def rules(self) -> AdmissionRules:
        base = AdmissionRules()
        c, s = self.c, self.s
        return AdmissionRules(
            classified_hosting=c.hosting if c.hosting is not None else base.classified_hosting,
            classified_custody=(
                c.key_custody if c.key_custody is not None else base.classified_custody
            ),
            sensitive_hosting=s.hosting if s.hosting is not None else base.sensitive_hosting,
            sensitive_max_retention_days=(
                s.max_retention_days
                if s.max_retention_days is not None
                else base.sensitive_max_retention_days
            ),
            sensitive_requires_no_training=(
                s.no_training if s.no_training is not None else base.sensitive_requires_no_training
            ),
            sensitive_foreign_needs_basis=(
                s.foreign_needs_basis
                if s.foreign_needs_basis is not None
                else base.sensitive_foreign_needs_basis
            ),
            sensitive_certifications=(
                s.certifications if s.certifications is not None else base.sensitive_certifications
            ),
        )


class Policy(_Strict):
    version: Literal[1] = 1
    classification: ClassificationPolicy = ClassificationPolicy()
    admission: AdmissionPolicy = AdmissionPolicy()
    pii: PiiPolicy = PiiPolicy()
    output: OutputPolicy = OutputPolicy()
    # AWS KMS External Key Store calls: secondary authorization (sumun.xks, docs/xks.md).
    xks: XksRules = XksRules()
    source: str = Field(default="built-in", exclude=True)  # where it was read from


_OUTSIDE = Where(hosting=("kr-region", "abroad"))

# The built-in policy (used when there is no policy file): unique identifiers, cards and
# accounts never leave the organization's own hosting in clear; contact details are
# pseudonymized for providers abroad. On-prem models see the data as it is.
DEFAULT_POLICY = Policy(
    pii=PiiPolicy(
        rules=(
            PiiRule(
                id="pii.unique-id",
                types=("KR_RRN", "KR_FRN", "KR_PASSPORT", "KR_DRIVER_LICENSE"),
                action="pseudonymize",
                when=_OUTSIDE,
                reason="PIPA art. 24: unique identifiers leave only pseudonymized",
            ),
            PiiRule(
                id="pii.health-insurance",
                types=("KR_HEALTH_INSURANCE",),
                action="pseudonymize",
                when=_OUTSIDE,
                reason="a health-insurance card number identifies an insured household (NHIS)",
            ),
            PiiRule(
                id="pii.financial",
                types=("CREDIT_CARD", "BANK_ACCOUNT_KR"),
                action="mask",
                when=_OUTSIDE,
                reason="card and account numbers are not needed by a model outside",
            ),
            PiiRule(
                id="pii.contact-abroad",
                types=("PHONE_KR", "EMAIL", "KR_ADDRESS"),
                action="pseudonymize",
                when=Where(hosting=("abroad",)),
                reason="contact details do not cross the border in clear (PIPA art. 28-8)",
            ),
        ),
        min_score=0.5,
    ),
)


# -- parsing with positions ------------------------------------------------------------------


def _position(node: yaml.Node | None, loc: Sequence[int | str]) -> tuple[int, int] | None:
    """The 1-based (line, column) of the YAML node at `loc`, or of its nearest parent."""
    if node is None:
        return None
    best = node
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(best, yaml.MappingNode):
            for key, value in best.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    break
        elif (
            isinstance(best, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(best.value)
        ):
            child = best.value[part]
        if child is None:
            break
        best = child
    return best.start_mark.line + 1, best.start_mark.column + 1


def _loc_text(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_policy(text: str, *, source: str = "policy.yaml") -> Policy:
    """Validate a policy file's text. Raises `PolicyError` naming file:line:column."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{where}: not valid YAML: {problem}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}:1:1: the top level must be a mapping")
    try:
        return Policy.model_validate({**raw, "source": source})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function")]
            pos = _position(node, loc) or (0, 0)
            message = err["msg"].removeprefix("Value error, ")
            problems.append((pos, f"{source}:{pos[0]}:{pos[1]}: {_loc_text(loc)}: {message}"))
        raise PolicyError("\n".join(text for _pos, text in sorted(problems))) from exc
