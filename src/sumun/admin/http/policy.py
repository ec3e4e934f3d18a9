"""The policy over the admin API: view, validate, apply, reload, explain.

- `GET /policy`: the policy in force on this node, where it comes from, the stored document
  (its text and SHA-256) and a summary of its rules.
- `POST /policy/validate`: a document checked as `sumun policy check` checks a file; each
  problem at the line and column of its YAML node. Changes nothing.
- `POST /policy`: validate, store and announce — exactly `sumun policy apply` — so every node
  enforces it within 1 s (its control watcher); recorded as `policy-apply` with the SHA-256.
  Refused (409) when sumun.yaml names a `policy_file`: then each node reads its own file.
- `POST /policy/reload`: every node re-reads its policy now (`policy-reload`).
- `POST /policy/explain`: a prompt run through admission as the gateway would run it
  (`gateway.explain`), with what each provider of the route would receive. The prompt is
  neither stored nor logged; findings come back as spans and a masked preview.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

from sumun.admin.http.audit import record, writable
from sumun.admin.http.auth import Caller
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import BodyModel, NoBody, NoQuery
from sumun.admin.http.operation import Call, Operation
from sumun.config import policy_path
from sumun.errors import ConfigError, ConflictError, LedgerError, UsageError
from sumun.gateway.assemble import admin_change_entry
from sumun.gateway.explain import explain as explain_request
from sumun.gateway.explain import preview, route_for
from sumun.gateway.policy_source import (
    POLICY_DOCUMENT,
    PolicySource,
    Problem,
    parse_document,
    problems,
)
from sumun.ledger.entry import EntryMeta
from sumun.policy.rules import Policy
from sumun.store.model import Permission

__all__ = ["OPERATIONS"]

Class = Literal["C", "S", "O"]
MAX_ERRORS = 50


# -- what GET /policy answers ------------------------------------------------------------------


class Marker(BaseModel):
    id: str
    pattern: str
    data_class: Class
    placement: Literal["marking", "anywhere"] = Field(
        description="marking: counts only as a document marking; anywhere: every match"
    )


class Classification(BaseModel):
    markers: list[Marker] = Field(description="the policy's own content markings")
    default_markers: bool = Field(description="true: Sumun's built-in markings apply too")
    floor_types: list[str] = Field(description="PII types that raise the class when sent")
    floor_class: Class
    floor_after_transform: bool


class Admission(BaseModel):
    """What a provider's declared profile must say to be admitted for C and S."""

    classified_hosting: list[str]
    classified_key_custody: list[str]
    sensitive_hosting: list[str]
    sensitive_max_retention_days: int
    sensitive_no_training: bool
    sensitive_foreign_needs_basis: bool
    sensitive_certifications: list[str]


class Where(BaseModel):
    providers: list[str]
    hosting: list[str]
    jurisdictions: list[str]


class PiiRule(BaseModel):
    id: str
    types: list[str]
    action: str
    min_score: float
    when: Where | None
    to: Where | None
    reason: str | None


class OutputRule(BaseModel):
    id: str
    types: list[str]
    action: str
    min_score: float


class Summary(BaseModel):
    version: int
    classification: Classification
    admission: Admission
    pii_rules: list[PiiRule] = Field(description="first match wins, per finding and provider")
    pii_default: str
    pii_min_score: float
    output_scan: bool
    output_rules: list[OutputRule] | None = Field(
        description="null: the input rules apply to answers too"
    )


class PolicyView(BaseModel):
    source: str = Field(description="where the policy in force was read from")
    origin: Literal["file", "stored", "built-in"]
    from_file: bool = Field(description="true: `policy_file` in sumun.yaml; apply is refused")
    sha256: str | None = Field(description="of the document's bytes (null: built-in)")
    document: str | None = Field(description="the document's text (null: built-in)")
    in_force: bool = Field(description="the document is the policy this node enforces now")
    summary: Summary = Field(description="the policy in force on this node")


def _summary(policy: Policy) -> Summary:
    cls, adm = policy.classification, policy.admission.rules()
    return Summary(
        version=policy.version,
        classification=Classification(
            markers=[
                Marker(
                    id=m.id, pattern=m.pattern, data_class=m.data_class.value, placement=m.placement
                )
                for m in cls.markers
            ],
            default_markers=not cls.replace_default_markers,
            floor_types=list(cls.floor_types),
            floor_class=cls.floor_class.value,
            floor_after_transform=cls.floor_after_transform,
        ),
        admission=Admission(
            classified_hosting=list(adm.classified_hosting),
            classified_key_custody=list(adm.classified_custody),
            sensitive_hosting=list(adm.sensitive_hosting),
            sensitive_max_retention_days=adm.sensitive_max_retention_days,
            sensitive_no_training=adm.sensitive_requires_no_training,
            sensitive_foreign_needs_basis=adm.sensitive_foreign_needs_basis,
            sensitive_certifications=list(adm.sensitive_certifications),
        ),
        pii_rules=[PiiRule.model_validate(r.model_dump(mode="json")) for r in policy.pii.rules],
        pii_default=policy.pii.default,
        pii_min_score=policy.pii.min_score,
        output_scan=policy.output.scan,
        output_rules=(
            None
            if policy.output.rules is None
            else [OutputRule.model_validate(r.model_dump(mode="json")) for r in policy.output.rules]
        ),
    )


def _source(ctx: AdminContext) -> PolicySource:
    return PolicySource(ctx.settings, ctx.control.documents)


def _document(ctx: AdminContext, source: PolicySource) -> bytes | None:
    """The document the deployment's policy is read from now (None: the built-in policy)."""
    if source.from_file:
        path = policy_path(ctx.settings)
        try:
            return None if path is None else path.read_bytes()
        except OSError:
            return None
    return ctx.control.documents.read(POLICY_DOCUMENT)


def show(ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> PolicyView:
    source, in_force = _source(ctx), ctx.policy()
    body = _document(ctx, source)
    text, matches = None, body is None and in_force.source == "built-in"
    if body is not None:
        text = body.decode("utf-8", errors="replace")
        try:  # the same document, read as this node read it?
            matches = parse_document(body, in_force.source) == in_force
        except ConfigError:  # stored, but it does not load: the node kept its policy
            matches = False
    return PolicyView(
        source=in_force.source,
        origin="built-in" if body is None else ("file" if source.from_file else "stored"),
        from_file=source.from_file,
        sha256=None if body is None else hashlib.sha256(body).hexdigest(),
        document=text,
        in_force=matches,
        summary=_summary(in_force),
    )


# -- validate and apply ------------------------------------------------------------------------


class DocumentBody(BodyModel):
    document: str = Field(min_length=1, description="the policy's YAML text")


class PolicyProblem(BaseModel):
    line: int | None = Field(description="1-based line in the document; null when unknown")
    column: int | None
    message: str


class Validation(BaseModel):
    valid: bool
    errors: list[PolicyProblem]
    sha256: str = Field(description="of the document's UTF-8 bytes")


class Applied(BaseModel):
    source: str
    sha256: str
    ledger_seq: int


class Reloaded(BaseModel):
    source: str = Field(description="the policy in force on this node when asked")
    ledger_seq: int


def _bytes(document: str) -> bytes:
    try:
        return document.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate sent as \\ud800
        raise UsageError("body.document: not valid Unicode text") from exc


def _problem(p: Problem) -> PolicyProblem:
    return PolicyProblem(line=p.line, column=p.column, message=p.message)


def validate(_ctx: AdminContext, call: Call[NoQuery, DocumentBody]) -> Validation:
    body = _bytes(call.body.document)
    found = problems(body)[:MAX_ERRORS]
    return Validation(
        valid=not found,
        errors=[_problem(p) for p in found],
        sha256=hashlib.sha256(body).hexdigest(),
    )


def _refusal(found: tuple[Problem, ...]) -> UsageError:
    parts = [
        (f"line {p.line}, column {p.column}: " if p.line is not None else "") + p.message
        for p in found[:MAX_ERRORS]
    ]
    return UsageError("the policy is not valid, nothing was applied: " + "; ".join(parts))


def _entry(caller: Caller, action: str, attrs: dict[str, str]) -> EntryMeta:
    return admin_change_entry(action, caller.actor, rules=("policy",), attrs=attrs)


def apply(ctx: AdminContext, call: Call[NoQuery, DocumentBody]) -> Applied:
    caller, source = call.who, _source(ctx)
    if source.from_file:
        raise ConflictError(
            f"this deployment reads its policy from {ctx.settings.policy_file} (policy_file in "
            "sumun.yaml): edit that file on every node, or remove policy_file to apply here"
        )
    body = _bytes(call.body.document)
    found = problems(body)
    if found:
        raise _refusal(found)
    writable(ctx)
    documents = ctx.control.documents
    before = documents.read(POLICY_DOCUMENT)
    policy = source.apply(body)
    ctx.control.announce()
    digest = hashlib.sha256(body).hexdigest()
    try:
        seq = record(ctx, caller, _entry(caller, "policy-apply", {"sha256": digest}))
    except LedgerError:
        if before is not None:  # unrecorded: put the previous policy back everywhere
            documents.update(POLICY_DOCUMENT, lambda _new: before)
            ctx.control.announce()
        raise
    return Applied(source=policy.source, sha256=digest, ledger_seq=seq)


def reload(ctx: AdminContext, call: Call[NoQuery, NoBody]) -> Reloaded:
    caller = call.who
    writable(ctx)
    ctx.control.announce()
    seq = record(ctx, caller, _entry(caller, "policy-reload", {}))
    return Reloaded(source=ctx.policy().source, ledger_seq=seq)


# -- explain -----------------------------------------------------------------------------------


class ExplainBody(BodyModel):
    text: str = Field(min_length=1, max_length=60_000, description="the prompt (not kept)")
    model: str | None = Field(default=None, max_length=200, description="route alias")
    data_class: Class | None = Field(default=None, description="as X-Sumun-Data-Class")


class FoundPii(BaseModel):
    type: str
    start: int = Field(description="code points into `text`")
    end: int
    score: float
    preview: str = Field(description="first two letters or digits, the rest `*`")


class Action(BaseModel):
    type: str
    action: str
    rule: str


class ProviderPlan(BaseModel):
    name: str
    cut: bool
    max_class: str = Field(description="C, S or O: the highest class its profile is admitted for")
    admitted: bool = Field(description="it would take this request")
    data_class: str = Field(description="C, S or O: the request's class for this provider")
    reason: str = Field(description="why it is refused, or what happens")
    rules: list[str]
    actions: list[Action] = Field(description="what is done to each finding before it leaves")
    text: str | None = Field(description="what it would receive; null when refused")
    chosen: bool = Field(description="the gateway would send the request here first")


class Explained(BaseModel):
    policy: str
    model: str
    data_class: str | None = Field(description="C, S or O (null: every provider is cut off)")
    classification_rules: list[str]
    classification_reasons: list[str]
    findings: list[FoundPii]
    decision: str = Field(description="allow, transform, reroute or block")
    rules: list[str]
    reason: str
    providers: list[str] = Field(description="where the gateway may send it, in route order")
    pii_actions: str
    text_out: str | None = Field(description="what would leave (null: blocked)")
    plans: list[ProviderPlan] = Field(description="each provider of the route on its own")


def explain(ctx: AdminContext, call: Call[NoQuery, ExplainBody]) -> Explained:
    asked = call.body
    route = route_for(ctx.settings, asked.model)
    body = {"messages": [{"role": "user", "content": asked.text}]}
    done = explain_request(
        ctx.settings,
        ctx.policy(),
        route,
        body,
        declared=asked.data_class,
        is_cut=ctx.killswitch.is_cut,
    )
    return Explained(
        policy=done.policy,
        model=done.model,
        data_class=done.data_class,
        classification_rules=list(done.classification_rules),
        classification_reasons=list(done.classification_reasons),
        findings=[
            FoundPii(
                type=f.type,
                start=f.start,
                end=f.end,
                score=f.score,
                preview=preview(asked.text[f.start : f.end]),
            )
            for f in done.findings
        ],
        decision=done.decision,
        rules=list(done.rules),
        reason=done.reason,
        providers=list(done.providers),
        pii_actions=done.pii_actions,
        text_out=None if done.decision == "block" else "".join(done.text_out),
        plans=[
            ProviderPlan(
                name=p.name,
                cut=p.cut,
                max_class=p.max_class,
                admitted=p.admitted,
                data_class=p.data_class,
                reason=p.reason,
                rules=list(p.rules),
                actions=[Action(type=t, action=a, rule=r) for t, a, r in p.actions],
                text=None if p.texts is None else "".join(p.texts),
                chosen=p.chosen,
            )
            for p in done.plans
        ],
    )


OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET",
        "/policy",
        "getPolicy",
        "The policy in force: its source, document, SHA-256 and rules",
        "policy",
        Permission.READ_CONTROL,
        NoQuery,
        NoBody,
        PolicyView,
        show,
    ),
    Operation(
        "POST",
        "/policy/validate",
        "validatePolicy",
        "Check a policy document; each error at its line and column. Changes nothing",
        "policy",
        Permission.READ_CONTROL,
        NoQuery,
        DocumentBody,
        Validation,
        validate,
    ),
    Operation(
        "POST",
        "/policy",
        "applyPolicy",
        "Validate a policy and enforce it on every node within 1 s",
        "policy",
        Permission.MANAGE,
        NoQuery,
        DocumentBody,
        Applied,
        apply,
        scope="deployment",
        description="As `sumun policy apply`. 400 with each error's line when it is not "
        "valid (nothing applied); 409 when sumun.yaml names a `policy_file`. Recorded in "
        "the ledger (`policy-apply`, with the document's SHA-256) with the calling key as "
        "actor.",
    ),
    Operation(
        "POST",
        "/policy/reload",
        "reloadPolicy",
        "Tell every node to re-read its policy now",
        "policy",
        Permission.MANAGE,
        NoQuery,
        NoBody,
        Reloaded,
        reload,
        scope="deployment",
        description="Recorded in the ledger (`policy-reload`).",
    ),
    Operation(
        "POST",
        "/policy/explain",
        "explainPolicy",
        "Dry-run a prompt through the policy in force: class, PII, decision, and what "
        "each provider of the route would receive",
        "policy",
        Permission.READ_CONTROL,
        NoQuery,
        ExplainBody,
        Explained,
        explain,
        description="Changes nothing; the prompt is neither stored nor logged. Findings are "
        "spans with a masked preview.",
    ),
)
