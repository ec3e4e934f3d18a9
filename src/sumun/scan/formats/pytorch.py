"""PyTorch zip checkpoints (`torch.save` since 1.6, TorchScript archives): the pickles inside.

Layout (`torch/serialization.py`, `caffe2/serialize/inline_container.cc`): one top folder —
the file's stem, or `archive` — holding `data.pkl` (the object graph, pickled with tensors as
persistent ids `('storage', torch.FloatStorage, '<key>', '<location>', numel)`), `data/<key>`
(raw storage bytes, never unpickled), `version`, `byteorder`, `.format_version`. TorchScript
archives add `constants.pkl` and `code/` (TorchScript source), and their pickles name classes
as `__torch__.…`, which the TorchScript loader resolves itself, not through Python imports.

Every `*.pkl` member is replayed with the pickle analyzer, and so is any other member (outside
`data/`) whose first bytes replay as a pickle — `torch.load` only reads `data.pkl`, but a
hidden pickle is exactly what a scanner should not skip. Members are read as the loader reads
them (`_pickle_io.open_zip_member`: encrypted-flag and CRC ignored). Legacy (non-zip) torch
files are plain pickle streams: `pickle.analyze` handles them.
"""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath
from typing import IO

from sumun.scan.formats import pickle as pickle_format
from sumun.scan.formats._pickle_io import ZIP_ERRORS, open_zip_member, zip_members
from sumun.scan.formats._pickle_policy import GlobalPolicy
from sumun.scan.model import Component, FileResult, Finding, Severity, Source

__all__ = ["analyze", "sniff"]

_MAX_MEMBERS = 100_000
_MAX_PICKLE_MEMBERS = 64
_TORCHSCRIPT_ALLOW = ("__torch__.*", "torch.jit._pickle.*", "torch.classes.*")
_PLAIN_FILES = frozenset({"version", "byteorder", ".format_version", ".storage_alignment"})


def sniff(head: bytes) -> bool:
    """A zip whose first member is under a folder and looks like torch's (data.pkl, version…).

    Only the first local header is in `head`, so this is a hint; `analyze` decides.
    """
    if head[:4] != b"PK\x03\x04" or len(head) < 30:
        return False
    name_len = int.from_bytes(head[26:28], "little")
    name = head[30 : 30 + name_len].decode("utf-8", "replace")
    leaf = PurePosixPath(name).name
    return "/" in name and (leaf.endswith(".pkl") or leaf in _PLAIN_FILES)


def _member_name(source: Source, name: str) -> str:
    return name if source.member is None else f"{source.member}!/{name}"


def _is_storage(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return len(parts) >= 2 and parts[-2] in ("data", ".data") and parts[-1] != "data.pkl"


def _candidates(
    infos: list[zipfile.ZipInfo],
) -> tuple[list[zipfile.ZipInfo], list[zipfile.ZipInfo]]:
    """(`*.pkl` members, other members worth a sniff)."""
    # `filename.endswith("/")`, not `is_dir()`: that raises IndexError on an empty name.
    pickles = [i for i in infos if i.filename.endswith(".pkl")]
    others = [
        i
        for i in infos
        if not i.filename.endswith("/")
        and not i.filename.endswith(".pkl")
        and not _is_storage(i.filename)
        and PurePosixPath(i.filename).name not in _PLAIN_FILES
        and "/code/" not in f"/{i.filename}"
    ]
    return pickles, others


def analyze(source: Source, *, policy: GlobalPolicy | None = None) -> FileResult:
    """Judge every pickle inside a PyTorch zip checkpoint. Never raises on bad input."""
    findings: list[Finding] = []
    if policy is None:
        policy, problem = pickle_format.policy_for_environment()
        if problem is not None:
            findings.append(
                source.finding(Severity.MEDIUM, "pickle.config-error", f"allowlist: {problem}")
            )
    try:
        with source.open() as fh:
            try:
                infos = zip_members(fh)
            except ZIP_ERRORS as exc:
                findings.append(
                    source.finding(
                        Severity.MEDIUM, "pytorch.parse-error", f"not a readable zip: {exc}"
                    )
                )
                return FileResult("pytorch", findings)
            return _analyze_zip(source, fh, infos, policy, findings)
    except OSError as exc:
        findings.append(
            source.finding(Severity.MEDIUM, "pytorch.parse-error", f"cannot read: {exc}")
        )
        return FileResult("pytorch", findings)


def _analyze_zip(
    source: Source,
    fh: IO[bytes],
    infos: list[zipfile.ZipInfo],
    policy: GlobalPolicy,
    findings: list[Finding],
) -> FileResult:
    if len(infos) > _MAX_MEMBERS:
        findings.append(
            source.finding(
                Severity.HIGH,
                "pickle.analysis-limit",
                f"{len(infos)} zip members; only the first {_MAX_MEMBERS} were listed",
            )
        )
        infos = infos[:_MAX_MEMBERS]
    pickles, others = _candidates(infos)
    torchscript = any("/code/" in f"/{i.filename}" for i in infos) or any(
        PurePosixPath(i.filename).name == "constants.pkl" for i in pickles
    )
    member_policy = policy.extended(_TORCHSCRIPT_ALLOW) if torchscript else policy
    data = [i for i in pickles if PurePosixPath(i.filename).name == "data.pkl"]
    if not data:
        findings.append(
            source.finding(
                Severity.MEDIUM,
                "pytorch.parse-error",
                "no data.pkl member: not a PyTorch checkpoint torch.load can read",
            )
        )
    main_report: pickle_format.PickleReport | None = None
    for info in (pickles + [i for i in others if _sniff_member(fh, info=i)])[:_MAX_PICKLE_MEMBERS]:
        report = _scan_member(source, fh, info, member_policy, findings)
        if report is not None and info in data[:1]:
            main_report = report
    if len(pickles) > _MAX_PICKLE_MEMBERS:
        findings.append(
            source.finding(
                Severity.HIGH,
                "pickle.analysis-limit",
                f"{len(pickles)} pickle members; only {_MAX_PICKLE_MEMBERS} were checked",
            )
        )
    components: list[Component] = []
    if data:
        folder = PurePosixPath(data[0].filename).parent.name
        stem = PurePosixPath(source.member or source.path).stem
        name = folder if folder and folder != "archive" else stem
        properties = [("format", "torchscript" if torchscript else "pytorch")]
        if main_report is not None:
            protocol = main_report.protocol
            properties.append(("pickle_protocol", str(protocol) if protocol else "0-1"))
            properties.append(("tensors", str(main_report.tensors)))
        components.append(
            Component(
                type="machine-learning-model",
                name=name or source.path,
                path=source.path,
                member=source.member,
                properties=tuple(properties),
            )
        )
    return FileResult("pytorch", findings, components)


def _sniff_member(fh: IO[bytes], *, info: zipfile.ZipInfo) -> bool:
    try:
        stream, _ = open_zip_member(fh, info)
        return pickle_format.looks_like_pickle(stream.read(4096))
    except (*ZIP_ERRORS, OSError):
        return False


def _scan_member(
    source: Source,
    fh: IO[bytes],
    info: zipfile.ZipInfo,
    policy: GlobalPolicy,
    findings: list[Finding],
) -> pickle_format.PickleReport | None:
    member = _member_name(source, info.filename)
    try:
        stream, soft = open_zip_member(fh, info)
    except (*ZIP_ERRORS, OSError) as exc:
        findings.append(
            Finding(source.path, Severity.MEDIUM, "pytorch.parse-error", str(exc), member=member)
        )
        return None
    report = pickle_format.scan_stream(stream, source, member=member, policy=policy, what="member")
    findings.extend(report.findings)
    if soft is not None and soft.failure is not None:
        findings.append(
            Finding(
                source.path,
                Severity.MEDIUM,
                "pytorch.parse-error",
                f"compressed member: {soft.failure}",
                member=member,
            )
        )
    return report
