"""The usage rollup: request counts, tokens and a latency histogram per time bucket, tenant,
provider and decision — what the console's overview plots, so that no view scans the ledger.

The gateway accumulates in memory and flushes every few seconds (`sumun.gateway.usage`); this
module is the table it flushes into and the read of one window. Rows are additive: each
node upserts its own rows (`node` column) and a read sums them, so nodes sharing a PostgreSQL
control store add up, and a node that flushes the same bucket twice just adds to its row.

Three granularities are written at each flush, each kept for as long as the window it serves
needs (older rows are purged by the flusher):

    span   60 s   kept 2 days      the 1-hour window   (60 points)
    span  900 s   kept 8 days      the 24-hour window  (96 points)
    span 3600 s   kept 90 days     the 7-day window    (168 points)

Rows are *projections*, written at flush so that a read scans only what it shows: per bucket,
one row per tenant, per provider and per decision deployment-wide (`scope` = ""), and per
provider and per decision within each tenant (`scope` = the tenant, for a tenant's own view).
The overview's decisions chart for the whole deployment thus reads 5 rows per bucket, not one
per tenant × provider × decision. The primary key leads with (span, scope, dim, bucket), so every
read is one contiguous range (SQLite: a `WITHOUT ROWID` table, clustered on that key).

Latency is a fixed-bucket histogram (`LATENCY_BOUNDS_MS`, one column per bucket): sums of
histograms are histograms, so percentiles stay exact to a bucket after any sum over nodes,
buckets, tenants or providers. Counts, not evidence: the ledger remains the record; losing the
last seconds of counts in a crash is acceptable (SQLite `synchronous = NORMAL`, own file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sumun.store.database import Database
from sumun.store.spend import SPEND_TABLE

__all__ = [
    "GROUPS",
    "LATENCY_BOUNDS_MS",
    "RETENTION_SECONDS",
    "SPANS",
    "USAGE_TABLES",
    "UsageCounts",
    "UsageKey",
    "UsageRead",
    "UsageRow",
    "UsageStore",
    "percentile_ms",
]

# Upper bounds (ms) of the latency buckets; one more bucket holds everything slower.
LATENCY_BOUNDS_MS: tuple[int, ...] = (
    2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000,
)  # fmt: skip
_BUCKETS = len(LATENCY_BOUNDS_MS) + 1
_LAT = tuple(f"lat_{i}" for i in range(_BUCKETS))
_COUNTS = ("requests", "errors", "tokens_in", "tokens_out", *_LAT)

SPANS: tuple[int, ...] = (60, 900, 3600)
GROUPS = ("tenant", "provider", "decision")  # what a read may group by
RETENTION_SECONDS: dict[int, int] = {60: 2 * 86400, 900: 8 * 86400, 3600: 90 * 86400}

_TABLE = (
    "CREATE TABLE IF NOT EXISTS usage_rollup (span {int} NOT NULL, scope TEXT NOT NULL,"
    " dim TEXT NOT NULL, bucket {int} NOT NULL, name TEXT NOT NULL, node TEXT NOT NULL, "
    + ", ".join(f"{c} {{int}} NOT NULL" for c in _COUNTS)
    + ", PRIMARY KEY (span, scope, dim, bucket, name, node))"
)
# With the spend rollup (sumun.store.spend), which lives beside it.
USAGE_TABLES: tuple[str, ...] = (_TABLE + " WITHOUT ROWID", SPEND_TABLE + " WITHOUT ROWID")
_PG_TABLES: tuple[str, ...] = (_TABLE, SPEND_TABLE)
_PG_CREATE_LOCK = 0x53554D53_0002  # two nodes starting at once create the table once

# Built from the constant column names above; no input reaches the text.
_UPSERT = (
    "INSERT INTO usage_rollup (span, scope, dim, bucket, name, node, "  # noqa: S608
    + ", ".join(_COUNTS)
    + ") VALUES ("
    + ", ".join("?" * (6 + len(_COUNTS)))
    + ") ON CONFLICT (span, scope, dim, bucket, name, node) DO UPDATE SET "
    + ", ".join(f"{c} = usage_rollup.{c} + excluded.{c}" for c in _COUNTS)
)
_SUMS = ", ".join(f"SUM({c})" for c in _COUNTS)
_LAT_SUMS = ", ".join(f"SUM({c})" for c in _LAT)
_RANGE = "span = ? AND scope = ? AND dim = ? AND bucket >= ? AND bucket < ?"


class UsageKey(NamedTuple):
    """One accumulated key: `bucket` is the start of its minute (epoch seconds). A named tuple:
    built and hashed once per request on the gateway's path, it must be cheap."""

    bucket: int
    tenant: str
    provider: str  # "none" when nothing went upstream (a block)
    decision: str  # allowed | masked | pseudonymized | rerouted | blocked


@dataclass(slots=True)
class UsageCounts:
    """What one key accumulates. Mutable: the accumulator adds into it."""

    requests: int = 0
    errors: int = 0  # answered with a status ≥ 400
    tokens_in: int = 0
    tokens_out: int = 0
    latency: list[int] | None = None  # one count per latency bucket

    def histogram(self) -> list[int]:
        if self.latency is None:
            self.latency = [0] * _BUCKETS
        return self.latency

    def add(self, other: UsageCounts) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        mine = self.histogram()
        for i, n in enumerate(other.histogram()):
            mine[i] += n

    def values(self) -> tuple[int, ...]:
        return (self.requests, self.errors, self.tokens_in, self.tokens_out, *self.histogram())

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> UsageCounts:
        n = [int(v or 0) for v in values]
        return cls(n[0], n[1], n[2], n[3], n[4 : 4 + _BUCKETS])


@dataclass(frozen=True, slots=True)
class UsageRow:
    key: UsageKey
    counts: UsageCounts


def percentile_ms(histogram: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) read from a latency histogram, interpolated linearly inside
    its bucket; None for an empty histogram. The open last bucket answers its lower bound."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            low = 0.0 if i == 0 else float(LATENCY_BOUNDS_MS[i - 1])
            if i >= len(LATENCY_BOUNDS_MS):
                return low
            high = float(LATENCY_BOUNDS_MS[i])
            return low + (high - low) * (rank - seen) / n
        seen += n
    return float(LATENCY_BOUNDS_MS[-1])  # pragma: no cover - rank ≤ total


def latency_bucket(milliseconds: float) -> int:
    """The index of the histogram bucket that counts a request of this latency."""
    for i, bound in enumerate(LATENCY_BOUNDS_MS):
        if milliseconds <= bound:
            return i
    return len(LATENCY_BOUNDS_MS)


def _projections(key: UsageKey) -> tuple[tuple[str, str, str], ...]:
    """(scope, dim, name) rows that one accumulated key adds to (module docstring)."""
    return (
        ("", "tenant", key.tenant),
        ("", "provider", key.provider),
        ("", "decision", key.decision),
        (key.tenant, "provider", key.provider),
        (key.tenant, "decision", key.decision),
    )


def _projected(rows: Iterable[UsageRow], span: int) -> dict[tuple[int, str, str, str], UsageCounts]:
    out: dict[tuple[int, str, str, str], UsageCounts] = {}
    for row in rows:
        bucket = row.key.bucket - row.key.bucket % span
        for scope, dim, name in _projections(row.key):
            out.setdefault((bucket, scope, dim, name), UsageCounts()).add(row.counts)
    return out


@dataclass(frozen=True, slots=True)
class UsageRead:
    """One read of a window: what the usage API turns into series.

    `groups`: (bucket, name, requests, errors, tokens in, tokens out) per bucket and group
    (empty when the read was asked for no series);
    `buckets`: every count and the latency histogram per bucket, over all groups;
    `totals`: each group's counts and latency histogram over the whole window."""

    groups: list[tuple[int, str, int, int, int, int]]  # as the driver returns them
    buckets: dict[int, UsageCounts]
    totals: dict[str, UsageCounts]


class UsageStore:
    """The `usage_rollup` table behind a control-store connection (`Control.usage`)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        if db.name == "postgres":  # SQLite opened its own file with USAGE_TABLES already
            from sumun.store.schema import render

            with db.write("create the usage rollup in", change=False) as tx:
                tx.one("SELECT pg_advisory_xact_lock(?)", (_PG_CREATE_LOCK,))
                for statement in _PG_TABLES:
                    tx.execute(render(statement, "postgres"))

    @property
    def db(self) -> Database:
        return self._db

    def add(self, node: str, rows: Sequence[UsageRow]) -> None:
        """Add one flush (rows keyed by their minute) to every span and projection, in one
        transaction: all of it counts, or none (the caller keeps it and tries again)."""
        if not rows:
            return
        with self._db.write("record usage in", change=False) as tx:
            for span in SPANS:
                for (bucket, scope, dim, name), counts in sorted(_projected(rows, span).items()):
                    params = (span, scope, dim, bucket, name, node)
                    tx.execute(_UPSERT, (*params, *counts.values()))

    def purge(self, now: float) -> int:
        """Delete rows past their span's retention; the number deleted."""
        deleted = 0
        with self._db.write("purge old usage from", change=False) as tx:
            for span, keep in RETENTION_SECONDS.items():
                deleted += tx.execute(
                    "DELETE FROM usage_rollup WHERE span = ? AND bucket < ?",
                    (span, int(now) - keep),
                )
        return deleted

    def read(
        self,
        span: int,
        since: int,
        until: int,
        *,
        by: str,
        tenant: str | None = None,
        series: bool = True,
    ) -> UsageRead:
        """The window since ≤ bucket < until of `span`, grouped `by` tenant, provider or
        decision; `tenant` keeps it to that tenant; `series=False` skips the per-bucket figures
        of each group (with 100 tenants over 7 days, that is 16,800 cells a chart of totals
        does not need). Sums over nodes are done by the database, and each query reads one
        contiguous range of the primary key."""
        if by not in GROUPS:
            raise ValueError(f"usage is grouped by one of {', '.join(GROUPS)}")
        scope, only = ("", tenant) if tenant is None or by == "tenant" else (tenant, None)
        where, params = _RANGE, [span, scope, by, since, until]
        if only is not None:
            where += " AND name = ?"
            params.append(only)
        groups = []
        if series:
            groups = self._db.read(
                "SELECT bucket, name, CAST(SUM(requests) AS BIGINT), CAST(SUM(errors) AS BIGINT),"  # noqa: S608
                " CAST(SUM(tokens_in) AS BIGINT), CAST(SUM(tokens_out) AS BIGINT)"
                f" FROM usage_rollup WHERE {where} GROUP BY bucket, name",
                params,
            )
        totals = self._db.read(
            f"SELECT name, {_SUMS} FROM usage_rollup WHERE {where} GROUP BY name",  # noqa: S608
            params,
        )
        # Every request is in exactly one decision row: the totals come from those (few) rows.
        total_scope = "" if tenant is None else tenant
        buckets = self._db.read(
            f"SELECT bucket, {_SUMS} FROM usage_rollup WHERE {_RANGE} GROUP BY bucket",  # noqa: S608
            [span, total_scope, "decision", since, until],
        )
        return UsageRead(
            groups=groups,  # (bucket, name, 4 × int) as the SELECT above returns them
            buckets={int(r[0]): UsageCounts.from_values(r[1:]) for r in buckets},
            totals={str(r[0]): UsageCounts.from_values(r[1:]) for r in totals},
        )

    def close(self) -> None:
        self._db.close()
