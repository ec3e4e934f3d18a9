"""OpenTelemetry traces of the request path (issue 18, rule 2), checked end to end: a real
`sumun serve` exports to a real OTLP receiver on loopback (tests/fixtures/otlp_receiver.py,
OTLP/HTTP and OTLP/gRPC), driven with the openai SDK.

What must hold: one SERVER span per request with the GenAI attributes and Sumun's decision,
its parent the caller's `traceparent`; one CLIENT child per upstream attempt (a failover shows
both); refusals carry `error.type`; the exporter's headers come from the environment; and no
export carries a prompt, an answer, a key or personal data.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from sumun import config, telemetry
from sumun.errors import ConfigError
from sumun.gateway.tracing import NO_TRACE, Tracer
from tests.fixtures.fake_upstream import FakeUpstream
from tests.fixtures.observed_node import serve_node, stop
from tests.fixtures.otlp_receiver import (
    CLIENT,
    SERVER,
    STATUS_ERROR,
    ReceivedSpan,
    start_otlp_receiver,
)

pytestmark = pytest.mark.timeout(180)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
PROMPT = "SENTINEL-PROMPT-c81f 제 주민등록번호는 900101-1234568, 전화 010-2345-6789 입니다"
PLANTED_MODEL = "SENTINEL-MODEL-5d2e"
UPSTREAM_KEY = "sk-upstream-PLANTED-0b7c2a"
BAD_KEY = "sk-sumun-aaaaaaaaaa-plantedplantedplantedplanted"
OTLP_TOKEN = "otlp-token-1"
ON_PREM = {
    "jurisdiction": "KR",
    "hosting": "on-prem",
    "key_custody": "organization",
    "retention_days": 0,
    "training_use": False,
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(fake: FakeUpstream, exporter: str, endpoint: str) -> dict[str, Any]:
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    return {
        "providers": [
            {
                "name": "up",
                "kind": "openai",
                "base_url": fake.base_url,
                "api_key_env": "UP_KEY",
                "profile": ON_PREM,  # admitted for the personal data the prompt carries
            },
            {
                "name": "down",
                "kind": "openai",
                "base_url": down,
                "connect_timeout_seconds": 1,
                "profile": ON_PREM,
            },
        ],
        "routes": [
            {"model": "bot", "targets": [{"provider": "up", "model": "fake-model-1"}]},
            {
                "model": "failover",
                "targets": [
                    {"provider": "down", "model": "down-model"},
                    {"provider": "up", "model": "fake-model-2"},
                ],
            },
        ],
        "telemetry": {
            "traces": {
                "exporter": exporter,
                "endpoint": endpoint,
                "headers_env": "OTLP_HEADERS",
                "service_name": "sumun-test",
            }
        },
    }


def _client(base_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key=key,
        max_retries=0,
        timeout=20.0,
        http_client=httpx.Client(trust_env=False),
    )


def _server(spans: list[ReceivedSpan], request_id: str) -> ReceivedSpan:
    found = [
        s for s in spans if s.kind == SERVER and s.attributes.get("sumun.request_id") == request_id
    ]
    assert len(found) == 1, (request_id, [s.attributes for s in spans])
    return found[0]


def _children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [
        s for s in spans if s.parent_span_id == parent.span_id and s.trace_id == parent.trace_id
    ]


@pytest.mark.parametrize("exporter", ["otlp-http", "otlp-grpc"])
def test_request_spans_reach_a_real_otlp_receiver(
    exporter: str, tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    with start_otlp_receiver() as receiver:
        endpoint = receiver.http_url if exporter == "otlp-http" else receiver.grpc_url
        env = {
            "UP_KEY": UPSTREAM_KEY,
            "OTLP_HEADERS": f"authorization=Bearer%20{OTLP_TOKEN},x-scope=sumun",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        with serve_node(tmp_path, _settings(fake_upstream, exporter, endpoint), env=env) as node:
            client = _client(node.base_url, node.api_key)
            # 1. a whole answer, inside the caller's trace
            whole = client.chat.completions.with_raw_response.create(
                model="bot",
                messages=[{"role": "user", "content": PROMPT}],
                extra_headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
            )
            assert whole.status_code == 200
            # 2. a stream whose first provider is down: failover to the second
            with client.chat.completions.with_streaming_response.create(
                model="failover",
                messages=[{"role": "user", "content": PROMPT}],
                stream=True,
                stream_options={"include_usage": True},
            ) as streamed:
                assert streamed.status_code == 200
                streamed_id = streamed.headers["x-sumun-request-id"]
                text = "".join(
                    c.choices[0].delta.content or "" for c in streamed.parse() if c.choices
                )
                assert "SENTINEL-PROMPT-c81f" in text  # the answer did carry it (the echo)
            # 3. an unknown model (its name is the caller's text), 4. a wrong key,
            # 5. an upstream failure
            with pytest.raises(openai.NotFoundError) as unknown:
                client.chat.completions.create(
                    model=PLANTED_MODEL, messages=[{"role": "user", "content": PROMPT}]
                )
            with pytest.raises(openai.AuthenticationError):
                _client(node.base_url, BAD_KEY).chat.completions.create(
                    model="bot", messages=[{"role": "user", "content": PROMPT}]
                )
            with pytest.raises(openai.InternalServerError) as failed:
                client.chat.completions.create(
                    model="bot", messages=[{"role": "user", "content": f"{PROMPT} #fail:500"}]
                )
            assert stop(node) == 0  # the graceful shutdown exports what is still queued

        spans = receiver.wait_for_spans(
            lambda got: sum(s.kind == SERVER for s in got) >= 5, timeout=20
        )

    assert {s.transport for s in spans} == {exporter.removeprefix("otlp-")}
    assert {s.resource.get("service.name") for s in spans} == {"sumun-test"}
    assert {s.scope for s in spans} == {"sumun.gateway"}
    assert all(h.get("authorization") == f"Bearer {OTLP_TOKEN}" for h in receiver.headers)
    assert all(h.get("x-scope") == "sumun" for h in receiver.headers)

    # 1. the whole answer: a child of the caller's span, one attempt
    server = _server(spans, whole.headers["x-sumun-request-id"])
    assert (server.trace_id, server.parent_span_id) == (TRACE_ID, PARENT_SPAN)
    assert server.name == "chat bot"
    attrs = server.attributes
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "bot"
    assert attrs["gen_ai.response.model"] == "fake-model-1"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["sumun.tenant"] == "acme"
    assert attrs["sumun.app"] == "web"
    assert attrs["sumun.decision"] == whole.headers["x-sumun-decision"]
    assert attrs["sumun.data_class"] in {"O", "S", "C"}
    assert attrs["sumun.ledger.seq"] == int(whole.headers["x-sumun-ledger-seq"])
    assert attrs["sumun.provider"] == "up"
    assert attrs["http.response.status_code"] == 200
    assert attrs["http.route"] == "/v1/chat/completions"
    assert "error.type" not in attrs
    [attempt] = _children(spans, server)
    assert attempt.kind == CLIENT
    assert attempt.name == "chat fake-model-1"
    assert attempt.attributes["gen_ai.request.model"] == "fake-model-1"
    assert attempt.attributes["gen_ai.provider.name"] == "openai"
    assert attempt.attributes["sumun.provider"] == "up"
    assert attempt.attributes["http.response.status_code"] == 200
    assert attempt.attributes["gen_ai.usage.input_tokens"] == attrs["gen_ai.usage.input_tokens"]

    # 2. the stream: a new trace; the failed attempt and the one that answered
    server = _server(spans, streamed_id)
    assert server.parent_span_id == "" and server.trace_id != TRACE_ID
    assert server.name == "chat failover"
    assert server.attributes["sumun.provider"] == "up"
    assert server.attributes["gen_ai.usage.output_tokens"] > 0
    attempts = {s.attributes["sumun.provider"]: s for s in _children(spans, server)}
    assert set(attempts) == {"down", "up"}
    assert attempts["down"].attributes["error.type"] == "unavailable"
    assert attempts["down"].status_code == STATUS_ERROR
    assert attempts["down"].name == "chat down-model"
    assert "error.type" not in attempts["up"].attributes
    assert attempts["up"].attributes["gen_ai.usage.output_tokens"] > 0

    # 3. the unknown model: refused, and its name (the caller's text) is not reported
    refused = [s for s in spans if s.attributes.get("http.response.status_code") == 404]
    assert len(refused) == 1 and refused[0].name == "chat"
    assert refused[0].attributes["error.type"] == "UnknownModelError"
    assert "gen_ai.request.model" not in refused[0].attributes
    assert not _children(spans, refused[0])
    assert (
        unknown.value.response.headers["x-sumun-request-id"]
        == (refused[0].attributes["sumun.request_id"])
    )
    # 4. the wrong key: no tenant is known
    [denied] = [s for s in spans if s.attributes.get("http.response.status_code") == 401]
    assert denied.attributes["error.type"] == "AuthError"
    assert "sumun.tenant" not in denied.attributes
    # 5. the upstream failure: an error on both spans
    server = _server(spans, failed.value.response.headers["x-sumun-request-id"])
    assert server.attributes["http.response.status_code"] == 502
    assert server.status_code == STATUS_ERROR
    [attempt] = _children(spans, server)
    assert attempt.attributes["error.type"]
    assert attempt.status_code == STATUS_ERROR

    # Nothing of what was said, nor any key, left in any export.
    exported = b"".join(receiver.raw)
    for planted in (
        "SENTINEL-PROMPT",
        "900101-1234568",
        "010-2345-6789",
        PLANTED_MODEL,
        UPSTREAM_KEY,
        BAD_KEY,
        node.api_key,
        node.api_key.rsplit("-", 1)[1],
        "주민등록번호",
    ):
        assert planted.encode() not in exported, planted


def test_traces_off_never_import_the_sdk(tmp_path: Path) -> None:
    """A gateway with traces off imports nothing of OpenTelemetry's tracing SDK or exporters
    (redis may import the API for its own metrics: that is not ours)."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "import sumun.server, sumun.cli.serve\n"
        "from sumun import config, telemetry\n"
        f"t = telemetry.start(config.Settings(home=Path({str(tmp_path)!r})))\n"
        "assert t.tracer.spans is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'opentelemetry.sdk.trace', 'opentelemetry.exporter', 'grpc', "
        "'sumun.gateway.tracing_otel'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_request_with_traces_and_request_log_off_allocates_nothing() -> None:
    tracer = Tracer()
    assert tracer.begin({}, "chat") is NO_TRACE

    async def send(_adapter: object, _call: object) -> int:
        return 1

    assert NO_TRACE.around(send) is send


def test_exporter_headers_come_from_the_environment_and_are_never_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traces = {"exporter": "otlp-http", "headers_env": "SUMUN_TEST_OTLP_HEADERS"}
    settings = config.Settings(home=tmp_path, telemetry={"traces": traces})
    monkeypatch.delenv("SUMUN_TEST_OTLP_HEADERS", raising=False)
    with pytest.raises(ConfigError, match="SUMUN_TEST_OTLP_HEADERS, which is not set"):
        telemetry.start(settings)
    monkeypatch.setenv("SUMUN_TEST_OTLP_HEADERS", "secret-token-without-a-name")
    with pytest.raises(ConfigError, match="name=value pairs") as bad:
        telemetry.start(settings)
    assert "secret-token" not in str(bad.value)


@pytest.mark.parametrize(
    "endpoint", ["ftp://127.0.0.1:4318", "http://user:pw@127.0.0.1:4318", "http://h:1/?q=1"]
)
def test_a_bad_endpoint_is_refused_at_load(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(ValueError, match=r"telemetry\.traces\.endpoint"):
        config.Settings(home=tmp_path, telemetry={"traces": {"endpoint": endpoint}})


def test_a_callers_sampled_traceparent_is_followed_and_joins_the_log_line(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    """sample_ratio 0 keeps no new trace, but a caller's sampled trace is followed; with
    `--log-format json` the request event names the trace it belongs to."""
    with start_otlp_receiver() as receiver:
        settings = _settings(fake_upstream, "otlp-http", receiver.http_url)
        settings["telemetry"]["traces"] |= {"sample_ratio": 0.0, "headers_env": None}
        env = {"UP_KEY": UPSTREAM_KEY, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        args = ("--log-format", "json", "--log-level", "info")
        with serve_node(tmp_path, settings, env=env, args=args) as node:
            client = _client(node.base_url, node.api_key)
            messages = [{"role": "user", "content": "hello"}]
            followed = client.chat.completions.with_raw_response.create(
                model="bot",
                messages=messages,
                extra_headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
            )
            dropped = client.chat.completions.with_raw_response.create(
                model="bot", messages=messages
            )
            assert stop(node) == 0
        spans = receiver.wait_for_spans(lambda got: any(s.kind == SERVER for s in got))
    assert {s.trace_id for s in spans} == {TRACE_ID}
    server = _server(spans, followed.headers["x-sumun-request-id"])
    assert server.parent_span_id == PARENT_SPAN
    assert len(_children(spans, server)) == 1
    assert not [
        s
        for s in spans
        if s.attributes.get("sumun.request_id") == dropped.headers["x-sumun-request-id"]
    ]
    events = {
        r["request_id"]: r
        for r in map(json.loads, node.stderr_text().splitlines())
        if r.get("event") == "request"
    }
    assert events[followed.headers["x-sumun-request-id"]]["trace_id"] == TRACE_ID


def test_only_the_tracing_modules_import_opentelemetry() -> None:
    """The SDK stays optional: two modules import it, each only when traces are on."""
    from tests.test_architecture import SRC, _imports

    importers = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if any(name.split(".")[0] in {"opentelemetry", "grpc"} for name in _imports(path))
    }
    assert importers == {"telemetry.py", "gateway/tracing_otel.py"}
