"""Loading the requirements catalog: versioned YAML files, validated into typed requirements.

    sumun/comply/catalog/
      ai_basic_act.yaml  pipa.yaml  n2sf.yaml  csap.yaml  kcmvp.yaml  sector.yaml
      high_impact_areas.yaml      the art. 2(4) areas the register's questionnaire asks about

Each requirement file is one instrument (`CatalogFile`): `catalog_version`, `as_of` (the date
the facts were gathered) and its requirements. Loading refuses — with the file and the field —
a file that does not validate, an id used twice, and a check naming a collector that does not
exist: a catalog that loads is one the assessment can run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from sumun.comply.collectors import COLLECTORS
from sumun.comply.model import CatalogFile, HighImpactArea, Requirement, SourceRef
from sumun.errors import ConfigError

__all__ = ["AREAS_FILE", "Catalog", "CatalogSource", "load_areas", "load_catalog"]

AREAS_FILE = "high_impact_areas.yaml"


class _AreasFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog_version: str
    as_of: str
    source: SourceRef
    areas: tuple[HighImpactArea, ...]


@dataclass(frozen=True, slots=True)
class CatalogSource:
    file: str
    instrument_ko: str
    instrument_en: str
    catalog_version: str
    as_of: str
    requirements: int
    unconfirmed: int


@dataclass(frozen=True, slots=True)
class Catalog:
    sources: tuple[CatalogSource, ...]
    requirements: tuple[Requirement, ...]
    areas: tuple[HighImpactArea, ...]
    areas_source: SourceRef

    def get(self, requirement_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)

    def source_of(self, requirement_id: str) -> CatalogSource | None:
        at = 0
        for source in self.sources:
            if any(
                r.id == requirement_id for r in self.requirements[at : at + source.requirements]
            ):
                return source
            at += source.requirements
        return None


def _files(directory: Path | None) -> Iterator[tuple[str, Traversable]]:
    root: Traversable = (
        directory if directory is not None else resources.files("sumun.comply") / "catalog"
    )
    if not root.is_dir():
        raise ConfigError(f"catalog directory not found: {root}")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml") and entry.is_file():
            yield entry.name, entry


def _yaml(name: str, entry: Traversable) -> Any:
    try:
        return yaml.safe_load(entry.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"catalog {name}: not valid YAML: {exc}") from exc


def _invalid(name: str, exc: ValidationError) -> ConfigError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
    )
    return ConfigError(f"catalog {name}: {problems}")


def _order(name: str) -> tuple[int, str]:
    preferred = ("ai_basic_act", "pipa", "n2sf", "csap", "kcmvp", "sector")
    stem = name.removesuffix(".yaml")
    return (preferred.index(stem) if stem in preferred else len(preferred), stem)


def load_areas() -> tuple[HighImpactArea, ...]:
    """The built-in art. 2(4) areas alone (for `--help` and `sumun comply areas`): one small
    file, without validating the whole catalog."""
    entry = resources.files("sumun.comply") / "catalog" / AREAS_FILE
    try:
        return _AreasFile.model_validate(_yaml(AREAS_FILE, entry)).areas
    except ValidationError as exc:
        raise _invalid(AREAS_FILE, exc) from exc


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and validate the catalog (the packaged one unless `directory` is given)."""
    files = dict(_files(directory))
    if AREAS_FILE not in files:
        raise ConfigError(f"catalog: {AREAS_FILE} is missing")
    try:
        areas = _AreasFile.model_validate(_yaml(AREAS_FILE, files.pop(AREAS_FILE)))
    except ValidationError as exc:
        raise _invalid(AREAS_FILE, exc) from exc
    if not files:
        raise ConfigError("catalog: no requirement files")
    sources: list[CatalogSource] = []
    requirements: list[Requirement] = []
    seen: dict[str, str] = {}
    for name in sorted(files, key=_order):
        try:
            parsed = CatalogFile.model_validate(_yaml(name, files[name]))
        except ValidationError as exc:
            raise _invalid(name, exc) from exc
        for requirement in parsed.requirements:
            if requirement.id in seen:
                raise ConfigError(
                    f"catalog {name}: requirement id {requirement.id} is also in "
                    f"{seen[requirement.id]}"
                )
            seen[requirement.id] = name
            for check in requirement.checks:
                collector = COLLECTORS.get(check.collector)
                if collector is None:
                    raise ConfigError(
                        f"catalog {name}: {requirement.id} names an unknown collector "
                        f"{check.collector!r}"
                    )
                if collector.per_app and requirement.scope.ai != "high-impact":
                    raise ConfigError(
                        f"catalog {name}: {requirement.id}: {check.collector} is per app, so "
                        "the requirement needs `scope: {ai: high-impact}`"
                    )
        requirements.extend(parsed.requirements)
        sources.append(
            CatalogSource(
                file=name,
                instrument_ko=parsed.instrument_ko,
                instrument_en=parsed.instrument_en,
                catalog_version=parsed.catalog_version,
                as_of=parsed.as_of,
                requirements=len(parsed.requirements),
                unconfirmed=sum(1 for r in parsed.requirements if r.source.status == "unconfirmed"),
            )
        )
    return Catalog(tuple(sources), tuple(requirements), areas.areas, areas.source)
