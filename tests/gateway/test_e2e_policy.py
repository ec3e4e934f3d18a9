"""Korea's terms at runtime, end to end with the official SDKs: mask, pseudonymize and restore
(streaming included, tokens split across chunks), block, reroute, and output scanning.

Providers: `abroad` (US, hosted abroad, 30-day retention ⇒ admitted for O only) and `korea`
(KR region, zero retention, no training ⇒ up to S) both point at the fake upstream, which
echoes the last user message — so what the upstream saw comes back in the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import orjson
import pytest

from sumun import config
from sumun.keys.envelope import Context
from sumun.store.pseudonyms import PseudonymVault
from tests.gateway.harness import Running, running_gateway

RRN = "900101-1234568"  # checksum valid
CARD = "4111-1111-1111-1111"
PHONE = "010-1234-5678"
EMAIL = "hong.gildong@example.co.kr"
# Longer than the output scanner's window, so the restorer sees the token cut into pieces.
LONG = "상담 기록을 바탕으로 고객에게 보낼 안내문을 정중하고 간결하게 작성해 주세요. " * 2

POLICY = """\
version: 1
pii:
  min_score: 0.5
  rules:
    - {id: pii.rrn, types: [KR_RRN], action: pseudonymize, when: {hosting: [abroad, kr-region]}}
    - {id: pii.phone, types: [PHONE_KR], action: mask, when: {hosting: [abroad]}}
    - {id: pii.card, types: [CREDIT_CARD], action: block}
    - {id: pii.account, types: [BANK_ACCOUNT_KR], action: reroute, to: {jurisdictions: [KR]}}
output:
  scan: true
  rules:
    - {id: out.email, types: [EMAIL], action: mask}
    - {id: out.card, types: [CREDIT_CARD], action: block}
"""

ABROAD = {
    "jurisdiction": "US",
    "hosting": "abroad",
    "key_custody": "provider",
    "retention_days": 30,
    "training_use": False,
    "cross_border_basis": "contract",
}
KOREA = {
    "jurisdiction": "KR",
    "hosting": "kr-region",
    "key_custody": "byok",
    "retention_days": 0,
    "training_use": False,
}


@pytest.fixture
def gw(tmp_path: Path, fake_upstream: Any) -> Iterator[Running]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "policy.yaml").write_text(POLICY, encoding="utf-8")
    base_url = fake_upstream.base_url
    raw: dict[str, Any] = {
        "providers": [
            {"name": "abroad", "kind": "openai", "base_url": base_url, "profile": ABROAD},
            {"name": "korea", "kind": "openai", "base_url": base_url, "profile": KOREA},
            {
                "name": "claude-abroad",
                "kind": "anthropic",
                "base_url": base_url.removesuffix("/v1"),
                "profile": ABROAD,
            },
        ],
        "routes": [
            {
                "model": "gpt",
                "targets": [
                    {"provider": "abroad", "model": "up-gpt"},
                    {"provider": "korea", "model": "up-kr"},
                ],
            },
            {"model": "claude", "targets": [{"provider": "claude-abroad", "model": "up-claude"}]},
        ],
    }
    base = config.load(home=home, env={})
    with running_gateway(config.Settings(home=base.home, **raw)) as running:
        yield running


def _oa(gw: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=gw.keys["acme"], max_retries=0)


def _chat(gw: Running, text: str, model: str = "gpt") -> Any:
    return _oa(gw).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}]
    )


def _upstream_text(fake_upstream: Any) -> str:
    body = fake_upstream.latest().body
    if "messages" in body:
        content = body["messages"][-1]["content"]
        return content if isinstance(content, str) else orjson.dumps(content).decode()
    return orjson.dumps(body.get("input")).decode()


def test_mask_replaces_the_value_with_a_typed_placeholder(gw: Running, fake_upstream: Any) -> None:
    raw = _chat(gw, f"고객 연락처는 {PHONE} 입니다. 통화 요약을 써줘")
    assert raw.headers["x-sumun-decision"] == "transform"
    assert raw.headers["x-sumun-provider"] == "abroad"
    seen = _upstream_text(fake_upstream)
    assert PHONE not in seen and "[전화번호]" in seen
    # Masking is not reversible: the answer carries the placeholder, not the number.
    answer = raw.parse().choices[0].message.content
    assert "[전화번호]" in answer and PHONE not in answer


def test_pseudonymize_and_restore_without_streaming(gw: Running, fake_upstream: Any) -> None:
    raw = _chat(gw, f"주민번호는{RRN}이고 재확인 번호도 {RRN.replace('-', '')} 입니다")
    seen = _upstream_text(fake_upstream)
    assert RRN not in seen and RRN.replace("-", "") not in seen
    # One value, one token, however it was written.
    assert seen.count("[주민등록번호_1]") == 2 and "[주민등록번호_2]" not in seen
    answer = raw.parse().choices[0].message.content
    assert RRN in answer and "[주민등록번호_1]" not in answer

    request_id = raw.headers["x-sumun-request-id"]
    entries = gw.entries_for(request_id)
    admitted = next(e for e in entries if e["kind"] == "request-admitted")
    assert admitted["attrs"]["pii_actions"] == "KR_RRN:pseudonymize"
    assert "pii.rrn" in admitted["rules"]
    completed = next(e for e in entries if e["kind"] == "request-completed")
    assert completed["attrs"]["restored"] == "2"
    # The token table is sealed under the tenant key and kept apart from the ledger.
    vault = PseudonymVault(gw.runtime.settings.home / "pseudonyms.db")
    try:
        found = vault.get(request_id)
    finally:
        vault.close()
    assert found is not None and found[0] == "acme"
    assert RRN.encode() not in found[1]
    table = gw.runtime.keys.decrypt(found[1], Context("acme", request_id, "pseudonym-map"))
    assert orjson.loads(table) == {"[주민등록번호_1]": RRN}


def test_the_ledger_keeps_what_left_never_the_original(gw: Running) -> None:
    raw = _chat(gw, f"주민등록번호 {RRN} 고객의 민원을 요약해줘")
    request_id = raw.headers["x-sumun-request-id"]
    gw.entries_for(request_id)
    rows = [
        r
        for r in gw.runtime.ledger.tail(50, decrypt=True)
        if r.entry.get("request_id") == request_id
    ]
    assert {r.entry["kind"] for r in rows} == {"request-admitted", "request-completed"}
    for row in rows:
        assert row.payload_state == "decrypted" and row.payload is not None
        assert RRN.encode() not in row.payload  # the restored answer went to the caller only
        assert "[주민등록번호_1]".encode() in row.payload


@pytest.mark.parametrize("split", [1, 3, 7])
def test_streaming_restores_tokens_split_across_chunks(gw: Running, split: int) -> None:
    stream = _oa(gw).chat.completions.create(
        model="gpt",
        messages=[{"role": "user", "content": f"{LONG} 주민번호 {RRN} 확인 {LONG} #split:{split}"}],
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert RRN in text
    assert "[주민등록" not in text


def test_anthropic_streaming_restores_tokens(gw: Running) -> None:
    client = anthropic.Anthropic(base_url=gw.base_url, api_key=gw.keys["acme"], max_retries=0)
    with client.messages.stream(
        model="claude",
        max_tokens=100,
        messages=[{"role": "user", "content": f"{LONG} 주민등록번호: {RRN} {LONG} #split:2"}],
    ) as stream:
        text = "".join(stream.text_stream)
    assert RRN in text and "[주민등록" not in text


def test_responses_api_streaming_restores_tokens(gw: Running) -> None:
    events = list(
        _oa(gw).responses.create(
            model="gpt", input=f"{LONG} 주민번호 {RRN} 조회 {LONG} #split:4", stream=True
        )
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert RRN in deltas and "[주민등록" not in deltas
    completed = next(e for e in events if e.type == "response.completed")
    assert RRN in completed.response.output_text


def test_block_is_403_with_the_rule_id_and_never_the_content(gw: Running) -> None:
    with pytest.raises(openai.PermissionDeniedError) as info:
        _chat(gw, f"카드번호 {CARD} 로 결제 취소해줘")
    message = str(info.value.message)
    assert "pii.card" in message and "CREDIT_CARD" in message
    assert "4111" not in message


def test_reroute_sends_the_account_only_to_a_korean_provider(
    gw: Running, fake_upstream: Any
) -> None:
    raw = _chat(gw, "국민은행 계좌 123456-78-901234 로 환불 요청 안내문 작성")
    assert raw.headers["x-sumun-decision"] == "reroute"
    assert raw.headers["x-sumun-provider"] == "korea"
    assert fake_upstream.latest().body["model"] == "up-kr"


def test_output_scanning_masks_pii_the_model_produces(gw: Running) -> None:
    raw = _chat(gw, f"담당자 이메일은 {EMAIL} 입니다")
    answer = raw.parse().choices[0].message.content
    assert EMAIL not in answer and "[이메일]" in answer
    entries = gw.entries_for(raw.headers["x-sumun-request-id"])
    completed = next(e for e in entries if e["kind"] == "request-completed")
    assert completed["attrs"]["output_pii"] == "EMAIL:mask"


def test_output_scanning_masks_across_stream_chunks(gw: Running) -> None:
    stream = _oa(gw).chat.completions.create(
        model="gpt",
        messages=[{"role": "user", "content": f"담당자 {EMAIL} 에게 전달 #split:3"}],
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert EMAIL not in text and "[이메일]" in text


def test_a_sensitive_marking_with_masked_pii_still_needs_an_admitted_provider(
    gw: Running,
) -> None:
    """대외비 makes the request S: abroad (O only) is out, korea (up to S) takes it."""
    raw = _chat(gw, f"대외비: 고객 {RRN} 관련 보고서 요약")
    assert raw.headers["x-sumun-provider"] == "korea"
    assert raw.headers["x-sumun-decision"] == "reroute"


TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_customer",
        "description": "look a customer up",
        "parameters": {"type": "object", "properties": {"echo": {"type": "string"}}},
    },
}
ANTHROPIC_TOOL = {
    "name": "lookup_customer",
    "description": "look a customer up",
    "input_schema": {"type": "object", "properties": {"echo": {"type": "string"}}},
}


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_arguments_get_the_originals_back(gw: Running, stream: bool) -> None:
    """The model calls a function with the token; the caller's code receives the number."""
    ask = [{"role": "user", "content": f"{LONG} 주민번호 {RRN} 고객을 조회해줘 #tool"}]
    client = _oa(gw)
    if stream:
        chunks = list(
            client.chat.completions.create(model="gpt", messages=ask, tools=[TOOL], stream=True)
        )
        args = "".join(
            tc.function.arguments or ""
            for c in chunks
            if c.choices
            for tc in (c.choices[0].delta.tool_calls or ())
            if tc.function
        )
    else:
        reply = client.chat.completions.create(model="gpt", messages=ask, tools=[TOOL])
        calls = reply.choices[0].message.tool_calls or []
        args = calls[0].function.arguments
    echoed = orjson.loads(args)["echo"]  # still valid JSON after restoration
    assert RRN in echoed and "[주민등록번호" not in echoed


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_use_input_gets_the_originals_back(gw: Running, stream: bool) -> None:
    client = anthropic.Anthropic(base_url=gw.base_url, api_key=gw.keys["acme"], max_retries=0)
    ask = [{"role": "user", "content": f"{LONG} 주민등록번호 {RRN} 조회 #tool"}]
    if stream:
        with client.messages.stream(
            model="claude", max_tokens=100, messages=ask, tools=[ANTHROPIC_TOOL]
        ) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(
            model="claude", max_tokens=100, messages=ask, tools=[ANTHROPIC_TOOL]
        )
    block = next(b for b in message.content if b.type == "tool_use")
    echoed = block.input["echo"]  # type: ignore[index]
    assert RRN in echoed and "[주민등록번호" not in echoed


RESPONSES_TOOL = {
    "type": "function",
    "name": "lookup_customer",
    "parameters": {"type": "object", "properties": {"echo": {"type": "string"}}},
}


@pytest.mark.parametrize("stream", [False, True])
def test_responses_function_call_arguments_get_the_originals_back(
    gw: Running, stream: bool
) -> None:
    ask = f"{LONG} 주민번호 {RRN} 고객 조회 #tool"
    client = _oa(gw)
    if stream:
        events = list(
            client.responses.create(model="gpt", input=ask, tools=[RESPONSES_TOOL], stream=True)
        )
        deltas = "".join(
            e.delta for e in events if e.type == "response.function_call_arguments.delta"
        )
        done = next(e for e in events if e.type == "response.function_call_arguments.done")
        final = next(e for e in events if e.type == "response.completed").response
        assert orjson.loads(deltas) == orjson.loads(done.arguments)
    else:
        final = client.responses.create(model="gpt", input=ask, tools=[RESPONSES_TOOL])
    call = next(item for item in final.output if item.type == "function_call")
    echoed = orjson.loads(call.arguments)["echo"]
    assert RRN in echoed and "[주민등록번호" not in echoed
