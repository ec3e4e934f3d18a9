"""The runtime AI-BOM: what the gateway forwarded (from a real ledger), joined with what the code
references, in a CycloneDX 1.6 BOM that validates against the official schema.

The ledger is written by Sumun's own ledger service with entries built by the gateway's own
`admitted_entry` / `completed_entry` (what the pipeline appends), in a deployment home whose
sumun.yaml configures the providers; the CLI reads it as `sumun scan --ledger` does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from sumun import config
from sumun.cli._scan_runtime import Period, parse_period, read_usage
from sumun.errors import UsageError
from sumun.gateway.admission import Decision
from sumun.gateway.entries import admitted_entry, completed_entry
from sumun.gateway.router import Attempt
from sumun.gateway.upstream.base import Wire
from sumun.gateway.wire import parse_call
from sumun.ledger.service import Ledger
from sumun.runtime import open_store
from sumun.scan.bom import to_cyclonedx
from sumun.scan.engine import scan
from sumun.scan.html import render_html
from sumun.scan.runtime import RuntimeUsage
from sumun.store.model import Principal, Role

DAY_MS = 86_400_000
NOW_MS = 1_796_000_000_000  # 2026-11-30T00:53:20Z
PROMPT = "주민번호 900101-1234567 대출 심사"

SUMUN_YAML: dict[str, Any] = {
    "providers": [
        {
            "name": "openai",
            "kind": "openai",
            "api_key_env": "OPENAI_API_KEY",
            "profile": {"jurisdiction": "US", "hosting": "abroad"},
        },
        {
            "name": "bedrock-seoul",
            "kind": "openai",
            "base_url": "https://bedrock-runtime.ap-northeast-2.amazonaws.com/openai/v1",
            "profile": {"jurisdiction": "US", "hosting": "kr-region"},
        },
        {
            "name": "azure-hr",
            "kind": "azure",
            "base_url": "https://acme-hr.openai.azure.com/openai",
            "profile": {"jurisdiction": "US", "hosting": "abroad"},
        },
    ],
    "routes": [
        {"model": "chat", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}]},
        {
            "model": "secure",
            "targets": [{"provider": "bedrock-seoul", "model": "anthropic.claude-3-5-sonnet"}],
        },
        {"model": "hr", "targets": [{"provider": "azure-hr", "model": "hr-gpt4o"}]},
    ],
}

APP_PY = """\
import boto3
import openai
from anthropic import Anthropic

client = openai.OpenAI()
client.chat.completions.create(model="gpt-4o-mini", messages=[])
bedrock = boto3.client("bedrock-runtime", region_name="ap-northeast-2")
Anthropic().messages.create(model="claude-3-5-haiku-latest", max_tokens=8, messages=[])
"""


class Gateway:
    """Appends what the gateway's pipeline appends for one call, through the ledger service."""

    def __init__(self, settings: config.Settings) -> None:
        self.ledger = Ledger(
            open_store(settings), settings.ledger, home=settings.home, origin="test.local/rt"
        )

    def call(
        self,
        app: str,
        alias: str,
        *,
        provider: str | None,
        model: str,
        data_class: str = "O",
        pii: tuple[tuple[str, str], ...] = (),
        time_ms: int = NOW_MS,
        outcome: str = "ok",
    ) -> None:
        principal = Principal(key_id="k1", tenant="acme", app=app, user=None, role=Role.USER)
        body = {"model": alias, "messages": [{"role": "user", "content": PROMPT}]}
        parsed = parse_call(json.dumps(body).encode(), "chat", Wire.OPENAI)
        decision = Decision(
            action="transform" if pii else "allow",
            rules=tuple(f"pii.{t.lower()}.{a}" for t, a in pii),
            data_class=data_class,
            reason="test",
            pii_types=tuple(t for t, _ in pii),
            pii_actions=",".join(f"{t}:{a}" for t, a in pii),
        )
        admitted = self.ledger.append(
            admitted_entry(
                principal, parsed, decision, endpoint="chat", request_id="r", time_ms=time_ms
            ),
            durability="strict",
        ).wait()
        self.ledger.append(
            completed_entry(
                principal,
                decision,
                status=200 if outcome == "ok" else 502,
                outcome=outcome,
                admitted_seq=admitted,
                attempt=Attempt(provider, model) if provider else None,
                tokens_in=12,
                tokens_out=30,
                latency_us=1000,
                request_id="r",
                time_ms=time_ms + 900,
                answer=None,
                payload_truncated_from=None,
            ),
            durability="strict",
        ).wait()

    def close(self) -> None:
        self.ledger.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sumun.yaml").write_text(yaml.safe_dump(SUMUN_YAML), encoding="utf-8")
    return home


def _settings(home: Path) -> config.Settings:
    return config.load(home=home, env={})


def _traffic(settings: config.Settings, now_ms: int = NOW_MS) -> None:
    gw = Gateway(settings)
    try:
        gw.call("loans", "chat", provider="openai", model="gpt-4o-mini", time_ms=now_ms - DAY_MS)
        gw.call(
            "loans",
            "chat",
            provider="openai",
            model="gpt-4o-mini",
            pii=(("KR_RRN", "pseudonymize"),),
            time_ms=now_ms - 2 * DAY_MS,
        )
        gw.call("loans", "chat", provider="openai", model="gpt-4o-mini", outcome="upstream_error")
        gw.call(
            "loans",
            "secure",
            provider="bedrock-seoul",
            model="anthropic.claude-3-5-sonnet",
            data_class="S",
            pii=(("KR_RRN", "mask"), ("PHONE_KR", "mask")),
        )
        gw.call("hr", "hr", provider="azure-hr", model="hr-gpt4o")
        # Refused at admission: no provider was tried, nothing was sent.
        gw.call("hr", "hr", provider=None, model="hr-gpt4o", data_class="C")
        # Outside a 30-day period.
        gw.call("old", "chat", provider="openai", model="gpt-4o-mini", time_ms=now_ms - 90 * DAY_MS)
    finally:
        gw.close()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text(APP_PY, encoding="utf-8")
    return repo


def _props(entry: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in entry.get("properties", []):
        out.setdefault(p["name"], []).append(p["value"])
    return out


def _one(entry: dict[str, Any], name: str) -> str:
    values = _props(entry)[name]
    assert len(values) == 1, (name, values)
    return values[0]


def _validate(bom: dict[str, Any]) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom))
    assert error is None, error


def _usage(home: Path) -> RuntimeUsage:
    period = parse_period(30, None, None, now=NOW_MS / 1000)
    return read_usage(_settings(home), period)


def test_uses_are_read_per_app_provider_and_model(home: Path) -> None:
    _traffic(_settings(home))
    usage = _usage(home)
    assert usage.entries == 14 and usage.unreadable == 0
    by_key = {(u.subject, u.provider, u.model): u for u in usage.uses}
    assert set(by_key) == {
        ("acme/loans", "openai", "gpt-4o-mini"),
        ("acme/loans", "bedrock-seoul", "anthropic.claude-3-5-sonnet"),
        ("acme/hr", "azure-hr", "hr-gpt4o"),
    }  # the refused call and the 90-day-old one are not there
    chat = by_key[("acme/loans", "openai", "gpt-4o-mini")]
    assert (chat.calls, chat.failed, chat.requested) == (3, 1, ("chat",))
    assert chat.pii_types == (("KR_RRN", 1),) and chat.pii_actions == (("KR_RRN:pseudonymize", 1),)
    assert chat.first_ms == NOW_MS - 2 * DAY_MS + 900 and chat.last_ms == NOW_MS + 900
    assert (chat.tokens_in, chat.tokens_out) == (36, 90)
    secure = by_key[("acme/loans", "bedrock-seoul", "anthropic.claude-3-5-sonnet")]
    assert secure.data_classes == (("S", 1),)
    assert secure.pii_actions == (("KR_RRN:mask", 1), ("PHONE_KR:mask", 1))
    seoul = usage.provider("bedrock-seoul")
    assert seoul is not None and seoul.table_id == "aws-bedrock"
    assert (seoul.region, seoul.region_country, seoul.hosting) == (
        "ap-northeast-2",
        "KR",
        "kr-region",
    )
    everything = read_usage(_settings(home), Period())
    assert sum(u.calls for u in everything.uses) == 6  # the old call counts with no period


def test_the_joined_bom_validates_and_marks_used_unused_and_undeclared(
    home: Path, tmp_path: Path
) -> None:
    _traffic(_settings(home))
    result = scan(_repo(tmp_path), workers=1)
    bom = to_cyclonedx(result, runtime=_usage(home))
    _validate(bom)

    code = {
        _one(s, "sumun:provider"): s for s in bom["services"] if "sumun:source" not in _props(s)
    }
    assert _one(code["openai"], "sumun:runtime:used") == "true"
    assert _one(code["openai"], "sumun:runtime:calls") == "3"
    assert _one(code["aws-bedrock"], "sumun:runtime:used") == "true"
    assert _one(code["anthropic"], "sumun:runtime:used") == "false"  # in code, never used

    runtime = {
        (s["group"], _one(s, "sumun:provider:name")): s
        for s in bom["services"]
        if _props(s).get("sumun:source") == ["ledger"]
    }
    chat = runtime[("acme/loans", "openai")]
    assert chat["name"] == "gpt-4o-mini" and chat["provider"] == {"name": "OpenAI"}
    assert chat["x-trust-boundary"] is True and chat["trustZone"] == "US"
    assert _one(chat, "sumun:code:declared") == "true"
    assert _one(chat, "sumun:code:model_declared") == "true"
    assert _one(chat, "sumun:code:ref") == code["openai"]["bom-ref"]
    assert _one(chat, "sumun:pii:action:KR_RRN:pseudonymize") == "1"
    assert _one(chat, "sumun:runtime:calls") == "3" and _one(chat, "sumun:runtime:failed") == "1"
    assert _one(chat, "sumun:runtime:first_seen") == "2026-11-28T00:53:20Z"

    secure = runtime[("acme/loans", "bedrock-seoul")]
    assert secure["data"] == [
        {"flow": "outbound", "classification": "S", "name": "prompts of class S"}
    ]
    assert secure["endpoints"] == ["https://bedrock-runtime.ap-northeast-2.amazonaws.com/openai/v1"]
    assert _one(secure, "sumun:region") == "ap-northeast-2"
    assert _one(secure, "sumun:region_in_korea") == "true"
    assert _one(secure, "sumun:hosting") == "kr-region"
    assert _one(secure, "sumun:code:declared") == "true"  # boto3 bedrock-runtime in code
    assert _one(secure, "sumun:code:model_declared") == "false"

    hr = runtime[("acme/hr", "azure-hr")]
    assert _one(hr, "sumun:code:declared") == "false"  # used, never declared in code
    assert _one(hr, "sumun:provider") == "azure-openai"

    models = {c["name"]: c for c in bom["components"] if c["type"] == "machine-learning-model"}
    assert _one(models["gpt-4o-mini"], "sumun:runtime:used") == "true"
    assert _one(models["claude-3-5-haiku-latest"], "sumun:runtime:used") == "false"

    meta = _props(bom["metadata"])
    assert meta["sumun:runtime:from"] == ["2026-10-31T00:53:20Z"]
    assert meta["sumun:runtime:calls"] == ["5"]
    # Clear metadata only: nothing of a prompt reaches the BOM.
    text = json.dumps(bom, ensure_ascii=False)
    assert "900101" not in text and "대출" not in text


def test_the_html_shows_the_runtime_section(home: Path, tmp_path: Path) -> None:
    _traffic(_settings(home))
    result = scan(_repo(tmp_path), workers=1)
    html = render_html(result, runtime=_usage(home))
    assert "게이트웨이가 실제로 쓴 서비스" in html and "Services the gateway used" in html
    assert "acme/hr" in html and "hr-gpt4o" in html
    assert "Services in code but not used in the period" in html and "anthropic" in html


def test_period_options() -> None:
    def ms(year: int, month: int, day: int) -> int:
        return int(dt.datetime(year, month, day, tzinfo=dt.UTC).timestamp() * 1000)

    # A bare --to date includes that whole day.
    assert parse_period(None, "2026-11-01", "2026-11-30") == Period(
        ms(2026, 11, 1), ms(2026, 12, 1)
    )
    assert parse_period(None, "2026-11-01T09:00:00+09:00", None) == Period(ms(2026, 11, 1), None)
    assert parse_period(2, None, None, now=NOW_MS / 1000) == Period(NOW_MS - 2 * DAY_MS, None)
    with pytest.raises(UsageError, match="not both"):
        parse_period(7, "2026-11-01", None)
    with pytest.raises(UsageError, match="is not a date"):
        parse_period(None, "last tuesday", None)
    with pytest.raises(UsageError, match="after --from"):
        parse_period(None, "2026-11-30", "2026-11-01")


def test_the_cli_writes_the_runtime_bom(home: Path, tmp_path: Path) -> None:
    _traffic(_settings(home), now_ms=int(time.time() * 1000))
    out = tmp_path / "bom.cdx.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sumun.cli.main",
            "--home",
            str(home),
            "scan",
            str(_repo(tmp_path)),
            "--ledger",
            "--since",
            "30",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    bom = json.loads(out.read_text(encoding="utf-8"))
    _validate(bom)
    groups = sorted(s.get("group", "") for s in bom["services"] if "group" in s)
    assert groups == ["acme/hr", "acme/loans", "acme/loans"]
    bad = subprocess.run(
        [sys.executable, "-m", "sumun.cli.main", "scan", str(tmp_path), "--since", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "go with --ledger" in bad.stderr


def test_a_repo_without_traffic_marks_everything_unused(home: Path, tmp_path: Path) -> None:
    result = scan(_repo(tmp_path), workers=1)
    bom = to_cyclonedx(result, runtime=_usage(home))
    _validate(bom)
    used = {_one(s, "sumun:runtime:used") for s in bom["services"]}
    assert used == {"false"}


def test_join_by_provider_host_and_model() -> None:
    from sumun.scan.model import Component
    from sumun.scan.runtime import RuntimeUse, join, model_matches, runtime_provider

    vllm = runtime_provider("vllm", "openai", "http://127.0.0.1:8000/v1", hosting="on-prem")
    azure = runtime_provider("az", "azure", "https://acme-hr.openai.azure.com/openai")
    odd = runtime_provider("odd", "openai", "https://llm.internal.example/v1")
    assert not vllm.leaves_organization and azure.leaves_organization
    assert (azure.table_id, odd.table_id) == ("azure-openai", None)
    components = [
        Component("service", "vLLM", provider=vllm.table_id, endpoint="http://localhost:8000/v1"),
        Component(
            "service", "Azure", provider="azure-openai", endpoint="https://other.openai.azure.com"
        ),
        Component("service", "llm.internal.example", endpoint="https://llm.internal.example/v1"),
    ]
    uses = tuple(
        RuntimeUse(tenant="t", app="a", provider=p.name, model="m", calls=n)
        for p, n in ((vllm, 2), (azure, 3), (odd, 4))
    )
    usage = RuntimeUsage("test", None, None, 9, providers=(vllm, azure, odd), uses=uses)
    joined = join(components, usage)
    # loopback spelled two ways is one server; another Azure resource is another service;
    # an endpoint the table does not know matches by its host.
    assert dict(joined.used_services) == {0: 2, 2: 4}
    assert dict(joined.declared) == {0: (0,), 1: (), 2: (2,)}
    assert model_matches("gpt-4o", "gpt-4o-2024-08-06") and model_matches("openai/gpt-4o", "gpt-4o")
    assert model_matches("claude-3-5-sonnet", "claude-3-5-sonnet-20241022")
    assert model_matches("anthropic.claude-3-5-sonnet", "anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert not model_matches("gpt-4o", "gpt-4o-mini") and not model_matches("gpt-4", "gpt-4o")
