"""How Sumun connects to PostgreSQL: every wait bounded, a dead peer noticed, secrets kept out.

One recipe for the ledger store and the control store (both talk to the same kind of server
with the same failure model): `connect_timeout`, TCP keepalives and `tcp_user_timeout` from the
store's `timeout`; per session a lock wait of `timeout`, statements and idle transactions of
twice that (a blocked lock is reported as such, not as a slow server), synchronous commits.
The DSN may hold a password: callers keep it only in the parameters, and a DSN that does not
parse raises `ValueError` *without* the driver's message (libpq quotes the offending part).
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

__all__ = ["bounded_params", "configure_session", "describe"]


def bounded_params(dsn: str, *, application_name: str, timeout: float) -> dict[str, Any]:
    try:
        params: dict[str, Any] = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise ValueError("the PostgreSQL DSN does not parse") from None
    seconds = max(1, math.ceil(timeout))
    params["connect_timeout"] = str(max(2, seconds))  # libpq's floor is 2 s
    for key, value in (
        ("application_name", application_name[:63]),
        ("keepalives", "1"),
        ("keepalives_idle", str(seconds)),
        ("keepalives_interval", "1"),
        ("keepalives_count", "3"),
        ("tcp_user_timeout", str(int(timeout * 1000))),
    ):
        params.setdefault(key, value)
    return params


def describe(params: dict[str, Any]) -> str:
    """host, port, database and user, for messages (never the password)."""
    return " ".join(
        f"{key}={params[key]}" for key in ("host", "port", "dbname", "user") if key in params
    )


def configure_session(
    conn: psycopg.Connection[TupleRow], timeout: float, *, search_path: str | None = None
) -> None:
    millis = int(timeout * 1000)
    conn.execute(
        "SELECT set_config('lock_timeout', %s, false),"
        " set_config('statement_timeout', %s, false),"
        " set_config('idle_in_transaction_session_timeout', %s, false),"
        " set_config('synchronous_commit', 'on', false),"
        " set_config('search_path', coalesce(%s, current_setting('search_path')), false)",
        (str(millis), str(2 * millis), str(2 * millis), search_path),
    )
