"""A cheating custodian is named, not obeyed: a forged share with a valid checksum cannot block
an unseal once one more genuine share is offered, and the unseal says whose share is wrong."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from sumun.crypto.shamir import decode_share, encode_share
from sumun.errors import UnsealError
from sumun.keys import seal
from sumun.keys.service import KeyService
from tests.keys.conftest import Deployment

Deploy = Callable[..., Deployment]


def forge(text: str) -> str:
    """The share a cheating custodian hands over: its value changed and its checksum
    recomputed, so it decodes like a genuine share (only the master key check can tell)."""
    share = decode_share(text)
    value = bytes([share.value[0] ^ 0x5A]) + share.value[1:]
    forged = encode_share(dataclasses.replace(share, value=value))
    assert decode_share(forged).value == value
    return forged


def test_a_forged_share_among_one_more_than_needed_is_named(deploy: Deploy) -> None:
    d = deploy()
    svc = KeyService(d.settings, events=d.events)
    bad = svc.unseal(shares=[d.shares[0], forge(d.shares[1]), d.shares[2], d.shares[3]])
    assert not svc.sealed
    assert bad == (seal.BadShare(number=2, index=2),)
    assert str(bad[0]).startswith("share 2 (custodian share #2) does not fit")
    assert "damaged or forged" in str(bad[0])
    svc.seal()


def test_exactly_a_quorum_with_a_forged_share_asks_for_one_more(deploy: Deploy) -> None:
    d = deploy()
    svc = KeyService(d.settings, events=d.events)
    with pytest.raises(UnsealError, match="these 3 shares do not rebuild") as caught:
        svc.unseal(shares=[forge(d.shares[0]), d.shares[1], d.shares[2]])
    assert "one or more of them is wrong" in str(caught.value)
    assert "offer one more custodian's share" in str(caught.value)
    assert svc.sealed


def test_custodians_arriving_one_by_one_find_the_forger(deploy: Deploy) -> None:
    d = deploy()
    svc = KeyService(d.settings, events=d.events)
    assert svc.offer_share(d.shares[4]) == seal.ShareReceipt(1, 3)
    assert svc.offer_share(forge(d.shares[1])) == seal.ShareReceipt(2, 3)
    with pytest.raises(UnsealError, match="one or more of them is wrong"):
        svc.offer_share(d.shares[2])
    assert svc.sealed  # the three are kept: the next custodian's share settles it
    receipt = svc.offer_share(d.shares[0])
    assert not svc.sealed
    assert receipt == seal.ShareReceipt(3, 3, (seal.BadShare(number=2, index=2),))
    svc.seal()


def test_a_quorum_for_destruction_refuses_a_forged_share_by_name(deploy: Deploy) -> None:
    # `unseal_with_shares` serves callers that cannot pass a warning on (destroy --now's fresh
    # quorum): it names the wrong share and refuses, instead of outvoting it silently.
    d = deploy()
    info = seal.read_seal_info(d.home)
    with pytest.raises(UnsealError, match=r"share 3 \(custodian share #3\) does not fit"):
        seal.unseal_with_shares(info, [*d.shares[:2], forge(d.shares[2]), d.shares[3]])
    seal.unseal_with_shares(info, d.shares[:3]).wipe()


def test_a_share_refused_on_its_own_still_says_why(deploy: Deploy) -> None:
    d = deploy()
    svc = KeyService(d.settings, events=d.events)
    with pytest.raises(UnsealError, match="share 4 repeats a share already given"):
        svc.unseal(shares=[forge(d.shares[0]), d.shares[1], d.shares[2], d.shares[1]])
