"""The oversight queue (AI Basic Act art. 34(4)): model calls of high-impact apps that no human
has reviewed yet, and the reviews already recorded.

What is reviewable is what `oversight.plan_review` accepts: a `request-admitted` entry (or its
`request-completed` entry) of an app the register marks high-impact. A call counts as reviewed
once an `oversight-review` entry names either of its two entries. One pass over the ledger's
clear metadata; no keys are needed (annotations stay encrypted).

Bounded: one call reads at most `scan` entries, the window [before - scan, before) (`before`
defaults to the ledger's size), in one streamed range read — a million-entry ledger is never
read whole for one view. A call counts as awaiting when no review of it is within the window.
Reviews come after their call, so a window ending at the newest entry sees every review of its
calls; a window ending at `before` does not see reviews recorded after `before`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sumun.comply.facts import Review
from sumun.comply.oversight import review_from_entry
from sumun.comply.register import Registration
from sumun.ledger.entry import EntryKind
from sumun.ledger.store.base import LedgerStore

__all__ = ["Awaiting", "OversightQueue", "oversight_queue"]

_ADMITTED_SEQ = re.compile(rb'"admitted_seq"\s*:\s*"?(\d{1,18})')


@dataclass(frozen=True, slots=True)
class Awaiting:
    """One call of a high-impact app not yet reviewed: its `request-admitted` entry."""

    seq: int
    tenant: str
    app: str
    time_ms: int
    data_class: str | None
    completed_seq: int | None  # its request-completed entry, once recorded


def _worth_parsing(raw: bytes, apps: tuple[bytes, ...], calls: Mapping[int, object]) -> bool:
    """False only for an entry that cannot matter, told from its bytes (parsing every entry
    of the window is most of the queue's time): a model call of no high-impact app, the
    completion of a call not in the window's queue (or naming none), every other kind but
    reviews."""
    if b"oversight-review" in raw:
        return True
    if b"request-completed" in raw:
        found = _ADMITTED_SEQ.search(raw)
        if found is not None and int(found.group(1)) in calls:
            return True
    if b"request-admitted" in raw:
        return any(app in raw for app in apps)
    return False


@dataclass(frozen=True, slots=True)
class OversightQueue:
    awaiting: tuple[Awaiting, ...]  # newest first, at most `limit`
    awaiting_total: int  # within the window
    reviews: tuple[Review, ...]  # newest first, within the window
    size: int  # the ledger's size when read
    scanned_from: int  # the window read: [scanned_from, scanned_to)
    scanned_to: int


def oversight_queue(
    store: LedgerStore,
    register: Sequence[Registration],
    *,
    sees: Callable[[str], bool],
    limit: int = 100,
    scan: int | None = None,
    before: int | None = None,
) -> OversightQueue:
    """The queue and the reviews of the tenants `sees` admits (the caller's scope), within the
    newest `scan` entries before `before` (`scan` None: every entry, as the CLI reads)."""
    size = store.size()
    end = size if before is None else max(0, min(before, size))
    start = 0 if scan is None else max(0, end - scan)
    high_impact = {r.subject for r in register if r.high_impact}
    calls: dict[int, Awaiting] = {}
    completed: dict[int, int] = {}  # admitted seq -> completed seq
    reviewed: set[int] = set()
    reviews: list[Review] = []
    apps = tuple(f'"{subject.partition("/")[2]}"'.encode() for subject in high_impact)
    for stored in store.entries(start, end) if end > start else ():
        if not _worth_parsing(stored.entry, apps, calls):
            continue
        try:
            entry = json.loads(stored.entry)
            kind, tenant = str(entry["kind"]), str(entry["tenant"])
            attrs = entry.get("attrs") or {}
        except (ValueError, KeyError, TypeError):
            continue  # `sumun ledger verify` reports a damaged entry; the queue skips it
        if not sees(tenant):
            continue
        if kind == EntryKind.REQUEST_ADMITTED.value:
            app = str(attrs.get("app") or "")
            if f"{tenant}/{app}" in high_impact:
                data_class = entry.get("data_class")
                calls[stored.seq] = Awaiting(
                    seq=stored.seq,
                    tenant=tenant,
                    app=app,
                    time_ms=int(entry.get("time_ms") or 0),
                    data_class=data_class if isinstance(data_class, str) else None,
                    completed_seq=None,
                )
        elif kind == EntryKind.REQUEST_COMPLETED.value:
            try:
                completed[int(attrs["admitted_seq"])] = stored.seq
            except (KeyError, TypeError, ValueError):
                continue
        elif kind == EntryKind.OVERSIGHT_REVIEW.value:
            review = review_from_entry(stored.seq, entry)
            if review is not None:
                reviews.append(review)
                reviewed.add(review.reviewed_seq)
    waiting = [
        Awaiting(
            seq=c.seq,
            tenant=c.tenant,
            app=c.app,
            time_ms=c.time_ms,
            data_class=c.data_class,
            completed_seq=completed.get(c.seq),
        )
        for c in calls.values()
        if c.seq not in reviewed and completed.get(c.seq) not in reviewed
    ]
    waiting.sort(key=lambda c: -c.seq)
    return OversightQueue(
        awaiting=tuple(waiting[:limit]),
        awaiting_total=len(waiting),
        reviews=tuple(sorted(reviews, key=lambda r: -r.seq)),
        size=size,
        scanned_from=start,
        scanned_to=end,
    )
