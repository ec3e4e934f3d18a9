"""The composition root: one place that wires the key layer and the ledger together.

The key layer emits its events into the ledger; the ledger seals payloads and signs checkpoints
with the key layer. Everything that runs Sumun (CLI, server) opens it through `open_runtime`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sumun._fs import private_dir
from sumun.config import Settings
from sumun.errors import ConfigError
from sumun.keys import seal
from sumun.keys.service import KeyService
from sumun.ledger.events import LedgerEventSink
from sumun.ledger.service import Ledger
from sumun.ledger.store.base import LedgerStore, check_store
from sumun.store.control import Control, documents_for, open_control

__all__ = ["Runtime", "ledger_origin", "open_runtime", "open_store"]


def open_store(settings: Settings) -> LedgerStore:
    conf = settings.ledger
    if conf.store == "sqlite":
        from sumun.ledger.store.sqlite import SqliteStore

        directory = private_dir(settings.home / "ledger")
        return check_store(SqliteStore(directory / "ledger.db", timeout=conf.timeout_seconds))
    from sumun.ledger.store.postgres import PostgresStore

    dsn = settings.secret_from_env(conf.postgres_dsn_env)
    if dsn is None:
        raise ConfigError(f"set {conf.postgres_dsn_env} to the ledger's PostgreSQL DSN")
    return check_store(
        PostgresStore(dsn, schema=conf.postgres_schema, timeout=conf.timeout_seconds)
    )


def ledger_origin(settings: Settings, keys: KeyService | None = None) -> str:
    """The checkpoint origin: configured, else stable for this deployment (from its MK check)."""
    if settings.ledger.origin:
        return settings.ledger.origin
    info = keys.seal_info() if keys is not None else seal.read_seal_info(documents_for(settings))
    return f"sumun.local/{hashlib.sha256(info.mk_check).hexdigest()[:16]}"


@dataclass
class Runtime:
    settings: Settings
    keys: KeyService
    ledger: Ledger
    control: Control

    closed: bool = False

    def close(self) -> None:
        """Seal the keys, then drain and close the ledger. Idempotent."""
        if self.closed:
            return
        self.closed = True
        if not self.keys.sealed:
            self.keys.seal(actor="sumun@shutdown")
        self.ledger.close()
        self.control.close()


def open_runtime(settings: Settings) -> Runtime:
    control = open_control(settings)
    keys: KeyService | None = None
    ledger = Ledger(
        open_store(settings),
        settings.ledger,
        home=settings.home,
        origin=lambda: ledger_origin(settings, keys),
    )
    keys = KeyService(settings, events=LedgerEventSink(ledger), control=control)
    ledger.bind_keys(keys)
    return Runtime(settings, keys, ledger, control)
