"""The HTML report: self-contained, escaped, and carrying what a compliance officer needs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from sumun.scan.html import render_html
from sumun.scan.model import Component, ScanResult
from tests.scan.test_bom import sample_result


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def test_values_from_scanned_files_are_escaped() -> None:
    html = render_html(sample_result())
    assert "<script>alert(1)</script>" not in html
    assert "calls &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "script" not in parsed(html).tags


def test_self_contained_no_scripts_no_external_assets() -> None:
    tags = parsed(render_html(sample_result()))
    assert "link" not in tags.tags and "img" not in tags.tags and "script" not in tags.tags
    assert not [a for a in tags.attrs if a[0] in ("src", "href")]
    assert tags.tags.count("style") == 1


def test_sections_a_compliance_officer_reads() -> None:
    html = render_html(sample_result())
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Summary by severity" in text and "critical 2" in text and "high 1" in text
    # Providers by jurisdiction: provider, operator, jurisdiction, where used.
    assert "azure-openai Microsoft US" in text and "naver KR" in text
    assert "app/main.py config/.env" in text
    assert "2 cloud AI endpoint(s) in 2 jurisdiction(s): KR, US" in text
    # Models with licences and base models.
    assert "acme/bert-ko" in text and "apache-2.0" in text
    assert "google-bert/bert-base-multilingual-cased, local base" in text
    assert "Findings (5)" in text


def test_services_without_a_known_jurisdiction_are_counted_apart() -> None:
    result = sample_result()
    local = Component("service", "Ollama", provider="ollama", endpoint="http://localhost:11434")
    result.components.append(local)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", render_html(result)))
    assert "3 cloud AI endpoint(s) in 2 jurisdiction(s): KR, US." in text
    assert "1 with no known jurisdiction" in text and "ollama unknown" in text


def test_an_empty_scan_renders() -> None:
    html = render_html(ScanResult(root="/tmp/empty"))
    assert "No findings." in html and "No model files found." in html
    assert "No cloud AI services found" in html
