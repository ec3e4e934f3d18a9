"""Sealing clears the ledger's signing keys too (issue 19): a sealed Sumun signs no checkpoint
and holds no checkpoint-signing private key; unsealing loads them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from sumun import config
from sumun.errors import SealedError
from sumun.ledger.entry import EntryKind, EntryMeta
from sumun.runtime import open_runtime


def test_seal_drops_the_signing_keys_and_unseal_brings_them_back(tmp_path: Path) -> None:
    runtime = open_runtime(config.load(home=tmp_path / "home", env={}))
    try:
        init = runtime.keys.initialise(custodians=3, threshold=2, actor="test")
        runtime.keys.unseal_with(init.master_key, actor="test")
        ledger = runtime.ledger
        meta = EntryMeta(EntryKind.ADMIN_CHANGE, "sumun", 1_800_000_000_000, request_id="r0")
        ledger.append(meta, durability="strict").wait()
        first = ledger.checkpoint()
        assert ledger.holds_signing_keys  # loaded to sign

        runtime.keys.seal(actor="test")
        assert not ledger.holds_signing_keys  # gone with the seal, not at the next checkpoint
        with pytest.raises(SealedError):
            ledger.checkpoint()

        runtime.keys.unseal(shares=init.shares[:2], actor="test")
        again = ledger.checkpoint()
        assert again.size > first.size  # the seal and unseal events were appended and signed
        assert ledger.holds_signing_keys
    finally:
        runtime.close()
