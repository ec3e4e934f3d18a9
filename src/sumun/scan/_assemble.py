"""The scan's result assembled from every worker's pieces: findings in a stable order, and
components normalised, de-duplicated and merged across files (one `service` per provider and
endpoint with every path that uses it), with `data` components for the datasets model cards
name.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterable

from sumun.scan.model import Component, Finding

__all__ = ["assemble_components", "assemble_findings"]


def _norm(path: str) -> str:
    # Paths come from the walker, POSIX: a backslash is part of a name (and of the escaped
    # display form of bytes that are not UTF-8, `bad\\xff.pkl`), never a separator.
    return posixpath.normpath(path).removeprefix("./")


def _finding_key(f: Finding) -> tuple[str, str, int, str, int, str]:
    return (f.path, f.member or "", -int(f.severity), f.rule, f.line or 0, f.message)


def _merge_into(kept: Component, other: Component) -> Component:
    """`kept` with `other`'s paths added and its empty fields filled from `other`."""
    paths = set(kept.paths) | set(other.paths)
    filled = {
        name: getattr(other, name)
        for name in ("version", "publisher", "provider", "jurisdiction", "endpoint", "license")
        if getattr(kept, name) is None and getattr(other, name) is not None
    }
    return dataclasses.replace(
        kept,
        paths=tuple(sorted(paths)),
        base_models=tuple(dict.fromkeys(kept.base_models + other.base_models)),
        datasets=tuple(dict.fromkeys(kept.datasets + other.datasets)),
        properties=tuple(sorted((dict(other.properties) | dict(kept.properties)).items())),
        **filled,
    )


def _identity(c: Component) -> tuple[object, ...]:
    if c.type == "service":
        return ("service", c.provider or c.name, c.endpoint)
    if c.type == "library" or c.path is None:
        return (c.type, c.name, c.version if c.type == "library" else None)
    return (c.type, c.name, c.path, c.member)


def _normalised(c: Component) -> Component:
    paths = {_norm(p) for p in c.paths}
    path = _norm(c.path) if c.path is not None else None
    if c.type in ("service", "library") and path is not None:
        paths.add(path)  # where it is used; the component itself is not a file
        path = None
    return dataclasses.replace(c, path=path, paths=tuple(sorted(paths)))


def _dataset_components(components: Iterable[Component]) -> list[Component]:
    data: list[Component] = []
    for c in components:
        for dataset in c.datasets:
            where = (c.path,) if c.path is not None else c.paths
            data.append(
                Component(
                    "data",
                    dataset,
                    paths=tuple(where),
                    properties=(("source", "model card"),),
                )
            )
    return data


_TYPE_ORDER = {"machine-learning-model": 0, "data": 1, "service": 2, "library": 3}


def _component_key(c: Component) -> tuple[int, str, str, str, str]:
    return (_TYPE_ORDER.get(c.type, 9), c.name, c.path or "", c.member or "", c.endpoint or "")


def assemble_components(raw: Iterable[Component]) -> list[Component]:
    normal = [_normalised(c) for c in raw]
    normal.extend(_dataset_components(normal))
    merged: dict[tuple[object, ...], Component] = {}
    # a total order (the whole component breaks ties), so the merged result does not depend on
    # which worker finished first or which files came from `--cache`
    for component in sorted(normal, key=lambda c: (_component_key(c), repr(c))):
        ident = _identity(component)
        kept = merged.get(ident)
        merged[ident] = component if kept is None else _merge_into(kept, component)
    return sorted(merged.values(), key=_component_key)


def assemble_findings(raw: Iterable[Finding]) -> list[Finding]:
    normal = {dataclasses.replace(f, path=_norm(f.path)) for f in raw}
    return sorted(normal, key=_finding_key)
