"""Sumun's exception tree. Every error a caller can act on is one of these.

    SumunError
    ├── ConfigError                  bad sumun.yaml / environment
    ├── UsageError                   a bad argument from a person or script (CLI exit 2)
    │   ├── NotFoundError            404: no such tenant, app, API key, provider or entry
    │   └── ConflictError            409: it exists already, or is not in the state asked for
    ├── StateError                   SUMUN_HOME is missing, not initialised, or already initialised
    ├── SealedError                  keys are sealed; unseal first (gateway answers 503)
    ├── UnsealError                  wrong, mistyped, mismatched or too few shares / passphrase
    ├── KeyLayerError                    a key-lifecycle problem
    │   ├── UnknownKeyError          no such key id / version
    │   ├── KeyDisabledError         the key (or version) is disabled
    │   ├── KeyDestroyedError        the key was crypto-shredded; its data is gone for good
    │   │   └── ErasedError          (also a DecryptionError) our records say it was shredded
    │   └── KeyStateError            the operation is not allowed in the key's state
    ├── DecryptionError              opaque: tampered, moved, truncated or foreign ciphertext
    ├── KeystoreCorruptError         the keystore file fails its integrity check
    │   └── KeystoreRollbackError    the key registry is older than the ledger says (restored)
    ├── BackendError                 a key backend failed
    │   └── BackendUnavailableError  HSM / OpenBao down, slow or sealed (fail closed)
    ├── AdminChannelError            the running Sumun refused or could not be reached
    ├── StoreError                   the tenant directory (store.db) cannot be read or written
    ├── AuthError                    401: a missing, malformed, unknown, wrong or revoked API key
    ├── ForbiddenError               403: the key's role may not do this
    ├── LimitError                   a limit refuses the request (HTTP 429)
    │   ├── RateLimitedError         requests or tokens per minute spent (`retry_after` seconds)
    │   └── BudgetExceededError      a total token budget is spent (`insufficient_quota`)
    ├── LimiterUnavailableError      503: the shared limit store (Redis) is down (fail closed)
    ├── ProviderCutError             503: the provider is cut off by the kill switch
    └── LedgerError                  a ledger problem
        ├── LedgerUnavailableError   the store cannot write or be reached (fail closed)
        ├── LedgerCorruptError       stored data fails to parse
        └── LedgerIntegrityError     verification found a bad entry, node or checkpoint
                                     (`seq` names the first bad sequence number, if known)

Pure verification code (`sumun.ledger.merkle`, `.note`, `.verifier`) raises its own
`VerificationError` so it can be used without the rest of Sumun.

HTTP statuses are stated here once, as each class's `status` (the gateway, the admin API and the
admin socket all read it through `http_status`): 400 usage, 401 auth and admin channel, 403
forbidden and disabled keys, 404 not found and unknown keys, 409 conflicts and key states, 410
destroyed keys, 422 decryption, 429 limits, 500 a corrupt or inconsistent ledger, 503 sealed and
every store, backend or ledger that cannot serve now. A class without one (`ConfigError`,
`StateError`, …) never answers a request; each surface gives it its own default.

Rules: decryption fails with one opaque `DecryptionError` (no oracle about *why*); bad arguments
raise precise errors. Messages MUST NOT contain key material, shares or plaintext.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AdminChannelError",
    "AuthError",
    "BackendError",
    "BackendUnavailableError",
    "BudgetExceededError",
    "ConfigError",
    "ConflictError",
    "DecryptionError",
    "ErasedError",
    "ForbiddenError",
    "KeyDestroyedError",
    "KeyDisabledError",
    "KeyLayerError",
    "KeyStateError",
    "KeystoreCorruptError",
    "KeystoreRollbackError",
    "LedgerCorruptError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerUnavailableError",
    "LimitError",
    "LimiterUnavailableError",
    "NotFoundError",
    "ProviderCutError",
    "RateLimitedError",
    "SealedError",
    "StateError",
    "StoreError",
    "SumunError",
    "UnknownKeyError",
    "UnsealError",
    "UsageError",
    "http_status",
]


class SumunError(Exception):
    """Base of every error Sumun raises on purpose. `advice` tells the user what to do."""

    advice: str = ""
    # A subclass that answers requests states its HTTP `status` (an int) once, here in this
    # module; `http_status` reads it (UpstreamError sets one per instance).

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
    status = 400


class NotFoundError(UsageError):
    """HTTP 404: the named thing does not exist (or is outside the caller's tenant: no oracle)."""

    status = 404


class ConflictError(UsageError):
    """HTTP 409: the thing exists already, or is not in the state the change needs."""

    status = 409


class StateError(SumunError):
    pass


class SealedError(SumunError):
    status = 503
    advice = "run `sumun unseal` with a quorum of custodian shares"


class UnsealError(SumunError):
    pass


class KeyLayerError(SumunError):
    pass


class UnknownKeyError(KeyLayerError):
    status = 404


class KeyDisabledError(KeyLayerError):
    status = 403


class KeyDestroyedError(KeyLayerError):
    status = 410  # Gone: crypto-shredded, for good


class KeyStateError(KeyLayerError):
    status = 409


class DecryptionError(SumunError):
    """Opaque on purpose: never says which check failed."""

    status = 422

    def __init__(self) -> None:
        super().__init__("decryption failed: the ciphertext is invalid, tampered or not ours")


class ErasedError(KeyDestroyedError, DecryptionError):
    """A decryption refused because our own records say its key was crypto-shredded: the key
    registry records the key (or version) the envelope names as destroyed, or the DEK store
    keeps the tombstone of the data subject's shredded DEK. The message says when, where that
    is recorded. Said only from our own records, before any cryptographic check; everything
    else (forgeries, bad tags, a data key we never issued) stays the opaque `DecryptionError`.
    It is a DecryptionError too: code that catches failed decryptions still catches it."""

    status = 410  # HTTP: Gone, on purpose

    def __init__(self, message: str) -> None:
        SumunError.__init__(self, message)


class KeystoreCorruptError(SumunError):
    advice = "restore the keystore from a backup; Sumun will not guess"


class KeystoreRollbackError(KeystoreCorruptError):
    """The key registry is older than the last key change the ledger recorded: an older copy
    (validly MAC'd) was put back, which could re-enable a disabled or revoked key."""

    advice = (
        "put back the newest copy of the key registry (keystore/keys.json, or its row in the "
        "control store) — at least the revision the ledger names; Sumun will not open an older "
        "one. `sumun ledger tail` shows the key changes the ledger recorded"
    )


class BackendError(SumunError):
    status = 503


class BackendUnavailableError(BackendError):
    advice = "check that the key backend is running and unsealed; Sumun refuses traffic meanwhile"


class AdminChannelError(SumunError):
    status = 401


class LedgerError(SumunError):
    status = 503


class LedgerUnavailableError(LedgerError):
    advice = "the ledger store cannot record; Sumun refuses traffic until it can"


class LedgerCorruptError(LedgerError):
    status = 500  # a defect in what is stored: waiting does not fix it


class LedgerIntegrityError(LedgerError):
    status = 500

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class StoreError(SumunError):
    """store.db (tenants, apps, virtual keys, provider cuts) failed; the gateway answers 503."""

    status = 503


class AuthError(SumunError):
    """HTTP 401. Malformed, unknown and wrong keys all read "invalid API key": no oracle.

    Only a caller who presents the *right* secret of a revoked key learns that it was revoked.
    `reason` ("missing", "invalid", "revoked") labels the metrics; it is never sent back.
    """

    status = 401

    def __init__(self, message: str, *, reason: str = "invalid", advice: str | None = None) -> None:
        super().__init__(message, advice=advice)
        self.reason = reason


class ForbiddenError(SumunError):
    """HTTP 403: authenticated, but the key's role does not allow this."""

    status = 403


class LimitError(SumunError):
    """A limit refuses the request. HTTP 429 (what OpenAI and Anthropic clients expect)."""

    status = 429


class RateLimitedError(LimitError):
    """Too many requests or tokens per minute. `retry_after` (seconds) feeds `Retry-After`."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        scope: str,
        dimension: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope  # "key" or "tenant"
        self.dimension = dimension  # "rpm" or "tpm"
        # The `x-ratelimit-*` headers of the refusal (the limiter's view when it refused).
        self.headers: Mapping[str, str] = dict(headers or {})


class BudgetExceededError(LimitError):
    """A total token budget is spent. 429, not 402: OpenAI reports quota exhaustion as 429
    `insufficient_quota`, so existing clients understand it; the gateway SHOULD add
    `x-should-retry: false` so OpenAI/Anthropic SDKs do not retry what waiting cannot fix.
    """

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message, advice="ask an administrator to raise the token budget")
        self.scope = scope  # "key" or "tenant"


class LimiterUnavailableError(SumunError):
    """The shared limit store cannot be reached: fail closed (HTTP 503), never serve unlimited."""

    status = 503
    advice = "the rate-limit store (Redis) is unreachable; Sumun refuses traffic until it is back"


class ProviderCutError(SumunError):
    """The provider is cut off by the kill switch (HTTP 503 if no other provider can serve).

    With several names: every provider that could serve the request is cut off.
    """

    status = 503

    def __init__(self, provider: str, *others: str) -> None:
        names = (provider, *others)
        listed = ", ".join(repr(name) for name in names)
        what = f"providers {listed} are" if others else f"provider {listed} is"
        super().__init__(f"{what} cut off by the kill switch")
        self.provider = provider
        self.providers = names


def http_status(exc: BaseException, default: int) -> int:
    """The HTTP status of an answer about `exc`: its own `status` (a class attribute, or set
    per instance as `UpstreamError` does), else `default` — the surface's choice for an error
    with none (the gateway says 503, the admin API and socket 409)."""
    own = getattr(exc, "status", None)
    return own if isinstance(own, int) and not isinstance(own, bool) else default
