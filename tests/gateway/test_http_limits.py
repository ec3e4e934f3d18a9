"""No unauthenticated client can hold the gateway (issue 12): slow-loris heads, idle
connections, a connection flood, huge and numerous headers — each refused the way HTTP says
(408, 503, 431), closed, and the gateway keeps answering everyone else.

A real `sumun demo` process with tight limits in its sumun.yaml, attacked over loopback with
raw sockets, bounded in count and time.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fixtures.demo import start_demo

pytestmark = pytest.mark.slow

HEAD_TIMEOUT = 1.0
MAX_CONNECTIONS = 64


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, int]]:
    """(base_url, port, pid) of a demo gateway with tight connection limits."""
    home = tmp_path_factory.mktemp("limits") / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(
        yaml.safe_dump(
            {
                "server": {
                    "max_connections": MAX_CONNECTIONS,
                    "head_timeout_seconds": HEAD_TIMEOUT,
                    "max_header_bytes": 8192,
                    "max_headers": 50,
                    "keepalive_timeout_seconds": 1.0,
                }
            }
        )
    )
    proc, ready = start_demo(home)
    try:
        base_url = str(ready["base_url"])
        yield base_url, int(base_url.rsplit(":", 1)[1]), proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(5)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (bounded by the socket timeout)."""
    chunks = []
    with contextlib.suppress(OSError):
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def _healthy(base_url: str) -> float:
    start = time.perf_counter()
    assert httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
    return time.perf_counter() - start


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_slow_loris_heads_are_cut_at_the_head_timeout(server: tuple[str, int, int]) -> None:
    base_url, port, _pid = server
    socks = [_connect(port) for _ in range(40)]
    start = time.monotonic()
    try:
        # Trickle a head that never ends: a byte per socket every 0.2 s.
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed: set[int] = set()
        while len(closed) < len(socks) and time.monotonic() - start < HEAD_TIMEOUT + 3:
            for i, sock in enumerate(socks):
                if i in closed:
                    continue
                try:
                    sock.sendall(b"X")
                except OSError:
                    closed.add(i)
            time.sleep(0.2)
            assert _healthy(base_url) < 1.0  # everyone else is served meanwhile
        assert len(closed) == len(socks), f"{len(socks) - len(closed)} still open"
        assert time.monotonic() - start < HEAD_TIMEOUT + 2
    finally:
        for sock in socks:
            sock.close()


def test_idle_connections_are_closed_with_408(server: tuple[str, int, int]) -> None:
    _base_url, port, _pid = server
    socks = [_connect(port) for _ in range(20)]
    try:
        answers = [_answer(sock) for sock in socks]  # the server closes each
    finally:
        for sock in socks:
            sock.close()
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[:3]


def test_a_connection_flood_is_refused_clearly_and_the_gateway_recovers(
    server: tuple[str, int, int],
) -> None:
    base_url, port, _pid = server
    socks = [_connect(port) for _ in range(MAX_CONNECTIONS + 20)]
    try:
        time.sleep(0.3)
        refused = 0
        for sock in socks[MAX_CONNECTIONS:]:
            sock.settimeout(0.5)
            answer = _answer(sock)
            if answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer:
                refused += 1
        assert refused == 20  # the connections past the cap: a clear refusal, then closed
    finally:
        for sock in socks:
            sock.close()
    deadline = time.monotonic() + 5
    while True:  # the held slots free up when their owners go
        try:
            if _healthy(base_url) < 1.0:
                break
        except (httpx.HTTPError, AssertionError):
            pass
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"X-Big: " + b"a" * (10 * 1024 * 1024) + b"\r\n", b"larger than"),
        (b"".join(b"X-%d: v\r\n" % i for i in range(50_000)), b"header fields"),
    ],
    ids=["10 MB header", "50,000 headers"],
)
def test_huge_or_numerous_headers_get_431_without_growing_memory(
    server: tuple[str, int, int], head: bytes, why: bytes
) -> None:
    _base_url, port, pid = server
    before = _rss_kb(pid)
    sock = _connect(port)
    try:
        with contextlib.suppress(OSError):  # the server may close before it has read it all
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        answer = _answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert why in answer
    assert _rss_kb(pid) - before < 20 * 1024  # KB: the head was never held whole


def test_ordinary_requests_and_keep_alive_still_work(server: tuple[str, int, int]) -> None:
    base_url, _port, _pid = server
    with httpx.Client(timeout=5) as client:
        for _ in range(20):
            assert client.get(f"{base_url}/healthz").status_code == 200
