"""Path traversal in every archive-based model format: `.keras`, PyTorch zip checkpoints and
`.npz` (read in place by their analyzers), `.nemo` (tar) and `.mar` (zip) — names that climb out,
absolute names, drive letters, symlinks and hard links pointing out, symlink chains, members
written through a symlinked folder; and what must stay quiet."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from sumun.scan._archive import _Links, traversal_findings
from sumun.scan.engine import scan
from sumun.scan.model import Severity, Source
from tests.data.scan import gen_misses as gen
from tests.data.scan.gen_formats import label_holds

_PAYLOAD = b"echo pwned\n"


def _source(data: bytes, path: str) -> Source:
    return Source(path, len(data), data[:4096], lambda: io.BytesIO(data))


def _traversals(tmp_path: Path, name: str, data: bytes) -> list[tuple[str | None, str]]:
    (tmp_path / name).write_bytes(data)
    result = scan(tmp_path / name, workers=1)
    return [
        (f.member, f.message)
        for f in result.findings
        if f.rule == "archive.path-traversal" and f.severity is Severity.HIGH
    ]


@pytest.mark.parametrize(
    ("name", "member"),
    [
        ("../../.bashrc", "../../.bashrc"),
        ("/etc/cron.d/job", "/etc/cron.d/job"),
        ("C:\\Windows\\evil.dll", "C:\\Windows\\evil.dll"),
        ("assets/..\\..\\x", "assets/..\\..\\x"),
    ],
)
def test_keras_archives(tmp_path: Path, name: str, member: str) -> None:
    data = gen._keras_members([(name, _PAYLOAD)])
    found = _traversals(tmp_path, "m.keras", data)
    assert [m for m, _ in found] == [member]
    assert "member name escapes the extraction directory" in found[0][1]


def test_pytorch_and_npz_archives(tmp_path: Path) -> None:
    torch = gen._torch_zip([("archive/../../../.ssh/authorized_keys", _PAYLOAD)])
    assert [m for m, _ in _traversals(tmp_path, "m.pt", torch)] == [
        "archive/../../../.ssh/authorized_keys"
    ]
    npz = gen._zip([("x.npy", b"\x93NUMPY"), ("/tmp/evil.npy", b"\x93NUMPY")])
    assert [m for m, _ in _traversals(tmp_path, "m.npz", npz)] == ["/tmp/evil.npy"]


def test_traversal_findings_directly() -> None:
    data = gen._keras_members([("../x", b"1"), ("ok/y", b"2")])
    (finding,) = traversal_findings(_source(data, "m.keras"))
    assert (finding.path, finding.member, finding.rule) == (
        "m.keras",
        "../x",
        "archive.path-traversal",
    )
    assert traversal_findings(_source(b"not a zip", "m.keras")) == []


def test_nemo_tar_members(tmp_path: Path) -> None:
    cfg = ("model_config.yaml", gen._NEMO_CONFIG)
    cases = {
        "dotdot.nemo": (gen._tar([cfg, ("../../evil.py", _PAYLOAD)]), "../../evil.py"),
        "link.nemo": (gen._tar([cfg], [("w.ckpt", "/etc/passwd", tarfile.SYMTYPE)]), "w.ckpt"),
        "hard.nemo": (gen._tar([cfg], [("w", "/etc/shadow", tarfile.LNKTYPE)]), "w"),
        "rel-link.nemo": (gen._tar([cfg], [("a/b", "../../x", tarfile.SYMTYPE)]), "a/b"),
    }
    for name, (data, member) in cases.items():
        found = _traversals(tmp_path, name, data)
        assert [m for m, _ in found] == [member], name


def test_symlink_chains_and_symlinked_folders(tmp_path: Path) -> None:
    chain = gen._tar(
        [("model_config.yaml", gen._NEMO_CONFIG)],
        [("here", ".", tarfile.SYMTYPE), ("up", "here/..", tarfile.SYMTYPE)],
    )
    found = _traversals(tmp_path, "chain.nemo", chain)
    assert [m for m, _ in found] == ["up"]
    assert "symlink target 'here/..'" in found[0][1]
    through = gen._tar([("cfg/evil.sh", _PAYLOAD)], [("cfg", "/etc", tarfile.SYMTYPE)])
    found = _traversals(tmp_path, "through.nemo", through)
    assert [m for m, _ in found] == ["cfg", "cfg/evil.sh"]
    assert "through a symlink in the archive" in found[1][1]


def test_zip_symlink_entries(tmp_path: Path) -> None:
    mar = gen._zip([("MAR-INF/MANIFEST.json", b"{}")], symlinks=[("handler.py", "/etc/passwd")])
    found = _traversals(tmp_path, "m.mar", mar)
    assert [m for m, _ in found] == ["handler.py"]
    assert "symlink target '/etc/passwd'" in found[0][1]
    keras = gen._zip(
        [("config.json", b"{}"), ("metadata.json", b"{}")],
        symlinks=[("assets", "."), ("assets2", "assets/..")],
    )
    assert [m for m, _ in _traversals(tmp_path, "chain.keras", keras)] == ["assets2"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("plain.keras", gen._keras_members([("assets/vocab.txt", b"a")])),
        ("dots.nemo", gen._tar([("./a.yaml", b"x: 1\n"), ("d/../b.model", b"tok")])),
        (
            "inner-link.nemo",
            gen._tar([("ckpt/v1", b"w")], [("latest", "ckpt/v1", tarfile.SYMTYPE)]),
        ),
        ("inner-link.mar", gen._zip([("h.py", b"x = 1\n")], symlinks=[("alias.py", "h.py")])),
        ("plain.pt", gen._torch_zip([])),
    ],
)
def test_archives_that_stay_inside_are_quiet(tmp_path: Path, name: str, data: bytes) -> None:
    assert _traversals(tmp_path, name, data) == []


def test_the_link_table() -> None:
    links = _Links()
    assert not links.escapes("a/../b")
    assert links.escapes("a/../../b")
    links.add("x", ".")
    links.add("loop", "loop/x")
    assert links.escapes("x/x/..")
    assert not links.escapes("x/x/y")
    assert links.escapes("loop/a")  # a cycle is refused after 40 hops
    links.add("abs", "/etc")
    assert links.escapes("abs/passwd")
    links.add("drive", "C:/Windows")
    assert links.escapes("drive/x")


def test_corpus_samples_meet_their_labels(tmp_path: Path) -> None:
    samples = [s for s in gen.generate(tmp_path) if s[2].startswith("Archive traversal:")]
    assert {label for _, label, _ in samples} == {"benign", "malicious"}
    result = scan(tmp_path / "archive", workers=1)
    failed = []
    for rel, label, _ in samples:
        mine = [f for f in result.findings if f"archive/{f.path}" == rel]
        if not label_holds(label, mine):
            failed.append((rel, label, [(f.rule, f.severity.label) for f in mine]))
    assert failed == []
