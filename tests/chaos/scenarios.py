"""The chaos run itself: set up, load, the four scenarios, the evidence (tests/chaos/test_chaos.py
says what is judged).

Each scenario marks its window (cut → restored) and the first call acknowledged after it; a few
slow calls are in flight at every cut (`in_flight`). Observations the verdicts need go into
`Run.facts`; every call the clients made is an `Outcome`, attributed at the end to the outage it
overlapped.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.chaos.evidence import (
    Hit,
    LedgerView,
    pg_dump,
    read_export,
    redis_tap,
    scan_bytes,
    scan_database,
    scan_files,
    scan_redis_keys,
)
from tests.chaos.harness import (
    PROBE,
    Deployment,
    Marker,
    proxied_redis_url,
    proxies,
    redis_address,
    terminate_gateway_backends,
    write_config,
)
from tests.chaos.load import (
    Client,
    InFlight,
    Load,
    Outcome,
    Recorder,
    call,
    in_flight,
    sdk_for,
)
from tests.cluster.nodes import fresh_database
from tests.fixtures.fake_upstream import FakeUpstream, start_fake_upstream
from tests.fixtures.netns import private_tmpdir
from tests.fixtures.openbao import OpenBaoServer

__all__ = ["LOAD_CLIENTS", "SCENARIOS", "TAG", "Run", "Window", "chaos_run", "error_code"]

SCENARIOS = ("baseline", "postgres", "redis", "openbao", "kill9", "after")
LOAD_CLIENTS = ("acme-1", "acme-2", "beta-1", "beta-2")
TAG = re.compile(r"#tag:([\w.-]+)")
RECOVERY_TIMEOUT = 15.0


@dataclass
class Window:
    """When a scenario broke something and gave it back (time.monotonic())."""

    cut: float
    restored: float
    recovered: float | None = None  # the first acknowledged call started after `restored`


@dataclass
class Run:
    marker: Marker
    outcomes: list[Outcome] = field(default_factory=list)
    windows: dict[str, Window] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)  # scenario observations
    upstream_tags: set[str] = field(default_factory=set)
    ledger: LedgerView | None = None
    verify: dict[str, Any] = field(default_factory=dict)
    verify_rc: int = -1
    verifier_rc: int = -1
    verifier_out: str = ""
    decrypted: dict[int, str] = field(default_factory=dict)  # seq -> payload text
    homes_seen: dict[str, list[str]] = field(default_factory=dict)  # moment -> files read
    scanned: dict[str, str] = field(default_factory=dict)  # place -> what was read
    hits: dict[str, list[Hit]] = field(default_factory=dict)  # place -> plaintext found
    gateway_log: str = ""  # every start's stderr (pytest's temporary folders do not last)
    metrics: dict[str, list[str]] = field(default_factory=dict)  # moment -> counter lines
    seconds: float = 0.0

    def of(self, scenario: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.scenario == scenario]

    def attribute(self) -> None:
        """A call belongs to the outage it overlapped, whenever it started: a stream begun
        just before a cut and answered during it is that cut's business."""
        for outcome in self.outcomes:
            for name, window in self.windows.items():
                if outcome.started < window.restored and outcome.ended > window.cut:
                    outcome.scenario = name
                    break


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Chaos:
    deployment: Deployment
    recorder: Recorder
    load: Load
    marker: Marker
    upstream: FakeUpstream
    clients: dict[str, Client]
    run: Run

    @property
    def base_url(self) -> str:
        assert self.deployment.gateway is not None
        return self.deployment.gateway.base_url

    def begin(self, scenario: str) -> None:
        self.recorder.scenario = scenario

    def flights(
        self, name: str, *, streams: int, calls: int, slow: float, call_slow: float
    ) -> contextlib.AbstractContextManager[list[InFlight]]:
        """Slow calls of client beta-1 in flight (tests.chaos.load.in_flight)."""
        return in_flight(
            self.recorder,
            self.marker,
            self.base_url,
            self.clients["beta-1"],
            name=name,
            streams=streams,
            calls=calls,
            stream_slow=slow,
            call_slow=call_slow,
        )

    def wait_in_flight(
        self, flights: list[InFlight], *, chunks: int = 1, timeout: float = 10.0
    ) -> None:
        """Until every stream has `chunks` chunks and every whole call reached the upstream."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(
                (f.chunks[0] >= chunks)
                if f.outcome.stream
                else f.outcome.tag in self.run.upstream_tags
                for f in flights
            ):
                return
            time.sleep(0.01)
        state = [(f.outcome.tag, f.chunks[0], f.outcome.status, f.outcome.failure) for f in flights]
        raise AssertionError(f"the slow calls did not get going: {state}")

    def scan_homes(self, moment: str) -> None:
        """Every file under each SUMUN_HOME, now: during an outage is when a spool holds data."""
        seen, hits = scan_files(self.deployment.homes(), self.marker.needles())
        self.run.hits.setdefault("homes", []).extend(hits)
        self.run.homes_seen[moment] = seen

    def scrape(self, moment: str) -> None:
        """The gateway's counters of what it could not record (they restart with the process):
        `completed-not-recorded`, the spool's, refusals sent without an entry."""
        answer = httpx.get(
            f"{self.base_url}/metrics",
            headers={"authorization": f"Bearer {self.deployment.keys['auditor']['api_key']}"},
            timeout=10.0,
            trust_env=False,
        )
        wanted = ('provider="ledger"', "sumun_ledger_", 'recorded="not-recorded"')
        self.run.metrics[moment] = [
            line
            for line in answer.text.splitlines()
            if not line.startswith("#") and any(w in line for w in wanted)
        ] or [f"HTTP {answer.status_code}, nothing about the ledger"]

    def wait_recovered(self, after: float) -> float | None:
        """When the first load call started after `after` that was acknowledged (bounded)."""
        deadline = after + RECOVERY_TIMEOUT
        while time.monotonic() < deadline:
            for outcome in self.recorder.snapshot():
                ok = outcome.acknowledged and outcome.client in LOAD_CLIENTS
                if ok and outcome.started >= after:
                    return outcome.started
            time.sleep(0.05)
        return None


def _capture_tags(fake: FakeUpstream, seen: set[str]) -> None:
    """Every `#tag:` the provider is sent (the fake keeps only its last 200 requests)."""
    original = fake.record

    def record(recorded: Any) -> None:
        seen.update(TAG.findall(json.dumps(recorded.body, ensure_ascii=False)))
        original(recorded)

    fake.record = record  # type: ignore[method-assign]


def _setup(dep: Deployment) -> None:
    result = dep.cli_json("init", "--custodians", "3", "--threshold", "2")
    dep.shares = list(result["shares"])
    dep.cli_many(("tenants", "create", "acme", "--rpm", "100000"), ("tenants", "create", "beta"))
    keys = {
        "acme": ("--tenant", "acme"),
        "beta": ("--tenant", "beta"),
        "revoked": ("--tenant", "beta"),
        "auditor": ("--tenant", "beta", "--role", "auditor"),  # reads /metrics
    }
    issued = dep.cli_many(*(("tenants", "keys", "issue", *a, "--json") for a in keys.values()))
    dep.keys = {name: json.loads(d.stdout) for name, d in zip(keys, issued, strict=True)}


class _Probe:
    """One client calling every 100 ms on its own (revocation and kill-switch probes)."""

    def __init__(self, chaos: Chaos, client: Client) -> None:
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(chaos, client), daemon=True)
        self._thread.start()

    def _run(self, chaos: Chaos, client: Client) -> None:
        sdk = sdk_for(chaos.base_url, client.api_key, read_timeout=5.0)
        n = 0
        while not self._stop.is_set():
            tag = f"{client.name}-{n}"
            n += 1
            outcome = Outcome(
                chaos.recorder.scenario, client.name, tag, False, client.model, time.monotonic()
            )
            call(sdk, outcome, chaos.marker.prompt(tag))
            chaos.recorder.add(outcome)
            self.outcomes.append(outcome)
            time.sleep(0.1)

    def first(
        self, since: float, test: Callable[[Outcome], bool], timeout: float
    ) -> Outcome | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for outcome in list(self.outcomes):
                if outcome.started >= since and test(outcome):
                    return outcome
            time.sleep(0.02)
        return None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def error_code(outcome: Outcome) -> str | None:
    try:
        return str(json.loads(outcome.error_body or "")["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def scenario_postgres(chaos: Chaos) -> None:
    chaos.begin("postgres")
    dep = chaos.deployment
    with chaos.flights("pg", streams=2, calls=1, slow=0.15, call_slow=1.5) as flights:
        chaos.wait_in_flight(flights)
        # As a PostgreSQL restart does it: every session of the gateway ends, then no new one
        # is let in (the proxy drops whatever reconnected in between).
        cut = time.monotonic()
        chaos.run.facts["postgres.terminated_backends"] = terminate_gateway_backends(dep.dsn)
        dep.pg.down()
        time.sleep(3.0)
        chaos.scan_homes("postgres outage")
        restored = time.monotonic()
        dep.pg.up()
    window = chaos.run.windows["postgres"] = Window(cut, restored)
    window.recovered = chaos.wait_recovered(restored)


def scenario_redis(chaos: Chaos) -> None:
    chaos.begin("redis")
    dep, facts = chaos.deployment, chaos.run.facts
    revoked = _Probe(chaos, Client("probe-revoked", dep.keys["revoked"]["api_key"]))
    cut_probe = _Probe(chaos, Client("probe-cut", dep.keys["beta"]["api_key"], PROBE))
    try:
        with chaos.flights("redis", streams=1, calls=1, slow=0.15, call_slow=1.5) as flights:
            chaos.wait_in_flight(flights)
            cut = time.monotonic()
            dep.redis.down()
            time.sleep(0.3)
            # Another process changes the control plane; its Redis publish cannot get through.
            begun = time.monotonic()
            dep.cli_many(
                ("tenants", "keys", "revoke", dep.keys["revoked"]["key_id"]),
                ("providers", "cut", "fake2", "--reason", "chaos test"),
            )
            changed = time.monotonic()
            facts["t.redis.cli_change"] = changed - begun
            facts["redis.changed"] = changed
            first_401 = revoked.first(changed, lambda o: o.status == 401, 5.0)
            first_cut = cut_probe.first(
                changed, lambda o: o.status == 503 and error_code(o) == "provider_cut", 5.0
            )
            facts["redis.revocation_latency"] = first_401 and first_401.started - changed
            facts["redis.cut_latency"] = first_cut and first_cut.started - changed
            begun = time.monotonic()
            dep.cli_json("providers", "restore", "fake2")
            restored_cut = time.monotonic()
            facts["t.redis.cli_restore"] = restored_cut - begun
            facts["redis.restored_cut"] = restored_cut
            back = cut_probe.first(restored_cut, lambda o: o.acknowledged, 5.0)
            facts["redis.restore_latency"] = back and back.started - restored_cut
            time.sleep(max(0.0, cut + 3.0 - time.monotonic()))
            chaos.scan_homes("redis outage")
            restored = time.monotonic()
            dep.redis.up()
    finally:
        revoked.stop()
        cut_probe.stop()
    facts["redis.revoked_outcomes"] = revoked.outcomes
    facts["redis.cut_outcomes"] = cut_probe.outcomes
    window = chaos.run.windows["redis"] = Window(cut, restored)
    window.recovered = chaos.wait_recovered(restored)


def scenario_openbao(chaos: Chaos) -> None:
    chaos.begin("openbao")
    dep = chaos.deployment
    with chaos.flights("bao", streams=2, calls=1, slow=0.15, call_slow=1.5) as flights:
        chaos.wait_in_flight(flights)
        cut = time.monotonic()
        dep.bao.down()
        time.sleep(4.0)
        chaos.scan_homes("openbao outage")
        restored = time.monotonic()
        dep.bao.up()
    window = chaos.run.windows["openbao"] = Window(cut, restored)
    window.recovered = chaos.wait_recovered(restored)


def scenario_kill9(chaos: Chaos) -> None:
    chaos.begin("kill9")
    dep, facts = chaos.deployment, chaos.run.facts
    gateway = dep.gateway
    assert gateway is not None
    chaos.load.pause()
    chaos.scrape("before kill -9")
    time.sleep(0.2)  # > ledger.batch_delay_ms: what was answered is committed (module doc)
    with chaos.flights("kill", streams=2, calls=1, slow=0.3, call_slow=10.0) as flights:
        chaos.wait_in_flight(flights, chunks=2)
        cut = time.monotonic()
        gateway.kill()
        chaos.load.resume()  # the clients meet a closed port until the restart
        chaos.scan_homes("after kill -9")
    facts["kill9.flights"] = [(f.outcome, f.chunks[0]) for f in flights]
    gateway.start()
    restored = time.monotonic()
    window = chaos.run.windows["kill9"] = Window(cut, restored)
    window.recovered = chaos.wait_recovered(restored)


def _gather(chaos: Chaos, workdir: Path, bao_log: Path) -> None:
    """The evidence, read from outside once the gateway has stopped (see the module doc).
    CLI processes run while this process scans."""
    dep, run = chaos.deployment, chaos.run
    needles = run.marker.needles()
    export = workdir / "export"
    started = dep.cli_start(
        ("ledger", "verify", "--json"),
        ("ledger", "vkeys", "--json"),
        ("ledger", "export", "--tiles", str(export), "--json"),
    )
    # Plaintext: each place read raw; what was read is noted so an empty scan cannot pass.
    chaos.scan_homes("end")
    run.scanned["homes"] = "; ".join(
        f"{moment}: {', '.join(files) or 'nothing'}" for moment, files in run.homes_seen.items()
    )
    logs = [p for p in dep.gateway.logs if p.exists()] if dep.gateway else []
    run.gateway_log = "\n".join(p.read_text(errors="replace") for p in logs if "err" in p.name)
    run.hits["gateway logs"] = [
        h for p in logs for h in scan_bytes(str(p), p.read_bytes(), needles)
    ]
    run.scanned["gateway logs"] = f"{len(logs)} files, {sum(p.stat().st_size for p in logs)} B"
    tables, hits = scan_database(dep.dsn, needles)
    run.scanned["database rows"], run.hits["database rows"] = json.dumps(tables), hits
    dump = pg_dump(dep.dsn, workdir / "dump.sql")
    run.scanned["pg_dump"] = f"{dump.stat().st_size} B"
    run.hits["pg_dump"] = scan_bytes(str(dump), dump.read_bytes(), needles)
    count, hits = scan_redis_keys(dep.redis_url, needles)
    run.scanned["redis keys"], run.hits["redis keys"] = f"{count} keys", hits
    run.hits["openbao log"] = scan_bytes(str(bao_log), bao_log.read_bytes(), needles)
    run.scanned["openbao log"] = f"{bao_log.stat().st_size} B"

    verified, vkeys, exported = dep.cli_wait(started, check=False)
    run.verify_rc = verified.returncode
    run.verify = json.loads(verified.stdout or "{}")
    assert vkeys.returncode == 0 and exported.returncode == 0, (vkeys.stderr, exported.stderr)
    # Then (an offline unseal appends key events): the sealed payloads, opened with a quorum.
    size = int(json.loads(exported.stdout)["size"])
    assert size < 9_990, f"the run made {size} entries: more than `ledger tail` can show"
    [tail] = dep.cli_start(
        (
            "ledger",
            "tail",
            "-n",
            str(min(10_000, size + 10)),
            "--decrypt",
            "--json",
            *dep.quorum_args(),
        )
    )
    keys = list(json.loads(vkeys.stdout)["vkeys"])
    offline = subprocess.run(
        [sys.executable, "-m", "sumun.ledger.verifier", str(export), "--key", keys[0], "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    run.verifier_rc, run.verifier_out = offline.returncode, offline.stdout + offline.stderr
    run.ledger = read_export(export, keys)
    files, hits = scan_files([export], needles)
    run.scanned["export"], run.hits["export"] = f"{len(files)} files", hits
    [opened] = dep.cli_wait([tail])
    for row in json.loads(opened.stdout)["entries"]:
        if "payload" in row:
            run.decrypted[int(row["seq"])] = row["payload"]


@contextlib.contextmanager
def chaos_run(
    postgres_tcp_dsn: str, redis_url: str, openbao_server: OpenBaoServer, workdir: Path
) -> Iterator[Run]:
    """Set up, run every scenario, stop, gather the evidence; the deployment stays up (and its
    database, proxies and homes) until the context ends."""
    started = time.monotonic()
    marker = Marker.fresh()
    result = Run(marker)
    homes = private_tmpdir("sumun-chaos-")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, homes, ignore_errors=True)
        dsn = stack.enter_context(fresh_database(postgres_tcp_dsn))
        bao_host, bao_port = openbao_server.address.removeprefix("http://").split(":")
        pg, rds, bao = stack.enter_context(
            proxies(("127.0.0.1", 5432), redis_address(redis_url), (bao_host, int(bao_port)))
        )
        upstream = stack.enter_context(start_fake_upstream())
        _capture_tags(upstream, result.upstream_tags)
        tap = stack.enter_context(redis_tap(redis_address(redis_url)))
        config = homes / "sumun.yaml"
        write_config(
            config,
            upstream_url=upstream.base_url,
            redis_url=proxied_redis_url(redis_url, rds.port),
            bao_address=f"http://127.0.0.1:{bao.port}",
            key_prefix=f"chaos-{secrets.token_hex(4)}-",
        )
        dep = Deployment(
            workdir=homes,
            log_dir=workdir,
            dsn=dsn,
            pg=pg,
            redis=rds,
            bao=bao,
            bao_server=openbao_server,
            redis_url=redis_url,
            config=config,
            admin_home=homes / "admin",
            node_home=homes / "node",
        )
        _setup(dep)
        gateway = dep.new_gateway()
        stack.callback(gateway.stop)
        gateway.start()
        result.facts["t.setup"] = time.monotonic() - started
        recorder = Recorder()
        clients = {
            name: Client(name, dep.keys[name.split("-")[0]]["api_key"]) for name in LOAD_CLIENTS
        }
        load = Load(recorder, marker, list(clients.values()), lambda: gateway.base_url)
        chaos = Chaos(dep, recorder, load, marker, upstream, clients, result)
        load.start()
        try:
            time.sleep(1.0)
            for scenario in (scenario_postgres, scenario_redis, scenario_openbao, scenario_kill9):
                time.sleep(0.3)
                begun = time.monotonic()
                scenario(chaos)
                result.facts[f"t.{scenario.__name__}"] = time.monotonic() - begun
            chaos.begin("after")
            time.sleep(1.0)
        finally:
            load.stop()
        chaos.scrape("before the stop")
        result.facts["stop.exit_code"] = gateway.stop()
        tap.close()
        result.outcomes = recorder.snapshot()
        result.attribute()
        result.hits["redis traffic"] = scan_bytes(
            "redis MONITOR", bytes(tap.monitor), marker.needles()
        ) + scan_bytes("redis PSUBSCRIBE *", bytes(tap.published), marker.needles())
        result.scanned["redis traffic"] = f"{len(tap.monitor)} B monitored, " + (
            f"{len(tap.published)} B published"
        )
        begun = time.monotonic()
        _gather(chaos, workdir, openbao_server.log_path)
        result.facts["t.gather"] = time.monotonic() - begun
        result.seconds = time.monotonic() - started
        print(_summary(result))  # shown with -s, or under a failing test's captured output
        yield result


def _summary(run: Run) -> str:
    lines = [f"chaos run: {run.seconds:.1f}s, ledger size {run.ledger and run.ledger.size}"]
    for scenario in SCENARIOS:
        outcomes = run.of(scenario)
        statuses: dict[str, int] = {}
        for o in outcomes:
            key = "ack" if o.acknowledged else str(o.status or "no answer")
            statuses[key] = statuses.get(key, 0) + 1
        window = run.windows.get(scenario)
        timing = ""
        if window is not None:
            recovered = window.recovered and f"{window.recovered - window.restored:.2f}s"
            timing = f" cut {window.restored - window.cut:.1f}s, recovered after {recovered}"
        lines.append(f"  {scenario:9} {len(outcomes):4} calls {statuses}{timing}")
    for name in ("revocation", "cut", "restore"):
        latency = run.facts.get(f"redis.{name}_latency")
        lines.append(f"  redis: {name} reached the gateway in {latency and round(latency, 3)}s")
    lines += [f"  scanned {place}: {what}" for place, what in run.scanned.items()]
    lines += [f"  {k}: {v:.2f}s" for k, v in run.facts.items() if k.startswith("t.")]
    lines += [f"  metrics {m}: {line}" for m, found in run.metrics.items() for line in found]
    return "\n".join(lines)
