"""One Sumun deployment whose every dependency can be cut, and its gateway as a real process.

    clients ──► sumun serve (subprocess, its own SUMUN_HOME, logs to files)
                  ├── PostgreSQL  control store + ledger   ── Proxy ──► 127.0.0.1:5432
                  ├── Redis       limits + fan-out         ── Proxy ──► the test Redis
                  └── OpenBao     Transit KEKs (bao -dev)  ── Proxy ──► the session dev server
    operators ─► `sumun …` CLI (another process, straight to the services, never through a proxy)

Each proxy is the shared `TcpProxy` (tests/fixtures/tcp_proxy.py; see `Proxy` for one fix):
`down()` drops every connection and refuses new ones, `up()` lets them through again.
Everything is loopback.
The database is a fresh one per run (`tests.cluster.nodes.fresh_database`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.fixtures.netns import clean_env
from tests.fixtures.openbao import OpenBaoServer
from tests.fixtures.tcp_proxy import TcpProxy

__all__ = [
    "CHAT",
    "PROBE",
    "SUMUN",
    "Deployment",
    "GatewayProcess",
    "Marker",
    "Proxy",
    "proxied_redis_url",
    "proxies",
    "redis_address",
    "tcp_dsn",
    "terminate_gateway_backends",
    "write_config",
]

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
Popen = subprocess.Popen[str]
READY_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0
CHAT = "chat"  # the route the load uses: provider `fake`
PROBE = "probe"  # the route the kill-switch probe uses: provider `fake2` (the same fake server)


class Proxy(TcpProxy):
    """`TcpProxy` whose connections survive being idle.

    The shared proxy leaves `create_connection`'s 3 s timeout on its upstream socket, so any
    connection whose server stays silent for 3 s (a LISTEN connection, a Redis subscription, a
    pooled connection) is dropped by the proxy itself — outages the test did not ask for.
    """

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            src.settimeout(None)
        except OSError:  # the proxy cut this connection before its pipe thread started
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_RDWR)
            return
        TcpProxy._pipe(src, dst)


def _rrn(rng: random.Random) -> str:
    """A resident registration number with a valid date and check digit (KOREA.md)."""
    digits = [int(c) for c in f"{rng.randint(70, 99):02d}{rng.randint(1, 12):02d}"]
    digits += [int(c) for c in f"{rng.randint(1, 28):02d}"]
    digits += [rng.choice((1, 2))] + [rng.randint(0, 9) for _ in range(5)]
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = (11 - sum(w * d for w, d in zip(weights, digits, strict=True)) % 11) % 10
    text = "".join(map(str, digits)) + str(check)
    return f"{text[:6]}-{text[6:]}"


@dataclass(frozen=True)
class Marker:
    """The text that must never be stored or logged in the clear: a marker and fake PII, new for
    every run so nothing left by another run or test can match."""

    text: str
    phone: str  # PHONE_KR: pseudonymized by the test policy (only a token leaves, and is kept)
    rrn: str  # KR_RRN: allowed by the test policy (it reaches the provider and the ledger)

    @classmethod
    def fresh(cls) -> Marker:
        rng = random.Random(secrets.randbits(64))
        phone = f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}"
        return cls(f"CHAOS-{secrets.token_hex(6)}", phone, _rrn(rng))

    def prompt(self, tag: str, directives: str = "") -> str:
        """A user message: marker, PII and the fake upstream's `#tag` (and other directives)."""
        return (
            f"{self.text} 고객 상담 기록: 연락처 {self.phone}, 주민등록번호 {self.rrn} "
            f"#tag:{tag} {directives}".strip()
        )

    def needles(self) -> dict[str, bytes]:
        """Every form in which the text could sit in a file, a row or a message."""
        out: dict[str, bytes] = {}
        for name, value in (("marker", self.text), ("phone", self.phone), ("rrn", self.rrn)):
            raw = value.encode()
            out[name] = raw
            out[f"{name} (hex)"] = raw.hex().encode()  # pg_dump writes bytea as hex
            if "-" in value and name != "marker":
                out[f"{name} (digits)"] = value.replace("-", "").encode()
        for offset in range(3):  # base64 of the marker at each alignment
            encoded = base64.b64encode(b"\0" * offset + self.text.encode())
            start = (offset * 8 + 5) // 6
            out[f"marker (base64+{offset})"] = encoded[start : len(encoded) - 4]
        return out


def terminate_gateway_backends(dsn: str) -> int:
    """Kill the server side of every TCP connection to this database but our own: the
    gateway's (the CLI and the test connect the same way only while they run)."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND starts_with(application_name, 'sumun-')"
        ).fetchall()
    return len(rows)


def _tail(path: Path, size: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


@dataclass
class GatewayProcess:
    """`sumun serve --port 0 --json --share …`, stdout and stderr to files (kept for the scan)."""

    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    base_url: str = ""
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def describe(self) -> str:
        return "\n".join(f"--- {p.name}\n{_tail(p)}" for p in self.logs[-2:])

    def start(self, *, timeout: float = READY_TIMEOUT) -> str:
        """Start it and wait (bounded) until `/readyz` answers 200; the base URL."""
        if self.running:
            raise RuntimeError("the gateway is already running")
        self.starts += 1
        out = self.log_dir / f"gateway-{self.starts}.stdout"
        err = self.log_dir / f"gateway-{self.starts}.stderr"
        self.logs += [out, err]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=stdout, stderr=stderr, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not self.base_url_from(out):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"sumun serve did not start:\n{self.describe()}")
            time.sleep(0.05)
        self.wait_ready(deadline - time.monotonic())
        return self.base_url

    def base_url_from(self, out: Path) -> bool:
        first = out.read_text(errors="replace").partition("\n")
        if not first[1]:
            return False
        self.base_url = json.loads(first[0])["base_url"]
        return True

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 0.5)
        last = "no answer"
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    raise AssertionError(f"sumun serve exited:\n{self.describe()}")
                try:
                    answer = client.get(f"{self.base_url}/readyz")
                except httpx.HTTPError as exc:
                    last = repr(exc)
                else:
                    if answer.status_code == 200:
                        return
                    last = f"{answer.status_code} {answer.text}"
                time.sleep(0.05)
        raise AssertionError(f"sumun serve not ready within {timeout:.1f}s ({last})")

    def kill(self) -> None:
        """`kill -9`: nothing of its shutdown runs."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM: drain, seal, final checkpoint. SIGKILL if that takes more than `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return 0 if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(
                f"sumun serve did not stop within {timeout:g}s:\n{self.describe()}"
            ) from None


@dataclass
class Deployment:
    """Config, homes, proxies and the operator's CLI of one chaos run (see the module doc)."""

    workdir: Path  # short: the node home holds a Unix socket
    log_dir: Path
    dsn: str  # direct, for the CLI and the test
    pg: Proxy
    redis: Proxy
    bao: Proxy
    bao_server: OpenBaoServer
    redis_url: str  # direct
    config: Path
    admin_home: Path
    node_home: Path
    shares: list[str] = field(default_factory=list)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> issued key (JSON)
    gateway: GatewayProcess | None = None

    @property
    def proxied_dsn(self) -> str:
        return make_conninfo(self.dsn, host="127.0.0.1", port=str(self.pg.port))

    def _base_env(self) -> dict[str, str]:
        env = clean_env({"SUMUN_CONFIG": str(self.config), "PYTHONUNBUFFERED": "1"})
        env = {k: v for k, v in env.items() if not k.startswith(("BAO_", "VAULT_"))}
        return env | {"SUMUN_OPENBAO_TOKEN": self.bao_server.token, "COLUMNS": "200"}

    def cli_env(self) -> dict[str, str]:
        """The operator: straight to PostgreSQL and OpenBao (the config's Redis is proxied)."""
        return self._base_env() | {
            "SUMUN_HOME": str(self.admin_home),
            "SUMUN_CONTROL_DSN": self.dsn,
            "SUMUN_LEDGER_DSN": self.dsn,
            "SUMUN_OPENBAO_ADDR": self.bao_server.address,
        }

    def node_env(self) -> dict[str, str]:
        """The gateway: every service through its proxy."""
        return self._base_env() | {
            "SUMUN_HOME": str(self.node_home),
            "SUMUN_CONTROL_DSN": self.proxied_dsn,
            "SUMUN_LEDGER_DSN": self.proxied_dsn,
        }

    def cli(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SUMUN, *args],
            env=self.cli_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cli_json(self, *args: str, timeout: float = CLI_TIMEOUT) -> Any:
        done = self.cli(*args, "--json", timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(
                f"`sumun {' '.join(args)}` exited {done.returncode}: {done.stderr}"
            )
        return json.loads(done.stdout)

    def cli_start(self, *commands: Sequence[str]) -> list[tuple[Sequence[str], Popen]]:
        """Start several `sumun …` at once (each CLI start costs a second or more)."""
        return [
            (
                args,
                subprocess.Popen(
                    [*SUMUN, *args],
                    env=self.cli_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for args in commands
        ]

    @staticmethod
    def cli_wait(
        started: list[tuple[Sequence[str], Popen]], *, check: bool = True
    ) -> list[subprocess.CompletedProcess[str]]:
        results = []
        for args, proc in started:
            out, err = proc.communicate(timeout=CLI_TIMEOUT)
            if check and proc.returncode != 0:
                raise AssertionError(f"`sumun {' '.join(args)}` exited {proc.returncode}: {err}")
            results.append(subprocess.CompletedProcess(list(args), proc.returncode, out, err))
        return results

    def cli_many(
        self, *commands: Sequence[str], check: bool = True
    ) -> list[subprocess.CompletedProcess[str]]:
        return self.cli_wait(self.cli_start(*commands), check=check)

    def quorum_args(self) -> list[str]:
        return [arg for share in self.shares[:2] for arg in ("--share", share)]

    def new_gateway(self) -> GatewayProcess:
        argv = [*SUMUN, "serve", "--port", "0", "--json", *self.quorum_args()]
        self.gateway = GatewayProcess(argv, self.node_env(), self.log_dir)
        return self.gateway

    def homes(self) -> list[Path]:
        return [self.admin_home, self.node_home]


def write_config(
    path: Path,
    *,
    upstream_url: str,
    redis_url: str,
    bao_address: str,
    key_prefix: str,
) -> None:
    """`sumun.yaml` and the policy beside it: PHONE_KR pseudonymized, everything else allowed;
    both fake providers on-prem in Korea, so class S (the RRN) may go to them."""
    profile = {
        "jurisdiction": "KR",
        "hosting": "on-prem",
        "key_custody": "organization",
        "retention_days": 0,
        "training_use": False,
    }
    provider = {
        "kind": "openai",
        "base_url": upstream_url,
        "timeout_seconds": 10.0,
        "connect_timeout_seconds": 2.0,
        "profile": profile,
    }
    raw = {
        "control": {
            "store": "postgres",
            "dsn_env": "SUMUN_CONTROL_DSN",
            "timeout_seconds": 1.0,
            "poll_seconds": 0.2,
            "max_stale_seconds": 1.0,
        },
        "ledger": {"store": "postgres"},
        "keys": {
            "backend": "openbao",
            "openbao": {"address": bao_address, "key_prefix": key_prefix, "timeout": 1.0},
        },
        "gateway": {"redis_url": redis_url},
        "server": {"drain_seconds": 2},
        "policy_file": "policy.yaml",
        "providers": [{"name": "fake", **provider}, {"name": "fake2", **provider}],
        "routes": [
            {"model": CHAT, "targets": [{"provider": "fake", "model": "fake-model-1"}]},
            {"model": PROBE, "targets": [{"provider": "fake2", "model": "fake-model-1"}]},
        ],
    }
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    policy = {
        "version": 1,
        "pii": {"rules": [{"id": "chaos.phone", "types": ["PHONE_KR"], "action": "pseudonymize"}]},
    }
    (path.parent / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")


def redis_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise ValueError(f"the chaos test needs a TCP Redis URL, not {parts.scheme}://")
    return parts.hostname or "127.0.0.1", parts.port or 6379


def proxied_redis_url(url: str, port: int) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"127.0.0.1:{port}").geturl()


@contextlib.contextmanager
def proxies(*targets: tuple[str, int]) -> Iterator[list[Proxy]]:
    made = [Proxy(target) for target in targets]
    try:
        yield made
    finally:
        for proxy in made:
            proxy.close()


def tcp_dsn(dsn: str) -> str:
    """The same database over TCP as `postgres` (the gateway must go through a TCP proxy)."""
    database = conninfo_to_dict(dsn).get("dbname") or "test"
    return make_conninfo("", host="127.0.0.1", port="5432", user="postgres", dbname=database)
