"""Run Sumun: the public HTTP app on host:port and the admin channel on a Unix socket.

One process, one event loop, two uvicorn servers. Signals are handled here once (uvicorn's
per-server capture would let only one of them see Ctrl-C). A housekeeping task re-reads the key
registry (revocations from other processes), checks the key backend (the gateway refuses
traffic while it is unreachable), carries out due scheduled destructions and signs a ledger
checkpoint every 10 s when the log has grown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Generator
from pathlib import Path

import uvicorn
from starlette.concurrency import run_in_threadpool

from sumun.admin.server import admin_app, prepare_run_dir, socket_path
from sumun.errors import SumunError
from sumun.gateway.app import public_app
from sumun.gateway.assemble import build_gateway
from sumun.gateway.pipeline import Gateway
from sumun.runtime import Runtime

__all__ = ["serve"]

log = logging.getLogger("sumun.serve")


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


CHECKPOINT_EVERY_S = 10.0


async def _housekeeping(runtime: Runtime, gateway: Gateway, stop: asyncio.Event) -> None:
    service = runtime.keys
    last_checkpoint = 0.0

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


async def serve(
    runtime: Runtime,
    *,
    host: str,
    port: int,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until SIGINT/SIGTERM. `on_ready(base_url)` runs once both sockets listen."""
    service = runtime.keys
    home = service.home
    parts = build_gateway(runtime)
    token = prepare_run_dir(home)
    admin_sock = _bind_private_unix_socket(socket_path(home))
    public_sock = _bind_tcp(host, port)
    bound_port = public_sock.getsockname()[1]
    servers = [
        _Server(
            uvicorn.Config(
                admin_app(runtime, token, parts.killswitch), log_level=log_level, lifespan="off"
            )
        ),
        _Server(
            uvicorn.Config(
                public_app(runtime, parts.gateway),
                log_level=log_level,
                lifespan="off",
                access_log=False,
                http="httptools",
                loop="none",  # the caller's loop (uvloop when installed), see cli/serve.py
            )
        ),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_exit() -> None:
        stop.set()
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_exit)
    tasks = [
        asyncio.create_task(servers[0].serve(sockets=[admin_sock])),
        asyncio.create_task(servers[1].serve(sockets=[public_sock])),
        asyncio.create_task(_housekeeping(runtime, parts.gateway, stop)),
    ]
    try:
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.02)
        if on_ready is not None and all(s.started for s in servers):
            display = f"[{host}]" if ":" in host else host
            on_ready(f"http://{display}:{bound_port}")
        await asyncio.gather(*tasks)
    finally:
        request_exit()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        socket_path(home).unlink(missing_ok=True)
        await parts.aclose()
        service.seal(actor="sumun@shutdown")
