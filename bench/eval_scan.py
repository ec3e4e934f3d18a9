"""Detection quality of `sumun scan` on the labelled corpus (tests/data/scan, every generator).

    python bench/eval_scan.py [--json] [--workers N]

Per category (the generator: pickle, formats, code): samples; malicious samples flagged
critical/high and missed; benign samples wrongly flagged critical/high (false positives);
broken samples that got a medium/info `.parse-error`; samples where an analyzer crashed.
Goal (issue 6): every malicious sample flagged, no false positive, every broken sample a
parse error, no crash.

Per technique: a generator that lists `FAMILIES` (gen_misses: TF SavedModel, Keras JSON,
Archive traversal, ONNX external data — issue 17) gets one row per family, its samples being
those whose technique starts with `<family>:`; `--techniques` adds one row per technique string
of every generator (each technique names its public source).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.data.scan.make_corpus import (  # noqa: E402
    Outcome,
    Sample,
    build,
    evaluate,
    generators,
)

from sumun.scan.engine import scan  # noqa: E402
from sumun.scan.model import Finding  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--techniques", action="store_true", help="also one row per technique of every generator"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sumun-eval-scan-") as raw:
        root = Path(raw)
        samples = build(root)
        started = time.perf_counter()
        result = scan(root, workers=args.workers)
        seconds = time.perf_counter() - started
    outcomes = evaluate(samples, result.findings)
    families = by_technique(samples, result.findings, every=args.techniques)
    if args.json:
        doc = {name: asdict(o) for name, o in outcomes.items()}
        techniques = {name: asdict(o) for name, o in families.items()}
        out = {"categories": doc, "techniques": techniques, "seconds": round(seconds, 3)}
        print(json.dumps(out, indent=2))
    else:
        _print(outcomes, seconds, result.files)
        _print_techniques(families)
    total = outcomes["total"]
    ok = not (total.missed or total.false or total.unhandled or total.crashed)
    return 0 if ok else 1


def _families() -> dict[str, tuple[str, ...]]:
    """Category (generator folder) -> the technique families its generator declares."""
    out: dict[str, tuple[str, ...]] = {}
    for name in generators():
        module = importlib.import_module(f"tests.data.scan.{name}")
        declared = getattr(module, "FAMILIES", ())
        if declared:
            out[name.removeprefix("gen_")] = tuple(declared)
    return out


def by_technique(
    samples: list[Sample], findings: list[Finding], *, every: bool
) -> dict[str, Outcome]:
    """One `Outcome` per declared technique family ("misses / TF SavedModel"), and with `every`
    one per technique string ("pickle / <technique>")."""
    groups: dict[str, list[Sample]] = {}
    declared = _families()
    for sample in samples:
        path, _, technique = sample
        category = path.split("/", 1)[0]
        for family in declared.get(category, ()):
            if technique.startswith(family + ":"):
                groups.setdefault(f"{category} / {family}", []).append(sample)
        if every:
            groups.setdefault(f"{category} / {technique}", []).append(sample)
    return {key: evaluate(group, findings)["total"] for key, group in groups.items()}


def _print_techniques(families: dict[str, Outcome]) -> None:
    if not families:
        return
    print("  per technique (malicious flagged critical/high; benign flagged = false positive):")
    width = min(72, max(len(k) for k in families))
    for name, o in families.items():
        cells = f"{o.flagged}/{o.malicious} flagged, {o.false_positives}/{o.benign} false pos"
        cells += f", {o.parse_errors}/{o.broken} parsed"
        print(f"    {name[:width]:{width}}  {cells}")


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
