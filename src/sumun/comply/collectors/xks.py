"""Collectors over the AWS KMS External Key Store proxy (`sumun.xks`): cryptographic control of
data kept in a cloud — the keys are the organization's, every use is recorded, the cut works.

A deployment without an XKS keystore answers `applies=False` (the requirement is moot: no cloud
data is under Sumun's keys); an XKS table or ledger that could not be read answers `ok=None`.
"""

from __future__ import annotations

from sumun.comply.collectors.base import Collector, Params, ago, param_float, param_list, when
from sumun.comply.facts import Facts, XksDrill, XksKeyFact
from sumun.comply.model import DetailValue, Evidence
from sumun.comply.register import Registration

__all__ = ["COLLECTORS"]

_DAY = 86400.0
_BACKENDS = {
    "embedded": "embedded keystore (sealed by the custodians' master key)",
    "pkcs11": "PKCS#11 HSM",
    "openbao": "OpenBao transit",
}
_INVALID_STATE = "InvalidStateException"


def _moot(name: str, facts: Facts) -> Evidence | None:
    """`applies=False` without a keystore; `ok=None` when the XKS tables could not be read."""
    xks = facts.xks
    if xks.error is not None:
        return Evidence(
            collector=name,
            ok=None,
            summary=f"the XKS tables could not be read: {xks.error}",
            origin=xks.origin,
            advice="`sumun xks keystores list` shows why the XKS tables cannot be read",
        )
    if not xks.configured:
        listening = f"; xks.listen is {xks.listen} but no keystore exists" if xks.listen else ""
        return Evidence(
            collector=name,
            ok=True,
            applies=False,
            summary="no AWS KMS external key store is configured: no cloud data is under "
            f"Sumun's keys{listening}",
            origin=xks.origin,
        )
    return None


def _ledger_unusable(name: str, facts: Facts) -> Evidence | None:
    ledger = facts.ledger
    if ledger.error is not None:
        return Evidence(
            collector=name,
            ok=None,
            summary=f"the ledger could not be read: {ledger.error}",
            origin=ledger.origin,
            advice="`sumun ledger verify` names what is wrong with the ledger",
        )
    return None


def _key_line(key: XksKeyFact) -> str:
    return (
        f"keystore {key.keystore}, usage {key.usage}, "
        f"{key.state or 'NOT IN THE KEY REGISTRY'}, on {key.backend or '?'}"
    )


def _keys_unreadable(name: str, facts: Facts, info: dict[str, DetailValue]) -> Evidence | None:
    """No external key yet, or a key registry that cannot decide (unread, sealed)."""
    xks, keys = facts.xks, facts.keys
    if not keys.initialised or keys.error:
        return Evidence(
            collector=name,
            ok=None,
            summary="the key registry could not be read: "
            + (keys.error or "this SUMUN_HOME is not initialised"),
            origin=xks.origin,
            details=info,
            advice="`sumun status` names what is wrong with the key layer",
        )
    if not xks.keys:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{len(xks.keystores)} XKS keystore(s) but no external key: nothing in AWS "
            "is protected by a key Sumun holds",
            origin=xks.origin,
            details=info,
            advice=f"`sumun xks keys create {xks.keystores[0].name} KEY_ID --usage both`, then "
            "create the KMS key in AWS with that XksKeyId (docs/xks.md)",
        )
    if not keys.verified:
        return Evidence(
            collector=name,
            ok=None,
            summary=f"{len(xks.keys)} external key(s), but keys are sealed: their states and "
            "backends cannot be verified (run the report against a running Sumun, or pass "
            "--share)",
            origin=xks.origin,
            details=info,
            advice="`sumun comply report --share SHARE …` (or run it while `sumun serve` is "
            "unsealed)",
        )
    return None


def _keys_failing(
    name: str, facts: Facts, allowed: tuple[str, ...], info: dict[str, DetailValue]
) -> Evidence | None:
    """A key the registry does not know, a key on a backend not allowed, or none enabled."""
    xks = facts.xks
    missing = [k.key_id for k in xks.keys if k.state is None]
    elsewhere = [k for k in xks.keys if k.state is not None and k.backend not in allowed]
    if missing:
        summary = "external key(s) with no record in the key registry (AWS's calls on them fail): "
        summary += ", ".join(missing)
        advice = "restore the key registry from its backup; never recreate an id by hand"
    elif elsewhere:
        summary = "external key(s) on a backend not allowed here: "
        summary += ", ".join(f"{k.key_id} ({k.backend})" for k in elsewhere)
        summary += f"; expected: {' or '.join(allowed)}"
        advice = "create external keys on a deployment whose `keys.backend` is " + " or ".join(
            allowed
        )
    elif not any(k.state == "enabled" for k in xks.keys):
        summary = f"none of the {len(xks.keys)} external key(s) is enabled: AWS can use no key "
        summary += "of this keystore"
        advice = f"`sumun xks keys enable {xks.keys[0].key_id}` (if it was cut by mistake), or "
        advice += "create a new key"
    else:
        return None
    return Evidence(
        collector=name, ok=False, summary=summary, origin=xks.origin, details=info, advice=advice
    )


def keys_held(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """Every external key lives on a backend the organization holds, and some are enabled."""
    name = "xks.keys_held"
    if (problem := _moot(name, facts)) is not None:
        return problem
    xks = facts.xks
    allowed = param_list(params, "allowed", "embedded,pkcs11,openbao")
    info: dict[str, DetailValue] = {
        f"keystore {k.name}": f"URI prefix {k.uri_prefix or '(none)'}; "
        f"{k.active_credentials} active SigV4 credential(s), {k.revoked_credentials} revoked"
        for k in xks.keystores
    }
    info.update({f"key {k.key_id}": _key_line(k) for k in xks.keys})
    info["allowed backends"] = ", ".join(allowed)
    if (problem := _keys_unreadable(name, facts, info)) is not None:
        return problem
    if (problem := _keys_failing(name, facts, allowed, info)) is not None:
        return problem
    enabled = sum(1 for k in xks.keys if k.state == "enabled")
    held = ", ".join(_BACKENDS.get(b, b) for b in sorted({k.backend or "?" for k in xks.keys}))
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{len(xks.keys)} external key(s) held by the organization in the {held} "
        f"({enabled} enabled): AWS KMS must ask Sumun for every use, and never holds the key",
        origin=xks.origin,
        details=info,
    )


def _by_operation(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{outcome} ×{n:,}" for outcome, n in outcomes.items())


def uses_recorded(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    """XKS calls are ledger entries with AWS's requestMetadata, in a ledger that verifies."""
    name = "xks.uses_recorded"
    if (problem := _moot(name, facts)) is not None:
        return problem
    if (problem := _ledger_unusable(name, facts)) is not None:
        return problem
    ledger = facts.ledger
    calls = ledger.activity.xks
    origin = f"{ledger.origin}: `xks` entries"
    info: dict[str, DetailValue] = {
        "calls recorded": calls.calls,
        "with AWS requestMetadata": calls.with_metadata,
    }
    info.update({op: _by_operation(o) for op, o in calls.by_operation.items()})
    principals = len(calls.principals) + (1 if calls.principals_more else 0)
    info["distinct AWS principals"] = (
        f"{len(calls.principals)}+" if calls.principals_more else len(calls.principals)
    )
    shown = list(calls.principals)[:10]
    more = len(calls.principals) - len(shown)
    info["AWS principals"] = (", ".join(shown) or "none") + (f" … and {more} more" if more else "")
    info["kmsViaService"] = ", ".join(calls.via_services) or "none (direct KMS calls)"
    info["newest call"] = when(calls.last_ms / 1000) if calls.last_ms is not None else "never"
    if ledger.verified is False:
        return Evidence(
            collector=name,
            ok=False,
            summary="the ledger that records the XKS calls FAILED verification: the record of "
            "who used the keys cannot be trusted",
            origin=origin,
            details=info,
            advice="treat as an incident: `sumun ledger verify`",
        )
    if ledger.verified is None:
        return Evidence(
            collector=name,
            ok=None,
            summary="the ledger could not be verified, so the record of XKS calls is unproven",
            origin=origin,
            details=info,
            advice="`sumun ledger verify`",
        )
    if calls.calls == 0:
        return Evidence(
            collector=name,
            ok=None,
            summary="no XKS call is recorded yet: AWS has not used the keys (connect the "
            "keystore in AWS KMS and make a call)",
            origin=origin,
            details=info,
            advice="see docs/xks.md; `sumun ledger tail --kind xks` shows the calls",
        )
    newest = ago(facts.now, calls.last_ms / 1000) if calls.last_ms is not None else "never"
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{calls.calls:,} XKS call(s) recorded in the verified ledger, "
        f"{calls.with_metadata:,} with AWS's requestMetadata (principal, key ARN, "
        f"kmsRequestId for CloudTrail), from {principals} AWS principal(s); newest {newest}",
        origin=origin,
        details=info,
    )


def _drill_line(drill: XksDrill) -> str:
    disabled = drill.disabled_ms / 1000
    parts = [f"disabled {when(disabled)} by {drill.disabled_by or '?'} (#{drill.disabled_seq})"]
    if drill.refusals:
        parts.append(f"{drill.refusals:,} AWS call(s) refused {_INVALID_STATE}")
    else:
        parts.append("no AWS call while disabled")
    if drill.enabled_ms is not None:
        took = (drill.enabled_ms - drill.disabled_ms) / 1000
        parts.append(
            f"re-enabled {when(drill.enabled_ms / 1000)} by {drill.enabled_by or '?'} "
            f"(#{drill.enabled_seq}, after {took:,.0f} s)"
        )
    else:
        parts.append("NOT re-enabled: still cut")
    return "; ".join(parts)


def kill_switch_drilled(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    """A disable→enable drill on an external key, recently, with the refusals it caused."""
    name = "xks.kill_switch_drilled"
    if (problem := _moot(name, facts)) is not None:
        return problem
    if (problem := _ledger_unusable(name, facts)) is not None:
        return problem
    max_days = param_float(params, "max_age_days", 90)
    drills = facts.ledger.activity.xks.drills
    origin = f"{facts.ledger.origin}: `key-event` disable/enable of external keys, `xks` entries"
    info: dict[str, DetailValue] = {
        f"{d.key_id} #{d.disabled_seq}": _drill_line(d) for d in drills[-10:]
    }
    done = [d for d in drills if d.complete]
    target = next(
        (k.key_id for k in facts.xks.keys if k.state == "enabled"),
        facts.xks.keys[0].key_id if facts.xks.keys else "KEY_ID",
    )
    how = (
        f"drill it: `sumun xks keys disable {target}`, have AWS try a Decrypt (refused "
        f"{_INVALID_STATE} within 1 s), then `sumun xks keys enable {target}`"
    )
    if not done:
        still = [d for d in drills if not d.complete]
        summary = "the XKS kill switch has never been drilled (no disable→enable of an external "
        summary += "key in the ledger)"
        if still:
            summary += "; cut now, not re-enabled: " + ", ".join(d.key_id for d in still)
        return Evidence(
            collector=name, ok=False, summary=summary, origin=origin, details=info, advice=how
        )
    last = done[-1]
    assert last.enabled_ms is not None  # noqa: S101 - complete drills have it
    at = last.enabled_ms / 1000
    info["last drill"] = f"{last.key_id}, {ago(facts.now, at)}"
    info["drills"] = len(done)
    if facts.now - at > max_days * _DAY:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"the XKS kill switch was last drilled {ago(facts.now, at)} (more than "
            f"{max_days:g} days)",
            origin=origin,
            details=info,
            advice=how,
        )
    refused = (
        f"{last.refusals:,} AWS call(s) refused {_INVALID_STATE} meanwhile"
        if last.refusals
        else "no AWS call came while it was disabled"
    )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"kill switch drilled on {last.key_id} {ago(facts.now, at)}: disabled "
        f"{when(last.disabled_ms / 1000)}, {refused}, re-enabled {when(at)}",
        origin=origin,
        details=info,
    )


COLLECTORS = (
    Collector(
        "xks.keys_held", keys_held, "XKS keystores and external keys; their registry records"
    ),
    Collector("xks.uses_recorded", uses_recorded, "ledger `xks` entries, ledger verification"),
    Collector(
        "xks.kill_switch_drilled",
        kill_switch_drilled,
        "ledger key-events (disable/enable of external keys) and refused xks calls",
    ),
)
