"""Classification by formal marking, measured both ways, against the old word rule.

    python bench/eval_classify.py [--seed 14] [--errors N] [--iterations 20000] [--json]

Corpora (tests/data/classify/make_corpus.py, generated with the seed):
- running text: ordinary business Korean and English with 비밀 / secret / 대외비 / confidential …
  as words (password resets, NDAs, recipes, 영업비밀, 대외비용, questions about the grades). No
  record is a marking: every C is a false C (target 0), every S a false S.
- marked documents: marking lines, headers and footers, tags, tables, labelled fields, stated
  grades, in varied spacing and width. Recall = the class found equals the marked class
  (target >= 0.99), per form.
The same figures are computed for the old rule (every match of the built-in words counts,
wherever it stands) so the change can be read off one table.

Timing: `MarkerSet.find` on a 2 KB Korean prompt (the bench_policy.py prompt, no marking words:
the prefilter decides), a 2 KB English one, and a 1.4 KB text dense with the words in running
text (every hit goes to the placement check); p50 over `--iterations`, one core, new and old.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.bench_policy import prompt_2kb  # noqa: E402
from tests.data.classify.make_corpus import marked_documents, running_text  # noqa: E402

from sumun.policy.classes import DataClass  # noqa: E402
from sumun.policy.classify import DEFAULT_MARKERS, Marker, MarkerSet, classify  # noqa: E402

# The rule before issue 14: the words themselves, wherever they stand.
OLD_WORD_MARKERS: tuple[Marker, ...] = (
    Marker(
        r"(?:Ⅰ|Ⅱ|Ⅲ|III|II|I|[1-3])\s?급\s?비밀", DataClass.CLASSIFIED, "class.marker.graded-secret"
    ),
    Marker(r"(?<![가-힣])비밀(?![번])", DataClass.CLASSIFIED, "class.marker.secret-ko"),
    Marker(r"\bTOP\s+SECRET\b|\bSECRET\b", DataClass.CLASSIFIED, "class.marker.secret-en"),
    Marker(r"대외비", DataClass.SENSITIVE, "class.marker.not-for-release"),
    Marker(r"내부용|내부\s?한정", DataClass.SENSITIVE, "class.marker.internal"),
    Marker(r"\bCONFIDENTIAL\b", DataClass.SENSITIVE, "class.marker.confidential"),
)

ENGLISH_2KB = (
    "Hello team, following up on last week's ticket about the loan repayment schedule. The new "
    "rate applies from the 15th of next month and we need the employment certificate and the "
    "income statement before then. "
) * 12
WORDY = (
    "비밀번호를 잊어버렸어요. 비밀유지계약서 검토 부탁드립니다. "
    "the secret to a good kimchi is time. "
) * 12


def evaluate(markers: MarkerSet, seed: int, errors: int) -> dict[str, Any]:
    prose = running_text(seed)
    marked = marked_documents(seed)
    found_prose = [classify([r["text"]], markers=markers).data_class for r in prose]
    false_c = [r for r, c in zip(prose, found_prose, strict=True) if c is DataClass.CLASSIFIED]
    false_s = [r for r, c in zip(prose, found_prose, strict=True) if c is DataClass.SENSITIVE]
    by_form: Counter[str] = Counter()
    right_by_form: Counter[str] = Counter()
    missed = []
    for r in marked:
        got = classify([r["text"]], markers=markers).data_class.value
        by_form[r["form"]] += 1
        if got == r["class"]:
            right_by_form[r["form"]] += 1
        else:
            missed.append({**r, "got": got})
    return {
        "running_text": len(prose),
        "false_c": len(false_c),
        "false_c_rate": len(false_c) / len(prose),
        "false_s": len(false_s),
        "false_s_rate": len(false_s) / len(prose),
        "false_c_topics": dict(Counter(r["topic"] for r in false_c)),
        "marked": len(marked),
        "recall": (len(marked) - len(missed)) / len(marked),
        "recall_by_form": {f: right_by_form[f] / n for f, n in sorted(by_form.items())},
        "examples_false_c": [r["text"] for r in false_c[:errors]],
        "examples_missed": [
            {"form": m["form"], "term": m["term"], "got": m["got"], "text": m["text"][:120]}
            for m in missed[:errors]
        ],
    }


def timing(markers: MarkerSet, iterations: int) -> dict[str, float]:
    out = {}
    for name, text in (
        ("ko_2kb_p50_us", prompt_2kb()),
        ("en_2kb_p50_us", ENGLISH_2KB[:2048]),
        ("wordy_1k4_p50_us", WORDY[:1400]),
    ):
        for _ in range(min(1000, iterations)):
            markers.find(text)
        samples = []
        for _ in range(iterations):
            t0 = time.perf_counter_ns()
            markers.find(text)
            samples.append(time.perf_counter_ns() - t0)
        samples.sort()
        out[name] = samples[len(samples) // 2] / 1000
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--errors", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    report = {}
    for name, markers in (
        ("marking", MarkerSet(DEFAULT_MARKERS)),
        ("old-word-rule", MarkerSet(OLD_WORD_MARKERS)),
    ):
        report[name] = evaluate(markers, args.seed, args.errors)
        report[name]["timing"] = timing(markers, args.iterations)
    new = report["marking"]
    report["met"] = new["false_c"] == 0 and new["recall"] >= 0.99
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    for name, r in report.items():
        if not isinstance(r, dict):
            continue
        t = r["timing"]
        print(f"{name}:")
        print(
            f"  running text  {r['running_text']} sentences: false C {r['false_c']} "
            f"({r['false_c_rate']:.2%}), false S {r['false_s']} ({r['false_s_rate']:.2%})"
        )
        if r["false_c_topics"]:
            print(f"    false C by topic: {r['false_c_topics']}")
        print(f"  marked docs   {r['marked']}: recall {r['recall']:.4f}")
        print("    by form: " + ", ".join(f"{f} {v:.3f}" for f, v in r["recall_by_form"].items()))
        print(
            f"  find p50: ko 2 KB {t['ko_2kb_p50_us']:.1f} µs, en 2 KB {t['en_2kb_p50_us']:.1f} µs,"
            f" word-dense 1.4 KB {t['wordy_1k4_p50_us']:.1f} µs"
        )
        for text in r["examples_false_c"]:
            print(f"    false C: {text[:100]!r}")
        for m in r["examples_missed"]:
            print(f"    missed {m['form']}/{m['term']} -> {m['got']}: {m['text'][:90]!r}")
    print(
        "targets: false C 0 on running text, recall >= 0.99 on marked documents — "
        + ("met" if report["met"] else "NOT met")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
