"""The decision: classification × PII rules × provider profiles × kill switch ⇒ one `Verdict`.

Pure and fast (no I/O; a 2 KB prompt decides in tens of microseconds once PII detection is
done). For each candidate provider, in route order:

    1. a provider cut off by the kill switch is never chosen;
    2. each finding gets the first PII rule that names its type, reaches its score and whose
       `when` matches this provider (else the default action);
       `block` ⇒ this provider is out; `reroute` ⇒ out unless the provider matches `to`;
    3. the class: max(declared, tenant default, content markings, the PII floor) — the floor
       counts only identifiers that would leave as they are (masked or pseudonymized ones do
       not raise the class, unless `floor_after_transform: false`);
    4. the provider's profile must be admitted for that class.

The first candidate left is chosen; the fallback set is every candidate left with the very same
plan (so a failover never sends what the plan did not allow). No candidate ⇒ block, with the
rule ids and reasons, never the content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sumun.policy.classes import DataClass
from sumun.policy.classify import Classification, MarkerSet, classify
from sumun.policy.pii.model import Finding
from sumun.policy.profiles import ProviderProfile, admit_profile
from sumun.policy.rules import PiiRule, Policy

__all__ = ["Candidate", "PolicyEngine", "Step", "Verdict"]

StepAction = Literal["allow", "mask", "pseudonymize"]
VerdictAction = Literal["allow", "transform", "reroute", "block"]


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    profile: ProviderProfile
    cut: bool = False  # cut off by the kill switch


@dataclass(frozen=True, slots=True)
class Step:
    """What happens to one finding: text slot, span, type, action, the rule that said so."""

    slot: int
    start: int
    end: int
    type: str
    action: StepAction
    rule: str


@dataclass(frozen=True, slots=True)
class Verdict:
    action: VerdictAction
    data_class: DataClass
    rules: tuple[str, ...]
    reason: str  # one line, safe to show the caller: rule ids and types, never values
    provider: str | None = None  # the chosen provider
    providers: tuple[str, ...] = ()  # the chosen one and its same-plan fallbacks, route order
    steps: tuple[Step, ...] = ()  # only mask / pseudonymize steps
    pii_types: tuple[str, ...] = ()
    considered: tuple[tuple[str, str], ...] = ()  # (provider, why it was not chosen)
    classification: Classification | None = None


@dataclass(frozen=True, slots=True)
class _Plan:
    usable: bool
    why: str  # why not usable ("" when usable)
    rules: tuple[str, ...]
    steps: tuple[Step, ...]
    data_class: DataClass
    floor_rule: bool


class PolicyEngine:
    """A policy compiled once: markers, per-type rule lists, admissions per profile."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.markers = MarkerSet(policy.classification.marker_list())
        self._admission = policy.admission.rules()
        self._by_type: dict[str, tuple[PiiRule, ...]] = {}
        for rule in policy.pii.rules:
            for kind in rule.types:
                self._by_type[kind] = (*self._by_type.get(kind, ()), rule)
        self._floor_types = frozenset(policy.classification.floor_types)
        self._max_class: dict[ProviderProfile, DataClass] = {}
        # (provider, profile) -> type -> the rules whose `when` matches that provider
        self._for_provider: dict[tuple[str, ProviderProfile], dict[str, tuple[PiiRule, ...]]] = {}

    def max_class(self, profile: ProviderProfile) -> DataClass:
        found = self._max_class.get(profile)
        if found is None:
            found = admit_profile(profile, self._admission).max_class
            self._max_class[profile] = found
        return found

    def rule_for(
        self, kind: str, score: float, name: str, profile: ProviderProfile
    ) -> PiiRule | None:
        """The first rule for this finding type and score that applies to this provider."""
        key = (name, profile)
        table = self._for_provider.get(key)
        if table is None:
            table = {
                t: tuple(r for r in rules if r.when is None or r.when.matches(name, profile))
                for t, rules in self._by_type.items()
            }
            self._for_provider[key] = table
        for rule in table.get(kind, ()):
            if score >= rule.min_score:
                return rule
        return None

    def decide(
        self,
        texts: Sequence[str],
        findings: Sequence[Sequence[Finding]],
        candidates: Sequence[Candidate],
        *,
        declared: DataClass | None = None,
        default: DataClass | None = None,
    ) -> Verdict:
        """`findings[i]` are the PII findings in `texts[i]` (one list per text slot)."""
        floor = self.policy.pii.min_score
        found = [
            (slot, f) for slot, group in enumerate(findings) for f in group if f.score >= floor
        ]
        pii_types = tuple(sorted({f.type for _slot, f in found}))
        base = classify(texts, markers=self.markers, declared=declared, default=default)
        base_rules = tuple(r for r in base.rules if r != "class.none")
        considered: list[tuple[str, str]] = []
        chosen: _Plan | None = None
        chosen_name = ""
        fallbacks: list[str] = []
        blocked_rules: list[str] = []
        for cand in candidates:
            if cand.cut:
                considered.append((cand.name, "cut off by the kill switch (rule provider.cut)"))
                blocked_rules.append("provider.cut")
                continue
            plan = self._plan(found, cand, base.data_class)
            if chosen is None:
                if plan.usable:
                    chosen, chosen_name = plan, cand.name
                    fallbacks.append(cand.name)
                else:
                    considered.append((cand.name, plan.why))
                    blocked_rules.extend(plan.rules)
            elif plan.usable and plan.steps == chosen.steps and plan.rules == chosen.rules:
                fallbacks.append(cand.name)
        if chosen is None:
            rules = tuple(dict.fromkeys((*base_rules, *blocked_rules, "profile.none-admitted")))
            why = "; ".join(f"{name}: {reason}" for name, reason in considered)
            return Verdict(
                "block",
                base.data_class,
                rules,
                f"no provider may take this request ({why})" if why else "no provider",
                pii_types=pii_types,
                considered=tuple(considered),
                classification=base,
            )
        rules = (*base_rules, *(("class.pii",) if chosen.floor_rule else ()), *chosen.rules)
        first = candidates[0].name if candidates else chosen_name
        if chosen_name != first:
            action: VerdictAction = "reroute"
            reason = f"class {chosen.data_class.value} data rerouted to {chosen_name}"
            rules = (*rules, "profile.reroute")
        elif chosen.steps:
            action = "transform"
            reason = "personal data masked or pseudonymized before it leaves"
        else:
            action = "allow"
            reason = f"admitted for class {chosen.data_class.value}"
        return Verdict(
            action,
            chosen.data_class,
            tuple(dict.fromkeys(rules)),
            reason,
            chosen_name,
            tuple(fallbacks),
            chosen.steps,
            pii_types,
            tuple(considered),
            base,
        )

    def _plan(
        self, found: Sequence[tuple[int, Finding]], cand: Candidate, base: DataClass
    ) -> _Plan:
        steps: list[Step] = []
        rules: list[str] = []
        leaving_floor = False
        default = self.policy.pii.default
        for slot, f in found:
            rule = self.rule_for(f.type, f.score, cand.name, cand.profile)
            action = rule.action if rule else default
            rule_id = rule.id if rule else "pii.default"
            if action == "block":
                why = f"rule {rule_id}: {f.type} may not be sent to {cand.name}"
                return _Plan(False, why, (rule_id,), (), base, False)
            if action == "reroute":
                assert rule is not None and rule.to is not None  # noqa: S101 - validated
                if not rule.to.matches(cand.name, cand.profile):
                    why = f"rule {rule_id}: {f.type} may go only to other providers"
                    return _Plan(False, why, (rule_id,), (), base, False)
                action = "allow"
            if action == "allow":
                leaving_floor = leaving_floor or f.type in self._floor_types
                if rule is not None:
                    rules.append(rule_id)
                continue
            rules.append(rule_id)
            steps.append(Step(slot, f.start, f.end, f.type, action, rule_id))
        cls = self.policy.classification
        floor = leaving_floor or (
            not cls.floor_after_transform and any(s.type in self._floor_types for s in steps)
        )
        data_class = DataClass.highest(base, cls.floor_class) if floor else base
        if not self.max_class(cand.profile).admits(data_class):
            why = (
                f"profile admitted up to {self.max_class(cand.profile).value}, "
                f"the request is {data_class.value}"
            )
            return _Plan(False, why, ("profile.admit",), (), data_class, floor)
        return _Plan(True, "", tuple(dict.fromkeys(rules)), tuple(steps), data_class, floor)
