"""The price table and the cost math (sumun.gateway.spend): Decimal in, integer micro-units out,
KRW without a minor unit, USD to the cent when shown; and the `prices:` section's validation."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from sumun import config
from sumun.errors import ConfigError
from sumun.gateway.spend import Money, Price, PriceTable, parse_amount

GPT = Price("USD", Decimal("0.15"), Decimal("0.60"))
HCX = Price("KRW", Decimal("1250"), Decimal("5000"))


def test_a_cost_is_exact_micro_units_of_the_price_currency() -> None:
    # 1,000 in at $0.15/Mtok + 500 out at $0.60/Mtok = $0.00015 + $0.0003 = 450 micro-dollars
    assert GPT.cost(1000, 500) == Money("USD", 450)
    # 1,234 in at ₩1,250/Mtok + 567 out at ₩5,000/Mtok = ₩1.5425 + ₩2.835 = ₩4.3775
    assert HCX.cost(1234, 567) == Money("KRW", 4_377_500)
    assert HCX.cost(0, 0) == Money("KRW", 0)


def test_rounding_is_once_per_answer_half_up_and_sums_never_drift() -> None:
    odd = Price("USD", Decimal("0.5"), Decimal("1.5"))  # a token costs 0.5 or 1.5 µ$
    assert odd.cost(1, 0) == Money("USD", 1)  # 0.5 rounds up
    assert odd.cost(1, 1) == Money("USD", 2)  # 0.5 + 1.5 = 2.0
    # A million answers of 7 tokens each at $0.15/Mtok: 1.05 µ$ each → 1 µ$ once rounded; the
    # integer sum is exact (a float sum of 1.05e-6 a million times is not).
    total = sum(GPT.cost(7, 0).micros for _ in range(1_000_000))
    assert total == 1_000_000
    assert 0.1 + 0.2 != 0.3  # why there are no floats here


def test_money_is_shown_in_whole_won_and_in_cents() -> None:
    assert Money("KRW", 4_377_500).text() == "₩4"
    assert Money("KRW", 4_500_000).text() == "₩5"  # half up
    assert Money("KRW", 50_000_000_000).text() == "₩50,000"
    assert Money("USD", 450).text() == "$0.00"
    assert Money("USD", 5_000).text() == "$0.01"
    assert Money("USD", 40_000_000).text() == "$40.00"
    assert Money("USD", 1_234_567_890).text() == "$1,234.57"
    assert Money("USD", 450).amount == Decimal("0.00045")


def test_budget_amounts_follow_the_currency_minor_unit() -> None:
    assert parse_amount("krw", "50000") == Money("KRW", 50_000_000_000)
    assert parse_amount("USD", "12.50") == Money("USD", 12_500_000)
    assert parse_amount("USD", 40) == Money("USD", 40_000_000)
    with pytest.raises(ValueError, match="no minor unit"):
        parse_amount("KRW", "100.5")
    with pytest.raises(ValueError, match="cents"):
        parse_amount("USD", "0.001")
    with pytest.raises(ValueError, match="unknown currency"):
        parse_amount("EUR", "10")
    with pytest.raises(ValueError, match="positive"):
        parse_amount("KRW", "0")


def test_lookup_prefers_provider_and_model_then_the_model() -> None:
    special = Price("KRW", Decimal(1), Decimal(2))
    table = PriceTable({"gpt-4o-mini": GPT, "azure-kr/gpt-4o-mini": special})
    assert table.price("azure-kr", "gpt-4o-mini") is special
    assert table.price("openai", "gpt-4o-mini") is GPT
    assert table.price("openai", "gpt-5") is None  # unknown: no price, never 0


def test_conversion_uses_the_operators_rate_or_answers_none() -> None:
    table = PriceTable({}, usd_krw=Decimal("1380.5"))
    assert table.convert(Money("USD", 1_000_000), "KRW") == Money("KRW", 1_380_500_000)
    assert table.convert(Money("KRW", 1_380_500_000), "USD") == Money("USD", 1_000_000)
    assert table.convert(Money("KRW", 7), "KRW") == Money("KRW", 7)
    assert PriceTable({}).convert(Money("USD", 1), "KRW") is None


def test_an_estimate_takes_the_dearest_target_or_says_why_it_cannot() -> None:
    table = PriceTable({"up-gpt": GPT, "HCX-005": HCX}, usd_krw=Decimal(1400))
    # 1,000 tokens at the dearer (output) rate: $0.0006 = ₩0.84 versus ₩5 for HCX
    most = table.estimate([("openai", "up-gpt"), ("clova", "HCX-005")], 1000, "KRW")
    assert most == Money("KRW", 5_000_000)
    assert table.estimate([("openai", "up-gpt")], 1000, "USD") == Money("USD", 600)
    missing = table.estimate([("openai", "up-gpt"), ("demo", "sumun-demo-1")], 10, "KRW")
    assert isinstance(missing, str) and "sumun-demo-1" in missing
    no_rate = PriceTable({"up-gpt": GPT}).estimate([("openai", "up-gpt")], 10, "KRW")
    assert isinstance(no_rate, str) and "usd_krw" in no_rate


def _load(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "sumun.yaml"
    path.write_text(text, encoding="utf-8")
    return config.load(config_file=path, home=tmp_path, env={})


def test_the_prices_section_is_decimal_and_builds_the_table(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        "prices:\n"
        "  usd_krw: 1380.25\n"
        "  rate_date: 2026-12-01\n"
        "  models:\n"
        "    gpt-4o-mini: {currency: USD, input_per_mtok: 0.15, output_per_mtok: 0.6}\n"
        "    clova/HCX-005: {currency: KRW, input_per_mtok: 1250, output_per_mtok: '5000'}\n",
    )
    price = settings.prices.models["gpt-4o-mini"]
    assert price.input_per_mtok == Decimal("0.15")  # exactly: not the float's 0.1499999…
    table = PriceTable.from_config(settings.prices)
    assert table.price("clova", "HCX-005") == HCX
    assert table.usd_krw == Decimal("1380.25")
    assert table.rate_date == "2026-12-01"
    assert not PriceTable.from_config(config.PricesConfig())


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ("{currency: EUR, input_per_mtok: 1, output_per_mtok: 1}", "prices.models.m.currency"),
        (
            "{currency: KRW, input_per_mtok: -1, output_per_mtok: 1}",
            "prices.models.m.input_per_mtok",
        ),
        (
            "{currency: USD, input_per_mtok: 1, output_per_mtok: .nan}",
            "prices.models.m.output_per_mtok",
        ),
        ("{currency: USD, input_per_mtok: 1}", "prices.models.m.output_per_mtok"),
        ("{currency: USD, input_per_mtok: 1, output_per_mtok: 1, per: 2}", "prices.models.m.per"),
    ],
)
def test_a_bad_price_is_a_config_error_naming_its_key(
    tmp_path: Path, entry: str, where: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{where}:")):
        _load(tmp_path, f"prices:\n  models:\n    m: {entry}\n")


def test_a_bad_rate_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"prices\.usd_krw:"):
        _load(tmp_path, "prices:\n  usd_krw: 0\n")
