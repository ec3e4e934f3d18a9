"""The shared control plane (issue 11): propagation, per-request cost, ledger appends from 3 nodes.

    python bench/bench_cluster.py [--changes 50] [--redis-changes 20] [--rounds 10]
                                  [--block 200] [--pairs 1000] [--only PART] [--json]

Everything on loopback, against the local PostgreSQL (`SUMUN_TEST_PG_DSN`, else the Unix
socket) in fresh schemas named after this process, dropped at the end; Redis at
`SUMUN_BENCH_REDIS_URL` (default redis://127.0.0.1:6379/0) for the optional second pass.

1. Propagation. Three `sumun serve` nodes (own SUMUN_HOME each, one sumun.yaml with
   `control: {store: postgres}` and `ledger: {store: postgres}`), the upstream of
   bench/_upstream.py. Changes alternate cut, revoke, restore, revoke …, each made by the real
   CLI in a subprocess (`sumun providers cut|restore`, `sumun tenants keys revoke` of a key
   issued with `sumun tenants keys issue` and seen working on every node first). Each node is
   polled on its own thread every 5 ms until it answers the new way (503 "cut off by the kill
   switch" for a cut, 401 for a revoked key, 200 after a restore); a change's figure is its
   slowest node, measured twice: from the CLI subprocess's *exit* (the target: p99 <= 1 s,
   goal 100 ms), and from the change's *commit*, seen by polling its row in the control schema
   every millisecond while the CLI runs (the fan-out itself: a cut commits long before
   `sumun providers cut` exits, which then appends its ledger entry). Then the same with
   `gateway.redis_url` set (`--redis-changes`, 0 to skip).
2. Per-request cost of the PostgreSQL control store: two single nodes, SQLite vs PostgreSQL
   control store, both on the default SQLite ledger, pinned to the same core; sequential
   requests at concurrency 1 in interleaved blocks (A B, B A, …), then one request each in
   turn (`--pairs`); each node's CPU per request and at idle. Target: <= +0.1 ms p50.
3. Ledger appends from 3 nodes: the PostgreSQL ledger store directly, strict durability,
   64 appender threads as in bench_ledger.py; one process vs three processes appending to the
   same schema at once (64 appenders each, and 21 each: the same total); afterwards the tree
   must be one tree (size == all appended, fsck). Target: the three >= the single node.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from bench_gateway import BODY, CORES, _port, pct, start_upstream
from bench_ledger import draft
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sumun.ledger.fsck import fsck  # noqa: E402
from sumun.ledger.sequencer import Sequencer  # noqa: E402
from sumun.ledger.store.postgres import PostgresStore  # noqa: E402

DSN = os.environ.get("SUMUN_TEST_PG_DSN", "postgresql:///test?host=/var/run/postgresql")
REDIS_URL = os.environ.get("SUMUN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SUMUN = [sys.executable, "-m", "sumun.cli.main"]
PID = os.getpid()
SCHEMA_CTL = f"bench_ctl_{PID}"  # the 3-node cluster's control store
SCHEMA_LED = f"bench_led_{PID}"  # … and its ledger
SCHEMA_CTL_ONE = f"bench_ctl_{PID}_one"  # part 2's PostgreSQL-control node
SCHEMA_LED_APPEND = f"bench_led_{PID}_append"  # part 3

POLL = 0.005  # seconds between a node's requests while waiting for a change
GIVE_UP = 5.0  # seconds: a change not seen by then is recorded as missed
CLI_TIMEOUT = 60.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
HTTP_TIMEOUT = 5.0

# -- processes and schemas, all cleaned up ---------------------------------------------------


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM it if this benchmark dies (even by SIGKILL)."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Node:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.root}/v1"


@dataclass
class Harness:
    tmp: Path
    procs: list[subprocess.Popen[Any]] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)

    def env(self, home: Path, config: Path) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
        return {
            **base,
            "SUMUN_HOME": str(home),
            "SUMUN_CONFIG": str(config),
            "SUMUN_CONTROL_DSN": DSN,
            "SUMUN_LEDGER_DSN": DSN,
            "PYTHONUNBUFFERED": "1",
        }

    def cli(self, home: Path, config: Path, *args: str) -> tuple[str, float]:
        """`sumun ARGS…` as an operator types it; (stdout, seconds it took)."""
        t = time.perf_counter()
        done = subprocess.run(
            [*SUMUN, *args],
            env=self.env(home, config),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        took = time.perf_counter() - t
        if done.returncode != 0:
            raise RuntimeError(f"`sumun {' '.join(args)}` exited {done.returncode}: {done.stderr}")
        return done.stdout, took

    def cli_json(self, home: Path, config: Path, *args: str) -> Any:
        return json.loads(self.cli(home, config, *args, "--json")[0])

    def serve(self, name: str, home: Path, config: Path, shares: list[str]) -> Node:
        """`sumun serve` pinned to the first core (the upstream has the other); not waited for."""
        home.mkdir(parents=True, exist_ok=True)
        port = _port()
        log = self.tmp / f"{name}.log"
        argv = ["taskset", "-c", str(CORES[0]), *SUMUN, "serve", "--port", str(port)]
        argv += [a for s in shares for a in ("--share", s)]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                env=self.env(home, config),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads spawn nodes
            )
        self.procs.append(proc)
        return Node(name, proc, port, log)

    def wait_ready(self, nodes: list[Node]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(trust_env=False, timeout=1.0) as client:
            for node in nodes:
                while True:
                    if node.proc.poll() is not None:
                        raise RuntimeError(f"{node.name} exited:\n{_tail(node.log)}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{node.root}/readyz").status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{node.name} not ready:\n{_tail(node.log)}")
                    time.sleep(0.05)

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        if proc in self.procs:
            self.procs.remove(proc)

    def schema(self, name: str) -> str:
        drop_schema(name)  # a left-over from a run that died with the same pid
        self.schemas.append(name)
        return name

    def close(self) -> None:
        for proc in list(self.procs):
            with contextlib.suppress(Exception):
                self.stop(proc)
        for name in self.schemas:
            try:
                drop_schema(name)
            except psycopg.Error as exc:
                print(f"could not drop schema {name}: {exc}", file=sys.stderr)


def drop_schema(name: str) -> None:
    with psycopg.connect(DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = ANY(%s) AND pid <> pg_backend_pid()",
            ([f"sumun-control:{name}"[:63], f"sumun-ledger:{name}"[:63]],),
        )
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


def write_config(
    path: Path,
    upstream: str,
    *,
    control_schema: str | None,
    ledger_schema: str | None,
    redis_url: str | None = None,
) -> Path:
    raw: dict[str, Any] = {}
    if control_schema is not None:
        raw["control"] = {
            "store": "postgres",
            "dsn_env": "SUMUN_CONTROL_DSN",
            "postgres_schema": control_schema,
        }
    if ledger_schema is not None:
        raw["ledger"] = {"store": "postgres", "postgres_schema": ledger_schema}
    if redis_url is not None:
        raw["gateway"] = {"redis_url": redis_url}
    raw["providers"] = [{"name": "up", "kind": "openai", "base_url": upstream}]
    raw["routes"] = [{"model": "bench", "targets": [{"provider": "up", "model": "m"}]}]
    path.write_text(json.dumps(raw, indent=2))  # JSON is YAML
    return path


def setup_deployment(h: Harness, home: Path, config: Path) -> tuple[list[str], str]:
    """`sumun init` once, a tenant, one key: (custodian shares, the key)."""
    init = h.cli_json(home, config, "init", "--custodians", "3", "--threshold", "2")
    h.cli(home, config, "tenants", "create", "bench", "--no-ai-notice")
    key = h.cli_json(home, config, "tenants", "keys", "issue", "--tenant", "bench")
    return list(init["shares"]), str(key["api_key"])


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": statistics.median(values) * 1e3,
        "p99_ms": pct(values, 99) * 1e3,
        "max_ms": max(values) * 1e3,
    }


# -- 1. propagation --------------------------------------------------------------------------


Want = Callable[[httpx.Response], bool]
Seen = list[tuple[float, int] | None]  # per node: (seconds, requests), None if never


def _ok(r: httpx.Response) -> bool:
    return r.status_code == 200


def _refused_cut(r: httpx.Response) -> bool:
    # 503 because the provider is cut — not the fail-closed 503 of a node that lost its store.
    return r.status_code == 503 and "kill switch" in r.text


def _unauthorized(r: httpx.Response) -> bool:
    return r.status_code == 401


def _not_unauthorized(r: httpx.Response) -> bool:
    return r.status_code in (200, 503)


def wait_for(
    client: httpx.Client, base: str, key: str, want: Want, t0: float
) -> tuple[float, int] | None:
    """(seconds from `t0` until this node's answer satisfies `want`, requests it took);
    None if not within GIVE_UP."""
    headers = {"authorization": f"Bearer {key}"}
    polls = 0
    while True:
        sent = time.perf_counter()
        polls += 1
        try:
            answer = client.post(f"{base}/chat/completions", json=BODY, headers=headers)
            now = time.perf_counter()
            if want(answer):
                return now - t0, polls
        except httpx.HTTPError:
            now = time.perf_counter()
        if now - t0 > GIVE_UP:
            return None
        time.sleep(max(0.0, sent + POLL - time.perf_counter()))


@dataclass
class Probe:
    """One client per node and a thread per node: every node is polled at the same time."""

    nodes: list[Node]
    clients: list[httpx.Client] = field(default_factory=list)
    pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> Probe:
        self.clients = [httpx.Client(trust_env=False, timeout=HTTP_TIMEOUT) for _ in self.nodes]
        self.pool = ThreadPoolExecutor(len(self.nodes))
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        for client in self.clients:
            client.close()

    def every_node(self, key: str, want: Want) -> Seen:
        """Poll all nodes from now until each satisfies `want`: per node (seconds, requests)."""
        assert self.pool is not None
        t0 = time.perf_counter()
        futures = [
            self.pool.submit(wait_for, client, node.base, key, want, t0)
            for client, node in zip(self.clients, self.nodes, strict=True)
        ]
        return [f.result() for f in futures]


def issue_keys(h: Harness, home: Path, config: Path, count: int) -> list[dict[str, Any]]:
    """Fresh keys for the revocations, issued through the CLI (three at a time)."""

    def issue(_i: int) -> dict[str, Any]:
        return dict(h.cli_json(home, config, "tenants", "keys", "issue", "--tenant", "bench"))

    with ThreadPoolExecutor(3) as pool:
        return list(pool.map(issue, range(count)))


@dataclass
class Tally:
    seen: dict[str, list[float]] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    first_poll: dict[str, int] = field(default_factory=dict)
    per_node: dict[str, list[list[float]]] = field(default_factory=dict)  # ms, per change

    def add(self, kind: str, got: Seen) -> bool:
        done = [g for g in got if g is not None]
        if len(done) < len(got):
            self.missed[kind] = self.missed.get(kind, 0) + 1
            return False
        self.seen.setdefault(kind, []).append(max(seconds for seconds, _polls in done))
        self.per_node.setdefault(kind, []).append([round(sec * 1e3, 2) for sec, _p in done])
        # Already true at every node's first answer: the change beat the CLI's exit.
        first = all(polls == 1 for _seconds, polls in done)
        self.first_poll[kind] = self.first_poll.get(kind, 0) + first
        return True

    def result(self, changes: int) -> dict[str, Any]:
        out: dict[str, Any] = {"changes": changes}
        for kind in ("cut", "restore", "revoke", "issue"):
            if self.seen.get(kind):
                out[kind] = summary(self.seen[kind])
        every = [v for k in ("cut", "restore", "revoke") for v in self.seen.get(k, [])]
        out["all"] = summary(every) if every else {}
        out["missed"] = self.missed
        out["within_first_poll"] = self.first_poll
        out["per_node_ms"] = self.per_node
        return out


@dataclass
class Watch:
    """Sees a change commit, independently of the nodes: polls its row every millisecond."""

    schema: str
    conn: psycopg.Connection[Any] | None = None

    def __enter__(self) -> Watch:
        self.conn = psycopg.connect(DSN, autocommit=True, connect_timeout=5)
        ident = sql.Identifier(self.schema)
        self._cut = sql.SQL("SELECT cut FROM {}.provider_cuts WHERE name = 'up'").format(ident)
        self._key = sql.SQL("SELECT revoked_at FROM {}.keys WHERE key_id = %s").format(ident)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.conn is not None:
            self.conn.close()

    def committed(self, kind: str, key_id: str) -> bool:
        assert self.conn is not None
        if kind == "revoke":
            row = self.conn.execute(self._key, (key_id,)).fetchone()
            return row is not None and row[0] is not None
        row = self.conn.execute(self._cut).fetchone()
        return bool(row and row[0]) == (kind == "cut")


def make_change(
    h: Harness, probe: Probe, watch: Watch, cli: tuple[Path, Path, tuple[str, ...]], change: Any
) -> tuple[Seen, Seen, float]:
    """Run the CLI; poll the nodes from the commit (seen by `watch`) and again from the CLI's
    exit: (per node from commit, per node from exit, CLI seconds)."""
    home, config, args = cli
    kind, key_id, key, want = change
    proc = subprocess.Popen(
        [*SUMUN, *args],
        env=h.env(home, config),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    spawned = time.perf_counter()
    try:
        while not watch.committed(kind, key_id):
            if time.perf_counter() - spawned > CLI_TIMEOUT or (
                proc.poll() is not None and not watch.committed(kind, key_id)
            ):
                proc.kill()
                _out, err = proc.communicate(timeout=STOP_TIMEOUT)
                raise RuntimeError(f"`sumun {' '.join(args)}` made no change: {err}")
            time.sleep(0.001)
        from_commit = probe.every_node(key, want)
        _out, err = proc.communicate(timeout=CLI_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    took = time.perf_counter() - spawned
    if proc.returncode != 0:
        raise RuntimeError(f"`sumun {' '.join(args)}` exited {proc.returncode}: {err}")
    return from_commit, probe.every_node(key, want), took


def propagation_pass(
    h: Harness, nodes: list[Node], admin: Path, config: Path, *, steady_key: str, changes: int
) -> dict[str, Any]:
    """`changes` changes: cut, revoke, restore, revoke, …; each timed from its commit and from
    the CLI's exit."""
    kinds = [("cut", "revoke", "restore", "revoke")[i % 4] for i in range(changes)]
    keys = issue_keys(h, admin, config, kinds.count("revoke"))
    after_exit, after_commit, cli_seconds = Tally(), Tally(), Tally()
    cut = False
    with Probe(nodes) as probe, Watch(SCHEMA_CTL) as watch:
        if any(g is None for g in probe.every_node(steady_key, _ok)):  # warm connections
            raise RuntimeError("a node does not serve the steady key")
        for kind in kinds:
            key, key_id, want = steady_key, "", _refused_cut if kind == "cut" else _ok
            args: tuple[str, ...] = ("providers", kind, "up")
            if kind == "cut":
                args += ("--reason", "b")
            elif kind == "revoke":
                issued = keys.pop()
                key, key_id, want = str(issued["api_key"]), str(issued["key_id"]), _unauthorized
                args = ("tenants", "keys", "revoke", key_id)
                # The new key must work everywhere before we revoke it (200, or 503 while cut).
                got = probe.every_node(key, _not_unauthorized)
                if any(g is None for g in got):
                    raise RuntimeError(f"a fresh key was refused by a node: {got}")
                after_exit.seen.setdefault("issue", []).append(max(g[0] for g in got if g))
            from_commit, from_exit, took = make_change(
                h, probe, watch, (admin, config, args), (kind, key_id, key, want)
            )
            cli_seconds.seen.setdefault(kind, []).append(took)
            after_commit.add(kind, from_commit)
            if not after_exit.add(kind, from_exit) and kind != "revoke":
                raise RuntimeError(f"{kind} not seen by every node within {GIVE_UP} s")
            cut = {"cut": True, "restore": False}.get(kind, cut)
    if cut:
        h.cli(admin, config, "providers", "restore", "up")
    out = after_exit.result(changes)
    out["from_commit"] = after_commit.result(changes)
    out["cli_seconds_median"] = {k: statistics.median(v) for k, v in cli_seconds.seen.items()}
    return out


def measure_propagation(
    h: Harness, res: dict[str, Any], upstream: str, args: argparse.Namespace
) -> None:
    ctl, led = h.schema(SCHEMA_CTL), h.schema(SCHEMA_LED)
    config = h.tmp / "cluster.yaml"
    admin = h.tmp / "cluster-admin"
    write_config(config, upstream, control_schema=ctl, ledger_schema=led)
    print("cluster: init, 3 nodes …", file=sys.stderr)
    shares, steady = setup_deployment(h, admin, config)
    passes: list[tuple[str, str | None, int]] = [("postgres", None, args.changes)]
    if args.redis_changes > 0:
        passes.append(("postgres+redis", REDIS_URL, args.redis_changes))
    res["propagation"] = {}
    for label, redis_url, changes in passes:
        write_config(config, upstream, control_schema=ctl, ledger_schema=led, redis_url=redis_url)
        # each node its own home, unsealed with a different pair of custodians' shares
        pairs = [[shares[i], shares[(i + 1) % 3]] for i in range(3)]
        nodes = [
            h.serve(f"node{i}-{label}", h.tmp / f"node{i}", config, pairs[i]) for i in range(3)
        ]
        try:
            h.wait_ready(nodes)
            print(f"cluster ({label}): {changes} changes …", file=sys.stderr)
            res["propagation"][label] = propagation_pass(
                h, nodes, admin, config, steady_key=steady, changes=changes
            )
        finally:
            for node in nodes:
                h.stop(node.proc)


# -- 2. per-request cost of the PostgreSQL control store -------------------------------------


def block(client: httpx.Client, base: str, key: str, n: int) -> list[float]:
    headers = {"authorization": f"Bearer {key}"}
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.post(f"{base}/chat/completions", json=BODY, headers=headers)
        out.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise RuntimeError(f"{base}: {r.status_code} {r.text[:200]}")
    return out


def _scans(schema: str) -> int:
    """Sequential + index scans of every table in `schema` so far (pg_stat_user_tables)."""
    with psycopg.connect(DSN, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint"
            " FROM pg_stat_user_tables WHERE schemaname = %s",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` (every thread) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_control_cost(
    h: Harness, res: dict[str, Any], upstream: str, args: argparse.Namespace
) -> None:
    print("single nodes: SQLite vs PostgreSQL control store …", file=sys.stderr)
    targets: dict[str, tuple[Node, str]] = {}
    for label, schema in (("sqlite", None), ("postgres", h.schema(SCHEMA_CTL_ONE))):
        home = h.tmp / f"one-{label}"
        config = write_config(
            h.tmp / f"one-{label}.yaml", upstream, control_schema=schema, ledger_schema=None
        )
        shares, key = setup_deployment(h, home, config)
        targets[label] = (h.serve(f"one-{label}", home, config, shares[:2]), key)
    h.wait_ready([node for node, _key in targets.values()])
    lat: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    diffs: list[float] = []
    blocks: list[dict[str, float]] = []  # p50 (ms) of each round's two blocks
    with (
        httpx.Client(trust_env=False, timeout=HTTP_TIMEOUT) as ca,
        httpx.Client(trust_env=False, timeout=HTTP_TIMEOUT) as cb,
    ):
        clients = {"sqlite": ca, "postgres": cb}
        for label, (node, key) in targets.items():
            block(clients[label], node.base, key, 100)  # warm-up: connections, caches, DEKs
        # Idle: what each node spends with no traffic (the control watcher's polls and so on).
        idle0 = {label: _cpu_seconds(node.proc.pid) for label, (node, _k) in targets.items()}
        time.sleep(args.idle)
        idle = {
            label: (_cpu_seconds(node.proc.pid) - idle0[label]) / args.idle
            for label, (node, _k) in targets.items()
        }
        cpu0 = {label: _cpu_seconds(node.proc.pid) for label, (node, _k) in targets.items()}
        scans0, t_scans = _scans(SCHEMA_CTL_ONE), time.monotonic()
        for r in range(args.rounds):
            order = ("sqlite", "postgres") if r % 2 == 0 else ("postgres", "sqlite")
            got = {}
            for label in order:  # A B, B A, A B, … : drift falls on both alike
                node, key = targets[label]
                got[label] = block(clients[label], node.base, key, args.block)
                lat[label] += got[label]
            medians = {label: statistics.median(v) * 1e3 for label, v in got.items()}
            blocks.append({label: round(m, 3) for label, m in medians.items()})
            diffs.append(medians["postgres"] - medians["sqlite"])
        # The same, one request each in turn: the finest interleave, paired differences.
        paired: dict[str, list[float]] = {"sqlite": [], "postgres": []}
        for i in range(args.pairs):
            for label in ("sqlite", "postgres") if i % 2 == 0 else ("postgres", "sqlite"):
                node, key = targets[label]
                paired[label] += block(clients[label], node.base, key, 1)
        cpu = {
            label: _cpu_seconds(node.proc.pid) - cpu0[label]
            for label, (node, _k) in targets.items()
        }
        time.sleep(1.5)  # PostgreSQL publishes a backend's table statistics at most once a second
        scans = _scans(SCHEMA_CTL_ONE) - scans0
        scan_seconds = time.monotonic() - t_scans
    for node, _key in targets.values():
        h.stop(node.proc)
    out: dict[str, Any] = {"requests_each": len(lat["sqlite"]), "block": args.block}
    for label, values in lat.items():
        out[label] = {
            "p50_ms": statistics.median(values) * 1e3,
            "p99_ms": pct(values, 99) * 1e3,
        }
    out["added_p50_ms"] = out["postgres"]["p50_ms"] - out["sqlite"]["p50_ms"]
    out["added_p99_ms"] = out["postgres"]["p99_ms"] - out["sqlite"]["p99_ms"]
    out["added_p50_ms_median_of_blocks"] = statistics.median(diffs)
    out["block_p50_ms"] = blocks
    served = len(lat["sqlite"]) + args.pairs
    # CPU of each node process (all threads, the watcher's polling included) per request served
    out["cpu_ms_per_request"] = {label: v / served * 1e3 for label, v in cpu.items()}
    out["idle_cpu_percent"] = {label: v * 100 for label, v in idle.items()}
    # Reads of the PostgreSQL control tables over the timed part (the watcher's polls included):
    # the store is not on the request path if this is far below one per request.
    out["control_reads"] = {
        "total": scans,
        "per_request": scans / served,
        "per_second": scans / scan_seconds,
    }
    if args.pairs:
        out["pairs"] = {
            "n": args.pairs,
            "sqlite_p50_ms": statistics.median(paired["sqlite"]) * 1e3,
            "postgres_p50_ms": statistics.median(paired["postgres"]) * 1e3,
            "median_paired_difference_ms": statistics.median(
                b - a for a, b in zip(paired["sqlite"], paired["postgres"], strict=True)
            )
            * 1e3,
        }
    res["control_cost"] = out


# -- 3. ledger appends from three nodes ------------------------------------------------------


def strict_run(store: PostgresStore, appenders: int, per: int, offset: int) -> tuple[float, float]:
    """bench_ledger.strict_concurrent, returning (start, end) on the system-wide monotonic clock
    so that three processes' runs can be put on one time line."""
    seq = Sequencer(store, batch_max=1024, batch_delay_ms=0)
    start = threading.Barrier(appenders + 1)

    def work(worker: int) -> None:
        start.wait()
        for i in range(per):
            seq.append(draft(offset + worker * 1_000_000 + i), "strict", timeout=30)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(appenders)]
    for th in threads:
        th.start()
    start.wait()
    t = time.monotonic()
    for th in threads:
        th.join()
    end = time.monotonic()
    seq.close()
    return t, end


def append_worker(schema: str, appenders: int, per: int, offset: int) -> None:
    """One 'node' of part 3 (a subprocess): open the store, say ready, wait for go, append."""
    store = PostgresStore(DSN, schema=schema)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    t, end = strict_run(store, appenders, per, offset)
    store.close()
    print(json.dumps({"entries": appenders * per, "start": t, "end": end}), flush=True)


def _line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], timeout)
    if not readable:
        raise RuntimeError("an append worker did not answer in time")
    return proc.stdout.readline()


def appending_nodes(
    h: Harness, schema: str, setup: tuple[int, int], per: int, offset: int
) -> float:
    """`nodes` processes, each with `appenders` strict appenders, started together: total
    entries/s from the first start to the last finish."""
    nodes, appenders = setup
    procs = []
    for n in range(nodes):
        argv = [sys.executable, __file__, "--append-worker", schema]
        argv += [str(appenders), str(per), str(offset + n * 100_000_000)]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads spawn workers
        )
        h.procs.append(proc)
        procs.append(proc)
    try:
        for proc in procs:
            if _line(proc, READY_TIMEOUT).strip() != "ready":
                raise RuntimeError("an append worker failed to start")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        runs = [json.loads(_line(proc, 300)) for proc in procs]
    finally:
        for proc in procs:
            h.stop(proc)
    total = sum(int(r["entries"]) for r in runs)
    return total / (max(float(r["end"]) for r in runs) - min(float(r["start"]) for r in runs))


# (processes, appenders each): one node as bench_ledger.py measures it; three nodes each as
# loaded as that one; three nodes sharing the same 64 appenders between them.
LEDGER_SETUPS = {"single_64": (1, 64), "three_x64": (3, 64), "three_x21": (3, 21)}


def measure_ledger_nodes(h: Harness, res: dict[str, Any], args: argparse.Namespace) -> None:
    print("ledger: 1 process vs 3 processes, strict, PostgreSQL …", file=sys.stderr)
    schema = h.schema(SCHEMA_LED_APPEND)
    rates: dict[str, list[float]] = {label: [] for label in LEDGER_SETUPS}
    appended = 0
    store = PostgresStore(DSN, schema=schema)  # creates the tables before any worker starts
    try:
        for rep in range(args.ledger_reps):
            # in one order, then reversed, …: drift falls on every setup alike
            order = list(LEDGER_SETUPS) if rep % 2 == 0 else list(LEDGER_SETUPS)[::-1]
            for label in order:
                nodes, appenders = LEDGER_SETUPS[label]
                per = max(1, args.ledger_entries // (nodes * appenders))  # ~ledger_entries a run
                offset = (rep * len(LEDGER_SETUPS) + order.index(label) + 1) * 1_000_000_000
                rate = appending_nodes(h, schema, LEDGER_SETUPS[label], per, offset)
                rates[label].append(rate)
                appended += nodes * appenders * per
        size = store.size()
        report = fsck(store, [])
    finally:
        store.close()
    out: dict[str, Any] = {k: max(v) for k, v in rates.items()}  # best of the repetitions
    out["runs"] = rates
    for label in ("three_x64", "three_x21"):
        out[f"ratio_{label}"] = out[label] / out["single_64"]
        # the same ratio within each repetition (neighbours in time), then their median
        out[f"ratio_{label}_median_of_reps"] = statistics.median(
            t / s for t, s in zip(rates[label], rates["single_64"], strict=True)
        )
    out["appended"] = appended
    out["tree_size"] = size
    out["fsck_size"] = report.size
    out["fsck_seconds"] = report.seconds
    out["one_tree"] = size == appended == report.size
    res["ledger_nodes"] = out


# -- main ------------------------------------------------------------------------------------


def _redis_answers() -> bool:
    import redis

    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as r:
            return bool(r.ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def _terminated_cleanly() -> Iterator[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so every `finally` (processes, schemas) runs."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--append-worker":
        append_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--redis-changes", type=int, default=20, help="0: skip the Redis pass")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=200)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU")
    parser.add_argument("--pairs", type=int, default=1000, help="then one request each in turn")
    parser.add_argument("--ledger-reps", type=int, default=4)
    parser.add_argument("--ledger-entries", type=int, default=9600, help="per run")
    parser.add_argument("--only", choices=("propagation", "cost", "ledger"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        with psycopg.connect(DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        print(f"PostgreSQL unavailable ({exc}): bench_cluster skipped", file=sys.stderr)
        return
    if args.redis_changes > 0 and not _redis_answers():
        print(f"Redis unavailable at {REDIS_URL}: no Redis pass", file=sys.stderr)
        args.redis_changes = 0
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "cores": len(CORES)}
    started = time.monotonic()
    with _terminated_cleanly(), tempfile.TemporaryDirectory(prefix="sumun-bc-") as raw:
        h = Harness(Path(raw))
        upstream = None
        try:
            if args.only in (None, "propagation", "cost"):
                upstream, up_base = start_upstream()
                h.procs.append(upstream)
                if args.only in (None, "propagation"):
                    measure_propagation(h, res, up_base, args)
                if args.only in (None, "cost"):
                    measure_control_cost(h, res, up_base, args)
            if args.only in (None, "ledger"):
                measure_ledger_nodes(h, res, args)
        finally:
            h.close()
    res["seconds"] = time.monotonic() - started
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        _print(res)


def _kinds(p: dict[str, Any], indent: str) -> None:
    for kind in ("cut", "restore", "revoke", "all", "issue"):
        s = p.get(kind)
        if not s:
            continue
        note = "  (a new key accepted; not a target)" if kind == "issue" else ""
        print(
            f"{indent}{kind:8} n={s['n']:3}  p50 {s['p50_ms']:7.1f} ms  p99 {s['p99_ms']:7.1f}"
            f" ms  max {s['max_ms']:7.1f} ms{note}"
        )


def _print(res: dict[str, Any]) -> None:
    if "propagation" in res:
        print("Propagation of a change to all 3 nodes (target: p99 <= 1 s from the CLI's exit)")
        for label, p in res["propagation"].items():
            cli = ", ".join(f"{k} {v:.2f} s" for k, v in p["cli_seconds_median"].items())
            print(f"  {label}: {p['changes']} changes, missed {p['missed']}; CLI median: {cli}")
            print("    from the CLI's exit:")
            _kinds(p, "      ")
            print(f"      already seen at every node's first answer: {p['within_first_poll']}")
            print("    from the commit (the row polled every 1 ms):")
            _kinds(p["from_commit"], "      ")
    if "control_cost" in res:
        c = res["control_cost"]
        print(
            f"One node, SQLite vs PostgreSQL control store ({c['requests_each']:,} requests each,"
            f" blocks of {c['block']}, concurrency 1; target <= +0.1 ms p50)"
        )
        for label in ("sqlite", "postgres"):
            print(f"  {label:9} p50 {c[label]['p50_ms']:.3f} ms  p99 {c[label]['p99_ms']:.3f} ms")
        print(
            f"  added    p50 {c['added_p50_ms']:+.3f} ms  p99 {c['added_p99_ms']:+.3f} ms"
            f"  (median of per-block p50 differences {c['added_p50_ms_median_of_blocks']:+.3f} ms)"
        )
        if "pairs" in c:
            q = c["pairs"]
            print(
                f"  one request each in turn ({q['n']:,} pairs): p50 {q['sqlite_p50_ms']:.3f} /"
                f" {q['postgres_p50_ms']:.3f} ms, median paired difference"
                f" {q['median_paired_difference_ms']:+.3f} ms"
            )
        reads = c["control_reads"]
        print(
            f"  PostgreSQL control-table reads while measured: {reads['total']:,}"
            f" ({reads['per_request']:.3f} per request, {reads['per_second']:.1f} per second)"
        )
        cpu, idle = c["cpu_ms_per_request"], c["idle_cpu_percent"]
        print(
            f"  node CPU per request {cpu['sqlite']:.2f} / {cpu['postgres']:.2f} ms;"
            f" idle {idle['sqlite']:.1f} / {idle['postgres']:.1f} % of a core (SQLite / PostgreSQL)"
        )
    if "ledger_nodes" in res:
        g = res["ledger_nodes"]
        print("Strict ledger appends, PostgreSQL (best of runs; target: 3 nodes >= 1 node)")
        print(f"  1 process, 64 appenders         {g['single_64']:>8,.0f} /s")
        for label, each in (("three_x64", 64), ("three_x21", 21)):
            print(
                f"  3 processes, {each} appenders each {g[label]:>8,.0f} /s"
                f"  ratio {g[f'ratio_{label}']:.2f}"
                f" (median of per-repetition ratios {g[f'ratio_{label}_median_of_reps']:.2f})"
            )
        print(
            f"  one tree: {g['one_tree']} (appended {g['appended']:,}, tree size"
            f" {g['tree_size']:,}, fsck {g['fsck_size']:,} in {g['fsck_seconds']:.1f} s)"
        )
    print(f"({res['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
