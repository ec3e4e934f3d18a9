"""The overview: what is cheap to know now — providers and what is cut off, tenants, the
ledger's size and last checkpoint, the key layer's seal state, the control store's health —
and usage over a window (1h, 24h, 7d) drawn as charts: requests, tokens, latency p50/p99,
decisions stacked over time, and breakdowns by tenant and by provider.

Each figure is read through the admin API's own operations; the charts come from the usage
rollup (`getUsage`, three reads of aggregates), so no view scans the ledger.
"""

from __future__ import annotations

from starlette.responses import Response

from sumun.admin.console import charts
from sumun.admin.console.charts import Series
from sumun.admin.console.i18n import Translate
from sumun.admin.console.web import Visit
from sumun.admin.http.providers import Providers
from sumun.admin.http.status import Status
from sumun.admin.http.tenants import Tenants
from sumun.admin.http.usage import WINDOWS, Spend, Usage, UsageQuery, UsageSeries
from sumun.gateway.spend import Money
from sumun.gateway.usage import DECISIONS

__all__ = ["overview"]

_TOP = 10  # groups drawn by name in a breakdown; the rest share one bar
_DEFAULT_WINDOW = "24h"


def milliseconds(value: float) -> str:
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.2f}".rstrip("0").rstrip(".") + " s"  # 1.25 s, 2.5 s, 5 s


def _figures(s: UsageSeries) -> dict[str, str]:
    p50, p99 = s.window_p50_ms, s.window_p99_ms
    return {
        "requests": f"{s.total_requests:,}",
        "errors": f"{s.total_errors:,}",
        "tokens": charts.compact(s.total_tokens_in + s.total_tokens_out),
        "tokens_in": charts.compact(s.total_tokens_in),
        "tokens_out": charts.compact(s.total_tokens_out),
        "p50": "—" if p50 is None else milliseconds(p50),
        "p99": "—" if p99 is None else milliseconds(p99),
    }


def spend_figure(t: Translate, spend: Spend) -> str:
    """The window's spend per currency ("₩12,340 · $1.25"), and answers of unknown cost."""
    parts: list[str] = []
    for currency in ("KRW", "USD"):
        micros = sum(line.micros for line in spend.tenants if line.currency == currency)
        if micros:
            parts.append(Money(currency, micros).text())
    unknown = sum(line.answers for line in spend.tenants if line.currency == "none")
    if unknown:
        parts.append(t("overview.usage.unpriced", n=f"{unknown:,}"))
    return " · ".join(parts) or "—"


def _time_charts(t: Translate, usage: Usage, window: str) -> list[dict[str, object]]:
    total, times, span = usage.total, usage.buckets, usage.span_seconds
    f = _figures(total)
    empty = t("overview.usage.empty")
    requests = [
        Series(t("overview.usage.requests"), total.requests, "s0"),
        Series(t("overview.usage.errors"), total.errors, "err"),
    ]
    tokens = [
        Series(t("overview.usage.tokens_in"), total.tokens_in, "s1"),
        Series(t("overview.usage.tokens_out"), total.tokens_out, "s2"),
    ]
    latency = [
        Series("p50", usage.p50_ms, "s3"),
        Series("p99", usage.p99_ms, "s4"),
    ]
    decisions = {g.name: g for g in usage.groups}
    present = [
        n for n in (*DECISIONS, *sorted(decisions.keys() - set(DECISIONS))) if n in decisions
    ]
    stacked = [Series(_decision(t, n), decisions[n].requests, f"d-{n}") for n in present]
    counted = ", ".join(f"{_decision(t, n)} {decisions[n].total_requests:,}" for n in present)
    made = [
        (
            "requests",
            t("overview.usage.requests_title"),
            t("overview.usage.requests_desc", window=window, **f),
            charts.line_chart,
            requests,
            charts.compact,
        ),
        (
            "tokens",
            t("overview.usage.tokens_title"),
            t("overview.usage.tokens_desc", window=window, **f),
            charts.line_chart,
            tokens,
            charts.compact,
        ),
        (
            "latency",
            t("overview.usage.latency_title"),
            t("overview.usage.latency_desc", window=window, **f),
            charts.line_chart,
            latency,
            milliseconds,
        ),
        (
            "decisions",
            t("overview.usage.decisions_title"),
            t("overview.usage.decisions_desc", window=window, figures=counted or "—"),
            charts.stacked_chart,
            stacked,
            charts.compact,
        ),
    ]
    out: list[dict[str, object]] = []
    for ident, title, desc, draw, series, fmt in made:
        svg = draw(
            f"chart-{ident}",
            title=title,
            desc=desc,
            times=times,
            span=span,
            series=series,
            fmt=fmt,
            empty=empty,
        )
        legend = [(s.label, s.tone, _legend_total(ident, s, usage, fmt)) for s in series]
        out.append({"id": ident, "title": title, "svg": svg, "legend": legend})
    return out


def _decision(t: Translate, name: str) -> str:
    return t(f"overview.usage.d_{name}") if name in DECISIONS else name


def _legend_total(ident: str, s: Series, usage: Usage, fmt: charts.Format) -> str:
    if ident == "latency":
        value = usage.total.window_p50_ms if s.label == "p50" else usage.total.window_p99_ms
        return "—" if value is None else fmt(value)
    return fmt(sum(v or 0 for v in s.values))


def _breakdown(t: Translate, usage: Usage, what: str, window: str) -> dict[str, object]:
    """A bar per group, the largest `_TOP` by name and the rest in one bar: a deployment with
    hundreds of tenants still gets a chart one can read."""
    shown, rest = usage.groups[:_TOP], usage.groups[_TOP:]
    items = [(g.name, float(g.total_requests), "s0") for g in shown]
    if rest:
        others = t("overview.usage.others", n=len(rest))
        items.append((others, float(sum(g.total_requests for g in rest)), "s7"))
    title = t(f"overview.usage.by_{what}_title")
    desc = t(
        "overview.usage.by_desc",
        window=window,
        figures=", ".join(f"{name} {value:,.0f}" for name, value, _ in items) or "—",
    )
    svg = charts.bar_list(
        f"chart-by-{what}", title=title, desc=desc, items=items, empty=t("overview.usage.empty")
    )
    rows = [{"name": g.name, **_figures(g)} for g in shown]  # the figures below the bars
    return {"id": f"by-{what}", "title": title, "svg": svg, "rows": rows}


def _query(window: str, by: str) -> UsageQuery:
    # A breakdown draws each group's totals: no per-bucket series for it (bench/README.md).
    return UsageQuery.model_validate({"window": window, "by": by, "series": by == "decision"})


async def overview(visit: Visit) -> Response:
    window = visit.request.query_params.get("window", _DEFAULT_WINDOW)
    if window not in WINDOWS:
        window = _DEFAULT_WINDOW  # the page offers the three; anything else shows the default
    status = await visit.call("getStatus", Status)
    providers = (await visit.call("listProviders", Providers)).providers
    tenants = (await visit.call("listTenants", Tenants)).tenants
    t = visit.t
    label = t(f"overview.usage.w_{window}")
    by_decision = await visit.call("getUsage", Usage, query=_query(window, "decision"))
    breakdowns = []
    if visit.who.operator:  # a tenant's keys see their own tenant only: no breakdown by tenant
        by_tenant = await visit.call("getUsage", Usage, query=_query(window, "tenant"))
        breakdowns.append(_breakdown(t, by_tenant, "tenant", label))
    by_provider = await visit.call("getUsage", Usage, query=_query(window, "provider"))
    breakdowns.append(_breakdown(t, by_provider, "provider", label))
    return visit.render(
        "overview.html",
        page="overview",
        status=status,
        providers=providers,
        cut=[p.name for p in providers if p.cut],
        tenants=len(tenants),
        window=window,
        windows=list(WINDOWS),
        figures={**_figures(by_decision.total), "spend": spend_figure(t, by_decision.spend)},
        charts=_time_charts(t, by_decision, label),
        breakdowns=breakdowns,
    )
