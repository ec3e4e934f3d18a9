"""Spend holds through the in-process gateway (tests/gateway/harness.py) and the fake upstream
that speaks the OpenAI and Anthropic wire formats over a real socket: a stream settles to its
reported cost, an upstream failure releases the hold, a USD price is charged to a KRW budget
at the operator's rate, and a key without a spend budget is never refused for a missing price."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from sumun.config import PriceConfig, PricesConfig
from sumun.gateway.limits import Limiter
from tests.gateway.harness import Running, gateway_settings, running_gateway

WON = 1_000_000
PRICES = PricesConfig(
    usd_krw=Decimal(1500),
    models={
        "fake-openai/up-gpt": PriceConfig(
            currency="KRW", input_per_mtok=Decimal(3_000_000), output_per_mtok=Decimal(7_000_000)
        ),  # ₩3 per token in, ₩7 out
        "up-claude": PriceConfig(
            currency="USD", input_per_mtok=Decimal(1000), output_per_mtok=Decimal(2000)
        ),  # $0.001 per token in, $0.002 out: ₩1.5 and ₩3 at ₩1,500/$
    },
)


@pytest.fixture
def priced(tmp_path: Path, fake_upstream: Any) -> Iterator[Running]:
    base = fake_upstream.base_url
    settings = gateway_settings(tmp_path / "home", base, base.removesuffix("/v1"))
    with running_gateway(settings.model_copy(update={"prices": PRICES})) as running:
        yield running


def _spent(running: Running, key_id: str) -> int:
    limiter: Limiter = running.parts.gateway.limiter
    return limiter.spent("key", [key_id], "KRW")[key_id]


def test_a_stream_settles_to_its_cost_and_a_failure_releases_the_hold(priced: Running) -> None:
    key, api_key = priced.directory.issue_key("acme")
    priced.directory.update_key_limits(key.key_id, spend_budget=("KRW", 10_000 * WON))
    client = openai.OpenAI(base_url=f"{priced.base_url}/v1", api_key=api_key, max_retries=0)
    with client:
        stream = client.chat.completions.create(
            model="gpt-test",
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=50,
            messages=[{"role": "user", "content": "three small words"}],
        )
        usage = [chunk.usage for chunk in stream if chunk.usage is not None][-1]
        cost = (usage.prompt_tokens * 3 + usage.completion_tokens * 7) * WON
        assert cost > 0
        assert _spent(priced, key.key_id) == cost
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="gpt-test",
                max_tokens=50,
                messages=[{"role": "user", "content": "#fail:500 nothing comes back"}],
            )
        assert _spent(priced, key.key_id) == cost  # the failed request's hold was released


def test_a_usd_price_is_charged_to_a_krw_budget_at_the_rate(priced: Running) -> None:
    key, api_key = priced.directory.issue_key("acme")
    priced.directory.update_key_limits(key.key_id, spend_budget=("KRW", 10_000 * WON))
    with anthropic.Anthropic(base_url=priced.base_url, api_key=api_key, max_retries=0) as client:
        answer = client.messages.create(
            model="claude-test",
            max_tokens=50,
            messages=[{"role": "user", "content": "hello there"}],
        )
    usd_micros = answer.usage.input_tokens * 1000 + answer.usage.output_tokens * 2000
    assert _spent(priced, key.key_id) == usd_micros * 1500


def test_only_a_spend_budget_makes_a_missing_price_a_refusal(priced: Running) -> None:
    # The `demo` route's model has no price: served for a key without a spend budget ...
    with openai.OpenAI(
        base_url=f"{priced.base_url}/v1", api_key=priced.keys["acme"], max_retries=0
    ) as client:
        assert client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "hi"}]
        ).choices
    # ... refused (403, naming the missing price) for one with a spend budget.
    key, api_key = priced.directory.issue_key("acme")
    priced.directory.update_key_limits(key.key_id, spend_budget=("USD", 5 * WON))
    with (
        openai.OpenAI(base_url=f"{priced.base_url}/v1", api_key=api_key, max_retries=0) as client,
        pytest.raises(openai.PermissionDeniedError, match="sumun-demo-1"),
    ):
        client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "hi"}])
    metrics = priced.parts.gateway.metrics.render().decode()
    unpriced = 'sumun_unpriced_answers_total{model="sumun-demo-1",provider="demo",tenant="acme"}'
    assert f"\n{unpriced} 1.0\n" in metrics


def test_without_a_price_table_no_spend_is_measured(gateway: Running) -> None:
    with openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=gateway.keys["acme"], max_retries=0
    ) as client:
        assert client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "hi"}]
        ).choices
    metrics = gateway.parts.gateway.metrics.render().decode()
    assert "sumun_unpriced_answers_total{" not in metrics
    assert "sumun_spend_total{" not in metrics
    assert gateway.parts.gateway.usage.take_spend() == []
    # A spend budget is still enforced: with no price at all, it cannot be measured.
    key, api_key = gateway.directory.issue_key("acme")
    gateway.directory.update_key_limits(key.key_id, spend_budget=("KRW", 1000 * WON))
    with (
        openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=api_key, max_retries=0) as client,
        pytest.raises(openai.PermissionDeniedError, match="no price"),
    ):
        client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "hi"}])
