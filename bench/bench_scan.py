"""`sumun scan` vs modelscan (and picklescan) on the same tree, in one run.

    python bench/bench_scan.py [--quick] [--json] [--workers N] [--repeat N]

The tree (built on the fly under bench/, on this disk, and deleted afterwards): the labelled
scanner corpus (tests/data/scan, every generator), a 256 MB PyTorch zip checkpoint with 219
transformer-style tensors, a 256 MB safetensors file, a many-opcode pickle (sklearn/joblib-
like) — and one PyTorch checkpoint of 1 GiB (one 1 GiB storage member). `--quick`: no 1 GiB
file and 1/16 of the other sizes. `--with-code` adds ~150 real Python modules (a copy of the
interpreter's standard library) as application code; `--executors` also times `scan()` inline,
on a process pool and on a thread pool.

Each tool runs as its own subprocess on a warm page cache: `sumun scan TREE --format json` and
`modelscan scan -p TREE -r json` (modelscan 0.8.8, installed on first use into
bench/.venv-modelscan with picklescan 1.0.5; never a Sumun dependency). picklescan's own
directory walk aborts on the first malformed pickle, so it runs through a per-file driver
(timed too, for reference). Memory: the peak of the summed proportional set size (PSS) over
the tool's whole process tree, and the largest single process's peak RSS (VmHWM), both
sampled from /proc every 20 ms. CPU: user + system seconds of the tool and the workers it
reaped (os.wait4), the figure a loaded machine distorts least. Detection: per corpus
category, how many malicious samples each tool flags (any issue on the file or a member of
it) and how many benign samples it flags.

The tools run alternating, `--repeat` rounds (default 3); each keeps its best wall time (the
machine is shared and noisy) and the highest memory seen. Sumun also runs with `--cache` on a
cache filled by one cold scan first: the time of a CI rescan of an unchanged tree.

Targets: Sumun wall time <= 0.5x modelscan's while hashing every model file (issue 15; issue
6 had asked 1/5); peak memory <= 200 MB whatever the file size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _venv import ensure_venv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.data.scan.gen_pickle import PID, G, R, dumps  # noqa: E402
from tests.data.scan.make_corpus import Sample, build  # noqa: E402

from sumun import __version__  # noqa: E402

MODELSCAN_VERSION = "0.8.8"
PICKLESCAN_VERSION = "1.0.5"
VENV = ROOT / "bench" / ".venv-modelscan"
BIG_BYTES = 1 << 30
CHUNK = 8 << 20

_PICKLESCAN_DRIVER = r"""
import json, os, sys
from picklescan.scanner import scan_file_path
root = sys.argv[1]
out = {}
for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        try:
            r = scan_file_path(path)
            out[rel] = {"issues": r.issues_count, "infected": r.infected_files, "error": r.scan_err}
        except Exception as exc:
            out[rel] = {"crash": type(exc).__name__}
json.dump(out, sys.stdout)
"""


# --- the tools ----------------------------------------------------------------------------------


def ensure_tools() -> bool:
    """modelscan + picklescan in their own venv (bench only; never a Sumun dependency)."""
    requirements = [f"modelscan=={MODELSCAN_VERSION}", f"picklescan=={PICKLESCAN_VERSION}"]
    return ensure_venv(VENV, requirements, (VENV / "bin" / "modelscan").exists)


@dataclass
class Run:
    tool: str
    wall_s: float
    exit_code: int
    peak_pss_mb: float  # summed over the process tree, sampled
    peak_rss_mb: float  # largest single process (VmHWM, sampled)
    processes: int  # most processes alive at once
    cpu_s: float = 0.0
    files_per_s: float = 0.0
    mb_per_s: float = 0.0
    flagged: dict[str, str] = field(default_factory=dict, repr=False)  # path -> why


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _hwm_kb(pid: int) -> int:
    """VmHWM: the process's own peak RSS (reset at exec, unlike wait4's ru_maxrss, which
    inherits the high-water mark of the process that forked it)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(tool: str, argv: list[str], stdout: Path) -> Run:
    """Run `argv` to completion, sampling its process tree's memory every 20 ms."""
    with stdout.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        peak_pss = peak_rss = most = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree = _tree(proc.pid)
            most = max(most, len(tree))
            peak_pss = max(peak_pss, sum(_pss_kb(p) for p in tree))
            peak_rss = max([peak_rss, *(_hwm_kb(p) for p in tree)])
            time.sleep(0.02)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        tool,
        round(wall, 3),
        proc.returncode,
        round(peak_pss / 1024, 1),
        round(peak_rss / 1024, 1),
        most,
        # user + system CPU of the tool and every process it waited for (its workers): what a
        # busy machine cannot inflate the way it inflates wall time
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
    )


def run_sumun(tree: Path, work: Path, workers: int | None, cache: Path | None = None) -> Run:
    argv = [sys.executable, "-m", "sumun.cli.main", "scan", str(tree), "--format", "json"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    tool = f"sumun {__version__}"
    if cache is not None:
        argv += ["--cache", str(cache)]
        tool += " --cache (warm: rescan)"
    out = work / "sumun.json"
    run = measure(tool, argv, out)
    doc = json.loads(out.read_text())
    for f in doc["findings"]:
        if f["severity"] in ("critical", "high"):
            run.flagged.setdefault(f["path"], f["rule"])
    return run


def run_modelscan(tree: Path, work: Path) -> Run:
    report = work / "modelscan.json"
    argv = [str(VENV / "bin" / "modelscan"), "scan", "-p", str(tree), "-r", "json"]
    run = measure(f"modelscan {MODELSCAN_VERSION}", [*argv, "-o", str(report)], work / "ms.out")
    if report.exists():
        for issue in json.loads(report.read_text()).get("issues", []):
            path = str(issue.get("source", "")).split(":", 1)[0]
            run.flagged.setdefault(path, str(issue.get("operator", issue.get("severity"))))
    return run


def run_picklescan(tree: Path, work: Path) -> Run:
    argv = [str(VENV / "bin" / "python"), "-c", _PICKLESCAN_DRIVER, str(tree)]
    out = work / "picklescan.json"
    run = measure(f"picklescan {PICKLESCAN_VERSION} (per-file driver)", argv, out)
    with contextlib.suppress(ValueError):
        for path, res in json.loads(out.read_text()).items():
            if res.get("infected") or res.get("issues"):
                run.flagged[path] = "dangerous global"
    return run


# --- the tree -----------------------------------------------------------------------------------

_LAYER = (
    ("self_attn.q_proj.weight", 2),
    ("self_attn.k_proj.weight", 2),
    ("self_attn.v_proj.weight", 2),
    ("self_attn.o_proj.weight", 2),
    ("mlp.gate_proj.weight", 2),
    ("mlp.up_proj.weight", 2),
    ("mlp.down_proj.weight", 2),
    ("input_layernorm.weight", 1),
    ("post_attention_layernorm.weight", 1),
)


def _tensor(key: str, numel: int, shape: tuple[int, ...]) -> R:
    stride = tuple(int(_prod(shape[i + 1 :])) for i in range(len(shape)))
    pid = PID(("storage", G("torch", "BFloat16Storage"), key, "cpu", numel))
    hooks = R(G("collections", "OrderedDict"))
    return R(G("torch._utils", "_rebuild_tensor_v2"), (pid, 0, shape, stride, False, hooks))


def _prod(values: Iterable[int]) -> int:
    total = 1
    for v in values:
        total *= v
    return total


def _write_member(
    archive: zipfile.ZipFile, name: str, size: int, fill: Callable[[int], bytes]
) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    with archive.open(info, "w", force_zip64=size > (1 << 31)) as member:
        left = size
        while left:
            n = min(CHUNK, left)
            member.write(fill(n))
            left -= n


def torch_checkpoint(path: Path, total_bytes: int, layers: int) -> None:
    """A `torch.save` zip of a decoder-only transformer's state_dict, storages of about
    `total_bytes` in all (bf16), written streaming."""
    names = [(f"model.layers.{i}.{n}", d) for i in range(layers) for n, d in _LAYER]
    names += [("model.embed_tokens.weight", 2), ("model.norm.weight", 1), ("lm_head.weight", 2)]
    weight = sum(d for _, d in names)
    unit = max(64, total_bytes // weight // 2)  # elements per "dimension unit"
    items, sizes = [], []
    for key_index, (name, dims) in enumerate(names):
        shape = (unit // 64, 64) if dims == 2 else (64,)
        numel = _prod(shape)
        items.append((name, _tensor(str(key_index), numel, shape)))
        sizes.append(numel * 2)
    state = R(G("collections", "OrderedDict"), items=tuple(items))
    folder = path.stem
    rng = random.Random(7)
    noise = rng.randbytes(CHUNK)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{folder}/data.pkl", dumps(state, 2))
        archive.writestr(f"{folder}/byteorder", b"little")
        for key, size in enumerate(sizes):
            _write_member(archive, f"{folder}/data/{key}", size, lambda n: noise[:n])
        archive.writestr(f"{folder}/version", b"3\n")


def big_checkpoint(path: Path, size: int) -> None:
    """One tensor with a `size`-byte storage: the ≥ 1 GiB file."""
    numel = size // 4
    state = R(
        G("collections", "OrderedDict"),
        items=(("embed.weight", _tensor("0", numel, (numel // 4096, 4096))),),
    )
    folder = path.stem
    zeros = bytes(CHUNK)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{folder}/data.pkl", dumps(state, 2))
        archive.writestr(f"{folder}/byteorder", b"little")
        _write_member(archive, f"{folder}/data/0", numel * 4, lambda n: zeros[:n])
        archive.writestr(f"{folder}/version", b"3\n")


def safetensors_file(path: Path, size: int) -> None:
    count = 64
    per = size // count // 4 * 4
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    for i in range(count):
        header[f"layer.{i}.weight"] = {
            "dtype": "F32",
            "shape": [per // 4],
            "data_offsets": [i * per, (i + 1) * per],
        }
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    block = random.Random(3).randbytes(CHUNK)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        left = per * count
        while left:
            n = min(CHUNK, left)
            out.write(block[:n])
            left -= n


def joblib_like(path: Path, numbers: int) -> None:
    """A pickle with many opcodes (a fitted model's Python-object state): the CPU-bound case."""
    rng = random.Random(5)
    obj = {
        "coef_": [rng.random() for _ in range(numbers)],
        "classes_": [f"class-{i}" for i in range(numbers // 10)],
        "n_features_in_": numbers,
    }
    path.write_bytes(dumps(obj, 4))


def build_tree(root: Path, *, quick: bool, code: bool = False) -> tuple[list[Sample], int]:
    samples = [(f"corpus/{p}", label, t) for p, label, t in build(root / "corpus")]
    if code:
        app = root / "app"
        app.mkdir()
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        for source in sorted(stdlib.glob("*.py"))[:150]:
            shutil.copyfile(source, app / source.name)
    models = root / "models"
    models.mkdir()
    scale = 16 if quick else 1
    torch_checkpoint(models / "decoder.pt", (256 << 20) // scale, 24)
    safetensors_file(models / "model.safetensors", (256 << 20) // scale)
    joblib_like(models / "classifier.pkl", 400_000 // scale)
    big = 0
    if not quick:
        big_checkpoint(models / "big-checkpoint.pt", BIG_BYTES)
        big = (models / "big-checkpoint.pt").stat().st_size
    return samples, big


def _warm(root: Path) -> tuple[int, int]:
    files = size = 0
    buffer = bytearray(CHUNK)
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            files += 1
            size += path.stat().st_size
            with path.open("rb") as handle:
                while handle.readinto(buffer):
                    pass
    return files, size


_EXECUTOR_PROBE = r"""
import json, os, sys, threading, time
from pathlib import Path
from sumun.scan import engine

inner = engine._run_batch  # wrapped to charge each batch's CPU time to its worker


def timed(batch, registry, limits):
    start = time.thread_time()
    out = inner(batch, registry, limits)
    spent = int((time.thread_time() - start) * 1e6)
    out[0].formats[f"cpu:{os.getpid()}:{threading.get_ident()}"] += spent
    return out


engine._run_batch = timed
workers, kind = int(sys.argv[2]), sys.argv[3]
started = time.perf_counter()
result = engine.scan(Path(sys.argv[1]), workers=workers, executor=kind)
wall = time.perf_counter() - started
per = [v / 1e6 for k, v in result.formats.items() if k.startswith("cpu:")]
print(json.dumps({"wall_s": round(wall, 3), "worker_cpu_s": sorted(round(v, 2) for v in per)}))
"""


def compare_executors(tree: Path) -> list[dict[str, Any]]:
    """`scan()` in a fresh interpreter per mode: wall time, and the analysis CPU time each
    worker spent. On a busy machine wall times say little; the CPU split does: a process
    pool's critical path is its busiest worker, a thread pool's is the sum (the GIL)."""
    cores = len(os.sched_getaffinity(0))
    modes = [("inline", 1, "process"), (f"{cores} processes", cores, "process")]
    modes.append((f"{cores} threads", cores, "thread"))
    out = []
    for label, workers, kind in modes:
        done = subprocess.run(
            [sys.executable, "-c", _EXECUTOR_PROBE, str(tree), str(workers), kind],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        out.append({"mode": label, **json.loads(done.stdout)})
    return out


# --- detection ----------------------------------------------------------------------------------


def detection(samples: list[Sample], run: Run) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    flagged = list(run.flagged)
    for path, label, _ in samples:
        category = path.split("/")[1]
        row = table.setdefault(
            category, {"malicious": 0, "flagged": 0, "missed": 0, "benign": 0, "false_pos": 0}
        )
        hit = any(f == path or f.startswith(path.rstrip("/") + "/") for f in flagged)
        if label == "malicious":
            row["malicious"] += 1
            row["flagged" if hit else "missed"] += 1
        elif label == "benign":
            row["benign"] += 1
            row["false_pos"] += hit
    return table


def best_of(rounds: list[list[Run]]) -> list[Run]:
    """Per tool (the tools ran alternating, round after round): the fastest run's wall time
    and detection, the least CPU, and the highest memory seen over every round."""
    best: list[Run] = []
    for column in zip(*rounds, strict=True):
        fastest = min(column, key=lambda r: r.wall_s)
        fastest.peak_pss_mb = max(r.peak_pss_mb for r in column)
        fastest.peak_rss_mb = max(r.peak_rss_mb for r in column)
        fastest.processes = max(r.processes for r in column)
        fastest.cpu_s = min(r.cpu_s for r in column)
        best.append(fastest)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="no 1 GiB file, smaller models")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--skip-modelscan", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternate the tools N times; best wall per tool"
    )
    parser.add_argument(
        "--with-code", action="store_true", help="add ~150 stdlib modules as application code"
    )
    parser.add_argument(
        "--executors",
        action="store_true",
        help="also time scan() in-process: inline vs a process pool vs a thread pool",
    )
    args = parser.parse_args()
    need = (BIG_BYTES if not args.quick else 0) + (700 << 20)
    free = shutil.disk_usage(ROOT / "bench").free
    if free < 2 * need:
        print(f"not enough free disk under bench/: {free >> 20} MiB", file=sys.stderr)
        return 2
    res: dict[str, Any] = {"quick": args.quick}
    work = Path(tempfile.mkdtemp(dir=ROOT / "bench", prefix=".scan-bench-"))
    try:
        tree = work / "tree"
        tree.mkdir()
        started = time.perf_counter()
        samples, big = build_tree(tree, quick=args.quick, code=args.with_code)
        files, size = _warm(tree)
        res |= {"files": files, "bytes": size, "big_file_bytes": big}
        res["build_s"] = round(time.perf_counter() - started, 1)
        cache = work / "sumun-cache"
        run_sumun(tree, work, args.workers, cache)  # fills the cache (a cold scan)
        tools: list[Callable[[], Run]] = [
            lambda: run_sumun(tree, work, args.workers),
            lambda: run_sumun(tree, work, args.workers, cache),
        ]
        if not args.skip_modelscan and ensure_tools():
            tools += [lambda: run_modelscan(tree, work), lambda: run_picklescan(tree, work)]
        runs = best_of([[tool() for tool in tools] for _ in range(max(1, args.repeat))])
        res["repeat"] = max(1, args.repeat)
        for run in runs:
            run.files_per_s = round(files / run.wall_s, 1)
            run.mb_per_s = round(size / 1e6 / run.wall_s, 1)
        res["runs"] = [{k: v for k, v in asdict(r).items() if k != "flagged"} for r in runs]
        res["detection"] = {r.tool: detection(samples, r) for r in runs}
        if len(runs) > 2:
            res["wall_ratio_sumun_over_modelscan"] = round(runs[0].wall_s / runs[2].wall_s, 3)
            res["wall_ratio_cached_over_modelscan"] = round(runs[1].wall_s / runs[2].wall_s, 3)
        if args.executors:
            res["executors"] = compare_executors(tree)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        _print(res)
    return 0


def _print(res: dict[str, Any]) -> None:
    big = res["big_file_bytes"]
    extra = f", incl. one {big / (1 << 30):.2f} GiB checkpoint" if big else ""
    print(
        f"Scanner benchmark — {res['files']} files, {res['bytes'] / 1e6:,.0f} MB{extra}"
        f" (tree built in {res['build_s']} s; page cache warm)"
    )
    head = ("wall s", "CPU s", "files/s", "MB/s", "PSS tree MB", "max RSS MB", "procs", "exit")
    print(f"  {'tool':44} " + " ".join(f"{h:>11}" for h in head))
    for r in res["runs"]:
        cells = (
            f"{r['wall_s']:.2f}",
            f"{r['cpu_s']:.2f}",
            f"{r['files_per_s']:.1f}",
            f"{r['mb_per_s']:.1f}",
            f"{r['peak_pss_mb']:.1f}",
            f"{r['peak_rss_mb']:.1f}",
            str(r["processes"]),
            str(r["exit_code"]),
        )
        print(f"  {r['tool']:44} " + " ".join(f"{c:>11}" for c in cells))
    print(f"  (best wall of {res.get('repeat', 1)} alternating rounds; memory: highest seen)")
    ratio = res.get("wall_ratio_sumun_over_modelscan")
    if ratio is not None:
        cached = res["wall_ratio_cached_over_modelscan"]
        print(f"  wall time Sumun / modelscan = {ratio:.3f} (target <= 0.5, issue 15)")
        print(f"  wall time Sumun --cache rescan / modelscan = {cached:.3f}")
    print("  peak memory target: <= 200 MB (PSS summed over Sumun's processes)")
    for row in res.get("executors", []):
        cpu = ", ".join(f"{c:.2f}" for c in row["worker_cpu_s"])
        print(
            f"  scan() {row['mode']:14} wall {row['wall_s']:6.2f} s"
            f"   analysis CPU per worker: {cpu} s"
        )
    print("Corpus detection — malicious flagged/total (missed); benign wrongly flagged:")
    for tool, table in res["detection"].items():
        if "--cache" in tool:
            same = table == res["detection"][next(iter(res["detection"]))]
            print(f"  {tool}: {'identical to the uncached scan' if same else 'DIFFERENT'}")
            continue
        print(f"  {tool}")
        for cat, row in sorted(table.items()):
            print(
                f"    {cat:10} {row['flagged']:3}/{row['malicious']:<3} ({row['missed']} missed)"
                f"   false positives {row['false_pos']}/{row['benign']}"
            )


if __name__ == "__main__":
    sys.exit(main())
