"""Throughput of the Korean PII detector on one core, optionally against a baseline copy.

    python bench/bench_pii_speed.py [--reps N] [--cpu K] [--baseline REV] [--only WORKLOAD]
                                    [--profile WORKLOAD] [--json]

Workloads, built from the author corpus (tests/data/pii/corpus.jsonl): `mixed` — 400 8 KB
documents of Korean/English prose with a corpus record inserted after ~40 % of the ~700-byte
paragraphs, about one number every 650 bytes (the issue-5 target input, as bench/README.md
reports it); `prose` — the same prose without identifiers; `records` — the ~150-byte records
themselves (mostly identifiers: per-call cost dominates); `dense` — 200 8 KB documents made of
records only (shuffled, joined by blank lines: what `eval_pii.py --throughput` now calls its
mixed documents). MB is 10^6 UTF-8 bytes. Last, the p50 detection time of one 4 KB
Korean prompt (the first `mixed` document cut to 4096 bytes), calls alternating. The process
pins itself to one core (`os.sched_setaffinity`); each figure is the best of --reps passes,
and with --baseline the two detectors alternate pass by pass so that noise from other work on
a shared machine hits both alike.

--baseline REV also times the detector as it was at git revision REV (its `sumun.policy.pii`
files are read with `git show` into a temporary package), e.g. `--baseline HEAD` before a
commit. --profile runs cProfile on one workload and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.data.pii.documents import (  # noqa: E402
    PROSE,
    prose_documents,
    record_documents,
)

from sumun.policy.pii import Detector  # noqa: E402

Detect = Callable[[str], object]
WORKLOADS = ("mixed", "prose", "records", "dense")


def workloads(corpus: Path) -> dict[str, list[str]]:
    lines = corpus.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    return {
        "mixed": prose_documents(texts),
        "prose": [PROSE * 12] * 400,
        "records": texts * 4,
        "dense": record_documents(texts),
    }


def baseline_detector(rev: str) -> Detect:
    """`Detector().detect` from the `sumun.policy.pii` files at git revision `rev`."""
    pkg_dir = Path(tempfile.mkdtemp(prefix="pii_baseline_"))
    pkg = pkg_dir / "pii_baseline"
    pkg.mkdir()
    listing = ["git", "ls-tree", "--name-only", rev, "src/sumun/policy/pii/"]
    names = subprocess.run(listing, cwd=ROOT, capture_output=True, text=True, check=True)
    for name in names.stdout.split():
        if name.endswith(".py"):
            show = ["git", "show", f"{rev}:{name}"]
            source = subprocess.run(show, cwd=ROOT, capture_output=True, text=True, check=True)
            code = re.sub(r"\bsumun\.policy\.pii\b", "pii_baseline", source.stdout)
            (pkg / Path(name).name).write_text(code, encoding="utf-8")
    sys.path.insert(0, str(pkg_dir))
    try:
        detect: Detect = importlib.import_module("pii_baseline").Detector().detect
    finally:
        sys.path.remove(str(pkg_dir))
        shutil.rmtree(pkg_dir)  # every module is loaded by now
    return detect


def one_pass(detect: Detect, texts: list[str]) -> float:
    t0 = time.perf_counter()
    for t in texts:
        detect(t)
    return time.perf_counter() - t0


def measure(detectors: dict[str, Detect], texts: list[str], reps: int) -> dict[str, float]:
    """MB/s per detector, best of `reps` alternating passes."""
    size = sum(len(t.encode()) for t in texts)
    best = dict.fromkeys(detectors, float("inf"))
    for detect in detectors.values():
        one_pass(detect, texts[:20])  # warm-up
    for _ in range(reps):
        for name, detect in detectors.items():
            best[name] = min(best[name], one_pass(detect, texts))
    return {name: size / sec / 1e6 for name, sec in best.items()}


def prompt_4k(texts: list[str]) -> str:
    """A 4 KB Korean prompt: the first `mixed` document cut to 4096 UTF-8 bytes."""
    return prose_documents(texts, n_docs=1)[0].encode()[:4096].decode(errors="ignore")


def p50_us(detectors: dict[str, Detect], prompt: str, calls: int = 2000) -> dict[str, float]:
    """Median detection time of one prompt per detector, calls alternating between them."""
    times: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(calls):
        for name, detect in detectors.items():
            t0 = time.perf_counter()
            detect(prompt)
            times[name].append(time.perf_counter() - t0)
    return {name: sorted(ts)[len(ts) // 2] * 1e6 for name, ts in times.items()}


def profile(detect: Detect, texts: list[str], top: int = 25) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for t in texts:
        detect(t)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests/data/pii/corpus.jsonl")
    ap.add_argument("--baseline", metavar="REV", default=None, help="git revision to compare")
    ap.add_argument("--only", choices=WORKLOADS, action="append")
    ap.add_argument("--profile", choices=WORKLOADS, default=None)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[-1] if args.cpu is None else args.cpu
    os.sched_setaffinity(0, {cpu})
    loads = workloads(args.corpus)
    detectors: dict[str, Detect] = {"current": Detector().detect}
    if args.baseline is not None:
        detectors = {"baseline": baseline_detector(args.baseline), **detectors}
    if args.profile:
        profile(detectors["current"], loads[args.profile])
        return
    results: dict[str, dict[str, float]] = {}
    if not args.json:
        print(f"core {cpu}, best of {args.reps}; MB/s (10^6 UTF-8 bytes)")
    for name in args.only or list(loads):
        rates = measure(detectors, loads[name], args.reps)
        results[name] = {k: round(r, 1) for k, r in rates.items()}
        if not args.json:
            cells = "  ".join(f"{k} {r:7.1f}" for k, r in rates.items())
            ratio = f"  x{rates['current'] / rates['baseline']:.2f}" if "baseline" in rates else ""
            print(f"{name:<8} {cells}{ratio}")
    texts = loads["records"][: len(loads["records"]) // 4]
    p50 = {k: round(us, 1) for k, us in p50_us(detectors, prompt_4k(texts)).items()}
    if args.json:
        out = {"cpu": cpu, "reps": args.reps, "mb_per_s": results, "p50_us_4kb_prompt": p50}
        print(json.dumps(out, indent=2))
    else:
        cells = "  ".join(f"{k} {us:7.1f}" for k, us in p50.items())
        ratio = f"  x{p50['baseline'] / p50['current']:.2f}" if "baseline" in p50 else ""
        print(f"4 KB prompt, p50 µs: {cells}{ratio}")


if __name__ == "__main__":
    main()
