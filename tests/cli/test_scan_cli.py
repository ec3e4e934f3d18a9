"""`sumun scan` as a person and a CI job run it: exit codes, formats, stdout/stderr discipline."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sumun.cli.main import app

SUMUN = [sys.executable, "-m", "sumun.cli.main"]


def run(*args: str, stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    return subprocess.run(
        [*SUMUN, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=60,
        check=False,
    )


@pytest.fixture
def risky(tmp_path: Path) -> Path:
    """A tree whose verdict does not depend on any format analyzer: a zip-slip archive."""
    root = tmp_path / "risky"
    root.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("../../outside.sh", "echo pwned\n")
    (root / "[bold]release.zip").write_bytes(buf.getvalue())
    return root


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    root = tmp_path / "clean"
    root.mkdir()
    (root / "NOTES.txt").write_text("nothing to see\n")
    return root


def test_nonexistent_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped error
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "no such file or directory" in lines[0] and "Traceback" not in result.stderr


def test_high_findings_exit_1_and_json_is_one_object(risky: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(risky), "--json"])
    assert result.exit_code == 1, result.output
    assert result.stderr == ""  # no progress bar: stderr is not a terminal
    doc = json.loads(result.stdout)
    assert set(doc) == {"findings", "components", "summary"}
    (finding,) = doc["findings"]
    assert finding["rule"] == "archive.path-traversal" and finding["severity"] == "high"
    assert finding["path"] == "[bold]release.zip" and finding["member"] == "../../outside.sh"


def test_progress_goes_to_a_terminal_stderr_never_to_stdout(risky: Path) -> None:
    """A real `sumun` process, with stderr on a pseudo-terminal and stdout on a pipe."""
    leader, follower = os.openpty()
    try:
        done = run("scan", str(risky), "--format", "json", stderr=follower)
        os.close(follower)
        follower = -1
        seen = b""
        while select.select([leader], [], [], 0.5)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 1
    assert b"scanning" in seen
    assert json.loads(done.stdout)["summary"]["files"] == 1


def test_human_summary_by_default_and_exit_0_when_clean(clean: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(clean)])
    assert result.exit_code == 0, result.output
    assert "Scanned" in result.stdout and "critical 0" in result.stdout


def test_summary_shows_file_names_literally(risky: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(risky)])
    assert result.exit_code == 1
    assert "[bold]release.zip" in result.stdout  # not taken as rich markup


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("cyclonedx", lambda text: json.loads(text)["specVersion"] == "1.6"),
        ("sarif", lambda text: json.loads(text)["version"] == "2.1.0"),
        ("html", lambda text: text.startswith("<!DOCTYPE html>")),
        ("json", lambda text: "findings" in json.loads(text)),
    ],
)
def test_formats_on_stdout(risky: Path, fmt: str, check: object) -> None:
    result = CliRunner().invoke(app, ["scan", str(risky), "--format", fmt])
    assert result.exit_code == 1
    assert callable(check) and check(result.stdout)


def test_output_file_infers_the_format_and_keeps_the_summary(risky: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["scan", str(risky), "-o", str(target)])
    assert result.exit_code == 1
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "Scanned" in result.stdout
    sarif = tmp_path / "scan.sarif"
    CliRunner().invoke(app, ["scan", str(risky), "-o", str(sarif)])
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", "--format", "html"], "--json means --format json"),
        (["--workers", "0"], "at least 1"),
    ],
)
def test_usage_errors_exit_2(clean: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["scan", str(clean), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_record_keeps_the_result_for_the_compliance_report(risky: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    done = subprocess.run(
        [*SUMUN, "--home", str(home), "scan", str(risky), "--record", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the zip-slip archive is high
    latest = json.loads((home / "scans" / "latest.json").read_text(encoding="utf-8"))
    assert latest["findings"] == json.loads(done.stdout)["findings"]
    assert "scanned_at" in latest
