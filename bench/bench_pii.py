"""Sumun's Korean PII detector side by side with Microsoft Presidio, in one run.

    python bench/bench_pii.py [--quick] [--json] [--repeat 3] [--min-score 0.5]

Both see the same texts: every record of the two labelled corpora (`independent`, generated
from KOREA.md's rules without reading the detector, and `author`, written with it). Presidio
(presidio-analyzer 2.2.366, in its own venv bench/.venv-presidio, created on first use) runs in
a subprocess through bench/_presidio_runner.py: its Korean recognizers (RRN, FRN, BRN, driver
licence, passport) and the generic e-mail, IP, credit-card and phone (phonenumbers, region KR)
ones, called directly with `nlp_artifacts=None` because no spaCy model can be downloaded here
(see the runner's docstring for what that changes: nothing in the result set at Presidio's
default threshold of 0). Sumun runs in this process. Each is pinned to the same single core
(they run one after the other, passes interleaved) and timed over its analysis loop only,
best of `--repeat`; Presidio's interpreter start-up, imports and set-up are reported apart.

Reported: throughput in MB/s (UTF-8 bytes, 10^6) for both and the ratio (target: Sumun >= 50x
Presidio); per-type F1, exact span and type-correct overlap, for both (scoring shared with
bench/eval_pii.py); macro F1 over the types Presidio covers, and over all 15 types with
Presidio's recall 0 on the six it cannot detect at all (KR_CRN, BANK_ACCOUNT_KR, KR_ADDRESS,
KR_VEHICLE_PLATE, KR_POSTAL_CODE, KR_HEALTH_INSURANCE — Presidio has no health-insurance
recognizer, so nothing maps to it); hard-negative FP rate for both; and Sumun alone on mixed
Korean documents (~8 KB each, made by concatenating independent-corpus records).
`--quick` takes 300 records per corpus and one pass.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _venv import ensure_venv
from eval_pii import (
    CORPORA,
    TYPES,
    Record,
    Span,
    load_corpus,
    mixed_documents,
    pin_one_core,
    score,
    throughput,
)

ROOT = Path(__file__).resolve().parents[1]
PRESIDIO_VERSION = "2.2.366"
PRESIDIO_VENV = ROOT / "bench" / ".venv-presidio"
RUNNER = ROOT / "bench" / "_presidio_runner.py"
# Presidio entity name -> Sumun type
PRESIDIO_TYPES = {
    "KR_RRN": "KR_RRN",
    "KR_FRN": "KR_FRN",
    "KR_BRN": "KR_BRN",
    "KR_DRIVER_LICENSE": "KR_DRIVER_LICENSE",
    "KR_PASSPORT": "KR_PASSPORT",
    "EMAIL_ADDRESS": "EMAIL",
    "IP_ADDRESS": "IP_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "PHONE_NUMBER": "PHONE_KR",
}
COVERED = tuple(t for t in TYPES if t in PRESIDIO_TYPES.values())
NOT_COVERED = tuple(t for t in TYPES if t not in COVERED)
TARGET_RATIO = 50.0


def ensure_presidio() -> Path | None:
    """Presidio in its own venv (bench only; never a Sumun dependency)."""
    exe = PRESIDIO_VENV / "bin" / "python"

    def ready() -> bool:
        probe = [str(exe), "-c", "import presidio_analyzer"]
        return (
            exe.exists() and subprocess.run(probe, check=False, capture_output=True).returncode == 0
        )

    ok = ensure_venv(PRESIDIO_VENV, [f"presidio-analyzer=={PRESIDIO_VERSION}"], ready)
    return exe if ok else None


def run_presidio(
    exe: Path, records: list[Record], *, repeat: int, cpu: int | None
) -> dict[str, Any]:
    """Presidio's findings (mapped to Sumun's types) and timings, from the runner subprocess."""
    stdin = "".join(
        json.dumps({"id": r.id, "text": r.text}, ensure_ascii=False) + "\n" for r in records
    )
    argv = [str(exe), str(RUNNER), "--repeat", str(repeat)]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"Presidio runner failed: {proc.stderr.strip()[-800:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    out["wall_s"] = wall
    out["predictions"] = [
        [Span(PRESIDIO_TYPES[t], s, e, sc) for t, s, e, sc in found if t in PRESIDIO_TYPES]
        for found in out.pop("results")
    ]
    return out


def sumun_pass(records: list[Record], det: Any) -> tuple[float, list[list[Span]]]:
    """One timed pass of Sumun's detector over the records: (seconds, findings)."""
    texts = [r.text for r in records]
    t0 = time.perf_counter()
    found = [det.detect(t) for t in texts]
    took = time.perf_counter() - t0
    return took, [[Span(f.type, f.start, f.end, f.score) for f in fs] for fs in found]


def _f1(res: dict[str, Any], t: str, mode: str) -> float:
    return float(res["types"][t][mode]["f1"])


def _macro(res: dict[str, Any], types: tuple[str, ...], mode: str) -> float:
    return round(sum(_f1(res, t, mode) for t in types) / len(types), 4)


def compare(
    records: list[Record], *, exe: Path | None, repeat: int, cpu: int | None, min_score: float
) -> dict[str, Any]:
    from sumun.policy.pii import Detector

    det = Detector(min_score=min_score)
    size = sum(len(r.text.encode()) for r in records)
    # Interleaved passes (Sumun, then a Presidio process), best of `repeat` each, so that a
    # change of load on this shared machine hits both sides alike.
    s_best, p_best = float("inf"), float("inf")
    s_pred: list[list[Span]] = []
    pres: dict[str, Any] = {}
    for i in range(repeat):
        took, pred = sumun_pass(records, det)
        s_best = min(s_best, took)
        s_pred = s_pred or pred
        if exe is not None:
            run = run_presidio(exe, records, repeat=1, cpu=cpu)
            p_best = min(p_best, run["analysis_s"][0])
            if i == 0:
                pres = run
    s_all = score(records, s_pred)
    out: dict[str, Any] = {
        "records": len(records),
        "bytes": size,
        "sumun": {
            "mb_s": round(size / s_best / 1e6, 3),
            "types": s_all["types"],
            "hard_negative_fp_rate": s_all["hard_negatives"]["fp_rate"],
        },
    }
    if exe is None:
        return out
    p_all = score(records, pres["predictions"])
    p_mb_s = size / p_best / 1e6
    out["presidio"] = {
        "version": pres["presidio_analyzer"],
        "phonenumbers": pres["phonenumbers"],
        "mb_s": round(p_mb_s, 4),
        "import_s": pres["import_s"],
        "init_s": pres["init_s"],
        "process_wall_s": round(pres["wall_s"], 3),
        "types": p_all["types"],
        "hard_negative_fp_rate": p_all["hard_negatives"]["fp_rate"],
    }
    out["ratio"] = round(p_best / s_best, 1)
    out["macro_f1"] = {
        f"{who}_{scope}_{mode}": _macro(res, types, mode)
        for who, res in (("sumun", s_all), ("presidio", p_all))
        for scope, types in (("covered", COVERED), ("all", TYPES))
        for mode in ("exact", "overlap")
    }
    return out


def format_corpus(name: str, res: dict[str, Any]) -> str:
    s = res["sumun"]
    lines = [f"== {name}: {res['records']} records, {res['bytes'] / 1e6:.2f} MB of text"]
    if "presidio" not in res:
        lines.append(f"Sumun {s['mb_s']:.2f} MB/s (Presidio not available)")
        return "\n".join(lines)
    p = res["presidio"]
    lines.append(
        f"throughput, 1 core: Sumun {s['mb_s']:.2f} MB/s, Presidio {p['mb_s']:.3f} MB/s → "
        f"{res['ratio']}x (target >= {TARGET_RATIO:.0f}x: "
        f"{'met' if res['ratio'] >= TARGET_RATIO else 'NOT met'}); Presidio start-up: import "
        f"{p['import_s']:.2f} s, set-up {p['init_s']:.2f} s, process {p['process_wall_s']:.1f} s"
    )
    lines.append(f"{'type':<18} {'n':>5} | F1 exact  Sumun Presidio | F1 overlap  Sumun Presidio")
    for t in TYPES:
        n = s["types"][t]["support"]
        pe = f"{_f1(p, t, 'exact'):8.3f}" if t in COVERED else "       —"
        po = f"{_f1(p, t, 'overlap'):8.3f}" if t in COVERED else "       —"
        lines.append(
            f"{t:<18} {n:>5} |        {_f1(s, t, 'exact'):6.3f} {pe} |          "
            f"{_f1(s, t, 'overlap'):6.3f} {po}"
        )
    m = res["macro_f1"]
    for scope, label in (("covered", "macro, 9 covered"), ("all", f"macro, all {len(TYPES)}")):
        lines.append(
            f"{label:<24} |        {m[f'sumun_{scope}_exact']:6.3f} "
            f"{m[f'presidio_{scope}_exact']:8.3f} |          {m[f'sumun_{scope}_overlap']:6.3f} "
            f"{m[f'presidio_{scope}_overlap']:8.3f}"
        )
    lines.append(
        f"hard-negative FP rate: Sumun {s['hard_negative_fp_rate']:.2%}, "
        f"Presidio {p['hard_negative_fp_rate']:.2%}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Sumun vs Presidio: Korean PII accuracy and speed")
    ap.add_argument("--quick", action="store_true", help="300 records per corpus, one pass")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    cpu = pin_one_core()
    exe = ensure_presidio()
    result: dict[str, Any] = {
        "cpu": cpu,
        "repeat": repeat,
        "quick": args.quick,
        "min_score": args.min_score,
        "presidio_not_covered": list(NOT_COVERED),
        "corpora": {},
    }
    independent: list[Record] = []
    for name, path in CORPORA.items():
        records = load_corpus(path)
        if name == "independent":
            independent = records
        if args.quick:
            records = records[:300]
        res = compare(records, exe=exe, repeat=repeat, cpu=cpu, min_score=args.min_score)
        result["corpora"][name] = res
        if not args.json:
            print(format_corpus(name, res), flush=True)

    from sumun.policy.pii import Detector

    docs = mixed_documents(independent, n_docs=50 if args.quick else 200)
    det = Detector(min_score=args.min_score)
    result["sumun_mixed_8kb"] = {
        "documents": len(docs),
        "mb": round(sum(len(d.encode()) for d in docs) / 1e6, 3),
        "mb_s": round(throughput(docs, det.detect, repeat=repeat), 2),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        mx = result["sumun_mixed_8kb"]
        print(
            f"Sumun alone, mixed Korean documents ({mx['documents']} x ~8 KB, {mx['mb']} MB): "
            f"{mx['mb_s']} MB/s on one core"
        )
        if exe is not None:
            print(
                f"Presidio cannot detect at all: {', '.join(NOT_COVERED)} "
                f"(recall 0 in 'all {len(TYPES)}')"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
