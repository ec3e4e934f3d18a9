"""`sumun scan --ledger`: read what the gateway forwarded in a period, for the runtime AI-BOM.

One pass over the ledger's clear metadata — `request-admitted` (tenant, app, requested model,
data class, PII types and actions) and `request-completed` (provider, upstream model, outcome,
tokens) entries, joined by `admitted_seq`. Payloads are never read or decrypted, so no key is
needed. Entries of other kinds are skipped by a byte test before any parsing (canonical entries
spell `"kind":"…"` exactly so, docs/ledger-format.md), as `sumun.ledger.service` does.

The result is `sumun.scan.runtime.RuntimeUsage`; the scanner renders it and never reads the
ledger itself (tests/test_architecture.py).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sumun.config import Settings
from sumun.errors import UsageError
from sumun.ledger.entry import EntryKind, kind_marker
from sumun.ledger.store.base import LedgerStore, StoredEntry
from sumun.scan.runtime import RuntimeProvider, RuntimeUsage, RuntimeUse, runtime_provider

__all__ = ["Period", "parse_period", "read_usage", "usage_for_options", "usage_from_entries"]

_ADMITTED = kind_marker(EntryKind.REQUEST_ADMITTED)
_COMPLETED = kind_marker(EntryKind.REQUEST_COMPLETED)
# An admission older than the period's start may still complete inside it (a long stream).
_ADMITTED_LOOKBACK_MS = 6 * 3600 * 1000
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Period:
    """[since_ms, until_ms) in Unix milliseconds; None = the log's start / end."""

    since_ms: int | None = None
    until_ms: int | None = None

    def holds(self, time_ms: int) -> bool:
        return (self.since_ms is None or time_ms >= self.since_ms) and (
            self.until_ms is None or time_ms < self.until_ms
        )


def _instant(text: str, what: str, *, end: bool) -> int:
    """ISO 8601 date or date-time (UTC unless it says otherwise) -> ms. A bare date as `--to`
    means the end of that day."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            if end:
                moment += dt.timedelta(days=1)
        else:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
    except ValueError:
        raise UsageError(
            f"{what} {text!r} is not a date", advice="use 2026-11-01 or 2026-11-01T09:00:00Z"
        ) from None
    return int(moment.timestamp() * 1000)


def parse_period(
    since_days: float | None, start: str | None, end: str | None, *, now: float | None = None
) -> Period:
    """The period the options ask for: `--since DAYS` back from now, or `--from`/`--to`."""
    if since_days is not None and (start or end):
        raise UsageError("give --since or --from/--to, not both")
    if since_days is not None:
        if since_days <= 0:
            raise UsageError("--since takes a positive number of days")
        clock = time.time() if now is None else now
        return Period(since_ms=int(clock * 1000 - since_days * _DAY_MS))
    period = Period(
        since_ms=_instant(start, "--from", end=False) if start else None,
        until_ms=_instant(end, "--to", end=True) if end else None,
    )
    since, until = period.since_ms, period.until_ms
    if since is not None and until is not None and until <= since:
        raise UsageError("--to must be after --from")
    return period


@dataclass(slots=True)
class _Use:
    calls: int = 0
    failed: int = 0
    requested: set[str] = field(default_factory=set)
    classes: dict[str, int] = field(default_factory=dict)
    pii_types: dict[str, int] = field(default_factory=dict)
    pii_actions: dict[str, int] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    first_ms: int = 0
    last_ms: int = 0


@dataclass(frozen=True, slots=True)
class _Admission:
    tenant: str
    app: str
    requested: str
    data_class: str | None
    pii_types: tuple[str, ...]
    pii_actions: tuple[str, ...]


def _bump(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _split(value: object) -> tuple[str, ...]:
    return tuple(p for p in str(value or "").split(",") if p) if value else ()


class _Pass:
    def __init__(self, period: Period) -> None:
        self.period = period
        self.admitted: dict[int, _Admission] = {}
        self.uses: dict[tuple[str, str, str, str], _Use] = {}
        self.unreadable = 0
        self.seen = 0

    def entry(self, stored: StoredEntry) -> None:
        self.seen += 1
        raw = stored.entry
        admitted = _ADMITTED in raw
        if not admitted and _COMPLETED not in raw:
            return
        try:
            obj = json.loads(raw)
            attrs = obj.get("attrs") or {}
            time_ms = int(obj.get("time_ms") or 0)
            if not isinstance(attrs, dict):
                raise TypeError("attrs is not an object")
            if admitted and obj.get("kind") == EntryKind.REQUEST_ADMITTED.value:
                self._admitted(stored.seq, obj, attrs, time_ms)
            elif obj.get("kind") == EntryKind.REQUEST_COMPLETED.value:
                self._completed(obj, attrs, time_ms)
        except (ValueError, KeyError, TypeError, AttributeError):
            self.unreadable += 1

    def _admitted(self, seq: int, obj: dict[str, Any], attrs: dict[str, Any], ms: int) -> None:
        since = self.period.since_ms
        if since is not None and ms < since - _ADMITTED_LOOKBACK_MS:
            return
        if self.period.until_ms is not None and ms >= self.period.until_ms:
            return
        data_class = obj.get("data_class")
        self.admitted[seq] = _Admission(
            tenant=str(obj.get("tenant") or ""),
            app=str(attrs.get("app") or ""),
            requested=str(attrs.get("model") or ""),
            data_class=data_class if isinstance(data_class, str) else None,
            pii_types=_split(attrs.get("pii_types")),
            pii_actions=_split(attrs.get("pii_actions")),
        )

    def _completed(self, obj: dict[str, Any], attrs: dict[str, Any], ms: int) -> None:
        seq = str(attrs.get("admitted_seq") or "")
        admission = self.admitted.pop(int(seq), None) if seq.isdigit() else None
        provider = obj.get("provider")
        if not isinstance(provider, str) or not provider or not self.period.holds(ms):
            return  # refused or failed before any provider was tried: nothing was sent
        tenant = admission.tenant if admission else str(obj.get("tenant") or "")
        app = admission.app if admission else ""
        model = str(attrs.get("upstream_model") or (admission.requested if admission else "?"))
        use = self.uses.setdefault((tenant, app, provider, model), _Use(first_ms=ms))
        use.calls += 1
        use.failed += attrs.get("outcome") != "ok"
        use.first_ms = min(use.first_ms, ms)
        use.last_ms = max(use.last_ms, ms)
        use.tokens_in += int(obj.get("tokens_in") or 0)
        use.tokens_out += int(obj.get("tokens_out") or 0)
        data_class = obj.get("data_class") or (admission.data_class if admission else None)
        _bump(use.classes, str(data_class) if data_class else "unclassified")
        if admission is not None:
            if admission.requested:
                use.requested.add(admission.requested)
            for pii in admission.pii_types:
                _bump(use.pii_types, pii)
            for action in admission.pii_actions:
                _bump(use.pii_actions, action)

    def result(self) -> list[RuntimeUse]:
        return [
            RuntimeUse(
                tenant=tenant,
                app=app,
                provider=provider,
                model=model,
                calls=u.calls,
                failed=u.failed,
                requested=tuple(sorted(u.requested - {model})),
                data_classes=tuple(sorted(u.classes.items())),
                pii_types=tuple(sorted(u.pii_types.items())),
                pii_actions=tuple(sorted(u.pii_actions.items())),
                tokens_in=u.tokens_in,
                tokens_out=u.tokens_out,
                first_ms=u.first_ms,
                last_ms=u.last_ms,
            )
            for (tenant, app, provider, model), u in sorted(self.uses.items())
        ]


def _bedrock_url(kind: str, region: str | None) -> str | None:
    """A bedrock provider without base_url talks to its region's endpoint."""
    if kind != "bedrock" or not region:
        return None
    from sumun.gateway.upstream.bedrock import default_base_url  # the gateway stack, lazily

    return default_base_url(region)


def _vertex_url(kind: str, location: str | None) -> str | None:
    """A vertex provider without base_url talks to its location's endpoint."""
    if kind != "vertex" or not location:
        return None
    from sumun.gateway.upstream.gemini import vertex_base  # the gateway stack, lazily

    return vertex_base(location)


def configured_providers(settings: Settings) -> list[RuntimeProvider]:
    out = []
    for p in settings.providers:
        profile = p.effective_profile()
        out.append(
            runtime_provider(
                p.name,
                p.kind,
                p.base_url or _bedrock_url(p.kind, p.region) or _vertex_url(p.kind, p.location),
                jurisdiction=profile.jurisdiction if profile else None,
                hosting=profile.hosting if profile else None,
            )
        )
    return out


def usage_from_entries(
    entries: Iterable[StoredEntry],
    providers: Iterable[RuntimeProvider],
    period: Period,
    *,
    origin: str,
) -> RuntimeUsage:
    """The usage in `period` from a stream of stored entries (in seq order)."""
    scan = _Pass(period)
    for stored in entries:
        scan.entry(stored)
    uses = scan.result()
    known = {p.name: p for p in providers}
    for use in uses:  # a provider since removed from the configuration is still shown
        if use.provider not in known:
            known[use.provider] = runtime_provider(use.provider, "unknown", None)
    return RuntimeUsage(
        origin=origin,
        since_ms=period.since_ms,
        until_ms=period.until_ms,
        entries=scan.seen,
        providers=tuple(known.values()),
        uses=tuple(uses),
        unreadable=scan.unreadable,
    )


def _entries(store: LedgerStore, size: int, chunk: int = 4096) -> Iterator[StoredEntry]:
    for start in range(0, size, chunk):
        yield from store.entries(start, min(size, start + chunk))


def read_usage(settings: Settings, period: Period) -> RuntimeUsage:
    """The deployment's ledger (as configured) read for `period`. Not verified here: run
    `sumun ledger verify` for the proof that the entries are the ones recorded."""
    conf = settings.ledger
    where = (
        str(settings.home / "ledger" / "ledger.db")
        if conf.store == "sqlite"
        else f"PostgreSQL schema {conf.postgres_schema}"
    )
    from sumun.runtime import open_store  # the ledger's drivers: only with --ledger

    store = open_store(settings)
    try:
        size = store.size()
        return usage_from_entries(
            _entries(store, size),
            configured_providers(settings),
            period,
            origin=f"ledger {conf.store} {where}, entries 0..{size}",
        )
    finally:
        store.close()


def usage_for_options(
    ledger: bool, since_days: float | None, start: str | None, end: str | None
) -> RuntimeUsage | None:
    """`sumun scan`'s `--ledger [--since DAYS | --from DATE --to DATE]`, read before the scan
    so a bad option fails at once."""
    if not ledger:
        if since_days is not None or start or end:
            raise UsageError("--since, --from and --to go with --ledger")
        return None
    period = parse_period(since_days, start, end)
    from sumun.cli.common import settings

    return read_usage(settings(), period)
