"""The report: JSON with stable keys, self-contained bilingual HTML that escapes what it shows."""

from __future__ import annotations

import re
from collections.abc import Callable

from sumun.comply.assess import assess
from sumun.comply.report import DISCLAIMER_EN, DISCLAIMER_KO, FORMAT, build_report, render_html
from tests.comply.conftest import Deployment

Deploy = Callable[..., Deployment]


def _report(d: Deployment) -> tuple[dict[str, object], str]:
    facts = d.facts()
    report = build_report(d.catalog, facts, assess(d.catalog, facts))
    return report.to_json(), render_html(report)


def test_json_has_stable_keys_and_a_one_minute_summary(deploy: Deploy) -> None:
    d = deploy()
    data, _html = _report(d)
    assert set(data) == {
        "format", "generated_at", "disclaimer", "deployment", "catalog", "summary",
        "requirements",
    }  # fmt: skip
    assert data["format"] == FORMAT
    assert data["disclaimer"] == {"en": DISCLAIMER_EN, "ko": DISCLAIMER_KO}
    summary = data["summary"]
    assert isinstance(summary, dict)
    counts = summary["counts"]
    assert list(counts) == [
        "not-satisfied", "undetermined", "needs-attestation", "satisfied", "not-applicable"
    ]  # fmt: skip
    requirements = data["requirements"]
    assert isinstance(requirements, list)
    assert sum(counts.values()) == len(requirements)
    assert summary["applicable"] == len(requirements) - counts["not-applicable"]
    top = summary["top_failures"]
    assert top and {t["id"] for t in top} <= {
        r["id"] for r in requirements if r["status"] == "not-satisfied"
    }
    assert all(t["advice"] or t["remedy_en"] for t in top)  # each says what to do
    first = requirements[0]
    assert set(first) == {
        "id", "subject", "catalog_file", "status", "reason", "applies_because", "title_en",
        "title_ko", "text_en", "text_ko", "source", "scope", "evidence", "attestation",
        "attestations", "remedy_en", "remedy_ko",
    }  # fmt: skip
    with_evidence = next(r for r in requirements if r["evidence"])
    assert set(with_evidence["evidence"][0]) == {
        "collector", "ok", "applies", "summary", "origin", "details", "advice"
    }  # fmt: skip
    assert all(e["origin"] for r in requirements for e in r["evidence"])


def test_html_is_self_contained_bilingual_printable_and_escaped(deploy: Deploy) -> None:
    d = deploy(notice_text='<script>alert("x")</script> 인공지능 답변')
    _data, html = _report(d)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html  # the tenant's text is escaped, and there is no script
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 인공지능 답변" in html
    assert not re.search(r'(src|href)="(?!https://www\.law\.go\.kr)[a-z]+:', html)
    assert "@media print" in html
    assert DISCLAIMER_KO in html and DISCLAIMER_EN.replace("'", "&#39;") in html
    assert "법률 자문이 아닙니다" in html and "not legal advice" in html
    assert "1분 요약" in html and "One-minute summary" in html
    assert "미확인 unconfirmed" in html  # the badge of unconfirmed sources
    # … with its reason beside it, never a bare flag.
    assert html.count("미확인 사유 Why unconfirmed:") == html.count('class="badge unconfirmed"')
    assert "not an NIS statement; the guideline speaks of stopping S-grade leaks" in html
    shown = re.sub(r"</span> <span class=\"tok\">", " ", html)  # a command's tokens, joined
    assert "N2SF-CA.CTRL" in html and "sumun providers cut demo --reason drill" in shown
