"""The spend rollup: what answers cost, per tenant, app and key, in the usage rollup's database.

Written by the gateway's usage flusher next to the usage counts (`sumun.gateway.usage`), read by
the admin API's `GET /usage` (`sumun.admin.http.usage`). One row per (span, bucket, tenant, app,
key, currency, node): `micros` is the cost in micro-units of `currency` (integers: sums never
drift), `answers` how many answers it sums. Answers whose cost is unknown (no price for their
model) are counted under currency `none` with 0 micros — never as free. Rows are additive over
nodes and flushes, and kept as long as the usage rows of the same span (`RETENTION_SECONDS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sumun.store.database import Database

__all__ = ["SPEND_TABLE", "UNPRICED", "SpendKey", "SpendStore", "SpendTotal"]

UNPRICED = "none"  # the currency of answers whose cost is unknown

SPEND_TABLE = (
    "CREATE TABLE IF NOT EXISTS spend_rollup (span {int} NOT NULL, bucket {int} NOT NULL,"
    " tenant TEXT NOT NULL, app TEXT NOT NULL, key_id TEXT NOT NULL, currency TEXT NOT NULL,"
    " node TEXT NOT NULL, micros {int} NOT NULL, answers {int} NOT NULL,"
    " PRIMARY KEY (span, bucket, tenant, app, key_id, currency, node))"
)

_UPSERT = (
    "INSERT INTO spend_rollup (span, bucket, tenant, app, key_id, currency, node, micros,"
    " answers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (span, bucket, tenant, app, key_id,"
    " currency, node) DO UPDATE SET micros = spend_rollup.micros + excluded.micros,"
    " answers = spend_rollup.answers + excluded.answers"
)


class SpendKey(NamedTuple):
    """One accumulated key: `bucket` is the start of its minute; `app` is "" for a key
    without an app; `currency` KRW, USD or `UNPRICED`."""

    bucket: int
    tenant: str
    app: str
    key_id: str
    currency: str


@dataclass(frozen=True, slots=True)
class SpendTotal:
    """A window's spend of one tenant/app/key in one currency."""

    tenant: str
    app: str
    key_id: str
    currency: str
    micros: int
    answers: int


class SpendStore:
    """The `spend_rollup` table (created with the usage rollup: `sumun.store.usage`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self, node: str, rows: Sequence[tuple[SpendKey, int, int]], spans: Sequence[int]
    ) -> None:
        """Add one flush — (key, micros, answers) per minute — to every span, in one
        transaction."""
        if not rows:
            return
        sums: dict[tuple[int, int, str, str, str, str], list[int]] = {}
        for key, micros, answers in rows:
            for span in spans:
                bucket = key.bucket - key.bucket % span
                at = (span, bucket, key.tenant, key.app, key.key_id, key.currency)
                total = sums.setdefault(at, [0, 0])
                total[0] += micros
                total[1] += answers
        with self._db.write("record spend in", change=False) as tx:
            for at, (micros, answers) in sorted(sums.items()):
                tx.execute(_UPSERT, (*at, node, micros, answers))

    def purge(self, retention: dict[int, int], now: float) -> int:
        deleted = 0
        with self._db.write("purge old spend from", change=False) as tx:
            for span, keep in retention.items():
                deleted += tx.execute(
                    "DELETE FROM spend_rollup WHERE span = ? AND bucket < ?",
                    (span, int(now) - keep),
                )
        return deleted

    def read(
        self, span: int, since: int, until: int, *, tenant: str | None = None
    ) -> list[SpendTotal]:
        """Spend per tenant, app, key and currency over since ≤ bucket < until (summed over
        nodes); `tenant` keeps it to that tenant."""
        where = "span = ? AND bucket >= ? AND bucket < ?"
        params: list[object] = [span, since, until]
        if tenant is not None:
            where += " AND tenant = ?"
            params.append(tenant)
        rows = self._db.read(
            "SELECT tenant, app, key_id, currency, CAST(SUM(micros) AS BIGINT),"  # noqa: S608
            f" CAST(SUM(answers) AS BIGINT) FROM spend_rollup WHERE {where}"
            " GROUP BY tenant, app, key_id, currency ORDER BY tenant, app, key_id, currency",
            params,
        )
        return [
            SpendTotal(str(t), str(a), str(k), str(c), int(m or 0), int(n or 0))
            for t, a, k, c, m, n in rows
        ]
