"""Human oversight (AI Basic Act art. 34(4)): an auditor reviews a high-impact app's entries.

A review is a ledger entry of kind `oversight-review`, so it is as tamper-evident as what it
reviews: clear metadata says who reviewed which entry, whether it is flagged and what the person
decided; the free-text annotation is the payload, encrypted under the tenant's key like every
other payload (crypto-shredding the tenant erases it too, and every proof still verifies).

    attrs: reviewer (auditor key id), reviewer_user, reviewed_seq, app, flag ("true"/"false"),
           decision (confirm | override | escalate | none)

Who may review: a virtual key with role `auditor` of the same tenant, authenticated against the
directory (`Directory.authenticate`) — the same proof the gateway accepts. What may be reviewed:
`request-admitted` / `request-completed` entries of apps registered as high-impact.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sumun.comply.facts import Review
from sumun.comply.register import Registration
from sumun.errors import ForbiddenError, UsageError
from sumun.ledger.entry import EntryKind
from sumun.ledger.store.base import LedgerStore
from sumun.store.model import Permission, Principal

__all__ = ["DECISIONS", "Decision", "ReviewPlan", "plan_review", "review_from_entry"]

Decision = Literal["confirm", "override", "escalate", "none"]
DECISIONS: tuple[Decision, ...] = ("confirm", "override", "escalate", "none")
_MAX_ANNOTATION = 20_000


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    """A checked review, ready to append: `body` is the ledger append request."""

    tenant: str
    app: str
    reviewed_seq: int
    body: dict[str, Any]


def review_from_entry(seq: int, entry: dict[str, Any]) -> Review | None:
    """The review an `oversight-review` entry records (None for other kinds or bad attrs)."""
    if entry.get("kind") != EntryKind.OVERSIGHT_REVIEW.value:
        return None
    attrs = entry.get("attrs") or {}
    try:
        reviewed = int(attrs["reviewed_seq"])
    except (KeyError, TypeError, ValueError):
        return None
    return Review(
        seq=seq,
        tenant=str(entry.get("tenant")),
        app=str(attrs.get("app", "")),
        reviewed_seq=reviewed,
        reviewer=str(attrs.get("reviewer", "")),
        reviewer_user=str(attrs.get("reviewer_user", "")),
        flag=attrs.get("flag") == "true",
        decision=str(attrs.get("decision", "none")),
        time_ms=int(entry.get("time_ms") or 0),
        annotated=entry.get("payload") is not None,
    )


def _entry(store: LedgerStore, seq: int) -> dict[str, Any]:
    size = store.size()
    if not 0 <= seq < size:
        raise UsageError(f"no ledger entry {seq}: the ledger has {size} entries")
    stored = next(iter(store.entries(seq, seq + 1)))
    try:
        obj = json.loads(stored.entry)
    except ValueError as exc:
        raise UsageError(f"ledger entry {seq} does not parse; run `sumun ledger verify`") from exc
    if not isinstance(obj, dict):
        raise UsageError(f"ledger entry {seq} is not an entry; run `sumun ledger verify`")
    return obj


def _app_of(store: LedgerStore, seq: int, entry: dict[str, Any]) -> str:
    kind = entry.get("kind")
    attrs = entry.get("attrs") or {}
    if kind == EntryKind.REQUEST_ADMITTED.value:
        return str(attrs.get("app") or "")
    if kind == EntryKind.REQUEST_COMPLETED.value:
        try:
            admitted = int(attrs["admitted_seq"])
        except (KeyError, TypeError, ValueError):
            return ""
        first = _entry(store, admitted)
        if first.get("kind") != EntryKind.REQUEST_ADMITTED.value:
            return ""
        return str((first.get("attrs") or {}).get("app") or "")
    raise UsageError(
        f"ledger entry {seq} is a {kind} entry; oversight reviews are of model calls "
        "(request-admitted or request-completed entries)"
    )


def plan_review(
    store: LedgerStore,
    register: Sequence[Registration],
    principal: Principal,
    seq: int,
    *,
    flag: bool,
    decision: Decision,
    annotation: str | None,
) -> ReviewPlan:
    """Check that `principal` may review entry `seq`, and build the review's append request.

    Raises ForbiddenError (not an auditor, or another tenant's entry) or UsageError (no such
    entry, not a model call, the app is not registered as high-impact, a bad annotation).
    """
    principal.require_permission(Permission.REVIEW)
    if decision not in DECISIONS:
        raise UsageError(f"decision must be one of: {', '.join(DECISIONS)}")
    if annotation is not None and not 0 < len(annotation) <= _MAX_ANNOTATION:
        raise UsageError(f"an annotation must be 1-{_MAX_ANNOTATION} characters")
    if not flag and decision == "none" and annotation is None:
        raise UsageError("a review needs --flag, --annotate or a --decision")
    entry = _entry(store, seq)
    tenant = str(entry.get("tenant"))
    if tenant != principal.tenant:
        raise ForbiddenError(
            f"entry {seq} belongs to tenant {tenant!r}; this auditor key is for "
            f"{principal.tenant!r}"
        )
    app = _app_of(store, seq, entry)
    subject = f"{tenant}/{app}"
    registered = next((r for r in register if r.subject == subject), None)
    if registered is None or not registered.high_impact:
        state = "not in the register" if registered is None else "not registered as high-impact"
        raise UsageError(
            f"entry {seq} is a call of {subject}, which is {state}; art. 34(4) oversight "
            "reviews are for high-impact apps",
            advice=f"register it: `sumun comply register {subject} --high-impact ask`",
        )
    attrs = {
        "reviewer": principal.key_id,
        "reviewer_user": principal.user or "",
        "reviewed_seq": str(seq),
        "app": app,
        "flag": "true" if flag else "false",
        "decision": decision,
    }
    body: dict[str, Any] = {
        "tenant": tenant,
        "kind": EntryKind.OVERSIGHT_REVIEW.value,
        "attrs": attrs,
    }
    if annotation is not None:
        body["payload_b64"] = base64.b64encode(annotation.encode("utf-8")).decode()
    return ReviewPlan(tenant, app, seq, body)
