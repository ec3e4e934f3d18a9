"""PostgreSQL going away under a running node: it refuses rather than serve on stale revocation
state beyond the documented bound, and serves again — with every change it missed — when the
database returns.

A real `sumun serve` reaches the shared control store through a TCP proxy the test can cut
(tests/fixtures/tcp_proxy.py); its ledger stays SQLite so only the control store goes away. A
key is revoked from another process while the node is cut off: no request may succeed with it
after `control.max_stale_seconds` (+ one poll and request time), and after recovery it is 401.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from tests.fixtures.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
MAX_STALE = 1.0
POLL = 0.2
TCP_DSN = "postgresql://postgres@127.0.0.1:{port}/test"


@pytest.fixture
def proxy(postgres_dsn: str) -> Iterator[TcpProxy]:
    try:
        psycopg.connect(TCP_DSN.format(port=5432), connect_timeout=3).close()
    except psycopg.Error:
        pytest.skip("PostgreSQL does not accept TCP on 127.0.0.1:5432 here")
    p = TcpProxy(("127.0.0.1", 5432))
    yield p
    p.close()


@pytest.fixture
def schema(postgres_schema: str) -> str:
    return postgres_schema


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SUMUN, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_node_refuses_while_the_control_store_is_gone_and_recovers(
    tmp_path: Path, proxy: TcpProxy, schema: str
) -> None:
    config = tmp_path / "sumun.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "control": {
                    "store": "postgres",
                    "postgres_schema": schema,
                    "timeout_seconds": 1.0,
                    "poll_seconds": POLL,
                    "max_stale_seconds": MAX_STALE,
                }
            }
        )
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_") and "proxy" not in k}
    base |= {"SUMUN_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    via_proxy = base | {"SUMUN_CONTROL_DSN": TCP_DSN.format(port=proxy.port)}
    direct = base | {
        "SUMUN_CONTROL_DSN": TCP_DSN.format(port=5432),
        "SUMUN_HOME": str(tmp_path / "admin"),
    }
    init = _run(direct, "init", "--custodians", "3", "--threshold", "2", "--json")
    assert init.returncode == 0, init.stderr
    shares = json.loads(init.stdout)["shares"][:2]
    assert _run(direct, "tenants", "create", "acme").returncode == 0
    issued = _run(direct, "tenants", "keys", "issue", "--tenant", "acme", "--json")
    key = json.loads(issued.stdout)
    log = (tmp_path / "node.log").open("wb")
    node = subprocess.Popen(
        [*SUMUN, "serve", "--port", "0", "--json", *[a for s in shares for a in ("--share", s)]],
        env=via_proxy | {"SUMUN_HOME": str(tmp_path / "node")},
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        assert node.stdout is not None
        base_url = json.loads(node.stdout.readline())["base_url"]
        assert base_url.startswith("http://127.0.0.1:")
        client = httpx.Client(trust_env=False, timeout=5.0)
        body = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"authorization": f"Bearer {key['api_key']}"}

        def call() -> httpx.Response:
            return client.post(f"{base_url}/v1/chat/completions", json=body, headers=headers)

        assert call().status_code == 200
        assert client.get(f"{base_url}/readyz").status_code == 200

        proxy.down()
        revoked = _run(direct, "tenants", "keys", "revoke", key["key_id"])  # the node can't hear
        assert revoked.returncode == 0, revoked.stderr
        revoked_at = time.monotonic()
        answers: list[tuple[float, int]] = []
        while time.monotonic() - revoked_at < MAX_STALE + 2.0:
            answers.append((time.monotonic() - revoked_at, call().status_code))
            time.sleep(0.02)
        bound = MAX_STALE + POLL + 0.5  # the documented bound, plus a request's own time
        late = [(t, code) for t, code in answers if t > bound and code == 200]
        assert late == [], f"served on stale state after {bound}s: {late[:5]}"
        assert answers[-1][1] == 503
        ready = client.get(f"{base_url}/readyz")
        assert ready.status_code == 503 and "control store" in ready.text

        proxy.up()
        deadline = time.monotonic() + 10
        while (code := call().status_code) != 401:
            assert code in (503, 401), code  # refusing until it has re-read, never a 200
            assert time.monotonic() < deadline, "did not recover within 10 s"
            time.sleep(0.05)
        assert client.get(f"{base_url}/readyz").status_code == 200
        client.close()
    finally:
        node.terminate()
        try:
            node.wait(15)
        except subprocess.TimeoutExpired:
            node.kill()
        log.close()
