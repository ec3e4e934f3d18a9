"""What one gateway request reports about itself: a trace (OpenTelemetry, when on) and a
`request` log event (when `sumun.request` logs at info), never its content.

The pipeline holds a `Tracer` and asks it, per request, for a `RequestTrace`; it then calls a
few hooks on it — `around(send)` for the upstream attempts, `usage`, `failed`, and `end` once
the request is answered. With traces off and the request log quiet (the default) `begin`
returns one shared do-nothing object: the hot path pays a method call per hook and allocates
nothing (docs/observability.md has the measurement).

The OpenTelemetry side lives in `gateway/tracing_otel.py`, imported only when traces are on
(sumun.telemetry builds it), so a gateway without traces never imports the SDK.

What may be reported is fixed here: ids, names the operator configured (tenant, app, model
alias, provider), the decision and data class, token counts, status and timing. The model
name is reported only once routing found it (an unknown model's name is the caller's text).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from sumun.gateway.upstream.base import Call, Endpoint, ProviderAdapter, UpstreamError

if TYPE_CHECKING:
    from sumun.gateway.admission import Decision
    from sumun.gateway.wire import ParsedCall
    from sumun.store.model import Principal

__all__ = [
    "NO_TRACE",
    "REQUEST_LOGGER",
    "RequestTrace",
    "RequestView",
    "SpanSource",
    "Tracer",
    "error_type",
    "request_fields",
]

REQUEST_LOGGER = "sumun.request"
_log = logging.getLogger(REQUEST_LOGGER)

T = TypeVar("T")
Send = Callable[[ProviderAdapter, Call], Awaitable[T]]  # one upstream attempt (router.run)


class RequestView(Protocol):
    """What `end` reads of the pipeline's per-request context (gateway/pipeline.py)."""

    @property
    def request_id(self) -> str: ...
    @property
    def started(self) -> float: ...
    @property
    def endpoint(self) -> Endpoint: ...
    @property
    def principal(self) -> Principal | None: ...
    @property
    def parsed(self) -> ParsedCall | None: ...
    @property
    def decision(self) -> Decision | None: ...
    @property
    def admitted_seq(self) -> int | None: ...


def error_type(exc: BaseException) -> str:
    """A short, content-free name for why a request failed: an upstream failure's kind
    ("rate_limited", "timeout", …), else the exception's class name."""
    if isinstance(exc, UpstreamError):
        return exc.kind
    return type(exc).__name__


def request_fields(
    view: RequestView, status: int, provider: str, error: str | None
) -> dict[str, str | int | float]:
    """The fields of a request's log event and span (sumun.logs.REQUEST_FIELDS), content-free."""
    fields: dict[str, str | int | float] = {
        "request_id": view.request_id,
        "endpoint": view.endpoint,
        "status": status,
        "latency_ms": round((time.perf_counter() - view.started) * 1000, 2),
    }
    principal, decision = view.principal, view.decision
    if principal is not None:
        fields["tenant"] = principal.tenant
        if principal.app:
            fields["app"] = principal.app
    if decision is not None:  # routed: the alias is one the operator configured
        fields["decision"] = decision.action
        if decision.data_class:
            fields["data_class"] = decision.data_class
        if view.parsed is not None:
            fields["model"] = view.parsed.model
    if provider and provider != "none":
        fields["provider"] = provider
    if view.admitted_seq is not None:
        fields["ledger_seq"] = view.admitted_seq
    if error is not None:
        fields["error_type"] = error
    elif status >= 400:
        fields["error_type"] = str(status)
    return fields


def log_request(fields: Mapping[str, str | int | float]) -> None:
    """The `request` event: one line per answered request (sumun.logs formats it)."""
    _log.info(
        "request %s %s tenant=%s decision=%s status=%s latency_ms=%s",
        fields["request_id"],
        fields["endpoint"],
        fields.get("tenant", "-"),
        fields.get("decision", "-"),
        fields["status"],
        fields["latency_ms"],
        extra={"event": "request", **fields},
    )


class RequestTrace:
    """One request's hooks. This base does nothing: it is the shared object handed out when
    neither traces nor the request log are on (`NO_TRACE`)."""

    __slots__ = ()

    def around(self, send: Send[T]) -> Send[T]:
        """`send` (one upstream attempt), traced; here: `send` itself."""
        return send

    def usage(self, tokens_in: int | None, tokens_out: int | None) -> None:
        """The tokens the provider reported for the answer."""

    def failed(self, exc: BaseException) -> None:
        """Why the request failed (before `end`)."""

    def end(self, view: RequestView, status: int, provider: str) -> None:
        """The request is answered (or given up): report it. Called once; later calls no-op."""


NO_TRACE = RequestTrace()


class _Logged(RequestTrace):
    """The request log on, traces off: remember the failure, log at the end."""

    __slots__ = ("_ended", "_error")

    def __init__(self) -> None:
        self._error: str | None = None
        self._ended = False

    def failed(self, exc: BaseException) -> None:
        self._error = error_type(exc)

    def end(self, view: RequestView, status: int, provider: str) -> None:
        if self._ended:
            return
        self._ended = True
        log_request(request_fields(view, status, provider, self._error))


class SpanSource(Protocol):
    """Where traced requests come from (gateway/tracing_otel.py)."""

    def begin(
        self, headers: Mapping[str, str], endpoint: Endpoint, *, log: bool
    ) -> RequestTrace: ...


class Tracer:
    """Hands each request its `RequestTrace`: traced when `spans` is given (traces on), logged
    when `sumun.request` is enabled for info, else `NO_TRACE`."""

    __slots__ = ("spans",)

    def __init__(self, spans: SpanSource | None = None) -> None:
        self.spans = spans

    def begin(self, headers: Mapping[str, str], endpoint: Endpoint) -> RequestTrace:
        log = _log.isEnabledFor(logging.INFO)
        if self.spans is not None:
            return self.spans.begin(headers, endpoint, log=log)
        return _Logged() if log else NO_TRACE
