"""One module per console page: `login`, `overview`, `providers`, `tenants`, `ledger`."""
