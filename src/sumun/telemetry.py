"""The OpenTelemetry SDK's setup and shutdown for one node (`telemetry.traces` in sumun.yaml,
docs/observability.md).

`start(settings)` returns a `Telemetry`: the gateway's `Tracer` (gateway/tracing.py) and what
flushes and stops the exporter at shutdown. With `exporter: none` (the default) nothing of
OpenTelemetry is imported and the tracer hands out no-op traces. Otherwise:

- a `TracerProvider` of this node's own (the process-global one is left alone), resource
  `service.name` = `service_name`, `service.version` = Sumun's version;
- sampling `ParentBased(TraceIdRatioBased(sample_ratio))`: a caller's sampled `traceparent`
  is followed, a new trace is kept with probability `sample_ratio`;
- a `BatchSpanProcessor` to the OTLP/HTTP (protobuf) or OTLP/gRPC exporter. The batching
  knobs are the SDK's `OTEL_BSP_*` environment variables.

Export runs on the SDK's own thread; a collector that is down costs dropped spans, never a
failed request. Headers (an auth token) are read from the environment variable the file
names, never from the file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sumun.config import Settings, TracesConfig
from sumun.errors import ConfigError
from sumun.gateway.tracing import Tracer

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Telemetry", "start"]

log = logging.getLogger("sumun.telemetry")


@dataclass
class Telemetry:
    tracer: Tracer = field(default_factory=Tracer)
    _shutdown: Callable[[], Any] | None = None

    def shutdown(self) -> None:
        """Export the spans still queued, then stop the exporter (blocking; bounded by the
        exporter's timeout). Idempotent."""
        stop, self._shutdown = self._shutdown, None
        if stop is None:
            return
        try:
            stop()
        except Exception:  # pragma: no cover - a failing exporter must not fail the shutdown
            log.warning("the trace exporter did not shut down cleanly", exc_info=True)


def start(settings: Settings) -> Telemetry:
    """The node's telemetry per `settings.telemetry` (module docstring)."""
    conf = settings.telemetry.traces
    if conf.exporter == "none":
        return Telemetry()
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        from sumun.gateway.tracing_otel import OtelSpans
    except ImportError as exc:
        raise ConfigError(
            f"telemetry.traces.exporter is {conf.exporter!r} but the OpenTelemetry SDK is not "
            "installed",
            advice="install the extra: pip install 'sumun[otel]' (or set exporter: none)",
        ) from exc
    version = _version()
    provider = TracerProvider(
        resource=Resource.create({"service.name": conf.service_name, "service.version": version}),
        sampler=ParentBased(TraceIdRatioBased(conf.sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(_exporter(conf, settings)))
    tracer = provider.get_tracer("sumun.gateway", version)
    kinds = {p.name: p.kind for p in settings.providers}
    return Telemetry(Tracer(OtelSpans(tracer, kinds)), provider.shutdown)


def _version() -> str:
    try:
        return metadata.version("sumun")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _exporter(conf: TracesConfig, settings: Settings) -> Any:
    headers = _headers(conf, settings)
    ca = None if conf.ca_file is None else _config_path(settings, conf.ca_file)
    if ca is not None and not ca.is_file():
        raise ConfigError(f"telemetry.traces.ca_file not found: {ca}")
    if conf.exporter == "otlp-http":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter(
            endpoint=None if conf.endpoint is None else _http_traces_url(conf.endpoint),
            certificate_file=None if ca is None else str(ca),
            headers=headers,
            timeout=conf.timeout_seconds,
        )
    from grpc import ssl_channel_credentials  # type: ignore[import-untyped]
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcExporter,
    )

    insecure = None
    if conf.endpoint is not None:
        insecure = urlsplit(conf.endpoint).scheme == "http"
    return GrpcExporter(
        endpoint=conf.endpoint,
        insecure=insecure,
        credentials=None if ca is None else ssl_channel_credentials(ca.read_bytes()),
        headers=headers,
        timeout=conf.timeout_seconds,
    )


def _http_traces_url(endpoint: str) -> str:
    """The collector's base URL → its OTLP/HTTP traces URL (a full one is kept)."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def _headers(conf: TracesConfig, settings: Settings) -> dict[str, str] | None:
    """`name=value,name2=value2` from the variable `headers_env` (values percent-decoded)."""
    if conf.headers_env is None:
        return None
    raw = settings.secret_from_env(conf.headers_env)
    if raw is None:
        raise ConfigError(
            f"telemetry.traces.headers_env names {conf.headers_env}, which is not set",
            advice=f"export {conf.headers_env}='name=value' or remove headers_env",
        )
    headers: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            # The value may be a secret: say which variable, never what it holds.
            raise ConfigError(
                f"{conf.headers_env} must be name=value pairs separated by commas",
                advice="e.g. authorization=Bearer%20TOKEN (values percent-encoded)",
            )
        headers[name.strip().lower()] = unquote(value.strip())
    return headers


def _config_path(settings: Settings, given: Path) -> Path:
    if not given.is_absolute() and settings.config_file is not None:
        return settings.config_file.parent / given
    return given
