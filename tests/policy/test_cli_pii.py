"""`sumun pii detect`: the JSON Lines protocol of CONTRACTS.md, driven through the Typer app."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from typer.testing import CliRunner

from sumun.cli.pii import app

runner = CliRunner()


def run(stdin: str, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = runner.invoke(app, ["detect", *args], input=stdin.encode("utf-8"))
    lines = [json.loads(line) for line in result.stdout.splitlines() if line]
    return result.exit_code, lines


def test_entities_in_input_order_with_code_point_offsets() -> None:
    text = "😀 주민번호는９００１０１－１２３４５６８"
    stdin = "\n".join(
        json.dumps(d, ensure_ascii=False)
        for d in (
            {"id": "b", "text": text},
            {"id": "a", "text": "연락처 010-1234-5678, hong@example.com"},
            {"id": "c", "text": "아무것도 없음"},
        )
    )
    code, out = run(stdin + "\n")
    assert code == 0
    assert [o["id"] for o in out] == ["b", "a", "c"]
    (rrn,) = out[0]["entities"]
    assert rrn["type"] == "KR_RRN"
    assert text[rrn["start"] : rrn["end"]] == "９００１０１－１２３４５６８"
    assert set(rrn) == {"type", "start", "end", "score"}
    assert [e["type"] for e in out[1]["entities"]] == ["PHONE_KR", "EMAIL"]
    assert out[2] == {"id": "c", "entities": []}


def test_malformed_lines_yield_errors_and_processing_continues() -> None:
    stdin = "\n".join(
        [
            "not json",
            "[1, 2]",
            json.dumps({"id": 7, "text": "x"}),
            json.dumps({"id": "t", "text": 5}),
            json.dumps({"id": "ok", "text": "주민번호 900101-1234568"}),
            "",
        ]
    )
    code, out = run(stdin, "--input", "jsonl")  # its first line alone would read as text
    assert code == 2  # every line answered, but the exit status says some were malformed
    assert len(out) == 5
    assert out[0]["id"] is None and "invalid JSON" in str(out[0]["error"])
    assert "expected a JSON object" in str(out[1]["error"])
    assert out[2] == {"id": None, "error": "'id' must be a string"}
    assert out[3] == {"id": "t", "error": "'text' must be a string"}
    assert out[4]["id"] == "ok" and out[4]["entities"]


def test_invalid_utf8_is_a_line_error() -> None:
    result = runner.invoke(app, ["detect"], input=b'{"id": "x", "text": "\xff"}\n')
    assert result.exit_code == 2
    assert "error" in json.loads(result.stdout.splitlines()[0])


def test_min_score_filters() -> None:
    line = json.dumps({"id": "x", "text": "값 900101-1234567"}) + "\n"  # failed checksum: 0.6
    assert run(line)[1][0]["entities"]
    assert run(line, "--min-score", "0.9")[1][0]["entities"] == []
    result = runner.invoke(app, ["detect", "--min-score", "2"], input=b"")
    assert result.exit_code == 2


def test_as_a_pipe() -> None:
    stdin = json.dumps({"id": "1", "text": "카드 4111-1111-1111-1111"}) + "\n"
    proc = subprocess.run(
        [sys.executable, "-c", "from sumun.cli.pii import app; app()", "detect"],
        input=stdin.encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    out = json.loads(proc.stdout)
    assert out["entities"][0]["type"] == "CREDIT_CARD"
