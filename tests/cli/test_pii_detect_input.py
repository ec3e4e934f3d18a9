"""`sumun pii detect` on what a person gives it (issue 18, Rule 1): real processes.

JSON Lines on stdin keep the protocol; plain text on stdin or `--text` is answered as findings;
`--input` forces the mode. An error never exits 0: nothing to read, undecodable text, malformed
JSON Lines and contradictory options exit 2 with one line saying what to do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
TEXT = "연락처 010-1234-5678, 주민번호 900101-1234568"


def _run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [*SUMUN, "pii", "detect", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def _one_error_line(done: subprocess.CompletedProcess[bytes]) -> str:
    err = done.stderr.decode()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_stdin_json_lines_keep_the_protocol() -> None:
    lines = [{"id": "a", "text": TEXT}, {"id": "b", "text": "없음"}]
    stdin = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
    done = _run(stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"]
    assert [e["type"] for e in out[0]["entities"]] == ["PHONE_KR", "KR_RRN"]
    assert out[1] == {"id": "b", "entities": []}


def test_stdin_plain_text_is_read_as_text() -> None:
    done = _run(stdin=(TEXT + "\n두 번째 줄 hong@example.com\n").encode())
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "error" not in out
    rows = out.strip().splitlines()
    assert [r.split()[0] for r in rows] == ["PHONE_KR", "KR_RRN", "EMAIL"]
    assert "010-1234-5678" in rows[0] and "hong@example.com" in rows[2]
    as_json = _run("--json", stdin=TEXT.encode())
    assert as_json.returncode == 0
    found = json.loads(as_json.stdout)["entities"]
    assert [(TEXT[e["start"] : e["end"]], e["type"]) for e in found] == [
        ("010-1234-5678", "PHONE_KR"),
        ("900101-1234568", "KR_RRN"),
    ]


def test_text_option_and_forced_modes() -> None:
    done = _run("--text", TEXT, "--json")
    assert done.returncode == 0, done.stderr
    assert [e["type"] for e in json.loads(done.stdout)["entities"]] == ["PHONE_KR", "KR_RRN"]
    nothing = _run("--text", "안녕하세요")
    assert nothing.returncode == 0 and b"no personal data found" in nothing.stdout
    # A line that looks like JSON, read as text when asked to.
    forced = _run("--input", "text", "--json", stdin=b'{"note": "010-1234-5678"}\n')
    assert forced.returncode == 0
    assert [e["type"] for e in json.loads(forced.stdout)["entities"]] == ["PHONE_KR"]


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        ([], b"", "nothing on stdin"),
        ([], b"\n  \n", "nothing on stdin"),
        ([], b"\xff\xfe not utf-8", "not UTF-8"),
        (["--input", "jsonl"], TEXT.encode(), 'were not {"id": str, "text": str} JSON'),
        (["--text", "x", "--input", "jsonl"], b"", "cannot be read as --input jsonl"),
        (["--json"], b'{"id": "a", "text": "x"}\n', "--json is for plain text"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], stdin: bytes, says: str) -> None:
    done = _run(*args, stdin=stdin)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in _one_error_line(done)


def test_a_malformed_json_line_is_answered_and_still_exits_2() -> None:
    stdin = b'{"id": "ok", "text": "010-1234-5678"}\n{"id": "bad", "text"\n'
    done = _run(stdin=stdin)
    assert done.returncode == 2
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert out[0]["id"] == "ok" and out[0]["entities"]
    assert out[1]["id"] is None and "invalid JSON" in out[1]["error"]
    assert "1 of 2 input lines" in _one_error_line(done)
