"""Two connections on store.db in one process, writers in other processes (issue 11's defect).

Opening a second connection used to open and close an extra descriptor on the database file,
which drops every POSIX lock the process holds on it. The next writer process then believed it
was alone, checkpointed and unlinked the WAL the first process still read, and that process
never saw another commit: revocations, cuts and new keys stopped reaching the gateway.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sumun.errors import AuthError
from sumun.store.cuts import CutTable
from sumun.store.directory import Directory

_WRITER = """
import sys
from pathlib import Path
from sumun.store.directory import Directory
with Directory(Path(sys.argv[1])) as d:
    if sys.argv[2] == "issue":
        print(d.issue_key("acme")[1])
    else:
        d.revoke_key(sys.argv[3])
"""


def _write(path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, str(path), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def _deleted_fds() -> list[str]:
    fds = Path(f"/proc/{os.getpid()}/fd")
    links = []
    for fd in fds.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue
    return [link for link in links if "store.db" in link and link.endswith("(deleted)")]


def _within(seconds: float, check: object) -> float:
    start = time.monotonic()
    while True:
        try:
            if check():  # type: ignore[operator]
                return time.monotonic() - start
        except AuthError:
            pass
        if time.monotonic() - start > seconds:
            pytest.fail(f"not seen within {seconds} s")
        time.sleep(0.02)


def test_every_change_from_other_processes_reaches_a_process_with_two_connections(
    tmp_path: Path,
) -> None:
    path = tmp_path / "home" / "store.db"
    directory = Directory(path, recheck_seconds=0.05)
    cuts = CutTable(path)  # the second connection: this is what dropped the locks
    try:
        directory.create_tenant("acme")
        for _ in range(5):  # cycles in a row, not once
            api_key = _write(path, "issue")
            key_id = api_key.split("-")[2]
            _within(1.0, lambda: directory.authenticate(api_key) is not None)  # noqa: B023
            _write(path, "revoke", key_id)

            def refused() -> bool:
                try:
                    directory.authenticate(api_key)  # noqa: B023
                except AuthError:
                    return True
                return False

            _within(1.0, refused)
        assert _deleted_fds() == []
        assert cuts.read() == {}
    finally:
        cuts.close()
        directory.close()
