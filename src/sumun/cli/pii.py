"""`sumun pii detect`: the PII detector as a JSON Lines filter (CONTRACTS.md), or on plain text.

JSON Lines (the protocol). stdin: one `{"id": str, "text": str}` per line. stdout: one `{"id",
"entities": [{"type", "start", "end", "score"}]}` per input line, in input order; offsets are
code-point indices into `text`, end exclusive. A malformed line yields `{"id": …, "error": "…"}`
(id null when it cannot be read) and processing continues; blank lines are skipped; the exit
status is 2 when any line was malformed (0 when all were answered with entities).

Plain text (for a person trying it): `--text "…"`, or text piped on stdin. By default the input
decides (`--input auto`): stdin whose first non-blank line starts with `{` is JSON Lines,
anything else is one text; `--input jsonl` / `--input text` force the mode. Text gets one
finding per line (`--json`: one `{"entities": […]}` object). Nothing to read, undecodable text
or a contradiction between the options exits 2 with one line saying what to do — never a JSON
error with exit 0.
"""

from __future__ import annotations

import enum
import itertools
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, BinaryIO

import orjson
import typer

from sumun.cli.common import JsonOpt, handle_errors
from sumun.cli.render import console, print_json
from sumun.errors import UsageError
from sumun.policy.pii import Detector

__all__ = ["Answered", "app", "detect_lines"]

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


@dataclass(frozen=True, slots=True)
class Answered:
    lines: int  # input lines answered (blank lines are skipped)
    errors: int  # of which answered with {"id", "error"}


def detect_lines(
    detector: Detector, lines: Iterable[bytes], out: BinaryIO, *, flush: bool
) -> Answered:
    """Run the protocol over `lines`, writing to `out`; how many lines were answered."""
    count = errors = 0
    for raw in lines:
        if not raw.strip():
            continue
        answer = _handle(detector, raw)
        out.write(orjson.dumps(answer) + b"\n")
        if flush:
            out.flush()
        count += 1
        errors += "error" in answer
    out.flush()
    return Answered(count, errors)


@app.callback()
def _pii() -> None:
    """Personal-data detection for Korean text."""


class InputMode(enum.StrEnum):
    AUTO = "auto"
    JSONL = "jsonl"
    TEXT = "text"


_MAX_TEXT = 16 * 1024 * 1024  # plain text is read whole; JSON Lines stream with no bound
_HOW = 'pipe text or {"id", "text"} JSON Lines on stdin, or pass --text "…"'


def _print_text_findings(text: str, findings: list[dict[str, Any]], json_out: bool) -> None:
    if json_out:
        print_json({"entities": findings})
        return
    if not findings:
        console.print("no personal data found", highlight=False)
        return
    for f in findings:
        shown = text[f["start"] : f["end"]]
        console.print(
            f"{f['type']:<18} {f['start']}-{f['end']:<8} score {f['score']:.2f}  {shown}",
            highlight=False,
            markup=False,
        )


def _read_text(first: bytes, rest: BinaryIO) -> str:
    data = first + rest.read(_MAX_TEXT + 1 - len(first))
    if len(data) > _MAX_TEXT:
        raise UsageError(
            f"more than {_MAX_TEXT // (1024 * 1024)} MiB of text on stdin",
            advice='split it, or send {"id", "text"} JSON Lines, which stream',
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"stdin is not UTF-8 text (byte {exc.start})", advice="convert it to UTF-8"
        ) from exc


@app.command()
@handle_errors
def detect(
    min_score: Annotated[
        float,
        typer.Option("--min-score", min=0.0, max=1.0, help="drop findings scored below this"),
    ] = 0.5,
    text: Annotated[
        str | None, typer.Option("--text", help="detect in this text (instead of stdin)")
    ] = None,
    mode: Annotated[
        InputMode,
        typer.Option(
            "--input",
            help="what stdin holds: auto (JSON Lines if the first line starts with '{'), "
            "jsonl or text",
        ),
    ] = InputMode.AUTO,
    json_out: JsonOpt = False,
) -> None:
    """Find personal data: {"id", "text"} JSON Lines on stdin -> {"id", "entities"} JSON Lines,
    or plain text (--text, or piped) -> one finding per line."""
    detector = Detector(min_score=min_score)
    if text is not None:
        if mode is InputMode.JSONL:
            raise UsageError("--text is plain text: it cannot be read as --input jsonl")
        _print_text_findings(text, _entities(detector, text), json_out)
        return
    stdin = sys.stdin.buffer
    if sys.stdin.isatty():
        raise UsageError("nothing to read: stdin is a terminal", advice=_HOW)
    first = b""
    for line in stdin:
        if line.strip():
            first = line
            break
    if not first:
        raise UsageError("nothing on stdin", advice=_HOW)
    jsonl = mode is InputMode.JSONL or (mode is InputMode.AUTO and first.lstrip().startswith(b"{"))
    if jsonl:
        if json_out:
            raise UsageError("--json is for plain text: JSON Lines input is answered in JSON")
        stdout = sys.stdout.buffer
        done = detect_lines(
            detector, itertools.chain([first], stdin), stdout, flush=not stdout.seekable()
        )
        if done.errors:  # every line was answered; the exit status still says some failed
            raise UsageError(
                f"{done.errors} of {done.lines} input lines were not "
                '{"id": str, "text": str} JSON (see their "error" answers)',
                advice="for plain text use --input text or --text",
            )
        return
    body = _read_text(first, stdin)
    _print_text_findings(body, _entities(detector, body), json_out)
