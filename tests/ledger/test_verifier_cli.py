"""`python -m sumun.ledger.verifier DIR [--key VKEY]`: one line out, exit 0 / 1 / 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sumun.ledger.note import Ed25519Signer
from sumun.ledger.tiles import bundle_path, export_tiles
from sumun.ledger.verifier import main
from tests.ledger._tree import MemoryTree

ORIGIN = "ledger.example/cli"
KEY = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
OTHER = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = MemoryTree.of(300)
    out = tmp_path_factory.mktemp("cli")
    export_tiles(
        out,
        size=300,
        get_nodes=tree.get_nodes,
        entries=tree.entries,
        checkpoint_note=tree.checkpoint(ORIGIN, 300, [KEY]),
        vkeys=[KEY.vkey()],
    )
    return out


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-m", "sumun.ledger.verifier", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_ok_with_a_pinned_key(export_dir: Path) -> None:
    done = run(str(export_dir), "--key", KEY.vkey(), "--origin", ORIGIN)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith(f"OK: {ORIGIN} size 300 root ")
    assert "keys pinned by --key" in done.stdout
    assert done.stderr == ""


def test_without_a_pinned_key_it_refuses_unless_told_and_then_warns(export_dir: Path) -> None:
    refused = run(str(export_dir))
    assert refused.returncode == 2 and "--key" in refused.stderr and "out of band" in refused.stderr
    done = run(str(export_dir), "--unpinned")
    assert done.returncode == 0
    assert "from verifier.key (unpinned; use --key)" in done.stdout
    assert "WARNING: UNPINNED" in done.stderr


def test_json_output(export_dir: Path) -> None:
    done = run(str(export_dir), "--key", KEY.vkey(), "--json")
    result = json.loads(done.stdout)
    assert done.returncode == 0
    assert result["ok"] is True
    assert (result["origin"], result["size"], result["keys_pinned"]) == (ORIGIN, 300, True)


def test_wrong_key_fails_with_exit_1(export_dir: Path) -> None:
    done = run(str(export_dir), "--key", OTHER.vkey())
    assert done.returncode == 1
    assert done.stdout == "FAIL: note has no valid signature by a known key\n"


def test_corruption_fails_with_exit_1(export_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in export_dir.rglob("*"):
        if path.is_file():
            target = broken / path.relative_to(export_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    bundle = broken / bundle_path(0)
    data = bytearray(bundle.read_bytes())
    data[5] ^= 1  # inside entry 0
    bundle.write_bytes(bytes(data))
    done = run(str(broken), "--key", KEY.vkey(), "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["ok"] is False
    assert result["error"].startswith("entry 0: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: directory"),
        (("/nonexistent/export",), "is not a directory"),
        (("{dir}", "--key", "not-a-key"), "--key 'not-a-key'"),
        (("{dir}", "--bogus"), "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_exit_2(export_dir: Path, args: tuple[str, ...], message: str) -> None:
    done = run(*(a.format(dir=export_dir) for a in args))
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_main_in_process(export_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(export_dir), "--key", KEY.vkey()]) == 0
    assert capsys.readouterr().out.startswith("OK: ")
    assert main([str(export_dir), "--key", OTHER.vkey()]) == 1
    assert main([]) == 2
