"""Issue 14's "done when", through a running gateway with the built-in policy and the SDK.

- A password reset, an NDA or a recipe with "비밀"/"secret" in running text is not a
  classified document: it goes to the provider it should (abroad, admitted for O).
- A formally marked document (a marking line) is C: no external provider may take it.
- An RRN issued after October 2020 (random digits after the gender digit, so the old checksum
  fails) is pseudonymized by the built-in policy: the upstream sees a token, the caller the
  original.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from sumun import config
from tests.gateway.harness import Running, running_gateway

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

# Post-2020 numbers: a real birth date and gender digit, and a check digit the old formula
# rejects (850315-1739407 would need 2, 0207154123456 would need 0).
NEW_RRNS = ("850315-1739407", "0207154123456")


@pytest.fixture
def gw(tmp_path: Path, fake_upstream: Any) -> Iterator[Running]:
    home = tmp_path / "home"
    home.mkdir()
    base_url = fake_upstream.base_url
    raw: dict[str, Any] = {
        "providers": [
            {"name": "abroad", "kind": "openai", "base_url": base_url, "profile": ABROAD},
            {"name": "korea", "kind": "openai", "base_url": base_url, "profile": KOREA},
        ],
        "routes": [
            {
                "model": "gpt",
                "targets": [
                    {"provider": "abroad", "model": "up-gpt"},
                    {"provider": "korea", "model": "up-kr"},
                ],
            },
        ],
    }
    base = config.load(home=home, env={})
    assert not (home / "policy.yaml").exists()  # the built-in policy
    with running_gateway(config.Settings(home=base.home, **raw)) as running:
        yield running


def _chat(gw: Running, text: str) -> Any:
    client = openai.OpenAI(base_url=f"{gw.base_url}/v1", api_key=gw.keys["acme"], max_retries=0)
    return client.chat.completions.with_raw_response.create(
        model="gpt", messages=[{"role": "user", "content": text}]
    )


def _upstream_text(fake_upstream: Any) -> str:
    content = fake_upstream.latest().body["messages"][-1]["content"]
    return content if isinstance(content, str) else orjson.dumps(content).decode()


@pytest.mark.parametrize(
    "text",
    [
        "비밀번호를 잊어버렸어요. 재설정 링크는 어디서 받나요?",
        "비밀 번호 변경 후에도 로그인이 안 됩니다.",
        "협력사와 비밀유지계약(NDA)을 맺기 전에 확인할 조항을 정리해 줘.",
        "What is the secret to a good kimchi jjigae?",
        "Please draft a reply to the confidential-looking email about the team lunch.",
    ],
)
def test_running_text_with_secret_words_goes_abroad(
    gw: Running, fake_upstream: Any, text: str
) -> None:
    raw = _chat(gw, text)
    assert raw.headers["x-sumun-provider"] == "abroad"
    assert raw.headers["x-sumun-decision"] == "allow"
    assert _upstream_text(fake_upstream) == text


def test_a_marked_classified_document_goes_to_no_external_provider(gw: Running) -> None:
    document = "Ⅲ급 비밀\n\n2027년 작전 계획 개요\n1. 목적: …\n\nⅢ급 비밀"
    with pytest.raises(openai.APIStatusError) as info:
        _chat(gw, f"다음 문서를 요약해 줘.\n\n{document}")
    assert info.value.status_code == 403
    assert "C" in str(info.value.message)


@pytest.mark.parametrize("rrn", NEW_RRNS)
def test_a_post_2020_rrn_is_pseudonymized_by_the_built_in_policy(
    gw: Running, fake_upstream: Any, rrn: str
) -> None:
    raw = _chat(gw, f"고객 {rrn} 님의 신청서를 검토해 주세요")
    assert raw.headers["x-sumun-decision"] == "transform"
    seen = _upstream_text(fake_upstream)
    assert rrn not in seen and "[주민등록번호_1]" in seen
    answer = raw.parse().choices[0].message.content or ""
    assert rrn in answer  # the fake upstream echoes; the caller gets the original back


def test_a_health_insurance_card_number_is_pseudonymized_too(
    gw: Running, fake_upstream: Any
) -> None:
    number = "51234567890"
    raw = _chat(gw, f"환자 건강보험증 번호 {number} 로 자격 조회를 도와줘")
    assert raw.headers["x-sumun-decision"] == "transform"
    seen = _upstream_text(fake_upstream)
    assert number not in seen and "[건강보험증번호_1]" in seen
    assert number in (raw.parse().choices[0].message.content or "")
