"""XKS over the admin HTTP API, against a real `sumun demo` process: the `sumun xks` commands'
twin, each change an entry naming the calling key, the secret in the issuing answer only."""

from __future__ import annotations

from typing import Any

import pytest

from sumun.store.model import Role
from tests.console.support import Demo, demo, key_id

__all__ = ["demo"]

pytestmark = pytest.mark.slow


def _entries(demo: Demo) -> list[dict[str, Any]]:
    listed = demo.api("GET", "/ledger/entries", demo.admin_key, params={"count": 200})
    assert listed.status_code == 200, listed.text
    return [row["entry"] for row in listed.json()["entries"] if row["entry"] is not None]


def test_keystore_credentials_and_keys_over_http(demo: Demo) -> None:
    admin = demo.admin_key
    made = demo.api("POST", "/xks/keystores", admin, json={"name": "bank", "uri_prefix": "/bank"})
    assert made.status_code == 201, made.text
    assert made.json()["uri_path"] == "/bank/kms/xks/v1"
    dup = demo.api("POST", "/xks/keystores", admin, json={"name": "b2", "uri_prefix": "/bank"})
    assert dup.status_code == 409
    bad = demo.api("POST", "/xks/keystores", admin, json={"name": "b3", "uri_prefix": "/a b"})
    assert bad.status_code == 400 and "URI prefix" in bad.text

    issued = demo.api("POST", "/xks/keystores/bank/credentials", admin)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    secret = body["secret_access_key"]
    assert len(secret) == 48 and body["ledger_seq"] is not None
    listed = demo.api("GET", "/xks/credentials", admin, params={"keystore": "bank"})
    assert listed.status_code == 200 and secret not in listed.text
    assert listed.json()["credentials"][0]["access_key_id"] == body["access_key_id"]

    key = demo.api(
        "POST", "/xks/keys", admin, json={"keystore": "bank", "key_id": "s3", "usage": "both"}
    )
    assert key.status_code == 201, key.text
    assert key.json()["state"] == "enabled"
    off = demo.api("POST", "/xks/keys/s3/disable", admin)
    assert off.status_code == 200 and off.json()["state"] == "disabled"
    keks = {k["key_id"]: k for k in demo.api("GET", "/keys", admin).json()["keys"]}
    assert keks["s3"]["state"] == "disabled"  # the same cut as `sumun keys disable`
    assert demo.api("POST", "/xks/keys/s3/enable", admin).json()["state"] == "enabled"
    refused = demo.api("POST", "/xks/keys/s3/destroy", admin, json={"confirm": "s4"})
    assert refused.status_code == 400
    scheduled = demo.api("POST", "/xks/keys/s3/destroy", admin, json={"confirm": "s3"})
    assert scheduled.json()["state"] == "pending-destruction"
    assert demo.api("GET", "/xks/keys", admin).json()["keys"][0]["enabled"] is False

    setup = demo.api(
        "POST", "/xks/keystores/bank/aws-setup", admin, json={"endpoint": "https://xks.example"}
    )
    assert setup.status_code == 200, setup.text
    store = setup.json()["create_custom_key_store"]
    assert store["XksProxyAuthenticationCredential"]["AccessKeyId"] == body["access_key_id"]
    assert secret not in setup.text

    revoked = demo.api(
        "POST", f"/xks/keystores/bank/credentials/{body['access_key_id']}/revoke", admin
    )
    assert revoked.status_code == 200 and revoked.json()["active"] is False

    entries = _entries(demo)
    assert secret not in str(entries)
    actions = {e["attrs"].get("action"): e for e in entries if e["kind"] == "admin-change"}
    for action in ("xks-keystore-create", "xks-credential-issue", "xks-key-create",
                   "xks-credential-revoke"):  # fmt: skip
        assert action in actions, action
        assert actions[action]["attrs"]["actor"] == f"{key_id(admin)}@admin-api"


def test_only_the_operator_tenants_admins_manage_xks(demo: Demo) -> None:
    user = demo.issue(Role.USER)
    assert demo.api("GET", "/xks/keys", user).status_code == 403
    assert (
        demo.api("POST", "/xks/keystores", user, json={"name": "x", "uri_prefix": "/x"}).status_code
        == 403
    )
