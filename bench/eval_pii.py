"""Accuracy and throughput of the Korean PII detector on the labelled corpus.

    python bench/eval_pii.py [--corpus tests/data/pii/corpus.jsonl] [--min-score 0.5] [--json]

Per type: precision, recall and F1, strict (same type, exact span) and relaxed (same type,
overlapping span). Hard negatives: the share of marked negative spans that any finding overlaps.
Throughput: MB/s (UTF-8 bytes) on one core, single thread, for three inputs: the corpus
records themselves (~150-byte texts, 1-3 identifiers each: per-call overhead dominates); mixed
documents (8 KB of Korean/English prose with a corpus record — identifiers and hard negatives —
inserted after ~40 % of the ~700-byte paragraphs, i.e. about one number every 650 bytes); and the
same prose with no identifiers at all.
Targets (issue): F1 >= 0.97 checksum/fixed-format types, >= 0.90 bank account and address;
hard-negative FP <= 1 %; >= 50 MB/s per core.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sumun.policy.pii import Detector

ROOT = Path(__file__).resolve().parents[1]
PROSE = (
    "안녕하세요. 지난주에 요청하신 분기 보고서 초안을 공유드립니다. "
    "매출은 전년 대비 소폭 증가했으며, 신규 고객 유입은 주로 온라인 채널에서 발생했습니다. "
    "다음 회의에서는 마케팅 예산 조정과 인력 충원 계획을 논의하고자 합니다. "
    "The summary below lists the open action items for the team. "
    "각 항목의 담당자와 마감일을 확인해 주시고, 변경 사항이 있으면 회신 부탁드립니다. "
)


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["start"] < b["end"] and b["start"] < a["end"])


def evaluate(records: list[dict[str, Any]], det: Detector) -> dict[str, Any]:  # noqa: PLR0912
    tp: dict[str, Counter[str]] = {"strict": Counter(), "relaxed": Counter()}
    fp: dict[str, Counter[str]] = {"strict": Counter(), "relaxed": Counter()}
    fn: dict[str, Counter[str]] = {"strict": Counter(), "relaxed": Counter()}
    neg_total = neg_hit = 0
    neg_kinds: Counter[str] = Counter()
    for rec in records:
        preds: list[dict[str, Any]] = [f.to_json() for f in det.detect(rec["text"])]
        gold = rec["entities"]
        for mode in ("strict", "relaxed"):
            used: set[int] = set()
            for p in preds:
                match = None
                for i, g in enumerate(gold):
                    if i in used or g["type"] != p["type"]:
                        continue
                    same = (g["start"], g["end"]) == (p["start"], p["end"])
                    if same or (mode == "relaxed" and _overlap(g, p)):
                        match = i
                        break
                if match is None:
                    fp[mode][p["type"]] += 1
                else:
                    used.add(match)
                    tp[mode][p["type"]] += 1
            for i, g in enumerate(gold):
                if i not in used:
                    fn[mode][g["type"]] += 1
        for neg in rec["negatives"]:
            neg_total += 1
            if any(_overlap(neg, p) for p in preds):
                neg_hit += 1
                neg_kinds[neg["kind"]] += 1
    types = sorted(set(tp["relaxed"]) | set(fn["relaxed"]) | set(fp["relaxed"]))
    table: dict[str, dict[str, dict[str, float]]] = {}
    for t in types:
        row: dict[str, dict[str, float]] = {}
        for mode in ("strict", "relaxed"):
            a, b, c = tp[mode][t], fp[mode][t], fn[mode][t]
            prec = a / (a + b) if a + b else 0.0
            recall = a / (a + c) if a + c else 0.0
            f1 = 2 * prec * recall / (prec + recall) if prec + recall else 0.0
            row[mode] = {
                "precision": round(prec, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "tp": a,
                "fp": b,
                "fn": c,
            }
        table[t] = row
    return {
        "types": table,
        "hard_negatives": neg_total,
        "hard_negative_fp": neg_hit,
        "hard_negative_fp_rate": round(neg_hit / neg_total, 4) if neg_total else 0.0,
        "hard_negative_fp_kinds": dict(neg_kinds),
    }


def throughput(texts: list[str], det: Detector, *, repeat: int = 3) -> float:
    size = sum(len(t.encode()) for t in texts)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for t in texts:
            det.detect(t)
        best = min(best, time.perf_counter() - t0)
    return size / best / 1e6


def prose_docs(records: list[dict[str, Any]], n_docs: int = 400, doc_kb: int = 8) -> list[str]:
    rng = random.Random(7)
    docs = []
    for _ in range(n_docs):
        parts: list[str] = []
        while sum(len(p.encode()) for p in parts) < doc_kb * 1024:
            parts.append(PROSE)
            if rng.random() < 0.4:
                parts.append(rng.choice(records)["text"] + " ")
        docs.append("".join(parts))
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description="PII detector accuracy and throughput")
    ap.add_argument("--corpus", type=Path, default=ROOT / "tests/data/pii/corpus.jsonl")
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    records = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines()]
    det = Detector(min_score=args.min_score)
    result = evaluate(records, det)
    corpus_texts = [r["text"] for r in records] * 4
    result["mb_per_s_corpus"] = round(throughput(corpus_texts, det), 1)
    result["mb_per_s_mixed"] = round(throughput(prose_docs(records), det), 1)
    result["mb_per_s_prose"] = round(throughput([PROSE * 12] * 400, det), 1)
    result["records"] = len(records)
    result["entities"] = sum(len(r["entities"]) for r in records)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"{len(records)} records, {result['entities']} entities, "
          f"{result['hard_negatives']} hard negatives")  # fmt: skip
    print(
        f"{'type':<18} {'P':>6} {'R':>6} {'F1':>6} | relaxed {'P':>6} {'R':>6} {'F1':>6}  tp/fp/fn"
    )
    for t, row in result["types"].items():
        s, r = row["strict"], row["relaxed"]
        print(f"{t:<18} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} |         "
              f"{r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f}  "
              f"{s['tp']}/{s['fp']}/{s['fn']}")  # fmt: skip
    print(
        f"hard-negative FP rate: {result['hard_negative_fp_rate']:.2%} "
        f"({result['hard_negative_fp']}/{result['hard_negatives']}) "
        f"{result['hard_negative_fp_kinds']}"
    )
    print(
        f"throughput (1 core): corpus records {result['mb_per_s_corpus']} MB/s, "
        f"mixed documents {result['mb_per_s_mixed']} MB/s, "
        f"prose without identifiers {result['mb_per_s_prose']} MB/s"
    )


if __name__ == "__main__":
    main()
