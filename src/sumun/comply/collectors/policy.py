"""Collectors over the access policy: provider admissions vs declared profiles, cross-border
transfer, localisation, unique identifiers and per-type PII actions.

Admissions are recomputed here with `admit_profile` over each provider's declared profile and
the rules in force — the same function the gateway's admission stage uses — so the report
states what the gateway will actually do, not what a document says it should.
"""

from __future__ import annotations

from sumun.comply.collectors.base import Collector, Params, param_list, param_str
from sumun.comply.facts import Facts, ProviderFacts
from sumun.comply.model import DetailValue, Evidence
from sumun.comply.register import Registration
from sumun.policy.classes import DataClass

__all__ = ["COLLECTORS"]


def _admitted(provider: ProviderFacts) -> str:
    return provider.admitted.max_class.value


def _describe(provider: ProviderFacts) -> str:
    p = provider.profile
    return (
        f"admitted up to {_admitted(provider)}; operator {p.jurisdiction}, hosting "
        f"{p.hosting or 'unknown'}, keys {p.key_custody or 'unknown'}"
        + (f", basis {p.cross_border_basis}" if p.cross_border_basis else "")
        + (
            f", domestic representative {p.domestic_representative}"
            if p.domestic_representative
            else ""
        )
        + ("" if provider.declared else " (no profile declared)")
    )


def _table(providers: tuple[ProviderFacts, ...]) -> dict[str, DetailValue]:
    return {p.name: _describe(p) for p in providers}


def foreign_admission(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """No foreign (or unknown) operator is admitted above `max_class` (default O)."""
    name = "policy.foreign_admission"
    policy = facts.policy
    ceiling = DataClass.parse(param_str(params, "max_class", "O"))
    over = [p for p in policy.providers if p.foreign and p.admitted.max_class.rank > ceiling.rank]
    info = _table(policy.providers)
    if over:
        names = ", ".join(f"{p.name} ({p.profile.jurisdiction}, {_admitted(p)})" for p in over)
        return Evidence(
            collector=name,
            ok=False,
            summary=f"foreign operator(s) admitted above {ceiling.value} data: {names}",
            origin=policy.origin,
            details=info,
            advice=f"restrict {over[0].name} to O data: remove its cross-border basis or set "
            "stricter admission rules for S in the policy file",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"no foreign operator is admitted above {ceiling.value} data "
        f"({len(policy.providers)} provider(s) checked)",
        origin=policy.origin,
        details=info,
    )


def class_c(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """C data reaches only on-prem, Korean-operated providers under the organization's keys."""
    name = "policy.class_c"
    policy = facts.policy
    admitted = [p for p in policy.providers if p.admitted.max_class is DataClass.CLASSIFIED]
    bad = [
        p
        for p in admitted
        if p.profile.hosting != "on-prem"
        or p.profile.key_custody != "organization"
        or p.profile.jurisdiction != "KR"
    ]
    info = _table(policy.providers)
    if bad:
        return Evidence(
            collector=name,
            ok=False,
            summary="admitted for C but not on-prem, Korean and under the organization's keys: "
            + ", ".join(p.name for p in bad),
            origin=policy.origin,
            details=info,
            advice="tighten `admission.C` in the policy file to hosting [on-prem] and "
            "key_custody [organization]",
        )
    if not admitted:
        summary = "no provider is admitted for C: C-grade requests are blocked"
    else:
        summary = "C-grade data goes only to on-prem providers under the organization's keys: " + (
            ", ".join(p.name for p in admitted)
        )
    return Evidence(collector=name, ok=True, summary=summary, origin=policy.origin, details=info)


def cross_border(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """PIPA art. 28-8: every provider that takes data abroad declares its legal basis."""
    name = "policy.cross_border"
    policy = facts.policy
    abroad = [p for p in policy.providers if p.foreign or p.outside_korea]
    info = _table(policy.providers)
    if not abroad:
        return Evidence(
            collector=name,
            ok=True,
            applies=False,
            summary="every configured provider is operated and hosted in Korea: no transfer abroad",
            origin=policy.origin,
            details=info,
        )
    missing = [p for p in abroad if not p.profile.cross_border_basis]
    if missing:
        return Evidence(
            collector=name,
            ok=False,
            summary="no PIPA 28-8 basis declared for provider(s) operated or hosted abroad "
            "(or of unknown location): " + ", ".join(p.name for p in missing),
            origin=policy.origin,
            details=info,
            advice=f"declare `profile.cross_border_basis` for {missing[0].name} in sumun.yaml "
            "(consent, contract, certification or adequacy) — or remove it",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary="a cross-border basis is declared for every provider abroad: "
        + ", ".join(f"{p.name} ({p.profile.cross_border_basis})" for p in abroad),
        origin=policy.origin,
        details=info,
    )


def foreign_providers(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """AI Basic Act art. 36: each foreign operator in use has its representative recorded.

    A foreign operator is one whose declared jurisdiction is not KR (unknown counts as foreign).
    Each MUST record `profile.domestic_representative`: the appointed representative (name,
    contact), or "below-threshold" when the operator is under all three of the decree's
    thresholds. The duty to appoint is the operator's; the deployer records who it is.
    """
    name = "policy.foreign_providers"
    policy = facts.policy
    foreign = [p for p in policy.providers if p.foreign]
    if not foreign:
        return Evidence(
            collector=name,
            ok=True,
            applies=False,
            summary="no foreign AI operator is configured",
            origin=policy.origin,
        )
    info: dict[str, DetailValue] = {
        p.name: f"operator {p.profile.jurisdiction}; domestic representative "
        + (p.profile.domestic_representative or "NOT RECORDED")
        for p in foreign
    }
    missing = [p for p in foreign if not p.profile.domestic_representative]
    if missing:
        return Evidence(
            collector=name,
            ok=False,
            summary="no domestic representative (art. 36) recorded for foreign operator(s) "
            + ", ".join(f"{p.name} ({p.profile.jurisdiction})" for p in missing),
            origin=policy.origin,
            details=info,
            advice=f"under providers: - name: {missing[0].name} in sumun.yaml, add "
            '`profile: {domestic_representative: "NAME, CONTACT"}` — or '
            '"below-threshold" if the operator is under all three thresholds',
        )
    return Evidence(
        collector=name,
        ok=True,
        summary="domestic representative recorded for every foreign operator: "
        + ", ".join(f"{p.name} ({p.profile.domestic_representative})" for p in foreign),
        origin=policy.origin,
        details=info,
    )


def localisation(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """Data of class >= `for_class` is processed and stored in Korea (sector rules)."""
    name = "policy.localisation"
    policy = facts.policy
    floor = DataClass.parse(param_str(params, "for_class", "S"))
    outside = [
        p for p in policy.providers if p.outside_korea and p.admitted.max_class.rank >= floor.rank
    ]
    ledger = facts.ledger
    info = _table(policy.providers)
    info["ledger store"] = f"{ledger.store}: {ledger.location}"
    if outside:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"admitted for {floor.value} data but not hosted in Korea: "
            + ", ".join(p.name for p in outside),
            origin=policy.origin,
            details=info,
            advice="set `admission.S.hosting: [on-prem, kr-region]` in the policy file",
        )
    where = (
        "a local SQLite file in SUMUN_HOME"
        if ledger.store == "sqlite"
        else "PostgreSQL (its location is attested, not read)"
    )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{floor.value}-grade data goes only to providers hosted in Korea; the ledger "
        f"(prompts and answers, encrypted) is kept in {where}",
        origin=policy.origin,
        details=info,
    )


def certifications(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """Cloud providers admitted for `for_class` hold one of `any_of` (e.g. CSAP grades)."""
    name = "policy.certifications"
    policy = facts.policy
    floor = DataClass.parse(param_str(params, "for_class", "S"))
    wanted = param_list(params, "any_of", "CSAP-상,CSAP-중")
    cloud = [
        p
        for p in policy.providers
        if p.profile.hosting != "on-prem" and p.admitted.max_class.rank >= floor.rank
    ]
    info: dict[str, DetailValue] = {
        p.name: ", ".join(p.profile.certifications) or "none declared" for p in policy.providers
    }
    missing = [p for p in cloud if not set(wanted) & set(p.profile.certifications)]
    if missing:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"cloud provider(s) admitted for {floor.value} data without "
            f"{' or '.join(wanted)}: " + ", ".join(p.name for p in missing),
            origin=policy.origin,
            details=info,
            advice=f"declare the certification in `profile.certifications`, or require it: "
            f"`admission.S.certifications: [{wanted[0]}]` in the policy file",
        )
    summary = (
        f"every cloud provider admitted for {floor.value} data holds {' or '.join(wanted)}"
        if cloud
        else f"no cloud (off-premises) provider is admitted for {floor.value} data"
    )
    return Evidence(collector=name, ok=True, summary=summary, origin=policy.origin, details=info)


def _outside_actions(facts: Facts, types: tuple[str, ...]) -> dict[str, str]:
    """Per type: the action of the first PII rule that can apply to a provider hosted outside
    the organization (a KR region or abroad), else the default action."""
    rules = facts.policy.pii_rules
    out: dict[str, str] = {}
    for pii_type in types:
        rule = next((r for r in rules if pii_type in r.types and r.outside), None)
        out[pii_type] = (
            f"{rule.action} ({rule.id}; {rule.when})"
            if rule
            else f"{facts.policy.pii_default} (default)"
        )
    return out


def _broken(name: str, facts: Facts) -> Evidence | None:
    if facts.policy.error is None:
        return None
    return Evidence(
        collector=name,
        ok=None,
        summary=f"the policy file does not validate: {facts.policy.error}",
        origin=facts.policy.origin,
        advice="`sumun policy check` names the line to fix",
    )


def unique_ids(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """Unique identifiers (PIPA art. 24, 24-2) are detected and never leave in clear."""
    name = "policy.unique_ids"
    if (problem := _broken(name, facts)) is not None:
        return problem
    policy = facts.policy
    types = param_list(params, "types", "KR_RRN,KR_FRN,KR_PASSPORT,KR_DRIVER_LICENSE")
    not_floored = [t for t in types if t not in policy.unique_identifiers]
    actions = _outside_actions(facts, types)
    floor = ", ".join(sorted(policy.unique_identifiers)) or "none"
    info: dict[str, DetailValue] = {f"raise the class to {policy.floor_class}": floor}
    info.update({f"{t} to providers outside": a for t, a in actions.items()})
    sent_clear = [t for t, a in actions.items() if a.startswith("allow")]
    if sent_clear:
        return Evidence(
            collector=name,
            ok=False,
            summary="sent in clear to providers hosted outside the organization: "
            + ", ".join(sent_clear),
            origin=policy.origin,
            details=info,
            advice="add a PII rule with action pseudonymize, mask or block for "
            f"{sent_clear[0]} when hosting is kr-region or abroad",
        )
    if not_floored:
        return Evidence(
            collector=name,
            ok=False,
            summary="found as they are, these do not raise a request to "
            f"{policy.floor_class}: " + ", ".join(not_floored),
            origin=policy.origin,
            details=info,
            advice="add them to `classification.floor_types` in the policy file",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{', '.join(types)}: pseudonymized, masked or blocked before any provider "
        f"outside the organization; found as they are, they raise a request to "
        f"{policy.floor_class}; stored payloads are encrypted",
        origin=policy.origin,
        details=info,
    )


def pii_actions(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """AI-DLP: per-PII-type actions in force, and whether answers are scanned too."""
    name = "policy.pii_actions"
    if (problem := _broken(name, facts)) is not None:
        return problem
    policy = facts.policy
    info: dict[str, DetailValue] = {
        r.id: f"{r.action} {', '.join(r.types)} ({r.when})" for r in policy.pii_rules
    }
    info["default"] = policy.pii_default
    info["answers scanned"] = policy.output_scan
    acting = [r for r in policy.pii_rules if r.action != "allow"]
    if not acting and policy.pii_default == "allow":
        return Evidence(
            collector=name,
            ok=False,
            summary="no PII rule masks, pseudonymizes, blocks or reroutes anything",
            origin=policy.origin,
            details=info,
            advice="add PII rules to the policy file (`sumun policy explain` shows their effect)",
        )
    if not policy.output_scan:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{len(acting)} PII rule(s) act on requests, but answers are not scanned",
            origin=policy.origin,
            details=info,
            advice="set `output: {scan: true}` in the policy file",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{len(acting)} PII rule(s) transform or stop personal data before it leaves "
        f"(default: {policy.pii_default}); answers are scanned too",
        origin=policy.origin,
        details=info,
    )


def pseudonymization(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """Reversible pseudonymization as a safety measure (PIPA art. 29, decree art. 30).

    Not art. 28-2 pseudonymized processing: the answer is restored to the identified person.
    The pseudonym table is the "additional information" kept apart (art. 28-4), sealed under
    the tenant's key.
    """
    name = "policy.pseudonymization"
    if (problem := _broken(name, facts)) is not None:
        return problem
    policy = facts.policy
    used = [r for r in policy.pii_rules if r.action == "pseudonymize" and r.providers]
    if not used and policy.pii_default != "pseudonymize":
        written = [r.id for r in policy.pii_rules if r.action == "pseudonymize"]
        return Evidence(
            collector=name,
            ok=True,
            applies=False,
            summary="no data is pseudonymized: "
            + (
                f"rule(s) {', '.join(written)} match no configured provider"
                if written
                else "no PII rule pseudonymizes"
            ),
            origin=policy.origin,
        )
    days = policy.pseudonym_retention_days
    kept = (
        "dropped once the answer is restored"
        if days == 0
        else f"kept {days:g} days, sealed under the tenant's key, apart from the data "
        "(pseudonyms.db)"
    )
    info: dict[str, DetailValue] = {
        r.id: f"{', '.join(r.types)} for {', '.join(r.providers)}" for r in used
    }
    info["pseudonym tables (art. 28-4 additional information)"] = kept
    info["sealed tables stored now"] = (
        "no vault yet" if policy.pseudonym_tables is None else policy.pseudonym_tables
    )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{len(used)} rule(s) pseudonymize before a provider sees the data (a safety "
        f"measure, art. 29); pseudonym tables are {kept}",
        origin=f"{policy.origin}; gateway.pseudonym_retention_days",
        details=info,
    )


COLLECTORS = (
    Collector("policy.foreign_admission", foreign_admission, "admit_profile per provider"),
    Collector("policy.class_c", class_c, "providers admitted for C and their profiles"),
    Collector("policy.cross_border", cross_border, "profiles: operator, hosting, 28-8 basis"),
    Collector("policy.foreign_providers", foreign_providers, "profiles: domestic representatives"),
    Collector("policy.localisation", localisation, "admissions vs hosting; ledger location"),
    Collector("policy.certifications", certifications, "profiles: declared certifications"),
    Collector("policy.unique_ids", unique_ids, "class floor and PII rules for unique IDs"),
    Collector("policy.pii_actions", pii_actions, "the policy file's per-type PII rules"),
    Collector("policy.pseudonymization", pseudonymization, "pseudonymize rules, retention"),
)
