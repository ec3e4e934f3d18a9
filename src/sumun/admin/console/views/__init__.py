"""One module per console page: `login`, `overview`, `providers`, `tenants`, `ledger`, `policy`,
`keys`, `compliance`, `supply_chain`."""
