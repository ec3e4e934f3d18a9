"""`sumun tenants …` as a person runs it: real processes on a fresh SUMUN_HOME.

The sub-app is run on its own (`sumun.cli.tenants.app`), so these tests do not depend on the
rest of the command tree; `sumun tenants` in `sumun.cli.main` is this same app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sumun.errors import AuthError
from sumun.store.directory import Directory
from sumun.store.model import Limits, Role

TENANTS = [
    sys.executable,
    "-c",
    "from sumun.cli.tenants import app; app(prog_name='sumun tenants')",
]
KEY_FIELDS = {
    "key_id",
    "tenant",
    "app",
    "user",
    "role",
    "created_at",
    "revoked_at",
    "revoked",
    "rpm",
    "tpm",
    "token_budget",
    "spend_budget",  # micro-units of spend_currency (issue 18)
    "spend_currency",
}
TENANT_FIELDS = {
    "name",
    "ai_notice",
    "notice_text",
    "default_data_class",
    "rpm",
    "tpm",
    "token_budget",
    "created_at",
    "spend_budget",
    "spend_currency",
}


@dataclass
class Cli:
    home: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SUMUN_HOME": str(self.home), "COLUMNS": "200"}
        env.pop("SUMUN_CONFIG", None)
        return subprocess.run(
            [*TENANTS, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def fails(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 2, (done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
        return lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    env = {**os.environ, "SUMUN_HOME": str(home)}
    env.pop("SUMUN_CONFIG", None)
    init = [sys.executable, "-m", "sumun.cli.main", "init", "--json"]
    done = subprocess.run(init, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr  # the reads (`list`) need an initialised home
    return Cli(home)


def _stored(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_issue_authenticate_revoke_round_trip(cli: Cli) -> None:
    tenant = cli.json("create", "acme", "--rpm", "600", "--tpm", "90000", "--default-class", "s")
    assert set(tenant) == TENANT_FIELDS
    assert tenant["name"] == "acme" and tenant["ai_notice"] is True and tenant["rpm"] == 600
    assert tenant["default_data_class"] == "S"  # stored as the class, whatever the case given
    assert cli.json("apps", "create", "acme", "chat") == {
        "tenant": "acme",
        "name": "chat",
        "created_at": pytest.approx(tenant["created_at"], abs=60),
    }
    issued = cli.json(
        "keys", "issue", "--tenant", "acme", "--app", "chat", "--user", "kim", "--role", "admin",
        "--rpm", "10", "--budget", "5000",
    )  # fmt: skip
    assert set(issued) == KEY_FIELDS | {"api_key"}
    assert issued["api_key"].startswith(f"sk-sumun-{issued['key_id']}-")
    assert (issued["role"], issued["revoked"], issued["token_budget"]) == ("admin", False, 5000)
    assert issued["api_key"].encode() not in _stored(cli.home)
    assert issued["api_key"][-40:].encode() not in _stored(cli.home)

    with Directory(cli.home / "store.db") as directory:  # what the gateway does per request
        principal = directory.authenticate(issued["api_key"])
        assert (principal.tenant, principal.app, principal.user) == ("acme", "chat", "kim")
        assert principal.role is Role.ADMIN and principal.limits == Limits(10, None, 5000)

        revoked = cli.json("keys", "revoke", issued["key_id"])
        assert set(revoked) == KEY_FIELDS and revoked["revoked"] is True
        with pytest.raises(AuthError, match="API key revoked"):
            directory.authenticate(issued["api_key"])

    listed = cli.json("keys", "list")
    assert set(listed) == {"keys"} and [k["key_id"] for k in listed["keys"]] == [issued["key_id"]]
    assert set(listed["keys"][0]) == KEY_FIELDS  # never the secret
    assert (cli.home / "store.db").stat().st_mode & 0o777 == 0o600


def test_issue_prints_the_key_once_with_a_warning(cli: Cli) -> None:
    cli.json("create", "acme")
    done = cli.run("keys", "issue", "--tenant", "acme")
    assert done.returncode == 0, done.stderr
    keys = [w for w in done.stdout.split() if w.startswith("sk-sumun-")]
    assert len(keys) == 1 and len(keys[0]) == 60
    assert "Shown this once" in done.stderr
    listing = cli.run("keys", "list")
    assert listing.returncode == 0 and keys[0] not in listing.stdout
    assert keys[0].split("-")[2] in listing.stdout  # the key id is shown, the secret never


def test_tenant_update_and_listing(cli: Cli) -> None:
    cli.json("create", "acme", "--rpm", "600", "--notice-text", "AI가 답합니다")
    cli.json("create", "beta", "--no-ai-notice")
    updated = cli.json(
        "update", "acme", "--tpm", "1000", "--clear", "rpm", "--clear", "notice-text"
    )
    assert (updated["rpm"], updated["tpm"], updated["notice_text"]) == (None, 1000, None)
    listed = cli.json("list")
    assert [(t["name"], t["ai_notice"]) for t in listed["tenants"]] == [
        ("acme", True),
        ("beta", False),
    ]
    human = cli.run("list")
    assert human.returncode == 0 and "acme" in human.stdout and "beta" in human.stdout
    cli.json("apps", "create", "beta", "mail")
    assert [a["name"] for a in cli.json("apps", "list", "--tenant", "beta")["apps"]] == ["mail"]
    assert cli.json("keys", "list", "--tenant", "beta") == {"keys": []}


def test_errors_exit_2_with_one_line(cli: Cli) -> None:
    cli.json("create", "acme")
    assert "tenant 'acme' already exists" in cli.fails("create", "acme")
    assert "bad tenant name 'Acme Corp'" in cli.fails("create", "Acme Corp")
    assert "no tenant named 'nope'" in cli.fails("keys", "issue", "--tenant", "nope")
    assert "has no app named 'mail'" in cli.fails(
        "keys", "issue", "--tenant", "acme", "--app", "mail"
    )
    assert "no API key with id 'abcdefghij'" in cli.fails("keys", "revoke", "abcdefghij")
    assert "contradict" in cli.fails("update", "acme", "--rpm", "5", "--clear", "rpm")
    assert "nothing to change" in cli.fails("update", "acme")
    assert "no tenant named 'nope'" in cli.fails("apps", "create", "nope", "chat")
