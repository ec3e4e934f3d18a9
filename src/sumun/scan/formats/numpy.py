"""NumPy `.npy` and `.npz` files: object arrays are pickles in disguise.

`.npy` (NEP 1, `numpy/lib/format.py`): magic `\\x93NUMPY`, major/minor version, a header length
(2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0), then an ASCII (3.0: UTF-8) Python dict
literal `{'descr': …, 'fortran_order': …, 'shape': (…)}` padded with spaces. When the dtype holds
Python objects (`'|O'`, or a structured dtype with an `O` field) the data that follows is a
*pickle* of the array, which `np.load(allow_pickle=True)` runs: it is replayed with the pickle
analyzer. Other arrays are raw bytes; their size is checked against the header (a header that
lies is reported, never trusted for allocation). The header is parsed with `ast.literal_eval`
on a capped string — never `eval`.

`.npz` is a zip of `.npy` members (stored or deflated): each one is checked the same way.
"""

from __future__ import annotations

import ast
import re
import zipfile
from collections.abc import Callable
from typing import IO

from sumun.scan.formats import pickle as pickle_format
from sumun.scan.formats._pickle_io import ZIP_ERRORS, SoftStream, open_zip_member, zip_members
from sumun.scan.formats._pickle_policy import GlobalPolicy
from sumun.scan.model import FileResult, Finding, Severity, Source

__all__ = ["MAGIC", "analyze", "sniff"]

MAGIC = b"\x93NUMPY"
_HEADER_CAP = 1 << 16  # numpy itself refuses headers over 10 000 bytes by default
_MAX_MEMBERS = 10_000
_TYPESTR = re.compile(r"[<>|=]?([biufcmMOSaUV?])(\d*)(?:\[\w+\])?")  # dtype.str forms
_SIZES = {"?": 1, "b": 1, "B": 1}
_PY2_LONG = re.compile(r"\b(\d+)L\b")


def sniff(head: bytes) -> bool:
    return head.startswith(MAGIC)


class _Bad(Exception):  # noqa: N818 - internal signal, never escapes this module
    pass


def _itemsize(descr: object, depth: int = 0) -> tuple[int, bool]:
    """(bytes per element, holds Python objects) of a header `descr`; raises `_Bad`."""
    if depth > 8:
        raise _Bad("dtype description nested too deeply")
    if isinstance(descr, str):
        match = _TYPESTR.fullmatch(descr)
        if match is None:
            raise _Bad(f"unknown dtype {descr[:40]!r}")
        kind, digits = match.groups()
        if kind == "O":
            return 8, True
        if digits:
            size = int(digits)
            return (size * 4 if kind == "U" else size), False
        if kind in _SIZES:
            return _SIZES[kind], False
        raise _Bad(f"dtype {descr[:40]!r} has no size")
    if isinstance(descr, list):
        total, hasobject = 0, False
        for field in descr:
            if not (isinstance(field, tuple) and len(field) in (2, 3)):
                raise _Bad("malformed structured dtype")
            size, obj = _itemsize(field[1], depth + 1)
            sub = field[2] if len(field) == 3 else ()
            if not isinstance(sub, tuple):
                raise _Bad("malformed subarray shape")
            count = 1
            for n in sub:
                if not isinstance(n, int) or n < 0:
                    raise _Bad("malformed subarray shape")
                count *= n
            total += size * count
            hasobject = hasobject or obj
        return total, hasobject
    raise _Bad("malformed dtype description")


def _read_header(fh: IO[bytes]) -> tuple[dict[str, object], int]:
    """The header dict and the offset where the data starts; raises `_Bad`."""
    prefix = fh.read(8)
    if len(prefix) < 8 or not prefix.startswith(MAGIC):
        raise _Bad("not an .npy file (no \\x93NUMPY magic)")
    major = prefix[6]
    if major == 1:
        size_bytes = fh.read(2)
    elif major in (2, 3):
        size_bytes = fh.read(4)
    else:
        raise _Bad(f"unsupported .npy version {major}.{prefix[7]}")
    header_len = int.from_bytes(size_bytes, "little")
    if len(size_bytes) < (2 if major == 1 else 4):
        raise _Bad("truncated header")
    if header_len > _HEADER_CAP:
        raise _Bad(f"header length {header_len} exceeds the {_HEADER_CAP}-byte cap")
    raw = fh.read(header_len)
    if len(raw) < header_len:
        raise _Bad("truncated header")
    text = raw.decode("utf-8" if major == 3 else "latin-1", "replace")
    try:
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:  # Python 2 writers put long literals in the shape: (2L, 3L)
            header = ast.literal_eval(_PY2_LONG.sub(r"\1", text))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise _Bad("the header is not a Python literal") from None
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        raise _Bad("the header lacks descr, fortran_order or shape")
    return header, len(prefix) + len(size_bytes) + header_len


def _advance(stream: IO[bytes], offset: int) -> None:
    """Move a fresh stream to `offset`: seek if it can, else read and discard."""
    if stream.seekable():
        stream.seek(offset)
        return
    left = offset
    while left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            return
        left -= len(chunk)


def _check_array(
    reopen: Callable[[], IO[bytes]],
    size: int,
    *,
    source: Source,
    member: str | None,
    policy: GlobalPolicy,
    findings: list[Finding],
) -> None:
    """One `.npy` stream (a file or an npz member) of `size` bytes; `reopen` gives it from 0."""

    def finding(severity: Severity, rule: str, message: str) -> Finding:
        return Finding(source.path, severity, rule, message, member=member)

    if size == 0:
        findings.append(finding(Severity.INFO, "numpy.parse-error", "empty .npy data"))
        return
    with reopen() as fh:
        try:
            header, data_at = _read_header(fh)
            shape = header["shape"]
            if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
                raise _Bad("shape is not a tuple of non-negative integers")
            itemsize, hasobject = _itemsize(header["descr"])
        except _Bad as exc:
            findings.append(finding(Severity.MEDIUM, "numpy.parse-error", str(exc)))
            return
        if hasobject:
            findings.append(
                finding(
                    Severity.INFO,
                    "numpy.object-array",
                    "object array: its data is a pickle, which np.load(allow_pickle=True) runs",
                )
            )
            report = pickle_format.scan_stream(
                fh, source, member=member, policy=policy, what="object-array pickle"
            )
            findings.extend(report.findings)
            return
    count = 1
    for n in shape:
        count *= n
    expected = data_at + count * itemsize
    if size < expected:
        findings.append(
            finding(
                Severity.MEDIUM,
                "numpy.parse-error",
                f"the header promises {expected - data_at} data bytes but {size - data_at} "
                "follow (truncated, or a header that lies)",
            )
        )
        return
    if size == expected:
        return
    findings.append(
        finding(
            Severity.INFO,
            "numpy.trailing-data",
            f"{size - expected} bytes after the array data (np.load ignores them)",
        )
    )
    with reopen() as fh:
        _advance(fh, expected)
        if pickle_format.looks_like_pickle(fh.read(4096)):
            with reopen() as again:
                _advance(again, expected)
                report = pickle_format.scan_stream(
                    again, source, member=member, policy=policy, what="data after the array"
                )
            findings.extend(report.findings)


def analyze(source: Source, *, policy: GlobalPolicy | None = None) -> FileResult:
    """Judge an `.npy` or `.npz` file. Never raises on bad input."""
    findings: list[Finding] = []
    if policy is None:
        policy, problem = pickle_format.policy_for_environment()
        if problem is not None:
            findings.append(
                source.finding(Severity.MEDIUM, "pickle.config-error", f"allowlist: {problem}")
            )
    try:
        if source.head.startswith(b"PK"):
            with source.open() as fh:
                _analyze_npz(source, fh, policy, findings)
        else:
            _check_array(
                source.open,
                source.size,
                source=source,
                member=source.member,
                policy=policy,
                findings=findings,
            )
    except OSError as exc:
        findings.append(source.finding(Severity.MEDIUM, "numpy.parse-error", f"cannot read: {exc}"))
    return FileResult("numpy", findings)


def _analyze_npz(
    source: Source, fh: IO[bytes], policy: GlobalPolicy, findings: list[Finding]
) -> None:
    try:
        infos = zip_members(fh)
    except ZIP_ERRORS as exc:
        findings.append(
            source.finding(Severity.MEDIUM, "numpy.parse-error", f"not a readable .npz: {exc}")
        )
        return
    for info in infos[:_MAX_MEMBERS]:
        if info.filename.endswith("/"):  # not `is_dir()`: IndexError on an empty name
            continue
        member = info.filename if source.member is None else f"{source.member}!/{info.filename}"
        failures: list[SoftStream] = []

        def reopen(
            info: zipfile.ZipInfo = info, failures: list[SoftStream] = failures
        ) -> IO[bytes]:
            stream, soft = open_zip_member(fh, info)
            if soft is not None:
                failures.append(soft)
            return stream

        try:
            with reopen() as stream:
                head = stream.read(4096)
            if head.startswith(MAGIC):
                _check_array(
                    reopen,
                    info.file_size,
                    source=source,
                    member=member,
                    policy=policy,
                    findings=findings,
                )
            elif pickle_format.looks_like_pickle(head):
                with reopen() as stream:
                    report = pickle_format.scan_stream(
                        stream, source, member=member, policy=policy, what="member"
                    )
                findings.extend(report.findings)
        except (*ZIP_ERRORS, OSError) as exc:
            findings.append(
                Finding(source.path, Severity.MEDIUM, "numpy.parse-error", str(exc), member=member)
            )
            continue
        failure = next((f.failure for f in failures if f.failure is not None), None)
        if failure is not None:
            findings.append(
                Finding(
                    source.path,
                    Severity.MEDIUM,
                    "numpy.parse-error",
                    f"compressed member: {failure}",
                    member=member,
                )
            )
    if len(infos) > _MAX_MEMBERS:
        findings.append(
            source.finding(
                Severity.HIGH,
                "numpy.analysis-limit",
                f"{len(infos)} members; only the first {_MAX_MEMBERS} were checked",
            )
        )
