"""The evidence collectors, by name: what a catalog `check` may call.

Each collector is a pure function of `Facts` (see `base`); this module only assembles the
read-only registry. Names are stable: the catalog refers to them, and a test checks that every
check names a registered collector.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sumun.comply.collectors import gateway, keys, ledger, policy, register, scans, xks
from sumun.comply.collectors.base import Collector, CollectorFn, Params

__all__ = ["COLLECTORS", "Collector", "CollectorFn", "Params"]


def _registry(*groups: tuple[Collector, ...]) -> Mapping[str, Collector]:
    found: dict[str, Collector] = {}
    for group in groups:
        for collector in group:
            if collector.name in found:
                raise RuntimeError(f"two collectors are named {collector.name!r}")
            found[collector.name] = collector
    return MappingProxyType(dict(sorted(found.items())))


COLLECTORS: Mapping[str, Collector] = _registry(
    keys.COLLECTORS,
    ledger.COLLECTORS,
    gateway.COLLECTORS,
    policy.COLLECTORS,
    scans.COLLECTORS,
    register.COLLECTORS,
    xks.COLLECTORS,
)
