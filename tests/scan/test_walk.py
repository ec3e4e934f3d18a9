"""The walker: what it visits, what it refuses to follow, and the bounds on archives."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest

from sumun.scan import _archive, walk
from sumun.scan.identify import zip_entry_count
from sumun.scan.model import Finding, Severity, Source
from sumun.scan.walk import Budget, FileTask, FolderTask, Limits


def src(data: bytes, name: str, member: str | None = None) -> Source:
    return Source(name, len(data), data[:4096], lambda: io.BytesIO(data), member=member)


def expand(source: Source, fmt: str, limits: Limits | None = None) -> list[Source | Finding]:
    bounds = limits or Limits()
    return list(walk.members(source, fmt, bounds, Budget.of(bounds)))


def sources(items: list[Source | Finding]) -> list[Source]:
    return [i for i in items if isinstance(i, Source)]


def findings(items: list[Source | Finding]) -> list[Finding]:
    return [i for i in items if isinstance(i, Finding)]


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


# --- plan ---------------------------------------------------------------------------------------


def test_plan_skips_tool_directories_and_sorts(tmp_path: Path) -> None:
    for rel in ("b.py", "a/x.py", ".git/config", "node_modules/m/i.js", ".venv/lib/s.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    (tmp_path / "a" / "__pycache__").mkdir()
    (tmp_path / "a" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    planned = walk.plan(tmp_path)
    assert [t.path for t in planned.tasks if isinstance(t, FileTask)] == ["a/x.py", "b.py"]
    assert planned.root == tmp_path and planned.findings == ()


def test_plan_never_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "secret.txt"
    root.mkdir()
    outside.write_text("secret")
    (root / "model.bin").write_bytes(b"\0" * 10)
    (root / "out").symlink_to(outside)
    (root / "loop").symlink_to(root, target_is_directory=True)
    os.mkfifo(root / "fifo")
    planned = walk.plan(root)
    assert planned.tasks == (FileTask("model.bin", str(root / "model.bin"), 10),)
    assert [(f.path, f.rule, f.severity) for f in planned.findings] == [
        ("fifo", "walk.not-regular", Severity.INFO),  # skipped unopened (test_hostile_paths.py)
        ("out", "walk.symlink-outside-root", Severity.INFO),
    ]


def test_deep_trees_do_not_recurse(tmp_path: Path) -> None:
    deep = tmp_path
    for _ in range(1200):  # deeper than Python's default recursion limit
        deep = deep / "d"
        deep.mkdir()
    (deep / "bottom.py").write_text("x = 1\n")
    try:
        (task,) = walk.plan(tmp_path).tasks
        assert isinstance(task, FileTask) and task.path.endswith("/d/bottom.py")
        assert task.path.count("/") == 1200
    finally:
        # Remove it bottom-up: shutil.rmtree (pytest's tmp cleanup) recurses per level.
        (deep / "bottom.py").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent


def test_a_file_reached_twice_is_scanned_once_under_its_symlink_name(tmp_path: Path) -> None:
    (tmp_path / "blobs").mkdir()
    (tmp_path / "snapshots" / "main").mkdir(parents=True)
    blob = tmp_path / "blobs" / "9f86d081884c7d65"
    blob.write_bytes(b"weights")
    (tmp_path / "snapshots" / "main" / "model.safetensors").symlink_to(blob)
    os.link(blob, tmp_path / "hardlink.bin")
    tasks = walk.plan(tmp_path).tasks
    assert [t.path for t in tasks if isinstance(t, FileTask)] == [
        "snapshots/main/model.safetensors"
    ]


def test_model_folders_are_detected_by_config_or_model_card(tmp_path: Path) -> None:
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text("{}")
    (tmp_path / "card").mkdir()
    (tmp_path / "card" / "README.md").write_text("---\nlicense: mit\n---\n# Model\n")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "README.md").write_text("# Just a readme\n")
    folders = [t for t in walk.plan(tmp_path).tasks if isinstance(t, FolderTask)]
    assert [f.folder for f in folders] == ["bert", "card"]
    assert dict(folders[0].files) == {"config.json": str(tmp_path / "bert" / "config.json")}


def test_the_root_itself_can_be_a_model_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    folders = [t for t in walk.plan(tmp_path).tasks if isinstance(t, FolderTask)]
    assert [f.folder for f in folders] == ["."]


def test_unreadable_directories_are_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "ok.py").write_text("x = 1\n")
    real = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    planned = walk.plan(tmp_path)
    assert planned.tasks == (FileTask("ok.py", str(tmp_path / "ok.py"), 6),)
    assert [(f.path, f.rule, f.message) for f in planned.findings] == [
        ("locked", "walk.unreadable", "directory not readable: Permission denied")
    ]


def test_plan_of_a_single_file_and_of_nothing(tmp_path: Path) -> None:
    target = tmp_path / "m.pkl"
    target.write_bytes(b"\x80\x04N.")
    planned = walk.plan(target)
    assert planned.root == tmp_path
    assert planned.tasks == (FileTask("m.pkl", str(target), 4),)
    with pytest.raises(FileNotFoundError):
        walk.plan(tmp_path / "missing")


# --- zip ----------------------------------------------------------------------------------------


def test_zip_members_are_yielded_with_their_content() -> None:
    data = zip_bytes({"a/one.txt": b"1" * 5000, "two.bin": b"22"})
    seen = []
    # A member is valid while the iterator rests on it (the zip is open then).
    for item in walk.members(src(data, "bundle.zip"), "zip", Limits(), Budget.of(Limits())):
        assert isinstance(item, Source)
        with item.open() as stream:
            seen.append((item.path, item.member, item.size, item.head[:3], stream.read()))
    assert seen == [
        ("bundle.zip", "a/one.txt", 5000, b"111", b"1" * 5000),
        ("bundle.zip", "two.bin", 2, b"22", b"22"),
    ]


def test_zip_member_names_that_escape_are_high() -> None:
    data = zip_bytes({"../../etc/cron.d/x": b"x", "/abs": b"y", "ok/../fine": b"z"})
    flagged = [(f.member, f.rule, f.severity) for f in findings(expand(src(data, "z.zip"), "zip"))]
    assert flagged == [
        ("../../etc/cron.d/x", "archive.path-traversal", Severity.HIGH),
        ("/abs", "archive.path-traversal", Severity.HIGH),
    ]


def test_zip_bomb_by_ratio_is_high_and_not_expanded() -> None:
    data = zip_bytes({"zeros": b"\0" * (3 << 20), "small": b"ok"})
    limits = Limits(ratio_min_bytes=1 << 20, max_ratio=100)
    items = expand(src(data, "bomb.zip"), "zip", limits)
    assert [m.member for m in sources(items)] == ["small"]
    (bomb,) = findings(items)
    assert bomb.rule == "archive.bomb" and bomb.severity is Severity.HIGH
    assert bomb.member == "zeros"
    assert "not expanded" in bomb.message


def test_zip_with_overlapping_entries_is_a_bomb() -> None:
    data = bytearray(zip_bytes({"a": b"A" * 100, "b": b"B" * 100}, zipfile.ZIP_STORED))
    # Point the second central-directory entry at the first entry's local header.
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    struct.pack_into("<I", data, second + 42, 0)
    items = expand(src(bytes(data), "overlap.zip"), "zip")
    assert sources(items) == []
    (bomb,) = findings(items)
    assert bomb.rule == "archive.bomb" and "overlap" in bomb.message


def test_member_count_and_byte_budgets() -> None:
    data = zip_bytes({f"m{i}": b"x" * 10 for i in range(5)})
    items = expand(src(data, "many.zip"), "zip", Limits(max_members=2))
    assert len(sources(items)) == 2
    assert [f.rule for f in findings(items)] == ["archive.limit"]
    big = zip_bytes({"big": b"y" * 500, "small": b"z"})
    items = expand(src(big, "big.zip"), "zip", Limits(max_total_bytes=100))
    assert [m.member for m in sources(items)] == ["small"]
    (limit,) = findings(items)
    assert limit.rule == "archive.limit" and limit.member == "big"
    assert limit.severity is Severity.MEDIUM


def test_huge_zip_directories_are_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_bytes({f"m{i}": b"" for i in range(5)})
    assert zip_entry_count(io.BytesIO(data)) == 5
    monkeypatch.setattr(_archive, "MAX_ZIP_ENTRIES", 4)
    (refused,) = expand(src(data, "many.zip"), "zip")
    assert isinstance(refused, Finding) and refused.rule == "archive.limit"
    assert "lists 5 entries" in refused.message


def test_zip64_entry_counts_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)  # forces the zip64 end records
    data = zip_bytes({f"m{i}": b"x" for i in range(3)})
    assert b"PK\x06\x06" in data
    assert zip_entry_count(io.BytesIO(data)) == 3
    assert zip_entry_count(io.BytesIO(b"not a zip")) is None


def test_a_bad_zip_is_a_parse_error() -> None:
    (problem,) = findings(expand(src(b"PK\x03\x04garbage", "bad.zip"), "zip"))
    assert problem.rule == "archive.parse-error" and problem.severity is Severity.MEDIUM


# --- tar ----------------------------------------------------------------------------------------


def tar_bytes(entries: list[tarfile.TarInfo], payloads: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for info in entries:
            data = payloads.get(info.name)
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def test_tar_members_are_windows_on_the_archive() -> None:
    payload = bytes(range(256)) * 40
    data = tar_bytes([tarfile.TarInfo("dir/model.pkl")], {"dir/model.pkl": payload})
    (member,) = sources(expand(src(data, "t.tar"), "tar"))
    assert (member.member, member.size) == ("dir/model.pkl", len(payload))
    with member.open() as stream:
        stream.seek(1000)
        assert stream.read(24) == payload[1000:1024]
        stream.seek(0)
        assert stream.read() == payload


def test_tar_links_and_names_that_escape_are_high() -> None:
    link = tarfile.TarInfo("a/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "../../../etc/passwd"
    inside = tarfile.TarInfo("a/ok")
    inside.type = tarfile.SYMTYPE
    inside.linkname = "../b"
    data = tar_bytes([link, inside, tarfile.TarInfo("../evil.py")], {"../evil.py": b"x"})
    flagged = [(f.member, f.rule) for f in findings(expand(src(data, "t.tar"), "tar"))]
    assert flagged == [
        ("a/link", "archive.path-traversal"),
        ("../evil.py", "archive.path-traversal"),
    ]


# --- compressed streams -------------------------------------------------------------------------


def test_gzip_stream_becomes_one_member_named_without_the_suffix() -> None:
    (member,) = sources(expand(src(gzip.compress(b"payload"), "model.pkl.gz"), "gzip"))
    assert member.member == "model.pkl"
    with member.open() as stream:
        assert stream.read() == b"payload"
    (tgz,) = sources(expand(src(gzip.compress(b"x"), "w.tgz"), "gzip"))
    assert tgz.member == "w.tar"


def test_zlib_stream_of_a_joblib_file_is_inflated() -> None:
    payload = b"\x80\x04" + os.urandom(3000) + b"."
    (member,) = sources(expand(src(zlib.compress(payload), "m.joblib"), "zlib"))
    with member.open() as stream:
        assert stream.read() == payload


def test_gzip_bomb_stops_early() -> None:
    data = gzip.compress(b"\0" * (4 << 20))
    limits = Limits(ratio_min_bytes=1 << 20, max_ratio=50)
    (bomb,) = expand(src(data, "z.gz"), "gzip", limits)
    assert isinstance(bomb, Finding) and bomb.rule == "archive.bomb"


def test_truncated_and_unsupported_streams() -> None:
    (bad,) = expand(src(gzip.compress(b"x" * 1000)[:20], "t.gz"), "gzip")
    assert isinstance(bad, Finding) and bad.rule == "archive.parse-error"
    (zstd,) = expand(src(b"\x28\xb5\x2f\xfd" + b"\0" * 10, "t.zst"), "zstd")
    assert isinstance(zstd, Finding) and zstd.rule == "archive.unsupported"
    assert zstd.severity is Severity.INFO


def test_large_members_spool_to_a_private_file_that_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    payload = os.urandom(20_000)
    items = walk.members(
        src(gzip.compress(payload), "x.bin.gz"),
        "gzip",
        Limits(spool_in_memory=1024),
        Budget.of(Limits()),
    )
    member = next(items)
    assert isinstance(member, Source)
    assert [p.name[:11] for p in tmp_path.iterdir()] == ["sumun-scan-"]
    with member.open() as stream:
        assert stream.read() == payload
    items.close()
    assert list(tmp_path.iterdir()) == []


# --- hashing ------------------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        self.largest = max(self.largest, count)
        return count


def test_sha256_streams_in_bounded_chunks() -> None:
    data = os.urandom(3 * walk.CHUNK + 123)
    stream = CountingStream(data)
    assert walk.sha256(stream) == hashlib.sha256(data).hexdigest()
    assert stream.largest == walk.CHUNK
