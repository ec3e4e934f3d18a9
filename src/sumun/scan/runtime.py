"""What the gateway saw used, as typed data, and how it joins what the code references.

Static scanning sees what code *could* call; Sumun's ledger knows what *did*. The CLI reads the
ledger's clear metadata (`request-admitted` / `request-completed` entries, never a payload) into
a `RuntimeUsage` and hands it here; `sumun.scan.bom` renders it. This module is pure: it reads
no ledger, configuration or file, so the scanner stays free of the gateway's layers.

    RuntimeProvider  one upstream provider of the deployment's configuration: its kind, base URL,
                     declared profile (jurisdiction, hosting) and the jurisdiction table's view of
                     its host (provider id, region)
    RuntimeUse       one (tenant, app, provider, upstream model) in the period: call counts, data
                     classes sent, PII types found and the actions applied, first and last seen
    RuntimeUsage     the period, the providers and the uses

The join (`join`) matches a use with the services and model names found in code by the
jurisdiction table's provider id, the endpoint host (for self-hosted, unknown and
per-resource hosts) and the model name. Contract: nothing here MUST ever carry a payload, a
prompt or a PII value — only types, actions, counts, names and times.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sumun.scan.jurisdiction import Table, load_table
from sumun.scan.model import Component

__all__ = [
    "DEFAULT_URLS",
    "Join",
    "RuntimeProvider",
    "RuntimeUsage",
    "RuntimeUse",
    "iso_ms",
    "join",
    "model_matches",
    "runtime_provider",
]

# A provider kind without a base URL talks to its vendor's public API (gateway/upstream).
DEFAULT_URLS: Mapping[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "clova": "https://clovastudio.stream.ntruss.com",
}
_KIND_TABLE_IDS: Mapping[str, str] = {
    "openai": "openai",
    "azure": "azure-openai",
    "anthropic": "anthropic",
    "bedrock": "aws-bedrock",
    "gemini": "google-gemini",
    "vertex": "google-vertex",
    "clova": "naver-clova",
}
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104 (a name, not a bind)


@dataclass(frozen=True, slots=True)
class RuntimeProvider:
    """One configured upstream provider (`providers:` in sumun.yaml), as the BOM shows it."""

    name: str  # the configuration's name ("openai", "bedrock-seoul", "vllm-local")
    kind: str  # openai | azure | anthropic | demo
    base_url: str | None = None  # as configured; None = the kind's public API
    jurisdiction: str | None = None  # the declared profile's operator jurisdiction (ISO alpha-2)
    hosting: str | None = None  # the declared profile: on-prem | kr-region | abroad
    table_id: str | None = None  # the jurisdiction table's provider id for the endpoint
    operator: str | None = None  # the table's operator name
    table_jurisdiction: str | None = None  # the table's HQ for that operator
    region: str | None = None  # the hosting region the endpoint's host names
    region_country: str | None = None

    @property
    def endpoint(self) -> str | None:
        return self.base_url or DEFAULT_URLS.get(self.kind)

    @property
    def host(self) -> str | None:
        return _host(self.endpoint)

    @property
    def leaves_organization(self) -> bool:
        """Prompts cross a trust boundary unless the provider runs in the organization."""
        return not (
            self.kind == "demo" or self.hosting == "on-prem" or self.table_id == "self-hosted"
        )


@dataclass(frozen=True, slots=True)
class RuntimeUse:
    """Calls of one app to one upstream model of one provider in the period.

    `calls` counts `request-completed` entries that reached the provider; `failed` those of
    them whose outcome was not `ok`. Counters are sorted (name, count) pairs."""

    tenant: str
    app: str
    provider: str  # RuntimeProvider.name
    model: str  # the upstream model (Azure: the deployment name)
    calls: int
    failed: int = 0
    requested: tuple[str, ...] = ()  # the model names clients asked for (route aliases)
    data_classes: tuple[tuple[str, int], ...] = ()  # class -> calls
    pii_types: tuple[tuple[str, int], ...] = ()  # type -> calls where it was found
    pii_actions: tuple[tuple[str, int], ...] = ()  # "KR_RRN:pseudonymize" -> calls
    tokens_in: int = 0
    tokens_out: int = 0
    first_ms: int = 0
    last_ms: int = 0

    @property
    def subject(self) -> str:
        return f"{self.tenant}/{self.app}" if self.app else self.tenant


@dataclass(frozen=True, slots=True)
class RuntimeUsage:
    """The ledger's view of a period. `since_ms`/`until_ms` None: the start / end of the log."""

    origin: str  # where it was read ("ledger sqlite …/ledger.db, entries 0..N")
    since_ms: int | None
    until_ms: int | None
    entries: int  # ledger entries looked at
    providers: tuple[RuntimeProvider, ...] = ()
    uses: tuple[RuntimeUse, ...] = ()
    unreadable: int = 0  # request entries that did not parse (counted, never fatal)

    def provider(self, name: str) -> RuntimeProvider | None:
        return next((p for p in self.providers if p.name == name), None)


def iso_ms(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url if "://" in url else f"https://{url}").hostname
    except ValueError:
        return None
    if host is None:
        return None
    host = host.lower().rstrip(".")
    return "localhost" if host in _LOOPBACK or host.startswith("127.") else host


def runtime_provider(
    name: str,
    kind: str,
    base_url: str | None,
    *,
    jurisdiction: str | None = None,
    hosting: str | None = None,
    table: Table | None = None,
) -> RuntimeProvider:
    """A configured provider with the jurisdiction table's reading of its endpoint: the host
    decides when there is a base URL (an `openai`-kind provider may be vLLM on loopback or
    Upstage in Korea), the kind otherwise."""
    table = table or load_table()
    url = base_url or DEFAULT_URLS.get(kind)
    match = table.by_url(url) if url else None
    provider = match.provider if match is not None else None
    if provider is None and base_url is None and kind in _KIND_TABLE_IDS:
        provider = table.get(_KIND_TABLE_IDS[kind])
    if kind == "demo":
        provider = table.get("self-hosted")
    region = match.region if match is not None else None
    return RuntimeProvider(
        name=name,
        kind=kind,
        base_url=base_url,
        jurisdiction=None if jurisdiction in (None, "unknown") else jurisdiction,
        hosting=hosting,
        table_id=provider.id if provider is not None else None,
        operator=None if provider is None or provider.self_hosted else provider.operator,
        table_jurisdiction=provider.hq if provider is not None else None,
        region=region.id if region is not None else None,
        region_country=region.country if region is not None else None,
    )


def _norm_model(name: str) -> str:
    text = name.strip().lower()
    for prefix in ("models/", "openai/", "azure/", "anthropic/"):
        text = text.removeprefix(prefix)
    return text


# A snapshot or version suffix of the same model: -2024-08-06, -20241022, -0613, -v1:0, @20240620.
_SNAPSHOT = re.compile(r"(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|v\d[\w.:]{0,20}|latest)){1,3}")


def model_matches(code_name: str, runtime_name: str) -> bool:
    """`gpt-4o` in code matches `gpt-4o` and its snapshot `gpt-4o-2024-08-06` at run time, not
    another model that shares a prefix (`gpt-4o-mini`)."""
    a, b = _norm_model(code_name), _norm_model(runtime_name)
    if not a or not b.startswith(a):
        return False
    rest = b[len(a) :]
    return not rest or _SNAPSHOT.fullmatch(rest) is not None


def _wildcard_hosts(table: Table, provider_id: str) -> bool:
    """Providers whose host names one customer resource (`*.openai.azure.com`) or the
    organization's own servers: the same provider id is not the same service there."""
    provider = table.get(provider_id)
    if provider is None:
        return True
    return provider.self_hosted or any("*" in rule.pattern for rule in provider.hosts)


def _service_matches(code: Component, provider: RuntimeProvider, table: Table) -> bool:
    code_host = _host(code.endpoint)
    if code.provider is None:  # an endpoint the table does not know: only its host can match
        return code_host is not None and code_host == provider.host
    if code.provider != provider.table_id:
        return False
    if code_host and provider.host and code_host != provider.host:
        return not _wildcard_hosts(table, code.provider)
    return True


@dataclass(frozen=True, slots=True)
class Join:
    """Which code services and model names the ledger saw used, and which uses code declares.

    Indexes are positions in the `components` and `usage.uses` sequences given to `join`."""

    used_services: Mapping[int, int] = field(default_factory=dict)  # component -> calls
    used_models: Mapping[int, int] = field(default_factory=dict)  # component -> calls
    declared: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # use -> components
    model_declared: frozenset[int] = frozenset()  # uses whose model name code references


def join(components: Iterable[Component], usage: RuntimeUsage, table: Table | None = None) -> Join:
    """Match runtime uses with code: by provider id, endpoint host and model name."""
    table = table or load_table()
    listed = list(components)
    services = [(i, c) for i, c in enumerate(listed) if c.type == "service"]
    # API model names referenced in code (not model files on disk).
    models = [
        (i, c)
        for i, c in enumerate(listed)
        if c.type == "machine-learning-model" and c.path is None
    ]
    used_services: dict[int, int] = {}
    used_models: dict[int, int] = {}
    declared: dict[int, tuple[int, ...]] = {}
    model_declared: set[int] = set()
    for u, use in enumerate(usage.uses):
        provider = usage.provider(use.provider)
        hits: list[int] = []
        if provider is not None:
            for i, c in services:
                if _service_matches(c, provider, table):
                    hits.append(i)
                    used_services[i] = used_services.get(i, 0) + use.calls
        declared[u] = tuple(hits)
        names = (use.model, *use.requested)
        for i, c in models:
            if any(model_matches(c.name, n) for n in names):
                used_models[i] = used_models.get(i, 0) + use.calls
                model_declared.add(u)
    return Join(used_services, used_models, declared, frozenset(model_declared))
