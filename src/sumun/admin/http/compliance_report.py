"""The compliance report over the admin API, served from a per-process cache.

The report is `sumun comply report --json`, built by the same code (`comply.live.
assess_deployment`). Building it verifies the whole ledger, which takes tens of seconds at a
million entries, so the API does not build it per request: each admin process keeps the last
report it computed (`compliance_cache.ReportCache`), warms it in the background 30 s after the
app is built (or at the first request for it), refreshes it in the background once it is older
than five minutes or when asked (`POST /compliance/report/refresh`, or `?refresh=true`), and
says in the answer's `cache` object when it was computed and over how many ledger entries.

Before the first report of the process exists, the API answers 503 `ReportPreparing` (a
client asks again shortly; `?wait=` seconds lets it wait for the computation instead). The
console shows "being prepared" and reloads itself. The CLI (`sumun comply report`) is a
one-shot process and always computes a fresh report.

Operator tenant only: the report names every tenant, provider and key.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sumun.admin.http.compliance_cache import ReportCache, Snapshot
from sumun.admin.http.context import AdminContext
from sumun.admin.http.inputs import NoBody, NoQuery, QueryModel
from sumun.admin.http.operation import Call, Operation, Text
from sumun.comply.live import assess_deployment, key_origin
from sumun.comply.report import Report, render_html
from sumun.config import Settings
from sumun.errors import SumunError
from sumun.store.model import Permission

__all__ = [
    "OPERATIONS",
    "CacheState",
    "ComplianceReport",
    "ReportPreparingError",
    "ReportQuery",
    "report_cache",
    "warm",
]

RETRY_AFTER_S = 5  # the page reloads itself at the same pace
# The first report starts this long after the admin app is built: a node that starts (or
# restarts in a rolling restart) serves traffic first, and its ledger verification — tens of
# seconds of CPU at a million entries — does not compete with its start-up.
WARM_DELAY_S = 30.0
MAX_AGE_S = 300.0  # a report older than this is served as stale and refreshed in the background
_KEYS_WHERE = "this Sumun node (admin API)"


class ReportPreparingError(SumunError):
    """No report yet in this process: the first one is being computed, or failed (503)."""

    status = 503

    def __init__(
        self, message: str, *, ledger_size: int, failed: str | None = None, advice: str | None
    ) -> None:
        super().__init__(message, advice=advice)
        self.ledger_size = ledger_size
        self.failed = failed
        # While it is being prepared, ask again in a few seconds; a failed one waits for a retry.
        self.headers = {"retry-after": str(RETRY_AFTER_S)} if failed is None else {}


class CacheState(BaseModel):
    """Where this answer's report comes from (added to the CLI's JSON; not in CONTRACTS.md)."""

    computed_at: str = Field(description="when the report's state was read (UTC, ISO 8601)")
    computed_seconds: float = Field(description="how long building it took")
    ledger_size: int = Field(description="the ledger entries it verified")
    ledger_size_now: int = Field(description="the ledger's size at this answer")
    age_seconds: float
    stale: bool = Field(description="older than the freshness bound (300 s): a refresh runs")
    refreshing: bool = Field(description="a newer report is being computed in the background")
    refresh_error: str | None = Field(description="the last refresh's failure, if it failed")


class ComplianceReport(BaseModel):
    """`sumun comply report --json` plus `cache`: the CLI's keys are stable (CONTRACTS.md)."""

    model_config = ConfigDict(extra="allow")

    format: str
    generated_at: str
    disclaimer: dict[str, str]
    deployment: dict[str, Any]
    catalog: list[dict[str, Any]]
    summary: dict[str, Any]
    requirements: list[dict[str, Any]]
    cache: CacheState


class ReportQuery(QueryModel):
    refresh: bool = Field(default=False, description="start a new computation in the background")
    wait: float = Field(
        default=0.0,
        ge=0.0,
        le=120.0,
        description="seconds to wait for a running computation to finish (default: answer now)",
    )


class RefreshState(BaseModel):
    refreshing: bool
    started_at: str | None
    last_computed_at: str | None
    ledger_size_now: int


# -- one cache per admin context (one per process in practice) -----------------------------------

_CACHES: dict[int, tuple[AdminContext, ReportCache[Report]]] = {}
_CACHES_LOCK = threading.Lock()


def _worker(out: Connection, settings: Settings, status: Mapping[str, Any], origin: str) -> None:
    """In the worker process: the report, exactly as the CLI builds it, sent back."""
    try:
        out.send(("report", assess_deployment(settings, key_status=status, key_origin=origin)))
    except Exception as exc:  # sent back: the parent keeps it as the computation's error
        out.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        out.close()


def _build(ctx: AdminContext) -> tuple[Report, int]:
    """The report, computed in a separate (spawned) process: verifying a large ledger is
    CPU-bound Python, and run in a thread here it would hold the GIL against every page and
    API call this process answers meanwhile. The key status is this node's, read here. The
    worker is a daemon: stopping the admin process ends a computation under way."""
    status = ctx.keys.status().to_json()
    origin = key_origin(status, _KEYS_WHERE)
    spawn = multiprocessing.get_context("spawn")  # never fork a process that runs threads
    back, out = spawn.Pipe(duplex=False)
    worker = spawn.Process(
        target=_worker,
        args=(out, ctx.settings, status, origin),
        name="sumun-compliance-report",
        daemon=True,
    )
    worker.start()
    out.close()
    try:
        kind, value = back.recv()
    except EOFError:
        worker.join(5)
        raise RuntimeError(f"the report worker ended (exit code {worker.exitcode})") from None
    finally:
        back.close()
    worker.join(30)
    if kind != "report" or not isinstance(value, Report):
        raise RuntimeError(str(value))
    return value, value.facts.ledger.size


def report_cache(ctx: AdminContext) -> ReportCache[Report]:
    """This context's cache (created on first use; the context is kept alive with it)."""
    with _CACHES_LOCK:
        held = _CACHES.get(id(ctx))
        if held is None or held[0] is not ctx:
            held = (ctx, ReportCache(lambda: _build(ctx), max_age=MAX_AGE_S))
            _CACHES[id(ctx)] = held
        return held[1]


def warm(ctx: AdminContext, *, delay: float = WARM_DELAY_S) -> None:
    """Start the first computation in the background after `delay` seconds (sooner if someone
    asks for the report first), so that the first view usually finds it ready."""
    if delay <= 0:
        report_cache(ctx).snapshot()
        return
    timer = threading.Timer(delay, lambda: report_cache(ctx).snapshot())
    timer.daemon = True  # a node that stops before then does not wait for it
    timer.start()


# -- the operations ------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ready(ctx: AdminContext, query: ReportQuery) -> tuple[Report, Snapshot[Report]]:
    cache = report_cache(ctx)
    snap = cache.snapshot(refresh=query.refresh)
    if query.wait > 0 and snap.refreshing:
        snap = cache.wait(query.wait)
    if snap.last is None:
        size = ctx.ledger.store.size()
        if snap.error is not None and not snap.refreshing:
            raise ReportPreparingError(
                f"the report could not be computed: {snap.error}",
                ledger_size=size,
                failed=snap.error,
                advice="see the admin process's log; ask with ?refresh=true to try again",
            )
        raise ReportPreparingError(
            f"the report is being prepared: verifying {size:,} ledger entries",
            ledger_size=size,
            advice="ask again in a few seconds, or pass ?wait=SECONDS",
        )
    return snap.last.value, snap


def _state(ctx: AdminContext, snap: Snapshot[Report]) -> CacheState:
    assert snap.last is not None  # noqa: S101 - _ready answers only with a report
    last = snap.last
    now = dt.datetime.now(dt.UTC).timestamp()
    return CacheState(
        computed_at=_iso(last.computed_at),
        computed_seconds=round(last.seconds, 3),
        ledger_size=last.ledger_size,
        ledger_size_now=ctx.ledger.store.size(),
        age_seconds=round(max(0.0, now - last.computed_at), 1),
        stale=snap.stale,
        refreshing=snap.refreshing,
        refresh_error=snap.error,
    )


def get_report(ctx: AdminContext, call: Call[ReportQuery, NoBody]) -> ComplianceReport:
    report, snap = _ready(ctx, call.query)
    return ComplianceReport.model_validate(
        {**report.to_json(), "cache": _state(ctx, snap).model_dump()}
    )


def get_report_html(ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> Text:
    report, _snap = _ready(ctx, ReportQuery())
    return Text(render_html(report).encode("utf-8"), "text/html; charset=utf-8")


def refresh_report(ctx: AdminContext, _call: Call[NoQuery, NoBody]) -> RefreshState:
    snap = report_cache(ctx).refresh()
    return RefreshState(
        refreshing=snap.refreshing,
        started_at=None if snap.refresh_started_at is None else _iso(snap.refresh_started_at),
        last_computed_at=None if snap.last is None else _iso(snap.last.computed_at),
        ledger_size_now=ctx.ledger.store.size(),
    )


_DESCRIPTION = (
    "Reads the deployment's real state (keys, a full ledger verification, the directory, "
    "policy, the latest scan, the register) and assesses every requirement — in the "
    "background: the answer is this process's last report (`cache` says when it was computed "
    "and over how many ledger entries), refreshed once older than 300 s or on `refresh=true`. "
    "Before the first report exists: 503 `ReportPreparing` (ask again, or pass `wait`). Names "
    "every tenant: operator tenant only. Guidance with sources, not legal advice."
)

OPERATIONS: tuple[Operation[Any, Any], ...] = (
    Operation(
        "GET", "/compliance/report", "getComplianceReport",
        "The compliance report, as `sumun comply report --json`, from the report cache",
        "compliance", Permission.READ_CONTROL, ReportQuery, NoBody, ComplianceReport,
        get_report, scope="deployment", description=_DESCRIPTION,
    ),
    Operation(
        "GET", "/compliance/report.html", "getComplianceReportHtml",
        "The compliance report as one printable HTML page (Korean and English)",
        "compliance", Permission.READ_CONTROL, NoQuery, NoBody, None, get_report_html,
        scope="deployment", media_type="text/html",
        description="Self-contained (inline CSS, no script): save it and open or print it. "
        "The cached report, as for getComplianceReport (503 `ReportPreparing` before the first).",
    ),
    Operation(
        "POST", "/compliance/report/refresh", "refreshComplianceReport",
        "Compute a new compliance report in the background", "compliance",
        Permission.READ_CONTROL, NoQuery, NoBody, RefreshState, refresh_report,
        scope="deployment", status=202,
        description="Starts a computation unless one runs already (never two at once); "
        "`getComplianceReport` serves the new report once it is done. Changes nothing, so it "
        "is not recorded in the ledger.",
    ),
)  # fmt: skip
