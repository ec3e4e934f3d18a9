"""What each role may do over HTTP is stated once (`store.model.GRANTS`) and holds on every route.

Issue 12 found that an `admin` key had no power an auditor lacked and called models like a
`user` key. Now: a user key calls models and sees no metrics; an admin or auditor key reads the
metrics and calls no models (refused 403, and the refusal is recorded like any policy block).
The table below is the contract; the test walks it through the real server for every role.
"""

from __future__ import annotations

import httpx
import pytest

from sumun.store.model import GRANTS, Permission, Role
from tests.gateway.harness import Running

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "안녕하세요"}]}
MESSAGES = {"model": "demo", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}

ROUTES: list[tuple[Permission, str, str, dict[str, object] | None]] = [
    (Permission.CALL_MODELS, "POST", "/v1/chat/completions", CHAT),
    (Permission.CALL_MODELS, "POST", "/v1/messages", MESSAGES),
    (Permission.CALL_MODELS, "POST", "/v1/embeddings", {"model": "demo", "input": "hi"}),
    (Permission.LIST_MODELS, "GET", "/v1/models", None),
    (Permission.READ_METRICS, "GET", "/metrics", None),
]

KEY_FOR = {Role.USER: "acme", Role.ADMIN: "admin", Role.AUDITOR: "auditor"}


def test_the_table_is_the_intended_one() -> None:
    # Separation of duties: only users call models; only admins manage; only auditors review.
    holders = {p: {r for r, grants in GRANTS.items() if p in grants} for p in Permission}
    assert holders[Permission.CALL_MODELS] == {Role.USER}
    assert holders[Permission.MANAGE] == {Role.ADMIN}
    assert holders[Permission.REVIEW] == {Role.AUDITOR}
    assert holders[Permission.READ_METRICS] == {Role.ADMIN, Role.AUDITOR}
    # The admin API's reads (tests/admin/test_admin_http.py walks them): never a user key.
    assert holders[Permission.READ_CONTROL] == {Role.ADMIN, Role.AUDITOR}
    # A ledger payload is decrypted for an auditor only, after a recorded reason.
    assert holders[Permission.READ_PAYLOAD] == {Role.AUDITOR}
    assert set(GRANTS) == set(Role)


@pytest.mark.parametrize("role", list(Role))
def test_every_route_obeys_the_table(gateway: Running, role: Role) -> None:
    headers = {"authorization": f"Bearer {gateway.keys[KEY_FOR[role]]}"}
    for permission, method, path, body in ROUTES:
        response = httpx.request(
            method, f"{gateway.base_url}{path}", json=body, headers=headers, timeout=20
        )
        allowed = permission in GRANTS[role]
        if allowed:
            assert response.status_code == 200, (role, path, response.text)
        else:
            assert response.status_code == 403, (role, path, response.text)
            text = response.text
            assert role.value in text  # the refusal says which role was refused
            assert "안녕하세요" not in text  # never echoes the request


def test_a_refused_model_call_is_recorded_with_the_role_rule(gateway: Running) -> None:
    headers = {"authorization": f"Bearer {gateway.keys['admin']}"}
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions", json=CHAT, headers=headers, timeout=20
    )
    assert response.status_code == 403
    assert "x-sumun-ledger-seq" in response.headers
