"""Running it: traces (`telemetry`), logs (`logging`) and the compliance report's naming
(`comply`) — docs/observability.md, docs/compliance.md."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from sumun.config._base import _Strict


class ComplyConfig(_Strict):
    """`sumun comply report` (docs/compliance.md): how the report names this deployment, and
    where its models live.

    `system_name` heads the report (None: "Sumun at <hostname>"). `model_paths` are the
    directories or files holding the deployment's models (relative to the config file's
    folder); a recorded scan of a path under none of them is shown as an "other scan" and
    does not count against the deployment. Empty: every recorded scan counts.
    """

    system_name: str | None = Field(default=None, min_length=1, max_length=200)
    model_paths: tuple[Path, ...] = ()


class TracesConfig(_Strict):
    """OpenTelemetry traces of the request path over OTLP (docs/observability.md); off by
    default. Spans carry the GenAI semantic conventions and Sumun's decision, never content.

    `endpoint`: the collector's base URL (OTLP/HTTP: `/v1/traces` is added unless given; gRPC:
    `http://host:4317`, plain only for an http:// URL). None: the exporter's default (or the
    OTEL_EXPORTER_OTLP_* environment). Headers (e.g. an auth token) come from the environment
    variable `headers_env` ("name=value,name2=value2", as OTEL_EXPORTER_OTLP_HEADERS), never the
    file. Needs the `otel` extra (`pip install 'sumun[otel]'`).
    """

    exporter: Literal["none", "otlp-http", "otlp-grpc"] = "none"
    endpoint: str | None = None
    headers_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    ca_file: Path | None = None  # a CA bundle (PEM) for an https endpoint; None: the system's
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
    service_name: str = Field(default="sumun", min_length=1, max_length=200)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _endpoint_is_a_url(self) -> TracesConfig:
        if self.endpoint is not None:
            parsed = urlsplit(self.endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError("telemetry.traces.endpoint must be an http:// or https:// URL")
            if parsed.username or parsed.password or parsed.query or parsed.fragment:
                raise ValueError(
                    "telemetry.traces.endpoint must have no credentials, query or fragment "
                    "(headers come from headers_env)"
                )
        return self


class TelemetryConfig(_Strict):
    traces: TracesConfig = TracesConfig()


class LoggingConfig(_Strict):
    """Log lines on stderr (sumun.logs): `text`, or `json` — one object per line, with a
    per-request event at info. None level: info for json, warning for text."""

    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] | None = None
