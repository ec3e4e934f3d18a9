"""The control store's tables and their versioned migrations, one list for both drivers.

`MIGRATIONS[i]` takes a store from version i to i + 1. Types are written as `{blob}`, `{real}`
and `{int}` and filled in per driver (SQLite: BLOB, REAL, INTEGER; PostgreSQL: bytea, double
precision, bigint). A store whose version is newer than `VERSION` is refused: an older Sumun
must never write to tables it does not understand.

    v1  tenants, apps, keys (virtual API keys), provider_cuts       (wave 1's store.db)
    v2  control_meta (the generation), documents (sealed root blob, key registry, signing-key
        envelope, register, …), deks (wrapped DEKs), pseudonym_maps (the vault)
    v3  tenants.spend_budget/spend_currency, keys.spend_budget/spend_currency (issue 18)
"""

from __future__ import annotations

__all__ = ["DEK_TABLES", "MIGRATIONS", "VAULT_TABLES", "VERSION", "render"]

_V1 = (
    "CREATE TABLE tenants (name TEXT PRIMARY KEY, ai_notice {int} NOT NULL,"
    " notice_text TEXT, default_data_class TEXT, rpm {int}, tpm {int},"
    " token_budget {int}, created_at {real} NOT NULL)",
    "CREATE TABLE apps (tenant TEXT NOT NULL REFERENCES tenants(name), name TEXT NOT NULL,"
    " created_at {real} NOT NULL, PRIMARY KEY (tenant, name))",
    "CREATE TABLE keys (key_id TEXT PRIMARY KEY, digest {blob} NOT NULL UNIQUE,"
    ' tenant TEXT NOT NULL REFERENCES tenants(name), app TEXT, "user" TEXT, role TEXT NOT NULL,'
    " created_at {real} NOT NULL, revoked_at {real}, rpm {int}, tpm {int}, token_budget {int},"
    " FOREIGN KEY (tenant, app) REFERENCES apps(tenant, name))",
    "CREATE INDEX keys_by_tenant ON keys (tenant)",
    "CREATE TABLE provider_cuts (name TEXT PRIMARY KEY, cut {int} NOT NULL,"
    " reason TEXT NOT NULL, actor TEXT NOT NULL, at {real} NOT NULL)",
)

# Also the whole schema of the one-host files keystore/deks.db and pseudonyms.db, hence
# IF NOT EXISTS (sumun.store.control opens those with them).
DEK_TABLES = (
    "CREATE TABLE IF NOT EXISTS deks (dek_id {blob} PRIMARY KEY, key_id TEXT NOT NULL,"
    " kek_version {int} NOT NULL, scope TEXT NOT NULL, suite {int} NOT NULL,"
    " wrapped {blob} NOT NULL, created_at {real} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS deks_by_scope ON deks (key_id, scope)",
)
VAULT_TABLES = (
    "CREATE TABLE IF NOT EXISTS pseudonym_maps (request_id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL, created_at {real} NOT NULL, sealed {blob} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS pseudonym_maps_by_age ON pseudonym_maps (created_at)",
)

_V2 = (
    "CREATE TABLE control_meta (id {int} PRIMARY KEY CHECK (id = 0), generation {int} NOT NULL)",
    "INSERT INTO control_meta (id, generation) VALUES (0, 1)",
    "CREATE TABLE documents (name TEXT PRIMARY KEY, body {blob} NOT NULL,"
    " version {int} NOT NULL, updated_at {real} NOT NULL)",
    *DEK_TABLES,
    *VAULT_TABLES,
)

# A spend budget per tenant and per key (sumun.gateway.spend_budget): micro-units of a currency.
_V3 = tuple(
    f"ALTER TABLE {table} ADD COLUMN {column}"
    for table in ("tenants", "keys")
    for column in ("spend_budget {int}", "spend_currency TEXT")
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3)
VERSION = len(MIGRATIONS)

_TYPES = {
    "sqlite": {"blob": "BLOB", "real": "REAL", "int": "INTEGER"},
    "postgres": {"blob": "bytea", "real": "double precision", "int": "bigint"},
}


def render(statement: str, dialect: str) -> str:
    return statement.format(**_TYPES[dialect])
