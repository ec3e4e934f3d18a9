"""File names and file types a hostile (or merely odd) tree holds, through every output.

- A name that is not valid UTF-8 (`b"evil\\xff.pkl"`: Linux names are bytes) is shown as
  `evil\\xff.pkl` — the undecodable byte backslash-escaped — the same way in JSON, CycloneDX,
  SARIF, HTML and the human summary, and every document is valid UTF-8.
- `-o FILE` is written atomically: a failure never leaves a truncated or 0-byte file.
- A FIFO, socket or device is reported as not a regular file and never opened (opening a FIFO
  blocks until a writer comes); a symlink loop is reported as a loop — neither is "no such
  file".
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sumun.cli.main import app
from sumun.scan import walk
from sumun.scan._names import display_name
from sumun.scan.engine import scan
from sumun.scan.model import Component, FileResult, Severity, Source
from sumun.scan.registry import Registry

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
# A pickle that calls os.system (bytes only; never unpickled): a critical finding on the file.
EVIL = b"\x80\x04cos\nsystem\n\x8c\necho pwned\x85R."
SHOWN = "evil\\xff.pkl"  # how b"evil\xff.pkl" is displayed


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    return subprocess.run(
        [*SUMUN, *args],
        capture_output=True,
        env={**env, "COLUMNS": "200"},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def write_bytes_name(folder: Path, name: bytes, data: bytes) -> None:
    fd = os.open(os.path.join(os.fsencode(folder), name), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.fixture
def badly_named(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    write_bytes_name(root, b"evil\xff.pkl", EVIL)
    return root


# --- names that are not UTF-8 -------------------------------------------------------------------


def test_display_name_escapes_only_what_is_not_text() -> None:
    assert display_name("모델/weights.safetensors") == "모델/weights.safetensors"
    assert display_name(os.fsdecode(b"bad\xff\xfe.bin")) == "bad\\xff\\xfe.bin"
    assert display_name("lone \ud800 surrogate") == "lone \\ud800 surrogate"


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [("json", ".json"), ("cyclonedx", ".cdx.json"), ("sarif", ".sarif"), ("html", ".html")],
)
def test_a_non_utf8_name_is_escaped_in_every_document(
    badly_named: Path, tmp_path: Path, fmt: str, suffix: str
) -> None:
    out = tmp_path / f"report{suffix}"
    done = run("scan", str(badly_named), "--format", fmt, "-o", str(out))
    assert done.returncode == 1, done.stderr  # the critical pickle finding
    assert b"Traceback" not in done.stderr
    text = out.read_bytes().decode("utf-8")  # strict: the document is valid UTF-8
    if fmt == "html":
        assert SHOWN in text
        return
    document = json.loads(text)
    if fmt == "json":
        assert {f["path"] for f in document["findings"]} == {SHOWN}
        assert [c["path"] for c in document["components"]] == [SHOWN]
    elif fmt == "cyclonedx":
        locations = [
            o["location"] for c in document["components"] for o in c["evidence"]["occurrences"]
        ]
        assert locations == [SHOWN]
        assert document["vulnerabilities"]  # the finding reached the BOM, on that component
    else:
        uris = {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in document["runs"][0]["results"]
        }
        assert uris == {"evil%5Cxff.pkl"}  # the display form, percent-encoded as a URI


def test_json_on_stdout_and_the_summary_are_valid_utf8(badly_named: Path) -> None:
    done = run("scan", str(badly_named), "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout.decode("utf-8"))
    assert document["components"][0]["name"] == SHOWN
    summary = run("scan", str(badly_named))
    assert SHOWN in summary.stdout.decode("utf-8")


def test_a_non_utf8_root_is_escaped(tmp_path: Path) -> None:
    root = os.path.join(os.fsencode(tmp_path), b"r\xe9sum\xe9")
    os.mkdir(root)
    write_bytes_name(Path(os.fsdecode(root)), b"model.pkl", EVIL)
    done = run("scan", os.fsdecode(root), "--json")
    document = json.loads(done.stdout.decode("utf-8"))
    assert document["summary"]["root"].endswith("r\\xe9sum\\xe9")


def test_tar_member_names_that_are_not_utf8_are_escaped(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo(os.fsdecode(b"../evil\xfe.pkl"))  # path traversal: a finding
        info.size = len(EVIL)
        archive.addfile(info, io.BytesIO(EVIL))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "bundle.tar").write_bytes(buf.getvalue())
    done = run("scan", str(tmp_path / "t"), "--json")
    document = json.loads(done.stdout.decode("utf-8"))
    members = {f.get("member") for f in document["findings"]}
    assert "../evil\\xfe.pkl" in members


def _surrogate_analyzer(source: Source) -> FileResult:
    # What an analyzer may pass on from file content: JSON allows "\ud800" (a lone surrogate).
    result = FileResult("pickle")
    result.findings.append(source.finding(Severity.LOW, "fake.note", "field \ud800 seen"))
    result.components.append(
        Component(
            "machine-learning-model",
            "name \udcff",
            path=source.path,
            properties=(("arch", "x\ud801"),),
        )
    )
    return result


def test_every_string_in_the_result_is_encodable(tmp_path: Path) -> None:
    write_bytes_name(tmp_path, b"m\xff.pkl", EVIL)
    registry = Registry(analyzers={"pickle": _surrogate_analyzer}, sniffers={}, folder=None)
    result = scan(tmp_path, workers=1, registry=registry)
    json.dumps(result.to_json(), ensure_ascii=False).encode("utf-8")  # strict
    assert result.findings[0].message == "field \\ud800 seen"
    assert result.components[0].name == "name \\xff"
    assert result.components[0].path == "m\\xff.pkl"
    assert dict(result.components[0].properties)["arch"] == "x\\ud801"


# --- the output file -----------------------------------------------------------------------------


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(
    badly_named: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    out.write_text("previous report\n")
    # A document that cannot be encoded stands for any failure while writing.
    monkeypatch.setattr("sumun.cli.scan.write_document", lambda result, fmt: "bad \udcff\n")
    result = CliRunner().invoke(app, ["scan", str(badly_named), "-o", str(out)])
    assert result.exit_code != 0
    assert out.read_text() == "previous report\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]


# --- FIFOs, sockets, symlink loops ---------------------------------------------------------------


def test_a_fifo_in_the_tree_is_reported_and_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "weights.pkl")
    (tmp_path / "ok.pkl").write_bytes(EVIL)
    planned = walk.plan(tmp_path)
    assert [t.path for t in planned.tasks if isinstance(t, walk.FileTask)] == ["ok.pkl"]
    assert [(f.path, f.rule, f.severity, f.message) for f in planned.findings] == [
        ("weights.pkl", "walk.not-regular", Severity.INFO, "not a regular file (FIFO); skipped")
    ]


def test_a_socket_and_a_symlink_to_it_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    if len(os.fsencode(path)) >= 100:
        pytest.skip("tmp path too long for an AF_UNIX socket")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        (tmp_path / "null").symlink_to("s.sock")  # a symlink to it, inside the root
        planned = walk.plan(tmp_path)
    assert planned.tasks == ()
    assert sorted((f.path, f.rule, f.message) for f in planned.findings) == [
        ("null", "walk.not-regular", "not a regular file (socket); skipped"),
        ("s.sock", "walk.not-regular", "not a regular file (socket); skipped"),
    ]


def test_a_fifo_given_as_the_path_is_not_no_such_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pkl"
    os.mkfifo(fifo)
    done = run("scan", str(fifo), "--json")
    assert done.returncode == 0, done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    assert (finding["path"], finding["rule"]) == ("pipe.pkl", "walk.not-regular")


def test_symlink_loops_are_reported_as_loops(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "self").symlink_to("self")
    planned = walk.plan(tmp_path)
    assert planned.tasks == ()
    assert sorted((f.path, f.rule, f.message) for f in planned.findings) == [
        ("a", "walk.symlink-loop", "symlink loop; not followed"),
        ("b", "walk.symlink-loop", "symlink loop; not followed"),
        ("self", "walk.symlink-loop", "symlink loop; not followed"),
    ]
    done = run("scan", str(tmp_path / "self"), "--json")
    assert done.returncode == 0, done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    assert (finding["path"], finding["rule"]) == ("self", "walk.symlink-loop")


def test_a_file_swapped_for_a_fifo_after_planning_is_not_opened_blocking(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "late.pkl"
    os.mkfifo(fifo)
    task = walk.FileTask("late.pkl", str(fifo), 0)
    outcome: list[BaseException | Source] = []

    def read() -> None:
        try:
            outcome.append(walk.file_source(task))
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # blocked in open(): let it go, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
        pytest.fail("file_source opened a FIFO and blocked")
    [error] = outcome
    assert isinstance(error, walk.NotRegularFileError)
    assert "FIFO" in str(error)


def test_an_output_path_that_is_a_directory_leaves_nothing_behind(
    badly_named: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "report.json").mkdir(parents=True)
    done = run("scan", str(badly_named), "-o", str(out / "report.json"))
    assert done.returncode == 2
    assert b"cannot write" in done.stderr and b"Traceback" not in done.stderr
    assert [p.name for p in out.iterdir()] == ["report.json"]
