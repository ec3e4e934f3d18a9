"""Human oversight over the admin API (AI Basic Act art. 34(4)): the queue of high-impact model
calls not yet reviewed, the reviews done, and recording a review.

The queue is `comply.queue.oversight_queue` over the caller's tenants. It reads at most `scan`
entries back from the newest (or from `before`) and says which window it read
(`scanned_from`, `scanned_to`, `complete`), as the ledger search does: a million-entry ledger
is never read whole for one view. A call counts as awaiting when no review of it is within the
window; reviews always come after their call, so a window that ends at the newest entry misses
none of its calls' reviews, while a page read with `before` does not see reviews recorded after
`before`.

A review is `comply.oversight.plan_review`'s rule — an auditor key of the entry's own tenant —
and is appended as an `oversight-review` entry naming the reviewer and the actor
(`<key id>@admin-api`), as `sumun comply review` does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import writable
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery, QueryModel
from sumun.admin.http.operation import Call, Operation
from sumun.comply.oversight import plan_review
from sumun.comply.queue import oversight_queue
from sumun.comply.register import Register
from sumun.ledger.wire import parse_append
from sumun.store.control import documents_for
from sumun.store.model import Permission

__all__ = ["OPERATIONS", "ReviewBody", "ReviewList", "ReviewQuery", "Reviewed"]


class AwaitingCall(BaseModel):
    seq: int = Field(description="its request-admitted entry: the seq to review")
    tenant: str
    app: str
    time_ms: int
    data_class: str | None
    completed_seq: int | None


class DoneReview(BaseModel):
    seq: int = Field(description="the oversight-review entry")
    reviewed_seq: int
    tenant: str
    app: str
    reviewer: str
    reviewer_user: str
    flag: bool
    outcome: str
    time_ms: int
    annotated: bool = Field(description="a note is attached, encrypted under the tenant's key")


class ReviewList(BaseModel):
    awaiting: list[AwaitingCall] = Field(description="newest first, at most 100")
    awaiting_total: int = Field(description="calls awaiting review within the window read")
    reviews: list[DoneReview] = Field(description="the reviews within the window read")
    size: int = Field(description="the ledger's size now")
    scanned_from: int = Field(description="the oldest seq read")
    scanned_to: int = Field(description="one past the newest seq read")
    complete: bool = Field(
        description="true: the window reached the ledger's first entry; else page on with "
        "`before` = `scanned_from`"
    )


class ReviewQuery(QueryModel):
    scan: int = Field(default=10_000, ge=1, le=100_000, description="read at most this many")
    before: int | None = Field(default=None, ge=0, description="only entries with seq < before")


class ReviewBody(BodyModel):
    seq: int = Field(ge=0, description="the ledger entry reviewed (a model call)")
    outcome: Literal["confirm", "override", "escalate", "none"]
    flag: bool = False
    note: str | None = Field(
        default=None, min_length=1, max_length=20_000, description="encrypted in the ledger"
    )


class Reviewed(BaseModel):
    ledger_seq: int = Field(description="the new oversight-review entry")
    reviewed_seq: int
    app: str
    reviewer: str
    actor: str
    outcome: str
    flag: bool
    annotated: bool


def list_reviews(ctx: AdminContext, call: Call[ReviewQuery, NoBody]) -> ReviewList:
    caller = call.who
    register = Register(documents_for(ctx.settings)).load()
    queue = oversight_queue(
        ctx.ledger.store,
        register,
        sees=caller.sees,
        scan=call.query.scan,
        before=call.query.before,
    )
    return ReviewList(
        awaiting=[AwaitingCall.model_validate(a, from_attributes=True) for a in queue.awaiting],
        awaiting_total=queue.awaiting_total,
        reviews=[
            DoneReview(
                seq=r.seq,
                reviewed_seq=r.reviewed_seq,
                tenant=r.tenant,
                app=r.app,
                reviewer=r.reviewer,
                reviewer_user=r.reviewer_user,
                flag=r.flag,
                outcome=r.decision,
                time_ms=r.time_ms,
                annotated=r.annotated,
            )
            for r in queue.reviews
        ],
        size=queue.size,
        scanned_from=queue.scanned_from,
        scanned_to=queue.scanned_to,
        complete=queue.scanned_from == 0,
    )


def review(ctx: AdminContext, call: Call[NoQuery, ReviewBody]) -> Reviewed:
    caller, body = call.who, call.body
    plan = plan_review(
        ctx.ledger.store,
        Register(documents_for(ctx.settings)).load(),
        caller.principal,
        body.seq,
        flag=body.flag,
        decision=body.outcome,
        annotation=body.note,
    )
    writable(ctx)
    meta, payload = parse_append(plan.body, caller.actor)
    principal = caller.principal
    meta = replace(
        meta,
        attrs={
            **meta.attrs,
            "actor_role": principal.role.value,
            "actor_tenant": principal.tenant,
        },
    )
    seq = ctx.ledger.append(meta, payload, durability="strict").wait()
    return Reviewed(
        ledger_seq=seq,
        reviewed_seq=plan.reviewed_seq,
        app=f"{plan.tenant}/{plan.app}",
        reviewer=principal.key_id,
        actor=caller.actor,
        outcome=body.outcome,
        flag=body.flag,
        annotated=body.note is not None,
    )


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET", "/compliance/reviews", "listOversightReviews",
        "The oversight queue (high-impact calls not yet reviewed) and the reviews done",
        "compliance", Permission.READ_CONTROL, ReviewQuery, NoBody, ReviewList, list_reviews,
        description="Reads at most `scan` entries back from the newest (or from `before`): "
        "a call counts as awaiting when no review of it is within that window (reviews always "
        "come after their call, so a window ending at the newest entry misses none). "
        "`complete: false`: page on with `before` = `scanned_from`.",
    ),
    Operation(
        "POST", "/compliance/reviews", "recordOversightReview",
        "Record a human oversight review of a model call (art. 34(4))", "compliance",
        Permission.REVIEW, NoQuery, ReviewBody, Reviewed, review, status=201,
        description="An auditor key of the call's own tenant. Appends an `oversight-review` "
        "entry naming the reviewer and the actor; the note is encrypted under the tenant's key.",
    ),
)  # fmt: skip
