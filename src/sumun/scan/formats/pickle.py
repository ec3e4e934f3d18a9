"""Pickle streams — plain pickles, legacy `torch.save` files, joblib dumps — judged without loading.

A pickle is a program for a small stack machine whose instructions import any global and call
it; loading one is running it. This analyzer replays that program symbolically
(`_pickle_vm`): it never imports, calls or unpickles anything. It reports

- `pickle.dangerous-global` (critical): a global that runs code, touches processes, files or
  the network, or reaches interpreter internals (`os.system`, `builtins.eval`, `runpy._run_code`,
  `numpy.__builtins__`, `pathlib.os.system`…); `pickle.nested-pickle` (critical) when it
  deserializes a payload of its own (`pickle.loads`, `marshal.loads`, `torch.load`…);
- `pickle.unknown-global` (high): any other global not on the allowlist of what model
  checkpoints need nor on the trusted ML types that the pickle *calls* with arguments; medium
  when it is only instantiated as a class or referenced (a project's own `TrainConfig`) and
  nothing in the stream is dangerous (`_pickle_policy`; widen it with `SUMUN_SCAN_PICKLE_ALLOW`
  or `sumun scan --trust-module`);
- structural tricks: `pickle.dynamic-global` (STACK_GLOBAL of computed names),
  `pickle.indirect-call` (calling a call's result), `pickle.build-on-global`,
  `pickle.setstate-injection`, `pickle.extension-code`, `pickle.suspicious-call`,
  `pickle.joblib-ambiguous` (critical, or high when the analysis could not be sure);
- `pickle.parse-error` (medium; info for an empty file), `pickle.trailing-data` (medium: bytes
  after the last pickle that are not one), `pickle.analysis-limit` (high: a resource cap was
  reached, the rest is not vetted), `pickle.multiple-pickles` (info), `pickle.config-error`
  (medium: a bad `SUMUN_SCAN_PICKLE_ALLOW`, ignored).

Every pickle in the stream is replayed, not just the first: a payload appended after STOP is a
known scanner bypass, legacy torch files hold five pickles, and joblib interleaves pickle
opcodes with raw array bytes. zlib/gzip/bz2/xz/lzma-compressed streams (joblib's `compress=`)
are decompressed on the fly with a cap. Messages name globals; arguments appear only as a
short, escaped preview.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from sumun.scan.formats._pickle_io import (
    SoftStream,
    compression_of,
    decompress_head,
    open_decompressed,
)
from sumun.scan.formats._pickle_ops import OpReader
from sumun.scan.formats._pickle_policy import (
    ALLOW_ENV,
    DEFAULT_POLICY,
    GlobalPolicy,
    VerdictKind,
    policy_from_env,
)
from sumun.scan.formats._pickle_record import GlobalUse
from sumun.scan.formats._pickle_vm import Walk, probe, safe_name, walk
from sumun.scan.model import Component, FileResult, Finding, Severity, Source

__all__ = [
    "ALLOW_ENV",
    "DEFAULT_POLICY",
    "GlobalPolicy",
    "PickleReport",
    "analyze",
    "looks_like_pickle",
    "model_component",
    "policy_for_environment",
    "scan_stream",
    "sniff",
]

_MAX_GLOBAL_FINDINGS = 50
_FRAMEWORKS = ("sklearn", "xgboost", "lightgbm", "catboost", "torch", "keras", "tensorflow")


def looks_like_pickle(head: bytes) -> bool:
    """True if these first bytes of a stream replay as a pickle (uncompressed).

    Protocol 2-5 pickles start with PROTO; protocol 0/1 ones are text-like, so they must
    replay without error *and* show pickle structure: import a plausibly named global, or
    complete a pickle of a few opcodes, or keep going for many opcodes of several kinds.
    Ordinary text fails within a few bytes (`T`, `L`, `I` … take arguments text rarely has).
    """
    if len(head) < 2 or head.startswith(b"PK\x03\x04"):
        return False  # a zip (PERSID 'P' would read its header as a line): identify says zip
    result = probe(head)
    if result.malformed or not result.names_ok:
        return False
    if head[0] == 0x80 and 2 <= head[1] <= 5:
        return result.ops >= 2
    if result.complete:
        return result.ops >= 4 or (result.imports > 0 and result.ops >= 3)
    return (result.imports > 0 and result.ops >= 3) or result.ops >= 32


def sniff(head: bytes) -> bool:
    """A pickle (any protocol), or a compressed stream whose first bytes are one."""
    kind = compression_of(head)
    if kind is not None and looks_like_pickle(decompress_head(head, kind)):
        return True
    return looks_like_pickle(head)


@dataclass(frozen=True, slots=True)
class PickleReport:
    """What one pickle stream holds, for the analyzers that embed pickles (pytorch, numpy)."""

    findings: tuple[Finding, ...]
    protocol: int | None  # of the first pickle; None for protocol 0/1 (no PROTO opcode)
    pickles: int
    tensors: int  # torch._utils._rebuild_tensor* calls
    storages: int  # torch persistent-id storages
    joblib_arrays: int
    legacy_torch: bool
    frameworks: tuple[str, ...]  # top-level packages of known ML frameworks it imports


@functools.lru_cache(maxsize=8)
def _policy_for(raw: str) -> tuple[GlobalPolicy, str | None]:
    try:
        return policy_from_env({ALLOW_ENV: raw}), None
    except ValueError as exc:
        return DEFAULT_POLICY, str(exc)


def policy_for_environment() -> tuple[GlobalPolicy, str | None]:
    """The allowlist `SUMUN_SCAN_PICKLE_ALLOW` asks for, and the problem with it if any."""
    return _policy_for(os.environ.get(ALLOW_ENV, ""))


class _Make:
    """Findings for one stream: the file, the archive member, and an offset origin."""

    def __init__(self, source: Source, member: str | None) -> None:
        self._source = source
        self._member = member

    def __call__(self, severity: Severity, rule: str, message: str) -> Finding:
        return Finding(self._source.path, severity, rule, message, member=self._member)


def _class_message(name: str, use: GlobalUse, reason: str) -> str:
    module = name.split(".", maxsplit=1)[0]
    what = "unknown class" if use.news else "unknown global"
    how = "instantiated" if use.news else "only referenced, never called"
    return (
        f"{what} {name} ({use.opcode} at offset {use.offset}; {how}), {reason}: loading "
        f"imports its module and runs its own state-setting code, but nothing in the file "
        f"calls a dangerous function. If it is your project's, allow it with "
        f"`sumun scan --trust-module {module}` or {ALLOW_ENV}={module}.*"
    )


def _global_findings(w: Walk, policy: GlobalPolicy, make: _Make) -> list[Finding]:
    flagged = []
    for use in w.uses.values():
        verdict = policy.judge_use(use)
        if verdict.kind is not VerdictKind.ALLOWED:
            flagged.append((use, verdict))
    # A class nobody calls is medium, unless the same stream also does something dangerous:
    # then it may be part of the payload.
    hostile = any(v.kind in (VerdictKind.DANGEROUS, VerdictKind.NESTED) for _, v in flagged) or any(
        e.severe for e in w.events
    )
    order = {VerdictKind.DANGEROUS: 0, VerdictKind.NESTED: 0, VerdictKind.UNKNOWN: 1}
    flagged.sort(key=lambda item: (order.get(item[1].kind, 2), item[0].offset))
    out = []
    for use, verdict in flagged[:_MAX_GLOBAL_FINDINGS]:
        name = safe_name(f"{use.module}.{use.name}")
        verb = "calls" if use.calls else "imports"
        times = f" {use.calls} times" if use.calls > 1 else ""
        where = f"{use.opcode} at offset {use.offset}"
        argument = f", first argument {use.preview}" if use.preview and use.calls else ""
        if verdict.kind is VerdictKind.UNKNOWN_CLASS:
            severity = Severity.HIGH if hostile else Severity.MEDIUM
            message = _class_message(name, use, verdict.reason)
            if hostile:
                message = f"{message}; raised to high: this stream also calls something dangerous"
            out.append(make(severity, "pickle.unknown-global", message))
        elif verdict.kind is VerdictKind.UNKNOWN:
            out.append(
                make(
                    Severity.HIGH,
                    "pickle.unknown-global",
                    f"{verb} {name}{times} ({where}), {verdict.reason}; loading runs its "
                    f"code. If you trust it, allow it with {ALLOW_ENV}",
                )
            )
        else:
            rule = (
                "pickle.nested-pickle"
                if verdict.kind is VerdictKind.NESTED
                else "pickle.dangerous-global"
            )
            out.append(
                make(
                    Severity.CRITICAL,
                    rule,
                    f"{verb} {name}{times}, which {verdict.reason} ({where}{argument})",
                )
            )
    if len(flagged) > _MAX_GLOBAL_FINDINGS:
        rest = flagged[_MAX_GLOBAL_FINDINGS:]
        loud = hostile or any(v.kind is VerdictKind.UNKNOWN for _, v in rest)
        out.append(
            make(
                Severity.HIGH if loud else Severity.MEDIUM,
                "pickle.unknown-global",
                f"… and {len(rest)} more globals not on the allowlist",
            )
        )
    return out


def _walk_findings(w: Walk, policy: GlobalPolicy, make: _Make, what: str) -> list[Finding]:
    out = _global_findings(w, policy, make)
    for event in w.events:
        severity = Severity.CRITICAL if event.severe else Severity.HIGH
        out.append(
            make(severity, f"pickle.{event.kind}", f"{event.detail} (offset {event.offset})")
        )
    if w.empty:
        out.append(make(Severity.INFO, "pickle.parse-error", f"empty {what}: nothing to load"))
    if w.errors:
        offset, message = w.errors[0]
        more = f" (and {len(w.errors) - 1} more problems)" if len(w.errors) > 1 else ""
        out.append(
            make(
                Severity.MEDIUM,
                "pickle.parse-error",
                f"{what} is not a valid pickle: {message} at offset {offset}{more}",
            )
        )
    if w.limit is not None:
        out.append(
            make(
                Severity.HIGH,
                "pickle.analysis-limit",
                f"analysis stopped: {w.limit}; the rest of the {what} was not vetted",
            )
        )
    if w.trailing is not None:
        offset, size, why = w.trailing
        amount = f"{size} bytes" if size is not None else "the bytes"
        out.append(
            make(
                Severity.MEDIUM,
                "pickle.trailing-data",
                f"{amount} from offset {offset}, after the last pickle, are not a pickle ({why})",
            )
        )
    if w.pickles > 1 and not w.legacy_torch:
        out.append(
            make(
                Severity.INFO,
                "pickle.multiple-pickles",
                f"the {what} holds {w.pickles} pickles in a row; every one was checked",
            )
        )
    return out


def scan_stream(
    stream: IO[bytes],
    source: Source,
    *,
    member: str | None = None,
    policy: GlobalPolicy = DEFAULT_POLICY,
    what: str = "file",
) -> PickleReport:
    """Replay every pickle in `stream` (from its current position). Never raises on bad data.

    Findings carry `source.path` and `member`; `what` names the stream in messages.
    """
    w = walk(OpReader(stream))
    findings = _walk_findings(w, policy, _Make(source, member), what)
    roots = {
        use.module.split(".")[0]
        for use in w.uses.values()
        if policy.judge(use.module, use.name).kind in (VerdictKind.ALLOWED, VerdictKind.UNKNOWN)
    }
    return PickleReport(
        findings=tuple(findings),
        protocol=min(w.protocols) if w.protocols else None,
        pickles=w.pickles,
        tensors=w.tensors,
        storages=w.storages,
        joblib_arrays=w.joblib_arrays,
        legacy_torch=w.legacy_torch,
        frameworks=tuple(name for name in _FRAMEWORKS if name in roots),
    )


def model_component(
    source: Source, report: PickleReport, fmt: str, *, name: str | None = None
) -> Component | None:
    """An AI-BOM model entry when the stream clearly is a model (tensors or an ML framework)."""
    if not (report.legacy_torch or report.tensors or report.frameworks):
        return None
    properties = [("format", fmt)]
    properties.append(("pickle_protocol", str(report.protocol if report.protocol else "0-1")))
    if report.tensors:
        properties.append(("tensors", str(report.tensors)))
    if report.frameworks:
        properties.append(("framework", ",".join(report.frameworks)))
    stem = PurePosixPath(source.member or source.path).stem
    return Component(
        type="machine-learning-model",
        name=name or stem or source.path,
        path=source.path,
        member=source.member,
        properties=tuple(properties),
    )


def _scan_file(
    source: Source, policy: GlobalPolicy, kind: str | None
) -> tuple[PickleReport | None, SoftStream | None, Finding | None]:
    soft: SoftStream | None = None
    try:
        with source.open() as fh:
            stream: IO[bytes] = fh
            if kind is not None:
                soft = open_decompressed(fh, kind)
                stream = io.BufferedReader(soft, buffer_size=1 << 16)
            what = f"{kind}-compressed stream" if kind else "file"
            report = scan_stream(stream, source, member=source.member, policy=policy, what=what)
            return report, soft, None
    except OSError as exc:
        message = f"cannot read: {type(exc).__name__}"
        return None, soft, source.finding(Severity.MEDIUM, "pickle.parse-error", message)


def analyze(source: Source, *, policy: GlobalPolicy | None = None) -> FileResult:
    """Judge a pickle file (plain, legacy torch, joblib, compressed joblib). Never raises."""
    findings: list[Finding] = []
    if policy is None:
        policy, problem = policy_for_environment()
        if problem is not None:
            findings.append(
                source.finding(
                    Severity.MEDIUM,
                    "pickle.config-error",
                    f"{ALLOW_ENV} ignored: {problem}; the default allowlist was used",
                )
            )
    kind = compression_of(source.head)
    report, soft, unreadable = _scan_file(source, policy, kind)
    if kind is not None and soft is not None and soft.failure is not None and not soft.produced:
        # Not a compressed stream after all: a raw pickle may well start with b"BZh9"
        # (BINBYTES and its length). Keep the raw reading if it is a pickle.
        raw, _, _ = _scan_file(source, policy, None)
        if raw is not None and (
            raw.pickles or any(f.severity >= Severity.HIGH for f in raw.findings)
        ):
            report, soft, kind = raw, None, None
    if unreadable is not None:
        findings.append(unreadable)
    if soft is not None and soft.failure is not None:
        severity = Severity.HIGH if "limit" in soft.failure else Severity.MEDIUM
        rule = "pickle.analysis-limit" if "limit" in soft.failure else "pickle.parse-error"
        findings.append(source.finding(severity, rule, f"{kind} stream: {soft.failure}"))
    if report is None:
        return FileResult("pickle", findings)
    damaged = soft is not None and soft.failure is not None
    findings.extend(f for f in report.findings if not (damaged and f.severity is Severity.INFO))
    fmt = "pickle"
    if report.legacy_torch:
        fmt = "pytorch"
    elif kind is not None or report.joblib_arrays:
        fmt = "joblib"
    component = model_component(source, report, fmt)
    return FileResult(fmt, findings, [component] if component else [])
