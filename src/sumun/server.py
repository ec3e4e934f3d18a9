"""Run Sumun: the public HTTP app on host:port, the admin HTTP API on its own listener
(`admin_api`, default 127.0.0.1:8481, TLS when configured), the AWS KMS XKS proxy on its own
TLS listener when `xks.listen` is set (sumun.xks, docs/xks.md) and the admin channel on a Unix
socket.

One process, one event loop, up to four uvicorn servers.
Signals are handled here once (uvicorn's per-server capture would let only one of them see
Ctrl-C). A housekeeping task re-reads the key registry (revocations from other processes),
checks the key backend (the gateway refuses traffic while it is unreachable), carries out due
scheduled destructions and signs a ledger checkpoint every 10 s when the log has grown. Beside
it, a task runs the scheduled rekey epochs (`keys.rekey_days`, `sumun.keys.epoch`). SIGHUP
re-reads sumun.yaml and the policy without a restart (`sumun.gateway.reload`; systemd's
`ExecReload=/bin/kill -HUP $MAINPID`).

Graceful shutdown, on SIGTERM or SIGINT (a second signal stops waiting):

    1. drain     `/readyz` answers 503; every server stops accepting (uvicorn closes the
                 listening sockets and idle keep-alive connections) and requests in flight,
                 streams included, finish — for at most `server.drain_seconds`, after which
                 uvicorn cancels them (`timeout_graceful_shutdown`; each still gets its
                 `request-completed` entry)
    2. close     the gateway's parts (upstream clients, limiter, directory); the spans still
                 queued go to the trace exporter (sumun.telemetry)
    3. record    the keys are sealed (a key-event, the run's last entry), the ledger writer is
                 flushed and a final checkpoint signed over all of it, so the last signed tree
                 size is the ledger's size; the process exits 0
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import resource
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.concurrency import run_in_threadpool

from sumun.admin.http import AdminContext, admin_http_app
from sumun.admin.server import admin_app, prepare_run_dir, socket_path
from sumun.config import ServerConfig, Settings, XksConfig, admin_tls_files
from sumun.errors import ConfigError, KeyStateError, SumunError
from sumun.gateway.app import public_app
from sumun.gateway.assemble import GatewayParts, build_gateway
from sumun.gateway.guard import ConnectionLimits, guarded_protocol
from sumun.gateway.live import Pinned
from sumun.gateway.pipeline import Gateway
from sumun.ledger.signing import SigningKeys
from sumun.logs import configure as configure_logging
from sumun.runtime import Runtime
from sumun.telemetry import Telemetry
from sumun.telemetry import start as start_telemetry

__all__ = ["Listening", "serve"]

log = logging.getLogger("sumun.serve")


@dataclass(frozen=True, slots=True)
class Listening:
    """Where a started node answers: the public API's origin, the admin API's and the XKS
    proxy's (or None)."""

    base_url: str
    admin_url: str | None
    xks_url: str | None = None


def _origin(scheme: str, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    display = f"[{host}]" if ":" in host else host
    return f"{scheme}://{display}:{port}"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # signals are handled once for both servers, in `serve`


def _bind_private_unix_socket(path: Path) -> socket.socket:
    old = os.umask(0o177)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(64)
    return sock


def _bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _listen(what: str, host: str, port: int) -> socket.socket:
    try:
        return _bind_tcp(host, port)
    except OSError as exc:
        raise ConfigError(
            f"{what} cannot listen on {host}:{port}: {exc.strerror or exc}",
            advice="is another `sumun serve` or `sumun demo` running? Pass a free port with "
            "--port (the admin API's with --admin-port), or set it in sumun.yaml",
        ) from exc


CHECKPOINT_EVERY_S = 10.0
REKEY_CHECK_EVERY_S = 60.0


class _HaltedError(Exception):
    """The node is stopping: a rekey under way stops at its next safe point."""


def _rekey_due_keys(runtime: Runtime, halt: threading.Event, refused: set[str]) -> None:
    """One round of the schedule: rekey every key that is due, one after another."""
    service = runtime.keys
    if service.sealed:
        return

    def pause(seconds: float) -> None:
        halt.wait(seconds)

    def progress(_done: int, _total: int) -> None:
        if halt.is_set():
            raise _HaltedError

    rekeyer = service.rekeyer(sleep=pause)
    for key_id in rekeyer.due():
        try:
            report = rekeyer.scheduled(key_id, progress=progress)
        except KeyStateError as exc:  # e.g. a disabled version: said once, not every round
            if key_id not in refused:
                refused.add(key_id)
                log.warning("scheduled rekey of key %r refused: %s", key_id, exc)
            continue
        except SumunError as exc:
            log.warning("scheduled rekey of key %r failed, will retry: %s", key_id, exc)
            continue
        refused.discard(key_id)
        if report is not None:
            log.info(
                "rekeyed %r: primary v%d, %d DEKs rewrapped, versions %s destroyed, %.1f s",
                key_id,
                report.primary,
                report.rewrapped,
                list(report.destroyed),
                report.seconds,
            )


async def _rekey_epochs(runtime: Runtime, stop: asyncio.Event) -> None:
    """Beside housekeeping, not in it: a rekey takes seconds to minutes (it waits out the
    revocation bound, then rewraps every DEK of a key) and must not hold up revocation checks
    or checkpoints. On stop, a rekey under way halts at its next batch; it is crash-safe."""
    if runtime.settings.keys.rekey_days <= 0:
        return
    halt = threading.Event()
    refused: set[str] = set()
    relay = asyncio.create_task(stop.wait())
    relay.add_done_callback(lambda _task: halt.set())
    try:
        while not stop.is_set():
            try:
                await run_in_threadpool(_rekey_due_keys, runtime, halt, refused)
            except _HaltedError:
                break
            except Exception:  # pragma: no cover - the schedule must never kill the server
                log.exception("scheduled rekey failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=REKEY_CHECK_EVERY_S)
    finally:
        relay.cancel()


async def _housekeeping(runtime: Runtime, gateway: Gateway, stop: asyncio.Event) -> None:
    service = runtime.keys
    last_checkpoint = 0.0
    rekeying = asyncio.create_task(_rekey_epochs(runtime, stop))

    def tick() -> None:
        nonlocal last_checkpoint
        if service.sealed:
            return
        problem = service.backend_error()
        gateway.backend_problem = None if problem is None else str(problem)
        with contextlib.suppress(SumunError):
            service.envelopes.refresh()
            service.lifecycle.purge_due()
        now = time.monotonic()
        if now - last_checkpoint >= CHECKPOINT_EVERY_S:
            last_checkpoint = now
            try:
                runtime.ledger.checkpoint()
            except SumunError as exc:
                log.warning("ledger checkpoint failed: %s", exc)
            if gateway.vault is not None:
                # Token tables past their retention are deleted (PIPA decree 29-5 records).
                with contextlib.suppress(SumunError):
                    gateway.vault.purge(gateway.pseudonym_retention_seconds)

    while not stop.is_set():
        try:
            await run_in_threadpool(tick)
        except Exception:  # pragma: no cover - housekeeping must never kill the server
            log.exception("key housekeeping failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    await rekeying


@dataclass
class _Drain:
    """The first signal starts draining (`gateway.draining`), a second one stops the wait."""

    gateway: Gateway
    servers: list[_Server] = field(default_factory=list)

    def request_exit(self) -> None:
        if self.gateway.draining:
            log.warning("second signal: cancelling the requests still in flight")
            for server in self.servers:
                server.force_exit = True
            return
        self.gateway.draining = True
        for server in self.servers:
            server.should_exit = True


def _limits(conf: ServerConfig) -> ConnectionLimits:
    return ConnectionLimits(
        max_connections=conf.max_connections,
        head_timeout_seconds=conf.head_timeout_seconds,
        max_header_bytes=conf.max_header_bytes,
        max_headers=conf.max_headers,
    )


def _raise_descriptor_limit(wanted: int) -> None:
    """Room for `wanted` connections plus the stores' files: raise the soft RLIMIT_NOFILE
    towards the hard one (a default soft limit of 1024 is what ran out under attack)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 256
    if soft != resource.RLIM_INFINITY and soft < target:
        new = target if hard == resource.RLIM_INFINITY else min(target, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


async def _settle(server: uvicorn.Server, timeout: float) -> None:
    """Let the request tasks uvicorn cancelled (or left, on a forced exit) run their cleanup,
    which records their `request-completed` entries, before the final checkpoint."""
    tasks = set(server.server_state.tasks)
    if not tasks:
        return
    if server.force_exit:
        for task in tasks:
            task.cancel()
    await asyncio.wait(tasks, timeout=timeout)


def _seal_and_checkpoint(runtime: Runtime) -> None:
    """Seal the keys, then sign a checkpoint over every entry — the seal's own key-event too.

    The signing keys are loaded while the keys are still open and held only here, for this one
    signature, as the process ends: the seal itself drops the ledger's copy.
    """
    ledger, keys = runtime.ledger, runtime.keys
    held: SigningKeys | None = None
    if not keys.sealed:
        try:
            held = ledger.signing_keys()
        except SumunError as exc:
            log.warning("no final ledger checkpoint: the signing key is unavailable: %s", exc)
    keys.seal(actor="sumun@shutdown")  # recorded (strict): the last entry of this run
    if held is None:
        return
    try:
        ledger.flush()  # entries still queued by the last responses (batched completed entries)
        signed = ledger.checkpoint(held)
    except SumunError as exc:
        log.warning("final ledger checkpoint failed: %s", exc)
        return
    log.info("final ledger checkpoint at tree size %d", signed.size)


def _pinned(app: Any, parts: GatewayParts) -> Any:
    """Each request on the reloadable snapshot current when it arrived (gateway.live)."""
    return app if parts.reloader is None else Pinned(app, parts.reloader.holder)


def _reload(parts: GatewayParts) -> Callable[[str, dict[str, str]], dict[str, Any]] | None:
    """What the admin channel and API call for `sumun reload` / `POST /reload`."""
    reloader = parts.reloader
    if reloader is None:
        return None
    return lambda actor, attrs: reloader.request(actor, attrs).to_json()


def _handle_signals(loop: asyncio.AbstractEventLoop, drain: _Drain, parts: GatewayParts) -> None:
    """SIGINT and SIGTERM drain; SIGHUP reloads (`systemctl reload`, sumun.gateway.reload)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, drain.request_exit)
    if parts.reloader is not None:
        parts.reloader.attach(loop)
        loop.add_signal_handler(signal.SIGHUP, parts.reloader.on_signal)


def _admin_api_config(
    runtime: Runtime, parts: GatewayParts, tls: tuple[Path, Path] | None, log_level: str
) -> uvicorn.Config:
    """The admin HTTP API's server: the node's own parts, TLS from the configured files."""
    settings = runtime.settings
    context = AdminContext(
        settings=settings,
        directory=parts.gateway.directory,
        killswitch=parts.killswitch,
        ledger=runtime.ledger,
        keys=runtime.keys,
        metrics=parts.gateway.metrics,
        policy=lambda: parts.gateway.admission.policy,
        control=runtime.control,
        breaker=parts.breaker,
        limiter=parts.gateway.limiter,
        inflight=parts.gateway.inflight,
        reload=_reload(parts),
    )
    if parts.reloader is not None:  # its provider and route lists follow hot reloads
        parts.reloader.follow(functools.partial(object.__setattr__, context, "settings"))
    conf = uvicorn.Config(
        admin_http_app(context),
        log_level=log_level,
        lifespan="off",
        access_log=False,
        http=guarded_protocol(_limits(settings.server)),
        loop="none",
        timeout_graceful_shutdown=settings.server.drain_seconds,
        ssl_certfile=None if tls is None else str(tls[0]),
        ssl_keyfile=None if tls is None else str(tls[1]),
    )
    return conf


def _listeners(
    settings: Settings, host: str, port: int, admin_port: int | None
) -> tuple[socket.socket, socket.socket | None, tuple[Path, Path] | None]:
    """The public and admin API sockets, bound, and the admin API's TLS files — before
    anything is started, so a busy port or a bad certificate is one clear ConfigError."""
    conf = settings.admin_api
    tls = admin_tls_files(settings) if conf.enabled else None
    _check_tls(tls)
    public_sock = _listen("the gateway", host, port)
    if not conf.enabled:
        return public_sock, None, None
    try:
        api_sock = _listen(
            "the admin API", conf.host, conf.port if admin_port is None else admin_port
        )
    except ConfigError:
        public_sock.close()
        raise
    return public_sock, api_sock, tls


@dataclass(frozen=True, slots=True)
class _XksListener:
    sock: socket.socket
    tls: ssl.SSLContext


def _config_path(settings: Settings, given: Path) -> Path:
    if not given.is_absolute() and settings.config_file is not None:
        return settings.config_file.parent / given
    return given


def _xks_listener(settings: Settings, *, opened: list[socket.socket | None]) -> _XksListener | None:
    """The XKS proxy's socket and TLS context when `xks.listen` is set — bound, and the
    certificate, key and client CA loaded, before anything starts (one clear ConfigError;
    the sockets already `opened` are closed then)."""
    conf = settings.xks
    if conf.listen is None or conf.tls_cert_file is None or conf.tls_key_file is None:
        return None
    from sumun.xks.tls import server_context

    ca = conf.client_ca_file
    try:
        context = server_context(
            _config_path(settings, conf.tls_cert_file),
            _config_path(settings, conf.tls_key_file),
            None if ca is None else _config_path(settings, ca),
        )
        host, port = conf.address()
        return _XksListener(_listen("the XKS proxy", host, port), context)
    except ConfigError:
        for sock in opened:
            if sock is not None:
                sock.close()
        raise


def _xks_config(
    runtime: Runtime, parts: GatewayParts, listener: _XksListener, log_level: str
) -> tuple[uvicorn.Config, Callable[[], None]]:
    """The XKS proxy's server over the node's key layer, and what closes its parts."""
    from sumun.policy.xks_rules import XksRules
    from sumun.xks.app import xks_app
    from sumun.xks.service import build_xks
    from sumun.xks.tls import subject_checked

    conf: XksConfig = runtime.settings.xks
    keyring, credentials, audit = build_xks(runtime, watcher=parts.watcher)

    def rules() -> XksRules:
        return parts.gateway.admission.policy.xks

    protocol = guarded_protocol(_limits(runtime.settings.server))
    if conf.client_subject is not None:
        protocol = subject_checked(protocol, conf.client_subject)
    config = uvicorn.Config(
        xks_app(keyring, credentials, audit, conf, rules=rules),
        log_level=log_level,
        lifespan="off",
        access_log=False,
        http=protocol,
        loop="none",
        timeout_graceful_shutdown=runtime.settings.server.drain_seconds,
        timeout_keep_alive=60,  # AWS keeps its connections to the proxy open between calls
        ssl_context_factory=lambda _config, _default: listener.tls,
    )
    return config, credentials.close


def _add_xks(
    runtime: Runtime,
    parts: GatewayParts,
    listener: _XksListener | None,
    log_level: str,
    *,
    servers: list[_Server],
    sockets: list[socket.socket],
) -> tuple[str | None, Callable[[], None] | None]:
    """Add the XKS proxy's server (when configured) → its origin and what closes it."""
    if listener is None:
        return None, None
    config, close = _xks_config(runtime, parts, listener, log_level)
    servers.append(_Server(config))
    sockets.append(listener.sock)
    return _origin("https", listener.sock), close


def _check_tls(tls: tuple[Path, Path] | None) -> None:
    """A certificate and key that do not load fail here, before anything is started."""
    if tls is None:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(*tls)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"admin_api TLS certificate or key does not load: {exc}") from exc


def _observed(settings: Settings, gateway: Gateway, telemetry: Telemetry) -> None:
    """Traces and logs as configured (docs/observability.md): the gateway's tracer, and the
    log handlers — set once the uvicorn configs exist, as each of them resets uvicorn's."""
    gateway.tracer = telemetry.tracer
    configure_logging(settings.logging)


async def _close(runtime: Runtime, parts: GatewayParts, telemetry: Telemetry) -> None:
    """Steps 2 and 3 of the shutdown (module docstring); the spans still queued are exported
    before the keys are sealed."""
    await parts.gateway.refusals.aclose()
    await parts.aclose()
    await run_in_threadpool(telemetry.shutdown)
    await run_in_threadpool(_seal_and_checkpoint, runtime)


async def serve(
    runtime: Runtime,
    *,
    host: str,
    port: int,
    admin_port: int | None = None,
    on_ready: Callable[[Listening], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until SIGINT/SIGTERM, then drain (module docstring). `on_ready(listening)` runs
    once every socket listens. `admin_port` overrides `admin_api.port` (0: any free port)."""
    home = runtime.keys.home
    settings = runtime.settings
    drain_seconds = settings.server.drain_seconds
    _raise_descriptor_limit(settings.server.max_connections)
    public_sock, api_sock, tls = _listeners(settings, host, port, admin_port)
    xks = _xks_listener(settings, opened=[public_sock, api_sock])
    telemetry = start_telemetry(settings)  # traces (off by default): docs/observability.md
    parts = build_gateway(runtime)
    token = prepare_run_dir(home)
    admin_sock = _bind_private_unix_socket(socket_path(home))
    sockets = [admin_sock, public_sock]
    drain = _Drain(parts.gateway)
    servers = [
        _Server(
            uvicorn.Config(
                admin_app(
                    runtime,
                    token,
                    parts.killswitch,
                    parts.gateway.inflight,
                    reload=_reload(parts),
                ),
                log_level=log_level,
                lifespan="off",
                timeout_graceful_shutdown=drain_seconds,
            )
        ),
        _Server(
            uvicorn.Config(
                _pinned(
                    public_app(runtime, parts.gateway, draining=lambda: parts.gateway.draining),
                    parts,
                ),
                log_level=log_level,
                lifespan="off",
                access_log=False,
                http=guarded_protocol(_limits(runtime.settings.server)),
                loop="none",  # the caller's loop (uvloop when installed), see cli/serve.py
                timeout_graceful_shutdown=drain_seconds,
                timeout_keep_alive=runtime.settings.server.keepalive_timeout_seconds,  # type: ignore[arg-type]
            )
        ),
    ]
    admin_url = None
    if api_sock is not None:
        admin_url = _origin("http" if tls is None else "https", api_sock)
        servers.append(_Server(_admin_api_config(runtime, parts, tls, log_level)))
        sockets.append(api_sock)
    xks_url, close_xks = _add_xks(runtime, parts, xks, log_level, servers=servers, sockets=sockets)
    drain.servers = servers
    _observed(settings, parts.gateway, telemetry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    _handle_signals(loop, drain, parts)
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, sock in zip(servers, sockets, strict=True)
    ]
    housekeeping = asyncio.create_task(_housekeeping(runtime, parts.gateway, stop))
    flushing = asyncio.create_task(parts.usage.run(stop))  # flushes once more after `stop`
    try:
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.02)
        if on_ready is not None and all(s.started for s in servers):
            on_ready(Listening(_origin("http", public_sock), admin_url, xks_url))
        await asyncio.gather(*tasks)  # returns once every server has drained (bounded)
    finally:
        if not parts.gateway.draining:
            drain.request_exit()  # a server failed: the others stop too
            await asyncio.gather(*tasks, return_exceptions=True)
        for server in servers:
            await _settle(server, timeout=5.0)
        stop.set()
        await housekeeping
        await flushing
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        socket_path(home).unlink(missing_ok=True)
        if close_xks is not None:
            close_xks()
        await _close(runtime, parts, telemetry)
