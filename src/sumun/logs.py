"""Where Sumun's log records go and what one looks like (`logging:` in sumun.yaml,
docs/observability.md).

    logging:
      format: json      # text (default) | json: one JSON object per line on stderr
      level: info       # debug | info | warning | error (default: info for json, warning for text)

JSON lines carry `time` (UTC, ms), `level`, `logger`, `message` and, for the per-request event
(`sumun.request`, gateway/tracing.py), a fixed set of fields: request id, tenant, app, endpoint,
model alias, provider, decision, data class, status, latency, ledger seq, error type. uvicorn's
own loggers go through the same formatter.

What a line MUST NOT carry: request or answer content, keys, secrets. So the formatter

- copies only the fields named in `REQUEST_FIELDS` from a record, and only scalar values — never
  `extra` objects wholesale (a body passed by mistake is dropped, not dumped);
- writes an exception as its type and its frames (file, line, function) only: never its message
  or its arguments, which may quote what a client sent (h11's parse errors quote the request
  line; a provider's 400 may quote the prompt).

`level` applies to Sumun's and uvicorn's loggers; every other library stays at warning.
Text mode with no level set leaves logging exactly as Python and uvicorn set it up (warnings to
stderr); `configure` is idempotent, and `adopt_uvicorn` is called again once uvicorn's configs
exist, because each `uvicorn.Config` re-installs uvicorn's own handlers.
"""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

import orjson

if TYPE_CHECKING:
    from sumun.config import LoggingConfig

__all__ = ["REQUEST_FIELDS", "JsonFormatter", "adopt_uvicorn", "configure", "effective_level"]

# The per-request fields a JSON line may carry (record attributes set by gateway/tracing.py).
REQUEST_FIELDS = (
    "event",
    "request_id",
    "tenant",
    "app",
    "endpoint",
    "model",
    "provider",
    "decision",
    "data_class",
    "status",
    "latency_ms",
    "ledger_seq",
    "stream",
    "error_type",
    "trace_id",
)
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access")
_MARK = "_sumun_handler"  # set on the handler `configure` installs, to replace it next time
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MAX_FRAMES = 30

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def effective_level(conf: LoggingConfig) -> str:
    """The level in force: the configured one, else info for json and warning for text."""
    if conf.level is not None:
        return conf.level
    return "info" if conf.format == "json" else "warning"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; only named scalar fields (module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _message(record),
        }
        for name in REQUEST_FIELDS:
            value = record.__dict__.get(name)
            if value is not None and isinstance(value, str | int | float | bool):
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            line.update(_exception(record.exc_info))
        if record.stack_info:
            line["stack"] = "omitted"  # a stack dump is code, but keep lines small
        return orjson.dumps(line).decode()


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # a malformed format: the template, not the arguments
        return str(record.msg)


def _exception(exc_info: _ExcInfo) -> dict[str, object]:
    """The exception's type and where it was raised; never its message (module docstring)."""
    kind, exc, tb = exc_info
    frames = [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(tb, limit=_MAX_FRAMES)
    ]
    causes: list[str] = []
    seen = exc.__cause__ or exc.__context__
    while seen is not None and len(causes) < 5:
        causes.append(_qualname(type(seen)))
        seen = seen.__cause__ or seen.__context__
    out: dict[str, object] = {"exc_type": _qualname(kind), "exc_frames": frames}
    if causes:
        out["exc_causes"] = causes
    return out


def _qualname(kind: type[BaseException]) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def configure(conf: LoggingConfig, *, stream: TextIO | None = None) -> None:
    """Install (or replace) Sumun's stderr handler on the root logger per `conf`.

    Text mode with no level leaves logging as it is (nothing installed, nothing removed but a
    handler this function installed before).
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    if conf.format == "text" and conf.level is None:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _MARK, True)
    handler.setFormatter(
        JsonFormatter() if conf.format == "json" else logging.Formatter(_TEXT_FORMAT)
    )
    root.addHandler(handler)
    level = logging.getLevelNamesMapping()[effective_level(conf).upper()]
    # Other libraries stay at warning whatever the level: at debug some log what they carry
    # (hpack logs decoded headers, an Authorization among them).
    root.setLevel(max(level, logging.WARNING))
    for name in ("sumun", "uvicorn"):
        logging.getLogger(name).setLevel(level)
    # Python's warnings become records too, so a JSON stderr stays one object per line.
    logging.captureWarnings(conf.format == "json")
    adopt_uvicorn(conf)


def adopt_uvicorn(conf: LoggingConfig) -> None:
    """In JSON mode, send uvicorn's records through the root handler (and its formatter).

    uvicorn's loggers carry their own text handlers (installed by every `uvicorn.Config`):
    they are removed and the records propagate. An access logger that uvicorn silenced
    (`access_log=False`) stays silent.
    """
    if conf.format != "json":
        return
    for name in _UVICORN:
        logger = logging.getLogger(name)
        if name == "uvicorn.access" and not logger.propagate and not logger.handlers:
            continue
        logger.handlers = []
        logger.propagate = True
