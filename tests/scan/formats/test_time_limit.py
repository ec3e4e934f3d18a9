"""The per-file time limit: a file whose analysis stalls gets `scan.timeout` and the scan goes
on — inline and in worker processes, for Python loops, blocking calls and a crafted huge file;
a stall that ignores the soft limit ends its worker (hard limit); the limit can be changed or
turned off, and leaves no timer or signal handler behind."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from sumun.errors import UsageError
from sumun.scan import engine
from sumun.scan.engine import scan
from sumun.scan.model import FileResult, ScanResult, Severity, Source
from sumun.scan.registry import Registry
from sumun.scan.walk import Limits
from tests.data.scan import gen_misses as gen

# pytest-timeout's default method owns SIGALRM, and the engine leaves a SIGALRM handler it did
# not install alone (no soft limit inline); its thread method leaves SIGALRM free.
pytestmark = pytest.mark.timeout(120, method="thread")


# Analyzers injected through a Registry (module level: they pickle by reference to workers).
def spin_forever(source: Source) -> FileResult:
    while True:
        pass


def sleep_forever(source: Source) -> FileResult:
    time.sleep(3600)
    return FileResult("pickle")


def ignore_the_soft_limit(source: Source) -> FileResult:
    while True:
        try:
            while True:
                pass
        except BaseException:  # noqa: S110 - a hostile stall swallowing the soft limit
            pass


def sleep_a_little(source: Source) -> FileResult:
    time.sleep(0.4)
    return FileResult("pickle")


def quick(source: Source) -> FileResult:
    return FileResult("npy", [source.finding(Severity.INFO, "npy.seen", "analyzed")])


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "slow.pkl").write_bytes(b"\x80\x04K\x01.")
    (tmp_path / "fine.npy").write_bytes(b"\x93NUMPY\x01\x00" + bytes(16))
    return tmp_path


def _registry(slow: object) -> Registry:
    return Registry(analyzers={"pickle": slow, "npy": quick}, sniffers={}, folder=None)  # type: ignore[dict-item]


def _rules(result: ScanResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in result.findings:
        out.setdefault(f.path, []).append(f.rule)
    return out


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("slow", [spin_forever, sleep_forever])
def test_a_stalling_file_times_out_and_the_scan_goes_on(
    tmp_path: Path, workers: int, slow: object
) -> None:
    started = time.monotonic()
    result = scan(_tree(tmp_path), workers=workers, registry=_registry(slow), time_limit=0.5)
    assert time.monotonic() - started < 10
    rules = _rules(result)
    assert rules["slow.pkl"] == ["scan.timeout"]
    assert rules["fine.npy"] == ["npy.seen"]
    (timeout,) = [f for f in result.findings if f.rule == "scan.timeout"]
    assert timeout.severity is Severity.MEDIUM
    assert timeout.message.startswith("analysis timed out after")
    assert result.files == 2


def test_a_stall_that_swallows_the_soft_limit_ends_its_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "_HARD_GRACE", 0.5)  # inherited by the forked workers
    started = time.monotonic()
    result = scan(
        _tree(tmp_path), workers=2, registry=_registry(ignore_the_soft_limit), time_limit=0.3
    )
    assert time.monotonic() - started < 30
    rules = _rules(result)
    assert rules["slow.pkl"] == ["scan.analyzer-error"]
    assert rules["fine.npy"] == ["npy.seen"]


def test_the_limit_can_be_raised_or_turned_off(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    assert _rules(scan(tree, workers=1, registry=_registry(sleep_a_little), time_limit=0.1))[
        "slow.pkl"
    ] == ["scan.timeout"]
    assert "slow.pkl" not in _rules(
        scan(tree, workers=1, registry=_registry(sleep_a_little), time_limit=0)
    )
    limits = Limits(time_limit=5.0)
    assert "slow.pkl" not in _rules(
        scan(tree, workers=1, registry=_registry(sleep_a_little), limits=limits)
    )
    with pytest.raises(UsageError):
        scan(tree, time_limit=-1)


def test_a_crafted_huge_savedmodel_times_out_with_the_real_analyzer(tmp_path: Path) -> None:
    node = gen.tf_node("n", "AddV2", ["a", "b"])
    graph = (gen.pb_bytes(1, node)) * 400_000  # ~10 MB of nodes: seconds of parsing
    data = gen.saved_model_bytes([gen.tf_meta_graph(graph)])
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "saved_model.pb").write_bytes(data)
    (tmp_path / "m" / "small").mkdir()
    (tmp_path / "m" / "small" / "saved_model.pb").write_bytes(gen.tf2_model())
    started = time.monotonic()
    result = scan(tmp_path, workers=1, time_limit=0.2)
    assert time.monotonic() - started < 8
    rules = _rules(result)
    assert rules["m/saved_model.pb"] == ["scan.timeout"]
    assert "m/small/saved_model.pb" not in rules  # analyzed, clean
    assert any(c.path == "m/small/saved_model.pb" for c in result.components)


def test_no_timer_or_handler_is_left_behind(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGALRM)
    scan(_tree(tmp_path), workers=1, registry=_registry(sleep_a_little), time_limit=0.1)
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_application_alarm_handler_is_respected() -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not ours to trigger")

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        assert not engine._can_alarm()
        with engine._deadline(0.01):
            time.sleep(0.05)  # no soft limit: the application's handler is not replaced
        assert signal.getsignal(signal.SIGALRM) is mine
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_no_soft_limit_off_the_main_thread() -> None:
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.append(engine._can_alarm()))
    thread.start()
    thread.join()
    assert seen == [False]


def test_the_limit_grows_with_the_file() -> None:
    limits = Limits(time_limit=30.0)
    assert engine._limit_for(limits, 0) == 30.0
    assert engine._limit_for(limits, 64 << 30) == pytest.approx(30.0 + 1024)
    assert engine._limit_for(Limits(time_limit=None), 1 << 30) is None
