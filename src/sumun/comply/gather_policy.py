"""The policy part of a deployment's facts: providers' declared profiles, what each is
admitted for (`admit_profile` with the policy's admission rules — what the gateway itself
computes), the PII rules and where they reach. Split from `gather` (one job per module).
"""

from __future__ import annotations

from sumun.comply.facts import PiiRuleFact, PolicyFacts, ProviderFacts
from sumun.config import Settings, load_policy, policy_path
from sumun.errors import ConfigError, SumunError
from sumun.policy.profiles import ProviderProfile, admit_profile
from sumun.policy.rules import DEFAULT_POLICY, Policy, Where
from sumun.store.control import open_control
from sumun.store.pseudonyms import PseudonymVault

__all__ = ["policy_facts"]


def _where(where: Where | None) -> str:
    if where is None:
        return "any provider"
    parts = []
    if where.providers:
        parts.append("providers " + ", ".join(where.providers))
    if where.hosting:
        parts.append("hosting " + ", ".join(where.hosting))
    if where.jurisdictions:
        parts.append("operators in " + ", ".join(where.jurisdictions))
    return "; ".join(parts) or "any provider"


def _reaches_outside(where: Where | None) -> bool:
    """Can the rule apply to a provider hosted outside the organization (KR region, abroad)?"""
    return where is None or not where.hosting or bool(set(where.hosting) - {"on-prem"})


def _pseudonym_tables(settings: Settings) -> int | None:
    path = settings.home / "pseudonyms.db"
    if settings.control.store == "sqlite" and not path.exists():
        return None
    try:
        vault = PseudonymVault(open_control(settings).vault_database())
    except SumunError:
        return None
    try:
        return vault.count()
    finally:
        vault.close()


def policy_facts(settings: Settings, policy: Policy | None = None) -> PolicyFacts:
    """The policy in force and, per configured provider, the highest class it is admitted for
    (`admit_profile` with the policy's admission rules: what the gateway itself computes)."""
    where = str(settings.config_file) if settings.config_file else "built-in defaults"
    error = None
    if policy is None:
        try:
            path = policy_path(settings)
            policy = load_policy(settings)
        except ConfigError as exc:
            error, path, policy = str(exc), None, DEFAULT_POLICY
        source = str(path) if path else "the built-in policy"
    else:
        source = policy.source
    rules = policy.admission.rules()
    served: dict[str, list[str]] = {}
    for route in settings.routes:
        for target in route.targets:
            served.setdefault(target.provider, []).append(route.model)
    providers = []
    for provider in settings.providers:
        declared = provider.effective_profile()
        profile = ProviderProfile(**declared.model_dump()) if declared else ProviderProfile()
        providers.append(
            ProviderFacts(
                name=provider.name,
                kind=provider.kind,
                base_url=provider.base_url,
                declared=declared is not None,
                profile=profile,
                admitted=admit_profile(profile, rules),
                routes=tuple(served.get(provider.name, ())),
            )
        )
    classification = policy.classification
    return PolicyFacts(
        origin=f"configuration ({where}) and policy ({source})",
        providers=tuple(providers),
        rules=rules,
        unique_identifiers=frozenset(classification.floor_types),
        floor_class=classification.floor_class.value,
        pii_rules=tuple(
            PiiRuleFact(
                id=rule.id,
                types=rule.types,
                action=rule.action,
                when=_where(rule.when),
                outside=_reaches_outside(rule.when),
                providers=tuple(
                    p.name
                    for p in providers
                    if rule.when is None or rule.when.matches(p.name, p.profile)
                ),
            )
            for rule in policy.pii.rules
        ),
        pii_default=policy.pii.default,
        output_scan=policy.output.scan,
        pseudonym_retention_days=settings.gateway.pseudonym_retention_days,
        pseudonym_tables=_pseudonym_tables(settings),
        error=error,
    )
