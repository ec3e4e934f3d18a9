"""One cap for what the ledger keeps of an answer, streamed or not, and the cut recorded
(issue 12: a 100 KB embeddings request produced a 27 MB reply and 52 MB of ledger)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sumun import config
from tests.gateway.harness import Running, gateway_settings, running_gateway

CAP = 2048


@pytest.fixture
def capped(tmp_path: Path, fake_upstream: Any) -> Iterator[Running]:
    base = gateway_settings(
        tmp_path / "home", fake_upstream.base_url, fake_upstream.base_url.removesuffix("/v1")
    )
    gateway = base.gateway.model_copy(update={"ledger_payload_max_bytes": CAP})
    with running_gateway(config.Settings(**{**base.model_dump(), "gateway": gateway})) as r:
        yield r


def _completed(running: Running, request_id: str) -> dict[str, Any]:
    entries = running.entries_for(request_id)
    return next(e for e in entries if e["kind"] == "request-completed")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_long_answer_is_cut_at_the_cap_and_the_cut_recorded(
    capped: Running, stream: bool
) -> None:
    answer = httpx.post(
        f"{capped.base_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {capped.keys['acme']}"},
        json={
            "model": "gpt-test",
            "stream": stream,
            "messages": [{"role": "user", "content": "긴 답변 " * 2000}],
        },
        timeout=30,
    )
    assert answer.status_code == 200
    assert len(answer.content) > 4 * CAP  # the caller gets the whole answer
    entry = _completed(capped, answer.headers["x-sumun-request-id"])
    assert int(entry["attrs"]["payload_truncated_from"]) > 4 * CAP
    assert entry["payload"]["len"] < CAP + 256  # the cap plus the envelope's header and tag


def test_a_short_answer_is_kept_whole(capped: Running) -> None:
    answer = httpx.post(
        f"{capped.base_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {capped.keys['acme']}"},
        json={"model": "gpt-test", "messages": [{"role": "user", "content": "짧게"}]},
        timeout=30,
    )
    entry = _completed(capped, answer.headers["x-sumun-request-id"])
    assert "payload_truncated_from" not in entry["attrs"]
