"""The request path, one call from start to end (docs/architecture.md, "One request, end to end").

    1. ready?      sealed keys / unreachable backend or ledger ⇒ 503, nothing else happens
    2. parse       body read with a limit, strict UTF-8, JSON, required fields   (400 / 413)
    3. auth        virtual key ⇒ Principal(tenant, app, user, role)             (401)
    4. limits      per key and per tenant: requests, tokens, budgets            (429)
    5. admit       tenant × route × kill switch ⇒ Decision (policy plugs in here); a route
                   whose every provider is cut is refused here                   (503)
    6. ledger      `request-admitted`, payload sealed under the tenant key, STRICT: durable
                   before anything goes upstream                                   (503 if not)
    7. upstream    router: fallback / weighted, breaker, failover before the first byte
    8. label       X-Sumun-* headers, "sumun" metadata, the tenant's visible AI notice
    9. ledger      `request-completed` (tokens, latency, outcome, response payload sealed)

Every exit after step 6 writes step 9, including upstream failures, a client that goes away
mid-stream (the upstream call is cancelled and the entry says so) and `sumun seal`, which stops
the request first (gateway/inflight.py). A known caller refused between steps 3 and 6 (limits,
a revoked tenant key, a fail-closed outage) gets a `request-refused` entry instead
(gateway/refusals.py); a 401 is only counted in the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from functools import partial

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sumun.errors import (
    AuthError,
    BackendUnavailableError,
    BudgetExceededError,
    ForbiddenError,
    RateLimitedError,
    SealedError,
    SumunError,
    UnknownKeyError,
)
from sumun.gateway.admission import Admission, Decision
from sumun.gateway.answer import AnswerFilter, rewrite_body, rewrite_stream
from sumun.gateway.budget import reservation
from sumun.gateway.credentials import api_key
from sumun.gateway.entries import admitted_entry, cap_payload, completed_entry
from sumun.gateway.failures import classify_failure, stream_error
from sumun.gateway.inflight import InFlight, StoppedError, Ticket, until_stopped
from sumun.gateway.labels import DEFAULT_NOTICE, label_body, notice_stream
from sumun.gateway.limits import Headroom, Limiter
from sumun.gateway.metrics import Metrics
from sumun.gateway.refusals import RefusalLog, classify_refusal, refusal_entry
from sumun.gateway.router import Attempt, Router
from sumun.gateway.spend import PriceTable
from sumun.gateway.spend_budget import Hold
from sumun.gateway.spend_meter import SpendMeter
from sumun.gateway.tracing import NO_TRACE, RequestTrace, Tracer
from sumun.gateway.upstream.base import (
    Call,
    Endpoint,
    ProviderAdapter,
    Reply,
    StreamReply,
    UpstreamError,
    Wire,
)
from sumun.gateway.usage import UsageRollup
from sumun.gateway.wire import (
    BadRequestError,
    ParsedCall,
    error_response,
    parse_call,
    read_body,
)
from sumun.keys.envelope import Context
from sumun.runtime import Runtime
from sumun.store.directory import Directory
from sumun.store.model import Principal, Tenant
from sumun.store.pseudonyms import PseudonymVault

__all__ = ["Gateway"]

_log = logging.getLogger(__name__)

# The event that ends a stream in each dialect (chunks are whole SSE events).
_TERMINAL = {
    Wire.OPENAI: (b"data: [DONE]", b"event: response.completed"),  # chat, responses
    Wire.ANTHROPIC: (b"event: message_stop",),
}

# Above this, admission runs in a worker thread. Detection is linear, ~1 MB/s at worst on
# digit-dense text (bench/README.md), so what runs on the event loop stays under ~4 ms.
_INLINE_DECIDE_BYTES = 4 * 1024


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Context:
    request_id: str
    started: float
    endpoint: Endpoint
    wire: Wire
    principal: Principal | None = None
    tenant: Tenant | None = None
    parsed: ParsedCall | None = None
    decision: Decision | None = None
    admitted_seq: int | None = None
    ticket: Ticket | None = None  # from admission until the ending is recorded
    completed: bool = False
    reserved: int = 0  # budget tokens charged at admission, not yet settled
    headroom: Headroom | None = None  # the per-minute limits as the check saw them
    spend: tuple[Hold, ...] = ()  # spend held against spend budgets, not yet settled
    trace: RequestTrace = NO_TRACE  # spans and the request log event (gateway/tracing.py)


class Gateway:
    def __init__(
        self,
        runtime: Runtime,
        *,
        directory: Directory,
        limiter: Limiter,
        router: Router,
        metrics: Metrics,
        admission: Admission,
        max_body_bytes: int,
        vault: PseudonymVault | None = None,
        pseudonym_retention_seconds: float = 0.0,
        refusals: RefusalLog | None = None,
        detection_budget_seconds: float = 5.0,
        default_output_reservation: int = 1024,
        ledger_payload_max_bytes: int = 4 * 1024 * 1024,
        usage: UsageRollup | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.runtime = runtime
        self.usage = usage or UsageRollup()  # the overview's counts (gateway/usage.py)
        self.spend = SpendMeter(  # costs and spend budgets (gateway/spend_meter.py)
            prices or PriceTable(), metrics=metrics, usage=self.usage, limiter=limiter
        )
        self.ledger_payload_max_bytes = ledger_payload_max_bytes
        self.default_output_reservation = default_output_reservation
        self.detection_budget_seconds = detection_budget_seconds
        self.directory = directory
        self.limiter = limiter
        self.router = router
        self.metrics = metrics
        self.admission = admission
        self.max_body_bytes = max_body_bytes
        self.vault = vault
        self.pseudonym_retention_seconds = pseudonym_retention_seconds
        self.refusals = refusals or RefusalLog(
            runtime.ledger, on_recorded=lambda rule, how: metrics.refusals.labels(rule, how).inc()
        )
        self._key_lock = asyncio.Lock()
        # Set by the server's housekeeping (every second) from a real backend check: while the
        # key backend is unreachable the gateway refuses traffic even if DEKs are still cached.
        self.backend_problem: str | None = None
        # Set by the server on SIGTERM: /readyz says 503, and a request cancelled because the
        # drain ran out of time is recorded as such, not as a client that went away.
        self.draining = False
        self.inflight = InFlight()  # what `sumun seal` stops first (admin channel)
        self.tracer = Tracer()  # traces off; the server sets the configured one (sumun.telemetry)

    # -- the pipeline -----------------------------------------------------------------------

    async def handle(self, request: Request, endpoint: Endpoint, wire: Wire) -> Response:
        ctx = _Context(uuid.uuid4().hex, time.perf_counter(), endpoint, wire)
        ctx.trace = self.tracer.begin(request.headers, endpoint)
        try:
            self._ready()
            ctx.principal = self.directory.authenticate(
                api_key(request.headers, x_api_key=wire is Wire.ANTHROPIC)
            )
            raw = await read_body(request, self.max_body_bytes)
            ctx.parsed = parsed = parse_call(raw, endpoint, wire)
            ctx.tenant = tenant = self.directory.get_tenant(ctx.principal.tenant)
            estimate = reservation(
                parsed.body,
                len(raw),
                endpoint=endpoint,
                default_output=self.default_output_reservation,
            )
            spend = self.spend.estimate(
                tenant.limits, ctx.principal.limits, partial(self._targets, parsed.model), estimate
            )
            admitted = self.limiter.check(
                ctx.principal, tenant.limits, ctx.principal.limits, reserve=estimate, spend=spend
            )
            ctx.reserved, ctx.headroom = admitted.reserved, admitted.headroom
            ctx.spend = admitted.spend
            route = self.router.route(parsed.model)  # unknown model ⇒ 404, nothing recorded
            decide = partial(
                self.admission.decide,
                ctx.principal,
                tenant,
                route,
                request.headers.get("x-sumun-data-class"),
                parsed.body,
            )
            # Classification scans the text: a large body goes to a worker thread so it does
            # not stall every other request on the event loop.
            big = len(raw) > _INLINE_DECIDE_BYTES
            ctx.decision = await self._decide_in_thread(decide) if big else decide()
            self.metrics.decisions.labels(ctx.decision.action).inc()
            # A block is a decision too: it is recorded (rule ids, class; the request sealed)
            # before the refusal, and nothing goes upstream.
            forward = ctx.decision.body if ctx.decision.body is not None else parsed.body
            # What the ledger keeps is what left: the transformed body when PII was masked or
            # pseudonymized (never the token table, which is sealed and stored apart).
            sent = orjson.dumps(forward) if ctx.decision.body is not None else raw
            ctx.admitted_seq = await self._record_admitted(ctx, sent)
            ticket = ctx.ticket = self.inflight.open()
            if ctx.decision.action == "block":
                raise ForbiddenError(ctx.decision.reason)
            if ctx.decision.pseudonyms:
                await self._keep_pseudonyms(ctx)
            call = Call(endpoint, wire, forward, parsed.stream, ctx.request_id)
            if parsed.stream:
                return await self._stream(ctx, call, ticket)
            return await self._complete(ctx, call)
        except asyncio.CancelledError:
            self._refund(ctx)
            if ctx.ticket is not None and ctx.ticket.claim():  # stopped by `sumun seal`
                return self._fail(ctx, StoppedError(ctx.ticket.reason or "sealed"))
            outcome, status = self._cancelled()
            self._completed(ctx, status=status, outcome=outcome)
            ctx.trace.end(ctx, status, "none")
            raise
        except Exception as exc:
            self._refund(ctx)
            return self._fail(ctx, exc, await self._record_refusal(ctx, exc))

    def _settle(self, ctx: _Context, tokens: int) -> None:
        reserved, ctx.reserved = ctx.reserved, 0
        if ctx.principal is None or (tokens == 0 and reserved == 0):
            return
        try:
            self.limiter.settle(ctx.principal, reserved, tokens)
        except SumunError:
            # The answer is already on its way; an unreachable limiter store must not turn it
            # into an error. The next request's check fails closed instead.
            self.metrics.upstream_errors.labels("limiter", "record-tokens-failed").inc()

    def _refund(self, ctx: _Context) -> None:
        """A request that failed before any answer came back spent nothing: release it."""
        if ctx.reserved:
            self._settle(ctx, 0)
        if ctx.spend and ctx.principal is not None:
            holds, ctx.spend = ctx.spend, ()
            self.spend.refund(ctx.principal, holds)

    def _targets(self, alias: str) -> list[tuple[str, str]]:
        """(provider, model) of each target of the route for `alias` (a spend estimate)."""
        return [(t.provider, t.model) for t in self.router.route(alias).targets]

    def _cancelled(self) -> tuple[str, int]:
        """(outcome, status) of a request cancelled before its answer was complete."""
        return ("cancelled-at-shutdown", 503) if self.draining else ("client-disconnected", 499)

    def _ready(self) -> None:
        keys = self.runtime.keys
        if keys.sealed:
            raise SealedError("Sumun is sealed: no request can be protected or recorded")
        if self.backend_problem is not None:
            raise BackendUnavailableError(f"the key backend is unreachable: {self.backend_problem}")

    async def _record_refusal(self, ctx: _Context, exc: Exception) -> int | None:
        """The seq of the `request-refused` entry for a known caller refused before admission."""
        refusal = classify_refusal(exc)
        if ctx.principal is None or ctx.admitted_seq is not None or refusal is None:
            return None  # no caller known, or already in the ledger, or not a refusal
        status, _message, code = classify_failure(exc)
        meta = refusal_entry(
            ctx.principal,
            refusal,
            status=status,
            code=code,
            endpoint=ctx.endpoint,
            request_id=ctx.request_id,
            time_ms=_now_ms(),
        )
        return await self.refusals.record(meta)

    async def _record_admitted(self, ctx: _Context, raw: bytes) -> int:
        assert ctx.principal and ctx.parsed and ctx.decision and ctx.tenant  # noqa: S101
        meta = admitted_entry(
            ctx.principal,
            ctx.parsed,
            ctx.decision,
            endpoint=ctx.endpoint,
            request_id=ctx.request_id,
            time_ms=_now_ms(),
        )
        try:
            return await self.runtime.ledger.append_async(meta, raw, key_id=ctx.principal.tenant)
        except UnknownKeyError:
            await self._provision_tenant_key(ctx.principal.tenant)
            return await self.runtime.ledger.append_async(meta, raw, key_id=ctx.principal.tenant)

    async def _decide_in_thread(self, decide: Callable[[], Decision]) -> Decision:
        """Admission for a large body, off the event loop and within the detection budget.

        Fail closed: a body that cannot be scanned in time is refused, never sent unscanned.
        (The worker finishes its linear-time scan in the background; its result is dropped.)
        """
        try:
            return await asyncio.wait_for(
                run_in_threadpool(decide), timeout=self.detection_budget_seconds
            )
        except TimeoutError:
            raise BadRequestError(
                413,
                "the request could not be scanned for personal data within "
                f"{self.detection_budget_seconds:g}s; nothing was sent upstream — send less text",
                code="scan_budget_exceeded",
            ) from None

    async def _keep_pseudonyms(self, ctx: _Context) -> None:
        """Seal the token table under the tenant key and store it apart (PIPA art. 28-4)."""
        if self.vault is None or self.pseudonym_retention_seconds <= 0:
            return
        assert ctx.principal and ctx.decision  # noqa: S101
        tenant = ctx.principal.tenant
        table = orjson.dumps(dict(ctx.decision.pseudonyms))
        keys, vault, request_id = self.runtime.keys, self.vault, ctx.request_id

        def seal_and_store() -> None:
            sealed = keys.encrypt(tenant, table, Context(tenant, request_id, "pseudonym-map"))
            vault.put(request_id, tenant, sealed)

        await run_in_threadpool(seal_and_store)

    def _filters(self, ctx: _Context, provider: str) -> tuple[AnswerFilter, AnswerFilter]:
        """(output scan, restore) for an answer from `provider`."""
        detect = self.admission.detect
        scan = AnswerFilter(detect, self.admission.output_rules(provider), {})
        pseudonyms = ctx.decision.pseudonyms if ctx.decision else {}
        return scan, AnswerFilter(detect, {}, pseudonyms)

    async def _provision_tenant_key(self, tenant: str) -> None:
        """A tenant's KEK is created on its first request (a key event records it); nodes
        racing to create it end up with the one that won (KeyService.ensure_key)."""
        keys = self.runtime.keys
        async with self._key_lock:
            await run_in_threadpool(
                partial(keys.ensure_key, tenant, tenant=tenant, actor="sumun-gateway")
            )

    def _completed(
        self,
        ctx: _Context,
        *,
        status: int,
        outcome: str,
        attempt: Attempt | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        payload: bytes | None = None,
        payload_size: int | None = None,
        answer: tuple[AnswerFilter, AnswerFilter] | None = None,
    ) -> None:
        """Queue the `request-completed` entry (durable within the ledger's batch delay).

        The answer kept as its payload is capped at `ledger_payload_max_bytes` for streamed and
        whole answers alike; a cut is recorded (`payload_truncated_from`: the answer's size).
        """
        if ctx.admitted_seq is None or ctx.principal is None or ctx.completed:
            return
        ctx.completed = True
        size = payload_size if payload_size is not None else len(payload or b"")
        payload, truncated_from = cap_payload(payload, size, self.ledger_payload_max_bytes)
        meta = completed_entry(
            ctx.principal,
            ctx.decision,
            status=status,
            outcome=outcome,
            admitted_seq=ctx.admitted_seq,
            attempt=attempt,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_us=int((time.perf_counter() - ctx.started) * 1e6),
            request_id=ctx.request_id,
            time_ms=_now_ms(),
            answer=answer,
            payload_truncated_from=truncated_from,
        )
        self.usage.record(meta, ctx.decision, status)
        try:
            try:
                self.runtime.ledger.submit(meta, payload, key_id=ctx.principal.tenant)
            except SealedError:  # sealed before it ended (gateway/inflight.py): no payload
                self.runtime.ledger.submit(
                    replace(meta, attrs={**meta.attrs, "payload_dropped": "sealed"})
                )
        except SumunError as exc:
            # The ledger is closed: the admitted entry stands; the gap (admitted without
            # completed) is itself visible in the log. (A failing store spools it instead.)
            self.metrics.upstream_errors.labels("ledger", "completed-not-recorded").inc()
            _log.warning("request %s: its completion was not recorded: %s", ctx.request_id, exc)
        if ctx.ticket is not None:
            self.inflight.close(ctx.ticket)  # its ending is recorded: `sumun seal` may go on

    def _headers(self, ctx: _Context, attempt: Attempt | None) -> dict[str, str]:
        headers = {
            "x-sumun-request-id": ctx.request_id,
            "x-sumun-ai-generated": "true",
            "x-sumun-decision": ctx.decision.action if ctx.decision else "allow",
        }
        if ctx.admitted_seq is not None:
            headers["x-sumun-ledger-seq"] = str(ctx.admitted_seq)
        if attempt is not None:
            headers["x-sumun-provider"] = attempt.provider
        if ctx.headroom is not None:
            headers.update(ctx.headroom.headers())
        return headers

    @staticmethod
    def _allowed(ctx: _Context) -> frozenset[str] | None:
        return frozenset(ctx.decision.providers) if ctx.decision else None

    def _notice(self, ctx: _Context) -> str | None:
        tenant = ctx.tenant
        if tenant is None or not tenant.ai_notice:
            return None
        return tenant.notice_text or DEFAULT_NOTICE

    def _account(
        self, ctx: _Context, attempt: Attempt, tokens_in: int | None, tokens_out: int | None
    ) -> None:
        assert ctx.principal  # noqa: S101
        reported = tokens_in is not None or tokens_out is not None
        ctx.trace.usage(tokens_in, tokens_out)
        total = (tokens_in or 0) + (tokens_out or 0)
        # Nothing reported (a stream cut before its usage chunk): the reservation stands.
        self._settle(ctx, total if reported else ctx.reserved)
        holds, ctx.spend = ctx.spend, ()
        used = (tokens_in or 0, tokens_out or 0) if reported else None
        self.spend.account(
            ctx.principal, holds, provider=attempt.provider, model=attempt.model, tokens=used
        )
        if tokens_in:
            self.metrics.tokens.labels("in", attempt.provider, ctx.principal.tenant).inc(tokens_in)
        if tokens_out:
            self.metrics.tokens.labels("out", attempt.provider, ctx.principal.tenant).inc(
                tokens_out
            )

    # -- non-streaming -----------------------------------------------------------------------

    async def _complete(self, ctx: _Context, call: Call) -> Response:
        async def send(adapter: ProviderAdapter, c: Call) -> Reply:
            return await adapter.complete(c)

        traced = ctx.trace.around(send)
        reply, attempt = await self.router.run(call.body["model"], call, traced, self._allowed(ctx))
        self._account(ctx, attempt, reply.usage.tokens_in, reply.usage.tokens_out)
        answer = dict(reply.body)
        scan, restore = filters = self._filters(ctx, attempt.provider)
        if scan.active:
            rewrite_body(answer, call.endpoint, scan)
        if scan.blocked:
            self._completed(
                ctx,
                status=403,
                outcome="withheld",
                attempt=attempt,
                tokens_in=reply.usage.tokens_in,
                tokens_out=reply.usage.tokens_out,
                payload=orjson.dumps(answer),
                answer=filters,
            )
            raise ForbiddenError(
                f"the answer was withheld: rule {scan.blocked} found personal data in it"
            )
        # The ledger keeps the answer as the model gave it (output PII masked, tokens not yet
        # restored): the originals stay with the caller and the sealed token table only.
        recorded = orjson.dumps(answer) if restore.active else None
        if restore.active:
            rewrite_body(answer, call.endpoint, restore)
        body = label_body(
            answer,
            call.endpoint,
            notice=self._notice(ctx),
            meta={
                "ledger_seq": ctx.admitted_seq,
                "decision": ctx.decision.action if ctx.decision else "allow",
                "request_id": ctx.request_id,
            },
        )
        raw = orjson.dumps(body)
        self._completed(
            ctx,
            status=reply.status,
            outcome="ok",
            attempt=attempt,
            tokens_in=reply.usage.tokens_in,
            tokens_out=reply.usage.tokens_out,
            payload=recorded or raw,
            answer=filters,
        )
        self._observe(ctx, reply.status, attempt.provider, stream=False)
        return Response(
            raw,
            status_code=reply.status,
            media_type="application/json",
            headers=self._headers(ctx, attempt),
        )

    # -- streaming ---------------------------------------------------------------------------

    async def _stream(self, ctx: _Context, call: Call, ticket: Ticket) -> Response:
        async def send(adapter: ProviderAdapter, c: Call) -> StreamReply:
            return await adapter.stream(c)

        traced = ctx.trace.around(send)
        reply, attempt = await self.router.run(call.body["model"], call, traced, self._allowed(ctx))
        notice = self._notice(ctx)
        scan, restore = filters = self._filters(ctx, attempt.provider)
        transcript = bytearray()
        streamed = [0]
        keep = self.ledger_payload_max_bytes

        async def tap(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            # The ledger keeps the stream as the model sent it, output PII masked, before
            # pseudonyms are restored (see _complete) — up to the payload cap.
            async for chunk in source:
                streamed[0] += len(chunk)
                if len(transcript) < keep:
                    transcript.extend(chunk[: keep - len(transcript)])
                yield chunk

        chunks: AsyncIterator[bytes] = reply.chunks
        if scan.active:
            chunks = rewrite_stream(chunks, call.endpoint, call.wire, scan)
        chunks = tap(chunks)
        if restore.active:
            chunks = rewrite_stream(chunks, call.endpoint, call.wire, restore)
        if notice:
            chunks = notice_stream(chunks, call.endpoint, notice)

        async def body() -> AsyncIterator[bytes]:
            outcome, status = "ok", 200
            whole = False  # the terminal event went out: the answer reached the client whole
            try:
                async for chunk in until_stopped(ticket, chunks):
                    yield chunk
                    whole = whole or any(end in chunk for end in _TERMINAL[call.wire])
            except UpstreamError as exc:
                outcome, status = f"stream-cut-{exc.kind}", exc.status
                self.metrics.upstream_errors.labels(attempt.provider, exc.kind).inc()
                yield stream_error(call.wire, exc)
            except StoppedError as exc:
                outcome, status = exc.outcome, 503
                yield stream_error(call.wire, exc)
            except (asyncio.CancelledError, GeneratorExit):
                # A client that hangs up after the terminal event (the openai SDK does, at once)
                # got everything: that is a complete answer, not a disconnect.
                if not whole:
                    outcome, status = self._cancelled()
                raise
            finally:
                await reply.chunks.aclose()
                self._account(ctx, attempt, reply.usage.tokens_in, reply.usage.tokens_out)
                self._completed(
                    ctx,
                    status=status,
                    outcome=outcome,
                    attempt=attempt,
                    tokens_in=reply.usage.tokens_in,
                    tokens_out=reply.usage.tokens_out,
                    payload=bytes(transcript),
                    payload_size=streamed[0],
                    answer=filters,
                )
                self._observe(ctx, status, attempt.provider, stream=True)

        ticket.hand_over()
        return StreamingResponse(
            body(), media_type="text/event-stream", headers=self._headers(ctx, attempt)
        )

    # -- errors ------------------------------------------------------------------------------

    def _observe(self, ctx: _Context, status: int, provider: str, *, stream: bool) -> None:
        self.metrics.requests.labels(ctx.endpoint, str(status), provider).inc()
        self.metrics.latency.labels(ctx.endpoint, str(stream).lower()).observe(
            time.perf_counter() - ctx.started
        )
        ctx.trace.end(ctx, status, provider)

    def _fail(self, ctx: _Context, exc: Exception, refused_seq: int | None = None) -> Response:
        status, message, code = classify_failure(exc)
        if status == 500:  # a defect of ours, not the caller's: say where (never the content)
            _log.error("request %s: internal error", ctx.request_id, exc_info=exc)
        headers = {"x-sumun-request-id": ctx.request_id}
        if isinstance(exc, RateLimitedError):
            headers["retry-after"] = str(max(1, int(exc.retry_after + 0.999)))
            headers.update(exc.headers)
        elif ctx.headroom is not None:  # admitted, then failed: what it used still counts
            headers.update(ctx.headroom.headers())
        if isinstance(exc, BudgetExceededError):
            headers["x-should-retry"] = "false"  # waiting does not refill a budget
        if status == 503 and not isinstance(exc, UpstreamError):
            headers["retry-after"] = "5"
        seq = ctx.admitted_seq if ctx.admitted_seq is not None else refused_seq
        if seq is not None:
            headers["x-sumun-ledger-seq"] = str(seq)
        if isinstance(exc, UpstreamError):
            self.metrics.upstream_errors.labels(exc.provider, exc.kind).inc()
        if isinstance(exc, AuthError):
            self.metrics.count_auth_failure(exc)  # counted, never written: no caller is known
        kind = exc.kind if isinstance(exc, UpstreamError) else type(exc).__name__
        outcome = exc.outcome if isinstance(exc, StoppedError) else f"error-{kind}"
        self._completed(ctx, status=status, outcome=outcome)
        ctx.trace.failed(exc)
        self._observe(ctx, status, getattr(exc, "provider", "none"), stream=False)
        return error_response(ctx.wire, status, message, code=code, headers=headers)
