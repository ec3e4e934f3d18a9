"""Spend end to end, through a real `sumun demo` process with `prices:` in its sumun.yaml.

A key issued by the CLI with `--budget-krw` calls the demo model with the official `openai`
SDK until its budget runs out and the next call is refused 429 (`insufficient_quota`-style,
`x-should-retry: false`); `/metrics` shows the spend per tenant and app; the admin API's
`GET /usage` shows it per tenant, app and key — exactly what the SDK's `usage` figures cost at
the configured prices. A model without a price is refused under a spend budget (a budget that
cannot be measured is not one) and counted as unknown, never as free, without one.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fixtures.demo import SUMUN, demo_env, start_demo

# ₩1 per input token, ₩2 per output token; the unpriced route has no price on purpose.
CONFIG = """\
providers:
  - {name: demo, kind: demo}
routes:
  - {model: demo, targets: [{provider: demo, model: sumun-demo-1}]}
  - {model: unpriced, targets: [{provider: demo, model: sumun-demo-x}]}
prices:
  usd_krw: 1400
  rate_date: 2026-12-01
  models:
    demo/sumun-demo-1: {currency: KRW, input_per_mtok: 1000000, output_per_mtok: 2000000}
"""
BUDGET_KRW = 400
FLUSH_WAIT_S = 20.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("spend") / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(CONFIG, encoding="utf-8")
    proc, ready = start_demo(home)
    try:
        yield {**ready, "home": home}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _cli(home: Path, *args: str) -> str:
    done = subprocess.run(
        [*SUMUN, *args],
        capture_output=True,
        text=True,
        env=demo_env(home),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _client(demo: dict[str, Any], key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{demo['base_url']}/v1", api_key=key, max_retries=0)


def _ask(client: openai.OpenAI, model: str = "demo") -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(
        model=model,
        max_tokens=20,
        messages=[{"role": "user", "content": "예산 안에서 짧게 답해 주세요 please"}],
    )


def _admin(demo: dict[str, Any], method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {demo['admin_key']}"}
    return httpx.request(
        method, f"{demo['admin_url']}/admin/v1{path}", headers=headers, timeout=20, **kw
    )


def _usage_spend(demo: dict[str, Any], want: int) -> dict[str, Any]:
    """The usage API's spend once `want` answers of the key are flushed (every 5 s)."""
    deadline = time.monotonic() + FLUSH_WAIT_S
    while True:
        answer = _admin(demo, "GET", "/usage", params={"window": "1h", "series": "false"})
        assert answer.status_code == 200, answer.text
        spend: dict[str, Any] = answer.json()["spend"]
        counted = sum(line["answers"] for line in spend["keys"])
        if counted >= want or time.monotonic() > deadline:
            return spend
        time.sleep(0.5)


def test_a_krw_budget_runs_out_and_the_spend_is_reported(demo: dict[str, Any]) -> None:
    home = demo["home"]
    issued = _cli(
        home, "tenants", "keys", "issue", "--tenant", "demo", "--app", "playground",
        "--budget-krw", str(BUDGET_KRW),
    )  # fmt: skip
    assert "spend budget ₩400" in issued
    key = issued.strip().splitlines()[-1]
    key_id = key.split("-")[2]

    cost = Decimal(0)
    answered = 0
    with _client(demo, key) as client:
        for _ in range(40):
            try:
                reply = _ask(client)
            except openai.RateLimitError as exc:
                refused = exc
                break
            assert reply.usage is not None
            cost += reply.usage.prompt_tokens * 1 + reply.usage.completion_tokens * 2
            answered += 1
        else:
            pytest.fail("the spend budget never ran out")
    assert answered >= 2, "the budget must admit a few calls before it runs out"
    assert cost <= BUDGET_KRW
    assert refused.status_code == 429
    assert "spend budget" in refused.message and "₩400" in refused.message
    assert refused.response.headers["x-should-retry"] == "false"

    # A model without a price cannot be measured against the budget: refused, and why.
    with _client(demo, key) as client, pytest.raises(openai.PermissionDeniedError) as unpriced:
        _ask(client, "unpriced")
    assert "sumun-demo-x" in unpriced.value.message and "no price" in unpriced.value.message
    # Without a spend budget it is served, and counted as of unknown cost (never ₩0).
    with _client(demo, demo["api_key"]) as client:
        _ask(client, "unpriced")

    metrics = httpx.get(
        f"{demo['base_url']}/metrics",
        headers={"authorization": f"Bearer {demo['admin_key']}"},
        timeout=10,
    ).text
    spent = re.search(
        r'^sumun_spend_total\{app="playground",currency="KRW",tenant="demo"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    assert spent is not None, metrics
    assert Decimal(spent.group(1)) == cost
    sample = 'sumun_unpriced_answers_total{model="sumun-demo-x",provider="demo",tenant="demo"}'
    assert f"\n{sample} 1.0\n" in metrics

    spend = _usage_spend(demo, answered + 1)
    ours = [line for line in spend["keys"] if line["key_id"] == key_id]
    assert len(ours) == 1, spend
    line = ours[0]
    assert (line["tenant"], line["app"], line["currency"]) == ("demo", "playground", "KRW")
    assert Decimal(line["amount"]) == cost and line["micros"] == int(cost) * 1_000_000
    assert line["answers"] == answered
    assert Decimal(line["usd"]) == (cost / 1400).quantize(Decimal("0.000001"))
    assert spend["usd_krw"] == "1400" and spend["rate_date"] == "2026-12-01"
    assert spend["priced"] is True
    [app] = [a for a in spend["apps"] if a["app"] == "playground" and a["currency"] == "KRW"]
    [tenant] = [t for t in spend["tenants"] if t["currency"] == "KRW"]
    assert Decimal(app["amount"]) == Decimal(tenant["amount"]) == cost
    unknown = [t for t in spend["tenants"] if t["currency"] == "none"]
    assert unknown and unknown[0]["answers"] == 1 and unknown[0]["amount"] is None

    # The admin API raises the budget; the key calls again, and says what it has spent.
    raised = _admin(
        demo, "POST", f"/api-keys/{key_id}/spend-budget", json={"currency": "KRW", "amount": 5000}
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["spend_budget"] == "5000"
    assert raised.json()["spend_currency"] == "KRW"
    assert Decimal(raised.json()["spent"]) == cost
    with _client(demo, key) as client:
        assert _ask(client).choices

    # The operator gives the whole tenant a budget in dollars: charged at the rate, shared.
    tenant_budget = _admin(
        demo, "POST", "/tenants/demo/spend-budget", json={"currency": "USD", "amount": "0.01"}
    )
    assert tenant_budget.status_code == 200, tenant_budget.text
    assert tenant_budget.json()["spend_budget"] == "0.01"
    with _client(demo, key) as client, pytest.raises(openai.RateLimitError) as tenant_refused:
        _ask(client)  # may cost up to ₩122 ≈ $0.087 of the $0.01
    assert "tenant 'demo'" in tenant_refused.value.message
    assert "$0.01" in tenant_refused.value.message
    bad = _admin(
        demo, "POST", "/tenants/demo/spend-budget", json={"currency": "KRW", "amount": 1.5}
    )
    assert bad.status_code == 400 and "no minor unit" in bad.text
    lifted = _admin(demo, "POST", "/tenants/demo/spend-budget", json={"amount": None})
    assert lifted.status_code == 200 and lifted.json()["spend_budget"] is None
    with _client(demo, key) as client:
        assert _ask(client).choices


def test_a_price_added_by_a_reload_is_in_force_at_once(demo: dict[str, Any]) -> None:
    """`prices` reloads with the rest of sumun.yaml: a model refused under a budget for want of
    a price is served the moment `sumun reload` brings one (same process, no restart)."""
    home = demo["home"]
    _cli(home, "tenants", "apps", "create", "demo", "reload")
    issued = _cli(
        home, "tenants", "keys", "issue", "--tenant", "demo", "--app", "reload",
        "--budget-krw", "100000",
    )  # fmt: skip
    key = issued.strip().splitlines()[-1]
    with _client(demo, key) as client, pytest.raises(openai.PermissionDeniedError):
        _ask(client, "unpriced")
    config = home / "sumun.yaml"
    priced = CONFIG + (
        "    demo/sumun-demo-x: {currency: KRW, input_per_mtok: 3000000, output_per_mtok: 0}\n"
    )
    try:
        config.write_text(priced, encoding="utf-8")
        assert "prices" in _cli(home, "reload")
        with _client(demo, key) as client:
            reply = _ask(client, "unpriced")
        assert reply.usage is not None
        metrics = httpx.get(
            f"{demo['base_url']}/metrics",
            headers={"authorization": f"Bearer {demo['admin_key']}"},
            timeout=10,
        ).text
        spent = re.search(
            r'^sumun_spend_total\{app="reload",currency="KRW",tenant="demo"\} (\S+)$',
            metrics,
            re.MULTILINE,
        )
        assert spent is not None, metrics
        assert Decimal(spent.group(1)) == reply.usage.prompt_tokens * 3
    finally:
        config.write_text(CONFIG, encoding="utf-8")
        _cli(home, "reload")
