"""The multi-node harness itself (tests/fixtures/netns.py): before any Sumun node runs in it.

Three namespaces, each with its own address on a bridge; a server in each, reached from the
root namespace over the bridge; the shared services (PostgreSQL and Redis on Unix sockets, the
fake upstream on the bridge address) reached from inside; processes stopped and killed for
real; and nothing left behind — not even by a run that was killed before its teardown.
Addresses used: the test's own bridge subnet and loopback, nothing else.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.fixtures import netns as netns_module
from tests.fixtures.ci import missing
from tests.fixtures.fake_upstream import MODELS, FakeUpstream
from tests.fixtures.netns import (
    BRIDGE_PREFIX,
    NETNS_PERMISSION,
    NETNS_PREFIX,
    VETH_PREFIX,
    NetnsUnavailableError,
    Network,
    clean_env,
    network_namespaces,
)

BUDGET = 20.0  # seconds for the whole of the main test
PORT = 8000

# Runs inside a namespace: the services the nodes need, through the paths they will use.
PROBE = """
import json, os, socket
import httpx, psycopg, redis

out = {}
with psycopg.connect(os.environ["PG_DSN"], connect_timeout=3) as conn:
    row = conn.execute("SELECT current_database(), inet_server_addr() IS NULL").fetchone()
    out["pg"] = [row[0], row[1]]
client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)
client.set("netns-probe", os.environ["NS_NAME"])
out["redis"] = client.get("netns-probe").decode()
client.close()
models = httpx.get(os.environ["UPSTREAM"] + "/models", timeout=3, trust_env=False).json()
out["upstream"] = [m["id"] for m in models["data"]]
try:
    socket.create_connection(("127.0.0.1", int(os.environ["ROOT_PORT"])), 2).close()
    out["root_loopback"] = "connected"
except OSError as exc:
    out["root_loopback"] = type(exc).__name__
print(json.dumps(out))
"""


def _get(client: httpx.Client, url: str, deadline: float) -> httpx.Response:
    """GET until something answers (a server just started), bounded by `deadline`."""
    while True:
        try:
            return client.get(url, timeout=1.0)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.03)


def _refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def _netns_pids(name: str) -> set[int]:
    done = subprocess.run(
        ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=5, check=False
    )
    return {int(p) for p in done.stdout.split()}


def test_three_namespaces_serve_reach_the_services_and_stop(
    netns: Network,
    unix_postgres_dsn: str,
    unix_redis_url: str,
    netns_upstream: FakeUpstream,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    deadline = started + BUDGET - 2
    addresses = [ns.address for ns in netns.namespaces]
    assert len(netns) == 3 and len(set(addresses)) == 3
    assert all(ipaddress.ip_address(a) in netns.subnet for a in addresses)
    assert netns.gateway == str(netns.subnet.network_address + 1)
    if netns.subnet.network_address.packed[2] == 47:  # no parallel run holds 10.231.47.0/24
        assert addresses == ["10.231.47.11", "10.231.47.12", "10.231.47.13"]
    # Nothing arriving on the bridge is routed beyond it.
    forwarding = Path(f"/proc/sys/net/ipv4/conf/{netns.bridge}/forwarding")
    assert forwarding.read_text().strip() == "0"

    # A server in each namespace, on that namespace's address only.
    servers = []
    for ns in netns.namespaces:
        root = tmp_path / ns.name
        root.mkdir()
        (root / "who").write_text(ns.name)
        argv = [sys.executable, "-m", "http.server", "--bind", ns.address]
        servers.append(netns.start(ns, [*argv, "--directory", str(root), str(PORT)]))

    # Reached from the root namespace over the bridge; each answers as itself.
    with httpx.Client(trust_env=False) as client:
        for ns, proc in zip(netns.namespaces, servers, strict=True):
            answer = _get(client, f"http://{ns.address}:{PORT}/who", deadline)
            assert answer.status_code == 200 and answer.text == ns.name
            assert netns.namespace_of(proc.pid) == ns  # `ip netns exec` ran it in place
    # Each address lives in its own namespace only: the root namespace has none of them.
    assert all(_refused(ns.address, PORT + 1) for ns in netns.namespaces)

    # From inside namespace 2: PostgreSQL and Redis on their sockets, the upstream on the
    # bridge — and the root namespace's loopback is not reachable (that is its own `lo`).
    root_only = socket.socket()
    root_only.bind(("127.0.0.1", 0))
    root_only.listen(1)
    try:
        inside = netns[2]
        env = clean_env(
            {
                "PG_DSN": unix_postgres_dsn,
                "REDIS_URL": unix_redis_url,
                "UPSTREAM": netns_upstream.base_url,
                "NS_NAME": inside.name,
                "ROOT_PORT": str(root_only.getsockname()[1]),
            }
        )
        probe = inside.run([sys.executable, "-c", PROBE], env=env, timeout=15)
    finally:
        root_only.close()
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    assert seen["pg"][1] is True  # a Unix-socket connection (no server address)
    assert seen["redis"] == inside.name
    assert seen["upstream"] == list(MODELS)
    assert seen["root_loopback"] == "ConnectionRefusedError"
    # The same Redis the test process sees, and the upstream saw the namespace's address.
    shared = redis.Redis.from_url(unix_redis_url, socket_timeout=2)
    try:
        assert shared.get("netns-probe") == inside.name.encode()
    finally:
        shared.close()
    assert netns_upstream.latest().peer.split(":")[0] == inside.address

    # Stopped (SIGTERM) and killed (SIGKILL): gone from the process table and the namespace,
    # and their ports refuse; the third still serves.
    first, second, third = servers
    assert netns.stop(first) == -15
    assert netns.kill(second) == -9
    for ns, proc in ((netns[1], first), (netns[2], second)):
        assert not Path(f"/proc/{proc.pid}").exists()
        assert proc.pid not in _netns_pids(ns.name)
        assert _refused(ns.address, PORT)
    with httpx.Client(trust_env=False) as client:
        assert _get(client, f"http://{netns[3].address}:{PORT}/who", deadline).status_code == 200
    assert third.poll() is None

    assert time.monotonic() - started < BUDGET


def _names() -> tuple[set[str], set[str]]:
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, timeout=5, check=True
    )
    namespaces = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    links = subprocess.run(
        ["ip", "-br", "link"], capture_output=True, text=True, timeout=5, check=True
    )
    ifnames = {line.split()[0].split("@")[0] for line in links.stdout.splitlines() if line}
    return namespaces, ifnames


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait(timeout=5)
    return proc.pid


def test_teardown_leaves_nothing_and_stale_runs_are_cleaned() -> None:
    # What a run killed before its teardown leaves: its namespace (with a process inside) and
    # its bridge, named after a pid that is no longer alive.
    dead = _dead_pid()
    stale_ns, stale_bridge = f"{NETNS_PREFIX}{dead}-1-1", f"{BRIDGE_PREFIX}{dead:x}_1"
    try:
        subprocess.run(["ip", "netns", "add", stale_ns], check=True, timeout=5)
        subprocess.run(["ip", "link", "add", stale_bridge, "type", "bridge"], check=True, timeout=5)
    except subprocess.CalledProcessError as exc:
        missing(f"{NETNS_PERMISSION} ({exc})")
    orphan = subprocess.Popen(
        ["ip", "netns", "exec", stale_ns, "sleep", "30"], start_new_session=True
    )
    try:
        # Inside before the cleanup looks (unless a parallel run's cleanup came first).
        until = time.monotonic() + 5
        while orphan.pid not in _netns_pids(stale_ns) and orphan.poll() is None:
            assert time.monotonic() < until, "the orphan never entered the stale namespace"
            time.sleep(0.01)
        try:
            outer_cm = network_namespaces(1)
            outer = outer_cm.__enter__()
        except NetnsUnavailableError as exc:
            missing(f"{NETNS_PERMISSION} ({exc})")
        try:
            namespaces, ifnames = _names()
            assert stale_ns not in namespaces and stale_bridge not in ifnames
            # Gone: killed inside the stale namespace (or, when a parallel run cleaned the
            # namespace first, `ip netns exec` found nothing to enter).
            assert orphan.wait(timeout=5) in {-9, 1, 255}
            # A second network next to the first takes the next free /24.
            with network_namespaces(2) as inner:
                assert inner.subnet != outer.subnet
                assert not inner.subnet.overlaps(outer.subnet)
                assert {ns.name for ns in inner.namespaces} <= _names()[0]
                inner_names = {ns.name for ns in inner.namespaces}
                inner_links = {inner.bridge, *(ns.veth for ns in inner.namespaces)}
                proc = inner.start(1, ["sleep", "30"])
            assert proc.poll() is not None  # teardown stopped what the network started
            namespaces, ifnames = _names()
            assert not inner_names & namespaces and not inner_links & ifnames
            assert not Path("/etc/netns", inner[1].name).exists()
        finally:
            outer_cm.__exit__(None, None, None)
        namespaces, ifnames = _names()
        assert outer[1].name not in namespaces
        assert outer.bridge not in ifnames and outer[1].veth not in ifnames
    finally:
        if orphan.poll() is None:
            os.killpg(orphan.pid, 9)
            orphan.wait(timeout=5)
        for argv in (["netns", "delete", stale_ns], ["link", "delete", stale_bridge]):
            subprocess.run(["ip", *argv], capture_output=True, timeout=5, check=False)


def test_a_setup_that_fails_half_way_is_taken_down(monkeypatch: pytest.MonkeyPatch) -> None:
    real_ip = netns_module._ip

    def failing_ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if args[:1] == ("-n",) and args[1].endswith("-2") and "route" in args:
            raise RuntimeError("injected: the second namespace's route")
        return real_ip(*args, check=check)

    monkeypatch.setattr(netns_module, "_ip", failing_ip)
    try:
        with pytest.raises(RuntimeError, match="injected"), network_namespaces(3):
            pytest.fail("the network came up despite the injected failure")
    except NetnsUnavailableError as exc:
        missing(f"{NETNS_PERMISSION} ({exc})")
    monkeypatch.undo()
    ours = f"{NETNS_PREFIX}{os.getpid()}-"
    tags = (f"{BRIDGE_PREFIX}{os.getpid():x}_", f"{VETH_PREFIX}{os.getpid():x}_")
    namespaces, ifnames = _names()
    assert not [n for n in namespaces if n.startswith(ours)]
    assert not [i for i in ifnames if i.startswith(tags)]
    assert not list(Path("/etc/netns").glob(f"{ours}*"))
