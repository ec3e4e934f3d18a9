"""The console's labels by page, each module a `MESSAGES` table of key → (English, Korean).

`sumun.admin.console.i18n` merges them (a key defined twice is an error at import) with the
common labels it holds itself.
"""

from sumun.admin.console.messages import (
    compliance,
    keys,
    oidc,
    overview,
    policy,
    supply_chain,
    tenants,
)

PAGES = (compliance, keys, oidc, overview, policy, supply_chain, tenants)

__all__ = ["PAGES"]
