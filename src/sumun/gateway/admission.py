"""Admission: the stage where policy decides, between authentication and the ledger.

The gateway's side of it is small: find the human text in the request (either wire format),
detect Korean PII in each piece, hand the typed facts to the pure `PolicyEngine`
(`sumun.policy.decide`), and carry out what it decides:

- allow / reroute: the body goes on as it is, to the admitted providers only;
- transform: a copy of the body with each finding masked (`[주민등록번호]`) or pseudonymized
  (`[주민등록번호_1]`); the token table travels with the decision so the answer can be
  restored, and is sealed and stored apart from the data by the pipeline (PIPA art. 28-4; a
  safety measure under art. 29, not art. 28-2 pseudonymized processing);
- block: 403 with rule ids and reasons — never the content.

A route whose every provider is cut off by the kill switch is refused before any decision
(`ProviderCutError`, 503; the pipeline records the refusal).

Auditor keys never call models. Types found (never values) and per-type actions go into the
ledger with the rule ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sumun.config import RouteConfig, Settings
from sumun.errors import ProviderCutError
from sumun.gateway.wire import BadRequestError
from sumun.policy.classes import DataClass
from sumun.policy.decide import Candidate, PolicyEngine, Verdict
from sumun.policy.pii import ENTITY_TYPES, Detector, Finding
from sumun.policy.profiles import ProviderProfile
from sumun.policy.rules import DEFAULT_POLICY, Policy
from sumun.policy.transform import OutputRules, Pseudonyms, apply_steps
from sumun.store.model import Permission, Principal, Tenant

__all__ = ["Admission", "Assessment", "Decision", "request_texts", "text_slots"]

Action = Literal["allow", "transform", "reroute", "block"]
_Slot = tuple[Any, Any]  # (container, key): container[key] is a str


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    rules: tuple[str, ...]
    data_class: str | None
    reason: str
    providers: tuple[str, ...] = ()  # providers this request may reach, in route order
    pii_types: tuple[str, ...] = ()  # PII types found (types only: never the values)
    body: dict[str, Any] | None = None  # the body to forward when it was transformed
    # token -> original: the re-identification key. MUST NOT be logged or put in the ledger.
    pseudonyms: Mapping[str, str] = field(default_factory=dict)
    pii_actions: str = ""  # "KR_RRN:pseudonymize,PHONE_KR:mask" (types and actions only)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What admission found before deciding for a caller: texts, their findings, the verdict."""

    texts: list[str]
    findings: list[list[Finding]]
    verdict: Verdict


def _slots_of(container: Any, key: Any, out: list[_Slot]) -> None:
    value = container[key]
    if isinstance(value, str):
        out.append((container, key))
    elif isinstance(value, list):
        for i, part in enumerate(value):
            if isinstance(part, str):
                out.append((value, i))
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append((part, "text"))
                if "content" in part:
                    _slots_of(part, "content", out)


def text_slots(body: Mapping[str, Any]) -> list[_Slot]:
    """Where the human text of a request sits (messages, system, input, instructions)."""
    out: list[_Slot] = []
    for name in ("system", "input", "instructions"):
        if name in body:
            _slots_of(body, name, out)
    for message in body.get("messages") or ():
        if isinstance(message, dict) and "content" in message:
            _slots_of(message, "content", out)
    return out


def request_texts(body: Mapping[str, Any]) -> Iterator[str]:
    for container, key in text_slots(body):
        yield container[key]


def _copy_json(value: Any) -> Any:
    """A deep copy of parsed JSON (dicts, lists, scalars): several times faster than deepcopy."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _profile(settings: Settings, name: str) -> ProviderProfile:
    for provider in settings.providers:
        if provider.name == name:
            declared = provider.effective_profile()
            return ProviderProfile(**declared.model_dump()) if declared else ProviderProfile()
    return ProviderProfile()


_OUT_ACTION = {"mask": "mask", "pseudonymize": "mask", "block": "block"}


class Admission:
    def __init__(
        self,
        settings: Settings,
        policy: Policy = DEFAULT_POLICY,
        *,
        is_cut: Callable[[str], bool] = lambda _name: False,
    ) -> None:
        self.policy = policy
        self.engine = PolicyEngine(policy)
        self._pii = Detector(min_score=policy.pii.min_score)
        self._is_cut = is_cut
        self._profiles = {p.name: _profile(settings, p.name) for p in settings.providers}
        self._output: dict[str, OutputRules] = {}

    def replace_policy(self, policy: Policy) -> None:
        """Enforce `policy` from the next request on (a policy applied on any node)."""
        engine, detector = PolicyEngine(policy), Detector(min_score=policy.pii.min_score)
        self.policy, self.engine, self._pii, self._output = policy, engine, detector, {}

    def max_class(self, provider: str) -> DataClass:
        return self.engine.max_class(self._profiles.get(provider, ProviderProfile()))

    def detect(self, text: str) -> list[Finding]:
        return self._pii.detect(text)

    def decide(
        self,
        principal: Principal,
        tenant: Tenant,
        route: RouteConfig,
        declared_header: str | None,
        body: Mapping[str, Any],
    ) -> Decision:
        return self.conclude(principal, self.assess(tenant, route, declared_header, body), body)

    def assess(
        self,
        tenant: Tenant,
        route: RouteConfig,
        declared_header: str | None,
        body: Mapping[str, Any],
    ) -> Assessment:
        """Detection and the policy's verdict for this request (no principal involved yet)."""
        declared = None
        if declared_header is not None:
            try:
                declared = DataClass.parse(declared_header)
            except ValueError as exc:
                raise BadRequestError(
                    400, "X-Sumun-Data-Class must be C, S or O", code="invalid_data_class"
                ) from exc
        default = DataClass.parse(tenant.default_data_class) if tenant.default_data_class else None
        names = [t.provider for t in route.targets]
        cut = {name for name in names if self._is_cut(name)}
        if names and cut.issuperset(names):
            raise ProviderCutError(*dict.fromkeys(names))  # before reading any of the text
        texts = list(request_texts(body))
        findings = [self._pii.detect(text) for text in texts]
        candidates = [
            Candidate(name, self._profiles.get(name, ProviderProfile()), name in cut)
            for name in names
        ]
        verdict = self.engine.decide(
            texts, findings, candidates, declared=declared, default=default
        )
        return Assessment(texts, findings, verdict)

    def conclude(
        self, principal: Principal, assessed: Assessment, body: Mapping[str, Any]
    ) -> Decision:
        """The decision for this caller, with the body transformed when the verdict says so."""
        verdict = assessed.verdict
        pii_types = verdict.pii_types
        if not principal.may(Permission.CALL_MODELS):  # the role table: store.model.GRANTS
            return Decision(
                "block",
                (f"role.{principal.role.value}-calls-no-models", *verdict.rules),
                verdict.data_class.value,
                f"{principal.role.value} keys cannot call models; issue a user key for that",
                pii_types=pii_types,
            )
        if verdict.action == "block":
            return Decision(
                "block",
                verdict.rules,
                verdict.data_class.value,
                f"{verdict.reason} (rules {', '.join(verdict.rules)})",
                pii_types=pii_types,
            )
        new_body, pseudonyms = self._transform(body, assessed.texts, verdict)
        actions = ",".join(sorted({f"{s.type}:{s.action}" for s in verdict.steps}))
        return Decision(
            verdict.action,
            verdict.rules,
            verdict.data_class.value,
            verdict.reason,
            verdict.providers,
            pii_types,
            new_body,
            pseudonyms,
            actions,
        )

    @staticmethod
    def _transform(
        body: Mapping[str, Any], texts: list[str], verdict: Verdict
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        if not verdict.steps:
            return None, {}
        new_body = _copy_json(body)
        slots = text_slots(new_body)
        pseudonyms = Pseudonyms(avoid=texts)
        by_slot: dict[int, list[Any]] = {}
        for step in verdict.steps:
            by_slot.setdefault(step.slot, []).append(step)
        for index, steps in by_slot.items():
            container, key = slots[index]
            container[key] = apply_steps(container[key], steps, pseudonyms)
        return new_body, pseudonyms.mapping()

    def output_rules(self, provider: str) -> OutputRules:
        """What to do with PII in an answer from `provider` (empty = output scanning off)."""
        found = self._output.get(provider)
        if found is not None:
            return found
        out = self.policy.output
        rules: dict[str, tuple[str, str, float]] = {}
        if out.scan and out.rules is not None:
            for own in out.rules:
                for kind in own.types:
                    if own.action != "allow":
                        rules.setdefault(kind, (own.action, own.id, own.min_score))
        elif out.scan:
            profile = self._profiles.get(provider, ProviderProfile())
            for kind in ENTITY_TYPES:
                rule = self.engine.rule_for(kind, 1.0, provider, profile)
                action: str = rule.action if rule else self.policy.pii.default
                if rule is not None and action == "reroute" and rule.to is not None:
                    action = "allow" if rule.to.matches(provider, profile) else "mask"
                if action in _OUT_ACTION:
                    rule_id = f"output.{rule.id}" if rule else "output.pii.default"
                    min_score = max(rule.min_score if rule else 0.0, self.policy.pii.min_score)
                    rules[kind] = (_OUT_ACTION[action], rule_id, min_score)
        self._output[provider] = rules
        return rules
