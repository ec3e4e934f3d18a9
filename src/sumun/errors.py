"""Sumun's exception tree. Every error a caller can act on is one of these.

    SumunError
    ├── ConfigError                  bad sumun.yaml / environment
    ├── UsageError                   a bad argument from a person or script (CLI exit 2)
    ├── StateError                   SUMUN_HOME is missing, not initialised, or already initialised
    ├── SealedError                  keys are sealed; unseal first (gateway answers 503)
    ├── UnsealError                  wrong, mistyped, mismatched or too few shares / passphrase
    ├── KeyLayerError                    a key-lifecycle problem
    │   ├── UnknownKeyError          no such key id / version
    │   ├── KeyDisabledError         the key (or version) is disabled
    │   ├── KeyDestroyedError        the key was crypto-shredded; its data is gone for good
    │   └── KeyStateError            the operation is not allowed in the key's state
    ├── DecryptionError              opaque: tampered, moved, truncated or foreign ciphertext
    ├── KeystoreCorruptError         the keystore file fails its integrity check
    ├── BackendError                 a key backend failed
    │   └── BackendUnavailableError  HSM / OpenBao down, slow or sealed (fail closed)
    ├── AdminChannelError            the running Sumun refused or could not be reached
    └── LedgerError                  a ledger problem
        ├── LedgerUnavailableError   the store cannot write or be reached (fail closed)
        ├── LedgerCorruptError       stored data fails to parse
        └── LedgerIntegrityError     verification found a bad entry, node or checkpoint
                                     (`seq` names the first bad sequence number, if known)

Pure verification code (`sumun.ledger.merkle`, `.note`, `.verifier`) raises its own
`VerificationError` so it can be used without the rest of Sumun.

Rules: decryption fails with one opaque `DecryptionError` (no oracle about *why*); bad arguments
raise precise errors. Messages MUST NOT contain key material, shares or plaintext.
"""

from __future__ import annotations

__all__ = [
    "AdminChannelError",
    "BackendError",
    "BackendUnavailableError",
    "ConfigError",
    "DecryptionError",
    "KeyDestroyedError",
    "KeyDisabledError",
    "KeyLayerError",
    "KeyStateError",
    "KeystoreCorruptError",
    "LedgerCorruptError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerUnavailableError",
    "SealedError",
    "StateError",
    "SumunError",
    "UnknownKeyError",
    "UnsealError",
    "UsageError",
]


class SumunError(Exception):
    """Base of every error Sumun raises on purpose. `advice` tells the user what to do."""

    advice: str = ""

    def __init__(self, message: str, *, advice: str | None = None) -> None:
        super().__init__(message)
        if advice is not None:
            self.advice = advice

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.advice})" if self.advice else base


class ConfigError(SumunError):
    pass


class UsageError(SumunError):
    pass


class StateError(SumunError):
    pass


class SealedError(SumunError):
    advice = "run `sumun unseal` with a quorum of custodian shares"


class UnsealError(SumunError):
    pass


class KeyLayerError(SumunError):
    pass


class UnknownKeyError(KeyLayerError):
    pass


class KeyDisabledError(KeyLayerError):
    pass


class KeyDestroyedError(KeyLayerError):
    pass


class KeyStateError(KeyLayerError):
    pass


class DecryptionError(SumunError):
    """Opaque on purpose: never says which check failed."""

    def __init__(self) -> None:
        super().__init__("decryption failed: the ciphertext is invalid, tampered or not ours")


class KeystoreCorruptError(SumunError):
    advice = "restore the keystore from a backup; Sumun will not guess"


class BackendError(SumunError):
    pass


class BackendUnavailableError(BackendError):
    advice = "check that the key backend is running and unsealed; Sumun refuses traffic meanwhile"


class AdminChannelError(SumunError):
    pass


class LedgerError(SumunError):
    pass


class LedgerUnavailableError(LedgerError):
    advice = "the ledger store cannot record; Sumun refuses traffic until it can"


class LedgerCorruptError(LedgerError):
    pass


class LedgerIntegrityError(LedgerError):
    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq
