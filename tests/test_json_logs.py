"""Structured JSON logs (issue 18, rule 2): one JSON object per line on stderr, a `request`
event per answered request, and never content, keys or personal data.

The planted-secret test runs a real `sumun serve` with JSON logs at debug level, sends
requests carrying planted values (a recognisable API key, an RRN, a phone number, a prompt
sentinel, an upstream key the fake provider quotes back in its errors) through success,
streaming, policy refusal, upstream failure, failover and malformed paths, then checks every
stderr line is valid JSON and none carries a planted value. The formatter's own rules are
checked in-process below it.
"""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from sumun.config import LoggingConfig
from sumun.logs import JsonFormatter, configure, effective_level
from tests.fixtures.fake_upstream import FakeUpstream
from tests.fixtures.observed_node import serve_node, stop

pytestmark = pytest.mark.timeout(180)

PROMPT = "SENTINEL-PROMPT-91ab 제 주민등록번호는 900101-1234568, 전화 010-2345-6789 입니다"
PLANTED = (
    "SENTINEL-",
    "900101-1234568",
    "9001011234568",
    "010-2345-6789",
    "01023456789",
    "주민등록번호",
    "sk-upstream-PLANTED",
    "plantedplanted",
)
UPSTREAM_KEY = "sk-upstream-PLANTED-44c1de"
BAD_KEY = "sk-sumun-aaaaaaaaaa-plantedplantedplantedplanted"
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


def _settings(fake: FakeUpstream) -> dict[str, Any]:
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    return {
        "providers": [
            {
                "name": "up",
                "kind": "openai",
                "base_url": fake.base_url,
                "api_key_env": "UP_KEY",
                "profile": ON_PREM,
            },
            # No declared terms: admitted for open data only, so the RRN prompt is refused.
            {"name": "open", "kind": "openai", "base_url": fake.base_url, "api_key_env": "UP_KEY"},
            {"name": "down", "kind": "openai", "base_url": down, "profile": ON_PREM},
        ],
        "routes": [
            {"model": "bot", "targets": [{"provider": "up", "model": "fake-model-1"}]},
            {"model": "open-bot", "targets": [{"provider": "open", "model": "fake-model-1"}]},
            {
                "model": "failover",
                "targets": [
                    {"provider": "down", "model": "m"},
                    {"provider": "up", "model": "fake-model-2"},
                ],
            },
        ],
        "logging": {"format": "json"},  # the level comes from --log-level below
    }


def _client(base_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key=key,
        max_retries=0,
        timeout=20.0,
        http_client=httpx.Client(trust_env=False),
    )


def _raw(base_url: str, data: bytes) -> bytes:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _exercise(base_url: str, api_key: str) -> dict[str, int]:
    """Every path, with planted values: request id → the status the client saw."""
    client = _client(base_url, api_key)
    seen: dict[str, int] = {}
    messages = [{"role": "user", "content": PROMPT}]

    ok = client.chat.completions.with_raw_response.create(model="bot", messages=messages)
    seen[ok.headers["x-sumun-request-id"]] = ok.status_code
    with client.chat.completions.with_streaming_response.create(
        model="failover", messages=messages, stream=True
    ) as streamed:
        assert [c for c in streamed.parse() if c.choices]  # read to the end
        seen[streamed.headers["x-sumun-request-id"]] = streamed.status_code
    failures: list[tuple[type[openai.APIStatusError], dict[str, Any], str]] = [
        (openai.PermissionDeniedError, {"model": "open-bot", "messages": messages}, api_key),
        (
            openai.InternalServerError,
            {"model": "bot", "messages": [{"role": "user", "content": PROMPT + " #fail:500"}]},
            api_key,
        ),
        (
            openai.BadRequestError,
            {"model": "bot", "messages": [{"role": "user", "content": PROMPT + " #fail:400"}]},
            api_key,
        ),
        (openai.NotFoundError, {"model": "SENTINEL-MODEL", "messages": messages}, api_key),
        (openai.AuthenticationError, {"model": "bot", "messages": messages}, BAD_KEY),
    ]
    for error, body, key in failures:
        with pytest.raises(error) as caught:
            _client(base_url, key).chat.completions.create(**body)
        seen[caught.value.response.headers["x-sumun-request-id"]] = caught.value.status_code
    # Malformed: JSON cut short, a body that is not UTF-8, a broken HTTP head.
    http = httpx.Client(trust_env=False, timeout=20.0)
    auth = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
    for content in (
        f'{{"model": "bot", "messages": [{{"role": "user", "content": "{PROMPT}"'.encode(),
        b'{"model": "bot", "messages": [{"role": "user", "content": "SENTINEL-\xff\xfe"}]}',
    ):
        bad = http.post(f"{base_url}/v1/chat/completions", content=content, headers=auth)
        assert bad.status_code == 400, bad.text
        seen[bad.headers["x-sumun-request-id"]] = 400
    head = (
        f"POST /v1/chat/completions?SENTINEL-QUERY HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {BAD_KEY}\r\nX-Note: {PROMPT}\r\nbroken header line\r\n\r\n"
    )
    assert _raw(base_url, head.encode()).startswith(b"HTTP/1.1 400")
    return seen


def test_json_logs_carry_requests_and_never_what_was_said(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    env = {"UP_KEY": UPSTREAM_KEY}
    args = ("--log-level", "debug")
    with serve_node(tmp_path, _settings(fake_upstream), args=args, env=env) as node:
        seen = _exercise(node.base_url, node.api_key)
        assert stop(node) == 0
    # The planted values were in play: the provider saw its key (and quoted it in its errors).
    last = fake_upstream.latest()
    assert last.headers.get("authorization") == f"Bearer {UPSTREAM_KEY}"
    text = node.stderr_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no log line at all"
    records = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= set(record), line
        records.append(record)
    for planted in (*PLANTED, node.api_key, node.api_key.rsplit("-", 1)[1]):
        assert planted not in text, (planted, [r for r in records if planted in json.dumps(r)])
        decoded = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
        assert planted not in decoded, planted

    events = {r["request_id"]: r for r in records if r.get("event") == "request"}
    assert set(seen) <= set(events), (seen, sorted(events))
    for request_id, status in seen.items():
        event = events[request_id]
        assert event["logger"] == "sumun.request" and event["level"] == "info"
        assert event["status"] == status
        assert event["latency_ms"] >= 0
        assert event["endpoint"] == "chat"
        if status != 401:  # a wrong key has no tenant
            assert event["tenant"] == "acme"
        if status >= 400:
            assert event["error_type"]
    admitted = [e for e in events.values() if e["status"] == 200]
    assert len(admitted) == 2
    assert all(e["decision"] and e["ledger_seq"] >= 0 and e["model"] for e in admitted)
    assert {e["provider"] for e in admitted} == {"up"}
    refused = next(e for e in events.values() if e["status"] == 403)
    assert refused["decision"] == "block"
    assert next(e for e in events.values() if e["status"] == 404).get("model") is None
    # uvicorn's own records come through the same formatter
    assert any(r["logger"].startswith("uvicorn") for r in records)
    assert any(r["logger"] == "sumun.serve" for r in records)  # the final checkpoint (info)


# -- the formatter, in-process -----------------------------------------------------------


def _format(record: logging.LogRecord) -> dict[str, Any]:
    out = json.loads(JsonFormatter().format(record))
    assert isinstance(out, dict)
    return out


def _record(msg: str = "hello %s", *args: object, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("sumun.test", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_an_exception_is_its_type_and_frames_never_its_message() -> None:
    try:
        raise ValueError(f"bad request line {PROMPT}") from KeyError("SENTINEL-CAUSE")
    except ValueError:
        import sys

        record = _record("failed")
        record.exc_info = sys.exc_info()
    out = _format(record)
    assert out["exc_type"] == "ValueError"
    assert out["exc_causes"] == ["KeyError"]
    assert any("test_json_logs.py" in frame for frame in out["exc_frames"])
    assert "SENTINEL" not in json.dumps(out, ensure_ascii=False)


def test_extra_fields_are_copied_only_by_name_and_only_as_scalars() -> None:
    out = _format(
        _record(
            "request %s",
            "r1",
            request_id="r1",
            tenant="acme",
            status=200,
            latency_ms=1.5,
            body={"messages": PROMPT},  # not a known field: dropped
            decision={"prompt": PROMPT},  # a known field, but not a scalar: dropped
            headers="authorization: Bearer SENTINEL",
        )
    )
    assert out["message"] == "request r1"
    assert (out["request_id"], out["tenant"], out["status"], out["latency_ms"]) == (
        "r1",
        "acme",
        200,
        1.5,
    )
    assert "decision" not in out and "body" not in out and "headers" not in out
    assert "SENTINEL" not in json.dumps(out, ensure_ascii=False)


def test_configure_installs_one_handler_and_text_by_default_changes_nothing() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    names = ("sumun", "uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access")
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate)
        for name in names
        for logger in [logging.getLogger(name)]
    }
    root_level = root.level
    stream = io.StringIO()
    try:
        logging.getLogger("uvicorn.error").setLevel(logging.INFO)  # as `sumun serve` sets it
        configure(LoggingConfig(format="json", level="info"), stream=stream)
        configure(LoggingConfig(format="json", level="info"), stream=stream)  # idempotent
        assert len(root.handlers) == len(before) + 1
        logging.getLogger("sumun.test").info("one %s", "line", extra={"tenant": "acme"})
        logging.getLogger("uvicorn.error").info("from uvicorn")
        logging.getLogger("some.library").info("a third party's info stays out")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [(r["logger"], r["message"]) for r in lines] == [
            ("sumun.test", "one line"),
            ("uvicorn.error", "from uvicorn"),
        ]
        assert lines[0]["tenant"] == "acme" and lines[0]["level"] == "info"
        configure(LoggingConfig())  # text, no level: Sumun's handler goes, nothing else
        assert root.handlers == before
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(root_level)
        logging.captureWarnings(False)
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers = handlers
            logger.propagate = propagate
    assert effective_level(LoggingConfig(format="json")) == "info"
    assert effective_level(LoggingConfig()) == "warning"


def test_the_suite_wide_guard_notices_a_whole_key_or_a_planted_value() -> None:
    from tests.fixtures.log_guard import _Guard

    guard = _Guard()
    logger = logging.getLogger("sumun.test.guard")
    logger.addHandler(guard)
    logger.propagate = False  # this test's planted records must not reach the suite's guard
    try:
        logger.warning("key id %s is public", "abcdefghij")  # an id alone: fine
        logger.warning("oops %s", "sk-sumun-abcdefghij-" + "a" * 40)
        try:
            raise ValueError("SENTINEL-PROMPT in an exception message")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(guard)
        logger.propagate = True
    assert len(guard.offenders) == 2
    assert all("sumun.test.guard" in offender for offender in guard.offenders)
