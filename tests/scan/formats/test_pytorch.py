"""PyTorch zip checkpoints: every pickle member replayed, read as torch reads it."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from sumun.scan.formats import pytorch
from sumun.scan.model import FileResult, Severity, Source
from tests.data.scan import gen_pickle as gen
from tests.data.scan.gen_pickle import G, R, call, dumps


def _source(path: Path, member: str | None = None) -> Source:
    return Source(
        path.name,
        path.stat().st_size,
        path.read_bytes()[:4096],
        lambda: path.open("rb"),
        member=member,
        real_path=str(path),
    )


def _rules(result: FileResult) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in result.findings:
        out[f.rule] = max(out.get(f.rule, Severity.INFO), f.severity)
    return out


def _checkpoint(tmp_path: Path, name: str = "model.pt", **kw: object) -> Path:
    s = gen.Storages()
    path = tmp_path / name
    gen.torch_zip(path, dumps(gen.state_dict(s, gen.MLP), 2), s, **kw)  # type: ignore[arg-type]
    return path


def test_a_clean_checkpoint_gives_one_model_component(tmp_path: Path) -> None:
    result = pytorch.analyze(_source(_checkpoint(tmp_path, "bert-tiny.pt")))
    assert result.findings == []
    assert result.format == "pytorch"
    (component,) = result.components
    assert component.type == "machine-learning-model"
    assert component.name == "bert-tiny"
    assert component.path == "bert-tiny.pt"
    assert dict(component.properties) == {
        "format": "pytorch",
        "pickle_protocol": "2",
        "tensors": "4",
    }


def test_the_archive_folder_name_is_used_unless_it_is_the_default(tmp_path: Path) -> None:
    named = pytorch.analyze(_source(_checkpoint(tmp_path, "a.pt", archive="resnet18")))
    default = pytorch.analyze(_source(_checkpoint(tmp_path, "b.pt", archive="archive")))
    assert named.components[0].name == "resnet18"
    assert default.components[0].name == "b"


def test_a_malicious_data_pkl_is_critical_and_names_the_member(tmp_path: Path) -> None:
    s = gen.Storages()
    path = tmp_path / "evil.pt"
    gen.torch_zip(path, dumps({"w": s.tensor((2,)), "x": call("os", "system", "echo pwned")}, 2), s)
    result = pytorch.analyze(_source(path))
    (finding,) = [f for f in result.findings if f.rule == "pickle.dangerous-global"]
    assert finding.severity is Severity.CRITICAL
    assert finding.member == "evil/data.pkl"
    assert re.search(r"calls os\.system, which runs code", finding.message)


def test_the_encrypted_flag_bit_does_not_hide_data_pkl(tmp_path: Path) -> None:
    # zipfile refuses to read a member flagged as encrypted; torch's reader ignores the flag
    s = gen.Storages()
    path = tmp_path / "flag.pt"
    gen.torch_zip(path, dumps(call("posix", "system", "x"), 2), s)
    gen._set_zip_flag(path, "flag/data.pkl", 0x1)
    with zipfile.ZipFile(path) as zf, pytest.raises(RuntimeError, match="encrypted"):
        zf.read("flag/data.pkl")
    assert _rules(pytorch.analyze(_source(path)))["pickle.dangerous-global"] is Severity.CRITICAL


def test_a_bad_crc_does_not_hide_data_pkl(tmp_path: Path) -> None:
    s = gen.Storages()
    path = tmp_path / "crc.pt"
    gen.torch_zip(path, dumps(call("posix", "system", "x"), 2), s)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("crc/data.pkl")
    data = bytearray(path.read_bytes())
    crc = info.CRC.to_bytes(4, "little")
    assert data.count(crc) == 2  # local header and central directory
    path.write_bytes(bytes(data).replace(crc, b"\x00\x00\x00\x00"))
    with zipfile.ZipFile(path) as zf, pytest.raises(zipfile.BadZipFile, match="Bad CRC"):
        zf.read("crc/data.pkl")
    assert "pickle.dangerous-global" in _rules(pytorch.analyze(_source(path)))


def test_a_pickle_hidden_in_another_member_is_found(tmp_path: Path) -> None:
    payload = dumps(call("os", "system", "x"), 4)
    path = _checkpoint(tmp_path, "h.pt", extra=[("h/extra/config", payload)])
    result = pytorch.analyze(_source(path))
    (finding,) = [f for f in result.findings if f.rule == "pickle.dangerous-global"]
    assert finding.member == "h/extra/config"


def test_storage_members_are_never_replayed(tmp_path: Path) -> None:
    s = gen.Storages()
    s.data["0"] = dumps(call("os", "system", "x"), 4)  # raw bytes torch reads as a tensor
    path = tmp_path / "st.pt"
    gen.torch_zip(path, dumps({"w": 1}, 2), s)
    assert pytorch.analyze(_source(path)).findings == []


def test_deflated_members_are_read(tmp_path: Path) -> None:
    path = tmp_path / "deflated.pt"
    gen._zip_write(
        path,
        [("deflated/data.pkl", dumps(call("os", "system", "x"), 2)), ("deflated/version", b"3")],
        deflate=True,
    )
    assert "pickle.dangerous-global" in _rules(pytorch.analyze(_source(path)))


def test_torchscript_classes_are_not_python_imports(tmp_path: Path) -> None:
    pkl = dumps(R(G("__torch__.torch.nn.modules.linear", "Linear"), ()), 2)
    path = tmp_path / "scripted.pt"
    gen._zip_write(
        path,
        [
            ("scripted/data.pkl", pkl),
            ("scripted/constants.pkl", dumps((), 2)),
            ("scripted/code/__torch__/nn.py", b"def forward(self, x): return x\n"),
            ("scripted/version", b"3"),
        ],
    )
    result = pytorch.analyze(_source(path))
    assert result.findings == []
    assert dict(result.components[0].properties)["format"] == "torchscript"
    # …but only inside a TorchScript archive
    plain = tmp_path / "plain.pt"
    gen._zip_write(plain, [("plain/data.pkl", pkl)])
    assert "pickle.unknown-global" in _rules(pytorch.analyze(_source(plain)))


def test_members_inside_an_outer_archive_are_named_with_their_path(tmp_path: Path) -> None:
    s = gen.Storages()
    path = tmp_path / "m.pt"
    gen.torch_zip(path, dumps(call("os", "system", "x"), 2), s)
    data = path.read_bytes()
    source = Source("bundle.tar", len(data), data[:4096], lambda: io.BytesIO(data), member="m.pt")
    (finding,) = [f for f in pytorch.analyze(source).findings if f.severity is Severity.CRITICAL]
    assert finding.member == "m.pt!/m/data.pkl"


@pytest.mark.parametrize(
    ("mutate", "rule", "pattern"),
    [
        (lambda d: d[: len(d) // 2], "pytorch.parse-error", r"^not a readable zip"),
        (lambda d: b"", "pytorch.parse-error", r"^not a readable zip"),
    ],
)
def test_broken_archives_are_parse_errors(
    tmp_path: Path, mutate: object, rule: str, pattern: str
) -> None:
    path = _checkpoint(tmp_path)
    path.write_bytes(mutate(path.read_bytes()))  # type: ignore[operator]
    result = pytorch.analyze(_source(path))
    (finding,) = result.findings
    assert finding.rule == rule
    assert finding.severity is Severity.MEDIUM
    assert re.search(pattern, finding.message)


def test_a_zip_without_data_pkl_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.pt"
    gen._zip_write(path, [("x/version", b"3")])
    result = pytorch.analyze(_source(path))
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("pytorch.parse-error", Severity.MEDIUM)
    ]
    assert "no data.pkl member" in result.findings[0].message


def test_a_truncated_data_pkl_is_a_pickle_parse_error(tmp_path: Path) -> None:
    s = gen.Storages()
    path = tmp_path / "t.pt"
    gen.torch_zip(path, dumps(gen.state_dict(s, gen.MLP), 2)[:100], s)
    (finding,) = pytorch.analyze(_source(path)).findings
    assert (finding.rule, finding.severity, finding.member) == (
        "pickle.parse-error",
        Severity.MEDIUM,
        "t/data.pkl",
    )


def test_sniff() -> None:
    s = gen.Storages()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model/data.pkl", dumps(gen.state_dict(s, gen.MLP), 2))
    assert pytorch.sniff(buf.getvalue()[:4096])
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("README.md", b"hi")
    assert not pytorch.sniff(other.getvalue())
    assert not pytorch.sniff(b"\x80\x02}q\x00.")
