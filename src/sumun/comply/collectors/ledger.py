"""Collectors over the ledger: integrity, checkpoint freshness, durability, signatures, records."""

from __future__ import annotations

from sumun.comply.collectors.base import Collector, Params, ago, param_float, param_str
from sumun.comply.facts import Facts, LedgerFacts
from sumun.comply.model import DetailValue, Evidence
from sumun.comply.register import Registration

__all__ = ["COLLECTORS"]


def _unreadable(name: str, ledger: LedgerFacts) -> Evidence | None:
    if ledger.error is None:
        return None
    return Evidence(
        collector=name,
        ok=None,
        summary=f"the ledger could not be read: {ledger.error}",
        origin=ledger.origin,
        advice="`sumun ledger verify` names what is wrong with the ledger",
    )


def integrity(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    name = "ledger.integrity"
    ledger = facts.ledger
    if (problem := _unreadable(name, ledger)) is not None:
        return problem
    info = {"entries": ledger.size, "signed checkpoints": ledger.checkpoints}
    if ledger.verified is False:
        where = (
            "" if ledger.first_bad_seq is None else f" (first bad entry: #{ledger.first_bad_seq})"
        )
        return Evidence(
            collector=name,
            ok=False,
            summary=f"ledger verification FAILED{where}: {ledger.verify_error}",
            origin=ledger.origin,
            details={**info, "first bad seq": ledger.first_bad_seq},
            advice="treat as an incident: `sumun ledger verify`, compare with exported tiles "
            "and checkpoints held by others",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"all {ledger.size:,} entries re-hashed to the stored root; "
        f"{ledger.checkpoints} signed checkpoint(s) verify",
        origin=ledger.origin,
        details={**info, "payloads": ledger.payloads},
    )


def checkpoint(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "ledger.checkpoint"
    ledger = facts.ledger
    if (problem := _unreadable(name, ledger)) is not None:
        return problem
    max_hours = param_float(params, "max_age_hours", 24)
    if ledger.size == 0:
        return Evidence(
            collector=name,
            ok=True,
            summary="the ledger is empty: nothing to sign yet",
            origin=ledger.origin,
        )
    if ledger.latest_checkpoint_ms is None or ledger.latest_checkpoint_size is None:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{ledger.size:,} entries, but no signed checkpoint",
            origin=ledger.origin,
            advice="`sumun ledger checkpoint` (a running Sumun signs one every 10 s)",
        )
    signed_at = ledger.latest_checkpoint_ms / 1000
    unsigned = ledger.size - ledger.latest_checkpoint_size
    info: dict[str, DetailValue] = {
        "latest checkpoint size": ledger.latest_checkpoint_size,
        "signed": ago(facts.now, signed_at),
        "entries after it": unsigned,
    }
    stale = unsigned > 0 and facts.now - signed_at > max_hours * 3600
    if stale:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{unsigned:,} entries newer than the latest checkpoint, signed "
            f"{ago(facts.now, signed_at)} (more than {max_hours:g} h)",
            origin=ledger.origin,
            details=info,
            advice="`sumun ledger checkpoint`, or keep `sumun serve` running (it signs every 10 s)",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"latest signed checkpoint covers {ledger.latest_checkpoint_size:,} of "
        f"{ledger.size:,} entries, signed {ago(facts.now, signed_at)}",
        origin=ledger.origin,
        details=info,
    )


def durability(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "ledger.durability"
    ledger = facts.ledger
    required = param_str(params, "require", "strict")
    origin = f"configuration ({facts.config_file or 'defaults'}): ledger.durability"
    info = {"durability": ledger.durability, "store": ledger.store, "location": ledger.location}
    if ledger.durability != required:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"ledger durability is {ledger.durability}: a crash may lose up to "
            f"{ledger.batch_delay_ms} ms of acknowledged entries",
            origin=origin,
            details=info,
            advice="set `ledger: {durability: strict}` in sumun.yaml",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"every entry is durable ({ledger.store}, {ledger.durability}) before the call "
        "goes upstream",
        origin=origin,
        details=info,
    )


def signing(facts: Facts, params: Params, _subject: Registration | None) -> Evidence:
    name = "ledger.signing"
    ledger = facts.ledger
    required = param_str(params, "require", "ecdsa-p256")
    origin = f"ledger verifier keys ({facts.home}/ledger/signing.json)"
    info = {"algorithms": ", ".join(ledger.signing_algs) or "none yet"}
    if not ledger.signing_algs:
        return Evidence(
            collector=name,
            ok=None,
            summary="no checkpoint has been signed yet, so no signing key exists",
            origin=origin,
            advice="`sumun ledger checkpoint`",
        )
    if required not in ledger.signing_algs:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"checkpoints are signed with {info['algorithms']}; {required} expected",
            origin=origin,
            details=info,
            advice="KCMVP deployments (`--suite aria-256-gcm`) add an ECDSA P-256 signature",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"checkpoints are signed with {info['algorithms']}",
        origin=origin,
        details=info,
    )


def encrypted_payloads(facts: Facts, _params: Params, _subject: Registration | None) -> Evidence:
    name = "ledger.encrypted_payloads"
    ledger = facts.ledger
    if (problem := _unreadable(name, ledger)) is not None:
        return problem
    activity = ledger.activity
    count = sum(activity.payload_suites.values())
    suites = ", ".join(f"{s} ×{n:,}" for s, n in activity.payload_suites.items()) or "none"
    if activity.payload_not_envelope:
        return Evidence(
            collector=name,
            ok=False,
            summary=f"{activity.payload_not_envelope:,} stored payload(s) are not encrypted",
            origin=f"{ledger.origin}: payload headers",
            details={"encrypted": count, "suites": suites},
            advice="treat as an incident: `sumun ledger verify`, and find what wrote payloads "
            "outside the gateway",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"prompts, answers and logs are stored only as encrypted envelopes "
        f"({count:,} payloads: {suites}); metadata in the clear carries no content",
        origin=f"{ledger.origin}: payload headers",
        details={"encrypted": count, "suites": suites},
    )


def app_records(facts: Facts, _params: Params, subject: Registration | None) -> Evidence:
    """The app's calls are kept as verifiable records (art. 34(5) documents as evidence)."""
    name = "ledger.app_records"
    ledger = facts.ledger
    if (problem := _unreadable(name, ledger)) is not None:
        return problem
    if subject is None:
        raise ValueError("ledger.app_records is assessed per app")
    seen = ledger.activity.apps.get(subject.subject)
    calls = seen.requests if seen else 0
    reviews = sum(
        1 for r in ledger.activity.reviews if r.app == subject.app and r.tenant == subject.tenant
    )
    info = {"calls recorded": calls, "oversight reviews": reviews}
    if ledger.verified is not True:
        return Evidence(
            collector=name,
            ok=False if ledger.verified is False else None,
            summary="the ledger that keeps this app's records does not verify",
            origin=ledger.origin,
            details=info,
            advice="`sumun ledger verify` — the app's records are only evidence once it passes",
        )
    return Evidence(
        collector=name,
        ok=True,
        summary=f"{calls:,} call(s) of {subject.subject} and {reviews} review(s) are kept in "
        "the verified, signed ledger (exportable as tlog-tiles)",
        origin=ledger.origin,
        details=info,
    )


COLLECTORS = (
    Collector("ledger.integrity", integrity, "fsck: every entry, node and signed checkpoint"),
    Collector("ledger.checkpoint", checkpoint, "latest signed checkpoint vs the tree size"),
    Collector("ledger.durability", durability, "configuration: strict or batched appends"),
    Collector("ledger.signing", signing, "verifier keys: checkpoint signature algorithms"),
    Collector("ledger.encrypted_payloads", encrypted_payloads, "stored payloads' envelope headers"),
    Collector("ledger.app_records", app_records, "the app's calls in the verified ledger", True),
)
