"""Every XKS call is one ledger entry: who in AWS asked, for what, and the answer.

    kind        xks
    tenant      sumun-xks                (the system tenant of XKS; `XKS_TENANT`)
    decision    the outcome: "ok" or the spec's errorName
    request_id  AWS's kmsRequestId       (correlates with CloudTrail)
    latency_us  time to answer
    rules       the secondary-authorization rule that decided, if any
    attrs       keystore, operation, key_id, awsPrincipalArn, kmsKeyArn, kmsOperation,
                kmsRequestId, kmsViaService, awsSourceVpc, awsSourceVpce, outcome,
                access_key_id, rule — each only when present

Never plaintext, ciphertext, AAD or key material: the entry has no payload at all. Strings
from AWS are recorded as AWS sent them (capped), since they are what an auditor correlates.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.ledger.service import Ledger
from sumun.xks.credentials import XKS_TENANT
from sumun.xks.model import XksCall

__all__ = ["LedgerAudit", "xks_entry"]

_MAX_ATTR = 2048  # AWS ARNs are at most 2048 characters


def _capped(value: str) -> str:
    return value if len(value) <= _MAX_ATTR else value[:_MAX_ATTR] + "…"


def xks_entry(call: XksCall, *, time_ms: int) -> EntryMeta:
    """The ledger entry for one answered XKS call (metadata only)."""
    meta = call.metadata
    named: dict[str, str | None] = {
        "keystore": call.keystore,
        "operation": call.operation,
        "key_id": call.key_id,
        "awsPrincipalArn": None if meta is None else meta.aws_principal_arn,
        "kmsKeyArn": None if meta is None else meta.kms_key_arn,
        "kmsOperation": None if meta is None else meta.kms_operation,
        "kmsRequestId": None if meta is None else meta.kms_request_id,
        "kmsViaService": None if meta is None else meta.kms_via_service,
        "awsSourceVpc": None if meta is None else meta.aws_source_vpc,
        "awsSourceVpce": None if meta is None else meta.aws_source_vpce,
        "outcome": call.outcome,
        "access_key_id": call.access_key_id,
        "rule": call.rule,
    }
    attrs = {k: _capped(str(v)) for k, v in call.extra.items() if k not in named}
    attrs.update({k: _capped(v) for k, v in named.items() if v is not None})
    return EntryMeta(
        kind=EntryKind.XKS,
        tenant=XKS_TENANT,
        time_ms=time_ms,
        decision=call.outcome,
        rules=() if call.rule is None else (call.rule,),
        latency_us=call.latency_us,
        request_id=None if meta is None else _capped(meta.kms_request_id),
        attrs=attrs,
    )


class LedgerAudit:
    """`XksAudit` on the ledger: a strict append per call, awaited without blocking the loop."""

    def __init__(self, ledger: Ledger, *, clock: Callable[[], float] = time.time) -> None:
        self._ledger = ledger
        self._clock = clock

    def __repr__(self) -> str:
        return "<LedgerAudit xks>"

    async def record(self, call: XksCall) -> int | None:
        entry = xks_entry(call, time_ms=int(self._clock() * 1000))
        return await self._ledger.append_async(entry)
