"""Prometheus metrics, one registry per app instance (no module-level mutable state)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sumun.errors import AuthError
from sumun.ledger.outage import SpoolStats

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
        # 401s are counted here, never written to the ledger one by one: an unauthenticated
        # caller must not be able to grow the ledger (refusals of known callers are recorded).
        self.auth_failures = Counter(
            "sumun_auth_failures_total",
            "Requests refused 401 before a caller was known, by reason",
            ["reason"],
            registry=self.registry,
        )
        # Spend at the operator's prices (sumun.gateway.spend), in whole units of its currency;
        # by app as well as tenant (apps are few; keys are not labelled, as elsewhere).
        self.spend = Counter(
            "sumun_spend_total",
            "Cost of answers at the configured prices, in whole KRW or USD",
            ["tenant", "app", "currency"],
            registry=self.registry,
        )
        self.unpriced = Counter(
            "sumun_unpriced_answers_total",
            "Answers whose cost is unknown: no price for the model that served them",
            ["tenant", "provider", "model"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "sumun_refusals_total",
            "Refusals of authenticated callers before admission, by rule, and how recorded",
            ["rule", "recorded"],
            registry=self.registry,
        )

    def follow_ledger(self, stats: Callable[[], SpoolStats]) -> None:
        """Report the ledger's spool (sumun.ledger.outage): read at every scrape."""
        self.registry.register(_SpoolCollector(stats))

    def count_auth_failure(self, exc: AuthError) -> None:
        """One 401: `missing`, `revoked` or `invalid` (malformed, unknown and wrong keys)."""
        self.auth_failures.labels(exc.reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _SpoolCollector(Collector):
    def __init__(self, stats: Callable[[], SpoolStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        now = self._stats()
        for name, text, value in (
            (
                "spooled",
                "Ledger entries the store could not take, kept in the local spool",
                now.spooled,
            ),
            ("replayed", "Spooled ledger entries appended once the store took them", now.replayed),
            ("lost", "Ledger entries neither recorded nor spooled", now.lost),
        ):
            yield CounterMetricFamily(f"sumun_ledger_{name}_entries", text, value=value)
        yield GaugeMetricFamily(
            "sumun_ledger_spool_depth", "Ledger entries waiting in the spool", value=now.depth
        )
