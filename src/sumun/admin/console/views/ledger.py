"""The ledger explorer: entries newest first (50 a page, `?before=`), search by sequence number
or request id, one entry's metadata — and its inclusion proof, checked in the browser.

Metadata only, as the admin API serves it (`listLedgerEntries`, `searchLedger`,
`getLedgerEntry`): payloads are never shown here.

The proof is checked by `static/proof.js`, not by this server: the entry page names two JSON
resources, `ledger/{seq}/proof.json` (`proveLedgerEntry`) and `ledger/vkeys.json`
(`getLedgerVerifierKeys`), which the script fetches with the session's cookie. It recomputes
the leaf hash and the audit path to a root, checks the root and size against the signed
checkpoint and the checkpoint's signature with WebCrypto, and shows the key it used so that
an auditor can compare it with one obtained out of band — or paste that key and check again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from sumun.admin.console.web import BASE, Visit
from sumun.admin.http.errors import NO_STORE
from sumun.admin.http.ledger import Found, Page, Proof, Row, SearchQuery, TailQuery, VerifierKeys
from sumun.errors import UsageError

__all__ = ["PAGE_SIZE", "entries", "entry", "proof_json", "vkeys_json"]

PAGE_SIZE = 50
PAGE = f"{BASE}ledger"
_MAX_DIGITS = 18  # as the admin API's `seq`
_MAX_REQUEST_ID = 128  # as its `searchLedger`


def _stamp(time_ms: int | None) -> str:
    if time_ms is None:
        return "—"
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _whole(text: str, what: str) -> int:
    if not text.isdigit() or len(text) > _MAX_DIGITS:
        raise UsageError(f"{what} must be a whole number")
    return int(text)


async def entries(visit: Visit) -> Response:
    """`GET /console/ledger[?before=N | ?q=<seq or request id>]`."""
    params = visit.request.query_params
    q = params.get("q", "").strip()
    if q.isdigit():
        return visit.redirect(f"{PAGE}/{_whole(q, 'the sequence number')}")
    before_text = params.get("before", "").strip()
    before = _whole(before_text, "before") if before_text else None
    if q:
        if len(q) > _MAX_REQUEST_ID:
            raise UsageError(f"a request id is at most {_MAX_REQUEST_ID} characters")
        query = SearchQuery(request_id=q, count=PAGE_SIZE, before=before)
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
        before=before,
        older=older,
        searched=searched,
        stamp=_stamp,
    )


async def entry(visit: Visit) -> Response:
    """`GET /console/ledger/{seq}`: the metadata, and the panel `proof.js` fills in."""
    seq = _whole(str(visit.request.path_params["seq"]), "the sequence number")
    row = await visit.call("getLedgerEntry", Row, path={"seq": str(seq)})
    return visit.render("ledger_entry.html", page="ledger", row=row, stamp=_stamp)


def _json(visit: Visit, reply: BaseModel) -> Response:
    return visit.finish(JSONResponse(reply.model_dump(mode="json"), headers=dict(NO_STORE)))


async def proof_json(visit: Visit) -> Response:
    """`GET /console/ledger/{seq}/proof.json`: the admin API's `proveLedgerEntry`, as is."""
    seq = _whole(str(visit.request.path_params["seq"]), "the sequence number")
    return _json(visit, await visit.call("proveLedgerEntry", Proof, path={"seq": str(seq)}))


async def vkeys_json(visit: Visit) -> Response:
    """`GET /console/ledger/vkeys.json`: the admin API's `getLedgerVerifierKeys`, as is."""
    return _json(visit, await visit.call("getLedgerVerifierKeys", VerifierKeys))
