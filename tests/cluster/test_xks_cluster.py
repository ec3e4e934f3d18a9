"""Issue 16's kill switch across nodes: three `sumun serve` nodes in their own network
namespaces, each with the XKS listener (TLS, SigV4), on one PostgreSQL control store + ledger.

What a bank's engineer would check before putting a KMS key under Sumun:
- a ciphertext made through one node decrypts through the others (one key, every node);
- `sumun xks keys disable` typed in a fourth process: every node answers Encrypt and Decrypt
  with InvalidStateException within 1 s; `enable` brings every node back;
- a revoked SigV4 credential fails on every node within 1 s;
- every call is an `xks` ledger entry naming AWS's kmsRequestId, and the tree verifies.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.nodes import Cluster
from tests.xks.support import (
    REGION,
    b64,
    client_context,
    decrypt_body,
    encrypt_body,
    make_pki,
    request_metadata,
    sign,
)

pytestmark = pytest.mark.slow

BOUND = 1.0  # seconds: the revocation bound
XKS_PORT = 8482
PREFIX = "/bank"


@pytest.fixture
def xks_cluster(make_cluster: Callable[..., Cluster], tmp_path: Path) -> Iterator[Cluster]:
    pki = make_pki(tmp_path)
    cluster = make_cluster(
        config_extra={
            "xks": {
                "listen": f"0.0.0.0:{XKS_PORT}",
                "tls_cert_file": str(pki.server_cert),
                "tls_key_file": str(pki.server_key),
                "region": REGION,
            }
        }
    )
    context = client_context(pki)
    context.check_hostname = False  # the test certificate names localhost; the CA is checked
    cluster.client = httpx.Client(trust_env=False, verify=context, timeout=5.0)
    yield cluster


def _call(
    cluster: Cluster, index: int, op: str, body: dict[str, Any], cred: dict[str, str]
) -> httpx.Response:
    url = f"https://{cluster[index].address}:{XKS_PORT}{PREFIX}/kms/xks/v1/keys/ebs/{op}"
    data = json.dumps(body).encode()
    headers = sign(url, data, akid=cred["access_key_id"], secret=cred["secret_access_key"])
    return cluster.client.post(url, content=data, headers=headers)


def _error(response: httpx.Response) -> str:
    return str(response.json().get("errorName")) if response.status_code != 200 else "ok"


def _everywhere(
    cluster: Cluster, ask: Callable[[int], httpx.Response], want: str, *, limit: float = 5.0
) -> float:
    """Seconds until every node's answer is `want` ("ok" or an errorName), polling."""
    start, pending, last = time.monotonic(), {1, 2, 3}, {}
    while pending:
        for index in sorted(pending):
            try:
                got = _error(ask(index))
            except httpx.HTTPError as exc:
                got = repr(exc)
            last[index] = got
            if got == want:
                pending.discard(index)
        if time.monotonic() - start > limit:
            pytest.fail(f"nodes {sorted(pending)} did not answer {want} within {limit}s: {last}")
        time.sleep(0.01)
    return time.monotonic() - start


def test_disable_and_revoke_hold_on_every_node_within_the_bound(xks_cluster: Cluster) -> None:
    cluster = xks_cluster
    cluster.init()
    cluster.start_all()
    quorum = [arg for share in cluster.shares[:2] for arg in ("--share", share)]
    assert cluster.cli("xks", "keystores", "create", "bank", "--uri-prefix", PREFIX).returncode == 0
    cred = cluster.cli_json("xks", "credentials", "issue", "bank", *quorum)
    created = cluster.cli("xks", "keys", "create", "bank", "ebs", "--usage", "both", *quorum)
    assert created.returncode == 0, created.stdout + created.stderr

    request_ids: list[str] = []

    def encrypt(index: int) -> httpx.Response:
        rid = str(uuid.uuid4())
        request_ids.append(rid)
        body = encrypt_body(b"k" * 32, b"bucket=kyc")
        body["requestMetadata"] = request_metadata("GenerateDataKey", kmsRequestId=rid)
        return _call(cluster, index, "encrypt", body, cred)

    # The new keystore, credential and key reach every node; a ciphertext made on node 1
    # decrypts on nodes 2 and 3.
    _everywhere(cluster, encrypt, "ok")
    made = encrypt(1)
    assert made.status_code == 200, made.text
    sealed = decrypt_body(made.json(), b"bucket=kyc")

    def decrypt(index: int) -> httpx.Response:
        return _call(cluster, index, "decrypt", sealed, cred)

    for index in (2, 3):
        answer = decrypt(index)
        assert answer.status_code == 200 and answer.json() == {"plaintext": b64(b"k" * 32)}

    timings: dict[str, float] = {}
    for action, want in (("disable", "InvalidStateException"), ("enable", "ok")):
        done = cluster.cli("xks", "keys", action, "ebs", *quorum)
        assert done.returncode == 0, done.stdout + done.stderr
        timings[f"{action}-decrypt"] = _everywhere(cluster, decrypt, want)
        timings[f"{action}-encrypt"] = _everywhere(cluster, encrypt, want)
    # The same cut through the key layer's own command.
    done = cluster.cli("keys", "disable", "ebs", *quorum)
    assert done.returncode == 0, done.stdout + done.stderr
    timings["keys-disable"] = _everywhere(cluster, decrypt, "InvalidStateException")
    assert cluster.cli("keys", "enable", "ebs", *quorum).returncode == 0
    _everywhere(cluster, decrypt, "ok")

    revoked = cluster.cli("xks", "credentials", "revoke", "bank", cred["access_key_id"])
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    timings["revoke"] = _everywhere(cluster, decrypt, "AuthenticationFailedException")
    print({k: round(v, 3) for k, v in timings.items()})
    assert max(timings.values()) < BOUND, timings

    # Every authenticated call is on the ledger with AWS's request id, and the tree verifies.
    tail = cluster.cli_json("ledger", "tail", "--kind", "xks", "-n", "10000")["entries"]
    recorded = {e["entry"]["request_id"] for e in tail}
    assert set(request_ids) <= recorded
    refused = [e for e in tail if e["entry"]["decision"] == "InvalidStateException"]
    assert refused and all(e["payload_state"] == "none" for e in tail)
    assert cluster.cli_json("ledger", "verify")["ok"] is True
