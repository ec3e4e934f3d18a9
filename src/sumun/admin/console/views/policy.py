"""Policy: the active document (read-only, with line numbers), validating a pasted policy with
each error next to its line, applying it (two steps, admins of the operator tenant), and the
explain playground — a prompt run through the policy in force, with the PII found marked and
what each provider of the route would receive.

Everything goes through the admin API's operations (`getPolicy`, `validatePolicy`,
`applyPolicy`, `explainPolicy`), so an auditor can validate and explain but never apply, and
an apply is recorded in the ledger as the API records it. The prompt is rendered back to the
person who sent it in this answer only; it is neither kept in the session nor logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sumun.admin.console.actions import check
from sumun.admin.console.web import BASE, Console, Visit, guarded
from sumun.admin.http.inputs import body_from
from sumun.admin.http.policy import (
    Applied,
    DocumentBody,
    ExplainBody,
    Explained,
    FoundPii,
    PolicyProblem,
    PolicyView,
    Validation,
)
from sumun.policy.transform import LABELS

__all__ = ["routes"]

PAGE = f"{BASE}policy"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a document as shown: its number, text and the problems found on it."""

    number: int
    text: str
    problems: tuple[tuple[int | None, str], ...]  # (column, message)


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of the prompt: plain text (`kind` None) or a finding of PII type `kind`."""

    text: str
    kind: str | None

    @property
    def label(self) -> str:
        """The type as Korean documents name it (`주민등록번호`), for the marked text's title."""
        return LABELS.get(self.kind, self.kind) if self.kind else ""


def numbered(document: str, problems: Sequence[PolicyProblem] = ()) -> list[Line]:
    """The document's lines with each problem attached to its line (1-based). A problem at
    the end of the text (an unclosed bracket) gets the empty line it points at."""
    lines = document.splitlines() or [""]
    last = max([len(lines), *(p.line for p in problems if p.line is not None)])
    lines += [""] * (last - len(lines))
    return [
        Line(i, text, tuple((p.column, p.message) for p in problems if p.line == i))
        for i, text in enumerate(lines, start=1)
    ]


def pieces(text: str, findings: list[FoundPii]) -> list[Piece]:
    """The prompt cut at the findings' spans (overlapping spans: the first one wins)."""
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos or f.end > len(text):
            continue
        if f.start > pos:
            out.append(Piece(text[pos : f.start], None))
        out.append(Piece(text[f.start : f.end], f.type))
        pos = f.end
    if pos < len(text):
        out.append(Piece(text[pos:], None))
    return out


async def _page(visit: Visit, code: int = 200, **values: Any) -> Response:
    view = await visit.call("getPolicy", PolicyView)
    values.setdefault("pasted", None)
    values.setdefault("pasted_lines", [])
    values.setdefault("validation", None)
    values.setdefault("explained", None)
    values.setdefault("prompt", "")
    values.setdefault("prompt_pieces", [])
    values.setdefault("model", "")
    values.setdefault("data_class", "")
    return visit.render(
        "policy.html",
        code=code,
        page="policy",
        policy=view,
        labels=LABELS,
        lines=numbered(view.document) if view.document is not None else [],
        routes=[r.model for r in visit.console.ctx.settings.routes],
        may_apply=visit.may_manage and visit.who.operator and not view.from_file,
        **values,
    )


async def show(visit: Visit) -> Response:
    return await _page(visit)


def _field(visit: Visit, name: str) -> str:
    """A form field with the browser's CRLF line breaks back to the LF the text was written
    with (so a document applied here hashes as the same file applied with the CLI)."""
    return visit.form.get(name, "").replace("\r\n", "\n")


def _document(visit: Visit) -> DocumentBody:
    return body_from(DocumentBody, {"document": _field(visit, "document")})


async def validate(visit: Visit) -> Response:
    body = _document(visit)
    checked = await visit.call("validatePolicy", Validation, body=body)
    return await _page(
        visit,
        pasted=body.document,
        pasted_lines=numbered(body.document, checked.errors),
        validation=checked,
    )


async def apply(visit: Visit) -> Response:
    """`POST /console/policy/apply`: without `confirm=yes`, the confirmation page."""
    await run_in_threadpool(check, visit.console.ctx, visit.who, "applyPolicy")
    body = _document(visit)
    if visit.form.get("confirm") != "yes":
        checked = await visit.call("validatePolicy", Validation, body=body)
        return visit.render(
            "policy_confirm.html", page="policy", document=body.document, validation=checked
        )
    done = await visit.call("applyPolicy", Applied, body=body)
    visit.flash("ok", visit.t("policy.applied", sha=done.sha256[:16], seq=done.ledger_seq))
    return visit.redirect(PAGE)


async def explain(visit: Visit) -> Response:
    form = visit.form
    fields: dict[str, Any] = {"text": _field(visit, "text")}
    if form.get("model"):
        fields["model"] = form["model"]
    if form.get("data_class"):
        fields["data_class"] = form["data_class"]
    body = body_from(ExplainBody, fields)
    done = await visit.call("explainPolicy", Explained, body=body)
    return await _page(
        visit,
        explained=done,
        prompt=body.text,
        prompt_pieces=pieces(body.text, done.findings),
        model=body.model or "",
        data_class=body.data_class or "",
    )


def routes(console: Console) -> list[BaseRoute]:
    """This page's routes, below /console."""
    get, post = ["GET"], ["POST"]
    return [
        Route("/policy", guarded(console, show), methods=get),
        Route("/policy/validate", guarded(console, validate), methods=post),
        Route("/policy/apply", guarded(console, apply), methods=post),
        Route("/policy/explain", guarded(console, explain), methods=post),
    ]
