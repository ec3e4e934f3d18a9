"""Opening the control plane from settings: which driver, which documents, which watcher.

    control.store = sqlite      store.db, keystore/deks.db and pseudonyms.db under SUMUN_HOME;
                                documents are files in SUMUN_HOME (one host)
    control.store = postgres    every table and document in one schema (`control.dsn_env`);
                                every node and every CLI on any host sees the same state

`Control` hands out *new* connections (`database()`, `dek_database()`, `vault_database()`):
each user owns and closes its own, as each did its own SQLite connection before.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sumun.config import Settings
from sumun.errors import ConfigError
from sumun.store.database import Database, check_database
from sumun.store.documents import Documents, HomeDocuments, StoreDocuments
from sumun.store.schema import DEK_TABLES, VAULT_TABLES
from sumun.store.usage import USAGE_TABLES, UsageStore
from sumun.store.watch import REDIS_CHANNEL, ControlWatcher, redis_publisher

__all__ = ["Control", "documents_for", "open_control"]

log = logging.getLogger(__name__)


@dataclass
class Control:
    settings: Settings
    _documents: Documents | None = field(default=None, repr=False)
    _owned: list[Database] = field(default_factory=list, repr=False)
    _publish: Callable[[int], None] | None = field(default=None, repr=False)
    _usage: UsageStore | None = field(default=None, repr=False)

    @property
    def shared(self) -> bool:
        return self.settings.control.store == "postgres"

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def redis_channel(self) -> str:
        """This deployment's Redis channel: deployments sharing one Redis never wake each
        other. Derived from where the control store is (never from a secret)."""
        if self.shared:
            from psycopg.conninfo import conninfo_to_dict

            try:
                params = conninfo_to_dict(self._dsn())
            except Exception:
                params = {}
            where = (
                "|".join(str(params.get(k, "")) for k in ("host", "port", "dbname"))
                + f"|{self.settings.control.postgres_schema}"
            )
        else:
            where = str(self.home.resolve() / "store.db")
        return f"{REDIS_CHANNEL}:{hashlib.sha256(where.encode()).hexdigest()[:16]}"

    def _dsn(self) -> str:
        conf = self.settings.control
        dsn = self.settings.secret_from_env(conf.dsn_env)
        if dsn is None:
            raise ConfigError(f"set {conf.dsn_env} to the control store's PostgreSQL DSN")
        return dsn

    def _postgres(self) -> Database:
        from sumun.store.postgres import PostgresDatabase

        conf = self.settings.control
        return check_database(
            PostgresDatabase(
                self._dsn(),
                schema_name=conf.postgres_schema,
                timeout=conf.timeout_seconds,
                after_change=self._publisher(),
            )
        )

    def _sqlite(
        self,
        path: Path,
        tables: tuple[str, ...] | None = None,
        *,
        synchronous: str = "FULL",
        label: str = "store",
    ) -> Database:
        from sumun.store.sqlite import SqliteDatabase

        return check_database(
            SqliteDatabase(
                path,
                tables=tables,
                timeout=self.settings.control.timeout_seconds,
                synchronous=synchronous,
                after_change=self._publisher() if tables is None else None,
                label=label,
            )
        )

    def _publisher(self) -> Callable[[int], None] | None:
        """Redis, when configured, hears every control change right after its commit (one
        client for every connection this process opens)."""
        url = self.settings.gateway.redis_url
        if url is not None and self._publish is None:
            self._publish = redis_publisher(url, self.redis_channel, name="sumun-control-publish")
        return self._publish

    # -- what callers open -----------------------------------------------------------------

    def database(self) -> Database:
        """A new connection to the control tables (the caller closes it)."""
        if self.shared:
            return self._postgres()
        return self._sqlite(self.home / "store.db")

    def dek_database(self) -> Database:
        if self.shared:
            return self._postgres()
        return self._sqlite(self.home / "keystore" / "deks.db", DEK_TABLES, label="DEK store")

    def vault_database(self) -> Database:
        if self.shared:
            return self._postgres()
        return self._sqlite(
            self.home / "pseudonyms.db", VAULT_TABLES, synchronous="NORMAL", label="pseudonym vault"
        )

    def usage_database(self) -> Database:
        """The usage rollup's connection: a file of its own on one host (counts, not evidence:
        its frequent writes never queue behind a revocation's durable one)."""
        if self.shared:
            return self._postgres()
        return self._sqlite(
            self.home / "usage.db", USAGE_TABLES, synchronous="NORMAL", label="usage rollup"
        )

    @property
    def usage(self) -> UsageStore:
        """The usage rollup (sumun.store.usage), one connection per process, opened on first
        use: the gateway's flusher writes it, the admin API's `GET /usage` reads it."""
        if self._usage is None:
            self._usage = UsageStore(self.usage_database())
        return self._usage

    @property
    def documents(self) -> Documents:
        if self._documents is None:
            if self.shared:
                db = self._postgres()
                self._owned.append(db)
                self._documents = StoreDocuments(db)
            else:
                self._documents = HomeDocuments(self.home)
        return self._documents

    def announce(self) -> None:
        """Bump the generation without changing a table: tells every node to re-read what
        lives outside the control tables (a policy stored as a file on one host)."""
        db = self.database()
        try:
            with db.write("announce a change in"):
                pass
        finally:
            db.close()

    def watcher(self, db: Database) -> ControlWatcher:
        conf = self.settings.control
        return ControlWatcher(
            db,
            poll_seconds=conf.poll_seconds,
            max_stale_seconds=conf.max_stale_seconds,
            redis_url=self.settings.gateway.redis_url,
            redis_channel=self.redis_channel,
        )

    def close(self) -> None:
        for db in self._owned:
            db.close()
        self._owned.clear()
        self._documents = None
        if self._usage is not None:
            self._usage.close()
            self._usage = None


def open_control(settings: Settings) -> Control:
    return Control(settings)


def documents_for(settings: Settings) -> Path | Documents:
    """Where a short-lived reader (a CLI command) finds the documents: the home's folder on one
    host, the shared store in a cluster (its connection lives as long as the process)."""
    if settings.control.store == "sqlite":
        return settings.home
    return open_control(settings).documents
