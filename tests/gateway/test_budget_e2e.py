"""Token budgets are a ceiling through the real gateway (issue 12): a stream the client cuts
before its usage chunk is charged its reservation (it used to be charged nothing, so cut
streams could be repeated for free), and the budget then refuses what no longer fits."""

from __future__ import annotations

import time

import httpx

from tests.gateway.harness import Running


def _request(running: Running, key: str, *, stream: bool) -> dict[str, object]:
    return {
        "url": f"{running.base_url}/v1/chat/completions",
        "headers": {"authorization": f"Bearer {key}"},
        "json": {
            "model": "gpt-test",
            "stream": stream,
            "max_tokens": 1000,
            "messages": [{"role": "user", "content": "#slow:0.3 tell me a long story"}],
        },
    }


def test_cut_streams_are_charged_and_the_budget_holds(gateway: Running) -> None:
    _key, api_key = gateway.directory.issue_key("acme", token_budget=2500)
    for _ in range(2):  # each reserves ~1,050 tokens; the client cuts after the first chunk
        with (
            httpx.Client(timeout=10) as client,
            client.stream("POST", **_request(gateway, api_key, stream=True)) as answer,
        ):
            assert answer.status_code == 200
            next(answer.iter_raw())
        time.sleep(0.5)  # the gateway notices the cut and settles
    refused = httpx.post(**_request(gateway, api_key, stream=False), timeout=10)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert "tokens left" in refused.json()["error"]["message"]
    assert refused.headers.get("x-should-retry") == "false"
