"""The admin HTTP API: `/admin/v1/…` on its own listener (`admin_api` in sumun.yaml, default
127.0.0.1:8481), for operators, auditors and the console. docs/admin-api.md describes it; the
OpenAPI document it serves at `/admin/v1/openapi.json` is generated from the same declarations
as its routes.

    auth.py        bearer key → caller; the operator tenant's keys act on the whole deployment
    operation.py   one operation declared once; the steps every call runs
    inputs.py      size-capped JSON bodies and query strings → validated models
    errors.py      the error shape and each error's status
    audit.py       every change an `admin-change` ledger entry naming its actor
    providers.py   providers and the kill switch        tenants.py   tenants, apps, limits
    api_keys.py    virtual API keys                      ledger.py    ledger metadata, proofs
    spend_budgets.py  spend budgets of keys and tenants (KRW, USD)
    ledger_more.py consistency, checkpoints, payloads    status.py    status and metrics
    policy.py      view, validate, apply, explain        kek.py       the key layer, seal/unseal
    compliance.py  register and attestations             compliance_reviews.py  oversight
    compliance_report.py, compliance_cache.py            the report, cached per process
    scans.py       recorded scans, CycloneDX, SARIF      usage.py     the overview's figures
    xks.py         AWS KMS External Key Store: keystores, SigV4 credentials, external keys
    openapi.py     the OpenAPI document                  app.py       the ASGI app, from the above

Unlike the Unix-socket admin channel (`sumun.admin.server`, the local CLI's, one shared
token), every caller here is a virtual API key with a role, and every change names that key.
"""

from sumun.admin.http.app import OPERATIONS, admin_http_app
from sumun.admin.http.context import AdminContext

__all__ = ["OPERATIONS", "AdminContext", "admin_http_app"]
