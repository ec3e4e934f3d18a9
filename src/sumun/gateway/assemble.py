"""Build the gateway from a runtime and its settings — one function, every part in view."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sumun.config import load_policy
from sumun.gateway.admission import Admission
from sumun.gateway.breaker import Breaker
from sumun.gateway.killswitch import CutChange, KillSwitch
from sumun.gateway.limits import make_limiter
from sumun.gateway.metrics import Metrics
from sumun.gateway.pipeline import Gateway
from sumun.gateway.router import Router
from sumun.gateway.upstream.base import ProviderAdapter, UpstreamError
from sumun.gateway.upstream.factory import make_adapter
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.runtime import Runtime
from sumun.store.directory import Directory
from sumun.store.pseudonyms import PseudonymVault

__all__ = ["GatewayParts", "build_gateway", "kill_switch_entry"]

log = logging.getLogger("sumun.gateway")


@dataclass
class GatewayParts:
    gateway: Gateway
    killswitch: KillSwitch
    adapters: dict[str, ProviderAdapter]

    async def aclose(self) -> None:
        self.killswitch.stop()
        for adapter in self.adapters.values():
            await adapter.aclose()
        self.gateway.limiter.close()
        self.gateway.directory.close()
        if self.gateway.vault is not None:
            self.gateway.vault.close()


def build_gateway(runtime: Runtime) -> GatewayParts:
    settings = runtime.settings
    home = settings.home
    metrics = Metrics()

    def record_cut(change: CutChange) -> None:
        # Kill-switch changes seen by this process are logged; the process that made the change
        # records it in the ledger (see `sumun providers cut`).
        log.warning("kill switch: %s", change)

    killswitch = KillSwitch(
        home / "store.db", redis_url=settings.gateway.redis_url, on_change=record_cut
    )
    killswitch.start()
    breaker = Breaker.from_config(settings.gateway)
    adapters = {p.name: make_adapter(p) for p in settings.providers}

    def on_failure(provider: str, exc: UpstreamError) -> None:
        metrics.upstream_errors.labels(provider, exc.kind).inc()

    router = Router(
        settings.routes,
        adapters,
        is_cut=killswitch.is_cut,
        breaker=breaker,
        on_failure=on_failure,
    )
    gateway = Gateway(
        runtime,
        directory=Directory(home / "store.db"),
        limiter=make_limiter(settings.gateway),
        router=router,
        metrics=metrics,
        admission=Admission(settings, load_policy(settings), is_cut=killswitch.is_cut),
        max_body_bytes=settings.gateway.max_body_bytes,
        vault=PseudonymVault(home / "pseudonyms.db"),
        pseudonym_retention_seconds=settings.gateway.pseudonym_retention_days * 86400,
    )
    return GatewayParts(gateway, killswitch, adapters)


def kill_switch_entry(provider: str, action: str, actor: str, reason: str) -> EntryMeta:
    """The ledger entry for a cut or restore (metadata only)."""
    return EntryMeta(
        kind=EntryKind.ADMIN_CHANGE,
        tenant="sumun",
        time_ms=int(time.time() * 1000),
        decision=action,
        provider=provider,
        rules=("killswitch",),
        attrs={"actor": actor, "action": f"provider-{action}", "reason": reason},
    )
