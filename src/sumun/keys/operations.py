"""The key layer's operator actions, shared by both admin channels: the local Unix-socket one
(`sumun.admin.server`, the CLI's) and the admin HTTP API (`sumun.admin.http.kek`, the
console's). One path each, so the two cannot drift in what an unseal counts or which
destruction needs a quorum.

Secrets handed in — custodian shares, the passphrase — are passed straight to the key layer and
dropped with the call: they MUST NOT be stored, logged or put in an answer. What is kept between
calls is only the key layer's own in-memory quorum (`KeyService.offer_share`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sumun.errors import UsageError
from sumun.keys.model import KeyRecord
from sumun.keys.service import KeyService

__all__ = ["Unsealed", "destroy", "seal", "unseal", "unseal_progress"]


@dataclass(frozen=True, slots=True)
class Unsealed:
    """Where an unseal stands after one submission."""

    sealed: bool
    collected: int  # shares held towards the quorum (0 for a passphrase)
    threshold: int  # shares the quorum needs (0 for a passphrase)
    bad_shares: tuple[str, ...] = ()  # offered shares found wrong while the rest unsealed


def unseal(
    service: KeyService,
    *,
    shares: Sequence[str] = (),
    passphrase: str | None = None,
    actor: str,
) -> Unsealed:
    """Unseal with the passphrase, or offer shares one by one to the quorum (Vault-style: a
    custodian may bring one share now and another custodian the next one later)."""
    if passphrase is not None:
        service.unseal(passphrase=passphrase, actor=actor)
        return Unsealed(sealed=service.sealed, collected=0, threshold=0)
    collected, threshold, bad_shares = 0, 0, []
    for share in shares:
        receipt = service.offer_share(share, actor=actor)
        collected, threshold = receipt.collected, receipt.threshold
        bad_shares += [str(bad) for bad in receipt.bad_shares]
    return Unsealed(service.sealed, collected, threshold, tuple(bad_shares))


def unseal_progress(service: KeyService) -> int | None:
    """Shares collected so far towards the quorum while sealed (None: no unseal under way)."""
    return service.unseal_progress()


def seal(
    service: KeyService,
    *,
    actor: str,
    stopping: Callable[[], AbstractContextManager[object]] | None = None,
) -> None:
    """Seal. `stopping`: what must end first while the keys still work (the gateway's
    requests in flight record their completion); not entered when already sealed."""
    guard = contextlib.nullcontext() if stopping is None or service.sealed else stopping()
    with guard:
        service.seal(actor=actor)


def destroy(
    service: KeyService,
    key_id: str,
    *,
    actor: str,
    now: bool = False,
    shares: Sequence[str] = (),
    passphrase: str | None = None,
    grace_days: float | None = None,
    version: int | None = None,
) -> KeyRecord:
    """Destroy a key: by default scheduled after the grace period (`keys.destroy_grace_days`,
    cancelled by `enable`); with `now`, at once — which needs a fresh quorum of custodian
    shares or the passphrase even while unsealed (`KeyLifecycle.destroy_now`). A single
    version can only be destroyed at once."""
    lifecycle = service.lifecycle  # SealedError while sealed
    if now:
        return lifecycle.destroy_now(
            key_id, actor=actor, shares=list(shares), passphrase=passphrase, version=version
        )
    if version is not None:
        raise UsageError("destroying a single version is immediate: add --now and a quorum")
    return lifecycle.schedule_destroy(key_id, actor=actor, grace_days=grace_days)
