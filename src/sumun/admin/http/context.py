"""What the admin API's handlers work with: the node's parts, handed in by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sumun.config import Settings
from sumun.gateway.breaker import Breaker
from sumun.gateway.inflight import InFlight
from sumun.gateway.killswitch import KillSwitch
from sumun.gateway.limits import Limiter
from sumun.gateway.metrics import Metrics
from sumun.keys.service import KeyService
from sumun.ledger.service import Ledger
from sumun.policy.rules import Policy
from sumun.store.control import Control
from sumun.store.directory import Directory

__all__ = ["AdminContext"]


@dataclass(frozen=True, slots=True)
class AdminContext:
    """The same objects the gateway on this node uses — one directory, one kill switch, one
    ledger — so a change made here is seen by this node's gateway at once, and by every other
    node through the control store (within 1 s)."""

    settings: Settings
    directory: Directory
    killswitch: KillSwitch
    ledger: Ledger
    keys: KeyService
    metrics: Metrics
    policy: Callable[[], Policy]  # the policy in force now (it is reloaded on change)
    control: Control  # the control store: documents (the policy), `announce` to every node
    breaker: Breaker  # each provider's circuit breaker on this node
    limiter: Limiter  # the gateway's limits: the admin API reads budget usage from it
    inflight: InFlight | None = None  # the gateway's running requests (a seal ends them first)
    # The node's hot reload (`POST /reload`, sumun.gateway.reload): (actor, attrs) -> outcome.
    reload: Callable[[str, dict[str, str]], dict[str, Any]] | None = None

    @property
    def operator_tenant(self) -> str:
        return self.settings.admin_api.operator_tenant
