"""Crypto-shredded data says so; a shredded tenant's name is not given again (issue 18, Rule 1).

Real processes: the `sumun` CLI on a home directly, and a running `sumun demo` driven through its
admin API and admin channel. Decrypting data whose key our own records say was shredded — the
key registry (a destroyed tenant key) or the DEK store's tombstone (a shredded data subject) —
says "erased (crypto-shredded on DATE)" (`ErasedError`, HTTP 410); anything else that fails —
a tampered envelope under a live key — stays the opaque "invalid, tampered or not ours".
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sumun.store.model import Role
from tests.admin.test_admin_http import Demo, _stop
from tests.cli.test_cli_keys import Cli, _shares
from tests.fixtures.demo import SUMUN, demo_env, start_demo

OPAQUE = "decryption failed: the ciphertext is invalid, tampered or not ours"
ERASED = re.compile(r"erased \(crypto-shredded on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\)")
REASON = "erasure audit 2026-118: confirm the subject's data is gone"


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when))


def _tampered(blob_b64: str) -> str:
    raw = bytearray(base64.b64decode(blob_b64))
    raw[-1] ^= 0x01  # the tag's last byte
    return base64.b64encode(bytes(raw)).decode()


def _destroyed_at(listed: dict[str, Any], key_id: str) -> str:
    [record] = [k for k in listed["keys"] if k["key_id"] == key_id]
    assert record["state"] == "destroyed"
    return _utc(record["updated_at"])


# -- on the home directly (no server) ----------------------------------------------------------


def test_shredded_says_erased_with_its_date_and_tampering_stays_opaque(cli: Cli) -> None:
    quorum = _shares(cli.json("init")["shares"][:3])
    for key in ("acme", "live"):
        assert cli.run("keys", "create", key, *quorum).returncode == 0
    sealed: dict[str, str] = {}
    for key in ("acme", "live"):
        done = cli.run("keys", "encrypt", key, *quorum, input_text="주민번호 900101-1234568")
        assert done.returncode == 0, done.stderr
        sealed[key] = done.stdout.strip()
    opened = cli.run("keys", "decrypt", "acme", *quorum, input_text=sealed["acme"])
    assert opened.returncode == 0 and opened.stdout == "주민번호 900101-1234568"

    assert cli.json("keys", "destroy", "acme", "--now", *quorum)["state"] == "destroyed"
    when = _destroyed_at(cli.json("keys", "list"), "acme")

    erased = cli.run("keys", "decrypt", "acme", *quorum, input_text=sealed["acme"])
    assert erased.returncode == 2
    found = ERASED.search(erased.stderr)
    assert found is not None, erased.stderr
    assert found.group(1) == when
    assert OPAQUE not in erased.stderr and "Traceback" not in erased.stderr

    # One data subject shredded under a live key: the DEK store's tombstone dates it.
    bob = cli.run("keys", "encrypt", "live", "--subject", "bob", *quorum, input_text="bob")
    assert bob.returncode == 0, bob.stderr
    cli.json("keys", "shred-subject", "live", "bob", *quorum)
    [live] = [k for k in cli.json("keys", "list")["keys"] if k["key_id"] == "live"]
    subject = cli.run("keys", "decrypt", "live", *quorum, input_text=bob.stdout.strip())
    assert subject.returncode == 2
    found = ERASED.search(subject.stderr)
    assert found is not None, subject.stderr
    assert found.group(1) == _utc(live["updated_at"])  # the shred's own time
    assert "data subject was shredded" in subject.stderr and OPAQUE not in subject.stderr
    still = cli.run("keys", "decrypt", "live", *quorum, input_text=sealed["live"])
    assert still.returncode == 0 and still.stdout == "주민번호 900101-1234568"

    # A forgery under a live key learns nothing more than before.
    forged = cli.run("keys", "decrypt", "live", *quorum, input_text=_tampered(sealed["live"]))
    assert forged.returncode == 2
    assert forged.stderr.strip() == f"error: {OPAQUE}"
    # An envelope naming a key that never existed: opaque too (nothing of ours names it).
    header_swapped = base64.b64decode(sealed["live"]).replace(b"live", b"nope")
    unknown = cli.run(
        "keys", "decrypt", "nope", *quorum, input_text=base64.b64encode(header_swapped).decode()
    )
    assert unknown.returncode == 2 and "erased" not in unknown.stderr


def test_a_shredded_tenants_name_is_refused_with_its_date(cli: Cli) -> None:
    quorum = _shares(cli.json("init")["shares"][:3])
    assert cli.run("keys", "create", "acme", *quorum).returncode == 0
    cli.json("keys", "destroy", "acme", "--now", *quorum)
    when = _destroyed_at(cli.json("keys", "list"), "acme")

    refused = cli.run("tenants", "create", "acme")
    assert refused.returncode == 2, refused.stdout
    shredded = f"the name 'acme' belonged to a tenant crypto-shredded on {when} UTC"
    assert shredded in refused.stderr
    assert "choose another tenant name" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    as_json = cli.run("tenants", "create", "acme", "--json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["type"] == "ConflictError"
    assert cli.json("tenants", "list")["tenants"] == []  # nothing was created

    # Scheduled for destruction: refused too, saying how to cancel.
    assert cli.run("keys", "create", "beta", *quorum).returncode == 0
    cli.json("keys", "destroy", "beta", "--grace-days", "2", *quorum)
    pending = cli.run("tenants", "create", "beta")
    assert pending.returncode == 2 and "scheduled for crypto-shredding" in pending.stderr
    assert "sumun keys enable beta" in pending.stderr
    # Another name is fine.
    assert cli.json("tenants", "create", "acme-2")["name"] == "acme-2"


# -- a running server: the admin API and the admin channel --------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("erasure") / "home"
    proc, ready = start_demo(home)
    try:
        yield Demo(
            proc, home, ready["base_url"], ready["admin_url"], ready["api_key"], ready["admin_key"]
        )
    finally:
        _stop(proc)


def _quorum(demo: Demo) -> list[str]:
    return (demo.home / "demo-shares.txt").read_text().split()[:3]


def _destroy_now(demo: Demo, key_id: str) -> None:
    body = {"confirm": key_id, "now": True, "shares": _quorum(demo)}
    done = demo.api("POST", f"/keys/{key_id}/destroy", demo.admin_key, json=body)
    assert done.status_code == 200, done.text


def test_the_admin_api_says_erased_for_a_shredded_tenants_payload(demo: Demo) -> None:
    created = demo.api("POST", "/tenants", demo.admin_key, json={"name": "shredme"})
    assert created.status_code in (200, 201), created.text
    user = demo.issue("shredme", Role.USER)
    auditor = demo.issue("demo", Role.AUDITOR)  # of the operator tenant: sees every tenant
    sent = httpx.post(
        f"{demo.base_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {user}"},
        json={"model": "demo", "messages": [{"role": "user", "content": "삭제 요청 시험"}]},
        timeout=20,
    )
    assert sent.status_code == 200, sent.text
    request_id = sent.headers["x-sumun-request-id"]
    found = demo.api(
        "GET", f"/ledger/search?request_id={request_id}&kind=request-admitted", demo.admin_key
    ).json()["entries"]
    path = f"/ledger/entries/{found[0]['seq']}/payload"
    assert demo.api("POST", path, auditor, json={"reason": REASON}).status_code == 200

    _destroy_now(demo, "shredme")
    when = _destroyed_at(demo.cli("keys", "list"), "shredme")
    gone = demo.api("POST", path, auditor, json={"reason": REASON})
    assert gone.status_code == 410, gone.text
    error = gone.json()["error"]
    assert error["type"] == "ErasedError"
    found_date = ERASED.search(error["message"])
    assert found_date is not None and found_date.group(1) == when

    # The name stays the shredded tenant's: the API refuses it for a new tenant (409).
    reused = demo.api("POST", "/tenants", demo.admin_key, json={"name": "gone"})
    assert reused.status_code in (200, 201)  # a fresh name is fine
    demo.cli("keys", "create", "old-tenant")
    _destroy_now(demo, "old-tenant")
    refused = demo.api("POST", "/tenants", demo.admin_key, json={"name": "old-tenant"})
    assert refused.status_code == 409, refused.text
    assert "crypto-shredded on" in refused.json()["error"]["message"]


def _run(demo: Demo, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SUMUN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=demo_env(demo.home),
        timeout=60,
        check=False,
    )


def test_the_admin_channel_keeps_the_same_distinction(demo: Demo) -> None:
    for key in ("channel-gone", "channel-live"):
        demo.cli("keys", "create", key)
    sealed = {
        key: _run(demo, "keys", "encrypt", key, stdin="hello").stdout.strip()
        for key in ("channel-gone", "channel-live")
    }
    _destroy_now(demo, "channel-gone")
    when = _destroyed_at(demo.cli("keys", "list"), "channel-gone")

    erased = _run(demo, "keys", "decrypt", "channel-gone", stdin=sealed["channel-gone"])
    assert erased.returncode == 2
    found = ERASED.search(erased.stderr)
    assert found is not None and found.group(1) == when, erased.stderr
    forged = _run(demo, "keys", "decrypt", "channel-live", stdin=_tampered(sealed["channel-live"]))
    assert forged.returncode == 2 and forged.stderr.strip() == f"error: {OPAQUE}"
