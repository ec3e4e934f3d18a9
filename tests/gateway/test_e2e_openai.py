"""The official `openai` SDK against a running Sumun gateway, in front of a real fake upstream."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.gateway.harness import Running

pytestmark = pytest.mark.usefixtures("fake_upstream")


def _client(g: Running, key: str = "acme", **kw: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{g.base_url}/v1", api_key=g.keys[key], max_retries=0, **kw)  # type: ignore[arg-type]


def test_chat_through_the_demo_provider_is_labelled_and_recorded(gateway: Running) -> None:
    raw = _client(gateway).chat.completions.with_raw_response.create(
        model="demo", messages=[{"role": "user", "content": "안녕하세요, 수문!"}]
    )
    reply = raw.parse()
    text = reply.choices[0].message.content or ""
    assert "demo" in text.lower() and "안녕하세요" in text
    assert raw.headers["x-sumun-ai-generated"] == "true"
    assert raw.headers["x-sumun-decision"] == "allow"
    seq = int(raw.headers["x-sumun-ledger-seq"])
    assert reply.model_extra and reply.model_extra["sumun"]["ai_generated"] is True
    request_id = raw.headers["x-sumun-request-id"]
    entries = gateway.entries_for(request_id)
    kinds = [e["kind"] for e in entries]
    assert kinds == ["request-admitted", "request-completed"]
    admitted, completed = entries
    assert admitted["seq"] == seq and admitted["tenant"] == "acme"
    assert admitted["attrs"]["model"] == "demo" and admitted["attrs"]["user"] == "kim"
    assert completed["provider"] == "demo" and completed["attrs"]["outcome"] == "ok"
    assert completed["tokens_in"] and completed["tokens_out"]
    # Payloads are sealed under the tenant's key and readable by its holder.
    rows = {r.seq: r for r in gateway.runtime.ledger.tail(20, decrypt=True)}
    assert "안녕하세요".encode() in (rows[seq].payload or b"")
    assert rows[seq].payload_state == "decrypted"


def test_streaming_chat(gateway: Running) -> None:
    stream = _client(gateway).chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "stream please"}],
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len(pieces) > 1 and "".join(pieces)


def test_tool_calls_and_image_parts_pass_through_intact(gateway: Running, fake_upstream) -> None:  # type: ignore[no-untyped-def]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup_branch",
                "description": "은행 지점 찾기",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is in this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        }
    ]
    _client(gateway).chat.completions.create(model="gpt-test", messages=messages, tools=tools)  # type: ignore[arg-type]
    sent = fake_upstream.last_request.body
    assert sent["tools"] == tools
    assert sent["messages"] == messages
    assert sent["model"] == "up-gpt"  # the alias was rewritten to the provider's model


def test_embeddings_models_and_responses(gateway: Running) -> None:
    client = _client(gateway)
    emb = client.embeddings.create(model="demo", input=["하나", "둘"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) > 0
    ids = {m.id for m in client.models.list()}
    assert {"demo", "gpt-test", "claude-test"} <= ids


def test_failover_to_the_next_provider_before_the_first_byte(gateway: Running) -> None:
    raw = _client(gateway).chat.completions.with_raw_response.create(
        model="failover", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-sumun-provider"] == "fake-openai"


def test_kill_switch_cuts_a_provider_everywhere(gateway: Running) -> None:
    switch = gateway.parts.killswitch
    switch.cut("fake-openai", "incident 42", "test")
    with pytest.raises(openai.APIStatusError) as info:
        _client(gateway).chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.status_code == 503
    assert "kill switch" in str(info.value.message)
    switch.restore("fake-openai", "test")
    ok = _client(gateway).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )
    assert ok.choices


def test_tenant_notice_is_added_to_generated_text(gateway: Running) -> None:
    reply = _client(gateway, "bank").chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "대출 금리?"}]
    )
    assert (reply.choices[0].message.content or "").endswith("[AI 생성 답변]")
    stream = _client(gateway, "bank").chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "대출 금리?"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.endswith("[AI 생성 답변]")


def test_a_stream_reader_that_stops_at_finish_reason_has_seen_the_notice(
    gateway: Running,
) -> None:
    stream = _client(gateway, "bank").chat.completions.create(
        model="demo",
        messages=[{"role": "user", "content": "대출 금리?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    for chunk in stream:
        if not chunk.choices:
            continue
        text += chunk.choices[0].delta.content or ""
        if chunk.choices[0].finish_reason is not None:
            break
    stream.close()
    assert text.endswith("[AI 생성 답변]")


def test_responses_answers_carry_the_notice_too(gateway: Running) -> None:
    client = _client(gateway, "bank")
    whole = client.responses.create(model="demo", input="대출 금리?")
    assert whole.output_text.endswith("[AI 생성 답변]")
    with client.responses.stream(model="demo", input="대출 금리?") as stream:
        text = ""
        for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
            elif event.type == "response.output_text.done":
                break  # a reader that stops when the text is done
        assert text.endswith("[AI 생성 답변]")
    with client.responses.stream(model="demo", input="대출 금리?") as stream:
        final = stream.get_final_response()
    assert final.output_text.endswith("[AI 생성 답변]")
    assert final.output_text.count("[AI 생성 답변]") == 1
    plain = _client(gateway).responses.create(model="demo", input="대출 금리?")
    assert "[AI 생성 답변]" not in plain.output_text


@pytest.mark.parametrize(
    ("key", "status", "fragment"),
    [("revoked", 401, "revoked"), ("auditor", 403, "auditor")],
)
def test_keys_and_roles(gateway: Running, key: str, status: int, fragment: str) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        _client(gateway, key).chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.status_code == status and fragment in str(info.value.message)


def test_missing_key_unknown_model_and_rate_limit(gateway: Running) -> None:
    anonymous = httpx.post(f"{gateway.base_url}/v1/chat/completions", json={"model": "demo"})
    assert (
        anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "authentication_error"
    )
    with pytest.raises(openai.NotFoundError):
        _client(gateway).chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    tight = _client(gateway, "tight")
    for _ in range(2):
        tight.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError) as info:
        tight.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}])
    assert int(info.value.response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"model": 7, "messages": []}', 400, "'model' must be a string"),
        (b'{"model": "demo", "messages": "hi"}', 400, "'messages'"),
        (b'{"model": "demo", "messages": [{"role":"user","content":"\xff\xfe"}]}', 400, "UTF-8"),
        (
            b'{"model": "demo", "stream": "yes", "messages": [{"role":"user","content":"x"}]}',
            400,
            "'stream'",
        ),
        (b"[1, 2, 3]", 400, "JSON object"),
        (
            b'{"model": "demo", "messages": [{"role":"user","content":"' + b"x" * 70000 + b'"}]}',
            413,
            "limit",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_in_openai_format(
    gateway: Running, body: bytes, status: int, fragment: str
) -> None:
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        content=body,
        headers={
            "authorization": f"Bearer {gateway.keys['acme']}",
            "content-type": "application/json",
        },
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert fragment in error["message"] and error["type"]
    assert "x" * 100 not in response.text  # never echoes the content


def test_declared_data_class_is_recorded_and_validated(gateway: Running) -> None:
    client = _client(gateway, default_headers={"X-Sumun-Data-Class": "S"})
    raw = client.chat.completions.with_raw_response.create(
        model="demo", messages=[{"role": "user", "content": "hi"}]
    )
    admitted = gateway.entries_for(raw.headers["x-sumun-request-id"])[0]
    assert admitted["data_class"] == "S" and "class.declared" in admitted["rules"]
    bad = _client(gateway, default_headers={"X-Sumun-Data-Class": "TOP"})
    with pytest.raises(openai.BadRequestError):
        bad.chat.completions.create(model="demo", messages=[{"role": "user", "content": "hi"}])


def test_metrics(gateway: Running) -> None:
    _client(gateway).chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "x"}]
    )
    url = f"{gateway.base_url}/metrics"
    auditor = {"authorization": f"Bearer {gateway.keys['auditor']}"}
    text = httpx.get(url, headers=auditor).text
    assert 'sumun_requests_total{endpoint="chat",provider="demo",status="200"}' in text
    assert "sumun_request_seconds_bucket" in text and "sumun_tokens_total" in text
    # The metrics name tenants: no key, a user's key or a revoked one gets nothing (issue 12).
    assert httpx.get(url).status_code == 401
    user = httpx.get(url, headers={"authorization": f"Bearer {gateway.keys['acme']}"})
    assert user.status_code == 403 and "acme" not in user.text and "sumun_" not in user.text
    revoked = {"authorization": f"Bearer {gateway.keys['revoked']}"}
    assert httpx.get(url, headers=revoked).status_code == 401


def test_sensitive_data_only_reaches_providers_admitted_for_it(gateway: Running) -> None:
    """fake-openai declares no profile (⇒ O only); the demo provider is on-prem (⇒ up to C)."""
    ask = [{"role": "user", "content": "대외비: 3분기 실적 전망을 요약해줘"}]
    with pytest.raises(openai.PermissionDeniedError) as info:
        _client(gateway).chat.completions.create(model="gpt-test", messages=ask)
    assert "profile.none-admitted" in str(info.value.message)
    assert "실적" not in str(info.value.message)  # never echoes the content
    blocked = gateway.entries_for(info.value.response.headers["x-sumun-request-id"])
    assert [e["decision"] for e in blocked] == ["block", "block"]
    assert blocked[0]["data_class"] == "S" and "profile.none-admitted" in blocked[0]["rules"]
    assert blocked[1]["attrs"]["status"] == "403"

    raw = _client(gateway).chat.completions.with_raw_response.create(model="mixed", messages=ask)
    assert raw.headers["x-sumun-decision"] == "reroute"
    assert raw.headers["x-sumun-provider"] == "demo"
    admitted = gateway.entries_for(raw.headers["x-sumun-request-id"])[0]
    assert admitted["decision"] == "reroute" and admitted["data_class"] == "S"
    assert "class.marker.not-for-release" in admitted["rules"]

    open_text = [{"role": "user", "content": "오늘 날씨 어때?"}]
    plain = _client(gateway).chat.completions.with_raw_response.create(
        model="mixed", messages=open_text
    )
    assert plain.headers["x-sumun-decision"] == "allow"
    assert plain.headers["x-sumun-provider"] == "fake-openai"


def test_a_unique_identifier_makes_the_request_sensitive(gateway: Running) -> None:
    ask = [{"role": "user", "content": "제 주민번호는900101-1234568 입니다. 대출 가능한가요?"}]
    with pytest.raises(openai.PermissionDeniedError):
        _client(gateway).chat.completions.create(model="gpt-test", messages=ask)
    raw = _client(gateway).chat.completions.with_raw_response.create(model="mixed", messages=ask)
    assert raw.headers["x-sumun-provider"] == "demo"
    admitted = gateway.entries_for(raw.headers["x-sumun-request-id"])[0]
    assert admitted["data_class"] == "S" and "class.pii" in admitted["rules"]
    assert admitted["attrs"]["pii_types"] == "KR_RRN"
    assert "900101" not in str(admitted)  # types only in the clear; the request stays sealed
