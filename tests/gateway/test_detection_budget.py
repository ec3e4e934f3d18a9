"""PII detection never freezes the gateway (issue 12): a digit-dense request is scanned off the
event loop while /healthz keeps answering, and a body that cannot be scanned within
`gateway.detection_budget_seconds` is refused (413) — never sent upstream unscanned."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sumun import config
from tests.gateway.harness import Running, gateway_settings, running_gateway

HOSTILE = "010-1234-567 "


@pytest.fixture
def tight(tmp_path: Path, fake_upstream: Any) -> Iterator[Running]:
    """A gateway with a tiny detection budget and room for a large body."""
    base = gateway_settings(
        tmp_path / "home", fake_upstream.base_url, fake_upstream.base_url.removesuffix("/v1")
    )
    gateway = base.gateway.model_copy(
        update={"detection_budget_seconds": 0.01, "max_body_bytes": 4 * 1024 * 1024}
    )
    settings = config.Settings(**{**base.model_dump(), "gateway": gateway})
    with running_gateway(settings) as running:
        yield running


def _chat(running: Running, text: str) -> httpx.Response:
    return httpx.post(
        f"{running.base_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {running.keys['acme']}"},
        json={"model": "gpt-test", "messages": [{"role": "user", "content": text}]},
        timeout=60,
    )


def test_a_digit_dense_request_does_not_stall_other_callers(
    gateway: Running, fake_upstream: Any
) -> None:
    worst = 0.0
    done = threading.Event()

    def probe() -> None:
        nonlocal worst
        with httpx.Client(timeout=10) as client:
            while not done.is_set():
                start = time.perf_counter()
                assert client.get(f"{gateway.base_url}/healthz").status_code == 200
                worst = max(worst, time.perf_counter() - start)
                time.sleep(0.005)

    watcher = threading.Thread(target=probe)
    watcher.start()
    try:
        start = time.perf_counter()
        answer = _chat(gateway, HOSTILE * 3000)  # 39 KB: 23 s per 10 KB before the fix
        elapsed = time.perf_counter() - start
    finally:
        done.set()
        watcher.join()
    assert answer.status_code == 200, answer.text
    assert elapsed < 5.0
    assert worst < 0.25, f"/healthz waited {worst:.3f}s while the request was scanned"


def test_a_body_that_cannot_be_scanned_in_time_is_refused_not_forwarded(
    tight: Running, fake_upstream: Any
) -> None:
    before = len(fake_upstream.requests)
    answer = _chat(tight, HOSTILE * 60000)  # 780 KB of digit groups: far past 10 ms
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "scan_budget_exceeded"
    assert "nothing was sent upstream" in answer.json()["error"]["message"]
    assert len(fake_upstream.requests) == before
