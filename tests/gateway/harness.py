"""A real Sumun gateway on a real socket for end-to-end tests with the official SDKs.

The gateway runs in-process (uvicorn in a thread, its own event loop) in front of the fake
upstream server (tests/fixtures/fake_upstream.py) and the built-in demo provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sumun import config
from sumun.gateway.app import public_app
from sumun.gateway.assemble import GatewayParts, build_gateway
from sumun.ledger.entry import decode_entry
from sumun.runtime import Runtime, open_runtime
from sumun.store.directory import Directory
from sumun.store.model import Role


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{_free_port()}/v1"


def gateway_settings(home: Path, openai_base: str, anthropic_base: str) -> config.Settings:
    raw: dict[str, Any] = {
        "providers": [
            {"name": "demo", "kind": "demo"},
            {
                "name": "fake-openai",
                "kind": "openai",
                "base_url": openai_base,
                "timeout_seconds": 2.0,
            },
            {
                "name": "fake-anthropic",
                "kind": "anthropic",
                "base_url": anthropic_base,
                "timeout_seconds": 2.0,
            },
            {
                "name": "dead",
                "kind": "openai",
                "base_url": _closed_port_url(),
                "timeout_seconds": 1.0,
                "connect_timeout_seconds": 0.5,
            },
        ],
        "routes": [
            {"model": "demo", "targets": [{"provider": "demo", "model": "sumun-demo-1"}]},
            {"model": "gpt-test", "targets": [{"provider": "fake-openai", "model": "up-gpt"}]},
            {
                "model": "claude-test",
                "targets": [{"provider": "fake-anthropic", "model": "up-claude"}],
            },
            {
                "model": "mixed",
                "targets": [
                    {"provider": "fake-openai", "model": "up-gpt"},
                    {"provider": "demo", "model": "sumun-demo-1"},
                ],
            },
            {
                "model": "failover",
                "targets": [
                    {"provider": "dead", "model": "x"},
                    {"provider": "fake-openai", "model": "up-gpt"},
                ],
            },
        ],
        "gateway": {"max_body_bytes": 64 * 1024, "breaker_failures": 50},
    }
    base = config.load(home=home, env={})
    return config.Settings(home=base.home, **raw)


@dataclass
class Running:
    runtime: Runtime
    parts: GatewayParts
    base_url: str
    keys: dict[str, str]  # name -> virtual key
    shares: tuple[str, ...]
    server: uvicorn.Server
    thread: threading.Thread
    directory: Directory = field(init=False)

    def __post_init__(self) -> None:
        self.directory = Directory(self.runtime.settings.home / "store.db")

    def entries_for(self, request_id: str, *, wait: float = 2.0) -> list[dict[str, Any]]:
        """The ledger entries of one request (admitted, and completed once flushed)."""
        deadline = time.monotonic() + wait
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            self.runtime.ledger.flush()
            store = self.runtime.ledger.store
            found = [
                decode_entry(e.entry)
                for e in store.entries(max(0, store.size() - 400), store.size())
                if b'"request_id":"' + request_id.encode() + b'"' in e.entry
            ]
            if len(found) >= 2:
                return found
            time.sleep(0.05)
        return found


@contextlib.contextmanager
def running_gateway(settings: config.Settings) -> Iterator[Running]:
    """Initialise, unseal and serve a gateway with the test tenants and keys."""
    runtime = open_runtime(settings)
    result = runtime.keys.initialise(custodians=3, threshold=2, actor="test")
    runtime.keys.unseal_with(result.master_key, actor="test")
    keys: dict[str, str] = {}
    with Directory(settings.home / "store.db") as directory:
        directory.create_tenant("acme", ai_notice=False)
        directory.create_tenant("bank", ai_notice=True, notice_text="[AI 생성 답변]")
        directory.create_tenant("tight", ai_notice=False, rpm=2)
        directory.create_app("acme", "chat")
        keys["acme"] = directory.issue_key("acme", app="chat", user="kim")[1]
        keys["bank"] = directory.issue_key("bank")[1]
        keys["tight"] = directory.issue_key("tight")[1]
        keys["auditor"] = directory.issue_key("acme", role=Role.AUDITOR)[1]
        keys["admin"] = directory.issue_key("acme", role=Role.ADMIN)[1]
        revoked_key, keys["revoked"] = directory.issue_key("acme")
        directory.revoke_key(revoked_key.key_id)
    parts = build_gateway(runtime)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            public_app(runtime, parts.gateway),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            http="httptools",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.02)
    running = Running(
        runtime, parts, f"http://127.0.0.1:{port}", keys, result.shares, server, thread
    )
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        with contextlib.suppress(Exception):  # adapters' clients belong to the server's loop
            asyncio.run(parts.aclose())
        running.directory.close()
        runtime.close()


@pytest.fixture
def gateway(tmp_path: Path, fake_upstream: Any) -> Iterator[Running]:
    openai_base = fake_upstream.base_url
    anthropic_base = openai_base.removesuffix("/v1")
    settings = gateway_settings(tmp_path / "home", openai_base, anthropic_base)
    with running_gateway(settings) as running:
        yield running
