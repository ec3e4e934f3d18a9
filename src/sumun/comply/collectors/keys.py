"""Collectors over the key layer: custodian quorum, backend, suite, rotation, tenant keys."""

from __future__ import annotations

from sumun.comply.collectors.base import (
    Collector,
    Params,
    ago,
    param_float,
    param_list,
    param_str,
    when,
)
from sumun.comply.facts import Facts, KeyFacts
from sumun.comply.model import Evidence
from sumun.comply.register import Registration
from sumun.keys.model import KeyRecord, KeyState

__all__ = ["COLLECTORS"]

_DAY = 86400.0
_SEALED = (
    "keys are sealed: the key registry cannot be verified (run the report against a running "
    "Sumun, or pass --share)"
)
# What to do about _SEALED: read the registry unsealed.
_UNSEAL = "`sumun comply report --share SHARE …` (or run it while `sumun serve` is unsealed)"


def _not_initialised(name: str, keys: KeyFacts) -> Evidence | None:
    if not keys.initialised:
        return Evidence(
            collector=name,
            ok=None,
            summary="this SUMUN_HOME is not initialised",
            origin=keys.origin,
            advice="run `sumun init`",
        )
    if keys.error:
        return Evidence(
            collector=name,
            ok=None,
            summary=f"key status unreadable: {keys.error}",
            origin=keys.origin,
            advice="`sumun status` names what is wrong with the key layer",
        )
    return None


def _live(keys: KeyFacts) -> list[KeyRecord]:
    return [k for k in keys.keys if k.state is not KeyState.DESTROYED]


def quorum(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "keys.quorum"
    keys = facts.keys
    if (problem := _not_initialised(name, keys)) is not None:
        return problem
    min_k = int(param_float(params, "min_threshold", 2))
    min_n = int(param_float(params, "min_custodians", 3))
    info = {"method": keys.method, "threshold": keys.threshold, "custodians": keys.custodians}
    if keys.method != "shamir":
        return Evidence(
            collector=name,
            ok=False,
            summary="the master key is sealed by one operator's passphrase: no custodian quorum",
            origin=f"{keys.origin} (home.json)",
            details=info,
            advice="re-initialise with custodian shares: `sumun init --custodians 5 --threshold 3`",
        )
    k, n = keys.threshold or 1, keys.custodians or 1
    ok = k >= min_k and n >= min_n
    return Evidence(
        collector=name,
        ok=ok,
        summary=f"master key split {k}-of-{n} among custodians (Shamir)"
        + ("" if ok else f"; at least {min_k}-of-{min_n} expected"),
        origin=f"{keys.origin} (home.json)",
        details=info,
        advice=None
        if ok
        else f"re-initialise with --threshold >= {min_k}, --custodians >= {min_n}",
    )


def backend(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "keys.backend"
    keys = facts.keys
    if (problem := _not_initialised(name, keys)) is not None:
        return problem
    allowed = param_list(params, "allowed", "pkcs11,openbao")
    labels = {"embedded": "embedded keystore file", "pkcs11": "PKCS#11 HSM", "openbao": "OpenBao"}
    shown = labels.get(keys.backend or "", str(keys.backend))
    info = {"backend": keys.backend, "allowed": ", ".join(allowed), "reachable": keys.backend_ok}
    if keys.backend not in allowed:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"tenant keys (KEKs) live in the {shown}; expected: {' or '.join(allowed)}",
            origin=keys.origin,
            details=info,
            advice="initialise a deployment with `keys.backend: pkcs11` (HSM) or `openbao`",
        )
    if keys.backend_ok is False:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{shown} is configured but unreachable: {keys.backend_error}",
            origin=keys.origin,
            details=info,
            advice=f"make the {shown} key backend reachable, then `sumun status`",
        )
    checked = "" if keys.backend_ok else " (reachability not checked while sealed)"
    return Evidence(
        collector=name,
        ok=True,
        summary=f"tenant keys (KEKs) are held in the {shown}; they never leave it{checked}",
        origin=keys.origin,
        details=info,
    )


def suite(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """The deployment suite, every live key's suite, and the suites found in stored payloads."""
    name = "keys.suite"
    keys = facts.keys
    if (problem := _not_initialised(name, keys)) is not None:
        return problem
    required = param_str(params, "require", "aria-256-gcm")
    note = param_str(params, "note", "")
    stored = facts.ledger.activity.payload_suites
    other_payloads = {s: n for s, n in stored.items() if s != required}
    info: dict[str, str | int | float | bool | None] = {
        "deployment suite": keys.suite,
        "required": required,
        "payload suites": ", ".join(f"{s} ×{n}" for s, n in stored.items()) or "no payloads",
    }
    if note:
        info["note"] = note
    origin = f"{keys.origin}; envelope headers of {sum(stored.values()):,} ledger payloads"
    problems = []
    if keys.suite != required:
        problems.append(f"the deployment encrypts with {keys.suite}")
    if other_payloads:
        problems.append(
            "stored payloads sealed with "
            + ", ".join(f"{s} ({n:,})" for s, n in other_payloads.items())
        )
    if keys.verified:
        odd = [k.key_id for k in _live(keys) if k.suite.value != required]
        info["keys"] = ", ".join(f"{k.key_id}:{k.suite.value}" for k in _live(keys)) or "none"
        if odd:
            problems.append("keys on another suite: " + ", ".join(odd))
    if problems:
        return Evidence(
            collector=name,
            ok=False,
            summary="; ".join(problems)
            + f" — {required} expected"
            + (f" ({note})" if note else ""),
            origin=origin,
            details=info,
            advice=f"initialise the deployment with `sumun init --suite {required}`",
        )
    if not keys.verified:
        return Evidence(
            collector=name,
            ok=None,
            summary=f"deployment suite is {required}, but " + _SEALED,
            origin=origin,
            details=info,
            advice=_UNSEAL,
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"every key and every stored payload uses {required}",
        origin=origin,
        details=info,
    )


def rotation(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "keys.rotation"
    keys = facts.keys
    if (problem := _not_initialised(name, keys)) is not None:
        return problem
    if not keys.verified:
        return Evidence(
            collector=name, ok=None, summary=_SEALED, origin=keys.origin, advice=_UNSEAL
        )
    max_days = param_float(params, "max_age_days", 365)
    enabled = [k for k in keys.keys if k.state is KeyState.ENABLED]
    ages: dict[str, str | int | float | bool | None] = {}
    stale = []
    for key in enabled:
        primary = key.version(key.primary)
        created = primary.created_at if primary else key.created_at
        ages[key.key_id] = f"v{key.primary}, {ago(facts.now, created)}"
        if facts.now - created > max_days * _DAY:
            stale.append(key.key_id)
    if not enabled:
        return Evidence(
            collector=name, ok=True, summary="no enabled keys to rotate", origin=keys.origin
        )
    if stale:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{len(stale)} key(s) not rotated for over {max_days:g} days: "
            + ", ".join(stale),
            origin=keys.origin,
            details=ages,
            advice=f"`sumun keys rotate {stale[0]}` (old versions stay decrypt-only)",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"every enabled key's primary version is under {max_days:g} days old "
        f"({len(enabled)} keys)",
        origin=keys.origin,
        details=ages,
    )


def tenant_keys(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """Each tenant's data under its own KEK; stored payloads are envelopes, not plaintext."""
    name = "keys.tenant_keys"
    keys = facts.keys
    if (problem := _not_initialised(name, keys)) is not None:
        return problem
    activity = facts.ledger.activity
    origin = f"{keys.origin}; {facts.directory.origin}; ledger payload headers"
    if activity.payload_not_envelope:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{activity.payload_not_envelope:,} stored payload(s) are not encrypted "
            "envelopes",
            origin=origin,
            advice="run `sumun ledger verify` and investigate how they were written",
        )
    if not keys.verified:
        return Evidence(collector=name, ok=None, summary=_SEALED, origin=origin, advice=_UNSEAL)
    by_id = {k.key_id: k for k in keys.keys}
    states: dict[str, str | int | float | bool | None] = {}
    for tenant in facts.directory.tenants:
        record = by_id.get(tenant.name)
        states[tenant.name] = (
            "no key yet (created with its first request)"
            if record is None
            else f"{record.state.value}, v{record.primary}, {record.suite.value}"
        )
    encrypted = sum(activity.payload_suites.values())
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{len(facts.directory.tenants)} tenant(s), each under its own key; "
        f"{encrypted:,} stored payload(s), all encrypted envelopes",
        origin=origin,
        details=states,
    )


def destruction(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """Crypto-shredding: destroyed keys, and scheduled destructions that are overdue."""
    name = "keys.destruction"
    keys = facts.keys
    if (problem := _not_initialised(name, keys)) is not None:
        return problem
    if not keys.verified:
        return Evidence(
            collector=name, ok=None, summary=_SEALED, origin=keys.origin, advice=_UNSEAL
        )
    destroyed = [k for k in keys.keys if k.state is KeyState.DESTROYED]
    pending = [k for k in keys.keys if k.state is KeyState.PENDING_DESTRUCTION]
    overdue = [k for k in pending if k.destroy_after is not None and k.destroy_after < facts.now]
    info: dict[str, str | int | float | bool | None] = {
        k.key_id: f"destroyed {when(k.updated_at)}" for k in destroyed
    }
    info.update({k.key_id: f"destruction due {when(k.destroy_after)}" for k in pending})
    if overdue:
        return Evidence(
            collector=name,
            ok=False,
            summary="scheduled destruction overdue: " + ", ".join(k.key_id for k in overdue),
            origin=keys.origin,
            details=info,
            advice="unseal Sumun (destruction runs at unseal) or `sumun keys destroy KEY --now`",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{len(destroyed)} key(s) crypto-shredded, {len(pending)} scheduled; none overdue",
        origin=keys.origin,
        details=info,
    )


COLLECTORS = (
    Collector("keys.quorum", quorum, "home.json: how the master key is sealed (k-of-n)"),
    Collector("keys.backend", backend, "key status: where KEKs live and whether it answers"),
    Collector("keys.suite", suite, "deployment suite, every key's suite, payload headers"),
    Collector("keys.rotation", rotation, "key registry: age of each primary key version"),
    Collector("keys.tenant_keys", tenant_keys, "tenants vs their KEKs; payload envelopes"),
    Collector("keys.destruction", destruction, "key registry: destroyed / scheduled keys"),
)
