"""A reload made on one node reaches every node of a cluster (PostgreSQL control store, Redis,
each node in its own network namespace: tests/cluster/nodes.py). Every node re-reads its own
copy of sumun.yaml — here, as with configuration management, the same file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
import yaml

from tests.cluster.conftest import cluster_dsn, make_cluster
from tests.cluster.nodes import MODELS, UPSTREAM_PROVIDER, Cluster

__all__ = ["cluster_dsn", "make_cluster"]

pytestmark = pytest.mark.slow


def _provider(cluster: Cluster, index: int, api_key: str) -> str | None:
    try:
        answer = cluster.client.post(
            f"{cluster[index].base_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {api_key}"},
            json={"model": "demo", "messages": [{"role": "user", "content": "hello"}]},
            timeout=5.0,
        )
    except httpx.HTTPError:
        return None
    return answer.headers.get("x-sumun-provider") if answer.status_code == 200 else None


def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_reload_on_one_node_reaches_every_node(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster(nodes=2)
    cluster.init()
    cluster.start_all()
    assert cluster.cli("tenants", "create", "acme").returncode == 0
    api_key = str(cluster.cli_json("tenants", "keys", "issue", "--tenant", "acme")["api_key"])
    for index in (1, 2):
        assert _until(lambda i=index: _provider(cluster, i, api_key) == "demo", 10)

    raw = yaml.safe_load(cluster.config.read_text(encoding="utf-8"))
    raw["routes"][0]["targets"] = [{"provider": UPSTREAM_PROVIDER, "model": MODELS[0]}]
    cluster.config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    done = cluster.cli("reload", "--json", home=cluster[1].home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["changed"] == ["routes"]

    # Node 1 applied it; node 2 heard of it through the control store and re-read its file.
    assert _provider(cluster, 1, api_key) == UPSTREAM_PROVIDER
    assert _until(lambda: _provider(cluster, 2, api_key) == UPSTREAM_PROVIDER, 5), cluster[2].log()
    tail = cluster.cli_json("ledger", "tail", "--kind", "admin-change", "-n", "50")
    reloads = [
        e["entry"]["attrs"]
        for e in tail["entries"]
        if e["entry"].get("attrs", {}).get("action") == "config-reload"
    ]
    assert len(reloads) == 2  # one entry per node that applied it
    assert len({a["node"] for a in reloads}) == 2
    assert any(a["actor"].endswith("(announced)") for a in reloads)
