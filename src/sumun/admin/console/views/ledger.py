"""The ledger explorer: entries newest first (50 a page, `?before=`), search by sequence number
or request id and filters by tenant and kind, one entry's metadata — and its inclusion proof,
checked in the browser.

Metadata, as the admin API serves it (`listLedgerEntries`, `searchLedger`, `getLedgerEntry`).
A payload is shown only to a role that may read it (auditors), after a reason typed into the
entry page's form: `POST ledger/{seq}/payload` runs `readLedgerPayload`, which records the
read (`payload-read`, naming the key and the reason) before it decrypts anything. The payload
is on that answer page only — never in the session, never cached (`no-store`).

The proof is checked by `static/proof.js`, not by this server: the entry page names two JSON
resources, `ledger/{seq}/proof.json` (`proveLedgerEntry`) and `ledger/vkeys.json`
(`getLedgerVerifierKeys`), which the script fetches with the session's cookie. It recomputes
the leaf hash and the audit path to a root, checks the root and size against the signed
checkpoint and the checkpoint's signature with WebCrypto, and shows the key it used so that
an auditor can compare it with one obtained out of band — or paste that key and check again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sumun.admin.console.web import BASE, Console, Visit, guarded
from sumun.admin.http.errors import NO_STORE
from sumun.admin.http.inputs import body_from
from sumun.admin.http.ledger import Found, Page, Proof, Row, SearchQuery, TailQuery, VerifierKeys
from sumun.admin.http.ledger_more import MAX_REASON, MIN_REASON, Payload, ReadReason
from sumun.errors import UsageError
from sumun.ledger.entry import EntryKind
from sumun.store.model import Permission

__all__ = ["PAGE_SIZE", "entries", "entry", "proof_json", "read_payload", "routes", "vkeys_json"]

PAGE_SIZE = 50
PAGE = f"{BASE}ledger"
_MAX_DIGITS = 18  # as the admin API's `seq`
_MAX_REQUEST_ID = 128  # as its `searchLedger`
_MAX_TENANT = 63  # as its `searchLedger`
KINDS = tuple(kind.value for kind in EntryKind)


def _stamp(time_ms: int | None) -> str:
    if time_ms is None:
        return "—"
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _whole(text: str, what: str) -> int:
    if not text.isdigit() or len(text) > _MAX_DIGITS:
        raise UsageError(f"{what} must be a whole number")
    return int(text)


def _filters(visit: Visit) -> tuple[str, str]:
    """The tenant and kind filters (each "" when not given), checked as the API checks them."""
    params = visit.request.query_params
    tenant, kind = params.get("tenant", "").strip(), params.get("kind", "").strip()
    if len(tenant) > _MAX_TENANT:
        raise UsageError(f"a tenant name is at most {_MAX_TENANT} characters")
    if kind and kind not in KINDS:
        raise UsageError("kind: not one of the ledger's entry kinds")
    return tenant, kind


async def entries(visit: Visit) -> Response:
    """`GET /console/ledger[?before=N][&q=<seq or request id>][&tenant=T][&kind=K]`."""
    params = visit.request.query_params
    q = params.get("q", "").strip()
    if q.isdigit():
        return visit.redirect(f"{PAGE}/{_whole(q, 'the sequence number')}")
    tenant, kind = _filters(visit)
    before_text = params.get("before", "").strip()
    before = _whole(before_text, "before") if before_text else None
    if q or tenant or kind:
        if len(q) > _MAX_REQUEST_ID:
            raise UsageError(f"a request id is at most {_MAX_REQUEST_ID} characters")
        query = SearchQuery(
            request_id=q or None,
            tenant=tenant or None,
            kind=kind or None,
            count=PAGE_SIZE,
            before=before,
        )
        found = await visit.call("searchLedger", Found, query=query)
        rows = list(reversed(found.entries))
        older = None if found.complete else found.scanned_from
        size, searched = found.size, found
    else:
        query_page = TailQuery(count=PAGE_SIZE, before=before)
        page = await visit.call("listLedgerEntries", Page, query=query_page)
        rows = list(reversed(page.entries))
        older, size, searched = page.next_before, page.size, None
    return visit.render(
        "ledger.html",
        page="ledger",
        rows=rows,
        size=size,
        q=q,
        tenant=tenant,
        kind=kind,
        kinds=KINDS,
        filters=urlencode({k: v for k, v in (("q", q), ("tenant", tenant), ("kind", kind)) if v}),
        before=before,
        older=older,
        searched=searched,
        stamp=_stamp,
    )


async def entry(visit: Visit) -> Response:
    """`GET /console/ledger/{seq}`: the metadata, and the panel `proof.js` fills in."""
    seq = _whole(str(visit.request.path_params["seq"]), "the sequence number")
    row = await visit.call("getLedgerEntry", Row, path={"seq": str(seq)})
    return visit.render(
        "ledger_entry.html",
        page="ledger",
        row=row,
        stamp=_stamp,
        may_read_payload=visit.who.principal.may(Permission.READ_PAYLOAD),
        min_reason=MIN_REASON,
        max_reason=MAX_REASON,
    )


async def read_payload(visit: Visit) -> Response:
    """`POST /console/ledger/{seq}/payload` (reason): the read is recorded, then shown once."""
    seq = _whole(str(visit.request.path_params["seq"]), "the sequence number")
    body = body_from(ReadReason, {"reason": visit.form.get("reason", "")})
    read = await visit.call("readLedgerPayload", Payload, path={"seq": str(seq)}, body=body)
    return visit.render("payload.html", page="ledger", read=read)


def _json(visit: Visit, reply: BaseModel) -> Response:
    return visit.finish(JSONResponse(reply.model_dump(mode="json"), headers=dict(NO_STORE)))


async def proof_json(visit: Visit) -> Response:
    """`GET /console/ledger/{seq}/proof.json`: the admin API's `proveLedgerEntry`, as is."""
    seq = _whole(str(visit.request.path_params["seq"]), "the sequence number")
    return _json(visit, await visit.call("proveLedgerEntry", Proof, path={"seq": str(seq)}))


async def vkeys_json(visit: Visit) -> Response:
    """`GET /console/ledger/vkeys.json`: the admin API's `getLedgerVerifierKeys`, as is."""
    return _json(visit, await visit.call("getLedgerVerifierKeys", VerifierKeys))


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes below /console besides those app.py names itself."""
    return [Route("/ledger/{seq}/payload", guarded(console, read_payload), methods=["POST"])]
