"""An AWS KMS External Key Store (XKS) proxy on Sumun's key hierarchy (docs/xks.md).

AWS KMS asks this proxy, per the public XKS Proxy API v1, to encrypt and decrypt with keys that
never leave the organization: each external key is a Sumun key (embedded keystore, PKCS#11 or
OpenBao transit), so `sumun keys disable`, destroy and seal cut AWS off too, and every call is a
ledger entry carrying AWS's request metadata — never plaintext or key material.

    model      typed data across the package's seams, and the seams themselves (protocols)
    errors     the spec's error table: one exception per errorName, with its HTTP status
"""
