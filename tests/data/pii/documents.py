"""Document workloads for the PII detector, shared by the benchmarks and the golden test.

- `prose_documents`: ~8 KB of Korean business prose with a corpus record after ~40 % of the
  paragraphs (one identifier every ~650 bytes) — "mixed documents" in bench/README.md;
- `record_documents`: corpus records only, shuffled and joined by blank lines into ~8 KB
  documents (identifier-dense).
Both are seeded: the same texts give the same documents, byte for byte.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = ["PROSE", "prose_documents", "record_documents"]

PROSE = (
    "안녕하세요. 지난주에 요청하신 분기 보고서 초안을 공유드립니다. "
    "매출은 전년 대비 소폭 증가했으며, 신규 고객 유입은 주로 온라인 채널에서 발생했습니다. "
    "다음 회의에서는 마케팅 예산 조정과 인력 충원 계획을 논의하고자 합니다. "
    "The summary below lists the open action items for the team. "
    "각 항목의 담당자와 마감일을 확인해 주시고, 변경 사항이 있으면 회신 부탁드립니다. "
)


def prose_documents(
    texts: Sequence[str], *, n_docs: int = 400, doc_bytes: int = 8192, seed: int = 7
) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        parts: list[str] = []
        size = 0
        while size < doc_bytes:
            parts.append(PROSE)
            size += len(PROSE.encode())
            if rng.random() < 0.4:
                parts.append(rng.choice(texts) + " ")
                size += len(parts[-1].encode())
        docs.append("".join(parts))
    return docs


def record_documents(
    texts: Sequence[str], *, n_docs: int = 200, doc_bytes: int = 8192, seed: int = 7
) -> list[str]:
    rng = random.Random(seed)
    order: list[str] = []
    docs: list[str] = []
    while len(docs) < n_docs:
        parts: list[str] = []
        size = 0
        while size < doc_bytes:
            if not order:
                order = list(texts)
                rng.shuffle(order)
            parts.append(order.pop())
            size += len(parts[-1].encode()) + 2
        docs.append("\n\n".join(parts))
    return docs
