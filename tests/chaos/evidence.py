"""What is left after the chaos, read from outside: the ledger export, and every place plaintext
could have landed (files, database rows, a pg_dump, Redis keys and traffic, logs).

The ledger is read the way a third party reads an export (docs/ledger-format.md §4–5):
`verify_export` with the pinned verifier key, then the entry bundles, entry by entry.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql

from sumun.ledger.entry import decode_entry
from sumun.ledger.tiles import TILE_WIDTH, TileReader
from sumun.ledger.verifier import verify_export

__all__ = [
    "Hit",
    "LedgerView",
    "RedisTap",
    "pg_dump",
    "read_export",
    "scan_bytes",
    "scan_database",
    "scan_files",
    "scan_redis_keys",
]


# -- the ledger ------------------------------------------------------------------------------


@dataclass
class LedgerView:
    """Every entry of an export, decoded, and the request entries by request id and kind."""

    size: int
    entries: list[dict[str, Any]]
    requests: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries:
            request_id = entry.get("request_id")
            if request_id and str(entry["kind"]).startswith("request-"):
                kinds = self.requests.setdefault(request_id, {})
                kinds.setdefault(entry["kind"], []).append(entry)

    def of(self, request_id: str | None, kind: str) -> list[dict[str, Any]]:
        if request_id is None:
            return []
        return self.requests.get(request_id, {}).get(kind, [])


def read_export(directory: Path, vkeys: list[str]) -> LedgerView:
    """Verify the export against the pinned keys, then read every entry bundle."""
    verified = verify_export(directory, vkeys)
    reader = TileReader(directory)
    full, last = divmod(verified.size, TILE_WIDTH)
    entries: list[dict[str, Any]] = []
    for index in range(full + (1 if last else 0)):
        width = TILE_WIDTH if index < full else last
        entries.extend(decode_entry(raw) for raw in reader.entries(index, width))
    return LedgerView(verified.size, entries)


# -- plaintext -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    where: str
    needle: str
    context: bytes

    def __str__(self) -> str:
        return f"{self.needle} in {self.where}: …{self.context!r}…"


def scan_bytes(where: str, data: bytes, needles: Mapping[str, bytes]) -> list[Hit]:
    hits = []
    for name, needle in needles.items():
        at = data.find(needle)
        if at >= 0:
            hits.append(Hit(where, name, data[max(0, at - 40) : at + len(needle) + 40]))
    return hits


def scan_files(roots: Iterable[Path], needles: Mapping[str, bytes]) -> tuple[list[str], list[Hit]]:
    """(the regular files read under `roots`, with their sizes; hits). A file that goes away
    while we look (a spool segment replayed meanwhile) is skipped."""
    seen, hits = [], []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            seen.append(f"{path.relative_to(root.parent)} ({len(data)} B)")
            hits += scan_bytes(str(path), data, needles)
    return seen, hits


def _values(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return str(value).encode()


def scan_database(dsn: str, needles: Mapping[str, bytes]) -> tuple[dict[str, int], list[Hit]]:
    """Every row of every table outside the system schemas, column by column:
    ({"schema.table": rows}, hits)."""
    tables: dict[str, int] = {}
    hits: list[Hit] = []
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        names = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND NOT starts_with(n.nspname, 'pg_') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in names:
            cursor = conn.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            )
            columns = [c.name for c in cursor.description or ()]
            rows = 0
            for row in cursor:
                rows += 1
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        hits += scan_bytes(f"{schema}.{table}.{column}", _values(value), needles)
            tables[f"{schema}.{table}"] = rows
    return tables, hits


def pg_dump(dsn: str, out: Path) -> Path:
    """`pg_dump` of the whole database (schema and data) as plain SQL text."""
    subprocess.run(
        ["pg_dump", "--no-owner", f"--dbname={dsn}", f"--file={out}"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


def scan_redis_keys(url: str, needles: Mapping[str, bytes]) -> tuple[int, list[Hit]]:
    """Every key of the Redis database in `url`, read by type: (keys, hits)."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    count, hits = 0, []
    try:
        for key in client.scan_iter(count=1000):
            count += 1
            kind = client.type(key).decode()
            parts: list[Any] = [key]
            if kind == "string":
                parts.append(client.get(key))
            elif kind == "hash":
                parts += [x for pair in client.hgetall(key).items() for x in pair]
            elif kind == "list":
                parts += client.lrange(key, 0, -1)
            elif kind == "set":
                parts += list(client.smembers(key))
            elif kind == "zset":
                parts += [member for member, _score in client.zrange(key, 0, -1, withscores=True)]
            elif kind == "stream":
                for _id, fields in client.xrange(key):
                    parts += [x for pair in fields.items() for x in pair]
            hits += scan_bytes(
                f"redis key {key!r}", b"\0".join(_values(p) for p in parts if p), needles
            )
    finally:
        client.close()
    return count, hits


class RedisTap:
    """Everything Redis is told (MONITOR) and everything published (PSUBSCRIBE *), raw bytes,
    on direct connections that no proxy cut touches."""

    def __init__(self, address: tuple[str, int]) -> None:
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.monitor = bytearray()
        self.published = bytearray()
        for command, sink in (
            (b"MONITOR\r\n", self.monitor),
            (b"PSUBSCRIBE *\r\n", self.published),
        ):
            sock = socket.create_connection(address, timeout=3)
            sock.settimeout(None)
            sock.sendall(command)
            self._socks.append(sock)
            thread = threading.Thread(target=self._read, args=(sock, sink), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _read(sock: socket.socket, sink: bytearray) -> None:
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                sink.extend(data)

    def close(self) -> None:
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(5)


@contextlib.contextmanager
def redis_tap(address: tuple[str, int]) -> Iterator[RedisTap]:
    tap = RedisTap(address)
    try:
        yield tap
    finally:
        tap.close()
