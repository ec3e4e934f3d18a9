"""What to scan: files under a root, members of archives, Hugging Face model folders.

`plan(path)` turns a directory or a single file into a sorted list of tasks (one per regular
file, one per model folder) plus findings about what could not be walked. It:

- skips `.git`, `node_modules`, `.venv`, `__pycache__` and similar directories by default;
- never leaves the root: a symlink whose target is outside it is reported (`info`) and not
  followed; symlinked directories are not followed at all (no loops); a file reached through
  several names (symlinks, hard links) is scanned once, under its symlink name when it has one
  (a Hugging Face cache names files in `snapshots/`, not in `blobs/`);
- skips FIFOs, sockets and devices without opening them (opening a FIFO blocks until a
  writer comes), and reports each (`walk.not-regular`, info); a symlink loop is reported as
  `walk.symlink-loop` (info). Both hold for the path given as well: neither is "no such file".
  `file_source` checks again on the open descriptor (a file swapped for a FIFO after planning
  is refused, not waited on).

`members(source, fmt, limits, budget)` yields the members of a zip, tar or compressed stream
as `Source`s, within `Limits` (count, total bytes, compression ratio; zip bombs and path
traversal are findings) — see `sumun.scan._archive`.

`sha256(stream)` hashes in 1 MiB chunks into one reused buffer: memory stays flat on
multi-GB files.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sumun.scan._archive import CHUNK, HEAD_BYTES, Budget, Limits, materialized, members
from sumun.scan.model import Finding, Severity, Source

__all__ = [
    "CHUNK",
    "DEFAULT_SKIP_DIRS",
    "HEAD_BYTES",
    "Budget",
    "FileTask",
    "FolderTask",
    "Limits",
    "NotRegularFileError",
    "Plan",
    "Task",
    "file_source",
    "materialized",
    "members",
    "plan",
    "sha256",
]

DEFAULT_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)


@dataclass(frozen=True, slots=True)
class FileTask:
    path: str  # relative to the root, POSIX
    real_path: str  # absolute
    size: int


@dataclass(frozen=True, slots=True)
class FolderTask:
    """A directory that looks like a Hugging Face model folder (config.json / model card)."""

    folder: str  # relative to the root, POSIX; "." for the root itself
    files: tuple[tuple[str, str], ...]  # file name in the folder -> absolute path


Task = FileTask | FolderTask


@dataclass(frozen=True, slots=True)
class Plan:
    root: Path  # the directory task paths are relative to
    tasks: tuple[Task, ...]
    findings: tuple[Finding, ...]


class NotRegularFileError(OSError):
    """A path to scan is a FIFO, socket or device, found after it was planned as a file."""


_KINDS = (
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISDIR, "directory"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "special file")


def _not_regular(rel: str, mode: int) -> Finding:
    message = f"not a regular file ({_kind(mode)}); skipped"
    return Finding(rel, Severity.INFO, "walk.not-regular", message)


def _loop(rel: str) -> Finding:
    return Finding(rel, Severity.INFO, "walk.symlink-loop", "symlink loop; not followed")


# --- walking a directory -----------------------------------------------------------------------


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _has_front_matter(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            start = stream.read(8)
    except OSError:
        return False
    return start.removeprefix(b"\xef\xbb\xbf").startswith(b"---")


@dataclass(slots=True)
class _Walk:
    root: str  # realpath of the root directory
    skip_dirs: frozenset[str]
    findings: list[Finding] = field(default_factory=list)
    # (dev, inode) -> [(relative path, absolute path, through a symlink?, size)]
    files: dict[tuple[int, int], list[tuple[str, str, bool, int]]] = field(default_factory=dict)
    folders: list[FolderTask] = field(default_factory=list)

    def note(self, rel: str, rule: str, message: str) -> None:
        self.findings.append(Finding(rel, Severity.INFO, rule, message))

    def run(self) -> None:
        pending = [""]  # an explicit stack: a deep tree must not exhaust Python's recursion
        while pending:
            # Reversed, so the stack pops them in name order (the output is sorted anyway).
            pending.extend(reversed(self.directory(pending.pop())))

    def directory(self, rel: str) -> list[str]:
        """Visit one directory; return its subdirectories to walk."""
        absolute = os.path.join(self.root, rel) if rel else self.root
        try:
            with os.scandir(absolute) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.note(rel or ".", "walk.unreadable", f"directory not readable: {exc.strerror}")
            return []
        here: dict[str, str] = {}
        subdirs: list[str] = []
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            try:
                kind = self.entry(entry, child, here)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    self.findings.append(_loop(child))
                else:
                    self.note(child, "walk.unreadable", f"not readable: {exc.strerror}")
                continue
            if kind == "dir":
                subdirs.append(child)
        self.folder(rel, here)
        return [d for d in subdirs if posixpath.basename(d) not in self.skip_dirs]

    def entry(self, entry: os.DirEntry[str], child: str, here: dict[str, str]) -> str | None:
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not _within(target, self.root):
                self.note(child, "walk.symlink-outside-root", "symlink leaves the scanned root")
                return None
            if os.path.isdir(target):
                return None  # scanned where it lives; following could loop
            linked = True
        else:
            if entry.is_dir(follow_symlinks=False):
                return "dir"
            linked = False
        st = entry.stat(follow_symlinks=True)  # ELOOP for a symlink loop: the caller reports it
        if not stat.S_ISREG(st.st_mode):
            self.findings.append(_not_regular(child, st.st_mode))
            return None
        self.files.setdefault((st.st_dev, st.st_ino), []).append(
            (child, entry.path, linked, st.st_size)
        )
        here[entry.name] = entry.path
        return "file"

    def folder(self, rel: str, here: dict[str, str]) -> None:
        readme = here.get("README.md")
        if "config.json" in here or (readme is not None and _has_front_matter(readme)):
            files = tuple(sorted((name, os.path.abspath(p)) for name, p in here.items()))
            self.folders.append(FolderTask(rel or ".", files))

    def tasks(self) -> list[Task]:
        chosen: list[Task] = []
        for names in self.files.values():
            linked = [n for n in names if n[2]]
            rel, absolute, _, size = min(linked or names)
            chosen.append(FileTask(rel, os.path.abspath(absolute), size))
        chosen.extend(self.folders)
        return sorted(chosen, key=_task_key)


def _task_key(task: Task) -> tuple[str, int]:
    return (task.path, 0) if isinstance(task, FileTask) else (task.folder, 1)


def plan(path: Path, *, skip_dirs: frozenset[str] = DEFAULT_SKIP_DIRS) -> Plan:
    """Tasks for `path` (a directory or one file). Raises FileNotFoundError when nothing is
    there; anything else that is there (a FIFO, a symlink loop) is a finding, never opened."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Plan(path.parent, (), (_loop(path.name),))
        message = f"not readable: {exc.strerror}"
        return Plan(
            path.parent, (), (Finding(path.name, Severity.INFO, "walk.unreadable", message),)
        )
    if stat.S_ISDIR(st.st_mode):
        walk = _Walk(os.path.realpath(path), skip_dirs)
        walk.run()
        return Plan(path, tuple(walk.tasks()), tuple(walk.findings))
    if stat.S_ISREG(st.st_mode):
        return Plan(path.parent, (FileTask(path.name, os.path.abspath(path), st.st_size),), ())
    return Plan(path.parent, (), (_not_regular(path.name, st.st_mode),))


def _open_regular(path: str) -> IO[bytes]:
    """`path` opened for reading, if it is a regular file: O_NONBLOCK, so a FIFO put in its
    place after planning is not waited on, and checked on the descriptor (no race)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(errno.EINVAL, f"not a regular file ({_kind(mode)})", path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_source(task: FileTask) -> Source:
    """The `Source` for a file on disk (reads its head)."""
    real = task.real_path
    with _open_regular(real) as stream:
        head = stream.read(HEAD_BYTES)
        size = os.fstat(stream.fileno()).st_size
    return Source(
        path=task.path,
        size=size,
        head=head,
        opener=lambda: _open_regular(real),  # the caller closes it (Source contract)
        real_path=real,
    )


# --- hashing -----------------------------------------------------------------------------------


def sha256(stream: IO[bytes]) -> str:
    """Hex SHA-256 of the rest of `stream`, read in 1 MiB chunks into one buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            count = readinto(view)
            if not count:
                break
            digest.update(view[:count])
        else:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()
