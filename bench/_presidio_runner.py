"""Run Microsoft Presidio's recognizers over JSON Lines texts (bench/bench_pii.py's helper).

    bench/.venv-presidio/bin/python bench/_presidio_runner.py [--repeat 3] [--cpu N] < in.jsonl

Runs inside bench/.venv-presidio (presidio-analyzer only; it never imports Sumun). stdin: one
`{"id", "text"}` object per line. stdout: one JSON object with the Presidio version, the import
and set-up times, the analysis time of each pass over all texts (best first), the UTF-8 size,
and per input line the findings `[type, start, end, score]` of the first pass.

No spaCy model can be downloaded here, so there is no AnalyzerEngine/NLP pipeline: the
recognizers are built directly and called with `nlp_artifacts=None`, which is how a pattern
recognizer runs without NLP. Consequences, stated so nobody mistakes them for Sumun's doing:
- no context-word score boosting (it only raises scores; with AnalyzerEngine's default
  score_threshold of 0 the *set* of results is the same, and that set is what is returned);
- overlapping duplicates are removed with Presidio's own `EntityRecognizer.remove_duplicates`,
  as AnalyzerEngine does.
The e-mail recognizer validates TLDs with tldextract, which would fetch the public suffix list
over the network on first use; it is pointed at tldextract's bundled snapshot instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any


def _recognizers() -> list[Any]:
    from presidio_analyzer.predefined_recognizers import (  # type: ignore[import-not-found]
        CreditCardRecognizer,
        EmailRecognizer,
        IpRecognizer,
        KrBrnRecognizer,
        KrDriverLicenseRecognizer,
        KrFrnRecognizer,
        KrPassportRecognizer,
        KrRrnRecognizer,
        PhoneRecognizer,
    )

    return [
        KrRrnRecognizer(),
        KrFrnRecognizer(),
        KrBrnRecognizer(),
        KrDriverLicenseRecognizer(),
        KrPassportRecognizer(),
        EmailRecognizer(),
        IpRecognizer(),
        CreditCardRecognizer(),
        PhoneRecognizer(supported_regions=("KR",), supported_language="ko"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    args = ap.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    texts = [json.loads(line)["text"] for line in sys.stdin if line.strip()]

    t0 = time.perf_counter()
    import tldextract  # type: ignore[import-not-found]

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())  # offline snapshot
    from importlib.metadata import version

    from presidio_analyzer import EntityRecognizer  # type: ignore[import-not-found]

    t1 = time.perf_counter()
    recognizers = _recognizers()
    for r in recognizers:  # warm-up: lazy regex compilation and phonenumbers metadata
        r.analyze("warm-up 010-1234-5678 a@b.com", entities=r.supported_entities)
    t2 = time.perf_counter()

    runs: list[float] = []
    results: list[list[list[Any]]] = []
    for i in range(args.repeat):
        out: list[list[list[Any]]] = []
        start = time.perf_counter()
        for text in texts:
            found = []
            for r in recognizers:
                found.extend(r.analyze(text, entities=r.supported_entities, nlp_artifacts=None))
            found = EntityRecognizer.remove_duplicates(found)
            out.append([[f.entity_type, f.start, f.end, round(f.score, 4)] for f in found])
        runs.append(time.perf_counter() - start)
        if i == 0:
            results = out
    json.dump(
        {
            "presidio_analyzer": version("presidio-analyzer"),
            "phonenumbers": version("phonenumbers"),
            "import_s": round(t1 - t0, 4),
            "init_s": round(t2 - t1, 4),
            "analysis_s": sorted(runs),
            "bytes": sum(len(t.encode()) for t in texts),
            "results": results,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
