"""Checks of the home folder itself: who owns it, who else can read it, room left, the policy.

`sumun init` and every store create the home's folders 0700 and its files 0600 (sumun._fs):
the seal record, the wrapped KEKs and DEKs, the ledger and the pseudonym vault are for the
service user alone. Files an operator writes there by hand (sumun.yaml, policy.yaml, a TLS
certificate) may be readable by others; nothing may be writable by others.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from sumun.config import load_policy, policy_path
from sumun.doctor.model import Check, Context, fail, message, ok, warn
from sumun.errors import ConfigError

__all__ = ["check_disk", "check_permissions", "check_policy"]

# Files an operator may leave readable by others (never writable): not secrets.
_PUBLIC_NAMES = frozenset({"sumun.yaml", "policy.yaml"})
_PUBLIC_SUFFIXES = (".crt", ".cert")
_MAX_ENTRIES = 5000  # a home holds a few dozen files: stop walking a mistaken SUMUN_HOME=/
_LOW_FREE_BYTES = 1 << 30
_CRITICAL_FREE_BYTES = 100 << 20


def _public(path: Path) -> bool:
    return path.name in _PUBLIC_NAMES or path.name.endswith(_PUBLIC_SUFFIXES)


def _problem(path: Path, st: os.stat_result) -> str | None:
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return None
    if mode & 0o002:
        return f"{path} is writable by everyone ({mode:04o})"
    if stat.S_ISDIR(st.st_mode):
        return None if mode & 0o077 == 0 else f"{path} is open to others ({mode:04o}, want 0700)"
    if _public(path):
        return None if mode & 0o022 == 0 else f"{path} is writable by others ({mode:04o})"
    return None if mode & 0o077 == 0 else f"{path} is readable by others ({mode:04o}, want 0600)"


def check_permissions(ctx: Context) -> Check:
    name = "home permissions"
    home = ctx.home
    try:
        top = home.lstat()
    except OSError as exc:
        return fail(name, f"cannot read {home}: {exc.strerror}", "check SUMUN_HOME or --home")
    owner = top.st_uid
    problems: list[str] = []
    foreign: list[str] = []
    seen = 0
    stack = [home]
    while stack and seen < _MAX_ENTRIES:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            problems.append(f"cannot list {folder}: {exc.strerror}")
            continue
        for entry in entries:
            seen += 1
            path = Path(entry.path)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid != owner:
                foreign.append(str(path))
            problem = _problem(path, st)
            if problem:
                problems.append(problem)
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)
    home_problem = _problem(home, top)
    if home_problem:
        problems.insert(0, home_problem)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return fail(
            name,
            problems[0] + more,
            f"chmod -R go-rwx {home} (folders 0700, files 0600, as `sumun init` makes them)",
        )
    if foreign:
        return fail(
            name,
            f"{foreign[0]} belongs to another user than {home} does",
            f"chown -R to the service user: the server cannot use files it does not own "
            f"(e.g. `chown -R {_user(owner)} {home}`)",
        )
    if owner != os.geteuid():
        return warn(
            name,
            f"{home} belongs to {_user(owner)}, not to the user running doctor",
            f"run doctor as the service user (e.g. `sudo -u {_user(owner)} sumun doctor`)",
        )
    return ok(name, f"{home}: owner {_user(owner)}, folders 0700, secret files 0600")


def _user(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


def check_disk(ctx: Context) -> Check:
    name = "free disk"
    try:
        usage = shutil.disk_usage(ctx.home)
    except OSError as exc:
        return fail(name, f"cannot stat {ctx.home}: {exc.strerror}", "check SUMUN_HOME")
    free = usage.free
    text = f"{free / (1 << 30):.1f} GiB free under {ctx.home} ({free * 100 // usage.total}%)"
    advice = "free space or move SUMUN_HOME: a full disk stops the ledger, and so all traffic"
    if free < _CRITICAL_FREE_BYTES:
        return fail(name, text, advice)
    if free < _LOW_FREE_BYTES or free * 20 < usage.total:
        return warn(name, text, advice)
    return ok(name, text)


def check_policy(ctx: Context) -> Check:
    name = "policy"
    if ctx.settings is None:
        return fail(name, "not checked: sumun.yaml did not load", "fix sumun.yaml first")
    try:
        path = policy_path(ctx.settings)
        policy = load_policy(ctx.settings)
    except ConfigError as exc:
        return fail(name, message(exc), exc.advice or "fix the policy file")
    if path is None:
        return ok(name, "the built-in policy (no policy file; `sumun policy init` writes one)")
    return ok(name, f"{policy.source or path} is valid")
