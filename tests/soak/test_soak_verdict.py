"""bench/soak.py's verdict on made-up runs: flat passes; a leak or a slower p99 fails.

The soak itself runs for minutes (`make soak`); its judgement is pure and checked here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", ROOT / "bench" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


soak = _load()
SECONDS, WINDOW, WARMUP = 600.0, 60.0, 120.0


def _run(
    *,
    rss_mb_per_min: float = 0.0,
    sockets_per_min: float = 0.0,
    files_per_min: float = 0.0,
    last_latency: float = 0.010,
    status: int = 200,
) -> list[dict[str, object]]:
    samples = [
        soak.Sample(
            t,
            int((100 + rss_mb_per_min * t / 60) * 1024),
            20 + int(files_per_min * t / 60),
            30 + int(sockets_per_min * t / 60) + (t % 7),  # connections come and go
        )
        for t in range(int(SECONDS))
    ]
    answers = [
        soak.Answer(
            t / 10,
            "chat",
            status if t == 5000 else 200,
            (last_latency if t / 10 >= SECONDS - WINDOW else 0.010) * (1 + (t % 100 == 0)),
        )
        for t in range(int(SECONDS * 10))
    ]
    windows = soak.windows_of(answers, samples, SECONDS, WINDOW)
    verdict = soak.judge(windows, samples, answers, warmup=WARMUP, bounds=soak.Bounds(), alive=True)
    return [c for c in verdict.checks if not c["ok"]]


def test_a_flat_run_passes() -> None:
    assert _run() == []


@pytest.mark.parametrize(
    ("run", "failed"),
    [
        ({"rss_mb_per_min": 6.0}, "RSS flat"),  # 48 MB over the 8 minutes after warm-up
        ({"sockets_per_min": 2.0}, "sockets flat"),
        ({"files_per_min": 0.5}, "files flat"),
        ({"last_latency": 0.030}, "p99 stable"),
        ({"status": 500}, "answers as expected"),
    ],
)
def test_a_leak_or_a_regression_fails(run: dict[str, Any], failed: str) -> None:
    assert [c["check"] for c in _run(**run)] == [failed]


def test_small_rss_growth_is_within_bounds() -> None:
    assert _run(rss_mb_per_min=0.5) == []  # 4 MB: caches settling, not a leak
