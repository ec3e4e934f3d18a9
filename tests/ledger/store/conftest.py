"""`backend`: every store test runs against SQLite and against PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sumun.ledger.store.base import LedgerStore
from tests.ledger.store._support import Backend


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        from sumun.ledger.store.sqlite import SqliteStore

        path = tmp_path / "ledger.db"

        def open_sqlite(**kwargs: float) -> LedgerStore:
            return SqliteStore(path, **kwargs)

        made = Backend("sqlite", open_sqlite, [str(path)])
    else:
        from sumun.ledger.store.postgres import PostgresStore

        dsn: str = request.getfixturevalue("postgres_dsn")
        schema: str = request.getfixturevalue("postgres_schema")

        def open_postgres(**kwargs: float) -> LedgerStore:
            return PostgresStore(dsn, schema=schema, **kwargs)

        made = Backend("postgres", open_postgres, [schema], {"SUMUN_TEST_WORKER_DSN": dsn})
    yield made
    for store in made.opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> LedgerStore:
    return backend.open()
