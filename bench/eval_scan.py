"""Detection quality of `sumun scan` on the labelled corpus (tests/data/scan, every generator).

    python bench/eval_scan.py [--json] [--workers N]

Per category (the generator: pickle, formats, code): samples; malicious samples flagged
critical/high and missed; benign samples wrongly flagged critical/high (false positives);
broken samples that got a medium/info `.parse-error`; samples where an analyzer crashed.
Goal (issue 6): every malicious sample flagged, no false positive, every broken sample a
parse error, no crash.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.data.scan.make_corpus import Outcome, build, evaluate  # noqa: E402

from sumun.scan.engine import scan  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sumun-eval-scan-") as raw:
        root = Path(raw)
        samples = build(root)
        started = time.perf_counter()
        result = scan(root, workers=args.workers)
        seconds = time.perf_counter() - started
    outcomes = evaluate(samples, result.findings)
    if args.json:
        doc = {name: asdict(o) for name, o in outcomes.items()}
        print(json.dumps({"categories": doc, "seconds": round(seconds, 3)}, indent=2))
    else:
        _print(outcomes, seconds, result.files)
    total = outcomes["total"]
    ok = not (total.missed or total.false or total.unhandled or total.crashed)
    return 0 if ok else 1


def _print(outcomes: dict[str, Outcome], seconds: float, files: int) -> None:
    print(f"Scanner corpus evaluation — {files} files scanned in {seconds:.2f} s")
    head = ("samples", "malicious", "flagged", "missed", "benign", "false pos", "broken", "parsed")
    print(f"  {'category':10} " + " ".join(f"{h:>9}" for h in head) + f" {'crashed':>9}")
    order = [*sorted(k for k in outcomes if k != "total"), "total"]
    for name in order:
        o = outcomes[name]
        cells = (o.samples, o.malicious, o.flagged, len(o.missed), o.benign)
        cells += (o.false_positives, o.broken, o.parse_errors, len(o.crashed))
        print(f"  {name:10} " + " ".join(f"{c:>9}" for c in cells))
    total = outcomes["total"]
    for title, items in (
        ("missed (malicious, not critical/high)", total.missed),
        ("false positives (benign, critical/high)", total.false),
        ("broken without a parse error", total.unhandled),
        ("analyzer crashed", total.crashed),
    ):
        if items:
            print(f"  {title}:")
            for item in items:
                print(f"    {item}")


if __name__ == "__main__":
    sys.exit(main())
