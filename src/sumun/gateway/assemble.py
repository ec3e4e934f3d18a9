"""Build the gateway from a runtime and its settings — one function, every part in view."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sumun.gateway.admission import Admission
from sumun.gateway.breaker import Breaker
from sumun.gateway.killswitch import CutChange, KillSwitch
from sumun.gateway.limits import make_limiter
from sumun.gateway.metrics import Metrics
from sumun.gateway.pipeline import Gateway
from sumun.gateway.policy_source import PolicySource
from sumun.gateway.reload import Reloader, initial_live
from sumun.gateway.router import Router
from sumun.gateway.spend import PriceTable
from sumun.gateway.upstream.base import ProviderAdapter, UpstreamError
from sumun.gateway.upstream.factory import make_adapter
from sumun.gateway.usage import UsageFlusher, UsageRollup
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.runtime import Runtime
from sumun.store.directory import Directory
from sumun.store.documents import StoreDocuments
from sumun.store.pseudonyms import PseudonymVault
from sumun.store.watch import ControlWatcher

__all__ = ["GatewayParts", "admin_change_entry", "build_gateway", "kill_switch_entry"]

log = logging.getLogger("sumun.gateway")


@dataclass
class GatewayParts:
    gateway: Gateway
    killswitch: KillSwitch
    adapters: dict[str, ProviderAdapter]
    watcher: ControlWatcher
    breaker: Breaker  # each provider's circuit (the console shows its state)
    usage: UsageFlusher  # the overview's counts, flushed by the server (`run(stop)`)
    reloader: Reloader | None = None  # hot reload of sumun.yaml and the policy (gateway.reload)

    async def aclose(self) -> None:
        self.watcher.stop()
        self.killswitch.stop()
        if self.reloader is not None:  # the adapters in force now, and any still draining
            await self.reloader.aclose()
        else:
            for adapter in self.adapters.values():
                await adapter.aclose()
        self.gateway.limiter.close()
        self.gateway.directory.close()
        if self.gateway.vault is not None:
            self.gateway.vault.close()


def build_gateway(runtime: Runtime) -> GatewayParts:
    settings = runtime.settings
    control = runtime.control
    metrics = Metrics()
    metrics.follow_ledger(runtime.ledger.spool_stats)
    # One watcher per node: every control change (a revocation, a cut, a key disabled on any
    # node) reaches the directory, the kill switch and the key layer within `poll_seconds`.
    watcher = control.watcher(control.database())
    directory = Directory(control.database(), watcher=watcher)
    watcher.subscribe("directory", directory.invalidate)
    watcher.subscribe("keys", lambda _generation: runtime.keys.refresh())
    documents = control.documents
    if isinstance(documents, StoreDocuments):
        documents.follow(watcher)  # the registry's change marker without a per-request read

    def record_cut(change: CutChange) -> None:
        # Kill-switch changes seen by this process are logged; the process that made the change
        # records it in the ledger (see `sumun providers cut`).
        log.warning("kill switch: %s", change)

    killswitch = KillSwitch(control.database(), on_change=record_cut, watcher=watcher)
    killswitch.start()
    breaker = Breaker.from_config(settings.gateway)
    adapters = {p.name: make_adapter(p) for p in settings.providers}

    def on_failure(provider: str, exc: UpstreamError) -> None:
        metrics.upstream_errors.labels(provider, exc.kind).inc()

    policy = PolicySource(settings, documents)
    admission = Admission(settings, policy.load(), is_cut=killswitch.is_cut)
    router = Router(
        settings.routes,
        adapters,
        is_cut=killswitch.is_cut,
        breaker=breaker,
        on_failure=on_failure,
    )
    # The router, admission and adapters live in one snapshot a reload replaces whole; the
    # gateway reads them through views of the snapshot each request is pinned to.
    reloader = Reloader(
        runtime,
        initial_live(runtime, router, admission, adapters, policy),
        breaker=breaker,
        is_cut=killswitch.is_cut,
        on_failure=on_failure,
    )
    reloader.subscribe(watcher)  # a policy applied, or a reload, on any node
    gateway = Gateway(
        runtime,
        directory=directory,
        limiter=make_limiter(settings.gateway),
        router=reloader.router,
        metrics=metrics,
        admission=reloader.admission,
        max_body_bytes=settings.gateway.max_body_bytes,
        vault=PseudonymVault(control.vault_database()),
        pseudonym_retention_seconds=settings.gateway.pseudonym_retention_days * 86400,
        detection_budget_seconds=settings.gateway.detection_budget_seconds,
        default_output_reservation=settings.gateway.default_output_reservation,
        ledger_payload_max_bytes=settings.gateway.ledger_payload_max_bytes,
        usage=UsageRollup(),
        prices=PriceTable.from_config(settings.prices),
    )
    store = control.usage  # opened here, once: the flusher and the admin API share it
    usage = UsageFlusher(gateway.usage, lambda: store)
    reloader.bind(gateway)
    watcher.start()  # every subscriber is in place
    return GatewayParts(gateway, killswitch, adapters, watcher, breaker, usage, reloader)


def admin_change_entry(
    action: str,
    actor: str,
    *,
    rules: tuple[str, ...],
    attrs: dict[str, str] | None = None,
    decision: str | None = None,
    provider: str | None = None,
) -> EntryMeta:
    """The ledger entry for a control-plane change (metadata only, naming its actor)."""
    return EntryMeta(
        kind=EntryKind.ADMIN_CHANGE,
        tenant="sumun",
        time_ms=int(time.time() * 1000),
        decision=decision or action,
        provider=provider,
        rules=rules,
        attrs={"actor": actor, "action": action, **(attrs or {})},
    )


def kill_switch_entry(provider: str, action: str, actor: str, reason: str) -> EntryMeta:
    """The ledger entry for a cut or restore (metadata only)."""
    return admin_change_entry(
        f"provider-{action}",
        actor,
        rules=("killswitch",),
        attrs={"reason": reason},
        decision=action,
        provider=provider,
    )
