"""Tests for the ledger stores (SQLite and PostgreSQL), mirroring sumun.ledger.store."""
