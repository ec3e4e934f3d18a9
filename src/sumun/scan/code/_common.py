"""Shared plumbing for the code and config analyzers: bounded reads, line numbers, URLs and the
per-file inventory of services, models and libraries that becomes `Component`s.

Nothing here keeps state between files: an `Inventory` lives for one `analyze` call.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

from sumun.scan.code import secrets
from sumun.scan.jurisdiction import ProviderMatch, Region, Table, load_table
from sumun.scan.model import Component, Finding, Severity, Source

__all__ = [
    "MAX_BYTES",
    "Inventory",
    "LineIndex",
    "is_hf_id",
    "is_pinned_revision",
    "plausible_model_id",
    "python_distribution",
    "read_capped",
    "safe_endpoint",
    "too_large",
    "urls_in",
]

MAX_BYTES = 5 * 1024 * 1024  # code and config files over this are skipped with an info finding

_URL = re.compile(r"""https?://[A-Za-z0-9.\-\[\]:@%_~]{1,300}(?:/[^\s"'`<>(){}\[\]\\,;]{0,500})?""")
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
_HF_CANONICAL = re.compile(r"^[A-Za-z0-9][\w.-]{1,95}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][\w.:/@+-]{1,199}$")
_FILE_SUFFIX = re.compile(
    r"\.(?:bin|pt|pth|ckpt|safetensors|gguf|onnx|h5|keras|pkl|json|ya?ml)$", re.I
)


def read_capped(source: Source, cap: int = MAX_BYTES) -> tuple[bytes, bool]:
    """Up to `cap` bytes of the source, and whether it was longer (never reads the rest)."""
    with source.open() as stream:
        data = stream.read(cap + 1)
    return data[:cap], len(data) > cap


def too_large(source: Source, rule: str) -> Finding:
    return source.finding(
        Severity.INFO,
        rule,
        f"skipped: larger than the {MAX_BYTES // (1024 * 1024)} MB cap for code and config files",
    )


class LineIndex:
    """Offset -> 1-based line number."""

    def __init__(self, text: str) -> None:
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def line(self, offset: int) -> int:
        return bisect_right(self._starts, offset)


def urls_in(text: str) -> list[tuple[int, str]]:
    """(offset, url) for every http(s) URL in `text`."""
    return [(m.start(), m.group().rstrip(".")) for m in _URL.finditer(text)]


def safe_endpoint(url: str) -> str:
    """scheme://host[:port]/path — without userinfo, query or fragment (they carry API keys,
    e.g. the Gemini REST API's `?key=`). Truncated to 200 characters."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}{parts.path}"[:200]


def is_hf_id(value: str) -> bool:
    """`org/name` or a legacy canonical id (`gpt2`); not a path or a file."""
    if value.startswith((".", "/", "~")) or "\\" in value or _FILE_SUFFIX.search(value):
        return False
    return bool(_HF_ID.match(value) or _HF_CANONICAL.match(value))


def is_pinned_revision(value: str) -> bool:
    """Only a full commit hash pins a revision; a branch or tag name can move."""
    return bool(_COMMIT.match(value))


def plausible_model_id(value: str) -> bool:
    return bool(_MODEL_ID.match(value)) and "://" not in value and "//" not in value


# Python import module -> PyPI distribution, where the two differ beyond `_` vs `-`.
_DISTRIBUTIONS = MappingProxyType(
    {
        "vertexai": "google-cloud-aiplatform",
        "google.cloud.aiplatform": "google-cloud-aiplatform",
        "google.genai": "google-genai",
        "google.generativeai": "google-generativeai",
        "google.ai.generativelanguage": "google-ai-generativelanguage",
        "llama_cpp": "llama-cpp-python",
        "azure.ai.inference": "azure-ai-inference",
        "sklearn": "scikit-learn",
    }
)


def python_distribution(module: str, table: Table) -> str | None:
    """The PyPI distribution of a Python import, if it is an AI SDK or library we track:
    `langchain_openai.chat_models` -> `langchain-openai`, `vertexai` -> `google-cloud-aiplatform`.
    """
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        dist = _DISTRIBUTIONS.get(".".join(parts[:i]))
        if dist is not None:
            return dist
    top = parts[0].replace("_", "-").lower()
    if table.by_package("pypi", top) is not None or table.library("pypi", top) is not None:
        return top
    return None


# Integration packages are published by the framework, not by the provider they talk to.
_INTEGRATIONS = MappingProxyType(
    {
        "langchain": "LangChain",
        "@langchain/": "LangChain",
        "org.springframework.ai": "Spring AI",
        "dev.langchain4j": "LangChain4j",
        "llama-index": "LlamaIndex",
        "github.com/tmc/langchaingo": "LangChainGo",
    }
)


@dataclass(slots=True)
class _Service:
    match: ProviderMatch | None
    host: str | None  # for endpoints the table does not know
    endpoint: str | None
    detected_by: str
    regions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Model:
    name: str
    version: str | None
    match: ProviderMatch | None


@dataclass(slots=True)
class Inventory:
    """What one file uses, collected in order and turned into components once."""

    path: str
    table: Table = field(default_factory=load_table)
    _services: dict[str, _Service] = field(default_factory=dict)
    _models: dict[str, _Model] = field(default_factory=dict)
    _libraries: dict[tuple[str, str], Component] = field(default_factory=dict)

    @property
    def has_ai(self) -> bool:
        return bool(self._services or self._libraries)

    def service(
        self,
        match: ProviderMatch | None,
        *,
        endpoint: str | None = None,
        detected_by: str,
        region: str | None = None,
    ) -> None:
        """Record a service. `match` None with an endpoint records an AI endpoint the table does
        not know (its jurisdiction is unknown)."""
        safe = secrets.redact(safe_endpoint(endpoint)) if endpoint else None
        if match is None:
            if not safe:
                return
            host = urlsplit(safe).hostname or safe
            key = f"unknown:{host}"
        else:
            host = None
            key = match.provider.id
        entry = self._services.get(key)
        if entry is None:
            entry = self._services[key] = _Service(match, host, safe or None, detected_by)
        elif entry.endpoint is None and safe:
            entry.endpoint = safe
        if match is not None:
            found = match.region
            if found is None and region:
                found = match.provider.region(region)
                if found is None and _region_shape(match, region):
                    found = Region(id=region)
            if found is not None and found.id not in entry.regions:
                entry.regions.append(found.id)
                if found.country and found.country not in entry.countries:
                    entry.countries.append(found.country)

    def model(self, name: str, version: str | None = None) -> None:
        if not plausible_model_id(name) or secrets.redact(name) != name:
            return  # never let a key that happens to sit in a `model=` slot into the BOM
        entry = self._models.get(name)
        if entry is None:
            self._models[name] = _Model(name, version, self.table.by_model_id(name))
        elif entry.version is None and version:
            entry.version = version

    def library(self, ecosystem: str, name: str) -> None:
        """An AI SDK or library imported (`pypi`, `npm`, `java` package, `go` module)."""
        canonical = self.table.package_name(ecosystem, name)
        if canonical is None or (ecosystem, canonical) in self._libraries:
            return
        sdk = self.table.by_package(ecosystem, canonical)
        lib = self.table.library(ecosystem, canonical)
        framework = next((v for k, v in _INTEGRATIONS.items() if canonical.startswith(k)), None)
        publisher: str | None = None
        if lib is not None:
            publisher = lib.publisher
        elif framework is not None:
            publisher = framework
        elif sdk is not None and not sdk.provider.self_hosted:
            publisher = sdk.provider.operator
        self._libraries[(ecosystem, canonical)] = Component(
            type="library",
            name=canonical,
            publisher=publisher,
            provider=sdk.provider.id if sdk is not None else None,
            paths=(self.path,),
            properties=(("ecosystem", ecosystem),),
        )

    def components(self) -> list[Component]:
        out: list[Component] = [self._service_component(s) for s in self._services.values()]
        out.extend(self._model_component(m) for m in self._models.values())
        out.extend(self._libraries.values())
        return out

    def _service_component(self, s: _Service) -> Component:
        props: list[tuple[str, str]] = [("detected_by", s.detected_by)]
        if s.regions:
            props.append(("region", ",".join(s.regions)))
        if s.countries:
            props.append(("region_country", ",".join(s.countries)))
            # Seoul (ap-northeast-2, asia-northeast3, koreacentral, …): hosted in Korea.
            props.append(("region_in_korea", "true" if "KR" in s.countries else "false"))
        if s.match is None:
            props.append(("jurisdiction_table", "unknown endpoint"))
            return Component(
                type="service",
                name=s.host or "unknown AI endpoint",
                endpoint=s.endpoint,
                paths=(self.path,),
                properties=tuple(props),
            )
        p = s.match.provider
        if p.self_hosted:
            props.append(("hosting", "self-hosted"))
            props.append(("jurisdiction_note", "the organization's own"))
        if p.status != "confirmed":
            props.append(("jurisdiction_table", p.status))
        return Component(
            type="service",
            name=p.name,
            publisher=None if p.self_hosted else p.operator,
            provider=p.id,
            jurisdiction=p.hq,
            endpoint=s.endpoint,
            paths=(self.path,),
            properties=tuple(props),
        )

    def _model_component(self, m: _Model) -> Component:
        publisher: str | None = None
        if "/" in m.name and is_hf_id(m.name):
            publisher = m.name.split("/", 1)[0]
        elif m.match is not None:
            publisher = m.match.provider.operator
        p = m.match.provider if m.match is not None else None
        return Component(
            type="machine-learning-model",
            name=m.name,
            version=m.version,
            publisher=publisher,
            provider=p.id if p is not None else None,
            jurisdiction=p.hq if p is not None else None,
            paths=(self.path,),
        )


def _region_shape(match: ProviderMatch, region: str) -> bool:
    pattern = match.provider.region_pattern
    return bool(pattern and re.match(pattern, region))
