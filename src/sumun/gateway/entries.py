"""The ledger entries of an admitted request: what the pipeline records, built in one place.

Pure: typed stage results in, `EntryMeta` out (the pipeline does the appending). Clear metadata
only — who, what was decided and why, where it went, how it ended; the request and the answer
travel as the encrypted payload. `request-refused` entries live with the refusals
(`sumun.gateway.refusals`).
"""

from __future__ import annotations

from sumun.gateway.admission import Decision
from sumun.gateway.answer import AnswerFilter
from sumun.gateway.router import Attempt
from sumun.gateway.wire import ParsedCall
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.store.model import Principal

__all__ = ["admitted_entry", "cap_payload", "completed_entry"]


def admitted_entry(
    principal: Principal,
    parsed: ParsedCall,
    decision: Decision,
    *,
    endpoint: str,
    request_id: str,
    time_ms: int,
) -> EntryMeta:
    return EntryMeta(
        kind=EntryKind.REQUEST_ADMITTED,
        tenant=principal.tenant,
        time_ms=time_ms,
        decision=decision.action,
        rules=decision.rules,
        data_class=decision.data_class,
        request_id=request_id,
        attrs={
            "endpoint": endpoint,
            "model": parsed.model,
            "key_id": principal.key_id,
            "app": principal.app or "",
            "user": principal.user or "",
            "stream": str(parsed.stream).lower(),
            "pii_types": ",".join(decision.pii_types),
            "pii_actions": decision.pii_actions,
        },
    )


def completed_entry(
    principal: Principal,
    decision: Decision | None,
    *,
    status: int,
    outcome: str,
    admitted_seq: int,
    attempt: Attempt | None,
    tokens_in: int | None,
    tokens_out: int | None,
    latency_us: int,
    request_id: str,
    time_ms: int,
    answer: tuple[AnswerFilter, AnswerFilter] | None,
    payload_truncated_from: int | None,
) -> EntryMeta:
    return EntryMeta(
        kind=EntryKind.REQUEST_COMPLETED,
        tenant=principal.tenant,
        time_ms=time_ms,
        decision=decision.action if decision else None,
        rules=decision.rules if decision else (),
        provider=attempt.provider if attempt else None,
        data_class=decision.data_class if decision else None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_us=latency_us,
        request_id=request_id,
        attrs={
            "status": str(status),
            "outcome": outcome,
            "admitted_seq": str(admitted_seq),
            **({"upstream_model": attempt.model} if attempt else {}),
            **(_answer_attrs(*answer) if answer else {}),
            **(
                {"payload_truncated_from": str(payload_truncated_from)}
                if payload_truncated_from is not None
                else {}
            ),
        },
    )


def cap_payload(payload: bytes | None, size: int, limit: int) -> tuple[bytes | None, int | None]:
    """One cap for what the ledger keeps of an answer, streamed or whole: (kept, the full size
    when it was cut, else None). `size` is the answer's full size (a stream keeps only a prefix)."""
    if payload is None or size <= limit:
        return payload, None
    return payload[:limit], size


def _answer_attrs(scan: AnswerFilter, restore: AnswerFilter) -> dict[str, str]:
    attrs = {}
    hits = scan.hits()
    if hits:
        attrs["output_pii"] = ",".join(hits)
    restored = restore.restored()
    if restored:
        attrs["restored"] = str(restored)
    return attrs
