"""The pseudonym vault: sealed token tables kept apart, expiring after the retention period."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sumun.errors import StoreError
from sumun.store.pseudonyms import PseudonymVault


def test_put_get_purge(tmp_path: Path) -> None:
    vault = PseudonymVault(tmp_path / "v" / "pseudonyms.db")
    try:
        vault.put("r1", "acme", b"sealed-1", now=1000.0)
        vault.put("r2", "acme", b"sealed-2", now=2000.0)
        assert vault.get("r1") == ("acme", b"sealed-1")
        assert vault.get("nope") is None
        assert vault.purge(500.0, now=2100.0) == 1  # r1 is older than 500 s
        assert vault.get("r1") is None and vault.count() == 1
    finally:
        vault.close()
    mode = stat.S_IMODE((tmp_path / "v" / "pseudonyms.db").stat().st_mode)
    assert mode == 0o600


def test_a_damaged_vault_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "pseudonyms.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="pseudonym vault"):
        PseudonymVault(path)
