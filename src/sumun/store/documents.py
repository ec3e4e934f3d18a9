"""Documents: the control plane's few whole-file records, on one host's disk or in the store.

A document is a small byte string under a name (a relative path): the seal record `home.json`
(the sealed root-key blob and how to unseal it), the key registry `keystore/keys.json`, the
embedded KEKs `keystore/embedded-keks.json` (wrapped under the master key), the ledger's
signing-key envelope `ledger/signing.json`. Their owners keep their own formats and integrity
checks (MACs, AEAD); this seam only says where the bytes live and makes read-modify-write safe:

- `HomeDocuments` — files under `SUMUN_HOME`, replaced atomically under an exclusive `flock`
  (the single-host default; the files and their lock files are those of wave 1);
- `StoreDocuments` — rows of the control store's `documents` table, each update one
  transaction that serialises with every other control change and bumps the generation, so
  every node sees it (a disable, a rotation) like any other change.

`stamp(name)` is a cheap change marker; the data path compares it before re-reading.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from sumun._fs import atomic_write, exclusive_lock, private_dir
from sumun.store.database import Database

__all__ = ["Documents", "HomeDocuments", "StoreDocuments", "as_documents", "locate"]


class _Generation(Protocol):
    generation: int


Change = Callable[[bytes | None], bytes | None]  # old body (None: none yet) -> new (None: keep)


@runtime_checkable
class Documents(Protocol):
    @property
    def shared(self) -> bool:
        """True when every node reads the same documents (the control store)."""
        ...

    def read(self, name: str) -> bytes | None: ...

    def exists(self, name: str) -> bool: ...

    def stamp(self, name: str) -> object:
        """Changes whenever the document does (compare with `==`)."""
        ...

    def update(self, name: str, change: Change) -> bytes | None:
        """Read-modify-write as one step against every other writer; returns the new body."""
        ...

    def where(self, name: str) -> str: ...


class HomeDocuments:
    """Files under one host's `SUMUN_HOME`."""

    def __init__(self, home: Path) -> None:
        self._home = home

    def __repr__(self) -> str:
        return f"<HomeDocuments {self._home}>"

    @property
    def shared(self) -> bool:
        return False

    def _path(self, name: str) -> Path:
        return self._home / name

    def where(self, name: str) -> str:
        return str(self._path(name))

    def read(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def stamp(self, name: str) -> object:
        try:
            st = os.stat(self._path(name))
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def update(self, name: str, change: Change) -> bytes | None:
        path = self._path(name)
        private_dir(path.parent)
        with exclusive_lock(path.with_suffix(".lock")):
            old = self.read(name)
            new = change(old)
            if new is not None and new != old:
                atomic_write(path, new)
            return old if new is None else new


class StoreDocuments:
    """Rows of the control store's `documents` table (shared by every node)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._generation: Callable[[], int] | None = None

    def follow(self, watcher: _Generation) -> None:
        """Take change markers from a running watcher: every document update bumps the control
        generation, so comparing it costs no database read on the request path."""
        self._generation = lambda: watcher.generation

    def __repr__(self) -> str:
        return f"<StoreDocuments {self._db.where}>"

    @property
    def shared(self) -> bool:
        return self._db.name != "sqlite"

    def where(self, name: str) -> str:
        return f"{name} in the control store ({self._db.where})"

    def read(self, name: str) -> bytes | None:
        rows = self._db.read("SELECT body FROM documents WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else None

    def exists(self, name: str) -> bool:
        return bool(self._db.read("SELECT 1 FROM documents WHERE name = ?", (name,)))

    def stamp(self, name: str) -> object:
        if self._generation is not None:
            return self._generation()
        rows = self._db.read("SELECT version FROM documents WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else None

    def update(self, name: str, change: Change) -> bytes | None:
        with self._db.write(f"update {name} in") as tx:
            row = tx.one("SELECT body, version FROM documents WHERE name = ?", (name,))
            old = None if row is None else bytes(row[0])
            new = change(old)
            if new is None or new == old:
                return old
            if row is None:
                tx.execute(
                    "INSERT INTO documents (name, body, version, updated_at) VALUES (?, ?, 1, ?)",
                    (name, new, self._clock()),
                )
            else:
                tx.execute(
                    "UPDATE documents SET body = ?, version = version + 1, updated_at = ?"
                    " WHERE name = ?",
                    (new, self._clock(), name),
                )
            return new


def as_documents(home: Path | Documents) -> Documents:
    """The deployment's documents: a home folder given as a path means its files."""
    return HomeDocuments(home) if isinstance(home, Path) else home


def locate(where: Path | Documents, name: str, *, home_relative: str) -> tuple[Documents, str]:
    """Where a document lives: in a folder given as a path (`name` inside it), or in the
    deployment's documents (under `home_relative`, its path relative to SUMUN_HOME)."""
    if isinstance(where, Path):
        return HomeDocuments(where), name
    return where, home_relative
