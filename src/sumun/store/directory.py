"""The tenant directory: tenants, apps, virtual API keys, and authenticating a presented key.

API keys look like `sk-sumun-<key_id>-<secret>`: `key_id` is 10 base32 characters (public: it
names the key in lists, logs and the ledger), `secret` is 40 base32 characters from `secrets`
(200 bits). The whole key is shown once, by `issue_key`, and stored only as its SHA-256 digest.
A fast hash is the right tool here, unlike for passwords: slow hashes (argon2, bcrypt) exist to
make guessing *low-entropy* secrets expensive, but no one can enumerate 2^200 secrets however
fast the hash is — and a fast hash keeps `authenticate` in microseconds on every request.

`authenticate` is on the hot path and never reads the database for a key it has seen. Answers
for a known key_id are cached in memory; the cache is dropped whenever the control generation
moves (`sumun.store.database`: every control change bumps it in its own transaction). In a
running gateway the `ControlWatcher` tells us (LISTEN/NOTIFY, Redis or a 0.2 s poll) and the
hot path compares two integers; without a watcher (the CLI) the generation is re-read at most
every `recheck_seconds`. A revocation made anywhere thus takes effect on every node within the
poll interval — well under the 1 s contract — and a node whose watcher has lost the store for
longer than `control.max_stale_seconds` refuses (StoreError → 503) instead of trusting its cache.
Writes through *this* Directory drop its cache at once.

Thread safety: one connection behind one lock. The hit path reads the cache without the lock;
every database read, cache fill and cache drop happens under it, so a fill can never put back
an entry that a concurrent drop meant to remove.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sumun.errors import AuthError, UsageError
from sumun.policy.classes import DataClass
from sumun.store.database import Database, Row, Tx
from sumun.store.model import App, Limits, Principal, Role, Tenant, VirtualKey

if TYPE_CHECKING:
    from sumun.store.watch import ControlWatcher

__all__ = ["MAX_PAGE", "UNCHANGED", "Directory", "KeyPage", "Unchanged"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower case
_KEY_ID_CHARS = 10
_SECRET_CHARS = 40
_KEY_PREFIX = "sk-sumun-"
_KEY_LEN = len(_KEY_PREFIX) + _KEY_ID_CHARS + 1 + _SECRET_CHARS
_KEY_RE = re.compile(rf"sk-sumun-([a-z2-7]{{{_KEY_ID_CHARS}}})-[a-z2-7]{{{_SECRET_CHARS}}}")
_KEY_ID_RE = re.compile(rf"[a-z2-7]{{{_KEY_ID_CHARS}}}")
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_MAX_USER = 256
MAX_PAGE = 1000  # keys in one `page_keys` answer
_MAX_SEARCH = 256
_MAX_NOTICE = 4000

_INVALID = "invalid API key"  # one message for malformed, unknown and wrong keys: no oracle

_KEY_COLUMNS = 'key_id, tenant, app, "user", role, created_at, revoked_at, rpm, tpm, token_budget'
_TENANT_COLUMNS = (
    "name, ai_notice, notice_text, default_data_class, rpm, tpm, token_budget, created_at"
)
# Read with the columns above (INSERTs leave these NULL: set by `update_*`; schema v3).
_SPEND_COLUMNS = ", spend_budget, spend_currency"
_KEY_READ = _KEY_COLUMNS + _SPEND_COLUMNS
_TENANT_READ = _TENANT_COLUMNS + _SPEND_COLUMNS


class Unchanged(enum.Enum):
    """`update_tenant` leaves a field alone unless it is given (None clears a field)."""

    UNCHANGED = enum.auto()


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class KeyPage:
    """One page of a tenant's keys, oldest first; `next_after` continues it (None: the end)."""

    keys: tuple[VirtualKey, ...]
    total: int  # the tenant's keys matching the search, on every page
    next_after: str | None


@dataclass(frozen=True, slots=True)
class _Cached:
    digest: bytes
    principal: Principal
    revoked: bool


def _digest(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode("ascii")).digest()


def _random(chars: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(chars))


def _check_class(value: str) -> str:
    """A data class as stored: "C", "S" or "O" (any case accepted)."""
    try:
        return DataClass.parse(value).value
    except ValueError as exc:
        raise UsageError(f"invalid data class {value!r}: use C, S or O") from exc


def _check_name(what: str, name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise UsageError(
            f"bad {what} name {name!r}: use 1-63 of a-z 0-9 . _ - (starting with a letter or digit)"
        )
    return name


def _check_limit(what: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or value < 1):
        raise UsageError(f"{what} must be a positive whole number (or unset for no limit)")
    return value


def _spend_changes(spend: tuple[str, int] | Unchanged | None) -> dict[str, object]:
    """The columns a spend budget change sets: (currency, micro-units), or None to lift it."""
    if isinstance(spend, Unchanged):
        return {}
    if spend is None:
        return {"spend_budget": None, "spend_currency": None}
    currency, micros = spend
    if currency not in ("KRW", "USD"):
        raise UsageError(f"unknown currency {currency!r}: use KRW or USD")
    if isinstance(micros, bool) or not isinstance(micros, int) or micros < 1:
        raise UsageError("a spend budget must be a positive amount (or unset for no limit)")
    return {"spend_budget": micros, "spend_currency": currency}


def _check_text(what: str, value: str | None, limit: int) -> str | None:
    if value is not None and (
        not value.strip() or len(value) > limit or any(ord(c) < 32 for c in value)
    ):
        raise UsageError(f"{what} must be 1-{limit} printable characters")
    return value


def _tenant(row: tuple[Any, ...]) -> Tenant:
    name, notice, text, data_class, rpm, tpm, budget, created, *spend = row
    return Tenant(
        str(name), bool(notice), text, data_class, rpm, tpm, budget, float(created), *spend
    )


def _key(row: tuple[Any, ...]) -> VirtualKey:
    key_id, tenant, app, user, role, created, revoked, rpm, tpm, budget, *spend = row
    return VirtualKey(
        key_id, tenant, app, user, Role(role), float(created), revoked, rpm, tpm, budget, *spend
    )


class Directory:
    """Tenants, apps and virtual keys in the control store. Close it when done."""

    def __init__(
        self,
        store: Path | Database,
        *,
        timeout: float = 5.0,
        recheck_seconds: float = 0.25,
        watcher: ControlWatcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if recheck_seconds < 0 or recheck_seconds > 1:
            raise ValueError("recheck_seconds must be within [0, 1]: revocation must be quick")
        if isinstance(store, Path):
            from sumun.store.sqlite import SqliteDatabase

            store = SqliteDatabase(store, timeout=timeout)
        self._db = store
        self._recheck = recheck_seconds
        self._watcher = watcher
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, _Cached] = {}
        self._tenants: dict[str, Tenant] = {}
        self._seen = watcher.generation if watcher is not None else store.generation()
        self._checked_at = time.monotonic()

    def __repr__(self) -> str:
        return f"<Directory {self._db.where}>"

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @property
    def database(self) -> Database:
        return self._db

    # -- plumbing --------------------------------------------------------------------------

    def _one(self, sql: str, params: tuple[object, ...] = ()) -> Row | None:
        rows = self._db.read(sql, params)
        return rows[0] if rows else None

    def _forget(self) -> None:
        """Drop every cached answer (caller holds the lock)."""
        self._keys = {}
        self._tenants = {}

    def invalidate(self, generation: int | None = None) -> None:
        """Drop the caches (the watcher calls this when the generation moves)."""
        with self._lock:
            self._forget()
            if generation is not None:
                self._seen = generation

    def control_problem(self) -> str | None:
        """Why this node cannot vouch for its control state now (for `/readyz`), or None."""
        if self._watcher is None or self._watcher.fresh():
            return None
        return f"control store unanswered for {self._watcher.stale_for():.1f}s ({self._db.where})"

    def _maybe_refresh(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            watcher.require_fresh()
            if watcher.generation != self._seen:
                self.invalidate(watcher.generation)
            return
        now = time.monotonic()
        if now - self._checked_at < self._recheck:
            return
        with self._lock:
            if now - self._checked_at < self._recheck:
                return
            generation = self._db.generation()
            if generation != self._seen:
                self._forget()
                self._seen = generation
            self._checked_at = now

    # -- authentication (hot path) ---------------------------------------------------------

    def authenticate(self, presented: str) -> Principal:
        """The principal behind an API key, or AuthError. MUST be called on every request."""
        match = _KEY_RE.fullmatch(presented) if len(presented) == _KEY_LEN else None
        if match is None:
            raise AuthError(_INVALID)
        key_id = match.group(1)
        self._maybe_refresh()
        entry = self._keys.get(key_id) or self._load(key_id)
        # Constant-time, over digests: the comparison time says nothing about the secret.
        if not hmac.compare_digest(_digest(presented), entry.digest):
            raise AuthError(_INVALID)
        if entry.revoked:
            raise AuthError("API key revoked", reason="revoked")
        return entry.principal

    def _load(self, key_id: str) -> _Cached:
        with self._lock:
            row = self._one(
                f"SELECT digest, {_KEY_READ} FROM keys WHERE key_id = ?",  # noqa: S608
                (key_id,),
            )
            if row is None:
                raise AuthError(_INVALID)
            key = _key(row[1:])
            entry = _Cached(
                bytes(row[0]),
                Principal(key.key_id, key.tenant, key.app, key.user, key.role, key.limits),
                key.revoked,
            )
            self._keys[key_id] = entry
            return entry

    # -- tenants ---------------------------------------------------------------------------

    def create_tenant(
        self,
        name: str,
        *,
        ai_notice: bool = True,
        notice_text: str | None = None,
        default_data_class: str | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        token_budget: int | None = None,
    ) -> Tenant:
        """A new tenant. The AI notice defaults to on: disclosure is the safe default."""
        tenant = Tenant(
            _check_name("tenant", name),
            ai_notice,
            _check_text("notice text", notice_text, _MAX_NOTICE),
            None if default_data_class is None else _check_class(default_data_class),
            _check_limit("rpm", rpm),
            _check_limit("tpm", tpm),
            _check_limit("token budget", token_budget),
            self._clock(),
        )
        with self._lock, self._db.write("write") as tx:
            if tx.one("SELECT 1 FROM tenants WHERE name = ?", (name,)):
                raise UsageError(f"tenant {name!r} already exists")
            tx.execute(
                f"INSERT INTO tenants ({_TENANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    tenant.name,
                    int(tenant.ai_notice),
                    tenant.notice_text,
                    tenant.default_data_class,
                    tenant.rpm,
                    tenant.tpm,
                    tenant.token_budget,
                    tenant.created_at,
                ),
            )
            self._forget()
        return tenant

    def update_tenant(
        self,
        name: str,
        *,
        ai_notice: bool | Unchanged = UNCHANGED,
        notice_text: str | Unchanged | None = UNCHANGED,
        default_data_class: str | Unchanged | None = UNCHANGED,
        rpm: int | Unchanged | None = UNCHANGED,
        tpm: int | Unchanged | None = UNCHANGED,
        token_budget: int | Unchanged | None = UNCHANGED,
        spend_budget: tuple[str, int] | Unchanged | None = UNCHANGED,
    ) -> Tenant:
        """Change the given fields; None clears a field (no limit, the default notice).
        `spend_budget`: (currency, micro-units), see `Limits`."""
        changes: dict[str, object] = _spend_changes(spend_budget)
        if not isinstance(ai_notice, Unchanged):
            changes["ai_notice"] = int(ai_notice)
        if not isinstance(notice_text, Unchanged):
            changes["notice_text"] = _check_text("notice text", notice_text, _MAX_NOTICE)
        if not isinstance(default_data_class, Unchanged):
            changes["default_data_class"] = (
                None if default_data_class is None else _check_class(default_data_class)
            )
        for column, value in (("rpm", rpm), ("tpm", tpm), ("token_budget", token_budget)):
            if not isinstance(value, Unchanged):
                changes[column] = _check_limit(column.replace("_", " "), value)
        with self._lock:
            with self._db.write("write") as tx:
                if changes:
                    # Column names come from the fixed set above, never from the caller.
                    assignments = ", ".join(f"{column} = ?" for column in changes)
                    updated = tx.execute(
                        f"UPDATE tenants SET {assignments} WHERE name = ?",  # noqa: S608
                        (*changes.values(), name),
                    )
                    if updated == 0:
                        raise UsageError(f"no tenant named {name!r}")
                elif not tx.one("SELECT 1 FROM tenants WHERE name = ?", (name,)):
                    raise UsageError(f"no tenant named {name!r}")
                self._forget()
            return self._tenant_row(name)

    def get_tenant(self, name: str) -> Tenant:
        """The tenant (cached like keys: the gateway reads it on every request)."""
        self._maybe_refresh()
        cached = self._tenants.get(name)
        if cached is not None:
            return cached
        with self._lock:
            tenant = self._tenant_row(name)
            self._tenants[name] = tenant
            return tenant

    def _tenant_row(self, name: str) -> Tenant:
        row = self._one(
            f"SELECT {_TENANT_READ} FROM tenants WHERE name = ?",  # noqa: S608
            (name,),
        )
        if row is None:
            raise UsageError(f"no tenant named {name!r}")
        return _tenant(row)

    def list_tenants(self) -> list[Tenant]:
        rows = self._db.read(f"SELECT {_TENANT_READ} FROM tenants ORDER BY name")  # noqa: S608
        return [_tenant(row) for row in rows]

    # -- apps ------------------------------------------------------------------------------

    def create_app(self, tenant: str, name: str) -> App:
        app = App(tenant, _check_name("app", name), self._clock())
        with self._lock, self._db.write("write") as tx:
            self._require_tenant(tx, tenant)
            if tx.one("SELECT 1 FROM apps WHERE tenant = ? AND name = ?", (tenant, name)):
                raise UsageError(f"tenant {tenant!r} already has an app named {name!r}")
            tx.execute(
                "INSERT INTO apps (tenant, name, created_at) VALUES (?, ?, ?)",
                (app.tenant, app.name, app.created_at),
            )
        return app

    def list_apps(self, tenant: str | None = None) -> list[App]:
        if tenant is None:
            rows = self._db.read("SELECT tenant, name, created_at FROM apps ORDER BY tenant, name")
        else:
            rows = self._db.read(
                "SELECT tenant, name, created_at FROM apps WHERE tenant = ? ORDER BY name",
                (tenant,),
            )
        return [App(t, n, float(at)) for t, n, at in rows]

    @staticmethod
    def _require_tenant(tx: Tx, tenant: str) -> None:
        if not tx.one("SELECT 1 FROM tenants WHERE name = ?", (tenant,)):
            raise UsageError(f"no tenant named {tenant!r}")

    @staticmethod
    def _require_app(tx: Tx, tenant: str, app: str) -> None:
        if not tx.one("SELECT 1 FROM apps WHERE tenant = ? AND name = ?", (tenant, app)):
            raise UsageError(f"tenant {tenant!r} has no app named {app!r}")

    # -- keys ------------------------------------------------------------------------------

    def issue_key(
        self,
        tenant: str,
        *,
        app: str | None = None,
        user: str | None = None,
        role: Role = Role.USER,
        rpm: int | None = None,
        tpm: int | None = None,
        token_budget: int | None = None,
    ) -> tuple[VirtualKey, str]:
        """A new key and its secret form. The secret is returned this once and never stored."""
        _check_text("user", user, _MAX_USER)
        role = Role(role)
        limits = Limits(
            _check_limit("rpm", rpm),
            _check_limit("tpm", tpm),
            _check_limit("token budget", token_budget),
        )
        with self._lock, self._db.write("write") as tx:
            self._require_tenant(tx, tenant)
            if app is not None:
                self._require_app(tx, tenant, app)
            while True:  # a 50-bit key_id collides about never; if it does, draw again
                key_id = _random(_KEY_ID_CHARS)
                if not tx.one("SELECT 1 FROM keys WHERE key_id = ?", (key_id,)):
                    break
            api_key = f"{_KEY_PREFIX}{key_id}-{_random(_SECRET_CHARS)}"
            key = VirtualKey(
                key_id,
                tenant,
                app,
                user,
                role,
                self._clock(),
                None,
                limits.rpm,
                limits.tpm,
                limits.token_budget,
            )
            tx.execute(
                f"INSERT INTO keys (digest, {_KEY_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _digest(api_key),
                    key.key_id,
                    key.tenant,
                    key.app,
                    key.user,
                    key.role.value,
                    key.created_at,
                    None,
                    key.rpm,
                    key.tpm,
                    key.token_budget,
                ),
            )
            # A negative answer for this id may be cached (someone tried it): drop it.
            self._keys.pop(key_id, None)
        return key, api_key

    def revoke_key(self, key_id: str) -> VirtualKey:
        """Revoke for good (idempotent: the first revocation time stays)."""
        if not _KEY_ID_RE.fullmatch(key_id):
            raise UsageError(f"bad key id {key_id!r}: 10 characters of a-z 2-7")
        with self._lock:
            with self._db.write("write") as tx:
                tx.execute(
                    "UPDATE keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                    (self._clock(), key_id),
                )
                self._forget()
            return self._key_row(key_id)

    def get_key(self, key_id: str) -> VirtualKey:
        with self._lock:
            return self._key_row(key_id)

    def _key_row(self, key_id: str) -> VirtualKey:
        row = self._one(
            f"SELECT {_KEY_READ} FROM keys WHERE key_id = ?",  # noqa: S608
            (key_id,),
        )
        if row is None:
            raise UsageError(f"no API key with id {key_id!r}")
        return _key(row)

    def update_key_limits(
        self,
        key_id: str,
        *,
        rpm: int | Unchanged | None = UNCHANGED,
        tpm: int | Unchanged | None = UNCHANGED,
        token_budget: int | Unchanged | None = UNCHANGED,
        spend_budget: tuple[str, int] | Unchanged | None = UNCHANGED,
    ) -> VirtualKey:
        """Change a key's limits; None lifts one. Every node sees it with the next generation
        (the cached principal carries the limits, so the cache is dropped). `spend_budget`:
        (currency, micro-units), see `Limits`."""
        if not _KEY_ID_RE.fullmatch(key_id):
            raise UsageError(f"bad key id {key_id!r}: 10 characters of a-z 2-7")
        changes: dict[str, object] = _spend_changes(spend_budget)
        for column, value in (("rpm", rpm), ("tpm", tpm), ("token_budget", token_budget)):
            if not isinstance(value, Unchanged):
                changes[column] = _check_limit(column.replace("_", " "), value)
        with self._lock:
            with self._db.write("write") as tx:
                if not tx.one("SELECT 1 FROM keys WHERE key_id = ?", (key_id,)):
                    raise UsageError(f"no API key with id {key_id!r}")
                if changes:
                    # Column names come from the fixed set above, never from the caller.
                    assignments = ", ".join(f"{column} = ?" for column in changes)
                    tx.execute(
                        f"UPDATE keys SET {assignments} WHERE key_id = ?",  # noqa: S608
                        (*changes.values(), key_id),
                    )
                self._forget()
            return self._key_row(key_id)

    def page_keys(
        self, tenant: str, *, count: int = 100, after: str | None = None, search: str | None = None
    ) -> KeyPage:
        """A page of `tenant`'s keys in issue order (created_at, key_id), after the key
        `after`; `search` keeps the keys whose id starts with it or whose user contains it
        (case-insensitive). Both queries (the page, bounded by LIMIT, and its count) start from
        the `keys_by_tenant` index and sort only that tenant's keys: about 2 ms a page for a
        tenant of 10,000 keys on SQLite (no table scan, no other tenant's rows)."""
        if not 1 <= count <= MAX_PAGE:
            raise UsageError(f"count must be 1-{MAX_PAGE}")
        where, params = ["tenant = ?"], [tenant]
        if search:
            if len(search) > _MAX_SEARCH:
                raise UsageError(f"search is at most {_MAX_SEARCH} characters")
            needle = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(key_id LIKE ? ESCAPE '\\' OR lower(\"user\") LIKE ? ESCAPE '\\')")
            params += [f"{needle}%", f"%{needle}%"]
        matching = " AND ".join(where)
        total_row = self._one(f"SELECT count(*) FROM keys WHERE {matching}", tuple(params))  # noqa: S608
        total = int(total_row[0]) if total_row else 0
        if after is not None:
            if not _KEY_ID_RE.fullmatch(after):
                raise UsageError("after must be a key id (10 characters of a-z 2-7)")
            where.append(
                "(created_at > (SELECT created_at FROM keys WHERE key_id = ?)"
                " OR (created_at = (SELECT created_at FROM keys WHERE key_id = ?) AND key_id > ?))"
            )
            params += [after, after, after]
        rows = self._db.read(
            f"SELECT {_KEY_READ} FROM keys WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY created_at, key_id LIMIT ?",
            (*params, count + 1),
        )
        keys = tuple(_key(row) for row in rows[:count])
        more = len(rows) > count
        return KeyPage(keys, total, keys[-1].key_id if more and keys else None)

    def key_counts(self) -> dict[str, int]:
        """Each tenant's number of keys (revoked ones included), in one grouped read."""
        rows = self._db.read("SELECT tenant, count(*) FROM keys GROUP BY tenant")
        return {str(tenant): int(n) for tenant, n in rows}

    def list_keys(self, tenant: str | None = None) -> list[VirtualKey]:
        if tenant is None:
            rows = self._db.read(
                f"SELECT {_KEY_READ} FROM keys ORDER BY created_at, key_id"  # noqa: S608
            )
        else:
            rows = self._db.read(
                f"SELECT {_KEY_READ} FROM keys WHERE tenant = ?"  # noqa: S608
                " ORDER BY created_at, key_id",
                (tenant,),
            )
        return [_key(row) for row in rows]
