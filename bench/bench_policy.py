"""A full policy decision on a 2 KB Korean prompt, excluding detection (target ≤ 100 µs p50).

    python bench/bench_policy.py [--iterations 20000] [--json]

"Full decision" = what admission does after PII detection: classification (declared class,
tenant default, content markings), the PII rules for every candidate provider of a route with
three targets (abroad, Korea region, on-prem), admission by profile, and carrying it out
(copying the body and pseudonymizing / masking the findings). Detection of the same prompt is
timed alongside, as the reference the decision must stay small against. One core, pinned.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sumun.config import RouteConfig, RouteTarget, Settings  # noqa: E402
from sumun.gateway.admission import Admission, request_texts  # noqa: E402
from sumun.policy.decide import Candidate  # noqa: E402
from sumun.policy.pii import Detector  # noqa: E402
from sumun.policy.rules import DEFAULT_POLICY  # noqa: E402
from sumun.store.model import Principal, Role, Tenant  # noqa: E402

PARAGRAPH = (
    "안녕하세요, 고객지원팀 김민수입니다. 지난주 접수된 민원 건에 대해 회신드립니다. "
    "고객님께서 문의하신 대출 상환 일정은 다음 달 15일부터 변경 적용되며, 변경된 이자율은 "
    "연 4.2%입니다. 추가로 필요한 서류는 재직증명서와 소득금액증명원입니다. "
)


def prompt_2kb() -> str:
    pii = (
        "고객 정보: 홍길동, 주민등록번호 900101-1234568, 연락처 010-1234-5678, "
        "국민은행 계좌 123456-78-901234, 이메일 hong.gildong@example.co.kr. "
    )
    text = pii
    while len(text.encode()) < 2048:
        text += PARAGRAPH
    return text[: len(text) - max(0, len(text.encode()) - 2048) // 3]


def settings() -> Settings:
    abroad = {
        "jurisdiction": "US",
        "hosting": "abroad",
        "key_custody": "provider",
        "retention_days": 30,
        "training_use": False,
        "cross_border_basis": "contract",
    }
    korea = {
        "jurisdiction": "KR",
        "hosting": "kr-region",
        "key_custody": "byok",
        "retention_days": 0,
        "training_use": False,
    }
    return Settings(
        home=Path(ROOT / ".sumun-bench-policy"),
        providers=(
            {
                "name": "abroad",
                "kind": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "profile": abroad,
            },
            {
                "name": "korea",
                "kind": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "profile": korea,
            },
            {"name": "local", "kind": "demo"},
        ),
        routes=(
            RouteConfig(
                model="gpt",
                targets=(
                    RouteTarget(provider="abroad", model="a"),
                    RouteTarget(provider="korea", model="k"),
                    RouteTarget(provider="local", model="l"),
                ),
            ),
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    text = prompt_2kb()
    body = {
        "model": "gpt",
        "messages": [
            {"role": "system", "content": "상담 요약 도우미"},
            {"role": "user", "content": text},
        ],
    }
    admission = Admission(settings(), DEFAULT_POLICY)
    detector = Detector()
    texts = list(request_texts(body))
    findings = [detector.detect(t) for t in texts]
    engine = admission.engine
    profiles = admission._profiles  # the bench builds what decide() builds
    candidates = [Candidate(n, profiles[n]) for n in ("abroad", "korea", "local")]
    tenant = Tenant("t", False, None, None, None, None, None, 0.0)
    principal = Principal("k", "t", None, None, Role.USER)

    def decide_only() -> None:
        verdict = engine.decide(texts, findings, candidates)
        admission._transform(body, texts, verdict)

    def detect_only() -> None:
        for t in texts:
            detector.detect(t)

    route = settings().routes[0]

    def full_admission() -> None:
        admission.decide(principal, tenant, route, None, body)

    results = {}
    for name, fn, n in (
        ("decision (excl. detection)", decide_only, args.iterations),
        ("detection of the same prompt", detect_only, max(1, args.iterations // 10)),
        ("admission stage (detection + decision)", full_admission, max(1, args.iterations // 10)),
    ):
        for _ in range(min(1000, n)):
            fn()
        samples = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - t0)
        samples.sort()
        results[name] = {
            "p50_us": samples[len(samples) // 2] / 1000,
            "p99_us": samples[int(len(samples) * 0.99)] / 1000,
            "mean_us": statistics.fmean(samples) / 1000,
            "n": n,
        }
    verdict = engine.decide(texts, findings, candidates)
    out = {
        "prompt_bytes": len(text.encode()),
        "findings": sum(len(f) for f in findings),
        "decision": verdict.action,
        "steps": len(verdict.steps),
        "results": results,
        "target_p50_us": 100,
        "met": results["decision (excl. detection)"]["p50_us"] <= 100,
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(
        f"2 KB prompt ({out['prompt_bytes']} bytes, {out['findings']} findings, "
        f"decision {out['decision']} with {out['steps']} transforms), one core:"
    )
    for name, r in results.items():
        print(f"  {name:42s} p50 {r['p50_us']:8.1f} µs   p99 {r['p99_us']:8.1f} µs")
    print(f"target: decision p50 <= 100 µs — {'met' if out['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
