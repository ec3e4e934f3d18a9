"""Explain a decision: a request run through admission exactly as the gateway runs it — PII
detection, classification, the PII rules and each provider's profile — without keys, ledger,
network or any record of the text.

Used by `sumun policy explain` and the admin API's `POST /policy/explain` (and so the
console's playground). Pure: settings, a policy and a request body in, an `Explanation` out.

Besides the gateway's own decision (which provider it would choose and the text that leaves),
it plans the request for each provider of the route on its own, so a reader sees, per
provider, whether it would be admitted for this request's class and what it would receive —
or why it is refused.

The explanation holds the caller's own text (what it would send, masked or not): it MUST NOT
be logged or stored; it is only handed back to whoever asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sumun.config import RouteConfig, Settings
from sumun.errors import ProviderCutError, UsageError
from sumun.gateway.admission import Admission, Assessment, request_texts
from sumun.policy.classes import DataClass
from sumun.policy.decide import Candidate, Step
from sumun.policy.profiles import ProviderProfile
from sumun.policy.rules import Policy
from sumun.policy.transform import Pseudonyms, apply_steps
from sumun.store.model import Principal, Role, Tenant

__all__ = [
    "Explanation",
    "Found",
    "ProviderPlan",
    "explain",
    "parse_class",
    "preview",
    "route_for",
]


@dataclass(frozen=True, slots=True)
class Found:
    """One PII finding: where it is (code points of text `text_index`), never its value."""

    type: str
    start: int
    end: int
    score: float
    text_index: int


@dataclass(frozen=True, slots=True)
class ProviderPlan:
    """What one provider of the route would get, were it the only one."""

    name: str
    cut: bool  # cut off by the kill switch
    max_class: str  # the highest class its declared profile is admitted for
    admitted: bool  # it would take this request
    data_class: str  # the request's class for this provider (the PII floor counts)
    reason: str  # why it is refused, or what would happen
    rules: tuple[str, ...]
    actions: tuple[tuple[str, str, str], ...]  # (PII type, mask|pseudonymize, rule id)
    texts: tuple[str, ...] | None  # the texts as it would receive them; None when refused
    chosen: bool  # the gateway would send the request here first


@dataclass(frozen=True, slots=True)
class Explanation:
    policy: str  # the policy's source
    model: str
    data_class: str | None
    classification_rules: tuple[str, ...]
    classification_reasons: tuple[str, ...]
    texts: tuple[str, ...]  # the request's human text, as sent
    findings: tuple[Found, ...]
    decision: str
    rules: tuple[str, ...]
    reason: str
    providers: tuple[str, ...]  # where the gateway may send it, in route order
    pii_actions: str
    output_rules: Mapping[str, Mapping[str, str]]
    text_out: tuple[str, ...]  # the texts as they would leave (the chosen provider's)
    plans: tuple[ProviderPlan, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The shape `sumun policy explain --json` prints (a contract: fields are added,
        never renamed)."""
        return {
            "policy": self.policy,
            "model": self.model,
            "data_class": self.data_class,
            "classification": {
                "rules": list(self.classification_rules),
                "reasons": list(self.classification_reasons),
            },
            "findings": [
                {
                    "type": f.type,
                    "start": f.start,
                    "end": f.end,
                    "score": f.score,
                    "text_index": f.text_index,
                }
                for f in self.findings
            ],
            "decision": self.decision,
            "rules": list(self.rules),
            "reason": self.reason,
            "providers": list(self.providers),
            "pii_actions": self.pii_actions,
            "output_rules": {p: dict(rules) for p, rules in self.output_rules.items()},
            "text_out": list(self.text_out),
        }


def route_for(settings: Settings, model: str | None) -> RouteConfig:
    """The route for a model alias (the first route when none is named); UsageError else."""
    routes = {r.model: r for r in settings.routes}
    route = routes.get(model) if model else (settings.routes[0] if settings.routes else None)
    if route is None:
        known = ", ".join(sorted(routes)) or "none"
        raise UsageError(f"no route for model {model!r}; known: {known}")
    return route


def parse_class(given: str | None) -> str | None:
    """A declared class checked in one clear line (UsageError), or None."""
    if given is None:
        return None
    try:
        return DataClass.parse(given).value
    except ValueError as exc:
        raise UsageError(f"{given!r}: a data class is C, S or O") from exc


def preview(value: str) -> str:
    """A finding shown without its value: the first two letters or digits, then `*` for every
    other letter or digit; separators stay (`900101-1234568` → `90****-*******`)."""
    out, kept = [], 0
    for ch in value:
        if ch.isalnum():
            out.append(ch if kept < 2 else "*")
            kept += 1
        else:
            out.append(ch)
    return "".join(out)


def _profiles(settings: Settings) -> dict[str, ProviderProfile]:
    out = {}
    for provider in settings.providers:
        declared = provider.effective_profile()
        out[provider.name] = (
            ProviderProfile(**declared.model_dump()) if declared else ProviderProfile()
        )
    return out


def _sent(texts: list[str], steps: tuple[Step, ...]) -> tuple[str, ...]:
    """The texts with `steps` applied, tokens consistent across texts (as the gateway does)."""
    pseudonyms = Pseudonyms(avoid=texts)
    return tuple(
        apply_steps(text, [s for s in steps if s.slot == i], pseudonyms)
        for i, text in enumerate(texts)
    )


def _plans(
    admission: Admission,
    route: RouteConfig,
    assessed: Assessment,
    *,
    profiles: Mapping[str, ProviderProfile],
    declared: DataClass | None,
    default: DataClass | None,
    is_cut: Callable[[str], bool],
) -> tuple[ProviderPlan, ...]:
    """Each provider of the route planned on its own, as the engine plans a candidate."""
    texts, findings, chosen = assessed.texts, assessed.findings, assessed.verdict.provider
    out = []
    for name in dict.fromkeys(t.provider for t in route.targets):
        profile = profiles.get(name, ProviderProfile())
        cut = is_cut(name)
        verdict = admission.engine.decide(
            texts, findings, [Candidate(name, profile, cut)], declared=declared, default=default
        )
        refused = verdict.action == "block"
        why = verdict.considered[0][1] if refused and verdict.considered else verdict.reason
        out.append(
            ProviderPlan(
                name=name,
                cut=cut,
                max_class=admission.engine.max_class(profile).value,
                admitted=not refused,
                data_class=verdict.data_class.value,
                reason=why,
                rules=verdict.rules,
                actions=tuple((s.type, s.action, s.rule) for s in verdict.steps),
                texts=None if refused else _sent(texts, verdict.steps),
                chosen=name == chosen,
            )
        )
    return tuple(out)


def _all_cut(policy: Policy, route: RouteConfig, exc: ProviderCutError) -> Explanation:
    refused = tuple(
        ProviderPlan(
            name=name,
            cut=True,
            max_class="O",
            admitted=False,
            data_class="O",
            reason="cut off by the kill switch (rule provider.cut)",
            rules=("provider.cut",),
            actions=(),
            texts=None,
            chosen=False,
        )
        for name in dict.fromkeys(t.provider for t in route.targets)
    )
    return Explanation(
        policy=policy.source,
        model=route.model,
        data_class=None,
        classification_rules=(),
        classification_reasons=(),
        texts=(),
        findings=(),
        decision="block",
        rules=("provider.cut",),
        reason=str(exc),
        providers=(),
        pii_actions="",
        output_rules={},
        text_out=(),
        plans=refused,
    )


def explain(
    settings: Settings,
    policy: Policy,
    route: RouteConfig,
    body: Mapping[str, Any],
    *,
    declared: str | None = None,
    tenant_default: str | None = None,
    is_cut: Callable[[str], bool] = lambda _name: False,
) -> Explanation:
    """What the gateway would decide for `body` on `route` under `policy` (classes already
    checked with `parse_class`)."""
    admission = Admission(settings, policy, is_cut=is_cut)
    tenant = Tenant("explain", False, None, tenant_default, None, None, None, 0.0)
    principal = Principal("explain", "explain", None, None, Role.USER)
    try:
        assessed = admission.assess(tenant, route, declared, body)
    except ProviderCutError as exc:  # every provider of the route is cut off
        return _all_cut(policy, route, exc)
    decision = admission.conclude(principal, assessed, body)
    texts, verdict = assessed.texts, assessed.verdict
    leaving = list(request_texts(decision.body)) if decision.body is not None else texts
    classification = verdict.classification
    plans = _plans(
        admission,
        route,
        assessed,
        profiles=_profiles(settings),
        declared=DataClass.parse(declared) if declared else None,
        default=DataClass.parse(tenant_default) if tenant_default else None,
        is_cut=is_cut,
    )
    return Explanation(
        policy=policy.source,
        model=route.model,
        data_class=decision.data_class,
        classification_rules=classification.rules if classification else (),
        classification_reasons=classification.reasons if classification else (),
        texts=tuple(texts),
        findings=tuple(
            Found(f.type, f.start, f.end, f.score, i)
            for i, group in enumerate(assessed.findings)
            for f in group
        ),
        decision=decision.action,
        rules=decision.rules,
        reason=decision.reason,
        providers=decision.providers,
        pii_actions=decision.pii_actions,
        output_rules={
            provider: {t: a for t, (a, _r, _s) in admission.output_rules(provider).items()}
            for provider in decision.providers[:1]
        },
        text_out=tuple(leaving),
        plans=plans,
    )
