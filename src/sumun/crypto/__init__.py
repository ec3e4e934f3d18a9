"""Cryptographic primitives: AEAD suites, Shamir secret sharing, passphrase KDF.

Primitives only, no policy. Anything that needs the caller to manage nonces lives under
`sumun.crypto.hazmat`; the safe recipe for data is `sumun.keys.envelope`.
"""
