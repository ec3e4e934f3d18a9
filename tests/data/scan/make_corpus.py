"""The scanner's whole labelled corpus: every `tests/data/scan/gen_*.py`, each in its own folder.

    python tests/data/scan/make_corpus.py OUT_DIR     # writes the corpus, prints the counts

`build(root)` runs `gen_pickle.generate(root / "pickle")`, `gen_formats.generate(root /
"formats")`, `gen_code.generate(root / "code")` — whichever generators exist — and returns
their samples with paths relative to `root`. Samples are `(path, label, technique)` with
label `malicious` (must end critical/high), `benign` (no critical/high) or `broken` (a
`.parse-error` finding of severity medium or info, never a crash). Everything is generated as
bytes; nothing is ever loaded.
"""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sumun.scan.model import Finding, Severity

__all__ = ["LABELS", "Outcome", "Sample", "build", "evaluate", "generators"]

Sample = tuple[str, str, str]
LABELS = ("malicious", "benign", "broken")
HERE = Path(__file__).resolve().parent


def generators() -> list[str]:
    """Names of the generator modules present (`gen_code`, `gen_formats`, `gen_pickle`)."""
    return sorted(p.stem for p in HERE.glob("gen_*.py"))


def build(root: Path) -> list[Sample]:
    samples: list[Sample] = []
    for name in generators():
        module = importlib.import_module(f"tests.data.scan.{name}")
        folder = name.removeprefix("gen_")
        target = root / folder
        target.mkdir(parents=True, exist_ok=True)
        for path, label, technique in module.generate(target):
            if label not in LABELS:
                raise ValueError(f"{name}: unknown label {label!r} for {path}")
            samples.append((f"{folder}/{path}", label, technique))
    return samples


@dataclass(slots=True)
class Outcome:
    """How the scan did on one category (a generator folder) of the corpus."""

    samples: int = 0
    malicious: int = 0
    flagged: int = 0  # malicious with a critical/high finding
    benign: int = 0
    false_positives: int = 0  # benign with a critical/high finding
    broken: int = 0
    parse_errors: int = 0  # broken with a medium/info `.parse-error`
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)  # any `scan.analyzer-error`


def _on(path: str, findings: Iterable[Finding]) -> list[Finding]:
    """Findings about a sample: the file itself, or anything inside it (folder samples)."""
    return [f for f in findings if f.path == path or f.path.startswith(path.rstrip("/") + "/")]


def evaluate(samples: Iterable[Sample], findings: Iterable[Finding]) -> dict[str, Outcome]:
    """Per category (first path segment) and `total`: the corpus goal, sample by sample."""
    every = list(findings)
    outcomes: dict[str, Outcome] = {}
    for path, label, technique in samples:
        mine = _on(path, every)
        severe = any(f.severity >= Severity.HIGH for f in mine)
        parse = any(
            f.rule.endswith(".parse-error") and f.severity in (Severity.MEDIUM, Severity.INFO)
            for f in mine
        )
        crash = any(f.rule == "scan.analyzer-error" for f in mine)
        for key in (path.split("/", 1)[0], "total"):
            out = outcomes.setdefault(key, Outcome())
            out.samples += 1
            note = f"{path} ({technique})"
            if crash:
                out.crashed.append(note)
            if label == "malicious":
                out.malicious += 1
                out.flagged += severe
                if not severe:
                    out.missed.append(note)
            elif label == "benign":
                out.benign += 1
                out.false_positives += severe
                if severe:
                    out.false.append(note)
            else:
                out.broken += 1
                out.parse_errors += parse
                if not parse:
                    out.unhandled.append(note)
    return outcomes


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    samples = build(Path(argv[0]))
    counts = Counter((path.split("/", 1)[0], label) for path, label, _ in samples)
    for (folder, label), n in sorted(counts.items()):
        print(f"{folder:10} {label:10} {n}")
    print(f"{'total':10} {'':10} {len(samples)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[2]))
    sys.exit(main(sys.argv[1:]))
