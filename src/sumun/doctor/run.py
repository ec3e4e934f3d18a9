"""Running the doctor: load the settings, probe the server, then every check, each bounded.

The checks run side by side in daemon threads; one that has not answered by the deadline is
reported as failing ("did not answer within N s") and left behind — the command returns on
time even when a backend hangs past its own timeout.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from sumun import config
from sumun.doctor.home import check_disk, check_permissions, check_policy
from sumun.doctor.keys import check_key_backend
from sumun.doctor.model import Check, Context, fail, message, ok
from sumun.doctor.services import check_redis, check_server, probe_ready
from sumun.doctor.stores import (
    check_checkpoint,
    check_clock_skew,
    check_control_store,
    check_ledger_store,
    read_seal,
)
from sumun.doctor.tls import check_admin_tls, check_xks_tls
from sumun.errors import ConfigError, StateError, StoreError

__all__ = ["CHECKS", "doctor_context", "run_doctor"]

CheckFn = Callable[[Context], Check | None]

# In the order they are shown.
CHECKS: tuple[tuple[str, CheckFn], ...] = (
    ("home permissions", check_permissions),
    ("free disk", check_disk),
    ("policy", check_policy),
    ("key backend", check_key_backend),
    ("control store", check_control_store),
    ("ledger store", check_ledger_store),
    ("ledger checkpoint", check_checkpoint),
    ("clock skew", check_clock_skew),
    ("redis", check_redis),
    ("admin API TLS", check_admin_tls),
    ("XKS proxy TLS", check_xks_tls),
    ("running server", check_server),
)


def doctor_context(
    *,
    home: Path | None,
    config_file: Path | None,
    timeout: float = 3.0,
    env: Mapping[str, str] | None = None,
) -> tuple[Context, Check]:
    """The checks' context and the configuration check's result.

    StateError when the deployment was never initialised (no seal record in the home's file
    or in the shared control store) — the CLI exits 2 then, as every read command does,
    creating nothing. A sumun.yaml that does not load is a failing check, not an exit.
    """
    env = os.environ if env is None else env
    try:
        settings: config.Settings | None = config.load(config_file=config_file, home=home, env=env)
    except ConfigError as exc:
        settings = None
        found = fail("configuration", message(exc), exc.advice or "fix sumun.yaml")
    if settings is not None:
        found = ok(
            "configuration",
            f"{settings.config_file} is valid"
            if settings.config_file
            else "no sumun.yaml: the defaults apply",
        )
        resolved = settings.home
        sqlite_control = settings.control.store == "sqlite"
    else:
        resolved = (home or Path(env.get("SUMUN_HOME") or ".sumun")).resolve()
        sqlite_control = env.get("SUMUN_CONTROL_STORE", "sqlite") == "sqlite"
    if sqlite_control and not (resolved / "home.json").is_file():
        raise StateError(
            f"{resolved} is not an initialised Sumun home",
            advice="check SUMUN_HOME or --home, or run `sumun init` there",
        )
    if settings is not None and not sqlite_control:
        # A shared control store: the seal record is a row there. None (StateError): exit 2
        # like any read command; unreachable is the key backend check's failure instead.
        with contextlib.suppress(ConfigError, StoreError):
            read_seal(settings, resolved, timeout)
    ready = None
    if settings is not None:
        ready = probe_ready(settings.server.host, settings.server.port, timeout)
    return Context(home=resolved, settings=settings, ready=ready, timeout=timeout), found


def run_doctor(ctx: Context, *, deadline_seconds: float | None = None) -> list[Check]:
    """Every check, side by side; each bounded by `deadline_seconds` (default: a little over
    the context's timeout: PostgreSQL's connect floor is 2 s, a PKCS#11 login its own)."""
    budget = deadline_seconds if deadline_seconds is not None else 2 * ctx.timeout + 2
    results: dict[str, Check | None] = {}
    threads: list[tuple[str, threading.Thread]] = []
    for name, fn in CHECKS:

        def work(name: str = name, fn: CheckFn = fn) -> None:
            try:
                results[name] = fn(ctx)
            except Exception as exc:  # a check's own bug must not hide the others
                results[name] = fail(
                    name, f"the check itself failed: {type(exc).__name__}", "report it as a bug"
                )

        thread = threading.Thread(target=work, name=f"sumun-doctor-{name}", daemon=True)
        thread.start()
        threads.append((name, thread))
    end = time.monotonic() + budget
    found: list[Check] = []
    for name, thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
        if thread.is_alive():
            found.append(
                fail(name, f"did not answer within {budget:g} s", "is the service reachable?")
            )
            continue
        result = results.get(name)
        if result is not None:
            found.append(result)
    return found
