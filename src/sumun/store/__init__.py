"""The directory: tenants, their apps and virtual API keys, in `$SUMUN_HOME/store.db`.

`Directory` (`sumun.store.directory`) issues keys and authenticates them on every request;
`sumun.store.model` holds the frozen records it hands out; `sumun.store.cuts` is the table
behind the provider kill switch. The file is one SQLite database in WAL mode, shared safely by
the running gateway's workers and the `sumun tenants` CLI.

Secrets: an API key is shown once, when issued, and stored only as its SHA-256 digest. No
record here ever carries a secret.
"""
