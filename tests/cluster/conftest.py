"""Cluster fixtures: a fresh database, and nodes in network namespaces (tests/cluster/nodes.py).

`make_cluster(**options)` builds a cluster on the test's namespaces (`netns`), its own
database (`cluster_dsn`), its own Redis on a Unix socket (`unix_redis_url`) and the fake
upstream on the bridge address (`netns_upstream`); nothing runs until the test calls
`init()` / `start_all()`. Every node is stopped before the database and Redis go away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.nodes import Cluster, fresh_database, open_cluster
from tests.fixtures.fake_upstream import FakeUpstream
from tests.fixtures.netns import Network


@pytest.fixture
def cluster_dsn(unix_postgres_dsn: str) -> Iterator[str]:
    """A fresh database for this test (Unix socket DSN), dropped afterwards."""
    with fresh_database(unix_postgres_dsn) as dsn:
        yield dsn


@pytest.fixture
def make_cluster(
    netns: Network,
    cluster_dsn: str,
    unix_redis_url: str,
    netns_upstream: FakeUpstream,
    tmp_path: Path,
) -> Iterator[Callable[..., Cluster]]:
    with_stack: list[Any] = []

    def make(**options: Any) -> Cluster:
        manager = open_cluster(
            netns,
            dsn=cluster_dsn,
            redis_url=unix_redis_url,
            upstream=netns_upstream,
            log_dir=tmp_path / f"cluster{len(with_stack) + 1}",
            **options,
        )
        cluster = manager.__enter__()
        with_stack.append(manager)
        return cluster

    try:
        yield make
    finally:
        for manager in reversed(with_stack):
            manager.__exit__(None, None, None)


@pytest.fixture
def cluster(make_cluster: Callable[..., Cluster]) -> Cluster:
    """Three nodes with the PostgreSQL control store (issue 11's contract); not started. Each
    node's admin listener binds every interface of the node's own namespace, so the root
    namespace reaches it as the console's browser would."""
    return make_cluster(config_extra={"admin_api": {"host": "0.0.0.0"}})  # noqa: S104
