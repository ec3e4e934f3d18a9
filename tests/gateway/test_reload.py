"""Hot reload of sumun.yaml and the policy, with real processes: `sumun demo` (the server) in
front of the fake upstream, changed files, then SIGHUP, `sumun reload` or `POST /reload`.

What must hold: the new routing takes effect in the same process; an invalid file is rejected
whole with its line in the error while the old settings keep serving; a change that needs a
restart is refused by name; a stream in flight finishes on the adapter it started with; every
reload is an `admin-change` ledger entry carrying the files' SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.demo import SUMUN, demo_env, start_demo
from tests.fixtures.fake_upstream import FakeUpstream

pytestmark = pytest.mark.slow

PROVIDERS = """\
providers:
  - name: demo-a
    kind: demo
  - name: demo-b
    kind: demo
  - name: up
    kind: openai
    base_url: {upstream}
"""


def _config(upstream: str, chat_to: str, extra: str = "") -> str:
    return (
        PROVIDERS.format(upstream=upstream)
        + f"""\
routes:
  - model: chat
    targets:
      - provider: {chat_to}
        model: sumun-demo-1
  - model: slow
    targets:
      - provider: up
        model: up-slow
"""
        + extra
    )


@dataclass
class Node:
    proc: subprocess.Popen[str]
    home: Path
    ready: dict[str, Any]
    upstream: str

    @property
    def config(self) -> Path:
        return self.home / "sumun.yaml"

    def write(self, text: str) -> str:
        self.config.write_text(text, encoding="utf-8")
        return hashlib.sha256(text.encode()).hexdigest()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SUMUN, *args],
            env=demo_env(self.home),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def chat(self, model: str = "chat") -> httpx.Response:
        return httpx.post(
            f"{self.ready['base_url']}/v1/chat/completions",
            headers={"authorization": f"Bearer {self.ready['api_key']}"},
            json={"model": model, "messages": [{"role": "user", "content": "안녕하세요"}]},
            timeout=30,
        )

    def provider(self) -> str:
        answer = self.chat()
        assert answer.status_code == 200, answer.text
        return answer.headers["x-sumun-provider"]

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.ready['admin_url']}/admin/v1{path}",
            headers={"authorization": f"Bearer {self.ready['admin_key']}"},
            timeout=60,
            **kwargs,
        )

    def reloads(self) -> list[dict[str, Any]]:
        """The `config-reload` entries of the ledger, oldest first (via the CLI)."""
        # Read with an empty configuration: the node's own file may be the broken one.
        empty = self.home.parent / "empty.yaml"
        empty.write_text("{}\n", encoding="utf-8")
        done = self.cli(
            "--config",
            str(empty),
            "ledger",
            "tail",
            "--kind",
            "admin-change",
            "-n",
            "200",
            "--json",
        )
        assert done.returncode == 0, done.stderr
        entries = [row["entry"] for row in json.loads(done.stdout)["entries"]]
        found = [e for e in entries if e.get("attrs", {}).get("action") == "config-reload"]
        return sorted(found, key=lambda e: e.get("time_ms", 0))


def _wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture
def node(tmp_path: Path, fake_upstream: FakeUpstream) -> Iterator[Node]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(_config(fake_upstream.base_url, "demo-a"), "utf-8")
    proc, ready = start_demo(home, log=tmp_path / "demo.log")
    started = Node(proc, home, ready, fake_upstream.base_url)
    try:
        yield started
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_sighup_reroutes_in_the_same_process_and_records_the_hash(node: Node) -> None:
    assert node.provider() == "demo-a"
    digest = node.write(_config(node.upstream, "demo-b"))
    node.proc.send_signal(signal.SIGHUP)
    assert _wait_for(lambda: node.provider() == "demo-b"), "SIGHUP did not reroute"
    assert node.proc.poll() is None  # the same process: no restart
    entry = node.reloads()[-1]
    attrs = entry["attrs"]
    assert entry["decision"] == "applied"
    assert attrs["config_sha256"] == digest
    assert attrs["changed"] == "routes"
    assert attrs["actor"].startswith("signal SIGHUP")
    assert attrs["policy"] == "built-in" and attrs["policy_sha256"] == ""

    # Nothing changed since: a second SIGHUP applies nothing and says so.
    node.proc.send_signal(signal.SIGHUP)
    assert _wait_for(lambda: len(node.reloads()) == 2)
    assert node.reloads()[-1]["decision"] == "unchanged"
    assert node.provider() == "demo-b"


def test_invalid_files_are_rejected_whole_with_their_lines(node: Node) -> None:
    # A valid routing change and an invalid limit in one file: neither is applied.
    bad = _config(node.upstream, "demo-b", "gateway:\n  max_body_bytes: 10\n")
    line = bad.splitlines().index("  max_body_bytes: 10") + 1
    digest = node.write(bad)
    done = node.cli("reload")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"sumun.yaml:{line}:" in done.stderr and "max_body_bytes" in done.stderr
    assert node.provider() == "demo-a"  # the old settings keep serving
    rejected = node.reloads()[-1]
    assert rejected["decision"] == "rejected"
    assert rejected["attrs"]["config_sha256"] == digest
    assert rejected["attrs"]["problems"] == "1"

    # Not YAML at all: the line of the parse error.
    node.write(_config(node.upstream, "demo-b") + "gateway: [unclosed\n")
    done = node.cli("reload")
    assert done.returncode == 2
    assert "not valid YAML" in done.stderr
    assert f"sumun.yaml:{len(_config(node.upstream, 'demo-b').splitlines()) + 2}:" in done.stderr

    # A route naming an unknown provider: the line of that name.
    unknown = _config(node.upstream, "ghost")
    node.write(unknown)
    done = node.cli("reload")
    assert done.returncode == 2
    assert f"sumun.yaml:{unknown.splitlines().index('      - provider: ghost') + 1}:" in (
        done.stderr
    ), done.stderr

    # A provider whose API key variable is not set: its adapter cannot be built.
    keyless = _config(node.upstream, "demo-b").replace(
        "    base_url: ", "    api_key_env: SUMUN_TEST_UNSET_KEY\n    base_url: "
    )
    node.write(keyless)
    done = node.cli("reload", "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "ConfigError"
    assert "SUMUN_TEST_UNSET_KEY" in error["message"]
    assert f"sumun.yaml:{keyless.splitlines().index('  - name: up') + 1}:" in error["message"]
    assert node.provider() == "demo-a"
    assert node.proc.poll() is None


def test_a_change_that_needs_a_restart_is_refused_by_name(node: Node) -> None:
    node.write(_config(node.upstream, "demo-b", "server:\n  port: 18999\n"))
    done = node.cli("reload")
    assert done.returncode == 2
    assert "server.port needs a restart" in done.stderr
    assert node.provider() == "demo-a"


def test_post_reload_over_the_admin_api(node: Node) -> None:
    assert httpx.post(f"{node.ready['admin_url']}/admin/v1/reload", timeout=10).status_code == 401
    digest = node.write(_config(node.upstream, "demo-b"))
    answer = node.admin("POST", "/reload")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["applied"] is True and body["changed"] == ["routes"]
    assert body["config_sha256"] == digest
    assert node.provider() == "demo-b"
    entry = node.reloads()[-1]
    assert entry["attrs"]["actor"].endswith("@admin-api")
    assert entry["attrs"]["actor_role"] == "admin"

    node.write(_config(node.upstream, "demo-a", "server:\n  host: 127.0.0.2\n"))
    refused = node.admin("POST", "/reload")
    assert refused.status_code == 409
    assert "server.host needs a restart" in refused.json()["error"]["message"]
    assert node.provider() == "demo-b"


def test_sumun_reload_and_a_stream_in_flight_finishes_on_its_provider(node: Node) -> None:
    got: dict[str, Any] = {"body": ""}
    receiving = threading.Event()

    def stream() -> None:
        payload = {
            "model": "slow",
            "stream": True,
            "messages": [{"role": "user", "content": "#slow:0.5 #chunks:14 one two three"}],
        }
        headers = {"authorization": f"Bearer {node.ready['api_key']}"}
        url = f"{node.ready['base_url']}/v1/chat/completions"
        with httpx.stream("POST", url, json=payload, headers=headers, timeout=60) as r:
            got["status"] = r.status_code
            for text in r.iter_text():
                got["body"] += text
                receiving.set()

    worker = threading.Thread(target=stream)
    worker.start()
    assert receiving.wait(15)
    # The stream's provider leaves the configuration while the stream is running.
    without_up = _config(node.upstream, "demo-b").replace(
        f"  - name: up\n    kind: openai\n    base_url: {node.upstream}\n", ""
    )
    without_up = without_up.split("  - model: slow")[0]
    node.write(without_up)
    done = node.cli("reload", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] == ["providers", "routes"]
    assert "data: [DONE]" not in got["body"]  # the reload happened mid-stream
    worker.join(30)
    assert got["status"] == 200
    assert got["body"].rstrip().endswith("data: [DONE]"), got["body"][-300:]
    assert node.provider() == "demo-b"
    assert node.chat("slow").status_code == 404  # its route is gone now
    # The admin API and the admin channel know the providers in force, not those at start.
    listed = node.admin("GET", "/providers").json()["providers"]
    assert sorted(p["name"] for p in listed) == ["demo-a", "demo-b"]
    assert "unknown provider" in node.cli("providers", "cut", "up").stderr


POLICY = """\
version: 1
pii:
  rules:
    - {id: pii.phone-mask, types: [PHONE_KR], action: mask}
"""
POLICY_CHANGED = """\
version: 1
pii:
  rules:
    - {id: pii.phone-block, types: [PHONE_KR], action: block}
"""
POLICY_BROKEN = """\
version: 1
pii:
  rules:
    - {id: Not-An-Id, types: [PHONE_KR], action: mask}
"""


def test_a_policy_file_change_via_reload(node: Node) -> None:
    policy = node.home / "own-policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    node.write(_config(node.upstream, "demo-a", "policy_file: own-policy.yaml\n"))
    answer = node.admin("POST", "/reload")
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == ["policy_file", "policy"]
    assert answer.json()["policy_sha256"] == hashlib.sha256(POLICY.encode()).hexdigest()

    def rules() -> list[str]:
        shown = node.admin("GET", "/policy").json()
        return [r["id"] for r in shown["summary"]["pii_rules"]]

    assert rules() == ["pii.phone-mask"]

    policy.write_text(POLICY_BROKEN, encoding="utf-8")
    done = node.cli("reload")
    assert done.returncode == 2
    assert "own-policy.yaml:4:" in done.stderr, done.stderr
    assert rules() == ["pii.phone-mask"]  # the policy in force stays

    policy.write_text(POLICY_CHANGED, encoding="utf-8")
    done = node.cli("reload", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] == ["policy"]
    assert rules() == ["pii.phone-block"]
    entry = node.reloads()[-1]
    assert entry["attrs"]["policy_sha256"] == hashlib.sha256(POLICY_CHANGED.encode()).hexdigest()
    assert entry["attrs"]["policy"] == str(policy)
    assert os.fspath(policy) in entry["attrs"]["policy"]
