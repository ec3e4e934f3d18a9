"""The scan as a CycloneDX 1.6 ML-BOM (JSON), valid against the official 1.6 schema.

Mapping (CycloneDX 1.6, https://cyclonedx.org/docs/1.6/json/):

- models -> `components[]` of type `machine-learning-model`: `hashes` (`SHA-256`), `licenses`
  (an SPDX `id` when the licence is a known SPDX identifier, else a `name`), `modelCard.
  modelParameters` (`architectureFamily`, `modelArchitecture`, `task` where the analyzer found
  them, and `datasets` as `ref`s to the `data` components), `pedigree.ancestors` for base
  models, `externalReferences` to Hugging Face for hub ids, and `evidence.occurrences` for the
  files (`path`, or `path!/member` inside an archive).
- datasets -> `components[]` of type `data`; SDKs -> type `library`.
- cloud AI APIs -> `services[]` (the schema keeps services apart from components): `provider`,
  `endpoints`, `x-trust-boundary: true` (prompts leave the organisation), `trustZone` = the
  provider's headquarters jurisdiction (ISO 3166 alpha-2), a bi-directional `data` flow, and
  `properties` `sumun:jurisdiction`, `sumun:provider` and one `sumun:path` per place of use.
- the runtime AI-BOM (`sumun scan --ledger`, from a `RuntimeUsage`): one more `services[]` entry
  per tenant/app, provider and upstream model the gateway forwarded to in the period — `group`
  `tenant/app`, `name` the upstream model, `provider` the operator, `endpoints` the configured
  base URL, `x-trust-boundary` unless the provider is on-prem, `trustZone` the declared
  jurisdiction, one `outbound` `data` flow per data class sent (`classification` C/S/O), and
  `sumun:` properties (calls, failures, first/last seen, PII types and actions with counts,
  region, hosting). Code services and API model names get `sumun:runtime:used` true/false;
  runtime services get `sumun:code:declared` true/false (and `sumun:code:ref`s to the code
  services they match): see `sumun.scan.runtime.join`.
- findings -> `vulnerabilities[]`, only the critical and high ones that concern a component in
  this BOM (a model file): an ML-BOM consumer (Dependency-Track and the like) shows them on
  that component, which is where a poisoned pickle must be seen. Findings about code (a
  `torch.load` call, an API key) have no BOM component to affect and stay in SARIF/JSON.

Serial number and timestamp are parameters, so tests (and reproducible builds) can fix them.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import uuid
from collections.abc import Iterable
from typing import Any

from sumun import __version__
from sumun.scan.model import Component, Finding, ScanResult, Severity
from sumun.scan.runtime import RuntimeUsage, RuntimeUse, iso_ms, join

__all__ = ["SPEC_VERSION", "spdx_id", "to_cyclonedx"]

SPEC_VERSION = "1.6"
_HF = "https://huggingface.co/"
_HF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")

# Hugging Face licence tags and common spellings -> SPDX identifiers (https://spdx.org/licenses/).
_SPDX = {
    "apache-2.0": "Apache-2.0",
    "mit": "MIT",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-3-clause-clear": "BSD-3-Clause-Clear",
    "cc0-1.0": "CC0-1.0",
    "cc-by-2.0": "CC-BY-2.0",
    "cc-by-3.0": "CC-BY-3.0",
    "cc-by-4.0": "CC-BY-4.0",
    "cc-by-sa-3.0": "CC-BY-SA-3.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0",
    "cc-by-nc-2.0": "CC-BY-NC-2.0",
    "cc-by-nc-3.0": "CC-BY-NC-3.0",
    "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nd-4.0": "CC-BY-ND-4.0",
    "cc-by-nc-nd-3.0": "CC-BY-NC-ND-3.0",
    "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0",
    "cc-by-nc-sa-2.0": "CC-BY-NC-SA-2.0",
    "cc-by-nc-sa-3.0": "CC-BY-NC-SA-3.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "agpl-3.0": "AGPL-3.0-only",
    "mpl-2.0": "MPL-2.0",
    "epl-1.0": "EPL-1.0",
    "epl-2.0": "EPL-2.0",
    "ecl-2.0": "ECL-2.0",
    "afl-3.0": "AFL-3.0",
    "artistic-2.0": "Artistic-2.0",
    "bsl-1.0": "BSL-1.0",
    "isc": "ISC",
    "unlicense": "Unlicense",
    "wtfpl": "WTFPL",
    "zlib": "Zlib",
    "postgresql": "PostgreSQL",
    "ofl-1.1": "OFL-1.1",
    "odbl": "ODbL-1.0",
    "odc-by": "ODC-By-1.0",
    "pddl": "PDDL-1.0",
    "c-uda": "C-UDA-1.0",
    "cdla-permissive-1.0": "CDLA-Permissive-1.0",
    "cdla-permissive-2.0": "CDLA-Permissive-2.0",
    "cdla-sharing-1.0": "CDLA-Sharing-1.0",
    "gfdl": "GFDL-1.3-only",
}
_SPDX_BY_LOWER = {**_SPDX, **{v.lower(): v for v in _SPDX.values()}}


def spdx_id(license_name: str) -> str | None:
    """The SPDX identifier for a licence tag (`apache-2.0` -> `Apache-2.0`), if it has one."""
    return _SPDX_BY_LOWER.get(license_name.strip().lower())


def _licenses(name: str | None) -> list[dict[str, Any]]:
    if not name:
        return []
    ident = spdx_id(name)
    return [{"license": {"id": ident} if ident else {"name": name}}]


def _location(path: str | None, member: str | None) -> str | None:
    if path is None:
        return None
    return path if member is None else f"{path}!/{member}"


def _props(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": f"sumun:{name}", "value": value} for name, value in pairs]


_URI_SAFE = "!$&'()*+,;=:/?#@%-._~"


def _endpoint(raw: str) -> str | None:
    """`raw` as an IRI reference the schema accepts, or None (it then stays a property only).

    Endpoints come from source code: placeholders (`https://{resource}.openai.azure.com`),
    environment references (`${BASE_URL}`) and spaces are percent-encoded."""
    text = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", raw.strip())
    encoded = urllib.parse.quote(text, safe=_URI_SAFE)
    try:
        parts = urllib.parse.urlsplit(encoded)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return None
    if parts.netloc.count(":") > 1 or not encoded:
        return None
    return encoded


class _Refs:
    """Unique, readable bom-refs."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, base: str) -> str:
        ref, n = base, 1
        while ref in self.used:
            n += 1
            ref = f"{base}#{n}"
        self.used.add(ref)
        return ref


def _hf_id(component: Component) -> str | None:
    props = dict(component.properties)
    for key in ("hf_id", "repo_id", "model_id"):
        if props.get(key):
            return props[key]
    from_hub = component.path is None or props.get("format") == "huggingface"
    if from_hub and _HF_ID.fullmatch(component.name):
        return component.name  # a hub id referenced from code, or a model folder's `_name_or_path`
    return None


def _model_card(component: Component, dataset_refs: dict[str, str]) -> dict[str, Any] | None:
    props = dict(component.properties)
    params: dict[str, Any] = {}
    family = props.get("architecture") or props.get("model_type")
    if family:
        params["architectureFamily"] = family
    specific = props.get("architectures") or props.get("model_architecture")
    if specific:
        params["modelArchitecture"] = specific
    task = props.get("task") or props.get("pipeline_tag")
    if task:
        params["task"] = task
    refs = [{"ref": dataset_refs[d]} for d in component.datasets if d in dataset_refs]
    if refs:
        params["datasets"] = refs
    return {"modelParameters": params} if params else None


def _component(component: Component, ref: str, dataset_refs: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": component.type, "bom-ref": ref, "name": component.name}
    if component.version:
        out["version"] = component.version
    if component.publisher:
        out["publisher"] = component.publisher
    if component.hashes:
        out["hashes"] = [{"alg": alg, "content": value} for alg, value in component.hashes]
    licenses = _licenses(component.license)
    if licenses:
        out["licenses"] = licenses
    if component.base_models:
        out["pedigree"] = {
            "ancestors": [
                {
                    "type": "machine-learning-model",
                    "name": base,
                    **(
                        {"externalReferences": [{"type": "website", "url": _HF + base}]}
                        if _HF_ID.fullmatch(base)
                        else {}
                    ),
                }
                for base in component.base_models
            ]
        }
    hub = _hf_id(component)
    if hub is not None:
        prefix = "datasets/" if component.type == "data" else ""
        out["externalReferences"] = [{"type": "website", "url": f"{_HF}{prefix}{hub}"}]
    if component.type == "machine-learning-model":
        card = _model_card(component, dataset_refs)
        if card is not None:
            out["modelCard"] = card
    occurrences = [{"location": loc} for loc in [_location(component.path, component.member)]]
    occurrences = [o for o in occurrences if o["location"] is not None]
    occurrences += [{"location": p} for p in component.paths]
    if occurrences:
        out["evidence"] = {"occurrences": occurrences}
    props = list(component.properties)
    if component.provider:
        props.append(("provider", component.provider))
    if component.jurisdiction:
        props.append(("jurisdiction", component.jurisdiction))
    if props:
        out["properties"] = _props(props)
    return out


def _service(component: Component, ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {"bom-ref": ref, "name": component.name}
    operator = component.publisher or component.provider
    if operator:
        out["provider"] = {"name": operator}
    if component.version:
        out["version"] = component.version
    endpoint = _endpoint(component.endpoint) if component.endpoint else None
    if endpoint:
        out["endpoints"] = [endpoint]
    out["x-trust-boundary"] = True
    if component.jurisdiction:
        out["trustZone"] = component.jurisdiction
    out["data"] = [{"flow": "bi-directional", "classification": "ai-prompts-and-completions"}]
    licenses = _licenses(component.license)
    if licenses:
        out["licenses"] = licenses
    props = list(component.properties)
    if component.provider:
        props.append(("provider", component.provider))
    if component.jurisdiction:
        props.append(("jurisdiction", component.jurisdiction))
    if component.endpoint:
        props.append(("endpoint", component.endpoint))
    props += [("path", p) for p in component.paths]
    if component.path:
        props.append(("path", _location(component.path, component.member) or component.path))
    out["properties"] = _props(props)
    return out


def _runtime_service(
    use: RuntimeUse,
    usage: RuntimeUsage,
    *,
    model_declared: bool,
    code_refs: list[str],
    ref: str,
) -> dict[str, Any]:
    provider = usage.provider(use.provider)
    out: dict[str, Any] = {"bom-ref": ref}
    operator = (provider.operator if provider else None) or use.provider
    out["provider"] = {"name": operator}
    out["group"] = use.subject
    out["name"] = use.model
    endpoint = _endpoint(provider.endpoint) if provider and provider.endpoint else None
    if endpoint:
        out["endpoints"] = [endpoint]
    out["x-trust-boundary"] = provider.leaves_organization if provider else True
    jurisdiction = (provider.jurisdiction or provider.table_jurisdiction) if provider else None
    if jurisdiction:
        out["trustZone"] = jurisdiction
    flows = [
        {"flow": "outbound", "classification": data_class, "name": f"prompts of class {data_class}"}
        for data_class, _ in use.data_classes
    ]
    out["data"] = flows or [{"flow": "outbound", "classification": "unclassified"}]
    props: list[tuple[str, str]] = [
        ("source", "ledger"),
        ("tenant", use.tenant),
        ("app", use.app),
        ("provider:name", use.provider),
    ]
    if provider is not None:
        props.append(("provider:kind", provider.kind))
        if provider.table_id:
            props.append(("provider", provider.table_id))
        if provider.jurisdiction:
            props.append(("jurisdiction", provider.jurisdiction))
        if provider.table_jurisdiction:
            props.append(("jurisdiction:table", provider.table_jurisdiction))
        if provider.hosting:
            props.append(("hosting", provider.hosting))
        if provider.region:
            props.append(("region", provider.region))
        if provider.region_country:
            props.append(("region_country", provider.region_country))
            props.append(("region_in_korea", str(provider.region_country == "KR").lower()))
    props += [("model:requested", name) for name in use.requested]
    props += [
        ("runtime:calls", str(use.calls)),
        ("runtime:failed", str(use.failed)),
        ("runtime:first_seen", iso_ms(use.first_ms)),
        ("runtime:last_seen", iso_ms(use.last_ms)),
        ("runtime:tokens_in", str(use.tokens_in)),
        ("runtime:tokens_out", str(use.tokens_out)),
    ]
    props += [(f"data_class:{name}", str(n)) for name, n in use.data_classes]
    props += [(f"pii:type:{name}", str(n)) for name, n in use.pii_types]
    props += [(f"pii:action:{name}", str(n)) for name, n in use.pii_actions]
    props.append(("code:declared", str(bool(code_refs)).lower()))
    props += [("code:ref", r) for r in code_refs]
    props.append(("code:model_declared", str(model_declared).lower()))
    out["properties"] = _props(props)
    return out


def _runtime_metadata(usage: RuntimeUsage) -> list[tuple[str, str]]:
    return [
        ("runtime:origin", usage.origin),
        ("runtime:from", iso_ms(usage.since_ms) if usage.since_ms is not None else "start"),
        ("runtime:to", iso_ms(usage.until_ms) if usage.until_ms is not None else "end"),
        ("runtime:entries", str(usage.entries)),
        ("runtime:calls", str(sum(u.calls for u in usage.uses))),
        ("runtime:unreadable", str(usage.unreadable)),
    ]


def _used(entry: dict[str, Any], calls: int | None) -> None:
    props = entry.setdefault("properties", [])
    props += _props(
        [("runtime:used", str(bool(calls)).lower()), ("runtime:calls", str(calls or 0))]
    )


def _vulnerabilities(
    findings: Iterable[Finding], refs_by_location: dict[tuple[str, str | None], str]
) -> list[dict[str, Any]]:
    source = {"name": "Sumun scan"}
    out: list[dict[str, Any]] = []
    for finding in findings:
        if finding.severity < Severity.HIGH:
            continue
        ref = refs_by_location.get((finding.path, finding.member))
        if ref is None:
            continue
        out.append(
            {
                "bom-ref": f"finding-{len(out) + 1}",
                "id": finding.rule,
                "source": source,
                "ratings": [
                    {"source": source, "severity": finding.severity.label, "method": "other"}
                ],
                "description": finding.message,
                "affects": [{"ref": ref}],
                "properties": _props(
                    [
                        ("rule", finding.rule),
                        ("location", _location(finding.path, finding.member) or ""),
                    ]
                ),
            }
        )
    return out


def to_cyclonedx(
    result: ScanResult,
    *,
    serial: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
    runtime: RuntimeUsage | None = None,
) -> dict[str, Any]:
    """The CycloneDX 1.6 JSON document (a dict ready for `json.dumps`); with `runtime`, the
    services the ledger saw used, joined with what the code references."""
    when = timestamp if timestamp is not None else dt.datetime.now(dt.UTC)
    refs = _Refs()
    components: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    by_location: dict[tuple[str, str | None], str] = {}
    dataset_refs: dict[str, str] = {}
    planned: list[tuple[Component, str]] = []
    matched = join(result.components, runtime) if runtime is not None else None
    for component in result.components:
        where = _location(component.path, component.member)
        ref = refs.make(f"{component.type}:{where or component.name}")
        planned.append((component, ref))
        if component.type == "data" and component.path is None:
            dataset_refs.setdefault(component.name, ref)
    for i, (component, ref) in enumerate(planned):
        if component.type == "service":
            services.append(_service(component, ref))
            if matched is not None:
                _used(services[-1], matched.used_services.get(i))
            continue
        components.append(_component(component, ref, dataset_refs))
        if (
            matched is not None
            and component.type == "machine-learning-model"
            and not (component.path)
        ):
            _used(components[-1], matched.used_models.get(i))
        if component.path is not None:
            by_location.setdefault((component.path, component.member), ref)
    if runtime is not None and matched is not None:
        for u, use in enumerate(runtime.uses):
            code_refs = [planned[i][1] for i in matched.declared.get(u, ())]
            ref = refs.make(f"runtime:{use.subject}:{use.provider}:{use.model}")
            services.append(
                _runtime_service(
                    use,
                    runtime,
                    model_declared=u in matched.model_declared,
                    code_refs=code_refs,
                    ref=ref,
                )
            )
    root_name = result.root.rstrip("/").rsplit("/", 1)[-1] or result.root
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": (serial or uuid.uuid4()).urn,
        "version": 1,
        "metadata": {
            "timestamp": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {
                "components": [{"type": "application", "name": "sumun", "version": __version__}]
            },
            "component": {"type": "application", "bom-ref": refs.make("root"), "name": root_name},
            "properties": _props(
                [("files", str(result.files)), ("bytes", str(result.bytes))]
                + [(f"findings:{s.label}", str(n)) for s, n in _counts(result.findings)]
                + (_runtime_metadata(runtime) if runtime is not None else [])
            ),
        },
        "components": components,
    }
    if services:
        bom["services"] = services
    vulnerabilities = _vulnerabilities(result.findings, by_location)
    if vulnerabilities:
        bom["vulnerabilities"] = vulnerabilities
    return bom


def _counts(findings: Iterable[Finding]) -> list[tuple[Severity, int]]:
    counts = dict.fromkeys(sorted(Severity, reverse=True), 0)
    for finding in findings:
        counts[finding.severity] += 1
    return list(counts.items())
