"""External keys on PKCS#11 (a SoftHSM2 token): AES-GCM inside the token, the common story."""

from __future__ import annotations

from tests.xks.keyring_support import (
    deployment,
    test_aad_length_rule_and_tampering_fail_as_invalid_ciphertext,
    test_deep_health_uses_its_own_test_key,
    test_destroy_makes_the_data_unreadable_for_good,
    test_disable_elsewhere_stops_both_operations_within_the_bound,
    test_encrypt_on_one_node_decrypt_on_another,
    test_key_usage_and_keystore_binding,
    test_rotation_keeps_old_ciphertexts_and_metadata_names_the_version,
    test_sealed_sumun_answers_invalid_state,
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

BACKEND = "pkcs11"
