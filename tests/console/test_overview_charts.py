"""Usage, end to end: chat completions through the official `openai` SDK against a real
`sumun demo` process are counted by the gateway, flushed to the usage rollup, answered by
`GET /admin/v1/usage` — and drawn on the console's overview as SVG charts, seen in Debian's
Chromium under the strict CSP. Saves docs/console/overview-{en,ko}.png.

The policy is applied the way an operator does it (`sumun policy apply` in another process),
so the calls land in four of the five decisions (a reroute needs a second provider).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.console.support import Demo, shot, sign_in, watched
from tests.fixtures.demo import start_demo

pytestmark = pytest.mark.slow

POLICY = (
    "pii:\n  default: allow\n  rules:\n"
    "    - {id: t.rrn, types: [KR_RRN], action: pseudonymize}\n"
    "    - {id: t.phone, types: [PHONE_KR], action: mask}\n"
    "    - {id: t.email, types: [EMAIL], action: block}\n"
)
CALLS = {
    "allowed": ["안녕하세요", "오늘 날씨 어때요?", "요약해 주세요"],
    "pseudonymized": ["제 주민등록번호는 900101-1234567 입니다"],
    "masked": ["연락처는 010-1234-5678 입니다"],
    "blocked": ["회신은 kim.sumun@example.com 으로"],
}
FLUSH_WAIT_S = 12.0  # the gateway flushes every 5 s


def _usage(demo: Demo, key: str, **query: str) -> httpx.Response:
    return httpx.get(
        f"{demo.admin_url}/admin/v1/usage",
        params=query,
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    )


def _chat(demo: Demo, text: str) -> int:
    client = openai.OpenAI(base_url=f"{demo.base_url}/v1", api_key=demo.api_key, max_retries=0)
    try:
        client.chat.completions.create(model="demo", messages=[{"role": "user", "content": text}])
    except openai.APIStatusError as exc:
        return exc.status_code
    finally:
        client.close()
    return 200


def _counted(demo: Demo, want: int) -> dict[str, Any]:
    deadline = time.monotonic() + FLUSH_WAIT_S
    while True:
        answer = _usage(demo, demo.admin_key, window="1h", by="decision")
        assert answer.status_code == 200, answer.text
        usage: dict[str, Any] = answer.json()
        if usage["total"]["total_requests"] >= want or time.monotonic() > deadline:
            return usage
        time.sleep(0.5)


def test_gateway_calls_appear_in_the_usage_api_after_a_flush(demo: Demo) -> None:
    policy = demo.home.parent / "usage-policy.yaml"
    policy.write_text(POLICY)
    demo.cli("policy", "apply", str(policy))
    time.sleep(1.5)  # every node enforces an applied policy within 1 s
    for decision, texts in CALLS.items():
        for text in texts:
            assert _chat(demo, text) == (403 if decision == "blocked" else 200), decision

    usage = _counted(demo, sum(len(t) for t in CALLS.values()))
    assert usage["window"] == "1h" and usage["span_seconds"] == 60
    assert len(usage["buckets"]) == len(usage["total"]["requests"]) == 60
    assert {g["name"]: g["total_requests"] for g in usage["groups"]} == {
        d: len(t) for d, t in CALLS.items()
    }
    total = usage["total"]
    assert total["total_errors"] == 1  # the block, answered 403
    assert total["total_tokens_in"] > 0 and total["total_tokens_out"] > 0
    assert total["window_p50_ms"] is not None and total["window_p99_ms"] is not None
    assert total["window_p50_ms"] <= total["window_p99_ms"]
    assert sum(total["requests"][-3:]) == 6  # the newest buckets hold them

    by_provider = _usage(demo, demo.admin_key, window="24h", by="provider").json()
    assert {g["name"]: g["total_requests"] for g in by_provider["groups"]} == {"demo": 5, "none": 1}
    by_tenant = _usage(demo, demo.admin_key, window="7d", by="tenant").json()
    assert [(g["name"], g["total_requests"]) for g in by_tenant["groups"]] == [("demo", 6)]

    # A tenant admin of another tenant sees none of it; a bad window is refused, not echoed.
    demo.cli("tenants", "create", "clinic")
    other = demo.cli("tenants", "keys", "issue", "--tenant", "clinic", "--role", "admin")
    theirs = _usage(demo, str(other["api_key"]), window="1h", by="tenant").json()
    assert theirs["total"]["total_requests"] == 0 and theirs["groups"] == []
    bad = _usage(demo, demo.admin_key, window="2h<script>")
    assert bad.status_code == 400 and "query.window" in bad.text and "<script>" not in bad.text
    assert _usage(demo, "sk-sumun-nope-nope", window="1h").status_code == 401


def test_the_overview_draws_the_charts_with_data(demo: Demo, context: BrowserContext) -> None:
    if _counted(demo, 6)["total"]["total_requests"] < 6:  # run alone: make the traffic here
        test_gateway_calls_appear_in_the_usage_api_after_a_flush(demo)
    page, problems = watched(context)
    sign_in(page, demo, demo.admin_key)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    # The facts the overview always had are still there.
    expect(page.locator(".tiles")).to_contain_text("Ledger entries")
    expect(page.locator(".tiles")).to_contain_text("Unsealed")
    page.get_by_test_id("window-1h").click()
    expect(page.get_by_test_id("window-1h")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("usage-requests")).to_have_text("6")
    expect(page.get_by_test_id("usage-errors")).to_have_text("1")

    for ident in ("requests", "tokens", "latency", "decisions", "by-tenant", "by-provider"):
        chart = page.get_by_test_id(f"chart-{ident}").locator("svg[role=img]")
        expect(chart).to_be_visible()
        labelled = chart.get_attribute("aria-labelledby") or ""
        assert labelled.endswith("-d") and chart.locator("title").first.text_content()
        box = chart.bounding_box()
        assert box is not None and box["height"] > 20
    requests = page.get_by_test_id("chart-requests")
    assert requests.locator("polyline.line, circle.dot").count() >= 1
    expect(requests.locator("desc")).to_contain_text("6 in all")
    decisions = page.get_by_test_id("chart-decisions")
    for name in ("allowed", "masked", "pseudonymized", "blocked"):
        assert decisions.locator(f"rect.bar.d-{name}").count() >= 1, name
    expect(decisions.locator(".legend")).to_contain_text("Pseudonymized 1")
    by_provider = page.get_by_test_id("chart-by-provider")
    expect(by_provider.locator("text.name")).to_have_text(["demo", "none"])
    expect(page.get_by_test_id("chart-by-tenant").locator("text.value")).to_have_text(["6"])
    # The colours come from CSS classes: a bar is painted, and nothing has a style attribute.
    fill = decisions.locator("rect.bar.d-blocked").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(179, 38, 30)"
    assert page.locator("[style]").count() == 0
    shot(page, "overview", "en")

    page.goto(f"{demo.console_url}lang/ko?next=/console/%3Fwindow%3D1h")
    expect(page.get_by_role("heading", name="사용 현황")).to_be_visible()
    expect(page.get_by_test_id("chart-decisions").locator(".legend")).to_contain_text("가명 처리 1")
    expect(page.get_by_test_id("chart-latency").locator("figcaption")).to_have_text(
        "지연 시간 (p50 · p99)"
    )
    shot(page, "overview", "ko")

    for window in ("24h", "7d"):  # every window draws from the same counts
        page.get_by_test_id(f"window-{window}").click()
        expect(page.get_by_test_id("usage-requests")).to_have_text("6")
    assert problems == []


def test_a_tenant_admin_sees_only_its_own_usage(demo: Demo, context: BrowserContext) -> None:
    if "clinic" not in {t["name"] for t in demo.cli("tenants", "list")["tenants"]}:
        demo.cli("tenants", "create", "clinic")
    key = demo.cli("tenants", "keys", "issue", "--tenant", "clinic", "--role", "auditor")
    page, problems = watched(context)
    sign_in(page, demo, str(key["api_key"]))
    page.get_by_test_id("window-7d").click()
    expect(page.get_by_test_id("usage-requests")).to_have_text("0")  # demo's traffic: not here
    expect(page.get_by_test_id("chart-by-tenant")).to_have_count(0)  # one tenant: no breakdown
    expect(page.get_by_test_id("chart-by-provider")).to_be_visible()
    expect(page.get_by_test_id("chart-requests").locator("text.empty")).to_have_text(
        "No requests in this window"
    )
    assert problems == []


def test_the_charts_escape_text_use_no_inline_style_and_break_lines_at_gaps() -> None:
    from sumun.admin.console.charts import Series, bar_list, compact, line_chart, stacked_chart

    times = [1_800_000_000 + 60 * i for i in range(5)]
    hostile = '<script>alert(1)</script>" onload="x'
    line = line_chart(
        "c1",
        title=hostile,
        desc="d",
        times=times,
        span=60,
        series=[Series(hostile, [1, 2, None, 4, 5], "s0")],
    )
    bars = bar_list("c2", title="t", desc=hostile, items=[(hostile, 3.0, "s0")])
    stacked = stacked_chart(
        "c3",
        title="t",
        desc="d",
        times=times,
        span=60,
        series=[Series("a", [1, 0, 2, 0, 1], "d-allowed"), Series("b", [0, 1, 0, 0, 1], "s1")],
    )
    for svg in (line, bars, stacked):
        assert "<script>" not in svg and 'onload="x' not in svg and "style=" not in svg
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert line.count("<polyline") == 2  # 1, 2 | gap | 4, 5
    assert stacked.count('class="bar ') == 5  # zeros draw nothing
    assert "No requests" in line_chart(
        "c4", title="t", desc="d", times=times, span=60, series=[], empty="No requests"
    )
    assert [compact(v) for v in (0, 7, 2.5, 1234, 3_400_000, 1e9)] == [
        "0",
        "7",
        "2.5",
        "1.2k",
        "3.4M",
        "1G",
    ]


def test_a_node_that_stops_flushes_what_it_counted(tmp_path: Path) -> None:
    """Calls answered just before SIGINT (well inside the 5 s flush interval) are still in
    the rollup when the node is started again: the flusher flushes once more at shutdown."""
    home = tmp_path / "home"
    proc, ready = start_demo(home)
    try:
        node = Demo(proc, home, *(ready[k] for k in _READY))
        for _ in range(2):
            assert _chat(node, "안녕하세요") == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    proc, ready = start_demo(home)
    try:
        node = Demo(proc, home, *(ready[k] for k in _READY))
        answer = _usage(node, node.admin_key, window="1h", by="decision").json()
        assert answer["total"]["total_requests"] == 2, answer["total"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


_READY = ("base_url", "admin_url", "console_url", "api_key", "admin_key")
