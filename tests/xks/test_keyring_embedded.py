"""External keys on the embedded keystore: the common story (`keyring_support`), plus the
kill switch pulled by the real `sumun keys disable` and `sumun xks keys disable` commands in
processes of their own."""

from __future__ import annotations

import pytest

from sumun.xks.errors import InvalidStateError
from tests.xks.keyring_support import (
    KEYSTORE,
    Deployment,
    await_,
    deployment,
    test_aad_length_rule_and_tampering_fail_as_invalid_ciphertext,
    test_deep_health_uses_its_own_test_key,
    test_destroy_makes_the_data_unreadable_for_good,
    test_disable_elsewhere_stops_both_operations_within_the_bound,
    test_encrypt_on_one_node_decrypt_on_another,
    test_key_usage_and_keystore_binding,
    test_rotation_keeps_old_ciphertexts_and_metadata_names_the_version,
    test_sealed_sumun_answers_invalid_state,
    within,
)

__all__ = [
    "deployment",
    "test_aad_length_rule_and_tampering_fail_as_invalid_ciphertext",
    "test_deep_health_uses_its_own_test_key",
    "test_destroy_makes_the_data_unreadable_for_good",
    "test_disable_elsewhere_stops_both_operations_within_the_bound",
    "test_encrypt_on_one_node_decrypt_on_another",
    "test_key_usage_and_keystore_binding",
    "test_rotation_keeps_old_ciphertexts_and_metadata_names_the_version",
    "test_sealed_sumun_answers_invalid_state",
]

BACKEND = "embedded"


@pytest.mark.parametrize("command", [["keys", "disable"], ["xks", "keys", "disable"]])
def test_the_real_cli_in_another_process_cuts_aws_off(
    deployment: Deployment, command: list[str]
) -> None:
    serving = deployment.nodes[0]
    serving.manager().create_key(KEYSTORE, "s3", "both")
    serving.live.reload()
    sealed = await_(serving.keyring.encrypt(KEYSTORE, "s3", b"bucket key", None))

    done = deployment.cli(*command, "s3", *deployment.share_args())
    assert done.returncode == 0, done.stderr

    def refused() -> bool:
        try:
            await_(serving.keyring.decrypt(KEYSTORE, "s3", sealed, None))
        except InvalidStateError:
            return True
        return False

    took = within(1.0, refused)
    assert took <= 1.0
    with pytest.raises(InvalidStateError):
        await_(serving.keyring.encrypt(KEYSTORE, "s3", b"x", None))
    again = deployment.cli("keys", "enable", "s3", *deployment.share_args())
    assert again.returncode == 0, again.stderr
    within(1.0, lambda: not refused())


def test_build_xks_gives_the_server_its_seams_and_each_call_is_a_verifiable_entry(
    deployment: Deployment,
) -> None:
    from sumun.ledger.entry import decode_entry
    from sumun.ledger.merkle import leaf_hash, verify_inclusion
    from sumun.runtime import open_runtime
    from sumun.xks.model import RequestMetadata, XksCall
    from sumun.xks.service import build_xks

    node = deployment.nodes[0]
    issued = node.manager().issue_credential(KEYSTORE)
    node.manager().create_key(KEYSTORE, "ebs-1", "both")
    runtime = open_runtime(deployment.settings)  # what `sumun serve` opens
    runtime.keys.unseal(shares=deployment.shares[:3], actor="test")
    try:
        keyring, credentials, audit = build_xks(runtime)
        try:
            found = credentials.keystore_for_prefix("/bank")
            assert found is not None and found.name == KEYSTORE
            within(1.0, lambda: credentials.secret(KEYSTORE, issued.access_key_id) is not None)
            assert credentials.secret(KEYSTORE, issued.access_key_id) == issued.secret_access_key
            sealed = await_(keyring.encrypt(KEYSTORE, "ebs-1", b"PLAINTEXT-CANARY", b"AAD-CANARY"))
            assert await_(keyring.decrypt(KEYSTORE, "ebs-1", sealed, b"AAD-CANARY")) == (
                b"PLAINTEXT-CANARY"
            )
            call = XksCall(
                keystore=KEYSTORE,
                operation="Decrypt",
                key_id="ebs-1",
                metadata=RequestMetadata(
                    kms_operation="Decrypt",
                    kms_request_id="5112f4d6-db54-4af4-ae30-c55a22a8dfae",
                    aws_principal_arn="arn:aws:iam::111122223333:role/backup",
                    kms_key_arn="arn:aws:kms:ap-northeast-2:111122223333:key/1234",
                    kms_via_service="s3",
                    aws_source_vpce="vpce-0abc",
                ),
                outcome="ok",
                access_key_id=issued.access_key_id,
                latency_us=310,
            )
            seq = await_(audit.record(call))
            assert seq is not None
        finally:
            credentials.close()
        stored = next(iter(runtime.ledger.store.entries(seq, seq + 1)))
        entry = decode_entry(stored.entry)
        assert (entry["kind"], entry["tenant"], entry["decision"]) == ("xks", "sumun-xks", "ok")
        assert entry["request_id"] == "5112f4d6-db54-4af4-ae30-c55a22a8dfae"
        assert entry["payload"] is None and entry["latency_us"] == 310
        assert entry["attrs"] == {
            "keystore": KEYSTORE,
            "operation": "Decrypt",
            "key_id": "ebs-1",
            "awsPrincipalArn": "arn:aws:iam::111122223333:role/backup",
            "kmsKeyArn": "arn:aws:kms:ap-northeast-2:111122223333:key/1234",
            "kmsOperation": "Decrypt",
            "kmsRequestId": "5112f4d6-db54-4af4-ae30-c55a22a8dfae",
            "kmsViaService": "s3",
            "awsSourceVpce": "vpce-0abc",
            "outcome": "ok",
            "access_key_id": issued.access_key_id,
        }
        for canary in (b"PLAINTEXT-CANARY", b"AAD-CANARY", issued.secret_access_key.encode()):
            assert canary not in stored.entry
        checkpoint = runtime.ledger.checkpoint()
        proof = runtime.ledger.inclusion_proof(seq, checkpoint.size)
        verify_inclusion(leaf_hash(stored.entry), seq, checkpoint.size, proof, checkpoint.root)
    finally:
        runtime.close()


def test_embedded_aes_gcm_runs_inline_in_microseconds(deployment: Deployment) -> None:
    import time

    node = deployment.nodes[0]
    node.manager().create_key(KEYSTORE, "fast", "both")
    node.live.reload()
    data, aad = b"k" * 32, b"encryption context"

    async def loop(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            sealed = await node.keyring.encrypt(KEYSTORE, "fast", data, aad)
            await node.keyring.decrypt(KEYSTORE, "fast", sealed, aad)
        return (time.perf_counter() - start) / n

    await_(loop(100))  # warm: the KEK's cipher is opened once
    per_pair = await_(loop(2000))
    assert per_pair < 0.001, f"{per_pair * 1e6:.0f} µs per encrypt+decrypt"
