"""The control store's seam: one small protocol, two drivers (SQLite, PostgreSQL).

Every table of the control plane (tenants, apps, virtual keys, provider cuts, documents, wrapped
DEKs, the pseudonym vault) is written once, in portable SQL with `?` placeholders, against this
protocol; `sumun.store.sqlite` and `sumun.store.postgres` run it. The statements are the same
for both drivers on purpose — the dialects differ only in types and in how a change is announced,
and that is the drivers' business.

A driver MUST:
- run `read` as one statement on a connection that sees every committed change;
- run `write` as one transaction (all or nothing) that serialises with every other `write`
  that passes `change=True`, in any process on any node;
- with `change=True`, bump the control *generation* inside that same transaction, so that a
  reader that sees the new generation also sees the change, and announce it to other nodes
  (PostgreSQL: NOTIFY, delivered at commit);
- raise `StoreError` (never a driver exception) and keep secrets (a DSN password) out of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["Database", "Row", "Tx", "check_database"]

Row = tuple[Any, ...]


class Tx(Protocol):
    """Statements inside one `Database.write` transaction."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None: ...

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...


@runtime_checkable
class Database(Protocol):
    @property
    def name(self) -> str:
        """ "sqlite" or "postgres"."""
        ...

    @property
    def where(self) -> str:
        """Where the data lives, for messages (a path, or host/db/schema; never a password)."""
        ...

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    def write(self, doing: str, *, change: bool = True) -> contextlib.AbstractContextManager[Tx]:
        """One transaction; `change=True` for control-plane changes (bumps the generation)."""
        ...

    def generation(self) -> int:
        """The control generation as committed now (one cheap read)."""
        ...

    def erase_deleted(self, table: str) -> None:
        """Make rows already deleted from `table` unrecoverable from this store's live files,
        as far as the driver can (crypto-shredding needs every copy of a key gone)."""
        ...

    def close(self) -> None: ...


def check_database(db: object) -> Database:
    """Refuse, at construction, a driver that does not implement the whole seam."""
    if not isinstance(db, Database):
        raise TypeError(f"control store driver {type(db).__name__} does not implement Database")
    return db
