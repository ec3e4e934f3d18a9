"""Hot reload of sumun.yaml and the policy: validated first, swapped whole, recorded.

Triggers: SIGHUP (`systemctl reload`), `sumun reload` (the admin channel), `POST /reload`
(the admin API), and a reload announced by another node through the control store.

1. prepare   (worker thread) sumun.yaml is read once, hashed, parsed and validated completely —
             pydantic, then every provider's adapter is built (an API-key variable that is not
             set fails here) — and the policy document too. Every problem is collected, each at
             its file and line (`sumun.config_errors`, `policy_source.problems`); any problem
             rejects the reload whole. A change to a key that needs a restart (`reload_plan`)
             is refused, naming each key. Adapters of unchanged providers are reused.
2. swap      (event loop) one assignment of the new `Live` snapshot (`gateway.live`); the
             gateway's limits are set in the same step. Requests already in flight keep the
             snapshot they started on; the retired adapters are closed once those drain.
3. record    an `admin-change` entry (`config-reload`): actor, SHA-256 of sumun.yaml and of the
             policy document, the sections changed — never a value. If the ledger refuses it,
             the swap is undone. A rejected reload is recorded too (decision `rejected`, the
             hashes and the number of problems), best effort: an auditor sees attempts as well
             as changes, and the refusal itself never depends on the ledger.
4. announce  the document `reload.json` (an id, the actor, the node) is written to the control
             store and the generation bumped, so every node's watcher re-reads its *own* files
             (`_announced`). Each process has its own Reloader, subscribed to its own watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from sumun.config import Settings
from sumun.config_errors import FileProblem, InvalidFilesError, line_of, read_settings
from sumun.errors import ConfigError, SumunError
from sumun.gateway.admission import Admission
from sumun.gateway.breaker import Breaker
from sumun.gateway.live import AdmissionView, Holder, Live, RouterView
from sumun.gateway.reload_files import (
    Outcome,
    initial_live,
    node_name,
    read_policy,
    sha256_of,
)
from sumun.gateway.reload_plan import changed_sections, needs_restart, reloadable
from sumun.gateway.router import Router
from sumun.gateway.spend import PriceTable
from sumun.gateway.upstream.base import ProviderAdapter, UpstreamError
from sumun.gateway.upstream.factory import make_adapter
from sumun.runtime import Runtime
from sumun.store.watch import ControlWatcher

if TYPE_CHECKING:
    import yaml

    from sumun.gateway.pipeline import Gateway

__all__ = ["ANNOUNCE_DOCUMENT", "Outcome", "Reloader", "initial_live"]

log = logging.getLogger("sumun.reload")

ANNOUNCE_DOCUMENT = "reload.json"
_DRAIN_LIMIT_SECONDS = 3600.0  # a retired adapter is closed at the latest after this long
_WAIT_SECONDS = 120.0  # how long a caller from another thread waits for its reload


@dataclass(frozen=True, slots=True)
class _Prepared:
    live: Live
    file_settings: Settings  # as the file says (the baseline of the next restart check)
    changed: tuple[str, ...]
    fresh: tuple[ProviderAdapter, ...]  # built for this reload: closed if it is abandoned
    policy_where: str


class Reloader:
    """One per process: holds the snapshot in force and replaces it (module docstring)."""

    def __init__(
        self,
        runtime: Runtime,
        live: Live,
        *,
        breaker: Breaker,
        is_cut: Callable[[str], bool],
        on_failure: Callable[[str, UpstreamError], None],
    ) -> None:
        self._runtime = runtime
        self.holder = Holder(live)
        self.router = RouterView(self.holder)
        self.admission = AdmissionView(self.holder)
        self._breaker = breaker
        self._is_cut = is_cut
        self._on_failure = on_failure
        self._gateway: Gateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._retired: list[ProviderAdapter] = []
        self._followers: list[Callable[[Settings], None]] = []
        self._baseline = self._file_settings(runtime.settings)
        self._seen = self._announcement()[0]

    # -- wiring --------------------------------------------------------------------------

    def bind(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop swaps happen on (the server's); reloads from threads go through it."""
        self._loop = loop
        self._lock = asyncio.Lock()

    def follow(self, follower: Callable[[Settings], None]) -> None:
        """`follower(settings)` runs on the loop with the settings of every snapshot swapped in
        (the admin API's context follows the node's providers and routes)."""
        self._followers.append(follower)

    def subscribe(self, watcher: ControlWatcher) -> None:
        watcher.subscribe("policy", self._policy_changed)
        watcher.subscribe("reload", self._announced)

    @property
    def current(self) -> Live:
        return self.holder.current

    def _file_settings(self, fallback: Settings) -> Settings:
        """What sumun.yaml says now (the restart check compares files, not start-time flags)."""
        try:
            return read_settings(fallback.config_file, fallback.home, os.environ).settings
        except SumunError:
            return fallback

    # -- triggers ------------------------------------------------------------------------

    def on_signal(self) -> None:
        """SIGHUP (on the event loop): reload, and log what happened."""
        self._spawn(self._logged(f"signal SIGHUP@{node_name()}"))

    def request(self, actor: str, attrs: dict[str, str] | None = None) -> Outcome:
        """From a worker thread (an admin handler): reload on the loop and wait for it."""
        loop = self._loop
        if loop is None:
            raise ConfigError("this process serves no gateway: nothing to reload")
        future = asyncio.run_coroutine_threadsafe(self.reload(actor, attrs=attrs), loop)
        return future.result(timeout=_WAIT_SECONDS)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, actor: str, *, announce: bool = True, quiet: bool = False) -> None:
        try:
            done = await self.reload(actor, announce=announce, quiet=quiet)
        except SumunError as exc:
            log.error("reload rejected, nothing changed: %s", exc)
            return
        if done.applied or not quiet:
            log.warning(
                "reload by %s: %s",
                actor,
                ("changed " + ", ".join(done.changed)) if done.changed else "nothing changed",
            )

    def _policy_changed(self, _generation: int) -> None:
        """As before reloads: a stored policy applied on any node is swapped in (watcher)."""
        live = self.holder.current
        live.policy.reload(live.admission.replace_policy)

    def _announcement(self) -> tuple[str | None, str]:
        with contextlib.suppress(SumunError, ValueError, AttributeError):
            body = self._runtime.control.documents.read(ANNOUNCE_DOCUMENT)
            if body is not None:
                data = json.loads(body)
                return str(data["id"]), f"{data.get('actor')} on {data.get('node')}"
        return None, ""

    def _announced(self, _generation: int) -> None:
        """Another node reloaded: re-read this node's own files (watcher thread)."""
        ident, who = self._announcement()
        if ident is None or ident == self._seen:
            return
        self._seen = ident
        loop = self._loop
        if loop is None:
            return
        coro = self._logged(f"{who} (announced)", announce=False, quiet=True)
        asyncio.run_coroutine_threadsafe(coro, loop)

    # -- the reload ------------------------------------------------------------------------

    async def reload(
        self,
        actor: str,
        *,
        attrs: dict[str, str] | None = None,
        announce: bool = True,
        quiet: bool = False,
    ) -> Outcome:
        """Validate, swap, record, announce. Raises (and changes nothing) when rejected.
        `quiet`: when nothing changed, neither record nor announce (an announced reload)."""
        if self._lock is None:
            self.attach(asyncio.get_running_loop())
        assert self._lock is not None  # noqa: S101 - set by attach
        async with self._lock:
            hashes: dict[str, str] = {}
            try:
                prepared = await run_in_threadpool(self._prepare, hashes)
            except SumunError as exc:
                await run_in_threadpool(self._record_rejected, actor, exc, hashes, attrs)
                if isinstance(exc, InvalidFilesError):  # a ConfigError, as every caller knows
                    raise ConfigError(
                        f"reload rejected, nothing changed: {exc.args[0]}",
                        advice="fix them and reload again",
                    ) from exc
                raise
            if not prepared.changed and quiet:
                return self._outcome(prepared, applied=False, seq=None)
            old = self._swap(prepared.live)
            try:
                seq = await run_in_threadpool(self._record_applied, actor, prepared, attrs)
            except SumunError:
                self._swap(old)
                for adapter in prepared.fresh:
                    await adapter.aclose()
                raise
            self._baseline = prepared.file_settings
            self._retire(old, prepared.live)
            if announce:
                try:
                    await run_in_threadpool(self._announce, actor)
                except SumunError as exc:
                    log.warning("reload: could not tell the other nodes (%s)", exc)
            return self._outcome(prepared, applied=bool(prepared.changed), seq=seq)

    def _outcome(self, prepared: _Prepared, *, applied: bool, seq: int | None) -> Outcome:
        live = prepared.live
        config = live.settings.config_file
        return Outcome(
            applied=applied,
            changed=prepared.changed,
            config_file=None if config is None else str(config),
            config_sha256=live.config_sha256,
            policy_source=prepared.policy_where,
            policy_sha256=live.policy_sha256,
            ledger_seq=seq,
        )

    def _prepare(self, hashes: dict[str, str]) -> _Prepared:
        old = self.holder.current
        base = self._runtime.settings
        documents = self._runtime.control.documents
        found: list[FileProblem] = []
        loaded = None
        try:
            loaded = read_settings(self._baseline.config_file, base.home, os.environ)
        except InvalidFilesError as exc:
            found += exc.problems
            hashes["config_sha256"] = sha256_of(exc.body) or ""
        if loaded is not None and loaded.body is not None:
            hashes["config_sha256"] = sha256_of(loaded.body) or ""
        config_name = str(self._baseline.config_file or "sumun.yaml")
        if loaded is not None and loaded.path is not None:
            config_name = str(loaded.path)
        # The policy is checked even when sumun.yaml is not valid: every problem at once.
        new_file = loaded.settings if loaded is not None else self._baseline
        policy, policy_problems = read_policy(
            new_file, documents, None if loaded is None else loaded.root, config_name
        )
        found += policy_problems
        if policy is not None and policy.body is not None:
            hashes["policy_sha256"] = sha256_of(policy.body) or ""
        if loaded is None or policy is None or found:
            raise InvalidFilesError(found)
        restart = needs_restart(self._baseline, loaded.settings)
        if restart:
            raise ConfigError(
                "reload refused, nothing changed: "
                + ", ".join(f"{key} needs a restart" for key in restart),
                advice="put the old value back and reload, or restart Sumun to apply it",
            )
        settings = reloadable(base, loaded.settings)
        adapters, fresh = self._adapters(old, settings, loaded.root, config_name)
        admission = Admission(settings, policy.policy, is_cut=self._is_cut)
        router = Router(
            settings.routes,
            adapters,
            is_cut=self._is_cut,
            breaker=self._breaker,
            on_failure=self._on_failure,
        )
        policy_sha = sha256_of(policy.body)
        live = Live(
            settings, router, admission, adapters, policy.source, sha256_of(loaded.body), policy_sha
        )
        changed = changed_sections(old.settings, settings)
        if policy_sha != old.policy_sha256:
            changed.append("policy")
        return _Prepared(live, loaded.settings, tuple(changed), fresh, policy.where)

    def _adapters(
        self, old: Live, settings: Settings, root: yaml.Node | None, config: str
    ) -> tuple[dict[str, ProviderAdapter], tuple[ProviderAdapter, ...]]:
        """Each provider's adapter: the running one when its settings did not change."""
        before = {p.name: p for p in old.settings.providers}
        adapters: dict[str, ProviderAdapter] = {}
        fresh: list[ProviderAdapter] = []
        found: list[FileProblem] = []
        for index, provider in enumerate(settings.providers):
            running = old.adapters.get(provider.name)
            if running is not None and before.get(provider.name) == provider:
                adapters[provider.name] = running
                continue
            try:
                adapter = make_adapter(provider)
            except ConfigError as exc:
                line, column = line_of(root, ("providers", index))
                message = f"providers.{index} ({provider.name}): {exc}"
                found.append(FileProblem(config, line, column, message))
                continue
            adapters[provider.name] = adapter
            fresh.append(adapter)
        if found:
            for adapter in fresh:  # never used: their clients hold no connection yet
                with contextlib.suppress(Exception):
                    asyncio.run(adapter.aclose())
            raise InvalidFilesError(found)
        return adapters, tuple(fresh)

    def _swap(self, live: Live) -> Live:
        """One step on the event loop: the snapshot, the gateway's limits, the breaker's."""
        old = self.holder.swap(live)
        conf = live.settings.gateway
        gateway = self._gateway
        if gateway is not None:
            gateway.max_body_bytes = conf.max_body_bytes
            gateway.detection_budget_seconds = conf.detection_budget_seconds
            gateway.default_output_reservation = conf.default_output_reservation
            gateway.ledger_payload_max_bytes = conf.ledger_payload_max_bytes
            gateway.pseudonym_retention_seconds = conf.pseudonym_retention_days * 86400
            # A hold taken at the old prices settles at the new ones: the answer costs what the
            # table in force when it is counted says.
            gateway.spend.prices = PriceTable.from_config(live.settings.prices)
        breaker = self._breaker
        with breaker._lock:  # its circuits (open or not) stay; only the thresholds change
            breaker._threshold = conf.breaker_failures
            breaker._cooldown = conf.breaker_cooldown_seconds
        self._runtime.settings = live.settings
        for follower in self._followers:
            follower(live.settings)
        return old

    def _retire(self, old: Live, new: Live) -> None:
        keep = {id(a) for a in new.adapters.values()}
        retired = [a for a in old.adapters.values() if id(a) not in keep]
        if retired:
            self._retired += retired
            self._spawn(self._close_when_drained(old, retired))

    async def _close_when_drained(self, old: Live, adapters: list[ProviderAdapter]) -> None:
        await old.users.drained(_DRAIN_LIMIT_SECONDS)
        for adapter in adapters:
            if adapter in self._retired:
                self._retired.remove(adapter)
                with contextlib.suppress(Exception):
                    await adapter.aclose()

    async def aclose(self) -> None:
        """At shutdown: every adapter, in force or still draining, is closed."""
        for task in list(self._tasks):
            task.cancel()
        for adapter in [*self._retired, *self.holder.current.adapters.values()]:
            with contextlib.suppress(Exception):
                await adapter.aclose()
        self._retired = []

    # -- record and announce -------------------------------------------------------------

    def _record_applied(self, actor: str, prepared: _Prepared, attrs: dict[str, str] | None) -> int:
        from sumun.gateway.assemble import admin_change_entry  # assemble builds this module's

        live = prepared.live
        details = {
            "config_file": str(live.settings.config_file or ""),
            "config_sha256": live.config_sha256 or "",
            "policy": prepared.policy_where,
            "policy_sha256": live.policy_sha256 or "",
            "changed": ",".join(prepared.changed) or "none",
            "node": node_name(),
            **(attrs or {}),
        }
        decision = "applied" if prepared.changed else "unchanged"
        meta = admin_change_entry(
            "config-reload", actor, rules=("reload",), attrs=details, decision=decision
        )
        return self._runtime.ledger.append(meta, durability="strict").wait()

    def _record_rejected(
        self, actor: str, exc: SumunError, hashes: dict[str, str], attrs: dict[str, str] | None
    ) -> None:
        from sumun.gateway.assemble import admin_change_entry

        count = len(exc.problems) if isinstance(exc, InvalidFilesError) else 1
        details = {
            "config_sha256": hashes.get("config_sha256", ""),
            "policy_sha256": hashes.get("policy_sha256", ""),
            "problems": str(count),
            "node": node_name(),
            **(attrs or {}),
        }
        meta = admin_change_entry(
            "config-reload", actor, rules=("reload",), attrs=details, decision="rejected"
        )
        try:
            self._runtime.ledger.append(meta, durability="strict").wait()
        except SumunError as failed:  # the refusal stands either way
            log.warning("reload: the rejection could not be recorded (%s)", failed)

    def _announce(self, actor: str) -> None:
        ident = uuid.uuid4().hex
        self._seen = ident  # this node has already reloaded
        body = json.dumps(
            {"id": ident, "actor": actor, "node": node_name(), "at_ms": int(time.time() * 1000)}
        ).encode()
        self._runtime.control.documents.update(ANNOUNCE_DOCUMENT, lambda _old: body)
        self._runtime.control.announce()
