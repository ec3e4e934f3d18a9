"""Spend budgets as stored and set: the schema v3 migration keeps a v2 store's data, the
directory carries the budget into the principal's limits, and the CLI sets, shows and lifts it
(`--budget-krw`, `--budget-usd`, `tenants keys budget --clear`) with clear errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sumun.errors import UsageError
from sumun.store import schema
from sumun.store.directory import Directory
from sumun.store.model import Limits

_APPLICATION_ID = 0x53554D53  # sumun.store.sqlite's mark of a control store


def test_a_v2_store_is_migrated_and_keeps_its_tenants_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path)
    for step in schema.MIGRATIONS[:2]:
        for statement in step:
            conn.execute(schema.render(statement, "sqlite"))
    conn.execute("INSERT INTO tenants VALUES ('old', 1, NULL, NULL, 5, NULL, 100, 1.0)")
    conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Directory(path) as directory:
        old = directory.get_tenant("old")
        assert old.limits == Limits(rpm=5, token_budget=100)
        key, api_key = directory.issue_key("old")
        assert key.spend_budget is None and key.spend_currency is None
        directory.update_key_limits(key.key_id, spend_budget=("KRW", 50_000 * 1_000_000))
        principal = directory.authenticate(api_key)
        assert principal.limits.spend_budget == 50_000 * 1_000_000
        assert principal.limits.spend_currency == "KRW"
        updated = directory.update_tenant("old", spend_budget=("USD", 40_000_000))
        assert updated.limits.spend_currency == "USD" and updated.rpm == 5
        assert directory.update_tenant("old", spend_budget=None).spend_budget is None
        with pytest.raises(UsageError, match="unknown currency"):
            directory.update_key_limits(key.key_id, spend_budget=("EUR", 1))
        with pytest.raises(UsageError, match="positive"):
            directory.update_key_limits(key.key_id, spend_budget=("KRW", 0))
    (version,) = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()
    assert version == schema.VERSION == 3


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env["SUMUN_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "sumun.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_cli_sets_shows_and_lifts_spend_budgets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "init", "--json").returncode == 0
    assert _cli(home, "tenants", "create", "acme").returncode == 0
    updated = _cli(home, "tenants", "update", "acme", "--budget-usd", "12.50")
    assert updated.returncode == 0, updated.stderr
    assert "spend budget $12.50" in updated.stdout
    issued = _cli(
        home, "tenants", "keys", "issue", "--tenant", "acme", "--budget-krw", "50,000", "--json"
    )
    assert issued.returncode == 0, issued.stderr
    key = json.loads(issued.stdout)
    assert (key["spend_budget"], key["spend_currency"]) == (50_000 * 1_000_000, "KRW")
    lifted = _cli(home, "tenants", "keys", "budget", key["key_id"], "--clear")
    assert lifted.returncode == 0, lifted.stderr
    assert "no spend budget" in lifted.stdout
    shown = json.loads(_cli(home, "tenants", "list", "--json").stdout)["tenants"]
    assert (shown[0]["spend_budget"], shown[0]["spend_currency"]) == (12_500_000, "USD")
    cleared = _cli(home, "tenants", "update", "acme", "--clear", "spend-budget", "--json")
    assert json.loads(cleared.stdout)["spend_budget"] is None

    for args, says in (
        (("--budget-krw", "100.5"), "KRW amounts have no minor unit"),
        (("--budget-usd", "0.001"), "2 decimals"),
        (("--budget-krw", "lots"), "--budget-krw"),
        (("--budget-krw", "1", "--budget-usd", "1"), "one currency"),
        ((), "give one of --budget-krw, --budget-usd or --clear"),
    ):
        bad = _cli(home, "tenants", "keys", "budget", key["key_id"], *args)
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert says in bad.stderr + bad.stdout, (args, bad.stderr)
        assert "Traceback" not in bad.stderr
