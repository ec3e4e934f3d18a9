"""SigV4 credentials and keystores: formats AWS accepts, the secret shown once and stored
sealed, two active at once for rotation, revocation within 1 s, nothing without the keys."""

from __future__ import annotations

import logging
import re

import pytest

from sumun.errors import ConflictError, NotFoundError, UsageError
from sumun.store.control import open_control
from sumun.store.xks import XksStore
from sumun.xks.credentials import MAX_ACTIVE, SECRETS_KEY, LiveCredentials
from sumun.xks.keystores import validate_uri_prefix
from tests.xks.keyring_support import KEYSTORE, Deployment, deployment, within

__all__ = ["deployment"]

BACKEND = "embedded"


def _live(deployment: Deployment) -> LiveCredentials:
    node = deployment.nodes[0]
    return LiveCredentials(node.live, node.keys)


def test_issue_shows_the_secret_once_and_stores_it_sealed(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    node = deployment.nodes[0]
    manager = node.manager()
    issued = manager.issue_credential(KEYSTORE)
    assert re.fullmatch(r"[A-Z2-7]{20}", issued.access_key_id)  # AWS: ^[A-Z2-7]+$, 20-30
    assert re.fullmatch(r"[A-Za-z0-9+/]{48}", issued.secret_access_key)  # AWS: 43-64
    assert issued.secret_access_key not in repr(issued)
    assert node.keys.get_key(SECRETS_KEY) is not None  # the sealing key, made on first issue

    live = _live(deployment)
    within(1.0, lambda: live.secret(KEYSTORE, issued.access_key_id) is not None)
    assert live.secret(KEYSTORE, issued.access_key_id) == issued.secret_access_key
    assert live.secret("other", issued.access_key_id) is None  # bound to its keystore
    assert live.secret(KEYSTORE, "A" * 20) is None

    secret = issued.secret_access_key
    store_file = (deployment.home / "store.db").read_bytes()
    assert secret.encode() not in store_file  # sealed, not in the clear
    listed = manager.list_credentials()
    assert listed[0]["access_key_id"] == issued.access_key_id and secret not in str(listed)
    assert secret not in str(node.recorded)  # the admin-change entry names the id only
    assert node.recorded[-1] == (
        "xks-credential-issue",
        {"keystore": KEYSTORE, "access_key_id": issued.access_key_id},
    )
    assert secret not in caplog.text


def test_two_active_credentials_rotate_and_revoke_takes_effect_within_a_second(
    deployment: Deployment,
) -> None:
    manager = deployment.nodes[0].manager()
    old, new = manager.issue_credential(KEYSTORE), manager.issue_credential(KEYSTORE)
    live = _live(deployment)
    within(1.0, lambda: live.secret(KEYSTORE, new.access_key_id) is not None)
    assert live.secret(KEYSTORE, old.access_key_id) == old.secret_access_key
    assert live.secret(KEYSTORE, new.access_key_id) == new.secret_access_key

    other = deployment.node().manager()  # the operator, in another process
    assert other.revoke_credential(KEYSTORE, old.access_key_id)["changed"] is True
    took = within(1.0, lambda: live.secret(KEYSTORE, old.access_key_id) is None)
    assert took <= 1.0
    assert live.secret(KEYSTORE, new.access_key_id) == new.secret_access_key
    assert other.revoke_credential(KEYSTORE, old.access_key_id)["changed"] is False
    with pytest.raises(NotFoundError):
        other.revoke_credential(KEYSTORE, "Z" * 20)


def test_active_credentials_are_bounded(deployment: Deployment) -> None:
    manager = deployment.nodes[0].manager()
    issued = [manager.issue_credential(KEYSTORE) for _ in range(MAX_ACTIVE)]
    with pytest.raises(ConflictError, match="active credentials"):
        manager.issue_credential(KEYSTORE)
    manager.revoke_credential(KEYSTORE, issued[0].access_key_id)
    manager.issue_credential(KEYSTORE)
    with pytest.raises(NotFoundError):
        manager.issue_credential("no-such-keystore")


def test_sealed_sumun_has_no_secrets(deployment: Deployment) -> None:
    node = deployment.nodes[0]
    issued = node.manager().issue_credential(KEYSTORE)
    live = _live(deployment)
    within(1.0, lambda: live.secret(KEYSTORE, issued.access_key_id) is not None)
    node.keys.seal(actor="test")
    assert live.secret(KEYSTORE, issued.access_key_id) is None
    node.keys.unseal(shares=deployment.shares[:3], actor="test")
    assert live.secret(KEYSTORE, issued.access_key_id) == issued.secret_access_key


def test_a_sealed_secret_moved_to_another_row_does_not_open(deployment: Deployment) -> None:
    node = deployment.nodes[0]
    manager = node.manager()
    one, two = manager.issue_credential(KEYSTORE), manager.issue_credential(KEYSTORE)
    db = open_control(deployment.settings).database()
    try:
        rows = {r.access_key_id: r.sealed for r in XksStore(db).credentials()}
        with db.write("swap sealed secrets in") as tx:
            for mine, theirs in ((one, two), (two, one)):
                tx.execute(
                    "UPDATE xks_credentials SET sealed = ? WHERE access_key_id = ?",
                    (rows[theirs.access_key_id], mine.access_key_id),
                )
    finally:
        db.close()
    live = _live(deployment)
    node.live.reload()
    assert live.secret(KEYSTORE, one.access_key_id) is None
    assert live.secret(KEYSTORE, two.access_key_id) is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [("", ""), ("/", ""), ("/bank-a", "/bank-a"), ("bank_a/", "/bank_a"), ("/a/B/c-1", "/a/B/c-1")],
)
def test_uri_prefixes_aws_accepts(given: str, stored: str) -> None:
    assert validate_uri_prefix(given) == stored


@pytest.mark.parametrize(
    ("given", "rule"),
    [
        ("/bank a", "segment"),
        ("/bank//a", "segment"),
        ("/bank.a", "segment"),
        ("/x/kms/xks/v1", "/kms/xks/"),
        ("/" + "a" * 117, "too long"),
    ],
)
def test_uri_prefixes_refused(given: str, rule: str) -> None:
    with pytest.raises(UsageError, match=re.escape(rule)):
        validate_uri_prefix(given)


def test_longest_prefix_fits_aws_path_limit(deployment: Deployment) -> None:
    longest = "/" + "a" * 116
    manager = deployment.nodes[0].manager()
    created = manager.create_keystore("long", longest)
    assert len(created["uri_path"]) == 128
    live = _live(deployment)
    within(1.0, lambda: live.keystore_for_prefix(longest) is not None)
    found = live.keystore_for_prefix(longest)
    assert found is not None and found.name == "long"
    assert live.keystore_for_prefix("/bank") is not None and live.keystore_for_prefix("/x") is None
