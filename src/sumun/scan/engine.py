"""`scan(path)`: walk, identify, dispatch to analyzers in parallel, assemble one `ScanResult`.

The pipeline, in order:

1. `walk.plan` lists tasks: every regular file under the root (or the one file given), and every
   Hugging Face model folder.
2. Tasks run in batches on worker processes (or inline for small scans). In a worker, a file is
   identified by content (`identify`), archives are expanded within `walk.Limits`, and each
   format's analyzer runs through the `Registry`. Model and data files are hashed (SHA-256,
   streamed into one reused buffer); for a large one the hash starts on a thread as soon as
   the file is identified and runs beside its analysis (`_hashing`). With `cache=DIR`, files
   unchanged since an earlier scan skip all this and reuse their stored findings (`_cache`).
3. The parent merges what the workers return: paths normalised (relative, POSIX), identical
   findings dropped, components de-duplicated — one `service` per provider and endpoint with
   every path that uses it, one `library` per name and version, one `data` component per
   dataset a model card names — and everything sorted, so the same tree always gives the same
   output.

Every string in the result is valid Unicode: names that are not UTF-8, and lone surrogates from
content, are shown backslash-escaped (`sumun.scan._names`), the same way in every output.

A per-file time limit (`Limits.time_limit`, 30 s plus a second per 64 MiB) keeps a hostile file
from stalling the scan: past it the file gets `scan.timeout` (medium) and the scan goes on (see
"the per-file time limit" below for how it is enforced).

Contracts: `scan` MUST NOT let an analyzer's exception escape — it becomes a
`scan.analyzer-error` (medium) finding naming the exception type; a worker process that dies
is retried alone, and if it dies again its task gets the same finding. Only a path that does not
exist is an error (`UsageError`).

Why processes: pickle opcode walking and Python AST analysis are CPU-bound pure Python, so
threads serialise on the GIL. Measured with `bench/bench_scan.py --quick --executors
--with-code` (448 files, 29 MB, 2 cores; CPU time is charged per worker, so the result holds
on a busy machine): inline, analysis took 3.4 s of CPU; a 2-process pool split it 1.4 s +
1.4 s (the busiest worker bounds the wall time); a 2-thread pool spent 1.6 s + 1.9 s that the
GIL runs one after the other — no gain over inline. Workers are forked (milliseconds each,
modules inherited); before forking, the analyzers are imported and `gc.freeze()` keeps the
collector from dirtying inherited pages, which cut the summed PSS of a 2-worker scan from
178 to 140 MB. Scans of a few small files run inline: forking would cost more than it saves.
At most 4 workers by default: each adds memory, and the target is 200 MB in all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import itertools
import multiprocessing
import os
import posixpath
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Literal

from sumun.errors import UsageError
from sumun.scan import walk
from sumun.scan._archive import traversal_findings
from sumun.scan._assemble import assemble_components, assemble_findings
from sumun.scan._cache import Outcome as _Outcome
from sumun.scan._cache import ScanCache
from sumun.scan._hashing import BACKGROUND_MIN_BYTES, BackgroundHash
from sumun.scan._names import display_name, displayable
from sumun.scan._schedule import batches as _batches
from sumun.scan._schedule import size as _size
from sumun.scan._schedule import workers as _workers
from sumun.scan.identify import (
    ARCHIVE_FORMATS,
    ARCHIVE_MODEL_FORMATS,
    CODE_FORMATS,
    COMPRESSED_FORMATS,
    DATA_FORMATS,
    MODEL_FORMATS,
    PICKLE_FAMILY,
    claimed_formats,
    identify,
)
from sumun.scan.model import Analyzer, Component, FileResult, Finding, ScanResult, Severity, Source
from sumun.scan.registry import Registry, default_registry
from sumun.scan.walk import Budget, FileTask, FolderTask, Limits, Task

__all__ = ["MAX_CODE_BYTES", "Progress", "scan"]

Progress = Callable[[int, int], None]
MAX_CODE_BYTES = 16 << 20  # larger "source files" are data dumps, not code


def _error(source: Source, what: str, exc: BaseException) -> Finding:
    return source.finding(
        Severity.MEDIUM,
        "scan.analyzer-error",
        f"{what} failed with {type(exc).__name__}; this file was not fully analyzed",
    )


@dataclass(slots=True)
class _FileScan:
    """Analyzes one top-level file and everything inside it (archive members, nested)."""

    registry: Registry
    limits: Limits
    budget: Budget
    out: _Outcome
    hashing: BackgroundHash | None = None  # the top-level file's SHA-256, started early

    def source(self, source: Source, depth: int, parent: str | None) -> None:
        names = identify(source, self.registry)
        self.out.formats.update(names)
        if (
            depth == 0
            and source.member is None
            and source.size >= BACKGROUND_MIN_BYTES
            and MODEL_FORMATS.union(DATA_FORMATS).intersection(names)
        ):
            self.hashing = BackgroundHash(source.open)  # overlaps the analysis below
        results: list[FileResult] = []
        seen: set[object] = set()
        for fmt in names:
            if fmt in ARCHIVE_FORMATS or fmt in COMPRESSED_FORMATS:
                self.expand(source, fmt, depth, parent)
            elif self.registry.handles(fmt):
                result = self.analyze(source, fmt, seen)
                if result is not None:
                    results.append(result)
            if fmt in ARCHIVE_MODEL_FORMATS:  # zips the analyzer reads in place
                self.out.findings.extend(traversal_findings(source))
        self.check_disguise(source, names)
        for result in results:
            self.out.findings.extend(result.findings)
        self.out.components.extend(self.components(source, names, results))

    def analyzer(self, source: Source, fmt: str) -> Analyzer | None:
        """The analyzer to run, or None after reporting why there is none."""
        if fmt in CODE_FORMATS and source.size > MAX_CODE_BYTES:
            message = f"{source.size} bytes: too large to analyze as {fmt}"
            self.out.findings.append(source.finding(Severity.INFO, "scan.skipped", message))
            return None
        try:
            analyzer = self.registry.analyzer(fmt)
        except Exception as exc:  # an analyzer module that fails to import
            self.out.findings.append(_error(source, f"loading the {fmt} analyzer", exc))
            return None
        if analyzer is None:
            message = f"no {fmt} analyzer in this build"
            self.out.findings.append(source.finding(Severity.INFO, "scan.no-analyzer", message))
        return analyzer

    def analyze(self, source: Source, fmt: str, seen: set[object]) -> FileResult | None:
        analyzer = self.analyzer(source, fmt)
        if analyzer is None or analyzer in seen:  # one module for npy/npz, keras/hdf5
            return None
        seen.add(analyzer)
        try:
            result = analyzer(source)
            if not isinstance(result, FileResult):
                raise TypeError(f"returned {type(result).__name__}, not FileResult")
        except Exception as exc:  # the contract says never; a bug must not stop the scan
            self.out.findings.append(_error(source, f"the {fmt} analyzer", exc))
            return None
        return result

    def expand(self, source: Source, fmt: str, depth: int, parent: str | None) -> None:
        if depth >= self.limits.max_depth:
            self.out.findings.append(
                source.finding(
                    Severity.MEDIUM,
                    "archive.limit",
                    f"archive nested deeper than {self.limits.max_depth} levels; not inspected",
                )
            )
            return
        opened: contextlib.AbstractContextManager[Source | Finding]
        if parent == "zip":
            opened = walk.materialized(source, self.limits)
        else:
            opened = contextlib.nullcontext(source)
        with opened as target:
            if isinstance(target, Finding):
                self.out.findings.append(target)
                return
            items = walk.members(target, fmt, self.limits, self.budget)
            with contextlib.closing(items):
                for item in items:
                    if isinstance(item, Finding):
                        self.out.findings.append(item)
                    else:
                        self.source(item, depth + 1, fmt)

    def check_disguise(self, source: Source, names: Sequence[str]) -> None:
        risky = PICKLE_FAMILY.intersection(names)
        if len(names) > 1:
            severity = Severity.HIGH if risky else Severity.MEDIUM
            self.out.findings.append(
                source.finding(
                    severity,
                    "scan.polyglot",
                    f"the content is valid as several formats ({', '.join(names)}); "
                    "a loader may take the view a scanner did not",
                )
            )
        claims = claimed_formats(source.member or source.path)
        if risky and claims and not claims.intersection(names):
            self.out.findings.append(
                source.finding(
                    Severity.MEDIUM,
                    "scan.extension-mismatch",
                    f"named as {'/'.join(sorted(claims))} but the content is "
                    f"{'/'.join(sorted(risky))}",
                )
            )

    def components(
        self, source: Source, names: Sequence[str], results: Iterable[FileResult]
    ) -> list[Component]:
        """The analyzers' components, with the file's SHA-256 on its own model/data entries;
        a model or data file no analyzer described still gets an entry (empty files do not)."""
        found = [c for r in results for c in r.components]
        if source.size == 0 or not MODEL_FORMATS.union(DATA_FORMATS).intersection(names):
            return found

        def unhashed(c: Component) -> bool:
            return (
                c.path == source.path
                and c.member == source.member
                and c.type in ("machine-learning-model", "data")
                and not c.hashes
            )

        own = [c for c in found if c.path == source.path and c.member == source.member]
        if own and not any(unhashed(c) for c in own):
            return found
        digest = self.digest(source)
        hashes = () if digest is None else (("SHA-256", digest),)
        if own:
            return [dataclasses.replace(c, hashes=hashes) if unhashed(c) else c for c in found]
        kind: Literal["machine-learning-model", "data"] = (
            "machine-learning-model" if MODEL_FORMATS.intersection(names) else "data"
        )
        fallback = Component(
            kind,
            posixpath.basename(source.member or source.path),
            path=source.path,
            member=source.member,
            hashes=hashes,
            properties=(("format", names[0]),),
        )
        return [*found, fallback]

    def digest(self, source: Source) -> str | None:
        try:
            if source.member is None and self.hashing is not None:
                return self.hashing.result()
            with source.open() as stream:
                return walk.sha256(stream)
        except Exception as exc:  # a member that inflates badly, an I/O error
            self.out.findings.append(_error(source, "hashing", exc))
            return None


# --- the per-file time limit ------------------------------------------------------------------
# A hostile file must not stall a scan. Two layers:
# - soft: SIGALRM (`setitimer`) raises `_TimedOut` in the thread analyzing the file, wherever
#   Python code is running; the file gets a `scan.timeout` finding and the scan goes on. Only
#   in a process's main thread (worker processes, and the CLI's inline scans) and only when
#   nobody else handles SIGALRM; `executor="thread"` scans have no soft limit.
# - hard: in worker processes a watchdog thread ends the worker (`os._exit`) when a file runs
#   past twice its limit plus `_HARD_GRACE` — C code that never returns to Python (a regex
#   backtracking, a decompressor) cannot be interrupted otherwise. The pool breaks, the batch
#   is retried one task per fresh worker, and the stalling file gets `scan.analyzer-error`.
_BYTES_PER_SECOND = 64 << 20  # the limit grows a second per 64 MiB: hashing is not a stall
_HARD_GRACE = 5.0
_WATCHDOG_TICK = 0.25


class _TimedOut(BaseException):
    """Raised by the SIGALRM handler. A BaseException, so analyzers' `except Exception` (which
    turns their own errors into findings) does not swallow it."""


@dataclass(slots=True)
class _Watch:
    """This process's watchdog state (a worker's; the parent never starts one)."""

    started: bool = False
    deadline: float | None = None  # monotonic time at which the watchdog ends this worker


_WATCH = _Watch()


def _watchdog() -> None:
    while True:
        time.sleep(_WATCHDOG_TICK)
        deadline = _WATCH.deadline
        if deadline is not None and time.monotonic() > deadline:
            os._exit(70)  # EX_SOFTWARE; the parent sees a broken pool and retries alone


def _worker_init() -> None:
    """Pool initializer: start the hard-limit watchdog in this worker process. A forked worker
    inherits the parent's SIGALRM handler (an embedding application's, a test runner's); in the
    worker it means nothing, so the soft limit takes SIGALRM over."""
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    if not _WATCH.started:
        _WATCH.started = True
        threading.Thread(target=_watchdog, name="sumun-scan-watchdog", daemon=True).start()


def _limit_for(limits: Limits, size: int) -> float | None:
    if not limits.time_limit or limits.time_limit <= 0:
        return None
    return limits.time_limit + size / _BYTES_PER_SECOND


def _can_alarm() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN)
    )


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise `_TimedOut` in this thread after `seconds` (see above); no-op when it cannot."""
    if seconds is None or not _can_alarm():
        yield
        return
    armed = [True]

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if armed[0]:
            armed[0] = False
            raise _TimedOut

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    if _WATCH.started:
        _WATCH.deadline = time.monotonic() + 2 * seconds + _HARD_GRACE
    try:
        yield
    finally:
        armed[0] = False
        _WATCH.deadline = None
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _timed_out(where: str, seconds: float) -> Finding:
    return Finding(
        where,
        Severity.MEDIUM,
        "scan.timeout",
        f"analysis timed out after {seconds:.3g} s; the rest of this file was not analyzed "
        "(a hostile file can be built to stall scanners: inspect it, or raise the limit)",
    )


def _file(task: FileTask, registry: Registry, limits: Limits) -> _Outcome:
    out = _Outcome(files=1, bytes=task.size)
    try:
        source = walk.file_source(task)
    except walk.NotRegularFileError as exc:  # swapped for a FIFO or device since planning
        out.findings.append(
            Finding(task.path, Severity.INFO, "walk.not-regular", f"{exc.strerror}; skipped")
        )
        return out
    except OSError as exc:
        out.findings.append(
            Finding(task.path, Severity.INFO, "walk.unreadable", f"not readable: {exc.strerror}")
        )
        return out
    out.bytes = source.size
    scan = _FileScan(registry, limits, Budget.of(limits), out)
    seconds = _limit_for(limits, source.size)
    try:
        with _deadline(seconds):
            scan.source(source, 0, None)
    except _TimedOut:
        out.findings.append(_timed_out(source.path, seconds or 0.0))
    except Exception as exc:  # walker or identification bug: report, keep going
        out.findings.append(_error(source, "scanning", exc))
    return out


def _folder(task: FolderTask, registry: Registry, limits: Limits) -> _Outcome:
    out = _Outcome()
    seconds = _limit_for(limits, 0)
    try:
        analyze = registry.folder_analyzer()
        if analyze is None:
            return out
        with _deadline(seconds):
            result = analyze(task.folder, {name: Path(p) for name, p in task.files})
        if not isinstance(result, FileResult):
            raise TypeError(type(result).__name__)
    except _TimedOut:
        out.findings.append(_timed_out(task.folder, seconds or 0.0))
        return out
    except Exception as exc:
        message = f"the model-folder analyzer failed with {type(exc).__name__}"
        out.findings.append(Finding(task.folder, Severity.MEDIUM, "scan.analyzer-error", message))
        return out
    out.findings.extend(result.findings)
    out.components.extend(result.components)
    return out


def _run_batch(batch: Sequence[Task], registry: Registry, limits: Limits) -> list[_Outcome]:
    """One unit of work for a worker (module level, so it pickles by reference)."""
    return [
        _file(task, registry, limits)
        if isinstance(task, FileTask)
        else _folder(task, registry, limits)
        for task in batch
    ]


# --- scheduling --------------------------------------------------------------------------------


def _pool(kind: Literal["process", "thread"], workers: int) -> Executor:
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=workers)
    # fork: workers inherit the imported modules, so a worker costs milliseconds, not the
    # hundreds an interpreter start costs. Forking a process that runs other threads can
    # deadlock the child (a lock held by a thread that does not exist there), so an embedding
    # application with threads gets forkserver instead; the CLI starts no thread.
    method: str | None = None
    if sys.platform == "linux":
        method = "fork" if threading.active_count() == 1 else "forkserver"
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_worker_init,
    )


def _crashed(task: Task) -> _Outcome:
    where = task.path if isinstance(task, FileTask) else task.folder
    return _Outcome(
        findings=[
            Finding(
                where,
                Severity.MEDIUM,
                "scan.analyzer-error",
                "the worker process analyzing this file died (BrokenProcessPool), or was "
                "ended for running past twice the time limit; it was not analyzed",
            )
        ],
        files=1 if isinstance(task, FileTask) else 0,
        bytes=_size(task),
    )


def _isolated(task: Task, registry: Registry, limits: Limits) -> _Outcome:
    """Re-run one task alone in a fresh worker, after a pool broke under it or a neighbour."""
    with _pool("process", 1) as pool:
        try:
            return pool.submit(_run_batch, [task], registry, limits).result()[0]
        except BrokenProcessPool:
            return _crashed(task)


_HDF5_NAMES = (".h5", ".hdf5", ".keras")


def _preload_hdf5(batches: list[list[Task]]) -> None:
    """Import h5py once in the parent when the tree holds HDF5-looking files: each forked
    worker importing it on its own cost ~0.2 s of CPU apiece (measured with py-spy)."""
    if any(
        isinstance(task, FileTask) and task.path.lower().endswith(_HDF5_NAMES)
        for batch in batches
        for task in batch
    ):
        with contextlib.suppress(ImportError):
            importlib.import_module("h5py")


def _execute(
    batches: list[list[Task]],
    workers: int,
    *,
    kind: Literal["process", "thread"],
    registry: Registry,
    limits: Limits,
    progress: Progress | None,
    total: int,
    done: int = 0,
) -> Iterator[tuple[Task, _Outcome]]:
    if workers == 1:
        for batch in batches:
            yield from zip(batch, _run_batch(batch, registry, limits), strict=True)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        return
    retry: list[Task] = []
    if kind == "process":
        # Workers are forked: import the analyzers once here and move everything allocated so
        # far out of the collector's reach, so children share those pages instead of copying
        # them (the cyclic GC would otherwise write to every object header it visits).
        registry.preload()
        _preload_hdf5(batches)
        gc.freeze()
    try:
        with _pool(kind, workers) as pool:
            futures: dict[Future[list[_Outcome]], list[Task]] = {
                pool.submit(_run_batch, batch, registry, limits): batch for batch in batches
            }
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when="FIRST_COMPLETED")
                for future in finished:
                    try:
                        yield from zip(futures[future], future.result(), strict=True)
                    except BrokenProcessPool:
                        retry.extend(futures[future])
                        continue
                    done += len(futures[future])
                    if progress is not None:
                        progress(done, total)
    finally:
        if kind == "process":
            gc.unfreeze()
    for task in retry:
        yield task, _isolated(task, registry, limits)
        done += 1
        if progress is not None:
            progress(done, total)


# --- assembly ----------------------------------------------------------------------------------


def scan(
    path: Path,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    registry: Registry | None = None,
    limits: Limits | None = None,
    executor: Literal["process", "thread"] = "process",
    time_limit: float | None = None,
    cache: Path | None = None,
) -> ScanResult:
    """Scan a directory, a file or an archive. Never raises for what it finds in them.

    `workers`: parallel worker processes (default: one per core, at most 4; small scans run
    inline);
    `progress(done, total)` is called in this thread as tasks finish. `registry` and `limits`
    replace the default analyzers and archive bounds (tests, embedding). `time_limit`: seconds
    one file may take (default `Limits.time_limit`, 30 s plus a second per 64 MiB; 0 disables);
    a file over it gets a `scan.timeout` finding and the scan goes on. `cache`: a directory of
    per-file results reused while a file's (device, inode, size, mtime) and the scanner are
    unchanged (`sumun.scan._cache`). Raises `UsageError` when `path` does not exist, `workers`
    < 1 or `cache` is not a usable directory.
    """
    started = time.perf_counter()
    try:
        planned = walk.plan(path)
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no such file or directory", advice="give a directory, file or archive"
        ) from None
    reg = registry if registry is not None else default_registry()
    bounds = limits if limits is not None else Limits()
    if time_limit is not None:
        if time_limit < 0:
            raise UsageError(f"--time-limit must be 0 (none) or more, not {time_limit}")
        bounds = dataclasses.replace(bounds, time_limit=time_limit or None)
    store = ScanCache(cache, bounds) if cache is not None else None
    cached, keys, tasks = ScanCache.split(store, planned.tasks)
    count = _workers(workers, tasks)
    total = len(planned.tasks)
    if progress is not None:
        progress(len(cached), total)
    # Names and content may hold lone surrogates (bytes that are not UTF-8): shown escaped,
    # so every document written from the result is valid UTF-8 (sumun.scan._names).
    findings: list[Finding] = [displayable(f) for f in planned.findings]
    components: list[Component] = []
    formats: Counter[str] = Counter()
    files = size = 0
    run = _execute(
        _batches(tasks),
        count,
        kind=executor,
        registry=reg,
        limits=bounds,
        progress=progress,
        total=total,
        done=len(cached),
    )
    for task, outcome in itertools.chain(cached, run):
        key = keys.get(task)
        if store is not None and key is not None:
            store.put(key, outcome)
        findings.extend(displayable(f) for f in outcome.findings)
        components.extend(displayable(c) for c in outcome.components)
        formats.update(outcome.formats)
        files += outcome.files
        size += outcome.bytes
    return ScanResult(
        root=display_name(str(path)),
        findings=assemble_findings(findings),
        components=assemble_components(components),
        files=files,
        bytes=size,
        seconds=time.perf_counter() - started,
        formats=dict(sorted(formats.items())),
    )
