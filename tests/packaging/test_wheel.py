"""The wheel installs like a product: built from a copy of the sources, installed into a
fresh venv outside the checkout, it serves `sumun demo`, answers the OpenAI SDK, and finds its
own data files (templates, catalogs, YAML tables, console assets) from a directory that has
no checkout in sight.

Skipped locally when the `build` package is missing; in CI (CI=1) that is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import selectors
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.ci import missing

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "sumun"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv[:4]} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    drop = ("SUMUN_", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(NO_PROXY="*", **extra)
    return env


def _data_files() -> set[str]:
    """Every file the package reads at run time: all but Python sources and caches."""
    return {
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }


def _build_wheel(tmp_path: Path) -> Path:
    """`python -m build --wheel` on a copy of the sources (the checkout stays untouched)."""
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "src",
        tree / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(tree)],
        cwd=tmp_path,
        env=_clean_env(),
    )
    (wheel,) = dist.glob("sumun-*.whl")
    return wheel


def _start_demo(sumun: Path, home: Path, cwd: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    log = (home.parent / "demo.log").open("wb")
    proc = subprocess.Popen(
        [str(sumun), "demo", "--port", "0", "--json"],
        cwd=cwd,
        env=_clean_env(SUMUN_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(60)
    first = proc.stdout.readline() if ready else ""
    if not first:
        proc.kill()
        proc.wait(10)
        tail = (home.parent / "demo.log").read_text(errors="replace")[-2000:]
        raise AssertionError(f"the installed `sumun demo` did not start:\n{tail}")
    return proc, json.loads(first)


_SDK_CALL = textwrap.dedent(
    """
    import sys
    from openai import OpenAI

    client = OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0, timeout=30)
    reply = client.chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "안녕하세요"}]
    )
    print(reply.choices[0].message.content)
    """
)


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    if importlib.util.find_spec("build") is None:
        missing("the `build` package (pip install -c constraints.txt build)")
    wheel = _build_wheel(tmp_path)

    with zipfile.ZipFile(wheel) as archive:
        packed = set(archive.namelist())
    absent = sorted(_data_files() - packed)
    assert not absent, f"data files missing from the wheel: {absent}"

    venv = tmp_path / "venv"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _run([sys.executable, "-m", "venv", str(venv)], cwd=outside, env=_clean_env())
    python = venv / "bin" / "python"
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",  # bytecode is written on first import; saves a third of the time
            "-c",
            str(ROOT / "constraints.txt"),
            str(wheel),
            "openai",
        ],
        cwd=outside,
        env=_clean_env(),
    )
    sumun = venv / "bin" / "sumun"
    # The installed package, not the checkout's sources.
    where = _run(
        [str(python), "-c", "import sumun; print(sumun.__file__)"], cwd=outside, env=_clean_env()
    )
    assert str(venv) in where and str(ROOT) not in where

    assert _run([str(sumun), "version"], cwd=outside, env=_clean_env()).startswith("sumun ")

    home = tmp_path / "demo-home"
    proc, ready = _start_demo(sumun, home, outside)
    try:
        answer = _run(
            [str(python), "-c", _SDK_CALL, f"{ready['base_url']}/v1", ready["api_key"]],
            cwd=outside,
            env=_clean_env(),
            timeout=60,
        )
        assert answer.strip(), "the SDK call returned no text"
        doctor = json.loads(
            _run(
                [str(sumun), "doctor", "--json"],
                cwd=outside,
                env=_clean_env(SUMUN_HOME=str(home)),
                timeout=60,
            )
        )
        assert doctor["ok"] is True, doctor
    finally:
        proc.terminate()
        proc.wait(30)

    # Packaged data: the scanner's YAML tables (pickle policy, jurisdictions) and HTML template.
    project = tmp_path / "project"
    project.mkdir()
    (project / "client.py").write_text(
        'from openai import OpenAI\nclient = OpenAI(base_url="https://api.openai.com/v1")\n',
        encoding="utf-8",
    )
    (project / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    report = tmp_path / "scan.html"
    done = subprocess.run(
        [str(sumun), "scan", str(project), "--format", "html", "--output", str(report)],
        cwd=outside,
        env=_clean_env(SUMUN_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: findings, as documented
    assert "Traceback" not in done.stderr
    html = report.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "api.openai.com" in html
