"""One `sumun serve` node in a network namespace, through the cluster helpers (nodes.py).

What the helpers can run before the shared control store exists: `sumun init --json` once,
then a node on the PostgreSQL ledger (a fresh database), Redis on a Unix socket and the fake
upstream on the bridge address, reached from the root namespace like a load balancer would.
Without a `control:` section the node's home starts as a copy of the init home.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import psycopg
import pytest
import redis

from tests.cluster.nodes import CHAT_MODEL, Cluster

pytestmark = pytest.mark.slow

BUDGET = 60.0


def _chat(cluster: Cluster, index: int, api_key: str, text: str) -> httpx.Response:
    return cluster.client.post(
        f"{cluster[index].base_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {api_key}"},
        json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": text}]},
        timeout=15.0,
    )


def test_one_node_in_a_namespace_on_the_shared_services(
    make_cluster: Callable[..., Cluster],
) -> None:
    started = time.monotonic()
    cluster = make_cluster(control=False, nodes=1)
    init = cluster.init()
    assert len(init["shares"]) == 3 and init["threshold"] == 2
    cluster.start(1)
    node = cluster.wait_ready(1)
    assert node.address == cluster.net[1].address

    # The fourth process (root namespace): a tenant and a virtual key.
    created = cluster.cli("tenants", "create", "acme", home=node.home)
    assert created.returncode == 0, created.stderr
    issued = cluster.cli_json("tenants", "keys", "issue", "--tenant", "acme", home=node.home)
    api_key = str(issued["api_key"])

    answer = _chat(cluster, 1, api_key, "hello from the root namespace")
    assert answer.status_code == 200, answer.text
    content = answer.json()["choices"][0]["message"]["content"]
    assert "echo: hello from the root namespace" in content
    seq = int(answer.headers["x-sumun-ledger-seq"])
    upstream = cluster.upstream.latest()
    assert upstream.peer.split(":")[0] == node.address  # the node called out from its namespace
    assert upstream.body["model"] == "fake-model-1"

    # The ledger is in this test's own database; the node reached Redis over its socket.
    with psycopg.connect(cluster.dsn, autocommit=True, connect_timeout=3) as conn:
        schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}
    assert "sumun_ledger" in schemas
    shared = redis.Redis.from_url(cluster.redis_url, socket_timeout=2)
    try:
        names = {client.get("name", "") for client in shared.client_list()}
    finally:
        shared.close()
    assert any(name.startswith("sumun") for name in names), names
    verified = cluster.cli("ledger", "verify", home=node.home)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # SIGTERM: a graceful exit. Restarted, it unseals itself with another quorum and serves.
    assert cluster.stop(1) == 0, node.log()
    cluster.start(1, shares=cluster.shares[1:3])
    cluster.wait_ready(1)
    again = _chat(cluster, 1, api_key, "after a restart")
    assert again.status_code == 200, again.text
    assert int(again.headers["x-sumun-ledger-seq"]) > seq
    # kill -9: gone at once; its address refuses.
    assert cluster.kill(1) == -9
    with pytest.raises(httpx.ConnectError):
        cluster.client.get(f"{node.base_url}/healthz", timeout=1.0)
    assert cluster.cli("ledger", "verify", home=node.home).returncode == 0

    assert time.monotonic() - started < BUDGET
