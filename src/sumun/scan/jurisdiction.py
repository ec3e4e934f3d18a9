"""The jurisdiction table: which operator runs an AI service or publishes a model, and where.

`data/jurisdictions.yaml` is the maintained, sourced table (every provider lists the public pages
its claims were checked against, and `status: unconfirmed` where a claim could not be checked).
This module validates it into frozen models once per process and answers three questions the
code and config analyzers ask:

    by_host("bedrock-runtime.ap-northeast-2.amazonaws.com")  -> Amazon Bedrock, region Seoul (KR)
    by_package("npm", "@anthropic-ai/sdk")                     -> Anthropic
    by_model_id("LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct")        -> LG AI Research (KR)

Contracts: lookups never raise on odd input (they return None); `hq` is the operator's
headquarters (ISO 3166-1 alpha-2), distinct from where a region hosts the data; self-hosted
providers have no `hq` — their jurisdiction is the organization's own. A malformed table is a
packaging bug and fails loudly with `ValueError` naming the bad field.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Ecosystem",
    "HostRule",
    "Library",
    "Provider",
    "ProviderMatch",
    "Region",
    "SourceRef",
    "Table",
    "by_config_key",
    "by_host",
    "by_model_id",
    "by_package",
    "by_url",
    "load_table",
    "parse_table",
]

Ecosystem = Literal["pypi", "npm", "java", "go"]
Claim = Literal["hq", "operator", "endpoints", "regions", "packages", "models"]

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST_CHARS = re.compile(r"^[a-z0-9.*{}-]+$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRef(_Frozen):
    """A public page a claim was checked against, and which claims it supports."""

    url: str
    supports: tuple[Claim, ...] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("source url must be https://")
        return value


class Region(_Frozen):
    """A hosting region as the provider spells it; `country` is ISO 3166-1 alpha-2 (or EU)."""

    id: str
    country: str | None = None
    name: str | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and not _COUNTRY.match(value):
            raise ValueError(f"country {value!r} is not ISO 3166-1 alpha-2")
        return value


class HostRule(_Frozen):
    """`*` matches one or more DNS labels; `{region}` captures the region id from the host."""

    pattern: str
    region: str | None = None  # the fixed region of this host, when the host implies one

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if not _HOST_CHARS.match(value) or value.count("{region}") > 1:
            raise ValueError(f"host pattern {value!r}: only a-z 0-9 . - * and one {{region}}")
        return value


class Provider(_Frozen):
    id: str
    name: str
    operator: str
    hq: str | None  # ISO 3166-1 alpha-2 of the operator's HQ; None only when self-hosted
    self_hosted: bool = False
    status: Literal["confirmed", "unconfirmed"]
    notes: str = ""
    regions: tuple[Region, ...] = ()
    region_pattern: str | None = None
    hosts: tuple[HostRule, ...] = ()
    ports: tuple[int, ...] = ()
    sdks: tuple[tuple[Ecosystem, str], ...] = ()
    hf_orgs: tuple[str, ...] = ()
    model_patterns: tuple[str, ...] = ()
    config_prefixes: tuple[str, ...] = ()
    sources: tuple[SourceRef, ...] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"provider id {value!r} must be lower-case letters, digits and -")
        return value

    @field_validator("hq")
    @classmethod
    def _hq(cls, value: str | None) -> str | None:
        if value is not None and not _COUNTRY.match(value):
            raise ValueError(f"hq {value!r} is not ISO 3166-1 alpha-2")
        return value

    @field_validator("sdks", mode="before")
    @classmethod
    def _sdk_pairs(cls, value: object) -> object:
        if isinstance(value, Mapping):
            return tuple((eco, name) for eco, names in value.items() for name in names or ())
        return value

    @field_validator("model_patterns", "region_pattern")
    @classmethod
    def _regex(cls, value: object) -> object:
        for pattern in value if isinstance(value, tuple) else (value,):
            if pattern is not None:
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Provider:
        if (self.hq is None) != self.self_hosted:
            raise ValueError(f"{self.id}: hq must be null exactly when self_hosted is true")
        known = {r.id for r in self.regions}
        for rule in self.hosts:
            if rule.region is not None and rule.region not in known:
                raise ValueError(f"{self.id}: host {rule.pattern}: unknown region {rule.region}")
        return self

    def region(self, region_id: str) -> Region | None:
        """The listed region `region_id`, or None."""
        return next((r for r in self.regions if r.id == region_id), None)


class Library(_Frozen):
    """An AI library that is not itself a service (transformers, LangChain, …)."""

    ecosystem: Ecosystem
    name: str
    publisher: str


class _TableFile(_Frozen):
    as_of: dt.date
    providers: tuple[Provider, ...] = Field(min_length=1)
    libraries: tuple[Library, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> _TableFile:
        ids = [p.id for p in self.providers]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate provider ids: {', '.join(duplicates)}")
        return self


@dataclass(frozen=True, slots=True)
class ProviderMatch:
    """A lookup's answer: the provider, and the hosting region when the evidence names one."""

    provider: Provider
    region: Region | None = None

    @property
    def jurisdiction(self) -> str | None:
        """The operator's HQ (None for self-hosted: the organization's own)."""
        return self.provider.hq


@dataclass(frozen=True, slots=True)
class _HostMatcher:
    regex: re.Pattern[str]
    provider: Provider
    rule: HostRule
    weight: int  # literal characters: more specific patterns are tried first


def _compile_host(rule: HostRule, provider: Provider) -> _HostMatcher:
    parts: list[str] = []
    literal = 0
    for piece in re.split(r"(\*|\{region\})", rule.pattern):
        if piece == "*":
            parts.append(rf"{_LABEL}(?:\.{_LABEL})*")
        elif piece == "{region}":
            parts.append(rf"(?P<region>{_LABEL})")
        else:
            parts.append(re.escape(piece))
            literal += len(piece)
    return _HostMatcher(re.compile("".join(parts) + r"\Z"), provider, rule, literal)


def _norm_pypi(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _norm_key(key: str) -> str:
    return re.sub(r"[.\-\s]+", "_", key).upper()


@dataclass(frozen=True, slots=True)
class Table:
    """The validated table with its lookup indexes. Build it with `parse_table`/`load_table`."""

    as_of: dt.date
    providers: tuple[Provider, ...]
    libraries: tuple[Library, ...]
    _by_id: Mapping[str, Provider]
    _hosts: tuple[_HostMatcher, ...]
    _ports: Mapping[int, Provider]
    _packages: Mapping[tuple[str, str], Provider]
    _prefix_packages: tuple[tuple[str, str, Provider], ...]  # java / go: (ecosystem, prefix, p)
    _library_names: Mapping[tuple[str, str], Library]
    _orgs: Mapping[str, Provider]
    _models: tuple[tuple[re.Pattern[str], Provider], ...]
    _config: tuple[tuple[str, Provider], ...]
    _config_regex: re.Pattern[str]

    @classmethod
    def build(cls, file: _TableFile) -> Table:
        hosts = sorted(
            (_compile_host(rule, p) for p in file.providers for rule in p.hosts),
            key=lambda m: -m.weight,
        )
        packages: dict[tuple[str, str], Provider] = {}
        prefixes: list[tuple[str, str, Provider]] = []
        for p in file.providers:
            for eco, name in p.sdks:
                if eco in ("java", "go"):
                    prefixes.append((eco, name, p))
                else:
                    key = _norm_pypi(name) if eco == "pypi" else name.lower()
                    packages.setdefault((eco, key), p)
        prefixes.sort(key=lambda t: -len(t[1]))
        libs: dict[tuple[str, str], Library] = {
            (lib.ecosystem, _norm_pypi(lib.name) if lib.ecosystem == "pypi" else lib.name): lib
            for lib in file.libraries
        }
        models = tuple(
            (re.compile(pattern, re.IGNORECASE), p)
            for p in file.providers
            for pattern in p.model_patterns
        )
        config = sorted(
            ((_norm_key(prefix), p) for p in file.providers for prefix in p.config_prefixes),
            key=lambda t: -len(t[0]),
        )
        return cls(
            as_of=file.as_of,
            providers=file.providers,
            libraries=file.libraries,
            _by_id=MappingProxyType({p.id: p for p in file.providers}),
            _hosts=tuple(hosts),
            _ports=MappingProxyType({port: p for p in file.providers for port in p.ports}),
            _packages=MappingProxyType(packages),
            _prefix_packages=tuple(prefixes),
            _library_names=MappingProxyType(libs),
            _orgs=MappingProxyType({org.lower(): p for p in file.providers for org in p.hf_orgs}),
            _models=models,
            _config=tuple(config),
            _config_regex=re.compile(
                "|".join(f"({re.escape(prefix)})" for prefix, _ in config) or "(?!)"
            ),
        )

    def get(self, provider_id: str) -> Provider | None:
        return self._by_id.get(provider_id)

    def by_host(self, host: str) -> ProviderMatch | None:
        """`host` or `host:port` (an IPv6 literal in brackets). Loopback and private addresses
        and cluster-internal names are the organization's own servers (`self-hosted`)."""
        name, port = _split_host(host)
        if not name:
            return None
        by_port = self._ports.get(port) if port is not None else None
        for m in self._hosts:
            hit = m.regex.match(name)
            if hit is None:
                continue
            if m.provider.self_hosted and by_port is not None:
                return ProviderMatch(by_port)  # localhost:11434 is Ollama, not just "a server"
            region_id = m.rule.region or hit.groupdict().get("region")
            return ProviderMatch(m.provider, _region(m.provider, region_id))
        if by_port is not None:
            return ProviderMatch(by_port)
        if _is_private_address(name):
            own = self._by_id.get("self-hosted")
            return ProviderMatch(own) if own is not None else None
        return None

    def by_url(self, url: str) -> ProviderMatch | None:
        """The provider behind an http(s) URL (userinfo, path and query are ignored)."""
        try:
            parts = urlsplit(url.strip())
            host, port = parts.hostname, parts.port
        except ValueError:
            return None
        if not host:
            return None
        key = f"[{host}]" if ":" in host else host
        return self.by_host(f"{key}:{port}" if port else key)

    def by_package(self, ecosystem: str, name: str) -> ProviderMatch | None:
        """A client SDK that implies using the provider's service. `java` and `go` names match
        by package / module prefix (`com.openai.client.OpenAIClient` -> OpenAI)."""
        if ecosystem in ("java", "go"):
            sep = "." if ecosystem == "java" else "/"
            for eco, prefix, p in self._prefix_packages:
                if eco == ecosystem and (name == prefix or name.startswith(prefix + sep)):
                    return ProviderMatch(p)
            return None
        key = _norm_pypi(name) if ecosystem == "pypi" else name.lower()
        found = self._packages.get((ecosystem, key))
        return ProviderMatch(found) if found is not None else None

    def package_name(self, ecosystem: str, name: str) -> str | None:
        """The table's spelling of a known SDK or library: the matched prefix for `java`/`go`
        (`com.openai.client.OpenAIClient` -> `com.openai`), the normalised name otherwise."""
        if ecosystem in ("java", "go"):
            sep = "." if ecosystem == "java" else "/"
            prefixes = [prefix for eco, prefix, _ in self._prefix_packages if eco == ecosystem]
            prefixes += [prefix for (eco, prefix) in self._library_names if eco == ecosystem]
            for prefix in sorted(prefixes, key=len, reverse=True):
                if name == prefix or name.startswith(prefix + sep):
                    return prefix
            return None
        if self.by_package(ecosystem, name) is None and self.library(ecosystem, name) is None:
            return None
        return _norm_pypi(name) if ecosystem == "pypi" else name

    def library(self, ecosystem: str, name: str) -> Library | None:
        """A non-service AI library (`java`/`go` by prefix)."""
        if ecosystem in ("java", "go"):
            sep = "." if ecosystem == "java" else "/"
            for (eco, prefix), lib in self._library_names.items():
                if eco == ecosystem and (name == prefix or name.startswith(prefix + sep)):
                    return lib
            return None
        key = _norm_pypi(name) if ecosystem == "pypi" else name
        return self._library_names.get((ecosystem, key))

    def by_model_id(self, model_id: str) -> ProviderMatch | None:
        """The model's publisher: a Hugging Face organisation (`Qwen/Qwen2.5-7B`), or a model-name
        pattern (`gpt-4o`, `claude-…`, `HCX-005`, `anthropic.claude-…` on Bedrock)."""
        text = model_id.strip()
        for prefix in ("https://huggingface.co/", "hf.co/", "huggingface.co/", "hf://"):
            if text.lower().startswith(prefix):
                text = text[len(prefix) :]
        if "/" in text:
            org, _, rest = text.partition("/")
            p = self._orgs.get(org.lower())
            if p is not None:
                return ProviderMatch(p)
            if org != "models":  # `models/gemini-1.5-pro` is the Gemini API's own spelling
                return None  # `mycorp/llama-3-ft` is published by mycorp, not by Meta
            text = rest
        for regex, p in self._models:
            if regex.match(text):
                return ProviderMatch(p)
        return None

    def by_config_key(self, key: str) -> ProviderMatch | None:
        """`OPENAI_API_KEY`, `spring.ai.openai.api-key`, … -> the provider the key configures."""
        hit = self._config_regex.match(_norm_key(key))  # longest prefix first, one C call
        if hit is None or hit.lastindex is None:
            return None
        return ProviderMatch(self._config[hit.lastindex - 1][1])


def _region(provider: Provider, region_id: str | None) -> Region | None:
    if not region_id:
        return None
    listed = provider.region(region_id)
    if listed is not None:
        return listed
    if provider.region_pattern and not re.match(provider.region_pattern, region_id):
        return None
    return Region(id=region_id)


def _split_host(host: str) -> tuple[str, int | None]:
    text = host.strip().lower()
    port: int | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return "", None
        name, rest = text[1:end], text[end + 1 :]
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        return name, port
    if text.count(":") == 1:
        name, _, rest = text.partition(":")
        if rest.isdigit() and len(rest) <= 5:
            port = int(rest)
        text = name
    return text.rstrip("."), port


def _is_private_address(name: str) -> bool:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_unspecified


def parse_table(text: str) -> Table:
    """Validate a table document. Raises ValueError naming the first bad field."""
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise ValueError(f"jurisdiction table is not valid YAML: {exc}") from None
    try:
        return Table.build(_TableFile.model_validate(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"jurisdiction table: {where}: {first['msg']}") from None


@functools.cache
def load_table() -> Table:
    """The packaged table, validated once per process."""
    text = resources.files("sumun.scan").joinpath("data/jurisdictions.yaml").read_text("utf-8")
    return parse_table(text)


def by_host(host: str) -> ProviderMatch | None:
    return load_table().by_host(host)


def by_url(url: str) -> ProviderMatch | None:
    return load_table().by_url(url)


def by_package(ecosystem: str, name: str) -> ProviderMatch | None:
    return load_table().by_package(ecosystem, name)


def by_model_id(model_id: str) -> ProviderMatch | None:
    return load_table().by_model_id(model_id)


def by_config_key(key: str) -> ProviderMatch | None:
    return load_table().by_config_key(key)
