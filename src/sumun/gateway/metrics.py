"""Prometheus metrics, one registry per app instance (no module-level mutable state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sumun_requests_total",
            "Requests answered, by endpoint, status and provider",
            ["endpoint", "status", "provider"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sumun_request_seconds",
            "Time from request received to response complete",
            ["endpoint", "stream"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "sumun_tokens_total",
            "Tokens reported by providers",
            ["direction", "provider", "tenant"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "sumun_decisions_total",
            "Admission decisions",
            ["decision"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "sumun_upstream_errors_total",
            "Upstream failures by provider and kind",
            ["provider", "kind"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
