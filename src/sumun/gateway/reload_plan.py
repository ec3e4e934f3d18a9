"""What a reload may change, and what it changes: two settings compared, no I/O.

Reloadable: `providers` (their adapters), `routes`, the `gateway.*` limits and breaker settings
listed in `GATEWAY_RELOADABLE`, `prices` (the spend meter's table), and `policy_file` (and the
policy document). Everything else —
`server`, `admin_api`, `xks`, `keys`, `control`, `ledger`, `gateway.redis_url`, and any section
this list does not name — was built into a listener, a store or a long-lived part at start and
needs a restart: a reload that changes any of it is refused, naming each key, rather than
half-applied or silently ignored.
"""

from __future__ import annotations

from typing import Any

from sumun.config import Settings

__all__ = [
    "GATEWAY_RELOADABLE",
    "RELOADABLE",
    "changed_sections",
    "needs_restart",
    "reloadable",
]

RELOADABLE = ("providers", "routes", "gateway", "policy_file", "prices")
# The gateway's settings a swap applies (gateway.reload `_swap`); any other needs a restart.
GATEWAY_RELOADABLE = frozenset(
    {
        "max_body_bytes",
        "breaker_failures",
        "breaker_cooldown_seconds",
        "pseudonym_retention_days",
        "detection_budget_seconds",
        "default_output_reservation",
        "ledger_payload_max_bytes",
    }
)
_NOT_COMPARED = frozenset({"home", "config_file"})  # chosen by the process, not the file


def _dump(settings: Settings, section: str) -> Any:
    return settings.model_dump(mode="json", include={section})[section]


def _diff(old: Any, new: Any, path: str) -> list[str]:
    """Dotted key paths where `old` and `new` differ (names only, never values)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(key), new.get(key), f"{path}.{key}")
        return out
    return [] if old == new else [path]


def needs_restart(old: Settings, new: Settings) -> list[str]:
    """Each key that differs and cannot change without a restart."""
    found: list[str] = []
    for section in type(old).model_fields:
        if section in _NOT_COMPARED or section in RELOADABLE:
            continue
        found += _diff(_dump(old, section), _dump(new, section), section)
    before, after = _dump(old, "gateway"), _dump(new, "gateway")
    for key in sorted(set(before) | set(after)):
        if key not in GATEWAY_RELOADABLE and before.get(key) != after.get(key):
            found.append(f"gateway.{key}")
    if old.home != new.home:
        found.append("home")
    return found


def changed_sections(old: Settings, new: Settings) -> list[str]:
    """The reloadable sections that differ (section names only)."""
    return [s for s in RELOADABLE if _dump(old, s) != _dump(new, s)]


def reloadable(base: Settings, new: Settings) -> Settings:
    """`base` (what the node runs with, start-time overrides included) with the reloadable
    sections taken from `new`."""
    update = {s: getattr(new, s) for s in RELOADABLE}
    update["config_file"] = new.config_file
    return base.model_copy(update=update)
