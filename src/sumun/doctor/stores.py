"""Read-only looks into the control store and the ledger store: reachable, which schema
version, how big, when the last checkpoint was signed, and the database server's clock.

SQLite files are opened `mode=ro` (never created, never migrated); PostgreSQL sessions are
`default_transaction_read_only` with the stores' own bounded connection recipe (sumun._pg).
The DSN comes from the environment variable the config names and stays out of every message
(only host, port, database and user are shown).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from sumun._pg import bounded_params, describe
from sumun.config import Settings
from sumun.doctor.model import Check, Context, age_text, fail, message, ok, warn
from sumun.errors import ConfigError, StateError, StoreError, SumunError
from sumun.keys import seal
from sumun.store import schema

__all__ = [
    "LedgerFacts",
    "check_checkpoint",
    "check_clock_skew",
    "check_control_store",
    "check_ledger_store",
    "ledger_facts",
    "read_seal",
]

# The ledger's layout version (sumun.ledger.store.sqlite's user_version; PostgreSQL's is the same).
LEDGER_VERSION = 1
_LEDGER_APPLICATION_ID = 0x53554D4C  # "SUML"
# The server signs a checkpoint every 10 s while unsealed (sumun.server): older than this while
# it runs unsealed means signing is failing.
_CHECKPOINT_STALE_S = 60.0
_SKEW_WARN_S = 1.0
_SKEW_FAIL_S = 30.0


# -- connections ---------------------------------------------------------------------------


def _sqlite_ro(path: Path, timeout: float) -> sqlite3.Connection:
    """Read-only, creating nothing: SQLite makes a WAL file's `-wal` and `-shm` even for a
    `mode=ro` reader, so a file with no `-wal` (no writer has it open) is read `immutable`."""
    uri = path.resolve().as_uri()
    wal = path.with_name(path.name + "-wal")
    query = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    return sqlite3.connect(f"{uri}?{query}", uri=True, timeout=timeout)


@contextlib.contextmanager
def _postgres(settings: Settings, dsn_env: str, timeout: float) -> Iterator[psycopg.Connection]:
    dsn = settings.secret_from_env(dsn_env)
    if dsn is None:
        raise ConfigError(
            f"${dsn_env} is not set", advice=f"export the PostgreSQL DSN in ${dsn_env}"
        )
    try:
        params = bounded_params(dsn, application_name="sumun-doctor", timeout=timeout)
    except ValueError as exc:
        raise ConfigError(f"${dsn_env}: {exc}") from None
    password = str(params.get("password") or "")
    where = describe(params) or "the default server"
    try:
        conn = psycopg.connect(**params, autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot reach PostgreSQL ({where}): {_first_line(exc, password)}",
            advice="is PostgreSQL running and reachable from this host? Check the DSN's host "
            f"and port in ${dsn_env}",
        ) from None
    try:
        millis = str(int(timeout * 1000))
        conn.execute(
            "SELECT set_config('default_transaction_read_only', 'on', false),"
            " set_config('statement_timeout', %s, false)",
            (millis,),
        )
        yield conn
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL ({where}): {_first_line(exc, password)}") from None
    finally:
        conn.close()


def _first_line(exc: BaseException, password: str) -> str:
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line.replace(password, "***") if password else line


# -- the seal record -----------------------------------------------------------------------


class _OneDocument:
    """A read-only Documents holding the seal record read from PostgreSQL."""

    def __init__(self, body: bytes | None, where: str) -> None:
        self._body = body
        self._where = where

    @property
    def shared(self) -> bool:
        return True

    def read(self, name: str) -> bytes | None:
        return self._body if name == seal.HOME_FILE else None

    def exists(self, name: str) -> bool:
        return self.read(name) is not None

    def stamp(self, name: str) -> object:
        return None

    def update(self, name: str, change: object) -> bytes | None:
        raise StoreError("the doctor never writes")

    def where(self, name: str) -> str:
        return f"{name} in {self._where}"


def read_seal(settings: Settings, home: Path, timeout: float) -> seal.SealInfo:
    """The seal record (which backend, which unseal method), read without writing."""
    if settings.control.store == "sqlite":
        return seal.read_seal_info(home)
    conf = settings.control
    with _postgres(settings, conf.dsn_env, timeout) as conn:
        table = sql.Identifier(conf.postgres_schema, "documents")
        if not _pg_table_exists(conn, conf.postgres_schema, "documents"):
            raise StateError(
                f"the control store (schema {conf.postgres_schema}) holds no Sumun deployment",
                advice="check SUMUN_CONTROL_DSN and control.postgres_schema, or run `sumun init`",
            )
        row = conn.execute(
            sql.SQL("SELECT body FROM {} WHERE name = %s").format(table), (seal.HOME_FILE,)
        ).fetchone()
    body = bytes(row[0]) if row else None
    if body is None:
        raise StateError(
            "the control store holds no seal record: this deployment is not initialised",
            advice="check SUMUN_CONTROL_DSN, or run `sumun init`",
        )
    return seal.read_seal_info(_OneDocument(body, "the control store"))


def _pg_table_exists(conn: psycopg.Connection, schema_name: str, table: str) -> bool:
    row = conn.execute(
        "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", (schema_name, table)
    ).fetchone()
    return row is not None and row[0] is not None


# -- control store -------------------------------------------------------------------------


def _version_check(name: str, where: str, version: int, current: int) -> Check:
    if version == current:
        return ok(name, f"{where}: schema version {version}")
    if version < current:
        return warn(
            name,
            f"{where}: schema version {version}, this Sumun migrates it to {current}",
            "the next `sumun serve` migrates it: take a backup first (docs/deploy.md)",
        )
    return fail(
        name,
        f"{where}: schema version {version}, newer than this Sumun reads ({current})",
        "upgrade Sumun on this host to the version the other nodes run",
    )


def check_control_store(ctx: Context) -> Check:  # noqa: PLR0911 - one exit per finding
    name = "control store"
    if ctx.settings is None:
        return fail(name, "not checked: sumun.yaml did not load", "fix sumun.yaml first")
    conf = ctx.settings.control
    try:
        if conf.store == "sqlite":
            path = ctx.home / "store.db"
            if not path.exists():
                return ok(name, f"SQLite {path}: not created yet (the first `sumun serve` does)")
            conn = _sqlite_ro(path, ctx.timeout)
            try:
                (version,) = conn.execute("PRAGMA user_version").fetchone()
            finally:
                conn.close()
            return _version_check(name, f"SQLite {path}", int(version), schema.VERSION)
        with _postgres(ctx.settings, conf.dsn_env, ctx.timeout) as pg:
            if not _pg_table_exists(pg, conf.postgres_schema, "schema_version"):
                return warn(
                    name,
                    f"PostgreSQL schema {conf.postgres_schema}: no tables yet",
                    "`sumun init` or the first `sumun serve` creates them",
                )
            row = pg.execute(
                sql.SQL("SELECT version FROM {} WHERE id = 0").format(
                    sql.Identifier(conf.postgres_schema, "schema_version")
                )
            ).fetchone()
        version = int(row[0]) if row else 0
        return _version_check(
            name, f"PostgreSQL schema {conf.postgres_schema}", version, schema.VERSION
        )
    except sqlite3.Error as exc:
        return fail(name, f"cannot read {ctx.home / 'store.db'}: {exc}", "check the file")
    except SumunError as exc:
        return fail(name, message(exc), exc.advice or "check the control store")


# -- ledger store --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    where: str
    version: int | None  # None: not created yet
    size: int
    checkpoint_ms: int | None
    checkpoint_size: int


def ledger_facts(settings: Settings, home: Path, timeout: float) -> LedgerFacts:
    """The ledger's schema version, size and latest checkpoint, read-only."""
    conf = settings.ledger
    if conf.store == "sqlite":
        path = home / "ledger" / "ledger.db"
        where = f"SQLite {path}"
        if not path.exists():
            return LedgerFacts(where, None, 0, None, 0)
        conn = _sqlite_ro(path, timeout)
        try:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            if app_id != _LEDGER_APPLICATION_ID:
                raise StoreError(
                    f"{path} is not a Sumun ledger", advice="restore the ledger from a backup"
                )
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            state = conn.execute("SELECT size FROM state WHERE id = 0").fetchone()
            last = conn.execute(
                "SELECT time_ms, size FROM checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {path}: {exc}") from None
        finally:
            conn.close()
        return LedgerFacts(
            where,
            int(version),
            int(state[0]) if state else 0,
            int(last[0]) if last else None,
            int(last[1]) if last else 0,
        )
    where = f"PostgreSQL schema {conf.postgres_schema}"
    with _postgres(settings, conf.postgres_dsn_env, timeout) as pg:
        if not _pg_table_exists(pg, conf.postgres_schema, "state"):
            return LedgerFacts(where, None, 0, None, 0)
        state = pg.execute(
            sql.SQL("SELECT size FROM {} WHERE id = 0").format(
                sql.Identifier(conf.postgres_schema, "state")
            )
        ).fetchone()
        last = pg.execute(
            sql.SQL("SELECT time_ms, size FROM {} ORDER BY size DESC LIMIT 1").format(
                sql.Identifier(conf.postgres_schema, "checkpoints")
            )
        ).fetchone()
    return LedgerFacts(
        where,
        LEDGER_VERSION,  # one layout so far, created whole (sumun.ledger.store.postgres)
        int(state[0]) if state else 0,
        int(last[0]) if last else None,
        int(last[1]) if last else 0,
    )


def check_ledger_store(ctx: Context) -> Check:
    name = "ledger store"
    if ctx.settings is None:
        return fail(name, "not checked: sumun.yaml did not load", "fix sumun.yaml first")
    try:
        facts = ledger_facts(ctx.settings, ctx.home, ctx.timeout)
    except SumunError as exc:
        return fail(name, message(exc), exc.advice or "check the ledger store")
    if facts.version is None:
        return ok(name, f"{facts.where}: not created yet (the first `sumun serve` does)")
    checked = _version_check(name, facts.where, facts.version, LEDGER_VERSION)
    if checked.status != "ok":
        return checked
    return ok(name, f"{checked.summary}, {facts.size} entries")


def check_checkpoint(ctx: Context) -> Check:  # noqa: PLR0911 - one exit per finding
    name = "ledger checkpoint"
    if ctx.settings is None:
        return fail(name, "not checked: sumun.yaml did not load", "fix sumun.yaml first")
    try:
        facts = ledger_facts(ctx.settings, ctx.home, ctx.timeout)
    except SumunError as exc:
        return fail(name, f"not checked: {message(exc)}", exc.advice or "check the ledger store")
    serving = ctx.ready is not None and ctx.ready.status_code == 200
    if facts.checkpoint_ms is None:
        if facts.size == 0:
            return ok(name, "no entries yet, so nothing to sign")
        text = f"{facts.size} entries, none signed into a checkpoint yet"
        if not serving:
            return ok(name, text + " (an unsealed `sumun serve` signs one every 10 s)")
        return warn(name, text, "look for 'ledger checkpoint failed' in the server's log")
    age = time.time() - facts.checkpoint_ms / 1000
    behind = facts.size - facts.checkpoint_size
    text = f"last signed {age_text(age)} ago at size {facts.checkpoint_size}"
    if behind > 0:
        text += f" ({behind} entries after it)"
    if serving and age > _CHECKPOINT_STALE_S:
        return warn(
            name,
            text + ", while the server runs unsealed",
            "look for 'ledger checkpoint failed' in the server's log (the key backend?)",
        )
    if not serving:
        text += "; no unsealed server is running, so none is due"
    return ok(name, text)


# -- clock ---------------------------------------------------------------------------------


def check_clock_skew(ctx: Context) -> Check | None:  # noqa: PLR0911 - one exit per finding
    """This host's clock against PostgreSQL's (`SELECT now()`), when a store is PostgreSQL."""
    settings = ctx.settings
    if settings is None:
        return None
    if settings.control.store == "postgres":
        dsn_env = settings.control.dsn_env
    elif settings.ledger.store == "postgres":
        dsn_env = settings.ledger.postgres_dsn_env
    else:
        return None
    name = "clock skew"
    try:
        with _postgres(settings, dsn_env, ctx.timeout) as pg:
            before = time.time()
            row = pg.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
            after = time.time()
    except SumunError as exc:
        return fail(name, f"not measured: {message(exc)}", exc.advice or "check PostgreSQL")
    if row is None:
        return fail(name, "PostgreSQL gave no time", "check PostgreSQL")
    skew = float(row[0]) - (before + after) / 2
    text = f"this host is {abs(skew):.3f} s {'behind' if skew > 0 else 'ahead of'} PostgreSQL"
    advice = "run NTP (chrony or systemd-timesyncd) on every node and on the database host"
    if abs(skew) > _SKEW_FAIL_S:
        return fail(name, text, advice)
    if abs(skew) > _SKEW_WARN_S:
        return warn(name, text, advice)
    return ok(name, text)
