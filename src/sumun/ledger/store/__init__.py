"""Ledger stores: the `LedgerStore` protocol (`base`) and its drivers (`sqlite`, `postgres`)."""
