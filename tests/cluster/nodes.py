"""`sumun serve` nodes for the cluster tests: one per network namespace, one shared config.

The deployment, as issue 11's contract has it:

- one `sumun.yaml` for every node and every CLI call (`SUMUN_CONFIG`):
  `control: {store: postgres, dsn_env: SUMUN_CONTROL_DSN}`, `ledger: {store: postgres}`
  (`SUMUN_LEDGER_DSN`), `gateway: {redis_url: unix:///…}` and providers/routes pointing at the
  fake upstream on the bridge address (tests/fixtures/netns.py);
- `sumun init --json --custodians 3 --threshold 2` once, with a home of its own (`admin_home`);
- node i: `sumun serve --host 10.231.47.1i --port 8480 --share S --share S'` inside namespace i,
  with its own empty `SUMUN_HOME`; ready when `/readyz` answers 200.

Isolation: every cluster gets a fresh PostgreSQL *database* (not only schemas): LISTEN/NOTIFY
channels and advisory locks are per database, so parallel runs cannot hear or block each
other whatever names the stores choose. Redis is a throwaway server on a Unix socket.

Before the control store exists (`control=False`): the yaml has no `control:` section, and a
node's home starts as a copy of the init home (the sealed root key still lives in files) —
enough for one node on the PostgreSQL ledger, which `test_single_node.py` runs today.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.fixtures.fake_upstream import MODELS, FakeUpstream
from tests.fixtures.netns import Namespace, Network, clean_env, pid_alive, private_tmpdir

__all__ = [
    "CHAT_MODEL",
    "NODE_PORT",
    "SUMUN",
    "Cluster",
    "Node",
    "fresh_database",
    "open_cluster",
    "write_config",
]

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
NODE_PORT = 8480  # the same on every node: each has its own address
CHAT_MODEL = "chat"  # the route clients ask for; served by the fake upstream
UPSTREAM_PROVIDER = "fake"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 60.0
_DATABASE_PREFIX = "sumun_t_"  # sumun_t_<pid>_<hex>


# --- the shared pieces ----------------------------------------------------------------------


def write_config(
    path: Path,
    *,
    upstream_url: str,
    redis_url: str,
    control: bool = True,
    control_schema: str | None = None,
    ledger_schema: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """The one `sumun.yaml` every node and CLI call uses. `upstream_url`: the OpenAI root
    (`…/v1`). Schemas default to the stores' own (the database is per test already)."""
    ledger: dict[str, Any] = {"store": "postgres"}
    if ledger_schema is not None:
        ledger["postgres_schema"] = ledger_schema
    raw: dict[str, Any] = {}
    if control:
        raw["control"] = {"store": "postgres", "dsn_env": "SUMUN_CONTROL_DSN"}
        if control_schema is not None:
            raw["control"]["postgres_schema"] = control_schema
    raw["ledger"] = ledger
    raw["gateway"] = {"redis_url": redis_url}
    raw["providers"] = [
        {"name": "demo", "kind": "demo"},
        {
            "name": UPSTREAM_PROVIDER,
            "kind": "openai",
            "base_url": upstream_url,
            "timeout_seconds": 10.0,
            "connect_timeout_seconds": 2.0,
        },
    ]
    raw["routes"] = [
        {"model": "demo", "targets": [{"provider": "demo", "model": "sumun-demo-1"}]},
        {"model": CHAT_MODEL, "targets": [{"provider": UPSTREAM_PROVIDER, "model": MODELS[0]}]},
    ]
    for key, value in (extra or {}).items():
        raw[key] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@contextlib.contextmanager
def fresh_database(base_dsn: str) -> Iterator[str]:
    """A new, empty database on the server of `base_dsn`; its DSN. Dropped afterwards, with
    whatever connections are still open to it (killed nodes' included)."""
    name = f"{_DATABASE_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(base_dsn, autocommit=True, connect_timeout=3) as conn:
        _drop_stale_databases(conn)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(base_dsn, dbname=name)
    finally:
        with psycopg.connect(base_dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _drop_stale_databases(conn: psycopg.Connection[Any]) -> None:
    """Databases left by runs that were killed before their teardown (their pid is gone)."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (_DATABASE_PREFIX,)
    ).fetchall()
    for (name,) in rows:
        found = re.match(rf"^{_DATABASE_PREFIX}(\d+)_[0-9a-f]+$", name)
        if found and not pid_alive(int(found.group(1))):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


# --- nodes ----------------------------------------------------------------------------------


@dataclass
class Node:
    index: int  # 1-based, like its namespace
    namespace: Namespace
    home: Path
    log_path: Path
    port: int = NODE_PORT
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return self.namespace.address

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return _tail(self.log_path)


@dataclass
class Cluster:
    """N nodes in N namespaces on one config, one database and one Redis (see module doc)."""

    net: Network
    workdir: Path  # short path (Unix sockets live under the homes); removed by close()
    log_dir: Path  # node logs and CLI output; kept (pytest's tmp_path)
    config: Path
    dsn: str
    redis_url: str
    upstream: FakeUpstream
    control: bool
    admin_home: Path
    nodes: list[Node] = field(default_factory=list)
    shares: list[str] = field(default_factory=list)
    threshold: int = 0
    init_result: dict[str, Any] = field(default_factory=dict)
    client: httpx.Client = field(
        default_factory=lambda: httpx.Client(trust_env=False, timeout=httpx.Timeout(5.0))
    )

    def __getitem__(self, index: int) -> Node:
        """Node `index`, 1-based."""
        return self.nodes[index - 1]

    # environment and the CLI (the "fourth process")

    def env(self, home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return clean_env(
            {
                "SUMUN_CONFIG": str(self.config),
                "SUMUN_HOME": str(home),
                "SUMUN_CONTROL_DSN": self.dsn,
                "SUMUN_LEDGER_DSN": self.dsn,
                "COLUMNS": "200",
                "PYTHONUNBUFFERED": "1",
                **(extra or {}),
            }
        )

    def cli(
        self,
        *args: str,
        home: Path | None = None,
        namespace: Namespace | None = None,
        input_text: str | None = None,
        timeout: float = CLI_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """`sumun ARGS…` with the shared config: in the root namespace unless told otherwise,
        with `admin_home` unless given a node's home."""
        env = self.env(home or self.admin_home)
        argv = [*SUMUN, *args]
        if namespace is not None:
            return namespace.run(argv, env=env, timeout=timeout, input_text=input_text)
        return subprocess.run(
            argv,
            env=env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cli_json(self, *args: str, **options: Any) -> Any:
        done = self.cli(*args, "--json", **options)
        if done.returncode != 0:
            raise AssertionError(
                f"`sumun {' '.join(args)} --json` exited {done.returncode}: {done.stderr}"
            )
        return json.loads(done.stdout)

    def init(self, *, custodians: int = 3, threshold: int = 2) -> dict[str, Any]:
        """`sumun init --json` once, from the admin home; keeps the shares for the nodes."""
        result = self.cli_json(
            "init", "--custodians", str(custodians), "--threshold", str(threshold)
        )
        self.init_result = result
        self.shares = list(result["shares"])
        self.threshold = int(result["threshold"])
        return dict(result)

    def quorum(self, index: int) -> list[str]:
        """A quorum for node `index`: `threshold` shares starting at a different one per node,
        so the nodes unseal with different custodians' shares."""
        if not self.shares:
            raise RuntimeError("run init() first")
        count = len(self.shares)
        return [self.shares[(index - 1 + j) % count] for j in range(self.threshold)]

    # node lifecycle

    def start(
        self,
        index: int,
        *,
        shares: Sequence[str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
    ) -> Node:
        """Start `sumun serve` for node `index` in its namespace (not waiting: see wait_ready).
        `shares=()` starts it sealed."""
        node = self[index]
        if node.running:
            raise RuntimeError(f"node {index} is already running")
        if not self.control and node.starts == 0:
            # No shared control store yet: the node needs the init home's files.
            shutil.copytree(self.admin_home, node.home, dirs_exist_ok=True)
        node.home.mkdir(parents=True, exist_ok=True)
        quorum = self.quorum(index) if shares is None else list(shares)
        argv = [*SUMUN, "serve", "--host", node.address, "--port", str(node.port)]
        argv += [arg for share in quorum for arg in ("--share", share)]
        argv += list(extra_args)
        node.starts += 1
        with node.log_path.open("ab") as log:
            log.write(f"\n=== start {node.starts}: node {index} ===\n".encode())
            log.flush()
            node.proc = self.net.start(
                node.namespace,
                argv,
                env=self.env(node.home, extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return node

    def wait_ready(self, index: int, *, timeout: float = READY_TIMEOUT) -> Node:
        """Poll node `index`'s `/readyz` (from the root namespace) until 200; bounded."""
        node = self[index]
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if node.proc is None or node.proc.poll() is not None:
                code = None if node.proc is None else node.proc.returncode
                raise AssertionError(f"node {index} exited ({code}) before ready:\n{node.log()}")
            try:
                answer = self.client.get(f"{node.base_url}/readyz", timeout=1.0)
            except httpx.HTTPError as exc:
                last = repr(exc)
            else:
                if answer.status_code == 200:
                    return node
                last = f"{answer.status_code} {answer.text}"
            time.sleep(0.05)
        raise AssertionError(
            f"node {index} not ready within {timeout:g}s (last: {last}):\n{node.log()}"
        )

    def start_all(self, *, timeout: float = READY_TIMEOUT) -> None:
        """Start every node, then wait for all (they start in parallel)."""
        for node in self.nodes:
            self.start(node.index)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            self.wait_ready(node.index, timeout=max(0.5, deadline - time.monotonic()))

    def unseal(self, index: int, shares: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """`sumun unseal --share …` against node `index` (its admin socket, in its home) — for a
        node started sealed (`start(index, shares=())`)."""
        args = [arg for share in shares for arg in ("--share", share)]
        return self.cli("unseal", *args, home=self[index].home)

    def stop(self, index: int, *, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM (graceful: drain, final checkpoint), SIGKILL after `timeout`; exit code."""
        node = self[index]
        if node.proc is None:
            return 0
        return self.net.stop(node.proc, timeout=timeout)

    def kill(self, index: int) -> int:
        """`kill -9` node `index`: nothing of its shutdown runs."""
        node = self[index]
        if node.proc is None:
            return 0
        return self.net.kill(node.proc)

    def restart(self, index: int, *, timeout: float = READY_TIMEOUT) -> Node:
        self.stop(index)
        self.start(index)
        return self.wait_ready(index, timeout=timeout)

    def close(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL), drop the client, remove the homes."""
        for node in self.nodes:
            with contextlib.suppress(Exception):
                self.stop(node.index, timeout=5.0)
        self.client.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def open_cluster(
    net: Network,
    *,
    dsn: str,
    redis_url: str,
    upstream: FakeUpstream,
    log_dir: Path,
    control: bool = True,
    nodes: int | None = None,
    control_schema: str | None = None,
    ledger_schema: str | None = None,
    config_extra: Mapping[str, Any] | None = None,
) -> Iterator[Cluster]:
    """A cluster of `nodes` (default: one per namespace), config written, nothing started."""
    count = len(net) if nodes is None else nodes
    if not 1 <= count <= len(net):
        raise ValueError(f"between 1 and {len(net)} nodes on this network")
    # Short: node homes hold Unix sockets (run/admin.sock), whose paths must fit in 107 bytes.
    workdir = private_tmpdir("sumun-cl-")
    log_dir.mkdir(parents=True, exist_ok=True)
    config = write_config(
        workdir / "sumun.yaml",
        upstream_url=upstream.base_url,
        redis_url=redis_url,
        control=control,
        control_schema=control_schema,
        ledger_schema=ledger_schema,
        extra=config_extra,
    )
    shutil.copy(config, log_dir / "sumun.yaml")  # kept for reading after a failure
    cluster = Cluster(
        net=net,
        workdir=workdir,
        log_dir=log_dir,
        config=config,
        dsn=dsn,
        redis_url=redis_url,
        upstream=upstream,
        control=control,
        admin_home=workdir / "admin",
    )
    for index in range(1, count + 1):
        cluster.nodes.append(
            Node(
                index=index,
                namespace=net[index],
                home=workdir / f"node{index}",
                log_path=log_dir / f"node{index}.log",
            )
        )
    try:
        yield cluster
    finally:
        cluster.close()
