"""Gateway requests as OpenTelemetry spans (imported only when traces are on; see
gateway/tracing.py for the hooks and sumun.telemetry for the SDK's setup).

One SERVER span per request, named `{operation} {model alias}` (GenAI semantic conventions),
its parent taken from an incoming W3C `traceparent`; one CLIENT child per upstream attempt,
named `{operation} {upstream model}` — a failover shows as two children, the first with its
`error.type`. A streamed answer's attempt span lasts until the stream ends.

Attributes (never content — no prompt, answer, key or personal data):

    gen_ai.operation.name        chat | embeddings
    gen_ai.provider.name         openai, anthropic, azure.ai.openai, aws.bedrock, gcp.gemini, …
    gen_ai.request.model         server: the alias asked for; client: the provider's model
    gen_ai.response.model        the model the provider says answered (whole answers)
    gen_ai.usage.input_tokens / gen_ai.usage.output_tokens
    http.response.status_code    server: what the client got; client: what the provider said
    error.type                   an upstream failure's kind, the refusal's class, or the status
    sumun.request_id, sumun.tenant, sumun.app, sumun.decision, sumun.data_class,
    sumun.pii_actions (types and actions only), sumun.ledger.seq, sumun.provider
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from sumun.gateway.tracing import (
    RequestTrace,
    RequestView,
    Send,
    T,
    error_type,
    log_request,
    request_fields,
)
from sumun.gateway.upstream.base import Call, Endpoint, ProviderAdapter, Reply, UpstreamError

__all__ = ["OtelSpans", "provider_system"]

_OPERATION: dict[str, str] = {
    "chat": "chat",
    "messages": "chat",
    "responses": "chat",
    "embeddings": "embeddings",
}
_ROUTE: dict[str, str] = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
}
# Provider kinds (config.ProviderConfig.kind) as the GenAI conventions name them.
_SYSTEMS: dict[str, str] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "clova": "naver.clova",
    "demo": "sumun.demo",
}
# The request-log field → span attribute (the rest are set on their own).
_SPAN_ATTRIBUTES = {
    "request_id": "sumun.request_id",
    "tenant": "sumun.tenant",
    "app": "sumun.app",
    "decision": "sumun.decision",
    "data_class": "sumun.data_class",
    "ledger_seq": "sumun.ledger.seq",
    "provider": "sumun.provider",
    "model": "gen_ai.request.model",
    "status": "http.response.status_code",
    "error_type": "error.type",
}


def provider_system(kind: str) -> str:
    """`gen_ai.provider.name` for a provider kind."""
    return _SYSTEMS.get(kind, kind)


class OtelSpans:
    """The traced `SpanSource`: spans from `tracer`; `kinds` maps provider name → kind."""

    def __init__(self, tracer: trace.Tracer, kinds: Mapping[str, str]) -> None:
        self._tracer = tracer
        self._kinds = dict(kinds)
        self._propagator = TraceContextTextMapPropagator()

    def begin(self, headers: Mapping[str, str], endpoint: Endpoint, *, log: bool) -> RequestTrace:
        parent = self._propagator.extract(headers)
        operation = _OPERATION[endpoint]
        span = self._tracer.start_span(
            operation,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "gen_ai.operation.name": operation,
                "http.request.method": "POST",
                "http.route": _ROUTE[endpoint],
            },
        )
        return _Traced(self, span, operation, log=log)

    def system(self, provider: str) -> str:
        return provider_system(self._kinds.get(provider, provider))

    def attempt(self, parent: Span, operation: str, provider: str, model: str) -> Span:
        return self._tracer.start_span(
            f"{operation} {model}",
            context=trace.set_span_in_context(parent, Context()),
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": operation,
                "gen_ai.provider.name": self.system(provider),
                "gen_ai.request.model": model,
                "sumun.provider": provider,
            },
        )


def _set_usage(span: Span, tokens_in: int | None, tokens_out: int | None) -> None:
    if tokens_in is not None:
        span.set_attribute("gen_ai.usage.input_tokens", tokens_in)
    if tokens_out is not None:
        span.set_attribute("gen_ai.usage.output_tokens", tokens_out)


def _fail(span: Span, kind: str) -> None:
    span.set_attribute("error.type", kind)
    span.set_status(Status(StatusCode.ERROR))


class _Traced(RequestTrace):
    __slots__ = ("_ended", "_error", "_log", "_open", "_operation", "_span", "_spans", "_tokens")

    def __init__(self, spans: OtelSpans, span: Span, operation: str, *, log: bool) -> None:
        self._spans = spans
        self._span = span
        self._operation = operation
        self._log = log
        self._open: Span | None = None  # a streamed answer's attempt, until the stream ends
        self._error: str | None = None
        self._tokens: tuple[int | None, int | None] = (None, None)
        self._ended = False

    def around(self, send: Send[T]) -> Send[T]:
        async def traced(adapter: ProviderAdapter, call: Call) -> T:
            provider = adapter.name
            model = call.body.get("model")
            span = self._spans.attempt(
                self._span, self._operation, provider, model if isinstance(model, str) else ""
            )
            try:
                result = await send(adapter, call)
            except UpstreamError as exc:
                _fail(span, exc.kind)
                span.end()
                raise
            except BaseException as exc:
                _fail(span, type(exc).__name__)
                span.end()
                raise
            if isinstance(result, Reply):
                span.set_attribute("http.response.status_code", result.status)
                answered = result.body.get("model")
                if isinstance(answered, str):
                    span.set_attribute("gen_ai.response.model", answered)
                    self._span.set_attribute("gen_ai.response.model", answered)
                _set_usage(span, result.usage.tokens_in, result.usage.tokens_out)
                span.end()
            else:  # a stream: its span ends with the stream (`end`)
                self._open = span
            return result

        return traced

    def usage(self, tokens_in: int | None, tokens_out: int | None) -> None:
        self._tokens = (tokens_in, tokens_out)

    def failed(self, exc: BaseException) -> None:
        self._error = error_type(exc)

    def end(self, view: RequestView, status: int, provider: str) -> None:
        if self._ended:
            return
        self._ended = True
        span = self._span
        fields = request_fields(view, status, provider, self._error)
        attributes: dict[str, str | int | float] = {
            attribute: fields[name]
            for name, attribute in _SPAN_ATTRIBUTES.items()
            if name in fields
        }
        if "provider" in fields:
            attributes["gen_ai.provider.name"] = self._spans.system(provider)
        decision = view.decision
        if decision is not None and decision.pii_actions:
            attributes["sumun.pii_actions"] = decision.pii_actions
        tokens_in, tokens_out = self._tokens
        if tokens_in is not None:
            attributes["gen_ai.usage.input_tokens"] = tokens_in
        if tokens_out is not None:
            attributes["gen_ai.usage.output_tokens"] = tokens_out
        span.set_attributes(attributes)
        if "model" in fields:
            span.update_name(f"{self._operation} {fields['model']}")
        if self._open is not None:
            _set_usage(self._open, *self._tokens)
            if status >= 400:
                _fail(self._open, str(fields.get("error_type", status)))
            self._open.end()
            self._open = None
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        if self._log:
            context = span.get_span_context()
            if context.is_valid:
                fields["trace_id"] = trace.format_trace_id(context.trace_id)
            log_request(fields)
