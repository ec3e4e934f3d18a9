"""`sumun pii detect`: the PII detector as a JSON Lines filter (CONTRACTS.md).

stdin: one `{"id": str, "text": str}` per line. stdout: one `{"id", "entities": [{"type",
"start", "end", "score"}]}` per input line, in input order; offsets are code-point indices into
`text`, end exclusive. A malformed line yields `{"id": …, "error": "…"}` (id null when it cannot
be read) and processing continues; blank lines are skipped. Exit 0 unless the options are wrong.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, BinaryIO

import orjson
import typer

from sumun.policy.pii import Detector

__all__ = ["app", "detect_lines"]

app = typer.Typer(help="Personal-data detection for Korean text.", no_args_is_help=True)


def _entities(detector: Detector, text: str) -> list[dict[str, Any]]:
    return [f.to_json() for f in detector.detect(text)]


def _handle(detector: Detector, raw: bytes) -> dict[str, Any]:
    """The output object for one input line; never raises for bad input."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return {"id": None, "error": f"invalid JSON: {exc}"}
    if not isinstance(doc, dict):
        return {"id": None, "error": "expected a JSON object with 'id' and 'text'"}
    ident = doc.get("id")
    if not isinstance(ident, str):
        return {"id": None, "error": "'id' must be a string"}
    text = doc.get("text")
    if not isinstance(text, str):
        return {"id": ident, "error": "'text' must be a string"}
    return {"id": ident, "entities": _entities(detector, text)}


def detect_lines(detector: Detector, lines: BinaryIO, out: BinaryIO, *, flush: bool) -> int:
    """Run the protocol over `lines`, writing to `out`; returns the number of lines answered."""
    count = 0
    for raw in lines:
        if not raw.strip():
            continue
        out.write(orjson.dumps(_handle(detector, raw)) + b"\n")
        if flush:
            out.flush()
        count += 1
    out.flush()
    return count


@app.callback()
def _pii() -> None:
    """Personal-data detection for Korean text."""


@app.command()
def detect(
    min_score: Annotated[
        float,
        typer.Option("--min-score", min=0.0, max=1.0, help="drop findings scored below this"),
    ] = 0.5,
) -> None:
    """Read {"id", "text"} JSON Lines on stdin; write {"id", "entities"} JSON Lines to stdout."""
    detector = Detector(min_score=min_score)
    stdout = sys.stdout.buffer
    detect_lines(detector, sys.stdin.buffer, stdout, flush=not stdout.seekable())
